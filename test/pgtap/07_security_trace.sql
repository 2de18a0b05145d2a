-- Issue 12, attack 2 and its relatives: trace(), trace_rows(), cell() and
-- locate() run as their caller, so nothing in them may evaluate code that
-- the segmentation's owner (or anyone but the caller) wrote.  The owner
-- here, a non-superuser segroll_admin, lays every trap it can think of:
--   * a dimension of a domain whose CHECK calls its function (org);
--   * a domain over a domain, whose CHECK function becomes a trap after
--     the segmentation was created (brand): an existing segmentation;
--   * a reference value of a trapped domain (region), looked up by a key of
--     a trapped domain (store);
--   * an enum with its own casts from text and to json (color), and a
--     composite type with a trapped domain field (tag);
--   * operators named "=" of its own, on the caller's search_path;
--   * a reference table that becomes a view, and an archive that is a view.
-- Each trap records who ran it and tries ALTER ROLE ... SUPERUSER.  The
-- superuser (this session) and an auditor then call trace (of a cell and
-- of a segment), trace_rows, cell, locate and verify.  The owner must stay a non-superuser, no trap
-- may run as anyone but the owner itself, and the answers must be the
-- ones a plain SELECT gives.
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segroll;

CREATE ROLE ts7_owner;
CREATE ROLE ts7_aud;
GRANT segroll_admin TO ts7_owner;
GRANT segroll_auditor TO ts7_aud;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO ts7_owner', current_database()); END $$;

-- who ran a trap; anyone may write here, as a trap needs
CREATE TABLE public.ts7_ran (who name NOT NULL, trap text NOT NULL);
GRANT INSERT, SELECT ON public.ts7_ran TO PUBLIC;

SET ROLE ts7_owner;
CREATE SCHEMA ts7o;
GRANT USAGE ON SCHEMA ts7o TO PUBLIC;

CREATE FUNCTION ts7o.trap(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.ts7_ran VALUES (current_user, split_part(what, ':', 1));
	BEGIN
		EXECUTE 'ALTER ROLE ts7_owner SUPERUSER';
	EXCEPTION WHEN OTHERS THEN
		NULL;	-- not a superuser (yet): try again next time
	END;
	RETURN true;
END
$$;
GRANT EXECUTE ON FUNCTION ts7o.trap(text) TO PUBLIC;

CREATE DOMAIN ts7o.org_id AS int CHECK (ts7o.trap(concat('org:', VALUE)));
-- harmless when the segmentation is created, a trap afterwards
CREATE FUNCTION ts7o.brand_ok(b text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE DOMAIN ts7o.brand_base AS text CHECK (ts7o.brand_ok(VALUE));
CREATE DOMAIN ts7o.brand AS ts7o.brand_base;           -- a domain over a domain
CREATE DOMAIN ts7o.store_id AS int CHECK (ts7o.trap(concat('store:', VALUE)));
CREATE DOMAIN ts7o.region AS text CHECK (ts7o.trap(concat('region:', VALUE)));
CREATE DOMAIN ts7o.code AS int CHECK (ts7o.trap(concat('tag:', VALUE)));
CREATE TYPE ts7o.tagged AS (code ts7o.code);
CREATE TYPE ts7o.color AS ENUM ('red', 'green');
CREATE FUNCTION ts7o.color_from_text(t text) RETURNS ts7o.color LANGUAGE plpgsql AS $$
BEGIN
	PERFORM ts7o.trap('color_cast:' || t);
	RETURN enum_in(t::cstring, 'ts7o.color'::regtype);
END
$$;
CREATE FUNCTION ts7o.color_to_json(c ts7o.color) RETURNS json LANGUAGE plpgsql AS $$
BEGIN
	PERFORM ts7o.trap('color_json:' || c::text);
	RETURN to_json('cast:' || c::text);	-- not what a SELECT shows
END
$$;
CREATE CAST (text AS ts7o.color) WITH FUNCTION ts7o.color_from_text(text);
CREATE CAST (ts7o.color AS json) WITH FUNCTION ts7o.color_to_json(ts7o.color);
-- operators of its own, for callers who put ts7o on their search_path
CREATE FUNCTION ts7o.int_eq(a int, b int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM ts7o.trap('operator:int'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE FUNCTION ts7o.text_eq(a text, b text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM ts7o.trap('operator:text'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE FUNCTION ts7o.int8_eq(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM ts7o.trap('operator:bigint'); RETURN a OPERATOR(pg_catalog.=) b; END $$;
CREATE OPERATOR ts7o.= (LEFTARG = int, RIGHTARG = int, FUNCTION = ts7o.int_eq);
CREATE OPERATOR ts7o.= (LEFTARG = text, RIGHTARG = text, FUNCTION = ts7o.text_eq);
CREATE OPERATOR ts7o.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = ts7o.int8_eq);

CREATE TABLE ts7o.store_ref (store ts7o.store_id PRIMARY KEY, region ts7o.region NOT NULL);
INSERT INTO ts7o.store_ref VALUES (1, 'north'), (2, 'south'), (3, 'south');
CREATE TABLE ts7o.sales (
	id      bigint PRIMARY KEY,
	sold_at timestamptz NOT NULL,
	org     ts7o.org_id,
	brand   ts7o.brand,
	color   ts7o.color,
	store   ts7o.store_id,
	tag     ts7o.tagged,
	amount  numeric(12,2) NOT NULL
);
INSERT INTO ts7o.sales
SELECT g, '2026-11-01'::timestamptz + g * interval '37 minutes', g % 3, 'b' || (g % 2),
       CASE WHEN g % 5 = 0 THEN 'green' ELSE 'red' END::text::ts7o.color,
       1 + g % 4,	-- store 4 has no reference row: the unmapped member
       ROW(g % 2)::ts7o.tagged, g * 1.25
FROM generate_series(1, 300) g;
SELECT segroll.create_segmentation('ts7_seg', 'ts7o.sales', 'id', 'sold_at', 'day', 'UTC',
	'{org, brand, color, region=ts7o.store_ref.region ON store, tag}', '{amount}');
-- the segmentation exists; now its domain's check becomes a trap
CREATE OR REPLACE FUNCTION ts7o.brand_ok(b text) RETURNS boolean LANGUAGE sql AS $$ SELECT ts7o.trap(concat('brand:', b)) $$;
INSERT INTO ts7o.sales VALUES (301, '2026-11-02 10:00+00', 1, 'b0', 'red', 1, ROW(0), 7.5);
SELECT segroll.rollup('ts7_seg');

-- a second segmentation whose reference table becomes a view
CREATE TABLE ts7o.store_ref2 (store int PRIMARY KEY, region text NOT NULL);
INSERT INTO ts7o.store_ref2 VALUES (1, 'north'), (2, 'south');
CREATE TABLE ts7o.sales2 (id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, store int NOT NULL);
INSERT INTO ts7o.sales2 SELECT g, '2026-11-01'::timestamptz + g * interval '1 hour', 1 + g % 2 FROM generate_series(1, 20) g;
SELECT segroll.create_segmentation('ts7_viewref', 'ts7o.sales2', 'id', 'sold_at', 'day', 'UTC',
	'{region=ts7o.store_ref2.region ON store}');
ALTER TABLE ts7o.store_ref2 RENAME TO store_ref2_old;
CREATE VIEW ts7o.store_ref2 AS SELECT store, region FROM ts7o.store_ref2_old WHERE ts7o.trap('view:ref');
-- and a third, whose archive is a view
CREATE TABLE ts7o.sales3 (id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, store int NOT NULL);
INSERT INTO ts7o.sales3 SELECT g, '2026-11-01'::timestamptz + g * interval '1 hour', 1 + g % 2 FROM generate_series(1, 20) g;
SELECT segroll.create_segmentation('ts7_viewarch', 'ts7o.sales3', 'id', 'sold_at', 'day', 'UTC', '{store}');
CREATE VIEW ts7o.arch3 AS SELECT id, sold_at, store FROM ts7o.sales3 WHERE ts7o.trap('view:archive');
SELECT segroll.set_archive('ts7_viewarch', 'ts7o.arch3');

-- the auditor reads what it audits
GRANT SELECT ON ts7o.sales, ts7o.store_ref, ts7o.sales2, ts7o.store_ref2, ts7o.store_ref2_old,
	ts7o.sales3, ts7o.arch3 TO ts7_aud;
GRANT SELECT ON segroll_data.ts7_seg, segroll_data.ts7_viewref, segroll_data.ts7_viewarch TO ts7_aud;
RESET ROLE;

-- the traps the owner's own work ran (definition, roll-up) are its own business
TRUNCATE public.ts7_ran;
-- the superuser, and the auditor, with the owner's schema first on their path
ALTER ROLE ts7_aud SET search_path = ts7o, public, pg_catalog;
SET search_path = ts7o, public, pg_catalog;

-- the cell of org 1, brand b0, red, north, tag (0) on 2026-11-02, by plain SQL
CREATE TABLE public.ts7_expect AS
SELECT s.id FROM ts7o.sales s JOIN ts7o.store_ref r ON r.store::int OPERATOR(pg_catalog.=) s.store::int
WHERE s.org::int OPERATOR(pg_catalog.=) 1 AND s.brand::text OPERATOR(pg_catalog.=) 'b0'
  AND s.color::text OPERATOR(pg_catalog.=) 'red' AND r.region::text OPERATOR(pg_catalog.=) 'north'
  AND (s.tag).code::int OPERATOR(pg_catalog.=) 0
  AND s.sold_at OPERATOR(pg_catalog.>=) '2026-11-02 00:00+00' AND s.sold_at OPERATOR(pg_catalog.<) '2026-11-03 00:00+00';
-- the unmapped member (store 4): region null
CREATE TABLE public.ts7_expect_unmapped AS
SELECT s.id FROM ts7o.sales s
WHERE s.store::int OPERATOR(pg_catalog.=) 4 AND s.org::int OPERATOR(pg_catalog.=) 0
  AND s.brand::text OPERATOR(pg_catalog.=) 'b1' AND s.color::text OPERATOR(pg_catalog.=) 'red'
  AND (s.tag).code::int OPERATOR(pg_catalog.=) 1
  AND s.sold_at OPERATOR(pg_catalog.>=) '2026-11-02 00:00+00' AND s.sold_at OPERATOR(pg_catalog.<) '2026-11-03 00:00+00';
GRANT SELECT ON public.ts7_expect, public.ts7_expect_unmapped TO PUBLIC;

-- runs q as role r (NULL: as this session); returns 'ok' or the SQLSTATE
CREATE FUNCTION public.ts7_try(r name, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	state text := 'ok';
BEGIN
	IF r IS NOT NULL THEN
		EXECUTE format('SET LOCAL ROLE %I', r);
		SET LOCAL search_path = ts7o, public, pg_catalog;
	END IF;
	BEGIN
		EXECUTE q;
	EXCEPTION WHEN OTHERS THEN
		state := SQLSTATE;
	END;
	RESET ROLE;
	RETURN state;
END
$$;

-- what each caller gets: one temp table per call; a call that fails is
-- recorded in ts7_failed (and its effects, traps included, roll back)
CREATE TABLE public.ts7_failed (who text, step text, state text, message text);
GRANT INSERT, SELECT ON public.ts7_failed TO PUBLIC;
CREATE FUNCTION public.ts7_run(r name) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	who text := coalesce(r, 'super');
	step record;
	cell text := $c$'{"org": 1, "brand": "b0", "color": "red", "region": "north", "tag": "(0)"}', '2026-11-02 00:00+00'$c$;
BEGIN
	IF r IS NOT NULL THEN
		EXECUTE format('SET LOCAL ROLE %I', r);
	END IF;
	FOR step IN SELECT * FROM (VALUES
		('cell_trace', format('SELECT key, origin, source_row::jsonb AS source_row FROM segroll.trace(%L, %s)', 'ts7_seg', cell)),
		('unmapped_trace', $q$SELECT key FROM segroll.trace('ts7_seg', '{"org": 0, "brand": "b1", "color": "red", "region": null, "tag": "(1)"}',
		                                                    '2026-11-02 00:00+00')$q$),
		('seg_trace', format('SELECT key FROM segroll.trace(%L, segroll.cell(%L, %s))', 'ts7_seg', 'ts7_seg', cell)),
		('cell', format('SELECT segroll.count(segroll.cell(%L, %s)) AS n', 'ts7_seg', cell)),
		('rows', format('SELECT t.id FROM segroll.trace_rows(%L, segroll.cell(%L, %s), NULL::ts7o.sales) t', 'ts7_seg', 'ts7_seg', cell)),
		('locate', $q$SELECT l.* FROM (SELECT min(id) AS id FROM public.ts7_expect) e, segroll.locate('ts7_seg', e.id) l$q$),
		('verify', $q$SELECT * FROM segroll.verify('ts7_seg', '2026-11-01', '2026-11-10', 'full')$q$)) v(name, q)
	LOOP
		BEGIN
			EXECUTE format('CREATE TEMP TABLE %I AS %s', who || '_' || step.name, step.q);
		EXCEPTION WHEN OTHERS THEN
			INSERT INTO public.ts7_failed VALUES (who, step.name, SQLSTATE, SQLERRM);
		END;
	END LOOP;
	RESET ROLE;
END
$$;

SELECT public.ts7_run(NULL);
SELECT public.ts7_run('ts7_aud');
-- the view variants: each must refuse, whoever calls
CREATE TABLE public.ts7_views AS
SELECT 'super locate'::text AS what, public.ts7_try(NULL, $$SELECT * FROM segroll.locate('ts7_viewref', 3)$$) AS state
UNION ALL
SELECT 'auditor locate', public.ts7_try('ts7_aud', $$SELECT * FROM segroll.locate('ts7_viewref', 3)$$)
UNION ALL
SELECT 'super trace', public.ts7_try(NULL, $$SELECT * FROM segroll.trace('ts7_viewarch', '{"store": 2}', '2026-11-01 00:00+00')$$)
UNION ALL
SELECT 'auditor trace_rows', public.ts7_try('ts7_aud', $$SELECT * FROM segroll.trace_rows('ts7_viewarch',
	segroll.cell('ts7_viewarch', '{"store": 2}', '2026-11-01 00:00+00'), NULL::ts7o.sales3)$$);
RESET search_path;

SELECT plan(26);
SELECT ok(NOT (SELECT rolsuper FROM pg_roles WHERE rolname = 'ts7_owner'), 'the owner is still not a superuser');
SELECT is((SELECT count(*) FROM public.ts7_ran WHERE who <> 'ts7_owner'), 0::bigint,
          'no trap ran as the superuser or the auditor');
SELECT is((SELECT string_agg(DISTINCT trap, ', ' ORDER BY trap) FROM public.ts7_ran), NULL,
          'no trap ran at all while they traced (domain CHECKs, casts, operators, views)');
SELECT is((SELECT count(*) FROM public.ts7_ran WHERE trap = 'org'), 0::bigint, 'trap of a domain dimension: not run');
SELECT is((SELECT count(*) FROM public.ts7_ran WHERE trap = 'brand'), 0::bigint, 'trap added later to a domain under a domain: not run');
SELECT is((SELECT count(*) FROM public.ts7_ran WHERE trap IN ('region', 'store')), 0::bigint, 'traps of a reference value and key: not run');
SELECT is((SELECT count(*) FROM public.ts7_ran WHERE trap LIKE 'color%'), 0::bigint, 'the enum''s casts from text and to json: not run');
SELECT is((SELECT count(*) FROM public.ts7_ran WHERE trap = 'tag'), 0::bigint, 'trap of a composite''s domain field: not run');
SELECT is((SELECT count(*) FROM public.ts7_ran WHERE trap = 'operator'), 0::bigint, 'the owner''s "=" operators on the caller''s path: not run');
SELECT is((SELECT count(*) FROM public.ts7_ran WHERE trap = 'view'), 0::bigint, 'views as reference table or archive: not run');

SELECT is((SELECT string_agg(format('%s %s: %s %s', who, step, state, message), '; ') FROM public.ts7_failed), NULL,
          'every call succeeded, for the superuser and the auditor');
SELECT results_eq('SELECT key FROM super_cell_trace', 'SELECT id FROM public.ts7_expect ORDER BY id',
                  'superuser: trace(name, dims, period) returns exactly the rows of the cell');
SELECT results_eq('SELECT key FROM ts7_aud_cell_trace', 'SELECT id FROM public.ts7_expect ORDER BY id',
                  'auditor: trace(name, dims, period) returns exactly the rows of the cell');
SELECT results_eq('SELECT key FROM ts7_aud_seg_trace', 'SELECT id FROM public.ts7_expect ORDER BY id',
                  'auditor: trace(name, seg) of the cell''s segment returns the same rows');
SELECT ok((SELECT count(*) FROM public.ts7_expect) > 0, 'the cell is not empty');
SELECT results_eq('SELECT key FROM super_unmapped_trace', 'SELECT id FROM public.ts7_expect_unmapped ORDER BY id',
                  'superuser: the unmapped member (a null dimension) traces too');
SELECT is((SELECT array_agg(DISTINCT source_row->>'color') FROM super_cell_trace), '{red}'::text[],
          'a trace shows the enum as its text, as a SELECT does (not through the owner''s cast to json)');
SELECT is((SELECT array_agg(DISTINCT source_row->>'tag') FROM super_cell_trace), '{(0)}'::text[],
          'and the composite as its text');
SELECT is((SELECT n FROM super_cell), (SELECT count(*) FROM public.ts7_expect), 'superuser: cell() has the count of the cell');
SELECT is((SELECT n FROM ts7_aud_cell), (SELECT count(*) FROM public.ts7_expect), 'auditor: cell() has the count of the cell');
SELECT results_eq('SELECT id FROM super_rows', 'SELECT id FROM public.ts7_expect ORDER BY id',
                  'superuser: trace_rows returns the rows of the cell');
SELECT results_eq('SELECT dimensions, period, status FROM super_locate',
                  $$VALUES ('{"org": 1, "tag": "(0)", "brand": "b0", "color": "red", "region": "north"}'::jsonb,
                            '2026-11-02 00:00+00'::timestamptz, 'counted'::text)$$,
                  'superuser: locate() finds the row''s cell');
SELECT results_eq('SELECT dimensions, period, status FROM ts7_aud_locate', 'SELECT dimensions, period, status FROM super_locate',
                  'auditor: locate() finds the same cell');
SELECT is((SELECT count(*) FROM super_verify) + (SELECT count(*) FROM ts7_aud_verify), 0::bigint,
          'verify() finds the cells exact, for the superuser and the auditor');
SELECT results_eq('SELECT what, state COLLATE "default" FROM public.ts7_views',
                  $$VALUES ('super locate'::text, '42809'::text), ('auditor locate', '42809'), ('super trace', '42809'), ('auditor trace_rows', '42809')$$,
                  'a reference table or archive that is a view: refused (wrong_object_type)');
SELECT is((SELECT count(*) FROM segroll.trace_log WHERE role_name IN ('postgres', 'ts7_aud')), 8::bigint,
          'the traces are logged');
SELECT * FROM finish();
