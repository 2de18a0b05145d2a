-- segroll demo, step 9: distinct counts that merge.
--
-- "How many different items did each brand sell in the month?"  A sum of
-- per-day distinct counts would count an item once per day it sold.  A
-- distinct(column) measure keeps, in each cell, the set of the values'
-- hashes while it has at most 256 of them (exact), and a HyperLogLog sketch
-- above (relative standard error 0.81 %): day cells merge into the month's
-- distinct count, and an UPDATE or DELETE keeps it right.
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;

SELECT segroll.drop_segmentation(name) FROM segroll.segmentation
WHERE  name = 'brand_items' \g /dev/null

\echo
\echo '== a segmentation by brand and day, with the distinct items sold as a measure'
SELECT segroll.create_segmentation(
  name       => 'brand_items',
  source     => 'front.sales_txn',
  key        => 'txn_id',
  time_col   => 'sold_at',
  grain      => 'day',
  time_zone  => 'Asia/Seoul',
  dimensions => ARRAY['brand_id = ref.item.brand_id ON item_id'],
  measures   => ARRAY['amount', 'distinct(item_id)']) AS cells_table;

\echo '== brands A-C, 1-15 November: the month merged from the day cells, the sum of the'
\echo '   daily counts (wrong: an item counts once per day it sold), and count(DISTINCT) on the rows'
WITH cells AS (
    SELECT brand_id, segroll.distinct(segroll.merge(seg), 1) AS items_in_month,
           sum(segroll.distinct(seg, 1)) AS sum_of_daily_counts
    FROM   segroll_data.brand_items
    WHERE  period >= '2026-11-01 00:00+09' AND period < '2026-11-16 00:00+09' AND brand_id <= 3
    GROUP  BY brand_id),
rows AS (
    SELECT i.brand_id, count(DISTINCT s.item_id) AS items_in_month
    FROM   front.sales_txn s JOIN ref.item i USING (item_id)
    WHERE  s.sold_at >= '2026-11-01 00:00+09' AND s.sold_at < '2026-11-16 00:00+09' AND i.brand_id <= 3
    GROUP  BY i.brand_id)
SELECT b.brand_name, c.items_in_month AS merged_cells, c.sum_of_daily_counts, r.items_in_month AS "count(DISTINCT) on rows"
FROM   cells c JOIN rows r USING (brand_id) JOIN ref.brand b USING (brand_id)
ORDER  BY b.brand_name;

\echo '== the BI view has it per cell: item_id_distinct'
SELECT (period AT TIME ZONE 'Asia/Seoul')::date AS day, count, amount_sum, item_id_distinct
FROM   segroll_data.brand_items_v
WHERE  brand_id = 1 AND period >= '2026-11-13 00:00+09'
ORDER  BY period;
