-- segroll demo, step 2: define a segmentation.
--
-- One cell per organisation x channel x brand x day.  The brand is looked up
-- in the item master; the day is cut in Asia/Seoul whatever the session's
-- TimeZone.  Each cell holds one segment: the count, exact sums, min and max
-- of amount and qty, the first and last sale time, the keys of its source
-- rows (lineage) and a checksum.  backfill => true rolls up the rows already
-- in the table before the function returns.  See docs/rollup.md.
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;

\echo
\echo '== segroll.create_segmentation(...): cells, a view for BI tools, a view of unmapped rows'
SELECT segroll.create_segmentation(
  name       => 'sales_daily',
  source     => 'front.sales_txn',
  key        => 'txn_id',
  time_col   => 'sold_at',
  grain      => 'day',
  time_zone  => 'Asia/Seoul',
  dimensions => '{org_id, channel_id, brand_id=ref.item.brand_id ON item_id}',
  measures   => '{amount, qty}',
  backfill   => true) AS cells;

SELECT bi_view, unmapped_view FROM segroll.segmentations WHERE name = 'sales_daily';

\echo '== segroll.status after the backfill'
SELECT name, applied_upto, pending_changes, last_applied, round(last_run_ms) AS last_run_ms
FROM   segroll.status;

\echo '== rows in, cells out'
SELECT (SELECT count(*) FROM front.sales_txn)                           AS source_rows,
       count(*)                                                          AS cells,
       sum(segroll.count(seg))                                           AS rows_in_cells,
       pg_size_pretty(pg_total_relation_size('front.sales_txn'))        AS source_table,
       pg_size_pretty(pg_total_relation_size('segroll_data.sales_daily')) AS cells_table
FROM   segroll_data.sales_daily;
