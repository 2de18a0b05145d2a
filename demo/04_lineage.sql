-- segroll demo, step 4: trace a cell back to its source rows.
--
-- segroll.keys(seg) lists the source keys a segment was built from (its
-- lineage), in ascending order; segroll.contains(seg, key) tells whether one
-- key is among them.  Joining the keys back to the source table gives the
-- exact transactions behind a figure.
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;
SET TimeZone = 'Asia/Seoul';   -- display only; cells were cut in Asia/Seoul explicitly

CREATE TEMP VIEW one_cell AS
SELECT * FROM cells.sales_daily
WHERE  org_id = 1 AND channel_id = 3 AND brand_id = 8 AND day = '2026-11-03';

\echo
\echo '== one cell: Seoul HQ x store x brand H x 2026-11-03'
SELECT segroll.count(seg)      AS txns,
       segroll.sum(seg, 1)     AS amount,
       segroll.sum(seg, 2)     AS qty,
       segroll.first_time(seg) AS first_sale,
       segroll.last_time(seg)  AS last_sale,
       segroll.stored_size(seg) AS stored_bytes,
       segroll.raw_size(seg)   AS uncompressed_bytes
FROM   one_cell;

\echo '== its lineage: the first 10 source keys'
SELECT string_agg(k::text, ', ') AS first_10_keys
FROM  (SELECT segroll.keys(seg) AS k FROM one_cell LIMIT 10) x;

\echo '== and the source rows behind those keys'
SELECT t.txn_id, t.sold_at, o.org_name, c.channel_name, t.item_id, b.brand_name,
       t.qty, t.amount
FROM  (SELECT segroll.keys(seg) AS k FROM one_cell LIMIT 10) x
JOIN   front.sales_txn t ON t.txn_id = x.k
JOIN   ref.org o USING (org_id)
JOIN   ref.channel c USING (channel_id)
JOIN   ref.item i USING (item_id)
JOIN   ref.brand b ON b.brand_id = i.brand_id
ORDER  BY t.txn_id;

\echo '== the whole lineage equals the rows that belong to the cell'
SELECT CASE WHEN count(*) = 0 THEN 'yes' ELSE 'NO' END AS lineage_matches_source,
       (SELECT count(*) FROM one_cell, segroll.keys(seg)) AS keys_in_lineage
FROM ((SELECT segroll.keys(seg) FROM one_cell
       EXCEPT ALL
       SELECT t.txn_id FROM front.sales_txn t JOIN ref.item i USING (item_id)
       WHERE  t.org_id = 1 AND t.channel_id = 3 AND i.brand_id = 8
       AND    (t.sold_at AT TIME ZONE 'Asia/Seoul')::date = '2026-11-03')
      UNION ALL
      (SELECT t.txn_id FROM front.sales_txn t JOIN ref.item i USING (item_id)
       WHERE  t.org_id = 1 AND t.channel_id = 3 AND i.brand_id = 8
       AND    (t.sold_at AT TIME ZONE 'Asia/Seoul')::date = '2026-11-03'
       EXCEPT ALL
       SELECT segroll.keys(seg) FROM one_cell)) d;

\echo '== the other way round: which cell holds transaction 123456?'
SELECT org_id, channel_id, brand_id, day
FROM   cells.sales_daily
WHERE  segroll.contains(seg, 123456);
