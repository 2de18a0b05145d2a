-- segroll demo, step 4: the report a BI tool would run, and the unmapped rows.
--
-- segroll_data.sales_daily_v is a plain view over the cells: dimensions,
-- period, count, and <measure>_sum/_min/_max as numeric.  A BI tool reads it
-- without knowing anything about segments.  The check runs the same report
-- on the raw rows and compares the two row by row, as text (so even the
-- number of decimal places must agree).
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;

CREATE TEMP VIEW report_from_cells AS
SELECT brand_id,
       date_trunc('month', period, 'Asia/Seoul') AS month,
       sum(count)        AS txns,
       sum(amount_sum)   AS revenue,
       sum(qty_sum)      AS units,
       max(amount_max)   AS largest_sale
FROM   segroll_data.sales_daily_v
GROUP  BY 1, 2;

-- the same report on the raw rows; sales of items missing from the item
-- master have no brand (NULL), as in the cells
CREATE TEMP VIEW report_from_raw AS
SELECT i.brand_id,
       date_trunc('month', t.sold_at, 'Asia/Seoul') AS month,
       count(*)            AS txns,
       sum(t.amount)       AS revenue,
       sum(t.qty)::numeric AS units,
       max(t.amount)       AS largest_sale
FROM   front.sales_txn t
LEFT   JOIN ref.item i USING (item_id)
GROUP  BY 1, 2;

\echo
\echo '== revenue by brand and month, from the BI view segroll_data.sales_daily_v'
SELECT coalesce(b.brand_name, '(unmapped)') AS brand,
       sum(r.revenue) FILTER (WHERE r.month = '2026-10-01 00:00 Asia/Seoul') AS "2026-10 revenue",
       sum(r.revenue) FILTER (WHERE r.month = '2026-11-01 00:00 Asia/Seoul') AS "2026-11 revenue",
       sum(r.txns)  AS txns,
       sum(r.units) AS units
FROM   report_from_cells r
LEFT   JOIN ref.brand b USING (brand_id)
GROUP  BY r.brand_id, b.brand_name
ORDER  BY r.brand_id NULLS LAST;

\echo '== the same report on the raw rows (after the batch, late rows and corrections): identical?'
SELECT CASE WHEN count(*) = 0 THEN 'yes' ELSE 'NO' END AS identical,
       (SELECT count(*) FROM report_from_cells) AS report_rows,
       (SELECT count(*) FROM front.sales_txn)   AS raw_rows,
       count(*) AS differing_rows
FROM ((SELECT brand_id, month, txns, revenue::text, units::text, largest_sale::text
       FROM report_from_cells
       EXCEPT ALL
       SELECT brand_id, month, txns, revenue::text, units::text, largest_sale::text
       FROM report_from_raw)
      UNION ALL
      (SELECT brand_id, month, txns, revenue::text, units::text, largest_sale::text
       FROM report_from_raw
       EXCEPT ALL
       SELECT brand_id, month, txns, revenue::text, units::text, largest_sale::text
       FROM report_from_cells)) d;

\echo '== the unmapped member: sales whose item is not in ref.item, listed in segroll_data.sales_daily_unmapped'
SELECT count(*) AS unmapped_rows,
       string_agg(DISTINCT item_id::text, ', ') AS items_not_in_ref_item,
       (SELECT sum(count) FROM segroll_data.sales_daily_v WHERE brand_id IS NULL)
                AS rows_in_cells_with_brand_null
FROM   segroll_data.sales_daily_unmapped;
