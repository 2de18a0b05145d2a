-- Duties: segroll_reader reads cells, segroll_auditor traces and verifies,
-- segroll_admin defines and operates.  A reader cannot define or trace, an
-- auditor cannot alter, and nothing that defines, changes or traces is
-- executable by PUBLIC.
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segroll;

CREATE ROLE r5_admin;
CREATE ROLE r5_reader;
CREATE ROLE r5_auditor;
CREATE ROLE r5_nobody;
GRANT segroll_admin TO r5_admin;
GRANT segroll_reader TO r5_reader;
GRANT segroll_auditor TO r5_auditor;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO r5_admin', current_database()); END $$;
GRANT CREATE ON SCHEMA public TO r5_admin;

SET ROLE r5_admin;
CREATE TABLE public.r5_sales (id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org int, amount numeric(12,2));
INSERT INTO public.r5_sales SELECT g, '2026-11-01'::timestamptz + g * interval '1 hour', g % 3, g FROM generate_series(1, 100) g;
SELECT segroll.create_segmentation('r5_daily', 'public.r5_sales', 'id', 'sold_at', 'day', 'UTC', '{org}', '{amount}');
GRANT SELECT ON public.r5_sales TO r5_auditor;	-- the source's owner decides who sees raw rows
RESET ROLE;

-- runs q as role r; returns 'ok' or the SQLSTATE of the error
CREATE FUNCTION public.r5_try(r name, q text) RETURNS text LANGUAGE plpgsql AS $$
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

-- q's single bigint as role r
CREATE FUNCTION public.r5_value(r name, q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	v bigint;
BEGIN
	EXECUTE format('SET LOCAL ROLE %I', r);
	EXECUTE q INTO v;
	RESET ROLE;
	RETURN v;
END
$$;

SELECT plan(39);

SELECT is((SELECT count(*)::int FROM pg_roles WHERE rolname IN ('segroll_admin', 'segroll_reader', 'segroll_auditor') AND NOT rolcanlogin),
          3, 'the three roles exist and cannot log in');
SELECT ok(pg_has_role('segroll_admin', 'segroll_auditor', 'MEMBER') AND pg_has_role('segroll_admin', 'segroll_reader', 'MEMBER')
          AND pg_has_role('segroll_auditor', 'segroll_reader', 'MEMBER'), 'admin is auditor and reader; auditor is reader');

-- nothing that defines, changes or traces is executable by PUBLIC
SELECT is((SELECT array_agg(f ORDER BY f) FROM unnest(ARRAY[
	'segroll.create_segmentation(text,regclass,text,text,text,text,text[],text[],boolean,text,boolean,name)',
	'segroll.alter_segmentation(text,text,text)', 'segroll.drop_segmentation(text)', 'segroll.rollup(text,bigint)',
	'segroll.rebuild(text)', 'segroll.backfill(text,bigint)', 'segroll.repair(text,timestamp with time zone,timestamp with time zone)',
	'segroll.purge_source(text,interval)', 'segroll.set_archive(text,regclass)', 'segroll.wait_for_writers(regclass)',
	'segroll.trace(text,segroll.segment)', 'segroll.trace(text,jsonb,timestamp with time zone)',
	'segroll.trace_rows(text,segroll.segment,anyelement)', 'segroll.cell(text,jsonb,timestamp with time zone)',
	'segroll.locate(text,bigint)', 'segroll.locate(text,text)', 'segroll.verify(text,timestamp with time zone,timestamp with time zone,text)',
	'segroll.close_period(text,timestamp with time zone)', 'segroll.reopen_period(text,timestamp with time zone)',
	'segroll.estimate(regclass,text[],text,text,text,text[],text,double precision)',
	'segroll.resegment(text,timestamp with time zone,timestamp with time zone)',
	'segroll.create_version(text,text[],text,text[],boolean,text)', 'segroll.switch_version(text,boolean)']) f
	WHERE has_function_privilege('public', f::regprocedure, 'EXECUTE')), NULL,
	'no admin or audit function is executable by PUBLIC');
-- and no new SQL-level function slips in: the PL/pgSQL and SQL functions
-- PUBLIC may run are these helpers of views, policies and triggers
SELECT is((SELECT array_agg(p.oid::regprocedure::text ORDER BY p.oid::regprocedure::text) FROM pg_proc p
           WHERE p.pronamespace = 'segroll'::regnamespace
             AND p.prolang IN (SELECT oid FROM pg_language WHERE lanname IN ('plpgsql', 'sql'))
             AND has_function_privilege('public', p.oid, 'EXECUTE')
             AND p.oid::regprocedure::text NOT IN (
                 'segroll._owns_table(regclass)', 'segroll._capture_on()', 'segroll.pending_upper(text)',
                 'segroll.capture_update()', 'segroll.capture_update_log()', 'segroll.capture_delete()',
                 'segroll._old_versions_sql(segroll.segmentation)', 'segroll._number_attached(regclass)',
                 'segroll.capture_truncate()', 'segroll._column_type(regclass,text)',
                 'segroll._has_unique_index(regclass,name)', 'segroll._warn_without_workers(text)',
                 'segroll._capture_function(regclass,text)', 'segroll._definition(text)',
                 'segroll._sql(segroll.segmentation)', 'segroll._fresh_sql(segroll.segmentation,boolean,boolean)',
                 'segroll._as_of_rows_sql(segroll.segmentation,text,text,text)',
                 'segroll._check_range(timestamp with time zone,timestamp with time zone)',
                 'segroll._boundary(segroll.segmentation,timestamp with time zone)',
                 'segroll._period_sql(text,text,text)',
                 'segroll._time_type(segroll.segmentation)', 'segroll._time_sql(segroll.segmentation,text)',
                 'segroll._time_range_sql(segroll.segmentation,text,text,text)',
                 'segroll._next_period(segroll.segmentation,timestamp with time zone)',
                 'segroll._adjustments(segroll.segmentation)',
                 'segroll._lineage_blocks(segroll.segmentation)', 'segroll._block_sql(text,text)', 'segroll._recomputed_or(segroll.segment,segroll.segment)',
                 'segroll._block_span(bigint,bigint,bigint)',
                 'segroll._segments_view(segroll.segmentation)', 'segroll._beside_cells(segroll.segmentation,text)',
                 'segroll._live_view(segroll.segmentation)', 'segroll._cell_metrics(segroll.segmentation)', 'segroll._open_anomalies(text)',
                 'segroll._pending_changes(text)',
                 'segroll.anomalies(text,timestamp with time zone,double precision,integer,integer)',
                 'segroll._check_anomaly_parameters(text,double precision,integer,integer)',
                 'segroll._cell_dimensions(segroll.segmentation)',
                 'segroll._adjusted(segroll.segment,segroll.segment[],segroll.segment[])',
                 'segroll._builtin_base(regtype)', 'segroll._shown_sql(text,regtype)',
                 'segroll._caller_eq_sql(text,regtype,text,regtype,boolean)',
                 'segroll._require_arg(anyelement,text,text)',
                 'segroll._key_sql(segroll.segmentation,text)', 'segroll._key_hashed(segroll.segmentation)',
                 'segroll._distribution_column(regclass)', 'segroll._node_range_start(integer)',
                 'segroll._colocated_shard(regclass,regclass)', 'segroll._on_citus_worker()',
                 'segroll._shard_relation(regclass,bigint)', 'segroll._dollar_quote(text)',
                 'segroll._capture_last(regclass)')
             ), NULL,
          'PUBLIC runs only the listed SQL helpers');

-- a reader reads cells and views, and nothing more
SELECT is(r5_try('r5_reader', 'SELECT count(*) FROM segroll_data.r5_daily'), 'ok', 'reader: reads cells');
SELECT is(r5_try('r5_reader', 'SELECT count(*) FROM segroll_data.r5_daily_v'), 'ok', 'reader: reads the BI view');
SELECT is(r5_try('r5_reader', 'SELECT sum(segroll.count(seg)) FROM segroll_data.r5_daily'), 'ok', 'reader: uses segment functions');
SELECT is(r5_try('r5_reader', $$SELECT segroll.create_segmentation('r5_x', 'public.r5_sales', 'id', 'sold_at', 'day', 'UTC', '{org}')$$),
          '42501', 'reader: cannot define');
SELECT is(r5_try('r5_reader', $$SELECT segroll.alter_segmentation('r5_daily', 'continuous')$$), '42501', 'reader: cannot alter');
SELECT is(r5_try('r5_reader', $$SELECT * FROM segroll.trace('r5_daily', '{"org": 1}', '2026-11-02')$$), '42501', 'reader: cannot trace');
SELECT is(r5_try('r5_reader', $$SELECT * FROM segroll.trace('r5_daily', (SELECT seg FROM segroll_data.r5_daily LIMIT 1))$$),
          '42501', 'reader: cannot trace a segment');
SELECT is(r5_try('r5_reader', $$SELECT * FROM segroll.locate('r5_daily', 5)$$), '42501', 'reader: cannot locate');
SELECT is(r5_try('r5_reader', $$SELECT * FROM segroll.verify('r5_daily', '2026-11-01', '2026-12-01')$$), '42501', 'reader: cannot verify');
SELECT is(r5_try('r5_reader', 'SELECT count(*) FROM segroll.trace_log'), '42501', 'reader: cannot read the trace log');

-- an auditor traces and verifies, and cannot change anything
SELECT is(r5_try('r5_auditor', $$SELECT * FROM segroll.trace('r5_daily', '{"org": 1}', '2026-11-02')$$), 'ok', 'auditor: traces a cell');
SELECT is(r5_try('r5_auditor', $$SELECT * FROM segroll.locate('r5_daily', 5)$$), 'ok', 'auditor: locates a key');
SELECT is(r5_try('r5_auditor', $$SELECT * FROM segroll.verify('r5_daily', '2026-11-01', '2026-12-01', 'full')$$), 'ok', 'auditor: verifies');
SELECT is(r5_try('r5_auditor', 'SELECT count(*) FROM segroll.trace_log'), 'ok', 'auditor: reads the trace log');
SELECT is(r5_value('r5_auditor', $$SELECT count(*) FROM segroll.trace_log WHERE role_name = 'r5_auditor'$$), 1::bigint,
          'auditor: sees the entry of its own trace');
SELECT is(r5_try('r5_auditor', 'SELECT count(*) FROM segroll.history'), 'ok', 'auditor: reads the history');
SELECT is(r5_try('r5_auditor', $$SELECT segroll.alter_segmentation('r5_daily', 'continuous')$$), '42501', 'auditor: cannot alter');
SELECT is(r5_try('r5_auditor', $$SELECT segroll.drop_segmentation('r5_daily')$$), '42501', 'auditor: cannot drop');
SELECT is(r5_try('r5_auditor', $$SELECT segroll.rollup('r5_daily')$$), '42501', 'auditor: cannot roll up');
SELECT is(r5_try('r5_auditor', $$SELECT * FROM segroll.repair('r5_daily', '2026-11-01', '2026-12-01')$$), '42501', 'auditor: cannot repair');
SELECT is(r5_try('r5_auditor', $$SELECT * FROM segroll.purge_source('r5_daily', '1 day')$$), '42501', 'auditor: cannot purge');
SELECT is(r5_try('r5_auditor', $$SELECT segroll.create_segmentation('r5_x', 'public.r5_sales', 'id', 'sold_at', 'day', 'UTC', '{org}')$$),
          '42501', 'auditor: cannot define');
SELECT is(r5_try('r5_auditor', $$DELETE FROM segroll.trace_log$$), '42501', 'auditor: cannot erase the trace log');
SELECT is(r5_try('r5_auditor', $$SELECT segroll.purge_trace_log('30 days')$$), '42501', 'auditor: cannot purge the trace log');
SELECT is(r5_try('r5_auditor', $$INSERT INTO segroll.trace_log (segmentation, cell, keys, rows_returned) VALUES ('r5_daily', '{}', 0, 0)$$),
          '42501', 'auditor: cannot add to the trace log (only trace() does)');
SELECT is(r5_try('r5_auditor', $$UPDATE segroll.progress SET applied_upto = 0$$), '42501', 'auditor: cannot touch progress');

-- an admin operates its own segmentations
SELECT is(r5_try('r5_admin', $$SELECT segroll.rollup('r5_daily')$$), 'ok', 'admin: rolls up');
SELECT is(r5_try('r5_admin', $$SELECT * FROM segroll.repair('r5_daily', '2026-11-01', '2026-12-01')$$), 'ok', 'admin: repairs');
SELECT is(r5_try('r5_admin', $$SELECT segroll.alter_segmentation('r5_daily', 'manual')$$), 'ok', 'admin: alters');
SELECT is(r5_value('r5_admin', $$DELETE FROM segroll.trace_log WHERE true RETURNING 1$$), NULL::bigint,
          'admin: cannot delete the last day of the trace log');
SELECT is(r5_value('r5_admin', $$SELECT segroll.purge_trace_log('1 day')$$), 0::bigint, 'admin: purges older entries');
SELECT is(r5_try('r5_admin', $$SELECT segroll.purge_trace_log('1 hour')$$), '22023', 'admin: but not the last day');

-- a role with no duty
SELECT is(r5_try('r5_nobody', 'SELECT count(*) FROM segroll_data.r5_daily'), '42501', 'no duty: cannot read cells');
SELECT is(r5_try('r5_nobody', $$SELECT segroll.rollup('r5_daily')$$), '42501', 'no duty: cannot roll up');
SELECT is(r5_try('r5_nobody', 'SELECT count(*) FROM segroll.status'), 'ok', 'no duty: still sees status');

SELECT * FROM finish();
