/*
 * Who may do what: the single place where segroll grants and revokes.  An
 * update re-applies this file, so it says what the privileges are, not how
 * they changed.  Nothing that defines, changes or traces is executable by
 * PUBLIC.  The segment type, its aggregates and accessors, and the status
 * views stay public: they reveal only what the caller can already read.
 * Routines run by the C entry points as a segmentation's owner (_rollup,
 * _verify, ...) are granted to segroll_admin, because owners are admins.
 */

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;
-- segmentation owners create their objects in segroll_data, readers read them
DO $$
BEGIN
	IF pg_catalog.to_regnamespace('segroll_data') IS NOT NULL THEN
		GRANT USAGE, CREATE ON SCHEMA segroll_data TO segroll_admin;
		GRANT USAGE ON SCHEMA segroll_data TO segroll_reader;
	END IF;
END
$$;

/* ------------------------------------------------------------ routines */

-- What each duty may execute.  Every routine listed is revoked from PUBLIC
-- and granted to its duty; routines not listed keep PUBLIC's EXECUTE (the
-- segment type's functions and the pure helpers of views and policies).
DO $$
DECLARE
	grant_list record;
	routine pg_catalog.regprocedure;
	target pg_catalog.text;
BEGIN
	FOR grant_list IN
		SELECT * FROM (VALUES
		-- defining and operating
		('segroll_admin', ARRAY[
				'@extschema@.wait_for_writers(pg_catalog.regclass)',
				'@extschema@._parse_dimension(pg_catalog.regclass, pg_catalog.text)',
				'@extschema@._column_named(pg_catalog.regclass, pg_catalog.text)',
				'@extschema@._dimension_tokens(pg_catalog.text)',
				'@extschema@.create_segmentation(pg_catalog.text, pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text[], pg_catalog.text[], pg_catalog.bool, pg_catalog.text, pg_catalog.bool, pg_catalog.name)',
				'@extschema@._rollup(pg_catalog.text, pg_catalog.int8)',
				'@extschema@.rollup(pg_catalog.text, pg_catalog.int8)',
				'@extschema@.drop_segmentation(pg_catalog.text)',
				'@extschema@._drop_if_exists(pg_catalog.text, pg_catalog.regclass)',
				'@extschema@._rebuild(pg_catalog.text)',
				'@extschema@.rebuild(pg_catalog.text)',
				'@extschema@._log(pg_catalog.text, pg_catalog.text, pg_catalog.int8, pg_catalog.timestamptz, pg_catalog.jsonb)',
				'@extschema@._install_capture(pg_catalog.regclass)',
				'@extschema@._add_capture(pg_catalog.regclass, pg_catalog.text, pg_catalog.regnamespace)',
				'@extschema@._build_capture_index(pg_catalog.regclass, pg_catalog.text)',
				'@extschema@._build_capture_index_of(pg_catalog.text)',
				'@extschema@._capture_index(pg_catalog.regclass)',
				'@extschema@.capture_number()',
				'@extschema@._key_is_unique(pg_catalog.regclass, pg_catalog.text)',
				'@extschema@._used_columns_sql(@extschema@.segmentation, pg_catalog.text)',
				'@extschema@._create_unmapped_view(@extschema@.segmentation, pg_catalog.bool)',
				'@extschema@._follow_source(pg_catalog.text, pg_catalog.int2)',
				'@extschema@._record_partition_purge(pg_catalog.text)',
				'@extschema@._summarize_capture(pg_catalog.regclass)',
				'@extschema@._remove_capture(pg_catalog.regclass)',
				'@extschema@._verify(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.text)',
				'@extschema@._rebuild_cells(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.text, pg_catalog.jsonb)',
				'@extschema@._repair(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz)',
				'@extschema@.repair(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz)',
				'@extschema@._purge_source(pg_catalog.text, pg_catalog.interval)',
				'@extschema@.purge_source(pg_catalog.text, pg_catalog.interval)',
				'@extschema@.set_archive(pg_catalog.text, pg_catalog.regclass)',
				'@extschema@._create_adjustments(@extschema@.segmentation)',
				'@extschema@._create_lineage_blocks(@extschema@.segmentation)',
				'@extschema@._create_segments_view(@extschema@.segmentation)',
				'@extschema@._create_live_view(@extschema@.segmentation)',
				'@extschema@._like_cells(@extschema@.segmentation, pg_catalog.regclass)',
				'@extschema@._full_cells_sql(@extschema@.segmentation, pg_catalog.text)',
				'@extschema@._replace_bi_view(@extschema@.segmentation)',
				'@extschema@.close_period(pg_catalog.text, pg_catalog.timestamptz)',
				'@extschema@.reopen_period(pg_catalog.text, pg_catalog.timestamptz)',
				'@extschema@._generate_apply(@extschema@.segmentation, pg_catalog.regclass, pg_catalog.bool)',
				'@extschema@._generate_build(@extschema@.segmentation)',
				'@extschema@._generate_build_blocks(@extschema@.segmentation)',
				'@extschema@._generate_upsert(@extschema@.segmentation, pg_catalog.regclass)',
				'@extschema@._window_rows_sql(@extschema@.segmentation, pg_catalog.bool)',
				'@extschema@._reference_fingerprint(@extschema@.segmentation)',
				'@extschema@._snapshot_reference(@extschema@.segmentation)',
				'@extschema@._moved_values(@extschema@.segmentation)',
				'@extschema@._resegment(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz)',
				'@extschema@.resegment(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz)',
				'@extschema@.alter_segmentation(pg_catalog.text, pg_catalog.text, pg_catalog.text)',
				'@extschema@.create_version(pg_catalog.text, pg_catalog.text[], pg_catalog.text, pg_catalog.text[], pg_catalog.bool, pg_catalog.text)',
				'@extschema@._rename_segmentation(pg_catalog.text, pg_catalog.text)',
				'@extschema@.switch_version(pg_catalog.text, pg_catalog.bool)',
				'@extschema@.purge_trace_log(pg_catalog.interval)',
				'@extschema@._estimate_candidate(pg_catalog.regclass, pg_catalog.jsonb, pg_catalog.text, pg_catalog.text[])',
				'@extschema@._estimate_one(pg_catalog.regclass, pg_catalog.regclass, pg_catalog.float8, pg_catalog.float8, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb)',
				'@extschema@.estimate_candidates(pg_catalog.regclass, pg_catalog.jsonb, pg_catalog.text, pg_catalog.text, pg_catalog.text[], pg_catalog.text, pg_catalog.float8)',
				'@extschema@.estimate(pg_catalog.regclass, pg_catalog.text[], pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.text[], pg_catalog.text, pg_catalog.float8)',
				'@extschema@._grain(pg_catalog.text)',
				'@extschema@._compile_definition(pg_catalog.regclass, pg_catalog.text, pg_catalog.text, pg_catalog.text[], pg_catalog.text[])',
				'@extschema@._check_schedule(pg_catalog.text)',
				'@extschema@._check_key_and_time(pg_catalog.regclass, pg_catalog.text, pg_catalog.text)',
				'@extschema@._key_hash_index(pg_catalog.regclass, pg_catalog.text)',
				'@extschema@._check_time_grain(pg_catalog.regclass, pg_catalog.text, pg_catalog.text)',
				'@extschema@._check_source_kind(pg_catalog.regclass)',
				'@extschema@._dimension_type(pg_catalog.regclass, pg_catalog.jsonb)',
				'@extschema@._next_period_sql(@extschema@.segmentation, pg_catalog.text)',
				'@extschema@._owned_definition(pg_catalog.text)',
				'@extschema@._cells_schema(pg_catalog.name)',
				'@extschema@._require_owner_context(@extschema@.segmentation, pg_catalog.text, pg_catalog.text)',
				'@extschema@.backfill(pg_catalog.text, pg_catalog.int8)',
				'@extschema@._number_before_capture(pg_catalog.text, pg_catalog.int8)',
				'@extschema@.set_anomaly_detection(pg_catalog.text, pg_catalog.float8, pg_catalog.int4, pg_catalog.int4, pg_catalog.bool, pg_catalog.bool)',
				'@extschema@._evaluate_anomalies(@extschema@.segmentation)',
				'@extschema@._trim_run_history(pg_catalog.text)',
				-- segmentations of Citus-distributed sources (distributed.sql)
				'@extschema@._check_distributed_source(pg_catalog.regclass, pg_catalog.jsonb)',
				'@extschema@._install_distributed_capture(pg_catalog.regclass)',
				'@extschema@._distribute_with_source(pg_catalog.regclass, pg_catalog.regclass, pg_catalog.text)',
				'@extschema@._node_capture_upper(pg_catalog.regclass)',
				'@extschema@._node_capture_last(pg_catalog.regclass)',
				'@extschema@._capture_uppers(pg_catalog.regclass, pg_catalog.text)',
				'@extschema@._distributed_upper(@extschema@.segmentation)',
				'@extschema@._rollup_distributed(@extschema@.segmentation, pg_catalog.int8, pg_catalog.timestamptz)',
				'@extschema@._applied_sql(@extschema@.segmentation, pg_catalog.text, pg_catalog.text)',
				'@extschema@._shard_dims_sql(@extschema@.segmentation)',
				'@extschema@._shard_log_rows_sql(@extschema@.segmentation)',
				'@extschema@._ranges_sql(pg_catalog.text, pg_catalog.int4[], pg_catalog.int8[], pg_catalog.int8[])']::pg_catalog.regprocedure[]),
		-- tracing and verifying
		('segroll_auditor', ARRAY[
				'@extschema@._caller_reads(pg_catalog.regclass, pg_catalog."char"[], pg_catalog.text)',
				'@extschema@._caller_type(pg_catalog.regclass, pg_catalog.text)',
				'@extschema@._lock_for_read(pg_catalog.regclass)',
				'@extschema@._caller_column(pg_catalog.regclass, pg_catalog.text, pg_catalog.regtype[], pg_catalog.text)',
				'@extschema@._caller_reads_trace(@extschema@.segmentation, pg_catalog.regclass)',
				'@extschema@._caller_reads_blocks(@extschema@.segmentation)',
				'@extschema@._visible_json(pg_catalog.regclass, pg_catalog.text)',
				'@extschema@._visible_cols(pg_catalog.regclass, pg_catalog.text)',
				'@extschema@._key_index_leads(pg_catalog.regclass, pg_catalog.text)',
				'@extschema@._trace_json(pg_catalog.record)',
				'@extschema@._purged_filter(@extschema@.segmentation, @extschema@.segment, pg_catalog.text)',
				'@extschema@._enter_trace()',
				'@extschema@._trace(pg_catalog.text, @extschema@.segment, pg_catalog.jsonb)',
				'@extschema@.trace(pg_catalog.text, @extschema@.segment)',
				'@extschema@._cell_segment(@extschema@.segmentation, pg_catalog.jsonb, pg_catalog.timestamptz)',
				'@extschema@.cell(pg_catalog.text, pg_catalog.jsonb, pg_catalog.timestamptz)',
				'@extschema@.trace(pg_catalog.text, pg_catalog.jsonb, pg_catalog.timestamptz)',
				'@extschema@._trace_rows(pg_catalog.text, @extschema@.segment, anyelement)',
				'@extschema@.trace_rows(pg_catalog.text, @extschema@.segment, anyelement)',
				'@extschema@.locate(pg_catalog.text, pg_catalog.int8)',
				'@extschema@.locate(pg_catalog.text, pg_catalog.text)',
				'@extschema@._locate(pg_catalog.text, pg_catalog.text)',
				'@extschema@._caller_key_sql(@extschema@.segmentation, pg_catalog.regclass, pg_catalog.text)',
				'@extschema@._caller_cell_sql(@extschema@.segmentation, pg_catalog.text)',
				'@extschema@._caller_lookup_join(@extschema@.segmentation, pg_catalog.jsonb, pg_catalog.text)',
				'@extschema@.verify(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz, pg_catalog.text)',
				'@extschema@._is_applied(@extschema@.segmentation, pg_catalog.int8)']::pg_catalog.regprocedure[]),
		-- called by triggers only: nobody
		(NULL, ARRAY[
				'@extschema@._trim_logs()',
				'@extschema@._follow_ddl()',
				'@extschema@._guard_drop()',
				'@extschema@._guard_alter()',
				'@extschema@._guard_extension()']::pg_catalog.regprocedure[])) AS d(duty, routines)
	LOOP
		FOREACH routine IN ARRAY grant_list.routines LOOP
			-- schema-qualified, whatever the search_path
			SELECT pg_catalog.format('%I.%I(%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid))
			INTO target
			FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
			WHERE p.oid OPERATOR(pg_catalog.=) routine;
			EXECUTE pg_catalog.format('REVOKE ALL ON ROUTINE %s FROM PUBLIC', target);
			IF grant_list.duty IS NOT NULL THEN
				EXECUTE pg_catalog.format('GRANT EXECUTE ON ROUTINE %s TO %I', target, grant_list.duty);
			END IF;
		END LOOP;
	END LOOP;
END
$$;

/* ------------------------------------------------------------ catalog */

-- definitions and progress: everybody reads, admins write (as owners, by
-- row-level security: policies.sql)
GRANT SELECT ON @extschema@.grain TO PUBLIC;
GRANT SELECT ON @extschema@.source, @extschema@.segmentation, @extschema@.progress,
	@extschema@.run_history TO PUBLIC;
GRANT INSERT, DELETE ON @extschema@.source, @extschema@.segmentation, @extschema@.progress,
	@extschema@.run_history TO segroll_admin;
GRANT UPDATE (archive) ON @extschema@.source TO segroll_admin;
GRANT UPDATE (name, schedule, apply_sql, mapping) ON @extschema@.segmentation TO segroll_admin;
-- a renamed source column is renamed in the definitions (source_ddl.sql)
GRANT UPDATE (key_column, time_column, dimensions, measures, distinct_measures) ON @extschema@.segmentation TO segroll_admin;
GRANT UPDATE (key_column) ON @extschema@.source TO segroll_admin;
GRANT UPDATE (applied_upto, last_run_at, last_run_ms, last_applied, total_applied,
	caught_up_at, last_error, last_error_at, failures, mapping_fingerprint) ON @extschema@.progress TO segroll_admin;
GRANT SELECT ON @extschema@.node_progress TO PUBLIC;
GRANT INSERT, UPDATE (applied_upto) ON @extschema@.node_progress TO segroll_admin;
GRANT SELECT ON @extschema@.purging, @extschema@.closed_period, @extschema@.reference_snapshot,
	@extschema@.segmentation_version TO PUBLIC;
GRANT INSERT, DELETE ON @extschema@.purging, @extschema@.reference_snapshot TO segroll_admin;
GRANT INSERT, UPDATE, DELETE ON @extschema@.closed_period, @extschema@.segmentation_version TO segroll_admin;

-- the logs: auditors read them; events are added in the adder's own name,
-- traces only by the trace entry points, as the trace log's owner
-- (src/trace.c): no other role may insert into it (the REVOKE takes back
-- the column privileges 0.4.0 granted)
GRANT SELECT ON @extschema@.event_log TO segroll_auditor;
GRANT INSERT (segmentation, action, rows, duration_ms, detail) ON @extschema@.event_log TO segroll_admin;
GRANT SELECT ON @extschema@.trace_log TO segroll_auditor;
REVOKE INSERT ON @extschema@.trace_log FROM segroll_auditor;
GRANT DELETE ON @extschema@.trace_log TO segroll_admin;
GRANT SELECT ON @extschema@.purge_log TO PUBLIC;
GRANT SELECT ON @extschema@.purge_log TO segroll_auditor;
GRANT INSERT ON @extschema@.purge_log TO segroll_admin;

-- anomaly settings and the flags roll-ups record: read as the cells are
-- (row-level security: policies.sql), written by the owner
GRANT SELECT ON @extschema@.anomaly_setting, @extschema@.anomaly_history TO PUBLIC;
GRANT INSERT, UPDATE, DELETE ON @extschema@.anomaly_setting TO segroll_admin;
GRANT INSERT, DELETE ON @extschema@.anomaly_history TO segroll_admin;

/* ------------------------------------------------------------ views */

GRANT SELECT ON @extschema@.segmentations, @extschema@.status, @extschema@.metrics TO PUBLIC;
GRANT SELECT ON @extschema@.anomaly_log TO PUBLIC;
GRANT SELECT ON @extschema@.history TO segroll_auditor;
