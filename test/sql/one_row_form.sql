-- The one-row form (issue 13): a segment of exactly one row with exact
-- bounds is stored without what its row implies (count, last time, min and
-- max, the lineage's length and, with lineage, the checksum, which is
-- recomputed from the key, the time and the values).  Its text is the same
-- as before, it equals (and hashes and sorts as) the same row stored in the
-- full form by earlier builds, and everything that builds, merges,
-- subtracts or retracts segments reads and writes it exactly.
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'UTC';
CREATE SCHEMA orf;
SET search_path = orf, public;

-- binary input through COPY (FORMAT binary), as in segment_bad_input.sql:
-- segment_recv stores the bytes it validates as they are, so values in the
-- full form written by earlier builds can be loaded as they were
CREATE TABLE sink (name text, s segroll.segment);
CREATE FUNCTION load(name text, wire bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	f text := '/tmp/segroll_regress_onerow_' || pg_backend_pid() || '.bin';
	lo oid;
	d text;
BEGIN
	lo := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
	                       || '\x0002'::bytea || int4send(length(name)) || convert_to(name, 'UTF8')
	                       || int4send(length(wire)) || wire || '\xffff'::bytea);
	PERFORM lo_export(lo, f);
	PERFORM lo_unlink(lo);
	EXECUTE format('COPY orf.sink FROM %L (FORMAT binary)', f);
	RETURN 'accepted';
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	RETURN sqlstate || ': ' || sqlerrm || ' (' || d || ')';
END $$;
-- the CRC-32C that segment_send appends
CREATE FUNCTION crc32c(data bytea) RETURNS bigint LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
	crc bigint := 4294967295;
	i int;
	j int;
BEGIN
	FOR i IN 0 .. length(data) - 1 LOOP
		crc := crc # get_byte(data, i);
		FOR j IN 1 .. 8 LOOP
			IF crc & 1 = 1 THEN
				crc := (crc >> 1) # 2197175160;
			ELSE
				crc := crc >> 1;
			END IF;
		END LOOP;
	END LOOP;
	RETURN crc # 4294967295;
END $$;
CREATE FUNCTION with_crc(payload bytea) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT payload || substring(int8send(orf.crc32c(payload)) FROM 5 FOR 4)
$$;
-- the stored payload of a value (segment_send without its CRC)
CREATE FUNCTION payload(s segroll.segment) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT substring(w FROM 1 FOR length(w) - 4) FROM segroll.segment_send(s) w
$$;

-- ---------------------------------------------------------------- sizes
-- typical fine-grain cells: key 42, amount 12.50, qty 3; a NULL; no lineage;
-- a decimal value (NaN: its checksum is kept); a distinct measure (kept too)
CREATE TABLE cell (name text, s segroll.segment);
INSERT INTO cell SELECT 'lineage', segroll.segment_agg(42, '2026-01-01 10:00', 12.50::numeric(12,2), 3);
INSERT INTO cell SELECT 'no lineage', segroll.segment_agg_nolineage(42, '2026-01-01 10:00', 12.50::numeric(12,2), 3);
INSERT INTO cell SELECT 'a NULL', segroll.segment_agg(7, '2026-01-02 00:00', -0.50::numeric(12,2), NULL::int);
INSERT INTO cell SELECT 'decimal NaN', segroll.segment_agg(42, '2026-01-01 10:00', 'NaN'::numeric, 3);
INSERT INTO cell SELECT 'distinct', segroll.segment_agg(42, '2026-01-01 10:00', 12.50::numeric(12,2), segroll.distinct_hash(99::bigint));
INSERT INTO cell SELECT 'large key', segroll.segment_agg(9000000000000, '2026-01-01 10:00', 1234567.89::numeric(12,2), 100000);
INSERT INTO cell SELECT 'no measures', segroll.segment_agg(1, '2026-01-01 10:00');
-- the same rows in the full form, as builds before the one-row form wrote
-- them (segment_send output of commit 54baef6); 'v1 lineage' is the first
-- row without extreme counts (0.4.0's version 1), 'v2 distinct' the
-- distinct one as version 2
SELECT name, load(name, wire) FROM (VALUES
	('lineage',     '\x0301010280a0e6caed93f502006bff152547cc0e0a000002c413c413c413000000060606000154ec4a7084'::bytea),
	('no lineage',  '\x0300010280a0e6caed93f502006bff152547cc0e0a000002c413c413c413000000060606009c7d3f84'::bytea),
	('a NULL',      '\x030101028080fe8be596f50200b95e184172a27cf100000263636300010000010ea11d2e99'::bytea),
	('decimal NaN', '\x0301010280a0e6caed93f5020015c7d3e854cc48820100034e614e034e614e034e614e0000000606060001540285b8af'::bytea),
	('v1 lineage',  '\x0101010280a0e6caed93f502006bff152547cc0e0a000002c413c413c4130000000606060154eaea6650'::bytea),
	('distinct',    '\x0301010180a0e6caed93f50200c73bcaf00ed9cab4000002c413c413c41301000a01987c884d0a7d1474000154b80df42c'::bytea),
	('v2 distinct', '\x0201010180a0e6caed93f50200c73bcaf00ed9cab4000002c413c413c41301000a01987c884d0a7d1474000154d69dd09d'::bytea),
	('large key',   '\x0301010280a0e6caed93f502008e32dcc7f313d91c000002aab4de75aab4de75aab4de75000000c09a0cc09a0cc09a0c000780c0ec9cef8b04abe6acda'::bytea),
	('no measures', '\x0301010080a0e6caed93f50200487c175f781e303e0001020ab7e413'::bytea)
) v(name, wire);
SELECT c.name, pg_column_size(o.s) AS full_form, pg_column_size(c.s) AS one_row_form
FROM cell c LEFT JOIN sink o USING (name) ORDER BY c.name;
-- the stored bytes of the new form: version, flags (0x10 one-row), measures,
-- time, per measure kind, nulls, scale and value, the distinct section, and
-- the key; no checksum with lineage
SELECT name, encode(payload(s), 'hex') FROM cell WHERE name IN ('lineage', 'no lineage', 'a NULL') ORDER BY name;

-- ------------------------------------------------ the same content, one answer
-- text shows every field, and is the same for both forms
SELECT c.name, c.s::text = o.s::text AS same_text FROM cell c JOIN sink o USING (name) ORDER BY 1;
SELECT s FROM cell WHERE name = 'lineage';
-- =, the btree order and the hash agree across the forms, also with the
-- version 1 value (counts unknown), whose text says version 1
SELECT c.name, o.name AS older, c.s OPERATOR(segroll.=) o.s AS equal,
       segroll.segment_cmp(c.s, o.s) AS cmp,
       segroll.segment_hash(c.s) = segroll.segment_hash(o.s) AS same_hash
FROM cell c JOIN sink o ON o.name = c.name OR (c.name = 'lineage' AND o.name = 'v1 lineage')
                          OR (c.name = 'distinct' AND o.name = 'v2 distinct')
ORDER BY 1, 2;
SELECT s FROM sink WHERE name = 'v1 lineage';
-- and against other values they order as before: the full form is compared
SELECT (SELECT array_agg(name ORDER BY s, name) FROM cell WHERE name IN (SELECT name FROM sink))
     = (SELECT array_agg(name ORDER BY s, name) FROM sink WHERE name NOT IN ('v1 lineage', 'v2 distinct')) AS same_order;
-- hash and merge joins, GROUP BY and a btree index see one value per row
SET enable_mergejoin = off;
SELECT count(*) AS hash_join FROM cell c JOIN sink o ON c.s OPERATOR(segroll.=) o.s;
RESET enable_mergejoin;
SET enable_hashjoin = off;
SELECT count(*) AS merge_join FROM cell c JOIN sink o ON c.s OPERATOR(segroll.=) o.s;
RESET enable_hashjoin;
SELECT count(*) AS groups, sum(n) AS values
FROM (SELECT s, count(*) AS n FROM (SELECT s FROM cell UNION ALL SELECT s FROM sink) u GROUP BY s) g;
CREATE INDEX ON sink USING btree (s);
CREATE INDEX ON sink USING hash (s);
SET enable_seqscan = off;
SELECT count(*) AS found_by_index FROM cell c WHERE EXISTS (SELECT FROM sink o WHERE o.s OPERATOR(segroll.=) c.s);
RESET enable_seqscan;
-- an older value is rewritten in the one-row form by whatever rebuilds it
-- (here merge() of it alone), and the rewrite equals it
SELECT name, octet_length(payload(o.s)) AS before, octet_length(payload(o.r)) AS rebuilt,
       o.r OPERATOR(segroll.=) o.s AS equal, payload(o.r) = payload(c.s) AS as_built_now
FROM (SELECT name, s, (SELECT segroll.merge(x) FROM (VALUES (s)) v(x)) AS r FROM sink) o
LEFT JOIN cell c USING (name) ORDER BY name;

-- -------------------------------------------------- merge, subtract, retract
CREATE TABLE rows (id bigint, ts timestamptz, amount numeric(12,2), qty int);
INSERT INTO rows VALUES
	(1, '2026-01-01 09:00', 10.00, 1),
	(2, '2026-01-01 09:00', 10.00, 1),
	(3, '2026-01-01 12:00', 2.50, NULL),
	(4, '2026-01-02 08:00', -4.75, 6);
CREATE FUNCTION agg_of(ids bigint[]) RETURNS segroll.segment LANGUAGE sql AS $$
	SELECT segroll.segment_agg(id, ts, amount, qty) FROM orf.rows WHERE id = ANY (ids) $$;
-- an empty segment with the same measures
CREATE FUNCTION empty() RETURNS segroll.segment LANGUAGE sql AS $$
	SELECT segroll.subtract(orf.agg_of('{1}'), orf.agg_of('{1}')) $$;
-- merging one-row values gives the build of their rows, counts included
SELECT segroll.merge(agg_of('{1}'), agg_of('{4}'))::text = agg_of('{1,4}')::text AS merge_pair,
       (SELECT segroll.merge(agg_of(ARRAY[id]))::text FROM rows) = agg_of('{1,2,3,4}')::text AS merge_all,
       payload(segroll.merge(agg_of('{3}'), empty())) = payload(agg_of('{3}')) AS merge_empty_same_bytes,
       octet_length(payload(agg_of('{3}'))) AS one_row_bytes;
-- subtracting down to one row: exact when the other row held no extreme of
-- its own (rows 1 and 2 are alike), so the result is the one-row value
SELECT segroll.subtract(agg_of('{1,2}'), agg_of('{2}'))::text = agg_of('{1}')::text AS subtract_exact,
       payload(segroll.subtract(agg_of('{1,2}'), agg_of('{2}'))) = payload(agg_of('{1}')) AS same_bytes,
       octet_length(payload(agg_of('{1}'))) AS one_row_bytes;
-- when the removed row held an extreme, the bounds are stale: full form
SELECT s, octet_length(payload(s)) AS bytes
FROM (SELECT segroll.subtract(agg_of('{1,4}'), agg_of('{4}')) AS s) x;
-- retracting the only row leaves an exact empty segment; adding it back
-- gives the one-row value again
SELECT segroll.retract(agg_of('{4}'), 4, '2026-01-02 08:00', -4.75::numeric(12,2), 6);
SELECT segroll.merge(segroll.retract(agg_of('{4}'), 4, '2026-01-02 08:00', -4.75::numeric(12,2), 6), agg_of('{4}'))::text
       = agg_of('{4}')::text AS retract_and_back,
       segroll.subtract(agg_of('{3}'), agg_of('{3}'))::text = empty()::text AS subtract_only_row;
-- a retraction with a value the row did not have is refused by the
-- checksum as before: the recomputed checksum is the row's
SELECT segroll.checksum(agg_of('{4}')) = segroll.row_checksum(4, '2026-01-02 08:00', -4.75::numeric(12,2), 6) AS checksum_is_row_hash;
-- the accessors read the implied fields
SELECT segroll.count(s), segroll.first_time(s), segroll.last_time(s), segroll.sum(s, 1), segroll.min(s, 1),
       segroll.max(s, 1), segroll.count(s, 2), segroll.minmax_known(s), segroll.keys(s), segroll.contains(s, 4)
FROM (SELECT agg_of('{4}') AS s) x;
-- partial aggregates pass one-row states through serialize and
-- deserialize (one row per group), with the same result as a serial plan;
-- without statistics the planner expects few groups and aggregates in the
-- workers
CREATE TABLE many (id bigint, ts timestamptz, amount numeric(12,2))
	WITH (parallel_workers = 2, autovacuum_enabled = off);
INSERT INTO many SELECT g, '2026-01-01'::timestamptz + g * interval '1 minute', (g % 7) * 1.25
FROM generate_series(1, 5000) g;
CREATE TABLE many_serial AS SELECT id, segroll.segment_agg(id, ts, amount) AS s FROM many GROUP BY id;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET force_parallel_mode = on;
SET parallel_leader_participation = off;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF) SELECT id, segroll.segment_agg(id, ts, amount) FROM many GROUP BY id;
SELECT count(*) AS parallel_mismatches FROM (
	(SELECT id, s FROM many_serial EXCEPT ALL SELECT id, segroll.segment_agg(id, ts, amount) FROM many GROUP BY id)
	UNION ALL
	(SELECT id, segroll.segment_agg(id, ts, amount) FROM many GROUP BY id EXCEPT ALL SELECT id, s FROM many_serial)) d;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET force_parallel_mode;
RESET parallel_leader_participation;
RESET enable_hashagg;
SELECT count(*) AS cells, count(*) FILTER (WHERE pg_column_size(s) <= 20) AS in_one_row_form FROM many_serial;

-- ---------------------------------------- a fine segmentation: trace, verify
CREATE TABLE sales (id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, item int, amount numeric(12,2), qty int);
INSERT INTO sales
SELECT g, '2026-11-01'::timestamptz + g * interval '13 minutes', g % 50, (g % 37) * 1.5, 1 + g % 4
FROM generate_series(1, 600) g;
SELECT segroll.create_segmentation('orf_fine', 'orf.sales', 'id', 'sold_at', 'hour', 'UTC', '{item}', '{amount, qty}');
SELECT count(*) AS cells, count(*) FILTER (WHERE segroll.count(seg) = 1) AS one_row_cells,
       max(pg_column_size(seg)) FILTER (WHERE segroll.count(seg) = 1) AS largest_one_row
FROM segroll_data.orf_fine;
SELECT count(*) AS differences FROM segroll.verify('orf_fine', '2026-11-01', '2026-12-01', 'full');
SELECT (SELECT array_agg(key ORDER BY key) FROM segroll.trace('orf_fine', '{"item": 7}', '2026-11-01 01:00'))
     = (SELECT array_agg(id ORDER BY id) FROM sales WHERE item = 7 AND sold_at >= '2026-11-01 01:00' AND sold_at < '2026-11-01 02:00') AS same_keys;
-- corrections: an update, a delete and an insert into one-row cells
UPDATE sales SET amount = amount + 1 WHERE id = 100;
DELETE FROM sales WHERE id = 101;
INSERT INTO sales VALUES (1001, '2026-11-03 00:00', 7, 9.99, 2);
SELECT segroll.rollup('orf_fine') IS NOT NULL AS rolled_up;
SELECT count(*) AS differences FROM segroll.verify('orf_fine', '2026-11-01', '2026-12-01', 'full');
WITH fresh AS (
	SELECT item, date_trunc('hour', sold_at, 'UTC') AS period, segroll.segment_agg(id, sold_at, amount, qty) AS seg
	FROM sales GROUP BY 1, 2)
SELECT count(*) AS not_as_built FROM (
	(SELECT item, period, seg FROM segroll_data.orf_fine EXCEPT ALL SELECT * FROM fresh)
	UNION ALL
	(SELECT * FROM fresh EXCEPT ALL SELECT item, period, seg FROM segroll_data.orf_fine)) d;
SELECT segroll.cell('orf_fine', '{"item": 7}', '2026-11-03 00:00');

-- ---------------------------------------------------------------- bad input
-- a one-row value has nothing left to be inconsistent; what cannot be one:
-- SQLSTATE 22P03 as for any binary input
SELECT name, load(name, with_crc(p)) AS result FROM (VALUES
	('good, with lineage',   '\x03110280f093ecb294f502000002c413000000020012'::bytea),
	('decimal, checksum',    '\x03110180f093ecb294f5020100034e614e0053b87be782c7589812'::bytea),
	('flag zstd',            '\x03130280f093ecb294f502000002c413000000020012'::bytea),
	('flag bounds',          '\x03150280f093ecb294f502000002c413000000020012'::bytea),
	('unknown flag 0x20',    '\x03310280f093ecb294f502000002c413000000020012'::bytea),
	('two nulls',            '\x03110280f093ecb294f502000202000000020012'::bytea),
	('no key',               '\x03110280f093ecb294f502000002c4130000000200'::bytea),
	('byte after the key',   '\x03110280f093ecb294f502000002c41300000002001200'::bytea),
	('key cut short',        '\x03110280f093ecb294f502000002c413000000020092'::bytea),
	('no checksum, no keys', '\x03100280f093ecb294f502000002c4130000000200'::bytea),
	('decimal, no checksum', '\x03110180f093ecb294f5020100034e614e0012'::bytea)
) v(name, p);
-- the first one is what the encoder writes for that row
SELECT s OPERATOR(segroll.=) r AS good_is_the_row, payload(s) = payload(r) AS same_bytes
FROM sink, LATERAL (SELECT segroll.segment_agg(9, '2026-01-01 12:34:56', 12.50::numeric(12,2), 1) AS r) x
WHERE name = 'good, with lineage';
-- text input: a checksum that is not the row's keeps the full form (the
-- form cannot carry it), and the value differs from the row's
SELECT octet_length(payload(t::segroll.segment)) AS bytes, octet_length(payload(agg_of('{4}'))) AS row_bytes,
       t::segroll.segment::text = t AS same_text, t::segroll.segment OPERATOR(segroll.=) agg_of('{4}') AS equal_to_row
FROM (SELECT regexp_replace(agg_of('{4}')::text, '"checksum":"[0-9a-f]{16}"', '"checksum":"0000000000000001"') AS t) x;
-- a one-row text whose min is not its sum is accepted as before, and kept
-- in the full form (it is not what a row gives)
SELECT octet_length(payload(t::segroll.segment)) AS bytes, t::segroll.segment::text = t AS same_text
FROM (VALUES ('{"version":1,"count":1,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[{"scale":0,"nulls":0,"sum":"5","min":"4","max":"5"}],"keys":"1"}')) v(t);
