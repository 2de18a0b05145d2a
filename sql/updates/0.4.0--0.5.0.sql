/*
 * segroll 0.4.0 -> 0.5.0: what changes besides the routines.  The update
 * script is this file followed by every file of sql/routines/, re-applied
 * (see the Makefile), so a routine is never written twice.
 */

/*
 * A roll-up (worker, pg_cron) locks the progress table, then the
 * definitions (segroll.rollup() does so first thing).  Taking both in that
 * order before any other lock makes a roll-up either finish before this
 * update or wait for it, never deadlock with it.
 */
LOCK TABLE @extschema@.progress, @extschema@.segmentation IN ACCESS EXCLUSIVE MODE;

-- grants are declared in sql/routines/privileges.sql now
DROP FUNCTION @extschema@._grant_duty(pg_catalog.name, pg_catalog.regprocedure[]);
-- generated from a definition row now (sql/routines/compiler.sql)
DROP FUNCTION @extschema@._generate_apply(pg_catalog.text, pg_catalog.regclass, pg_catalog.regclass,
	pg_catalog.regclass, pg_catalog.name, pg_catalog.name, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb,
	pg_catalog.name[], pg_catalog.bool, pg_catalog.regclass);

-- grains are rows of a table now (filled by sql/routines/compiler.sql); the
-- foreign key that replaces the CHECK is added once they are there (.post)
CREATE TABLE @extschema@.grain (
	name         pg_catalog.text PRIMARY KEY,	-- a date_trunc() field
	step         pg_catalog.interval NOT NULL,	-- one period, in local time
	bound        pg_catalog.interval NOT NULL,	-- no period lasts this long (DST included)
	verify_span  pg_catalog.interval NOT NULL	-- verify() goes period by period over ranges up to this
);
COMMENT ON TABLE @extschema@.grain IS 'the periods a segmentation can cut time into';
ALTER TABLE @extschema@.segmentation DROP CONSTRAINT segmentation_grain_check;

-- segroll_data belonged to the first role that created a segmentation, who
-- could drop any other owner's objects in it: it belongs to the superuser
-- running this update now (the objects in it keep their owners)
DO $$
DECLARE
	owner_role pg_catalog.regrole;
BEGIN
	SELECT n.nspowner INTO owner_role FROM pg_catalog.pg_namespace n
	WHERE n.nspname OPERATOR(pg_catalog.=) 'segroll_data';
	IF FOUND AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) owner_role) THEN
		EXECUTE pg_catalog.format('ALTER SCHEMA segroll_data OWNER TO %I', CURRENT_USER);
		EXECUTE pg_catalog.format('REVOKE ALL ON SCHEMA segroll_data FROM %s', owner_role);	-- regrole: quoted already
		RAISE WARNING 'schema segroll_data belonged to %; it now belongs to %', owner_role, CURRENT_USER
			USING DETAIL = 'A schema''s owner may drop any object in it, other segmentation owners'' too.',
			      HINT = 'Segmentation owners keep their objects; segroll_admin may create in the schema.';
	END IF;
END
$$;

-- the trace log is written only by the trace entry points, as its owner
-- (src/trace.c): nobody may add entries in their own name any more (the
-- INSERT privilege is revoked by sql/routines/privileges.sql)
DROP POLICY trace_log_add ON @extschema@.trace_log;
-- segroll._trace() returns the query that finds a trace's rows now, which
-- segroll.trace() (src/trace.c) runs batch by batch, instead of the rows
DROP FUNCTION @extschema@._trace(pg_catalog.text, @extschema@.segment, pg_catalog.jsonb);

-- anomaly flags (issue 16): the settings per segmentation and the history
-- of the flags roll-ups record, as in sql/install/catalog.sql and policies.sql

/*
 * What the DBA set for anomalies() of a segmentation (issue 16): the
 * threshold and history anomalies() uses when its own arguments are not
 * given, and whether each roll-up evaluates the periods that ended since
 * the last evaluation (evaluated_upto: the start of the first period not
 * evaluated yet), records the flags in anomaly_history and announces them
 * with NOTIFY segroll_anomaly.  Written by set_anomaly_detection() and by
 * the roll-up, as the segmentation's owner.
 */
CREATE TABLE @extschema@.anomaly_setting (
	segmentation  pg_catalog.text PRIMARY KEY
	              REFERENCES @extschema@.segmentation (name) ON UPDATE CASCADE ON DELETE CASCADE,
	threshold     pg_catalog.float8 NOT NULL
	              CHECK (threshold OPERATOR(pg_catalog.>) 0 AND threshold OPERATOR(pg_catalog.<=) 1000),
	weeks         pg_catalog.int4 NOT NULL
	              CHECK (weeks OPERATOR(pg_catalog.>=) 1 AND weeks OPERATOR(pg_catalog.<=) 520),
	min_history   pg_catalog.int4 NOT NULL
	              CHECK (min_history OPERATOR(pg_catalog.>=) 1 AND min_history OPERATOR(pg_catalog.<=) weeks),
	evaluate_after_rollup pg_catalog.bool NOT NULL,
	notify        pg_catalog.bool NOT NULL
	              CHECK (evaluate_after_rollup OR NOT notify),
	evaluated_upto pg_catalog.timestamptz,
	last_error    pg_catalog.text,
	last_error_at pg_catalog.timestamptz,
	set_at        pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	set_by        pg_catalog.name NOT NULL DEFAULT CURRENT_USER
);
COMMENT ON TABLE @extschema@.anomaly_setting IS
	'per segmentation: the threshold and history of anomalies(), and whether roll-ups evaluate, record and announce the flags';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.anomaly_setting', '');

/* The figures the roll-ups flagged, each recorded once. */
CREATE TABLE @extschema@.anomaly_history (
	segmentation  pg_catalog.text NOT NULL
	              REFERENCES @extschema@.segmentation (name) ON UPDATE CASCADE ON DELETE CASCADE,
	period        pg_catalog.timestamptz NOT NULL,
	dimensions    pg_catalog.jsonb NOT NULL,
	figure        pg_catalog.text NOT NULL,
	value         pg_catalog.numeric NOT NULL,
	median        pg_catalog.float8 NOT NULL,
	score         pg_catalog.float8 NOT NULL,
	reason        pg_catalog.text NOT NULL,
	detected_at   pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	UNIQUE (segmentation, period, dimensions, figure)
);
CREATE INDEX ON @extschema@.anomaly_history (segmentation, detected_at);
COMMENT ON TABLE @extschema@.anomaly_history IS
	'the figures anomalies() flagged when a roll-up evaluated the periods that had ended, each recorded once';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.anomaly_history', '');

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

-- merge(segment) keeps a segment as its state now, not 'internal' (issue
-- 15: Citus pushes down only aggregates whose state is a real type), and
-- CREATE OR REPLACE AGGREGATE cannot change a state type: it is dropped
-- here and created again by sql/routines/segment.sql.  segroll's own views
-- of 0.4.0 call no merge() aggregate, but a user's view may: such views
-- (and views on them) are kept in segroll_update.merge_views (this
-- transaction only), dropped with the aggregate, and created again as they
-- were (owner, options, privileges, comment) by the .post file.  Anything
-- else that calls it (a materialized view, a function with a SQL-standard
-- body) stops the update, with its name: nothing is dropped silently.
DO $$
DECLARE
	agg pg_catalog.regprocedure := '@extschema@.merge(@extschema@.segment)'::pg_catalog.regprocedure;
	other pg_catalog.text;
	saved pg_catalog.jsonb;
BEGIN
	-- what depends on the aggregate, and on the views that call it, at any depth
	WITH RECURSIVE dep(classid, objid, depth) AS (
		SELECT d.classid, d.objid, 1 FROM pg_catalog.pg_depend d
		WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
		  AND d.refobjid OPERATOR(pg_catalog.=) agg AND d.deptype OPERATOR(pg_catalog.=) 'n'
		UNION
		SELECT d.classid, d.objid, dep.depth OPERATOR(pg_catalog.+) 1
		FROM dep
		JOIN pg_catalog.pg_rewrite r ON dep.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
		                            AND r.oid OPERATOR(pg_catalog.=) dep.objid
		JOIN pg_catalog.pg_depend d ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
		                           AND d.refobjid OPERATOR(pg_catalog.=) r.ev_class AND d.deptype OPERATOR(pg_catalog.=) 'n'
		WHERE dep.depth OPERATOR(pg_catalog.<) 100
	), obj AS (
		SELECT dep.classid, dep.objid, r.ev_class, c.relkind, pg_catalog.max(dep.depth) AS depth
		FROM dep
		LEFT JOIN pg_catalog.pg_rewrite r ON dep.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
		                                 AND r.oid OPERATOR(pg_catalog.=) dep.objid
		LEFT JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r.ev_class
		GROUP BY 1, 2, 3, 4
	)
	SELECT pg_catalog.string_agg(DISTINCT pg_catalog.pg_describe_object(o.classid, o.objid, 0), ', ')
		FILTER (WHERE o.relkind IS DISTINCT FROM 'v'),
	       pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
		'name', pg_catalog.format('%I.%I', n.nspname, c.relname),
		'definition', pg_catalog.pg_get_viewdef(c.oid),
		'owner', pg_catalog.pg_get_userbyid(c.relowner),
		'options', pg_catalog.array_to_string(c.reloptions, ', '),
		'grants', (SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(a.privilege_type,
		                  CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
		                       ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END, a.is_grantable)), '[]')
		           FROM pg_catalog.aclexplode(c.relacl) a WHERE a.grantee OPERATOR(pg_catalog.<>) c.relowner),
		'comment', pg_catalog.obj_description(c.oid, 'pg_class'))
		ORDER BY o.depth, c.oid) FILTER (WHERE o.relkind OPERATOR(pg_catalog.=) 'v')
	INTO other, saved
	FROM obj o
	LEFT JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) o.ev_class
	LEFT JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace;
	IF other IS NOT NULL THEN
		RAISE EXCEPTION 'segroll.merge(segment) changes its state type in 0.5.0, and % depend on it', other
			USING ERRCODE = 'dependent_objects_still_exist',
			      HINT = 'Drop them before ALTER EXTENSION segroll UPDATE and create them again after it (views are re-created by the update itself).';
	END IF;
	PERFORM pg_catalog.set_config('segroll_update.merge_views', coalesce(saved, '[]')::pg_catalog.text, true);
	IF saved IS NOT NULL THEN
		RAISE WARNING 'views that call segroll.merge() are created again by the update: %',
			(SELECT pg_catalog.string_agg(v OPERATOR(pg_catalog.->>) 'name', ', ') FROM pg_catalog.jsonb_array_elements(saved) v)
			USING DETAIL = 'merge() changes its state type.  The views keep their definition, owner, options, privileges and comment; their OIDs change.';
	END IF;
END
$$;
DROP AGGREGATE @extschema@.merge(@extschema@.segment) CASCADE;
DROP FUNCTION @extschema@.segment_merge_transfn(pg_catalog.internal, @extschema@.segment);

-- Distinct measures (issue 17): the dhash type is created by
-- sql/install/dhash_type.sql, which make appends to this file (Makefile,
-- UPDATE_NEW_SQL).

-- distinct(column) measures (issue 17), as sql/install/catalog.sql has them
ALTER TABLE @extschema@.segmentation ADD COLUMN distinct_measures pg_catalog.name[] NOT NULL DEFAULT '{}';
