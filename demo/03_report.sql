-- segroll demo, step 3: re-roll day cells to month x brand with merge().
--
-- merge() is an aggregate over segments: the merged segment of a group of
-- cells equals the segment built directly from the union of their source
-- rows.  The report below reads only the cells; the check at the end runs
-- the same report on the raw rows and compares the two, row by row, as
-- text (so even the number of decimal places must agree).
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;

CREATE TEMP VIEW report_from_cells AS
SELECT brand_id, month,
       segroll.count(m)  AS txns,
       segroll.sum(m, 1) AS revenue,
       segroll.sum(m, 2) AS units
FROM  (SELECT brand_id, date_trunc('month', day)::date AS month,
              segroll.merge(seg) AS m
       FROM   cells.sales_daily
       GROUP  BY 1, 2) x;

CREATE TEMP VIEW report_from_raw AS
SELECT i.brand_id,
       date_trunc('month', t.sold_at AT TIME ZONE 'Asia/Seoul')::date AS month,
       count(*)      AS txns,
       sum(t.amount) AS revenue,
       sum(t.qty)::numeric AS units
FROM   front.sales_txn t
JOIN   ref.item i USING (item_id)
GROUP  BY 1, 2;

\echo
\echo '== revenue by brand and month, from the day cells (merge)'
SELECT b.brand_name AS brand,
       max(r.revenue) FILTER (WHERE r.month = '2026-10-01') AS "2026-10 revenue",
       max(r.revenue) FILTER (WHERE r.month = '2026-11-01') AS "2026-11 revenue",
       sum(r.txns)  AS txns,
       sum(r.units) AS units
FROM   report_from_cells r
JOIN   ref.brand b USING (brand_id)
GROUP  BY b.brand_id, b.brand_name
ORDER  BY b.brand_id;

\echo '== the same report on the 200 000 raw rows: identical?'
SELECT CASE WHEN count(*) = 0 THEN 'yes' ELSE 'NO' END AS identical,
       (SELECT count(*) FROM report_from_cells) AS report_rows,
       count(*) AS differing_rows
FROM ((SELECT brand_id, month, txns, revenue::text, units::text FROM report_from_cells
       EXCEPT ALL
       SELECT brand_id, month, txns, revenue::text, units::text FROM report_from_raw)
      UNION ALL
      (SELECT brand_id, month, txns, revenue::text, units::text FROM report_from_raw
       EXCEPT ALL
       SELECT brand_id, month, txns, revenue::text, units::text FROM report_from_cells)) d;
