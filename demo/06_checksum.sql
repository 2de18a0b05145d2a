-- segroll demo, step 6: checksums.
--
-- A segment's checksum is the sum, modulo 2^64, of one hash per source row
-- over (key, time, measure values).  segroll.row_checksum() computes one
-- row's hash, so anyone can recompute a cell's checksum from the source
-- table and compare.  Because it is a sum, the checksum of a merge is the
-- sum of the parts.  one_cell and cell_rows are the views of step 5.
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;

-- sum of bigints modulo 2^64, as a bigint (checksums are shown in hex)
CREATE FUNCTION pg_temp.sum64(numeric) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE WHEN m >= 9223372036854775808 THEN m - 18446744073709551616 ELSE m END::bigint
    FROM (SELECT (($1 % 18446744073709551616) + 18446744073709551616) % 18446744073709551616 AS m) x
$$;

CREATE TEMP VIEW one_cell AS
SELECT * FROM segroll_data.sales_daily
WHERE  org_id = 1 AND channel_id = 3 AND brand_id = 8
AND    period = '2026-11-03 00:00 Asia/Seoul';

CREATE TEMP VIEW cell_rows AS
SELECT t.*
FROM   front.sales_txn t JOIN ref.item i USING (item_id)
WHERE  t.org_id = 1 AND t.channel_id = 3 AND i.brand_id = 8
AND    date_trunc('day', t.sold_at, 'Asia/Seoul') = '2026-11-03 00:00 Asia/Seoul';

CREATE TEMP VIEW checksum_check AS
SELECT to_hex(segroll.checksum(c.seg)) AS cell_checksum,
       to_hex(pg_temp.sum64(r.s))      AS sum_of_row_checksums,
       CASE WHEN segroll.checksum(c.seg) = pg_temp.sum64(r.s) THEN 'yes' ELSE 'no' END AS match
FROM   one_cell c,
      (SELECT sum(segroll.row_checksum(txn_id, sold_at, amount, qty)::numeric) AS s
       FROM cell_rows) r;

\echo
\echo '== the cell''s checksum (after roll-up of late rows and corrections), recomputed from its source rows'
SELECT * FROM checksum_check;

\echo '== the same check after a silent change to one source amount (+0.01, rolled back afterwards):'
\echo '   the mismatch is the point: a change the cells have not seen is caught'
BEGIN;
UPDATE front.sales_txn SET amount = amount + 0.01
WHERE  txn_id = (SELECT min(txn_id) FROM cell_rows);
SELECT * FROM checksum_check;
ROLLBACK;

\echo '== merging adds checksums: brand H for November, merged vs the sum of its day cells'
SELECT count(*)                                        AS day_cells,
       to_hex(segroll.checksum(segroll.merge(seg)))    AS merged_checksum,
       to_hex(pg_temp.sum64(sum(segroll.checksum(seg)::numeric))) AS sum_of_cell_checksums
FROM   segroll_data.sales_daily
WHERE  brand_id = 8 AND period >= '2026-11-01 00:00 Asia/Seoul';
