-- Issue 12, attacks 3 and 4: schemas a lesser role prepared.
-- 3. CREATE EXTENSION refuses a schema segroll (or segroll_data) that a
--    non-superuser made first, that others may create in, or that is not
--    empty: an overload planted there would run as whoever calls segroll.
-- 4. segroll_data belongs to a superuser, so no segmentation owner can drop
--    or replace another's cells, views, change log or capture functions;
--    owners need no CREATE on the database.  An update takes segroll_data
--    over from the role that created it under 0.4.0.
CREATE EXTENSION IF NOT EXISTS pgtap;
SELECT plan(39);

CREATE ROLE s8_att;
CREATE ROLE s8_a1;
CREATE ROLE s8_a2;
CREATE TABLE public.s8_trap (who name, at timestamptz DEFAULT now());
GRANT INSERT ON public.s8_trap TO PUBLIC;
-- what an attacker's planted code does: become superuser, leave a trace
CREATE FUNCTION public.s8_trap_fired() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM public.s8_trap $$;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO s8_att', current_database()); END $$;

-- ---------------------------------------------------------------- attack 3
SET ROLE s8_att;
CREATE SCHEMA segroll;
CREATE FUNCTION segroll.verify(text, text, text, text) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.s8_trap (who) VALUES (current_user);
	ALTER ROLE s8_att SUPERUSER;
	RETURN 0;
END
$$;
RESET ROLE;
SELECT throws_ok('CREATE EXTENSION segroll', '42501', 'schema segroll belongs to s8_att, who is not a superuser',
                 'a schema segroll made by a non-superuser is refused');
-- the README's call, with literals of type unknown: nothing of segroll is
-- there to call, and the planted overload is not segroll's
SELECT is((SELECT count(*) FROM pg_extension WHERE extname = 'segroll'), 0::bigint, 'segroll is not installed');
DROP SCHEMA segroll CASCADE;

CREATE SCHEMA segroll;
GRANT CREATE ON SCHEMA segroll TO PUBLIC;
SELECT throws_ok('CREATE EXTENSION segroll', '42501', 'role PUBLIC may create objects in schema segroll',
                 'a schema segroll anyone may create in is refused');
REVOKE CREATE ON SCHEMA segroll FROM PUBLIC;
GRANT CREATE ON SCHEMA segroll TO s8_att;
SELECT throws_ok('CREATE EXTENSION segroll', '42501', 'role s8_att may create objects in schema segroll',
                 'a schema segroll another role may create in is refused');
REVOKE CREATE ON SCHEMA segroll FROM s8_att;
CREATE FUNCTION segroll.verify(text, text, text, text) RETURNS int LANGUAGE sql AS $$ SELECT 0 $$;
SELECT throws_ok('CREATE EXTENSION segroll', '42P15', 'schema segroll is not empty',
                 'a schema segroll with something in it is refused');
DROP FUNCTION segroll.verify(text, text, text, text);

SET ROLE s8_att;
CREATE SCHEMA segroll_data;
RESET ROLE;
SELECT throws_ok('CREATE EXTENSION segroll', '42501', 'schema segroll_data belongs to s8_att, who is not a superuser',
                 'a schema segroll_data made by a non-superuser is refused');
DROP SCHEMA segroll_data;

-- an empty schema a superuser made (as a pg_dump restore does) is fine
SELECT lives_ok('CREATE EXTENSION segroll', 'an empty schema segroll of a superuser is used');
SELECT is((SELECT r.rolname::text FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner WHERE n.nspname = 'segroll_data'),
          current_user::text, 'segroll_data belongs to the installing superuser');
SELECT is((SELECT count(*) FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
           AND d.objid = 'segroll_data'::regnamespace AND d.deptype = 'e'), 0::bigint,
          'segroll_data is not a member of the extension (DROP EXTENSION leaves the cells)');
SELECT throws_ok($$SELECT * FROM segroll.verify('nope', '2026-11-01', '2026-12-01', 'fast')$$, '42704',
                 'segmentation "nope" does not exist', 'the README''s call reaches segroll.verify');
SELECT is(s8_trap_fired(), 0::bigint, 'no planted code ran');
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 's8_att'), false, 'the attacker is no superuser');

-- ---------------------------------------------------------------- attack 4
GRANT segroll_admin TO s8_a1, s8_a2;
-- each owner's source lives in a schema of its own (its capture sequence
-- is created there)
CREATE SCHEMA s8_own1 AUTHORIZATION s8_a1;
CREATE SCHEMA s8_own AUTHORIZATION s8_a2;
CREATE TABLE s8_own1.s8_src1 (id bigint PRIMARY KEY, t timestamptz NOT NULL, org int, amount numeric(12,2));
CREATE TABLE s8_own.s8_src2 (id bigint PRIMARY KEY, t timestamptz NOT NULL, org int, amount numeric(12,2));
INSERT INTO s8_own1.s8_src1 SELECT g, '2026-11-01'::timestamptz + g * interval '1 hour', g % 3, g FROM generate_series(1, 200) g;
INSERT INTO s8_own.s8_src2 SELECT g, '2026-11-01'::timestamptz + g * interval '1 hour', g % 4, g * 2 FROM generate_series(1, 200) g;
ALTER TABLE s8_own1.s8_src1 OWNER TO s8_a1;
ALTER TABLE s8_own.s8_src2 OWNER TO s8_a2;

-- runs q as role r; returns 'ok' or the SQLSTATE of the error
CREATE FUNCTION public.s8_try(r name, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	state text := 'ok';
BEGIN
	EXECUTE format('SET LOCAL ROLE %I', r);
	BEGIN
		EXECUTE q;
	EXCEPTION WHEN OTHERS THEN
		state := SQLSTATE;
	END;
	RESET ROLE;
	RETURN state;
END
$$;

-- two owners, neither with CREATE on the database
SELECT is(s8_try('s8_a1', $$SELECT segroll.create_segmentation('s8_one', 's8_own1.s8_src1', 'id', 't', 'day', 'UTC', '{org}', '{amount}')$$),
          'ok', 'an admin without CREATE on the database creates a segmentation');
-- the first plants, in segroll_data, the capture function the second's
-- source will need, a trap: the second's definition fails, loudly, and the
-- trap is never attached or run
CREATE TABLE public.s8_names AS SELECT 'segroll_capture_delete_' || 's8_own.s8_src2'::regclass::oid AS capture_fn;
GRANT SELECT ON public.s8_names TO PUBLIC;
SET ROLE s8_a1;
DO $$ BEGIN
	EXECUTE format($f$CREATE FUNCTION segroll_data.%I() RETURNS trigger LANGUAGE plpgsql AS $b$
		BEGIN INSERT INTO public.s8_trap (who) VALUES (current_user); RETURN NULL; END $b$ $f$,
		(SELECT capture_fn FROM public.s8_names));
END $$;
RESET ROLE;
SELECT is(s8_try('s8_a2', $$SELECT segroll.create_segmentation('s8_two', 's8_own.s8_src2', 'id', 't', 'day', 'UTC', '{org}', '{amount}')$$),
          '42501', 'a capture function planted by another owner is not adopted');
SELECT is(s8_try('s8_a1', format('DROP FUNCTION segroll_data.%I()', 'segroll_capture_delete_' || 's8_own.s8_src2'::regclass::oid)),
          'ok', 'its planter drops it');
-- the second creates its segmentation; the caller's pg_temp objects that
-- shadow names segroll uses are never found (pg_temp is searched last, and
-- never for functions and operators)
SET ROLE s8_a2;
CREATE TEMP TABLE segmentation (name text);
CREATE TEMP TABLE source (relid regclass);
CREATE FUNCTION pg_temp.format(text, VARIADIC text[]) RETURNS text LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.s8_trap (who) VALUES (current_user); RETURN ''; END $$;
CREATE FUNCTION pg_temp.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.s8_trap (who) VALUES (current_user); RETURN '2000-01-01'; END $$;
SET search_path = pg_temp, public;
RESET ROLE;
SELECT is(s8_try('s8_a2', $$SELECT segroll.create_segmentation('s8_two', 's8_own.s8_src2', 'id', 't', 'day', 'UTC', '{org}', '{amount}')$$),
          'ok', 'so does a second one, in the same segroll_data, with pg_temp shadows in its session');
RESET search_path;
SELECT is(s8_trap_fired(), 0::bigint, 'no planted or shadowing code ran');

-- the first tries to switch off the second's capture, replace its view,
-- empty its change log, write its cells, take the schema
SELECT is(s8_try('s8_a1', format('DROP FUNCTION segroll_data.%I() CASCADE', 'segroll_capture_delete_' || 's8_own.s8_src2'::regclass::oid)),
          '42501', 'cannot drop another owner''s capture function');
SELECT is(s8_try('s8_a1', $$CREATE OR REPLACE VIEW segroll_data.s8_two_v AS SELECT 1 AS x$$),
          '42501', 'cannot replace another owner''s BI view');
SELECT is(s8_try('s8_a1', format('DROP TABLE segroll_data.%I', 'changes_s8_src2_' || 's8_own.s8_src2'::regclass::oid)),
          '42501', 'cannot drop another owner''s change log');
SELECT is(s8_try('s8_a1', $$DELETE FROM segroll_data.s8_two$$), '42501', 'cannot write another owner''s cells');
SELECT is(s8_try('s8_a1', $$DROP SCHEMA segroll_data CASCADE$$), '42501', 'cannot drop segroll_data');
SELECT is(s8_try('s8_a1', $$ALTER SCHEMA segroll_data RENAME TO s8_gone$$), '42501', 'cannot rename segroll_data');

-- the second owner's deletes and updates are still rolled up, exactly
SELECT is(s8_try('s8_a2', $$DELETE FROM s8_own.s8_src2 WHERE id % 5 = 0$$), 'ok', 'the victim deletes rows');
SELECT is(s8_try('s8_a2', $$UPDATE s8_own.s8_src2 SET amount = amount + 1 WHERE id % 7 = 0$$), 'ok', 'and corrects some');
SELECT is(s8_try('s8_a2', $$SELECT segroll.rollup('s8_two')$$), 'ok', 'and rolls up');
SELECT is((SELECT count(*) FROM (
	(SELECT org, date_trunc('day', t, 'UTC') AS period, segroll.segment_agg(id, t, amount) AS seg
	 FROM s8_own.s8_src2 GROUP BY 1, 2
	 EXCEPT ALL SELECT org, period, seg FROM segroll_data.s8_two)
	UNION ALL
	(SELECT org, period, seg FROM segroll_data.s8_two
	 EXCEPT ALL SELECT org, date_trunc('day', t, 'UTC'), segroll.segment_agg(id, t, amount)
	 FROM s8_own.s8_src2 GROUP BY 1, date_trunc('day', t, 'UTC'))) d), 0::bigint,
	'the victim''s cells equal a from-scratch GROUP BY');

-- a cells schema another owner could empty is refused
SELECT is(s8_try('s8_a1', $$SELECT segroll.create_segmentation('s8_three', 's8_own1.s8_src1', 'id', 't', 'month', 'UTC', '{org}', '{amount}', cells_schema => 's8_own')$$),
          '42501', 'a cells schema owned by another non-superuser is refused');
SELECT is(s8_try('s8_a2', $$SELECT segroll.create_segmentation('s8_four', 's8_own.s8_src2', 'id', 't', 'month', 'UTC', '{org}', '{amount}', cells_schema => 's8_own')$$),
          'ok', 'its owner may use it');
SELECT is(s8_try('s8_a1', $$SELECT segroll.create_segmentation('s8_three', 's8_own1.s8_src1', 'id', 't', 'month', 'UTC', '{org}', '{amount}', cells_schema => NULL)$$),
          '22004', 'a null cells schema is refused');

SELECT is(s8_try('s8_a2', $$SELECT segroll.drop_segmentation('s8_four')$$), 'ok', 'owners drop their own');
SELECT is(s8_try('s8_a2', $$SELECT segroll.drop_segmentation('s8_two')$$), 'ok', 'segmentations');
SELECT is(s8_try('s8_a1', $$SELECT segroll.drop_segmentation('s8_one')$$), 'ok', 'in segroll_data');

-- ---------------------------------------------------------------- update
-- under 0.4.0 the first owner to create a segmentation made segroll_data
DROP EXTENSION segroll;
DROP SCHEMA segroll_data CASCADE;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO s8_a1', current_database()); END $$;
CREATE EXTENSION segroll VERSION '0.4.0';
GRANT segroll_admin TO s8_a1;
SELECT is(s8_try('s8_a1', $$SELECT segroll.create_segmentation('s8_old', 's8_own1.s8_src1', 'id', 't', 'day', 'UTC', '{org}', '{amount}')$$),
          'ok', 'under 0.4.0 an owner creates segroll_data');
SELECT is((SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'segroll_data'), 's8_a1', 'and owns it');
SET client_min_messages = error;
ALTER EXTENSION segroll UPDATE;
RESET client_min_messages;
SELECT is((SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'segroll_data'), current_user::text,
          'the update gives segroll_data to the superuser running it');
SELECT is(s8_try('s8_a1', $$DELETE FROM s8_own1.s8_src1 WHERE id % 3 = 0$$), 'ok', 'the owner keeps writing');
SELECT is(s8_try('s8_a1', $$SELECT segroll.rollup('s8_old')$$), 'ok', 'and rolling up its segmentation');
SELECT is((SELECT count(*) FROM (
	(SELECT org, date_trunc('day', t, 'UTC') AS period, segroll.segment_agg(id, t, amount) AS seg
	 FROM s8_own1.s8_src1 GROUP BY 1, 2
	 EXCEPT ALL SELECT org, period, seg FROM segroll_data.s8_old)
	UNION ALL
	(SELECT org, period, seg FROM segroll_data.s8_old
	 EXCEPT ALL SELECT org, date_trunc('day', t, 'UTC'), segroll.segment_agg(id, t, amount)
	 FROM s8_own1.s8_src1 GROUP BY 1, date_trunc('day', t, 'UTC'))) d), 0::bigint,
	'its cells equal a from-scratch GROUP BY after the update');

SELECT * FROM finish();

-- roles are the cluster's: leave none behind
SELECT segroll.drop_segmentation('s8_old');
DROP EXTENSION segroll;
DROP SCHEMA segroll_data CASCADE;
DROP SCHEMA s8_own, s8_own1 CASCADE;
DROP TABLE public.s8_names;
DO $$ BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM s8_att, s8_a1', current_database()); END $$;
DROP OWNED BY s8_att, s8_a1, s8_a2;
DROP ROLE s8_att, s8_a1, s8_a2;
