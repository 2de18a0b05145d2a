/*
 * The catalog: what segroll knows about sources and segmentations, their
 * progress and their history.  Created once, by the install script; an
 * update that changes a table says so in its changes file (sql/updates/).
 * Row-level security on these tables is in policies.sql, privileges in
 * sql/routines/privileges.sql.
 *
 * Every table a user's definitions fill is dumped by pg_dump
 * (pg_extension_config_dump), so a dump and restore keeps definitions,
 * progress and history with the cells.
 */

/* ------------------------------------------------------------ sources */

CREATE TABLE @extschema@.source (
	relid        pg_catalog.regclass PRIMARY KEY,
	key_column   pg_catalog.name NOT NULL,
	seq          pg_catalog.regclass NOT NULL,
	change_log   pg_catalog.regclass NOT NULL,
	-- a foreign (or any) table that still has the rows a purge removed
	archive      pg_catalog.regclass
);
COMMENT ON TABLE @extschema@.source IS 'tables whose changes segroll captures';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.source', '');

/* ------------------------------------------------------------ grains */

/*
 * The periods a segmentation can cut time into.  The rows are kept by
 * sql/routines/compiler.sql (re-applied by every update), the one place a
 * grain is defined.
 */
CREATE TABLE @extschema@.grain (
	name         pg_catalog.text PRIMARY KEY,	-- a date_trunc() field
	step         pg_catalog.interval NOT NULL,	-- one period, in local time
	bound        pg_catalog.interval NOT NULL,	-- no period lasts this long (DST included)
	verify_span  pg_catalog.interval NOT NULL	-- verify() goes period by period over ranges up to this
);
COMMENT ON TABLE @extschema@.grain IS 'the periods a segmentation can cut time into';

/* ------------------------------------------------------------ segmentations */

CREATE TABLE @extschema@.segmentation (
	name         pg_catalog.text PRIMARY KEY
	             CHECK (name OPERATOR(pg_catalog.~) '^[a-z_][a-z0-9_]{0,39}$'),
	source       pg_catalog.regclass NOT NULL REFERENCES @extschema@.source (relid),
	key_column   pg_catalog.name NOT NULL,
	time_column  pg_catalog.name NOT NULL,
	grain        pg_catalog.text NOT NULL REFERENCES @extschema@.grain (name),
	time_zone    pg_catalog.text NOT NULL,
	dimensions   pg_catalog.jsonb NOT NULL,
	measures     pg_catalog.name[] NOT NULL,
	lineage      pg_catalog.bool NOT NULL,
	cells        pg_catalog.regclass NOT NULL,
	bi_view      pg_catalog.regclass NOT NULL,
	unmapped_view pg_catalog.regclass NOT NULL,
	owner        pg_catalog.regrole NOT NULL,
	schedule     pg_catalog.text NOT NULL DEFAULT 'manual'
	             CHECK (schedule OPERATOR(pg_catalog.=) ANY (ARRAY['manual', 'continuous'])),
	apply_sql    pg_catalog.text NOT NULL,
	created_at   pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	mapping      pg_catalog.text NOT NULL DEFAULT 'as-was'
	             CHECK (mapping OPERATOR(pg_catalog.=) ANY (ARRAY['as-was', 'as-is'])),
	-- distinct(column) measures (issue 17), after the numeric ones
	distinct_measures pg_catalog.name[] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE @extschema@.segmentation IS 'segmentation definitions';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segmentation', '');

/*
 * Progress lives apart from definitions so that owners can update it.  A
 * segmentation's name can change (switch_version): what refers to it
 * follows, here and below.
 */
CREATE TABLE @extschema@.progress (
	name          pg_catalog.text PRIMARY KEY
	              REFERENCES @extschema@.segmentation (name) ON UPDATE CASCADE ON DELETE CASCADE,
	owner         pg_catalog.regrole NOT NULL,
	applied_upto  pg_catalog.int8 NOT NULL DEFAULT 0,
	last_run_at   pg_catalog.timestamptz,
	last_run_ms   pg_catalog.float8,
	last_applied  pg_catalog.int8,
	total_applied pg_catalog.int8 NOT NULL DEFAULT 0,
	-- what workers and status need to know about each segmentation
	caught_up_at  pg_catalog.timestamptz,
	last_error    pg_catalog.text,
	last_error_at pg_catalog.timestamptz,
	failures      pg_catalog.int4 NOT NULL DEFAULT 0,
	mapping_fingerprint pg_catalog.text
);
COMMENT ON TABLE @extschema@.progress IS 'roll-up progress: changes up to applied_upto are in the cells';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.progress', '');

CREATE TABLE @extschema@.run_history (
	name         pg_catalog.text NOT NULL
	             REFERENCES @extschema@.segmentation (name) ON UPDATE CASCADE ON DELETE CASCADE,
	started_at   pg_catalog.timestamptz NOT NULL,
	duration_ms  pg_catalog.float8 NOT NULL,
	applied      pg_catalog.int8 NOT NULL,
	from_seq     pg_catalog.int8 NOT NULL,
	to_seq       pg_catalog.int8 NOT NULL
);
CREATE INDEX ON @extschema@.run_history (name, started_at);
COMMENT ON TABLE @extschema@.run_history IS
	'the last segroll.history_size roll-ups of each segmentation that applied changes';
-- roll-up runs are history too: a dump keeps them
SELECT pg_catalog.pg_extension_config_dump('@extschema@.run_history', '');

/* ------------------------------------------------------------ history */

CREATE TABLE @extschema@.event_log (
	id           pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at           pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	role_name    pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
	session_role pg_catalog.name NOT NULL DEFAULT SESSION_USER,
	segmentation pg_catalog.text,
	action       pg_catalog.text NOT NULL,
	rows         pg_catalog.int8,
	duration_ms  pg_catalog.float8,
	detail       pg_catalog.jsonb
);
CREATE INDEX ON @extschema@.event_log (at);
CREATE INDEX ON @extschema@.event_log (segmentation, at);
COMMENT ON TABLE @extschema@.event_log IS
	'who changed what and when: definitions, backfills, rebuilds, repairs, purges, period closes; kept for segroll.history_retention';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.event_log', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.event_log_id_seq', '');

CREATE TABLE @extschema@.trace_log (
	at           pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	role_name    pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
	session_role pg_catalog.name NOT NULL DEFAULT SESSION_USER,
	segmentation pg_catalog.text NOT NULL,
	cell         pg_catalog.jsonb NOT NULL,
	keys         pg_catalog.int8 NOT NULL,
	rows_returned pg_catalog.int8 NOT NULL
);
CREATE INDEX ON @extschema@.trace_log (at);
COMMENT ON TABLE @extschema@.trace_log IS
	'every trace: who traced which cell or segment, when, and how many rows it returned';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.trace_log', '');

/* ------------------------------------------------------------ purges */

CREATE TABLE @extschema@.purge_log (
	source         pg_catalog.regclass NOT NULL REFERENCES @extschema@.source (relid) ON DELETE CASCADE,
	time_column    pg_catalog.name NOT NULL,
	purged_before  pg_catalog.timestamptz NOT NULL,
	purged_at      pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	rows_deleted   pg_catalog.int8 NOT NULL,
	role_name      pg_catalog.name NOT NULL DEFAULT CURRENT_USER,
	PRIMARY KEY (source, purged_before)
);
COMMENT ON TABLE @extschema@.purge_log IS
	'raw-data purges: rows of the source older than purged_before were deleted; their cells and lineage remain';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.purge_log', '');

CREATE TABLE @extschema@.purging (
	relid  pg_catalog.regclass NOT NULL,
	xid    pg_catalog.xid8 NOT NULL
);
COMMENT ON TABLE @extschema@.purging IS
	'sources segroll.purge_source() is deleting from in a running transaction; their deletes are not captured';

/* ------------------------------------------------------------ period close */

CREATE TABLE @extschema@.closed_period (
	name         pg_catalog.text PRIMARY KEY
	             REFERENCES @extschema@.segmentation (name) ON UPDATE CASCADE ON DELETE CASCADE,
	closed_upto  pg_catalog.timestamptz NOT NULL,
	closed_at    pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	closed_by    pg_catalog.name NOT NULL DEFAULT CURRENT_USER
);
COMMENT ON TABLE @extschema@.closed_period IS
	'periods that start before closed_upto are closed: their cells are frozen, later changes are adjustments';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.closed_period', '');

/* ------------------------------------------------------------ reference data */

/*
 * The reference rows an as-is segmentation was last mapped with, so that a
 * change re-maps only the cells of the values that moved.
 */
CREATE TABLE @extschema@.reference_snapshot (
	name   pg_catalog.text NOT NULL
	       REFERENCES @extschema@.segmentation (name) ON UPDATE CASCADE ON DELETE CASCADE,
	dim    pg_catalog.int4 NOT NULL,
	key    pg_catalog.text NOT NULL,
	value  pg_catalog.text,
	PRIMARY KEY (name, dim, key)
);
COMMENT ON TABLE @extschema@.reference_snapshot IS
	'for as-is segmentations: the reference rows their cells are mapped with';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.reference_snapshot', '');

/* ------------------------------------------------------------ versions */

CREATE TABLE @extschema@.segmentation_version (
	name          pg_catalog.text NOT NULL,
	version       pg_catalog.int4 NOT NULL,
	segmentation  pg_catalog.text NOT NULL UNIQUE
	              REFERENCES @extschema@.segmentation (name) ON UPDATE CASCADE ON DELETE CASCADE,
	state         pg_catalog.text NOT NULL
	              CHECK (state OPERATOR(pg_catalog.=) ANY (ARRAY['current', 'building', 'retired'])),
	created_at    pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	switched_at   pg_catalog.timestamptz,
	PRIMARY KEY (name, version)
);
COMMENT ON TABLE @extschema@.segmentation_version IS
	'versions of a segmentation: which segmentation answers under the name (current), which is being built, which were retired';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.segmentation_version', '');

/* ------------------------------------------------------------ anomaly flags */

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
