-- segroll demo, step 5: trace a cell back to its source rows.
--
-- segroll.keys(seg) lists the source keys a segment was built from (its
-- lineage), in ascending order; segroll.contains(seg, key) tells whether one
-- key is among them.  The cell below received the three late rows, the
-- corrected amount and the voided sale of step 3.
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;
SET TimeZone = 'Asia/Seoul';   -- display only; cells are cut in Asia/Seoul anyway

CREATE TEMP VIEW one_cell AS
SELECT * FROM segroll_data.sales_daily
WHERE  org_id = 1 AND channel_id = 3 AND brand_id = 8
AND    period = '2026-11-03 00:00 Asia/Seoul';

\echo
\echo '== one cell: Seoul HQ x store x brand H x 2026-11-03'
SELECT segroll.count(seg)      AS txns,
       segroll.sum(seg, 1)     AS amount,
       segroll.sum(seg, 2)     AS qty,
       segroll.first_time(seg) AS first_sale,
       segroll.last_time(seg)  AS last_sale,
       segroll.stored_size(seg) AS stored_bytes
FROM   one_cell;

\echo '== its lineage: the first 3 and the last 3 source keys, and the rows behind them'
SELECT t.txn_id, t.sold_at, o.org_name, c.channel_name, t.item_id, b.brand_name,
       t.qty, t.amount
FROM  (SELECT k, row_number() OVER (ORDER BY k) AS n, count(*) OVER () AS total
       FROM one_cell, segroll.keys(seg) AS k) x
JOIN   front.sales_txn t ON t.txn_id = x.k
JOIN   ref.org o USING (org_id)
JOIN   ref.channel c USING (channel_id)
JOIN   ref.item i USING (item_id)
JOIN   ref.brand b ON b.brand_id = i.brand_id
WHERE  x.n <= 3 OR x.n > x.total - 3
ORDER  BY t.txn_id;

\echo '== the whole lineage equals the rows that belong to the cell'
CREATE TEMP VIEW cell_rows AS
SELECT t.*
FROM   front.sales_txn t JOIN ref.item i USING (item_id)
WHERE  t.org_id = 1 AND t.channel_id = 3 AND i.brand_id = 8
AND    date_trunc('day', t.sold_at, 'Asia/Seoul') = '2026-11-03 00:00 Asia/Seoul';

SELECT CASE WHEN count(*) = 0 THEN 'yes' ELSE 'NO' END AS lineage_matches_source,
       (SELECT count(*) FROM one_cell, segroll.keys(seg)) AS keys_in_lineage
FROM ((SELECT segroll.keys(seg) FROM one_cell
       EXCEPT ALL
       SELECT txn_id FROM cell_rows)
      UNION ALL
      (SELECT txn_id FROM cell_rows
       EXCEPT ALL
       SELECT segroll.keys(seg) FROM one_cell)) d;

\echo '== the other way round: which cell holds late transaction 200002?  And voided 113199?'
SELECT k AS txn_id,
       coalesce(o.org_name || ' x ' || ch.channel_name || ' x ' || b.brand_name
                || ' x ' || c.period::date, '(none: its DELETE was rolled up)') AS cell
FROM   unnest(ARRAY[200002, 113199]) AS k
LEFT   JOIN segroll_data.sales_daily c ON segroll.contains(c.seg, k)
LEFT   JOIN ref.org o ON o.org_id = c.org_id
LEFT   JOIN ref.channel ch ON ch.channel_id = c.channel_id
LEFT   JOIN ref.brand b ON b.brand_id = c.brand_id
ORDER  BY k DESC;
