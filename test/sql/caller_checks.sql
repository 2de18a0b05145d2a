-- The checks that trace(), cell() and locate() make before they read a
-- relation as their caller (sql/routines/trace.sql, lineage.sql):
-- _caller_reads (kind, lock, the relation still found by its name),
-- _caller_column (a column's type as the queries will see it) and
-- _beside_cells (a cells table's companions, such as its lineage blocks),
-- each against what it must accept and refuse.
SET client_min_messages = warning;
\set VERBOSITY default
CREATE SCHEMA cc;
CREATE TABLE cc.t (id bigint PRIMARY KEY, at timestamptz NOT NULL, n numeric, s text);
CREATE VIEW cc.v AS SELECT * FROM cc.t;
CREATE MATERIALIZED VIEW cc.m AS SELECT * FROM cc.t;
CREATE TABLE cc.p (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);
CREATE SCHEMA "Odd ""Schema""";
CREATE TABLE "Odd ""Schema"""."Mixed Case" (id bigint);

-- tables of the kinds asked for pass, and are locked ACCESS SHARE until the
-- end of the transaction
BEGIN;
SELECT segroll._caller_reads('cc.t', '{r,p}', 'source');
SELECT segroll._caller_reads('cc.p', '{r,p}', 'source');
SELECT segroll._caller_reads('cc.m', '{r,p,m}', 'reference table');
SELECT segroll._caller_reads('"Odd ""Schema"""."Mixed Case"', '{r}', 'source');
SELECT l.relation::regclass, l.mode, l.granted FROM pg_locks l
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.relation IN ('cc.t'::regclass, 'cc.p'::regclass, 'cc.m'::regclass, '"Odd ""Schema"""."Mixed Case"'::regclass)
ORDER BY l.relation::regclass::text;
COMMIT;

-- anything else is refused before it is locked: a view, a kind not asked
-- for, an index, a relation that does not exist, a null
\set ON_ERROR_STOP 0
BEGIN;
SELECT segroll._caller_reads('cc.v', '{r,p}', 'source');
ROLLBACK;
SELECT count(*) AS locks_on_the_view FROM pg_locks l WHERE l.pid = pg_backend_pid() AND l.relation = 'cc.v'::regclass;
SELECT segroll._caller_reads('cc.m', '{r,p}', 'source');
SELECT segroll._caller_reads('cc.t_pkey', '{r,p,m}', 'archive');
SELECT segroll._caller_reads(4294967295::oid::regclass, '{r}', 'cells table');
SELECT segroll._caller_reads(NULL, '{r}', 'cells table');
SELECT segroll._caller_reads('cc.t', '{}', 'cells table');
\set ON_ERROR_STOP 1

-- _caller_column: the column's type must be one of those given
SELECT segroll._caller_column('cc.t', 'at', '{timestamptz}', 'time column');
SELECT segroll._caller_column('cc.t', 'n', '{int8,numeric}', 'column');
\set ON_ERROR_STOP 0
SELECT segroll._caller_column('cc.t', 'at', '{timestamp,date}', 'time column');
SELECT segroll._caller_column('cc.t', 's', ARRAY['segroll.segment'::regtype], 'column');
SELECT segroll._caller_column('cc.t', 'nope', '{text}', 'column');
\set ON_ERROR_STOP 1
-- a null argument makes no test (as the PL/pgSQL version's null comparison)
SELECT segroll._caller_column('cc.t', NULL, '{text}', 'column');
-- a type changed in the transaction, as the queries that follow see it
CREATE TABLE cc.u (s text);
BEGIN;
ALTER TABLE cc.u ALTER COLUMN s TYPE varchar;
\set ON_ERROR_STOP 0
SELECT segroll._caller_column('cc.u', 's', '{text}', 'column');
\set ON_ERROR_STOP 1
ROLLBACK;
SELECT segroll._caller_column('cc.u', 's', '{text}', 'column');

-- _beside_cells: what the SQL version (to_regclass of the cells' schema and
-- <name><suffix>, quoted by format('%I.%I')) finds, for a real
-- segmentation and for cells in a schema whose name needs quoting
CREATE TABLE cc.sales (id bigint PRIMARY KEY, at timestamptz NOT NULL, org int, amount numeric(12,2));
SELECT segroll.create_segmentation('cc_daily', 'cc.sales', 'id', 'at', 'day', 'Asia/Seoul', '{org}', '{amount}') IS NOT NULL AS created;
CREATE TABLE "Odd ""Schema""".cc_daily_lineage (x int);
CREATE TABLE "Odd ""Schema""".cc_daily (x int);
CREATE FUNCTION cc.beside_sql(def segroll.segmentation, suffix text) RETURNS regclass LANGUAGE sql AS $$
	SELECT to_regclass(format('%I.%I', n.nspname, def.name || suffix))
	FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = def.cells
$$;
WITH d AS (SELECT s AS def FROM segroll.segmentation s WHERE s.name = 'cc_daily'
           UNION ALL
           SELECT jsonb_populate_record(s, jsonb_build_object('cells', '"Odd ""Schema""".cc_daily'))
           FROM segroll.segmentation s WHERE s.name = 'cc_daily'
           UNION ALL	-- cells that are gone: no companion
           SELECT jsonb_populate_record(s, jsonb_build_object('cells', '4294967295'))
           FROM segroll.segmentation s WHERE s.name = 'cc_daily')
SELECT (d.def).cells, x.suffix, segroll._beside_cells(d.def, x.suffix) AS found,
       segroll._beside_cells(d.def, x.suffix) IS NOT DISTINCT FROM cc.beside_sql(d.def, x.suffix) AS as_sql
FROM d CROSS JOIN (VALUES ('_lineage'), ('_segments'), ('_adjustments'), ('_nothing')) x(suffix)
ORDER BY (d.def).cells::text, x.suffix;

SELECT segroll.drop_segmentation('cc_daily');
DROP SCHEMA cc CASCADE;
DROP SCHEMA "Odd ""Schema""" CASCADE;
