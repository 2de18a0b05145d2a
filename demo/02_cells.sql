-- segroll demo, step 2: build day cells.
--
-- One cell per organisation x channel x brand x day.  The day is cut in
-- Asia/Seoul explicitly, so the cells do not depend on the session's
-- TimeZone.  Each cell holds one segment: the count, exact sums of amount
-- (measure 1) and qty (measure 2), their min/max, the first and last sale
-- time, the keys of its source rows, and a checksum.
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;

DROP TABLE IF EXISTS cells.sales_daily;
CREATE TABLE cells.sales_daily AS
SELECT t.org_id, t.channel_id, i.brand_id,
       (t.sold_at AT TIME ZONE 'Asia/Seoul')::date AS day,
       segroll.segment_agg(t.txn_id, t.sold_at, t.amount, t.qty) AS seg
FROM   front.sales_txn t
JOIN   ref.item i USING (item_id)
GROUP  BY 1, 2, 3, 4;
ALTER TABLE cells.sales_daily ADD PRIMARY KEY (org_id, channel_id, brand_id, day);
VACUUM ANALYZE cells.sales_daily;

\echo
\echo '== rows in, cells out'
SELECT (SELECT count(*) FROM front.sales_txn)                AS source_rows,
       count(*)                                               AS cells,
       round((SELECT count(*) FROM front.sales_txn)::numeric / count(*), 1)
                                                              AS rows_per_cell,
       sum(segroll.count(seg))                                AS rows_in_cells
FROM   cells.sales_daily;

\echo '== bytes: cells (segments with lineage) vs the raw table'
SELECT pg_size_pretty(pg_total_relation_size('front.sales_txn'))   AS raw_table_with_pkey,
       pg_size_pretty(pg_total_relation_size('cells.sales_daily')) AS cells_table_with_pkey,
       round(100.0 * pg_total_relation_size('cells.sales_daily')
                   / pg_total_relation_size('front.sales_txn'), 1)  AS cells_pct_of_raw,
       round(avg(segroll.stored_size(seg)))                        AS avg_segment_bytes,
       round(sum(segroll.stored_size(seg))::numeric
             / sum(segroll.count(seg)), 2)                         AS segment_bytes_per_source_row
FROM   cells.sales_daily;

\echo '== three cells, read with accessors (measure 1 = amount, 2 = qty)'
SELECT org_id, channel_id, brand_id, day,
       segroll.count(seg)    AS txns,
       segroll.sum(seg, 1)   AS amount,
       segroll.sum(seg, 2)   AS qty,
       segroll.max(seg, 1)   AS max_amount,
       segroll.stored_size(seg) AS bytes
FROM   cells.sales_daily
ORDER  BY day, org_id, channel_id, brand_id
LIMIT  3;
