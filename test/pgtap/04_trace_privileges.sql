-- Trace runs as its caller: for every kind of role, what trace returns is
-- exactly what the same role sees with a plain SELECT ... WHERE key IN (...),
-- row-level security and column privileges included; a role without SELECT
-- gets a permission error, not an empty set.  Every trace is logged.
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segroll;

CREATE ROLE tp4_owner;
CREATE ROLE tp4_rls;          -- SELECT, under a row-level security policy
CREATE ROLE tp4_none;         -- no SELECT on the source
CREATE ROLE tp4_bypass BYPASSRLS;
CREATE ROLE tp4_cols;         -- SELECT on some columns only, under the policy
CREATE ROLE tp4_super SUPERUSER;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO tp4_owner', current_database()); END $$;
GRANT segroll_admin TO tp4_owner;
-- the duty that traces; what each may see of the source is the source's business
GRANT segroll_auditor TO tp4_rls, tp4_none, tp4_bypass, tp4_cols;
GRANT CREATE ON SCHEMA public TO tp4_owner;

SET ROLE tp4_owner;
CREATE TABLE public.tp4_sales (
	id      bigint PRIMARY KEY,
	sold_at timestamptz NOT NULL,
	org     int NOT NULL,
	amount  numeric(12,2) NOT NULL,
	note    text
);
INSERT INTO public.tp4_sales
SELECT g, '2026-11-01'::timestamptz + g * interval '13 minutes', g % 3, g * 1.5, 'n' || g
FROM generate_series(1, 600) g;
ALTER TABLE public.tp4_sales ENABLE ROW LEVEL SECURITY;
CREATE POLICY org1 ON public.tp4_sales FOR SELECT USING (org = 1);
GRANT SELECT ON public.tp4_sales TO tp4_rls, tp4_bypass;
GRANT SELECT (id, sold_at, org) ON public.tp4_sales TO tp4_cols;
SELECT segroll.create_segmentation('tp4_daily', 'public.tp4_sales', 'id', 'sold_at', 'day', 'UTC', '{org}', '{amount}');
GRANT USAGE ON SCHEMA segroll_data TO PUBLIC;
GRANT SELECT ON segroll_data.tp4_daily TO PUBLIC;
RESET ROLE;

-- every key of every cell, so that visibility alone decides what comes back
CREATE TABLE public.tp4_all AS SELECT segroll.merge(seg) AS seg FROM segroll_data.tp4_daily;
GRANT SELECT ON public.tp4_all TO PUBLIC;

/*
 * As role R: R_trace and R_rows hold what trace() and trace_rows() return,
 * R_expect_json and R_expect_rows what a plain SELECT returns to R.
 */
CREATE FUNCTION public.tp4_run_as(r name, cols text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('SET ROLE %I', r);
	EXECUTE format($q$CREATE TEMP TABLE %1$I AS
		SELECT key, origin, source_row::jsonb AS source_row FROM segroll.trace('tp4_daily', (SELECT seg FROM public.tp4_all))$q$, r || '_trace');
	EXECUTE format($q$CREATE TEMP TABLE %1$I AS
		SELECT * FROM segroll.trace_rows('tp4_daily', (SELECT seg FROM public.tp4_all), NULL::public.tp4_sales)$q$, r || '_rows');
	EXECUTE format($q$CREATE TEMP TABLE %1$I AS
		SELECT s.id AS key, 'source'::text AS origin, (SELECT to_jsonb(x) FROM (SELECT %2$s) x) AS source_row
		FROM public.tp4_sales s WHERE s.id IN (SELECT segroll.keys(seg) FROM public.tp4_all) ORDER BY s.id$q$,
		r || '_expect_json', cols);
	EXECUTE format($q$CREATE TEMP TABLE %1$I AS
		SELECT %2$s FROM public.tp4_sales s WHERE s.id IN (SELECT segroll.keys(seg) FROM public.tp4_all) ORDER BY s.id$q$,
		r || '_expect_rows',
		CASE WHEN cols LIKE '%note' THEN 's.*'	-- every column: what SELECT * returns
		     ELSE cols || ', NULL::numeric(12,2) AS amount, NULL::text AS note, NULL::bigint AS segroll_seq' END);
	RESET ROLE;
END
$$;
SELECT public.tp4_run_as('tp4_owner', 's.id, s.sold_at, s.org, s.amount, s.note');
SELECT public.tp4_run_as('tp4_rls', 's.id, s.sold_at, s.org, s.amount, s.note');
SELECT public.tp4_run_as('tp4_bypass', 's.id, s.sold_at, s.org, s.amount, s.note');
SELECT public.tp4_run_as('tp4_super', 's.id, s.sold_at, s.org, s.amount, s.note');
SELECT public.tp4_run_as('tp4_cols', 's.id, s.sold_at, s.org');
-- a role without SELECT: the error a SELECT gives
SET ROLE tp4_none;
DO $$
BEGIN
	PERFORM * FROM segroll.trace('tp4_daily', (SELECT seg FROM public.tp4_all));
	CREATE TEMP TABLE tp4_none_trace AS SELECT 'no error'::text AS state;
EXCEPTION WHEN OTHERS THEN
	CREATE TEMP TABLE tp4_none_trace AS SELECT SQLSTATE::text AS state;
END
$$;
DO $$
BEGIN
	PERFORM * FROM segroll.trace_rows('tp4_daily', (SELECT seg FROM public.tp4_all), NULL::public.tp4_sales);
	CREATE TEMP TABLE tp4_none_rows AS SELECT 'no error'::text AS state;
EXCEPTION WHEN OTHERS THEN
	CREATE TEMP TABLE tp4_none_rows AS SELECT SQLSTATE::text AS state;
END
$$;
RESET ROLE;

SELECT plan(19);
SELECT results_eq('SELECT * FROM tp4_owner_trace', 'SELECT * FROM tp4_owner_expect_json', 'owner: trace = plain SELECT (all rows: owners bypass their policies)');
SELECT results_eq('SELECT * FROM tp4_rls_trace', 'SELECT * FROM tp4_rls_expect_json', 'RLS role: trace = plain SELECT under the policy');
SELECT results_eq('SELECT * FROM tp4_bypass_trace', 'SELECT * FROM tp4_bypass_expect_json', 'BYPASSRLS role: trace = plain SELECT');
SELECT results_eq('SELECT * FROM tp4_super_trace', 'SELECT * FROM tp4_super_expect_json', 'superuser: trace = plain SELECT');
SELECT results_eq('SELECT * FROM tp4_cols_trace', 'SELECT * FROM tp4_cols_expect_json', 'column-privileged role: trace shows only its columns, under the policy');
SELECT results_eq('SELECT * FROM tp4_owner_rows', 'SELECT * FROM tp4_owner_expect_rows', 'owner: trace_rows = SELECT *');
SELECT results_eq('SELECT * FROM tp4_rls_rows', 'SELECT * FROM tp4_rls_expect_rows', 'RLS role: trace_rows = SELECT * under the policy');
SELECT results_eq('SELECT * FROM tp4_bypass_rows', 'SELECT * FROM tp4_bypass_expect_rows', 'BYPASSRLS role: trace_rows = SELECT *');
SELECT results_eq('SELECT * FROM tp4_super_rows', 'SELECT * FROM tp4_super_expect_rows', 'superuser: trace_rows = SELECT *');
SELECT results_eq('SELECT * FROM tp4_cols_rows', 'SELECT * FROM tp4_cols_expect_rows', 'column-privileged role: trace_rows nulls the other columns');
SELECT is((SELECT count(*) FROM tp4_rls_trace), 200::bigint, 'the policy really hid rows (200 of 600 visible)');
SELECT is((SELECT count(*) FROM tp4_owner_trace), 600::bigint, 'the owner saw all 600');
SELECT is((SELECT state FROM tp4_none_trace), '42501', 'no SELECT: trace raises insufficient_privilege');
SELECT is((SELECT state FROM tp4_none_rows), '42501', 'no SELECT: trace_rows raises insufficient_privilege');
SELECT bag_eq($$SELECT role_name::text, rows_returned FROM segroll.trace_log$$,
              $$VALUES ('tp4_owner', 600::bigint), ('tp4_owner', 600), ('tp4_rls', 200), ('tp4_rls', 200),
                       ('tp4_bypass', 600), ('tp4_bypass', 600), ('tp4_super', 600), ('tp4_super', 600),
                       ('tp4_cols', 200), ('tp4_cols', 200)$$,
              'every trace is logged with its role and row count; failed ones roll back with their statement');
SELECT ok(NOT has_table_privilege('public', 'segroll.trace_log', 'SELECT'), 'the trace log is not readable by PUBLIC');
SELECT ok(NOT has_table_privilege('tp4_rls', 'segroll.trace_log', 'UPDATE')
          AND NOT has_table_privilege('tp4_rls', 'segroll.trace_log', 'DELETE'), 'nor changeable by an auditor');
SELECT is((SELECT count(*) FROM pg_proc p WHERE p.proname LIKE 'segroll_capture_%'
           AND p.prosecdef AND p.proowner = 'tp4_owner'::regrole
           AND 'search_path=pg_catalog, pg_temp' = ANY (p.proconfig)), 2::bigint,
          'capture functions run as the table owner with a pinned search_path');
SELECT is((SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname = 'segroll' AND p.prosecdef
             AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)), 0::bigint,
          'no SECURITY DEFINER function of segroll without a pinned search_path');
SELECT * FROM finish();
