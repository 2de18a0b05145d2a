-- Catalog facts about the installed extension: where objects live, how they
-- are declared, who may run them.
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segroll;

SELECT plan(20);

SELECT has_schema('segroll');
SELECT has_type('segroll', 'segment', 'type segroll.segment exists');
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'segroll'),
          (SELECT default_version FROM pg_available_extensions WHERE name = 'segroll'), 'the control file''s default version');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'segroll'), false, 'not relocatable');

-- every member object lives in schema segroll
SELECT is((SELECT count(*)::int FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
           WHERE d.refclassid = 'pg_extension'::regclass
             AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'segroll')
             AND d.deptype = 'e' AND p.pronamespace <> 'segroll'::regnamespace), 0,
          'every function is in schema segroll');
SELECT is((SELECT count(*)::int FROM pg_operator WHERE oprleft = 'segroll.segment'::regtype
             AND oprnamespace <> 'segroll'::regnamespace), 0, 'every operator is in schema segroll');
SELECT is((SELECT count(*)::int FROM pg_depend d JOIN pg_type t ON d.classid = 'pg_type'::regclass AND d.objid = t.oid
           WHERE d.refclassid = 'pg_extension'::regclass
             AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'segroll')
             AND d.deptype = 'e' AND t.typnamespace <> 'segroll'::regnamespace), 0,
          'every type is in schema segroll');

-- declarations on purpose
SELECT is((SELECT array_agg(oid::regprocedure::text ORDER BY 1) FROM pg_proc WHERE pronamespace = 'segroll'::regnamespace AND prosecdef),
          ARRAY['segroll._pending_changes(text)', 'segroll._trim_logs()'],
          'two SECURITY DEFINER functions: the retention trigger of the logs, the count of pending changes');
SELECT ok((SELECT 'search_path=pg_catalog, pg_temp' = ANY (proconfig) AND prorettype = 'int8'::regtype AND provolatile = 's'
           FROM pg_proc WHERE oid = 'segroll._pending_changes(text)'::regprocedure),
          'the count of pending changes pins its search_path and returns a number');
SELECT ok((SELECT 'search_path=pg_catalog, pg_temp' = ANY (proconfig) AND NOT has_function_privilege('public', oid, 'EXECUTE')
           FROM pg_proc WHERE oid = 'segroll._trim_logs()'::regprocedure),
          'it pins its search_path and PUBLIC cannot execute it');
-- (the trace entry points take a segment too, but read tables and write the
-- trace log: VOLATILE, PARALLEL UNSAFE)
SELECT is((SELECT count(*)::int FROM pg_proc WHERE pronamespace = 'segroll'::regnamespace AND provolatile <> 'i'
             AND prolang = (SELECT oid FROM pg_language WHERE lanname = 'c') AND proname NOT IN ('trace', 'trace_rows')
             AND (prorettype = 'segroll.segment'::regtype OR 'segroll.segment'::regtype = ANY (proargtypes))), 0,
          'every C function of the segment type is IMMUTABLE');
SELECT is((SELECT count(*)::int FROM pg_proc WHERE pronamespace = 'segroll'::regnamespace AND proparallel <> 's'
             AND prolang = (SELECT oid FROM pg_language WHERE lanname = 'c') AND proname NOT IN ('trace', 'trace_rows')
             AND (prorettype = 'segroll.segment'::regtype OR 'segroll.segment'::regtype = ANY (proargtypes))), 0,
          'every C function of the segment type is PARALLEL SAFE');
SELECT is((SELECT array_agg(p.oid::regprocedure::text ORDER BY 1) FROM pg_proc p
           WHERE p.pronamespace = 'segroll'::regnamespace AND p.prokind = 'f' AND p.provolatile <> 'i'
             AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%')
             AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql')), NULL,
          'every PL/pgSQL function pins its search_path');
SELECT bag_eq($$SELECT unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'segroll'$$,
              ARRAY['segroll.source', 'segroll.segmentation', 'segroll.progress', 'segroll.event_log',
                    'segroll.event_log_id_seq', 'segroll.trace_log', 'segroll.purge_log', 'segroll.closed_period', 'segroll.segmentation_version',
                    'segroll.run_history', 'segroll.reference_snapshot', 'segroll.anomaly_setting', 'segroll.anomaly_history', 'segroll.node_progress'],
              'definitions, progress, history, trace and purge logs are dumped by pg_dump');
SELECT is((SELECT array_agg(p.oid::regprocedure::text ORDER BY 1) FROM pg_proc p
           WHERE p.pronamespace = 'segroll'::regnamespace AND p.proname NOT LIKE 'segment\_%' AND p.proname NOT LIKE '\_%'
             AND obj_description(p.oid, 'pg_proc') IS NULL), NULL,
          'every user-facing function and aggregate has a comment');
SELECT is((SELECT count(*)::int FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
           WHERE p.pronamespace = 'segroll'::regnamespace
             AND (a.aggcombinefn = 0
                  OR a.aggtranstype = 'internal'::regtype AND (a.aggserialfn = 0 OR a.aggdeserialfn = 0))), 0,
          'every aggregate has a combine function, and serialize and deserialize functions if its state is internal');

-- the type: external storage, no casts from anything
SELECT is((SELECT typstorage::text FROM pg_type WHERE oid = 'segroll.segment'::regtype), 'e', 'STORAGE external');
SELECT is((SELECT count(*)::int FROM pg_cast WHERE casttarget = 'segroll.segment'::regtype), 0,
          'no cast creates a segment');

-- what every role may run: the whole 0.1.0 surface is value functions
CREATE ROLE segroll_tap_nobody NOLOGIN;
SELECT ok(has_function_privilege('segroll_tap_nobody', 'segroll.sum(segroll.segment, integer)', 'EXECUTE'),
          'accessors are executable by any role');
SELECT throws_ok($$SELECT '\x01'::bytea::segroll.segment$$, '42846', NULL, 'bytea cannot be cast to segment');

SELECT * FROM finish();
DROP ROLE segroll_tap_nobody;
