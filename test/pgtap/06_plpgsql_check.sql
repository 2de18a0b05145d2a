-- plpgsql_check over every PL/pgSQL routine of segroll: each must come out
-- with no finding at all.  Checked are
--   * every PL/pgSQL function and procedure that is a member of the
--     extension (pg_depend deptype 'e');
--   * what segroll writes at run time: the capture trigger functions of a
--     source (segroll_capture_*), and the apply query of each segmentation,
--     which _rollup() runs with EXECUTE: it is checked as the body of a
--     PL/pgSQL wrapper that runs it statically, as _rollup() would.
-- A trigger function is checked against every relation a trigger of it is
-- on (transition tables included); one that no trigger uses is a failure,
-- not a skip.  Polymorphic routines (trace_rows(..., anyelement)) are
-- checked with the source's row type, the only type they accept.
--
-- Settings: errors, other, extra, security and compatibility warnings;
-- performance warnings are off (they report hidden casts such as
-- int -> float8 in the estimator, which are intended).  fatal_errors is off
-- only so that every finding of a routine is listed, not just its first
-- error; an error is a finding like any other.  A deliberate exception in
-- the code is written there, next to it, with plpgsql_check's pragmas
-- (PERFORM 'PRAGMA:...') or in-comment options, never here.
-- Statements built at run time (EXECUTE of a text) cannot be checked
-- statically; the regression tests run them.
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segroll;
CREATE EXTENSION plpgsql_check;
SET client_min_messages = warning;

-- a source with a reference dimension, and two segmentations of it: one
-- with lineage and a looked-up dimension, one without either
CREATE SCHEMA ref;
CREATE SCHEMA front;
CREATE TABLE ref.item (item_id int PRIMARY KEY, brand_id int);
INSERT INTO ref.item SELECT g, g % 5 FROM generate_series(1, 100) g;
CREATE TABLE front.sales (
	txn_id   bigint PRIMARY KEY,
	sold_at  timestamptz NOT NULL,
	org_id   int,
	item_id  int,
	amount   numeric(12,2),
	qty      int
);
INSERT INTO front.sales
SELECT g, '2026-11-01 00:00+09'::timestamptz + g * interval '7 minutes', g % 3,
       g % 110, (g % 1000) / 10.0, g % 5
FROM generate_series(1, 2000) g;
SELECT segroll.create_segmentation(
	name       => 'sales_daily',
	source     => 'front.sales',
	key        => 'txn_id',
	time_col   => 'sold_at',
	grain      => 'day',
	time_zone  => 'Asia/Seoul',
	dimensions => '{org_id, brand_id=ref.item.brand_id ON item_id}',
	measures   => '{sum(amount), qty}');
SELECT segroll.create_segmentation(
	name       => 'sales_hourly',
	source     => 'front.sales',
	key        => 'txn_id',
	time_col   => 'sold_at',
	grain      => 'hour',
	dimensions => '{org_id}',
	measures   => '{qty}',
	lineage    => false);
-- a change of each kind, so the capture has run once
UPDATE front.sales SET qty = qty + 1 WHERE txn_id = 1;
DELETE FROM front.sales WHERE txn_id = 2;
SELECT segroll.rollup(name) FROM segroll.segmentation ORDER BY name;

CREATE SCHEMA t6;

-- the routines to check; origin orders the report
CREATE TABLE t6.routine (
	fn     regprocedure PRIMARY KEY,
	origin text NOT NULL,		-- 'member', 'capture' or 'apply'
	label  text NOT NULL
);
INSERT INTO t6.routine
SELECT p.oid, 'member', p.oid::regprocedure::text
FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
WHERE d.refclassid = 'pg_extension'::regclass
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'segroll')
  AND d.deptype = 'e'
  AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql');
-- every PL/pgSQL trigger function on a source that is not a member: the
-- capture functions segroll wrote for it
INSERT INTO t6.routine
SELECT DISTINCT p.oid, 'capture', format('%s (capture of %s)', p.oid::regprocedure, t.tgrelid::regclass)
FROM segroll.source s JOIN pg_trigger t ON t.tgrelid = s.relid AND NOT t.tgisinternal
JOIN pg_proc p ON p.oid = t.tgfoid
WHERE p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')
  AND NOT EXISTS (SELECT 1 FROM t6.routine r WHERE r.fn = p.oid);
-- each segmentation's apply query, run as _rollup() runs it: $1 to $4 and
-- INTO four bigints
DO $do$
DECLARE
	s record;
	w regprocedure;
BEGIN
	FOR s IN SELECT name, apply_sql FROM segroll.segmentation ORDER BY name LOOP
		EXECUTE format($w$
CREATE FUNCTION t6.%I(pg_catalog.int8, pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.int8) RETURNS pg_catalog.int8
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $segroll_check$
DECLARE
	w_applied pg_catalog.int8;
	w_del pg_catalog.int8;
	w_upd pg_catalog.int8;
	w_ins pg_catalog.int8;
BEGIN
%s
	INTO w_applied, w_del, w_upd, w_ins;
	RETURN w_applied + w_del + w_upd + w_ins;
END
$segroll_check$$w$, 'apply_' || s.name, s.apply_sql);
		w := format('t6.%I(pg_catalog.int8, pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.int8)', 'apply_' || s.name)::regprocedure;
		INSERT INTO t6.routine VALUES (w, 'apply', format('apply query of segmentation %s (segroll.segmentation.apply_sql)', s.name));
	END LOOP;
END
$do$;

-- what to check each routine against: nothing, or each relation a trigger
-- of it is on
CREATE VIEW t6.target AS
SELECT r.fn, NULL::regclass AS relid, NULL::name AS oldtable, NULL::name AS newtable
FROM t6.routine r JOIN pg_proc p ON p.oid = r.fn
WHERE p.prorettype <> 'trigger'::regtype
UNION ALL
SELECT r.fn, t.tgrelid, t.tgoldtable, t.tgnewtable
FROM t6.routine r JOIN pg_proc p ON p.oid = r.fn
JOIN pg_trigger t ON t.tgfoid = r.fn AND NOT t.tgisinternal
WHERE p.prorettype = 'trigger'::regtype;

CREATE TABLE t6.finding (
	fn       regprocedure NOT NULL,
	relid    regclass,
	lineno   int,
	level    text,
	message  text,
	detail   text,
	context  text
);
CREATE TABLE t6.checked (fn regprocedure NOT NULL, relid regclass);

DO $$
DECLARE
	t record;
	anyelement_type regtype := (SELECT reltype FROM pg_class WHERE oid = 'front.sales'::regclass);
BEGIN
	FOR t IN SELECT * FROM t6.target ORDER BY fn::text, relid::text LOOP
		BEGIN
			INSERT INTO t6.finding
			SELECT t.fn, t.relid, c.lineno, c.level, c.message, c.detail, c.context
			FROM plpgsql_check_function_tb(t.fn, coalesce(t.relid, 0),
				fatal_errors => false,
				other_warnings => true,
				extra_warnings => true,
				security_warnings => true,
				compatibility_warnings => true,
				performance_warnings => false,
				oldtable => t.oldtable,
				newtable => t.newtable,
				-- sic: plpgsql_check 2.3 spells the parameter this way
				anyelememttype => anyelement_type) c;
			INSERT INTO t6.checked VALUES (t.fn, t.relid);
		EXCEPTION WHEN OTHERS THEN
			INSERT INTO t6.finding (fn, relid, level, message)
			VALUES (t.fn, t.relid, 'cannot check', SQLERRM);
		END;
	END LOOP;
	-- a trigger function no trigger uses has nothing to be checked against
	INSERT INTO t6.finding (fn, level, message)
	SELECT r.fn, 'cannot check', 'trigger function without a trigger: no relation to check it against'
	FROM t6.routine r WHERE NOT EXISTS (SELECT 1 FROM t6.target x WHERE x.fn = r.fn);
END
$$;

SELECT plan((SELECT count(*)::int FROM t6.routine) + 2);

-- one assertion per routine; the diagnostics list its findings
SELECT is_empty(
	format($q$SELECT format('%%s%%s: %%s%%s%%s', coalesce('line ' || lineno || ' ', ''),
	                        level, message, coalesce(' -- ' || detail, ''),
	                        coalesce(' [on ' || relid || ']', ''))
	           FROM t6.finding WHERE fn::oid = %s ORDER BY lineno NULLS LAST, message$q$, r.fn::oid),
	'plpgsql_check: ' || r.label)
FROM (SELECT * FROM t6.routine
      ORDER BY CASE origin WHEN 'member' THEN 1 WHEN 'capture' THEN 2 ELSE 3 END, fn::text) r;

-- the checks ran: every PL/pgSQL member, and what segroll wrote at run time
SELECT cmp_ok(
	(SELECT count(DISTINCT c.fn)::int FROM t6.checked c JOIN t6.routine r USING (fn) WHERE r.origin = 'member'),
	'>=',
	greatest(1, (SELECT count(*)::int FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
	             WHERE d.refclassid = 'pg_extension'::regclass
	               AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'segroll')
	               AND d.deptype = 'e'
	               AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql'))),
	'every PL/pgSQL function and procedure of the extension was checked');
SELECT cmp_ok(
	(SELECT count(DISTINCT c.fn)::int FROM t6.checked c JOIN t6.routine r USING (fn) WHERE r.origin <> 'member'),
	'>=',
	2 * (SELECT count(*)::int FROM segroll.source) + (SELECT count(*)::int FROM segroll.segmentation),
	'two capture functions per source (the third is C) and one apply query per segmentation were checked');

SELECT * FROM finish();
