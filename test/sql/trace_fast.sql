-- The trace's lookup (issue 13): trace() runs the statement _trace() builds,
-- one batch of keys at a time, and shows rows with _trace_json().  Each
-- path is compared with the caller's own plain query: a cell whose lineage
-- is in blocks, a merge of more than one batch of keys, a key gone from the
-- source, an integer key without an index, an int4 key, a uuid key (held
-- as its hash), a role under row-level security and a role without SELECT.
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'UTC';
CREATE SCHEMA trf;

-- ------------------------------------------------- _trace_json = to_json
-- every category of built-in type to_json knows, with nulls, escapes and
-- the values that are not JSON numbers
CREATE DOMAIN trf.positive AS int CHECK (VALUE > 0);
CREATE TABLE trf.kinds (
	i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, n numeric, b bool,
	t text, v varchar(10), c char(3), nm name, d date, ts timestamp, tz timestamptz,
	tm time, iv interval, u uuid, by bytea, j json, jb jsonb, ai int4[], at text[],
	r int4range, dm trf.positive, pt point, ct tid
);
INSERT INTO trf.kinds VALUES
	(1, -2, 9223372036854775807, 1.5, -2.25e-10, 12.50, true,
	 'plain', 'v', 'c', 'nm', '2026-11-01', '2026-11-01 09:12:00', '2026-11-01 09:12:00+09',
	 '09:12', '1 day 2 hours', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\x00ff', '{"a": [1, 2]}', '{"b": null}',
	 '{1,NULL,3}', '{"x\"y",z}', '[1,5)', 7, '(1,2)', '(0,1)'),
	(NULL, NULL, NULL, 'NaN', 'Infinity', 'NaN', false,
	 E'quote " backslash \\ newline \n tab \t bell \007 é', NULL, NULL, NULL, 'infinity', '-infinity', 'infinity',
	 NULL, NULL, NULL, NULL, NULL, NULL, '{}', NULL, 'empty', NULL, NULL, NULL),
	(NULL, NULL, NULL, '-Infinity', NULL, '-0.000', NULL, '', '', '', '', '0001-01-01 BC', '2026-03-29 01:30', '1999-12-31 23:59:59.999999+00',
	 NULL, '-1 mon', NULL, '\x', 'null', '[]', '{{1,2},{3,4}}', '{}', NULL, 1, NULL, NULL);
-- an anonymous row, as trace builds it, and the table's own row type
SELECT count(*) AS rows, count(*) FILTER (WHERE segroll._trace_json(x)::text = pg_catalog.to_json(x)::text) AS equal
FROM trf.kinds k CROSS JOIN LATERAL (SELECT k.i2, k.i4, k.i8, k.f4, k.f8, k.n, k.b, k.t, k.v, k.c, k.nm, k.d, k.ts, k.tz,
	k.tm, k.iv, k.u, k.by, k.j, k.jb, k.ai, k.at, k.r, k.dm, k.pt, k.ct) x;
SELECT count(*) FILTER (WHERE segroll._trace_json(k)::text = pg_catalog.to_json(k)::text) AS equal FROM trf.kinds k;
SELECT segroll._trace_json(k) FROM trf.kinds k LIMIT 1;
-- a dropped column is left out, as to_json leaves it out
ALTER TABLE trf.kinds DROP COLUMN nm;
SELECT count(*) FILTER (WHERE segroll._trace_json(k)::text = pg_catalog.to_json(k)::text) AS equal_after_drop FROM trf.kinds k;
-- a value of a type that is not built in is written as its text, never
-- through a cast to json (trace shows such columns as text: _shown_sql)
CREATE TYPE trf.pair AS (a int, b text);
CREATE TYPE trf.color AS ENUM ('red', 'green');
SELECT segroll._trace_json(x) AS own_types, pg_catalog.to_json(x) AS to_json
FROM (SELECT ROW(1, 'x')::trf.pair AS p, 'red'::trf.color AS c) x;

-- ------------------------------------------------------------- the data
-- 4 cells a day (org 0..3), 3 000 rows each over the two days; keys with gaps
CREATE TABLE trf.sales (id bigint PRIMARY KEY, at timestamptz NOT NULL, org int, amount numeric(12,2), note text);
INSERT INTO trf.sales
SELECT g * 3 + g % 2, '2026-11-01'::timestamptz + g * interval '7 seconds', g % 4, (g % 97) * 1.25,
       CASE WHEN g % 5 = 0 THEN NULL ELSE 'n' || g END
FROM generate_series(1, 24000) g;
-- inline: every cell keeps its lineage in the cells table
SET segroll.inline_lineage_limit = 2147483647;
SELECT segroll.create_segmentation('trf_inline', 'trf.sales', 'id', 'at', 'day', 'UTC', '{org}', '{amount}') IS NOT NULL AS created;
-- blocks: cells past 1 000 rows keep their lineage in blocks
SET segroll.inline_lineage_limit = 1000;
SELECT segroll.create_segmentation('trf_blocks', 'trf.sales', 'id', 'at', 'day', 'UTC', '{org}', '{amount}') IS NOT NULL AS created;
RESET segroll.inline_lineage_limit;
SELECT count(*) AS cells, bool_and(segroll.has_lineage(seg)) AS all_inline FROM segroll_data.trf_inline;
SELECT count(*) AS cells, bool_or(segroll.has_lineage(seg)) AS any_inline,
       (SELECT count(*) > 4 FROM segroll_data.trf_blocks_lineage) AS in_blocks FROM segroll_data.trf_blocks;

-- the caller's own query for a cell, as trace shows it
CREATE FUNCTION trf.plain(org int, day timestamptz) RETURNS TABLE (key bigint, origin text, source_row text)
LANGUAGE sql STABLE AS $$
	SELECT s.id, 'source', pg_catalog.to_json(x)::text
	FROM trf.sales s CROSS JOIN LATERAL (SELECT s.id, s.at, s.org, s.amount, s.note) x
	WHERE s.org = plain.org AND s.at >= day AND s.at < day + interval '1 day'
	ORDER BY s.id
$$;
-- differences between trace and the plain query, both ways, and whether
-- trace's rows come in key order
CREATE FUNCTION trf.check(name text, org int, day timestamptz)
RETURNS TABLE (rows bigint, differences bigint, in_key_order boolean)
LANGUAGE sql AS $$
	WITH t AS (SELECT row_number() OVER () AS n, t.key, t.origin, t.source_row::text AS source_row
	           FROM segroll.trace(name, jsonb_build_object('org', org), day) t)
	SELECT (SELECT count(*) FROM t),
	       (SELECT count(*) FROM ((SELECT key, origin, source_row FROM t EXCEPT ALL SELECT * FROM trf.plain(org, day))
	                              UNION ALL (SELECT * FROM trf.plain(org, day) EXCEPT ALL SELECT key, origin, source_row FROM t)) d),
	       (SELECT bool_and(t.key > p.key) FROM t JOIN t p ON p.n = t.n - 1)
$$;

-- ---------------------------------------------------------------- trace
SELECT * FROM trf.check('trf_inline', 1, '2026-11-01');
SELECT * FROM trf.check('trf_blocks', 1, '2026-11-01');
SELECT * FROM trf.check('trf_blocks', 3, '2026-11-02');
-- a merge of four cells (12 000 keys): two batches, still one key order
SELECT count(*) AS rows, count(DISTINCT key) AS keys,
       bool_and(origin = 'source') AS all_source,
       (SELECT count(*) FROM trf.sales WHERE at < '2026-11-02') AS expected
FROM segroll.trace('trf_blocks', (SELECT segroll.merge(seg) FROM segroll_data.trf_blocks_segments WHERE period = '2026-11-01'));
SELECT bool_and(key > prev) AS in_key_order
FROM (SELECT key, lag(key) OVER () AS prev
      FROM segroll.trace('trf_inline', (SELECT segroll.merge(seg) FROM segroll_data.trf_inline WHERE period = '2026-11-01'))) t
WHERE prev IS NOT NULL;

-- a key gone from the source (deleted, not rolled up yet): not listed
DELETE FROM trf.sales WHERE id = (SELECT min(id) FROM trf.sales WHERE org = 2 AND at < '2026-11-02');
SELECT (SELECT segroll.count(seg) FROM segroll_data.trf_inline WHERE org = 2 AND period = '2026-11-01') AS in_cell, *
FROM trf.check('trf_inline', 2, '2026-11-01');

-- an integer key without an index of its own: the same rows (found without
-- the index), and the int4 key of another source
ALTER TABLE trf.sales DROP CONSTRAINT sales_pkey;
SELECT * FROM trf.check('trf_blocks', 1, '2026-11-01');
ALTER TABLE trf.sales ADD PRIMARY KEY (id);
CREATE TABLE trf.small (id int PRIMARY KEY, at timestamptz NOT NULL, org int, amount numeric);
INSERT INTO trf.small SELECT g, '2026-11-01'::timestamptz + g * interval '1 minute', g % 2, g FROM generate_series(1, 500) g;
SELECT segroll.create_segmentation('trf_int4', 'trf.small', 'id', 'at', 'day', 'UTC', '{org}', '{amount}') IS NOT NULL AS created;
SELECT count(*) AS rows, min(key) AS first, max(key) AS last, sum((source_row->>'amount')::numeric) AS amount
FROM segroll.trace('trf_int4', '{"org": 1}', '2026-11-01');

-- a uuid key, kept in lineage as its hash: the cell's rows, in hash order
CREATE TABLE trf.tx (k uuid PRIMARY KEY, at timestamptz NOT NULL, org int, amount numeric);
INSERT INTO trf.tx SELECT md5(g::text)::uuid, '2026-11-01'::timestamptz + g * interval '1 minute', g % 3, g
FROM generate_series(1, 900) g;
SELECT segroll.create_segmentation('trf_uuid', 'trf.tx', 'k', 'at', 'day', 'UTC', '{org}', '{amount}') IS NOT NULL AS created;
WITH t AS (SELECT row_number() OVER () AS n, key, source_row::text AS r FROM segroll.trace('trf_uuid', '{"org": 2}', '2026-11-01')),
     p AS (SELECT segroll.key_hash(s.k) AS key, pg_catalog.to_json(x)::text AS r
           FROM trf.tx s CROSS JOIN LATERAL (SELECT s.k, s.at, s.org, s.amount) x
           WHERE s.org = 2 AND s.at >= '2026-11-01' AND s.at < '2026-11-02')
SELECT (SELECT count(*) FROM t) AS rows,
       (SELECT count(*) FROM ((SELECT key, r FROM t EXCEPT ALL SELECT * FROM p) UNION ALL (SELECT * FROM p EXCEPT ALL SELECT key, r FROM t)) d) AS differences,
       (SELECT bool_and(t.key > q.key) FROM t JOIN t q ON q.n = t.n - 1) AS in_hash_order;

-- ------------------------------------------------------------- who sees
CREATE ROLE trf_auditor IN ROLE segroll_auditor;
CREATE ROLE trf_nobody IN ROLE segroll_auditor;
GRANT USAGE ON SCHEMA trf TO trf_auditor, trf_nobody;
GRANT SELECT ON trf.sales TO trf_auditor;
GRANT SELECT ON segroll_data.trf_inline, segroll_data.trf_blocks, segroll_data.trf_blocks_lineage TO trf_auditor, trf_nobody;
ALTER TABLE trf.sales ENABLE ROW LEVEL SECURITY;
CREATE POLICY trf_some ON trf.sales FOR SELECT TO trf_auditor USING (id % 8 = 0);
SET ROLE trf_auditor;
-- under the policy: only the rows the role's own SELECT returns
SELECT (SELECT count(*) FROM trf.sales WHERE org = 1 AND at >= '2026-11-01' AND at < '2026-11-02') AS visible,
       count(*) AS traced, bool_and(key % 8 = 0) AS only_visible
FROM segroll.trace('trf_blocks', '{"org": 1}', '2026-11-01');
RESET ROLE;
SET ROLE trf_nobody;
SELECT count(*) FROM segroll.trace('trf_blocks', '{"org": 1}', '2026-11-01');
RESET ROLE;
-- every trace above is in the log, with the rows it returned
SELECT role_name, rows_returned FROM segroll.trace_log
WHERE segmentation = 'trf_blocks' AND role_name IN ('trf_auditor', 'trf_nobody') ORDER BY at;

DROP POLICY trf_some ON trf.sales;
REVOKE ALL ON segroll_data.trf_inline, segroll_data.trf_blocks, segroll_data.trf_blocks_lineage FROM trf_auditor, trf_nobody;
REVOKE ALL ON trf.sales FROM trf_auditor;
REVOKE ALL ON SCHEMA trf FROM trf_auditor, trf_nobody;
DROP ROLE trf_auditor;
DROP ROLE trf_nobody;
SELECT segroll.drop_segmentation(name) FROM segroll.segmentation WHERE name LIKE 'trf\_%' ORDER BY name;
DROP SCHEMA trf CASCADE;
