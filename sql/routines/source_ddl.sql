/*
 * A source's schema may change under its segmentations (issue 14): an
 * event trigger at the end of every ALTER TABLE, CREATE TABLE and ALTER
 * SCHEMA keeps what segroll derived from the source in step with it:
 *	- the rows of a table attached as a partition of a source (at any
 *	  depth) are numbered, so the next roll-up takes them in;
 *	- a column the segmentations use that was renamed is renamed in their
 *	  definitions and in the pending old versions of the change log;
 *	- the roll-up SQL, which names the source, is generated anew (a
 *	  renamed table or schema).
 * Generated views and triggers follow by OID and need nothing.  Dropping or
 * retyping a column a segmentation uses is refused, naming the segmentation
 * (_guard_drop at sql_drop, _guard_alter, C, at ddl_command_start); the
 * segmentation's <name>_unmapped view depends on exactly those columns, so
 * PostgreSQL would refuse too.
 * The event triggers run as the role that ran the DDL (who owns the table):
 * the numbering of attached rows runs as that role; what changes a
 * segmentation (its definition, roll-up SQL, views, purge log) runs as the
 * segmentation's owner, through the C entry points _follow and
 * _note_partition_purge (src/rollup.c), which the source's owner may call.
 */

CREATE OR REPLACE FUNCTION @extschema@._follow(name pg_catalog.text, attnum pg_catalog.int2)
RETURNS void AS 'MODULE_PATHNAME', 'segroll_follow' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._follow(pg_catalog.text, pg_catalog.int2) IS
	'runs _follow_source as the segmentation''s owner; for the source''s owner (event trigger)';

CREATE OR REPLACE FUNCTION @extschema@._note_partition_purge(name pg_catalog.text)
RETURNS void AS 'MODULE_PATHNAME', 'segroll_note_partition_purge' LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._note_partition_purge(pg_catalog.text) IS
	'runs _record_partition_purge as the segmentation''s owner; for the source''s owner (event trigger)';

/*
 * Numbers the rows of the partitions attached to the partitioned source src
 * in this transaction: their capture trigger (cloned when they joined) was
 * created by this transaction, the source's own was not (on a new source,
 * every row is a row "before capture", which the first roll-up reads).
 * Their old numbers, whatever a copy brought along, were never rolled up,
 * so no old version is logged (_number_rows, C).  Returns the rows numbered.
 */
CREATE OR REPLACE FUNCTION @extschema@._creating_extension() RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'segroll_creating_extension' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._creating_extension() IS
	'is an extension script running? (the event triggers leave its DDL alone)';

CREATE OR REPLACE FUNCTION @extschema@._in_current_xact(pg_catalog.xid) RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'segroll_in_current_xact' LANGUAGE C STRICT STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._in_current_xact(pg_catalog.xid) IS
	'was the xid assigned by the current transaction or one of its subtransactions?';

CREATE OR REPLACE FUNCTION @extschema@._number_attached(src pg_catalog.regclass)
RETURNS pg_catalog.int8 LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	part regclass;
	total int8 := 0;
BEGIN
	IF (SELECT segroll._in_current_xact(t.xmin) FROM pg_trigger t
	    WHERE t.tgrelid = src AND t.tgname = 'segroll_capture_number') THEN
		RETURN 0;
	END IF;
	FOR part IN
		SELECT p.relid FROM pg_partition_tree(src) p
		JOIN pg_trigger t ON t.tgrelid = p.relid AND t.tgname = 'segroll_capture_number'
		WHERE p.isleaf AND p.relid <> src AND segroll._in_current_xact(t.xmin)
	LOOP
		total := total + segroll._number_rows(part);
	END LOOP;
	RETURN total;
END
$$;
COMMENT ON FUNCTION @extschema@._number_attached(pg_catalog.regclass) IS
	'numbers the rows of partitions attached to a source in this transaction, for the next roll-up';

/*
 * Follows a column renamed in the source of segmentation name (attnum; null when no column was
 * renamed) and regenerates def's roll-up SQL.  The columns def names that no
 * longer exist were all called what attnum was called before the rename.
 */
CREATE OR REPLACE FUNCTION @extschema@._follow_source(name pg_catalog.text, attnum pg_catalog.int2)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(_follow_source.name);
	new_name name := (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = def.source AND a.attnum = _follow_source.attnum);
	old_name text;
	log regclass := (SELECT s.change_log FROM segroll.source s WHERE s.relid = def.source);
	dims jsonb := '[]'::jsonb;
	d jsonb;
	suffix text;
	new_apply text;
BEGIN
	PERFORM segroll._require_owner_context(def, 'segroll._follow_source()', 'segroll._follow()');
	IF new_name IS NOT NULL THEN
		SELECT min(u.col) INTO old_name
		FROM unnest(ARRAY[def.key_column, def.time_column]::text[] || def.measures::text[]
		            || def.distinct_measures::text[]
		            || ARRAY(SELECT coalesce(e->>'column', e->>'on') FROM jsonb_array_elements(def.dimensions) e)) u(col)
		WHERE segroll._column_type(def.source, u.col) IS NULL;
	END IF;
	IF old_name IS NOT NULL AND segroll._distribution_column(def.source) IS NOT NULL THEN
		-- its views and logging function would follow on the coordinator
		-- before Citus renames the column on the other nodes
		RAISE EXCEPTION 'cannot rename column "%" of "%": renaming a column of a distributed source of segmentations is not supported',
			old_name, def.source
			USING ERRCODE = 'feature_not_supported',
			      HINT = format('Drop segmentation "%s", rename the column, and create the segmentation again.', def.name);
	END IF;
	IF old_name IS NOT NULL THEN
		FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
			IF d->>'column' = old_name THEN
				d := jsonb_set(d, '{column}', to_jsonb(new_name::text));
			END IF;
			IF d->>'on' = old_name THEN
				d := jsonb_set(d, '{on}', to_jsonb(new_name::text));
			END IF;
			dims := dims || jsonb_build_array(d);
		END LOOP;
		def.dimensions := dims;
		def.key_column := CASE WHEN def.key_column = old_name THEN new_name ELSE def.key_column END;
		def.time_column := CASE WHEN def.time_column = old_name THEN new_name ELSE def.time_column END;
		def.measures := array_replace(def.measures, old_name::name, new_name);
		def.distinct_measures := array_replace(def.distinct_measures, old_name::name, new_name);
		UPDATE segroll.segmentation s
		SET key_column = def.key_column, time_column = def.time_column, dimensions = def.dimensions,
		    measures = def.measures, distinct_measures = def.distinct_measures
		WHERE s.name = def.name;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'cannot rename column "%" of %: segmentation "%" uses it', old_name, def.source, def.name
				USING ERRCODE = 'insufficient_privilege',
				      HINT = format('Rename it as a member of role %s, the segmentation''s owner.', def.owner);
		END IF;
		UPDATE segroll.source s SET key_column = new_name WHERE s.relid = def.source AND s.key_column = old_name;
		-- the unmapped view shows the source's columns under their names
		IF EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = def.unmapped_view AND a.attname = old_name) THEN
			EXECUTE format('ALTER VIEW %s RENAME COLUMN %I TO %I', def.unmapped_view, old_name, new_name);
		END IF;
		-- a measure's columns in the BI view are named after it
		IF new_name = ANY (def.measures) THEN
			FOR suffix IN SELECT unnest(ARRAY['_sum', '_min', '_max']) LOOP
				EXECUTE format('ALTER VIEW %s RENAME COLUMN %I TO %I', def.bi_view, old_name || suffix, new_name || suffix);
				IF segroll._live_view(def) IS NOT NULL THEN
					EXECUTE format('ALTER VIEW %s RENAME COLUMN %I TO %I', segroll._live_view(def), old_name || suffix, new_name || suffix);
				END IF;
			END LOOP;
		END IF;
		-- a distinct measure's column in the BI and live views (issue 17)
		IF new_name = ANY (def.distinct_measures) THEN
			EXECUTE format('ALTER VIEW %s RENAME COLUMN %I TO %I', def.bi_view, old_name || '_distinct', new_name || '_distinct');
			IF segroll._live_view(def) IS NOT NULL THEN
				EXECUTE format('ALTER VIEW %s RENAME COLUMN %I TO %I', segroll._live_view(def), old_name || '_distinct', new_name || '_distinct');
			END IF;
		END IF;
		-- the live view reads old versions by column name
		IF segroll._live_view(def) IS NOT NULL THEN
			PERFORM segroll._create_live_view(def);
		END IF;
		-- the old versions logged before the rename, under the old name
		EXECUTE format('UPDATE %s l SET old = (l.old OPERATOR(pg_catalog.-) %L) OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(%L, l.old OPERATOR(pg_catalog.->) %L)
		                WHERE l.old OPERATOR(pg_catalog.?) %L', log, old_name, new_name, old_name, old_name);
		PERFORM segroll._log(def.name, 'follow source', NULL, NULL,
		                     jsonb_build_object('renamed', old_name, 'to', new_name::text));
	END IF;
	-- only when it changed (a renamed table, schema or column): a role that
	-- may alter the table but not the segmentation can still add a column
	new_apply := segroll._generate_apply(def, segroll._adjustments(def));
	IF new_apply IS NOT DISTINCT FROM def.apply_sql THEN
		RETURN;
	END IF;
	UPDATE segroll.segmentation s SET apply_sql = new_apply WHERE s.name = def.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'cannot change % under segmentation "%"', def.source, def.name
			USING ERRCODE = 'insufficient_privilege',
			      HINT = format('Its roll-up SQL names the table: change it as a member of role %s, the segmentation''s owner.', def.owner);
	END IF;
	-- the capture functions of a partitioned source name it and its key
	-- (a plain source's name only the change log)
	IF (SELECT relkind FROM pg_class WHERE oid = def.source) = 'p' THEN
		PERFORM segroll._install_capture(def.source);
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._follow_source(pg_catalog.text, pg_catalog.int2) IS
	'follows a renamed column of a segmentation''s source and regenerates its roll-up SQL';

/*
 * A partition dropped or detached from a source takes its rows out of the
 * source without a DELETE: the cells keep them, as after purge_source().
 * When the source is partitioned by range on the time column of its
 * segmentations (one column; a DEFAULT partition holding no older row), the rows before the
 * lowest remaining partition are gone for good; that bound is recorded in
 * segroll.purge_log as a purge horizon, so trace and locate say the rows
 * were purged.  rows_deleted is what the cells count before the horizon
 * and after the previous one.  Called for the first segmentation of the
 * source by name (any would do: they all count the same rows).  Other
 * partitionings record nothing: verify then reports the missing rows.
 */
CREATE OR REPLACE FUNCTION @extschema@._record_partition_purge(name pg_catalog.text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	def segroll.segmentation := segroll._definition(_record_partition_purge.name);
	src regclass := def.source;
	part_col name;
	horizon timestamptz;
	previous timestamptz;
	counted int8;
	default_part regclass;
	old_in_default bool;
BEGIN
	PERFORM segroll._require_owner_context(def, 'segroll._record_partition_purge()', 'segroll._note_partition_purge()');
	-- drop_segmentation() dropping this segmentation's own tables
	IF NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = def.cells) THEN
		RETURN;
	END IF;
	SELECT a.attname INTO part_col
	FROM pg_partitioned_table p JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
	WHERE p.partrelid = src AND p.partstrat = 'r' AND p.partnatts = 1;
	IF part_col IS NULL
	   OR EXISTS (SELECT FROM segroll.segmentation s WHERE s.source = src AND s.time_column <> part_col) THEN
		RETURN;
	END IF;
	-- the lowest lower bound of the remaining partitions, as the time column's type reads it
	-- (a timestamp or date bound is a local time in the segmentation's zone)
	EXECUTE format('SELECT min(%s) FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
	                WHERE i.inhparent = $1',
	               segroll._time_sql(def, format('(pg_catalog.substring(pg_catalog.pg_get_expr(c.relpartbound, c.oid), %L))::%s',
	                      $r$^FOR VALUES FROM \('(.*)'\) TO \($r$, format_type(segroll._column_type(src, part_col), NULL))))
	INTO horizon USING src;
	SELECT max(l.purged_before) INTO previous FROM segroll.purge_log l WHERE l.source = src;
	IF horizon IS NULL OR horizon <= coalesce(previous, '-infinity') THEN
		RETURN;
	END IF;
	-- a DEFAULT partition (pg_partman makes one) must hold nothing older
	default_part := (SELECT nullif(p.partdefid, 0)::regclass FROM pg_partitioned_table p WHERE p.partrelid = src);
	IF default_part IS NOT NULL THEN
		EXECUTE format('SELECT EXISTS (SELECT FROM %s d WHERE %s OPERATOR(pg_catalog.<) $1)', default_part,
		               segroll._time_sql(def, format('d.%I', part_col)))
		INTO old_in_default USING horizon;
		IF old_in_default THEN
			RETURN;
		END IF;
	END IF;
	-- no horizon before the first row the cells count (the oldest partition
	-- may have been empty all along)
	EXECUTE format('SELECT coalesce(sum(segroll.count(c.seg)), 0) FROM %s c
	                WHERE c.period OPERATOR(pg_catalog.<) $1 AND c.period OPERATOR(pg_catalog.>=) $2', def.cells)
	INTO counted USING horizon, coalesce(previous, '-infinity');
	IF counted = 0 THEN
		RETURN;
	END IF;
	INSERT INTO segroll.purge_log (source, time_column, purged_before, rows_deleted)
	VALUES (src, part_col, horizon, counted);
	PERFORM segroll._log(def.name, 'partition removed', counted, NULL,
	                     jsonb_build_object('source', src::text, 'purged_before', horizon));
END
$$;
COMMENT ON FUNCTION @extschema@._record_partition_purge(pg_catalog.text) IS
	'records the purge horizon left by a partition dropped or detached from a range-partitioned source';

CREATE OR REPLACE FUNCTION @extschema@._follow_ddl() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	c record;
	seg_name text;
BEGIN
	-- every name below is segroll's only while the schema called segroll is
	-- the extension's: a role that renamed it and put its own in its place
	-- would otherwise run its code as whoever runs DDL (a superuser too).
	-- Written out, not a function: calling one by name is what it guards.
	IF (SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segroll')
	   IS DISTINCT FROM pg_catalog.to_regnamespace('segroll')::pg_catalog.oid THEN
		RETURN;
	END IF;
	IF segroll._creating_extension() THEN
		RETURN;
	END IF;
	IF NOT EXISTS (SELECT FROM segroll.source) THEN
		RETURN;
	END IF;
	FOR c IN
		SELECT DISTINCT coalesce(pg_partition_root(x.objid), x.objid)::regclass AS src,
		       CASE WHEN x.object_type = 'table column' THEN x.objsubid::int2 END AS attnum
		FROM pg_event_trigger_ddl_commands() x
		WHERE x.classid = 'pg_class'::regclass
		  AND coalesce(pg_partition_root(x.objid), x.objid) IN (SELECT s.relid FROM segroll.source s)
		UNION
		SELECT s.relid, NULL FROM pg_event_trigger_ddl_commands() x
		JOIN pg_class r ON r.relnamespace = x.objid JOIN segroll.source s ON s.relid = r.oid
		WHERE x.classid = 'pg_namespace'::regclass
	LOOP
		IF (SELECT relkind FROM pg_class WHERE oid = c.src) = 'p' THEN
			PERFORM segroll._number_attached(c.src);
			PERFORM segroll._note_partition_purge(s.name) FROM segroll.segmentation s
			WHERE s.source = c.src ORDER BY s.name LIMIT 1;	-- DETACH
		END IF;
		FOR seg_name IN SELECT s.name FROM segroll.segmentation s WHERE s.source = c.src ORDER BY s.name LOOP
			PERFORM segroll._follow(seg_name, c.attnum);
		END LOOP;
	END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@._follow_ddl() IS
	'event trigger: keeps segmentations in step with their sources'' DDL (renames, attached partitions)';

-- dropped and created again, so that an update brings the current tags
DROP EVENT TRIGGER IF EXISTS segroll_follow_ddl;
CREATE EVENT TRIGGER segroll_follow_ddl ON ddl_command_end
	WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE', 'ALTER SCHEMA')
	EXECUTE FUNCTION @extschema@._follow_ddl();

/*
 * Refuses to drop a source column a segmentation uses, naming it, and
 * records the purge horizon a dropped partition leaves.  Without
 * CASCADE PostgreSQL refuses already (the segmentation's unmapped view
 * depends on the column), but with CASCADE it would drop that view and
 * leave the segmentation reading a column that is gone.
 */
CREATE OR REPLACE FUNCTION @extschema@._guard_drop() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	d record;
BEGIN
	-- the guard of _follow_ddl, written out for the same reason
	IF (SELECT e.extnamespace FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'segroll')
	   IS DISTINCT FROM pg_catalog.to_regnamespace('segroll')::pg_catalog.oid THEN
		RETURN;
	END IF;
	IF segroll._creating_extension() THEN
		RETURN;
	END IF;
	SELECT s.name AS seg, x.address_names[3] AS col, x.objid::regclass AS src INTO d
	FROM pg_event_trigger_dropped_objects() x
	JOIN segroll.segmentation s ON s.source = x.objid
	WHERE x.object_type = 'table column' AND x.classid = 'pg_class'::regclass
	  AND x.address_names[3] = ANY (ARRAY[s.key_column, s.time_column]::text[] || s.measures::text[]
	                                || ARRAY(SELECT coalesce(e->>'column', e->>'on') FROM jsonb_array_elements(s.dimensions) e))
	ORDER BY s.name LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'cannot drop column "%" of %: segmentation "%" uses it', d.col, d.src, d.seg
			USING ERRCODE = 'dependent_objects_still_exist',
			      HINT = 'Drop the segmentation first (segroll.drop_segmentation), or keep the column.';
	END IF;
	-- a source itself (DROP TABLE, or DROP SCHEMA ... CASCADE): its
	-- segmentations would be left without rows, capture or views
	SELECT s.name AS seg, x.object_identity AS src INTO d
	FROM pg_event_trigger_dropped_objects() x
	JOIN segroll.segmentation s ON s.source = x.objid
	WHERE x.object_type = 'table' AND x.classid = 'pg_class'::regclass
	ORDER BY s.name LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'cannot drop table %: segmentation "%" rolls it up', d.src, d.seg
			USING ERRCODE = 'dependent_objects_still_exist',
			      HINT = 'Drop its segmentations first (segroll.drop_segmentation); detaching or dropping a partition is allowed.';
	END IF;
	-- a partition dropped (by a retention job): the horizon it leaves
	IF EXISTS (SELECT FROM pg_event_trigger_dropped_objects() x
	           WHERE x.object_type = 'table' AND x.original AND x.classid = 'pg_class'::regclass) THEN
		-- one segmentation per partitioned source records it; not one whose
		-- cells table is gone (drop_segmentation() dropping its own tables)
		PERFORM segroll._note_partition_purge(min(g.name))
		FROM segroll.segmentation g JOIN pg_class r ON r.oid = g.source
		WHERE r.relkind = 'p' AND EXISTS (SELECT FROM pg_class c WHERE c.oid = g.cells)
		GROUP BY g.source;
	END IF;
END
$$;
COMMENT ON FUNCTION @extschema@._guard_drop() IS
	'event trigger: refuses to drop a source, or a source column a segmentation uses; records the horizon a dropped partition leaves';

DROP EVENT TRIGGER IF EXISTS segroll_guard_drop;
CREATE EVENT TRIGGER segroll_guard_drop ON sql_drop
	WHEN TAG IN ('ALTER TABLE', 'DROP TABLE', 'DROP SCHEMA', 'DROP OWNED')
	EXECUTE FUNCTION @extschema@._guard_drop();

CREATE OR REPLACE FUNCTION @extschema@._guard_alter() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'segroll_guard_alter' LANGUAGE C;
COMMENT ON FUNCTION @extschema@._guard_alter() IS
	'event trigger: refuses to change the type of a source column a segmentation uses, naming it';

DROP EVENT TRIGGER IF EXISTS segroll_guard_alter;
CREATE EVENT TRIGGER segroll_guard_alter ON ddl_command_start
	WHEN TAG IN ('ALTER TABLE')
	EXECUTE FUNCTION @extschema@._guard_alter();

CREATE OR REPLACE FUNCTION @extschema@._guard_extension() RETURNS event_trigger
AS 'MODULE_PATHNAME', 'segroll_guard_extension' LANGUAGE C;
COMMENT ON FUNCTION @extschema@._guard_extension() IS
	'event trigger: DROP and ALTER EXTENSION segroll first wait for running roll-ups (segroll.progress), so that neither deadlocks with one';

DROP EVENT TRIGGER IF EXISTS segroll_guard_extension;
CREATE EVENT TRIGGER segroll_guard_extension ON ddl_command_start
	WHEN TAG IN ('DROP EXTENSION', 'ALTER EXTENSION')
	EXECUTE FUNCTION @extschema@._guard_extension();
