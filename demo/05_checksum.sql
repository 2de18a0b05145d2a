-- segroll demo, step 5: checksums and retraction.
--
-- A segment's checksum is the sum, modulo 2^64, of one hash per source row
-- over (key, time, measure values).  segroll.row_checksum() computes one
-- row's hash, so anyone can recompute a cell's checksum from the source
-- table and compare.  Because it is a sum, the checksum of a merge is the
-- sum of the parts, and a retraction subtracts one row's hash.
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;

-- sum of bigints modulo 2^64, as a bigint (checksums are shown in hex)
CREATE FUNCTION pg_temp.sum64(numeric) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE WHEN m >= 9223372036854775808 THEN m - 18446744073709551616 ELSE m END::bigint
    FROM (SELECT (($1 % 18446744073709551616) + 18446744073709551616) % 18446744073709551616 AS m) x
$$;

CREATE TEMP VIEW cell_rows AS            -- the source rows of one cell
SELECT t.*
FROM   front.sales_txn t JOIN ref.item i USING (item_id)
WHERE  t.org_id = 1 AND t.channel_id = 3 AND i.brand_id = 8
AND    (t.sold_at AT TIME ZONE 'Asia/Seoul')::date = '2026-11-03';

\echo
\echo '== a cell''s checksum, recomputed from its source rows'
SELECT to_hex(segroll.checksum(c.seg)) AS cell_checksum,
       to_hex(pg_temp.sum64(r.s))      AS sum_of_row_checksums,
       CASE WHEN segroll.checksum(c.seg) = pg_temp.sum64(r.s) THEN 'yes' ELSE 'no' END AS match
FROM   cells.sales_daily c,
      (SELECT sum(segroll.row_checksum(txn_id, sold_at, amount, qty)::numeric) AS s
       FROM cell_rows) r
WHERE  c.org_id = 1 AND c.channel_id = 3 AND c.brand_id = 8 AND c.day = '2026-11-03';

\echo '== the same check after a silent change to one source amount (+0.01, rolled back afterwards):'
\echo '   the mismatch is the point: the change is caught'
BEGIN;
UPDATE front.sales_txn SET amount = amount + 0.01
WHERE  txn_id = (SELECT min(txn_id) FROM cell_rows);
SELECT to_hex(segroll.checksum(c.seg)) AS cell_checksum,
       to_hex(pg_temp.sum64(r.s))      AS sum_of_row_checksums,
       CASE WHEN segroll.checksum(c.seg) = pg_temp.sum64(r.s) THEN 'yes' ELSE 'no' END AS match
FROM   cells.sales_daily c,
      (SELECT sum(segroll.row_checksum(txn_id, sold_at, amount, qty)::numeric) AS s
       FROM cell_rows) r
WHERE  c.org_id = 1 AND c.channel_id = 3 AND c.brand_id = 8 AND c.day = '2026-11-03';
ROLLBACK;

\echo '== merging adds checksums: brand H for November, merged vs the sum of its day cells'
SELECT count(*)                                        AS day_cells,
       to_hex(segroll.checksum(segroll.merge(seg)))    AS merged_checksum,
       to_hex(pg_temp.sum64(sum(segroll.checksum(seg)::numeric))) AS sum_of_cell_checksums
FROM   cells.sales_daily
WHERE  brand_id = 8 AND day >= '2026-11-01';

\echo '== a refund: retract one row from the cell, compare with rebuilding the cell without it'
WITH refund AS (
    SELECT * FROM cell_rows ORDER BY txn_id LIMIT 1
), retracted AS (
    SELECT segroll.retract(c.seg, f.txn_id, f.sold_at, f.amount, f.qty) AS seg
    FROM   cells.sales_daily c, refund f
    WHERE  c.org_id = 1 AND c.channel_id = 3 AND c.brand_id = 8 AND c.day = '2026-11-03'
), rebuilt AS (
    SELECT segroll.segment_agg(txn_id, sold_at, amount, qty) AS seg
    FROM   cell_rows WHERE txn_id <> (SELECT txn_id FROM refund)
)
SELECT 'retracted' AS cell, segroll.count(seg) AS txns, segroll.sum(seg, 1) AS amount,
       to_hex(segroll.checksum(seg)) AS checksum,
       segroll.contains(seg, (SELECT txn_id FROM refund)) AS has_refunded_key,
       segroll.minmax_known(seg) AS minmax_known
FROM retracted
UNION ALL
SELECT 'rebuilt', segroll.count(seg), segroll.sum(seg, 1),
       to_hex(segroll.checksum(seg)), segroll.contains(seg, (SELECT txn_id FROM refund)),
       segroll.minmax_known(seg)
FROM rebuilt;
\echo '   (the refunded sale was the first of the day, so after the retraction the'
\echo '   first time and min/max are only bounds: minmax_known is false)'
