/*
 * Row-level security on the catalog: everybody reads definitions and
 * progress (they reveal no source data), and a role changes only the rows
 * of the sources and segmentations it owns (or is a member of the owner
 * of), so no role can change another's definitions or the generated SQL
 * of a segmentation after the fact.  The event log is added to only in
 * the adder's own name, the trace log only by segroll's trace entry points.
 * Created once, by the install script, after the routines the policies
 * call (_owns_table).
 */

/* source */
ALTER TABLE @extschema@.source ENABLE ROW LEVEL SECURITY;
CREATE POLICY source_read ON @extschema@.source FOR SELECT USING (true);
CREATE POLICY source_add ON @extschema@.source FOR INSERT WITH CHECK (@extschema@._owns_table(relid));
CREATE POLICY source_remove ON @extschema@.source FOR DELETE USING (@extschema@._owns_table(relid));
CREATE POLICY source_change ON @extschema@.source FOR UPDATE
	USING (@extschema@._owns_table(relid)) WITH CHECK (@extschema@._owns_table(relid));

/* segmentation */
ALTER TABLE @extschema@.segmentation ENABLE ROW LEVEL SECURITY;
CREATE POLICY segmentation_read ON @extschema@.segmentation FOR SELECT USING (true);
CREATE POLICY segmentation_add ON @extschema@.segmentation FOR INSERT
	WITH CHECK (pg_catalog.pg_has_role(owner, 'MEMBER') AND @extschema@._owns_table(source));
CREATE POLICY segmentation_change ON @extschema@.segmentation FOR UPDATE
	USING (pg_catalog.pg_has_role(owner, 'MEMBER'));
CREATE POLICY segmentation_remove ON @extschema@.segmentation FOR DELETE
	USING (pg_catalog.pg_has_role(owner, 'MEMBER'));

/* progress */
ALTER TABLE @extschema@.progress ENABLE ROW LEVEL SECURITY;
CREATE POLICY progress_read ON @extschema@.progress FOR SELECT USING (true);
CREATE POLICY progress_owner ON @extschema@.progress
	USING (pg_catalog.pg_has_role(owner, 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role(owner, 'MEMBER'));

/* run_history */
ALTER TABLE @extschema@.run_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY run_history_read ON @extschema@.run_history FOR SELECT USING (true);
CREATE POLICY run_history_owner ON @extschema@.run_history
	USING (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                               WHERE s.name OPERATOR(pg_catalog.=) run_history.name), 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                                    WHERE s.name OPERATOR(pg_catalog.=) run_history.name), 'MEMBER'));

/* event_log */
ALTER TABLE @extschema@.event_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY event_log_read ON @extschema@.event_log FOR SELECT USING (true);
CREATE POLICY event_log_add ON @extschema@.event_log FOR INSERT
	WITH CHECK (role_name OPERATOR(pg_catalog.=) CURRENT_USER
	            AND session_role OPERATOR(pg_catalog.=) SESSION_USER
	            AND at OPERATOR(pg_catalog.=) pg_catalog.now());

/*
 * trace_log: written only by the trace entry points, as the table's owner,
 * whom its policies do not apply to (src/trace.c); no policy lets anyone
 * else add an entry
 */
ALTER TABLE @extschema@.trace_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY trace_log_read ON @extschema@.trace_log FOR SELECT USING (true);
CREATE POLICY trace_log_purge ON @extschema@.trace_log FOR DELETE TO segroll_admin
	USING (at OPERATOR(pg_catalog.<) (pg_catalog.now() OPERATOR(pg_catalog.-) '1 day'::pg_catalog.interval));

/* purge_log */
ALTER TABLE @extschema@.purge_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY purge_log_read ON @extschema@.purge_log FOR SELECT USING (true);
CREATE POLICY purge_log_add ON @extschema@.purge_log FOR INSERT WITH CHECK (@extschema@._owns_table(source));

/* purging */
ALTER TABLE @extschema@.purging ENABLE ROW LEVEL SECURITY;
CREATE POLICY purging_read ON @extschema@.purging FOR SELECT USING (true);
CREATE POLICY purging_owner ON @extschema@.purging FOR INSERT WITH CHECK (@extschema@._owns_table(relid));
CREATE POLICY purging_done ON @extschema@.purging FOR DELETE USING (@extschema@._owns_table(relid));

/* closed_period */
ALTER TABLE @extschema@.closed_period ENABLE ROW LEVEL SECURITY;
CREATE POLICY closed_period_read ON @extschema@.closed_period FOR SELECT USING (true);
CREATE POLICY closed_period_owner ON @extschema@.closed_period
	USING (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                               WHERE s.name OPERATOR(pg_catalog.=) closed_period.name), 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                                    WHERE s.name OPERATOR(pg_catalog.=) closed_period.name), 'MEMBER'));

/* reference_snapshot */
ALTER TABLE @extschema@.reference_snapshot ENABLE ROW LEVEL SECURITY;
CREATE POLICY reference_snapshot_read ON @extschema@.reference_snapshot FOR SELECT USING (true);
CREATE POLICY reference_snapshot_owner ON @extschema@.reference_snapshot
	USING (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                               WHERE s.name OPERATOR(pg_catalog.=) reference_snapshot.name), 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                                    WHERE s.name OPERATOR(pg_catalog.=) reference_snapshot.name), 'MEMBER'));

/* segmentation_version */
ALTER TABLE @extschema@.segmentation_version ENABLE ROW LEVEL SECURITY;
CREATE POLICY segmentation_version_read ON @extschema@.segmentation_version FOR SELECT USING (true);
CREATE POLICY segmentation_version_owner ON @extschema@.segmentation_version
	USING (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                               WHERE s.name OPERATOR(pg_catalog.=) segmentation_version.segmentation), 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                                    WHERE s.name OPERATOR(pg_catalog.=) segmentation_version.segmentation), 'MEMBER'));

/*
 * anomaly_setting and anomaly_history: read by whoever may read the
 * segmentation's cells (SELECT on its BI view, as anomalies() reads them)
 * and by its owner; written by the owner only (set_anomaly_detection, and
 * the roll-up, which runs as the owner).
 */
ALTER TABLE @extschema@.anomaly_setting ENABLE ROW LEVEL SECURITY;
CREATE POLICY anomaly_setting_read ON @extschema@.anomaly_setting FOR SELECT
	USING ((SELECT pg_catalog.has_table_privilege(s.bi_view, 'SELECT') OR pg_catalog.pg_has_role(s.owner, 'MEMBER')
	        FROM @extschema@.segmentation s WHERE s.name OPERATOR(pg_catalog.=) anomaly_setting.segmentation));
CREATE POLICY anomaly_setting_owner ON @extschema@.anomaly_setting
	USING (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                               WHERE s.name OPERATOR(pg_catalog.=) anomaly_setting.segmentation), 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                                    WHERE s.name OPERATOR(pg_catalog.=) anomaly_setting.segmentation), 'MEMBER'));
ALTER TABLE @extschema@.anomaly_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY anomaly_history_read ON @extschema@.anomaly_history FOR SELECT
	USING ((SELECT pg_catalog.has_table_privilege(s.bi_view, 'SELECT') OR pg_catalog.pg_has_role(s.owner, 'MEMBER')
	        FROM @extschema@.segmentation s WHERE s.name OPERATOR(pg_catalog.=) anomaly_history.segmentation));
CREATE POLICY anomaly_history_owner ON @extschema@.anomaly_history
	USING (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                               WHERE s.name OPERATOR(pg_catalog.=) anomaly_history.segmentation), 'MEMBER'))
	WITH CHECK (pg_catalog.pg_has_role((SELECT s.owner FROM @extschema@.segmentation s
	                                    WHERE s.name OPERATOR(pg_catalog.=) anomaly_history.segmentation), 'MEMBER'));
