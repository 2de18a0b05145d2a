/*
 * Change capture, per source table (shared by every segmentation over it):
 *	- a column segroll_seq numbers every row version in ingest order, from
 *	  the source's capture sequence (CACHE 1).  The column is added with the
 *	  constant default 1, so adding it rewrites nothing: rows that were
 *	  there before the capture read as number 1 (the sequence starts at 2)
 *	  and the first roll-up takes them in.  New versions are numbered by the
 *	  C trigger capture_number (BEFORE INSERT OR UPDATE FOR EACH ROW);
 *	- UPDATE gives the new version a new number and logs the old version
 *	  with the same number; DELETE logs the old version with a new number.
 *	  The change log keeps old versions as jsonb, so the source's columns
 *	  may be added, dropped and retyped under it;
 *	- TRUNCATE of the source is refused.
 * A partitioned source has the same triggers, cloned to every partition; its
 * deletes are logged row by row (a statement trigger on the parent does not
 * see a DELETE on a partition), and the rows of a table attached as a
 * partition are numbered as they join (_number_attached).
 * Every capture trigger is ENABLE ALWAYS: rows applied by logical
 * replication (session_replication_role = replica) are numbered too.
 * A roll-up applies the window (applied_upto, U] where U is the sequence's
 * last value, read under its buffer lock (_capture_last), after
 * segroll.wait_for_writers() has waited out every writer that could still
 * hold a number <= U.  Cells and progress are updated in one transaction:
 * a change is applied exactly once.
 */

CREATE OR REPLACE FUNCTION @extschema@.wait_for_writers(pg_catalog.regclass)
RETURNS pg_catalog.int4 AS 'MODULE_PATHNAME', 'segroll_wait_for_writers'
LANGUAGE C STRICT VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.wait_for_writers(pg_catalog.regclass) IS
	'waits until every transaction that could still write into the table has ended';

CREATE OR REPLACE FUNCTION @extschema@.capture_truncate() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RAISE EXCEPTION 'cannot truncate "%": segmentations roll up its rows', TG_TABLE_NAME
		USING ERRCODE = 'object_in_use',
		      HINT = 'Delete rows instead, or drop the segmentations first.';
END
$$;
COMMENT ON FUNCTION @extschema@.capture_truncate() IS 'capture trigger: refuses TRUNCATE of a source';

CREATE OR REPLACE FUNCTION @extschema@._capture_on() RETURNS pg_catalog.bool
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS 'SELECT true';
COMMENT ON FUNCTION @extschema@._capture_on() IS
	'the WHEN clause of capture triggers: ties them to the extension';

CREATE OR REPLACE FUNCTION @extschema@.capture_number() RETURNS trigger
AS 'MODULE_PATHNAME', 'segroll_capture_number' LANGUAGE C;
COMMENT ON FUNCTION @extschema@.capture_number() IS
	'capture trigger: numbers each new row version of a source from its capture sequence';

CREATE OR REPLACE FUNCTION @extschema@._capture_sequence(pg_catalog.regclass) RETURNS pg_catalog.regclass
AS 'MODULE_PATHNAME', 'segroll_capture_sequence' LANGUAGE C STRICT STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._capture_sequence(pg_catalog.regclass) IS
	'the capture sequence of a source or of one of its partitions: the sequence owned by its (root''s) segroll_seq';

/*
 * The last number capture sequence seq has given, or one below the first it
 * will give when it has given none: the end U of a roll-up's window, read
 * under the sequence's buffer lock.  It must never be read ahead of the
 * numbers given.  SELECT last_value FROM seq reads the page after letting go
 * of that lock, and a nextval() that writes WAL (every 33rd) has the value
 * 32 numbers ahead on the page while it logs it: a window ending there would
 * count the numbers given after it, whose writers it does not wait for, as
 * applied, and their rows would never be rolled up (TAP 161 lost 29).
 * pg_sequence_last_value() reads under the lock, as nextval() writes.
 */
CREATE OR REPLACE FUNCTION @extschema@._capture_last(seq pg_catalog.regclass)
RETURNS pg_catalog.int8 LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v int8;
BEGIN
	-- SELECT, as reading the relation needs below (pg_sequence_last_value()
	-- takes USAGE too)
	IF NOT has_sequence_privilege(seq, 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for sequence %', seq USING ERRCODE = 'insufficient_privilege';
	END IF;
	v := pg_sequence_last_value(seq);
	IF v IS NULL THEN
		-- none given: the page holds the first number it will give.  Read
		-- without the lock, so read under it once more: a nextval() since
		-- (or under way then, holding the lock) has made it called for good
		PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';	-- seq: a regclass
		EXECUTE format('SELECT s.last_value OPERATOR(pg_catalog.-) 1 FROM %s s', seq) INTO v;
		PERFORM 'PRAGMA:ENABLE:SECURITY_WARNINGS';
		v := coalesce(pg_sequence_last_value(seq), v);
	END IF;
	RETURN v;
END
$$;
COMMENT ON FUNCTION @extschema@._capture_last(pg_catalog.regclass) IS
	'the last number a capture sequence gave (one below its first when none), read under its buffer lock: where a roll-up window ends';

CREATE OR REPLACE FUNCTION @extschema@._logging_on() RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'segroll_logging_on' LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._logging_on() IS
	'the WHEN clause of the triggers that log old versions: false while _number_rows numbers rows no roll-up has seen';

CREATE OR REPLACE FUNCTION @extschema@._number_rows(rel pg_catalog.regclass, before_capture pg_catalog.int8 DEFAULT NULL)
RETURNS pg_catalog.int8 AS 'MODULE_PATHNAME', 'segroll_number_rows' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@._number_rows(pg_catalog.regclass, pg_catalog.int8) IS
	'gives rows of a table its owner attached to a source (or, with a limit, that many rows there before the capture) fresh numbers, logging no old version';

CREATE OR REPLACE FUNCTION @extschema@._capture_function(src pg_catalog.regclass, what pg_catalog.text)
RETURNS pg_catalog.text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_catalog.format('%I.%I', n.nspname, 'segroll_capture_' OPERATOR(pg_catalog.||) what
	                         OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||) src::pg_catalog.oid)
	FROM @extschema@.source s JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) s.change_log
	JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
	WHERE s.relid OPERATOR(pg_catalog.=) src
$$;

/* A dollar quote ($body$, $body1$, ...) that names does not contain, for the bodies of generated functions. */
CREATE OR REPLACE FUNCTION @extschema@._dollar_quote(names pg_catalog.text)
RETURNS pg_catalog.text LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	tag text := '$body$';
	n int := 0;
BEGIN
	WHILE strpos(names, tag) > 0 LOOP
		n := n + 1;
		tag := '$body' || n || '$';
	END LOOP;
	RETURN tag;
END
$$;

/*
 * (Re)creates the capture triggers of a source and the functions they call,
 * owned by the source's owner.  The generated functions find the source's
 * sequence from TG_RELID, so that a dump and restore does not break them;
 * they name the log, and on a partitioned source the source and its key,
 * so a rename re-creates them (_follow_source).
 */
CREATE OR REPLACE FUNCTION @extschema@._install_capture(src pg_catalog.regclass)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET client_min_messages = warning AS $install$
DECLARE
	r segroll.source;
	owner name := (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = src);
	partitioned bool := (SELECT relkind = 'p' FROM pg_class WHERE oid = src);
	f_update_log text := segroll._capture_function(src, 'update_log');
	f_delete text := segroll._capture_function(src, 'delete');
	f text;
	t text;
	tag text;		-- the bodies' dollar quote: one no name below holds
BEGIN
	IF segroll._distribution_column(src) IS NOT NULL THEN
		PERFORM segroll._install_distributed_capture(src);
		RETURN;
	END IF;
	SELECT * INTO r FROM segroll.source WHERE relid = src;
	tag := segroll._dollar_quote(concat_ws(' ', src, r.change_log, r.key_column, f_update_log, f_delete));
	PERFORM 'PRAGMA:DISABLE:SECURITY_WARNINGS';	-- tag: a dollar quote no name holds; f_*: _capture_function() (%I)
	EXECUTE format(replace($f$
CREATE OR REPLACE FUNCTION %s() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
	-- AFTER, so only updates that happened retract their old version
	INSERT INTO %s (log_seq, old_seq, old) VALUES (NEW.segroll_seq, OLD.segroll_seq, pg_catalog.to_jsonb(OLD));
	RETURN NULL;
END
$body$$f$, '$body$', tag), f_update_log, r.change_log);
	-- a DELETE logs each old version with a new number, unless it is a purge
	-- (the cells keep what they summarise); on a partitioned source row by
	-- row, as the parent's statement triggers do not see its partitions.
	-- The body names no OID: it must survive pg_dump and restore.
	EXECUTE format(replace($f$
CREATE OR REPLACE FUNCTION %1$s() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
DECLARE
	source regclass := COALESCE(pg_catalog.pg_partition_root(TG_RELID), TG_RELID::pg_catalog.regclass);
	seq regclass := segroll._capture_sequence(TG_RELID);
BEGIN
	IF EXISTS (SELECT 1 FROM segroll.purging p
	              WHERE p.relid OPERATOR(pg_catalog.=) source
	                AND p.xid OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id()) THEN
		RETURN NULL;
	END IF;
	%2$s
	RETURN NULL;
END
$body$$f$, '$body$', tag), f_delete,
		CASE WHEN partitioned
		     THEN format($i$-- an UPDATE that moved the row to another partition is a DELETE
	-- and an INSERT: the old version is retracted under the new version's
	-- number, as an UPDATE's is, so that no window sees both versions
	INSERT INTO %1$s (log_seq, old_seq, old)
	VALUES (COALESCE((SELECT s.segroll_seq FROM %2$s s
	                  WHERE s.%3$I OPERATOR(pg_catalog.=) OLD.%3$I
	                    AND s.segroll_seq OPERATOR(pg_catalog.>) OLD.segroll_seq
	                    AND segroll._in_current_xact(s.xmin)
	                  ORDER BY s.segroll_seq DESC LIMIT 1),
	                 pg_catalog.nextval(seq)),
	        OLD.segroll_seq, pg_catalog.to_jsonb(OLD));$i$, r.change_log, src, r.key_column)
		     ELSE format($i$INSERT INTO %s (log_seq, old_seq, old)
	SELECT pg_catalog.nextval(seq), o.segroll_seq, pg_catalog.to_jsonb(o) FROM segroll_old_rows o;$i$, r.change_log) END);
	PERFORM 'PRAGMA:ENABLE:SECURITY_WARNINGS';
	FOREACH f IN ARRAY ARRAY[f_update_log, f_delete] LOOP
		EXECUTE format('ALTER FUNCTION %s() OWNER TO %I', f, owner);
		EXECUTE format('REVOKE EXECUTE ON FUNCTION %s() FROM PUBLIC', f);
	END LOOP;
	FOREACH t IN ARRAY ARRAY['segroll_capture_number', 'segroll_capture_update', 'segroll_capture_update_log',
	                         'segroll_capture_delete', 'segroll_capture_truncate'] LOOP
		EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', t, src);
	END LOOP;
	EXECUTE format('DROP FUNCTION IF EXISTS %s()', segroll._capture_function(src, 'update'));	-- 0.4.0's
	EXECUTE format('CREATE TRIGGER segroll_capture_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT EXECUTE FUNCTION segroll.capture_truncate()', src);
	EXECUTE format('CREATE TRIGGER segroll_capture_number BEFORE INSERT OR UPDATE ON %s FOR EACH ROW EXECUTE FUNCTION segroll.capture_number()',
	               src);
	EXECUTE format('CREATE TRIGGER segroll_capture_update_log AFTER UPDATE ON %s FOR EACH ROW WHEN (segroll._logging_on()) EXECUTE FUNCTION %s()',
	               src, f_update_log);
	IF partitioned THEN
		EXECUTE format('CREATE TRIGGER segroll_capture_delete AFTER DELETE ON %s FOR EACH ROW WHEN (segroll._logging_on()) EXECUTE FUNCTION %s()',
		               src, f_delete);
	ELSE
		EXECUTE format('CREATE TRIGGER segroll_capture_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS segroll_old_rows FOR EACH STATEMENT WHEN (segroll._capture_on()) EXECUTE FUNCTION %s()',
		               src, f_delete);
	END IF;
	FOREACH t IN ARRAY ARRAY['segroll_capture_number', 'segroll_capture_update_log', 'segroll_capture_delete'] LOOP
		EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', src, t);
	END LOOP;
END
$install$;
COMMENT ON FUNCTION @extschema@._install_capture(pg_catalog.regclass) IS
	'(re)creates the capture functions and triggers of a source, owned by its owner';

CREATE OR REPLACE FUNCTION @extschema@._remove_capture(src pg_catalog.regclass)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET client_min_messages = warning AS $$
DECLARE
	t text;
BEGIN
	IF segroll._distribution_column(src) IS NOT NULL THEN
		/*
		 * A shard that Citus moved got every trigger of its table, the
		 * TRUNCATE trigger too, which Citus does not drop from it with the
		 * table's: those are dropped on each shard first, each node in a
		 * transaction of its own, before this one locks a shard.
		 */
		PERFORM 'PRAGMA:DISABLE:CHECK';	-- Citus's function, only where it is installed
		PERFORM pg_catalog.run_command_on_shards(src,
			$c$DO $d$DECLARE t pg_catalog.text; BEGIN
			   FOR t IN SELECT g.tgname FROM pg_catalog.pg_trigger g
			            WHERE g.tgrelid OPERATOR(pg_catalog.=) '%1$s'::pg_catalog.regclass
			              AND g.tgname OPERATOR(pg_catalog.~~) 'segroll\_capture\_truncate\_%%' LOOP
			       EXECUTE 'DROP TRIGGER ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(t) OPERATOR(pg_catalog.||) ' ON %1$s';
			   END LOOP; END $d$ $c$);
		PERFORM 'PRAGMA:ENABLE:CHECK';
		-- Citus drops the triggers of the shards only when told so (distributed.sql)
		PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
		PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
	END IF;
	FOREACH t IN ARRAY ARRAY['segroll_capture_number', 'segroll_capture_update', 'segroll_capture_update_log',
	                         'segroll_capture_delete', 'segroll_capture_truncate', 'segroll_capture_log_update',
	                         'segroll_capture_log_delete'] LOOP
		EXECUTE format('DROP TRIGGER IF EXISTS %I ON %s', t, src);
	END LOOP;
	EXECUTE format('DROP FUNCTION IF EXISTS %s()', segroll._capture_function(src, 'update'));
	EXECUTE format('DROP FUNCTION IF EXISTS %s()', segroll._capture_function(src, 'update_log'));
	EXECUTE format('DROP FUNCTION IF EXISTS %s()', segroll._capture_function(src, 'log'));
	EXECUTE format('DROP FUNCTION IF EXISTS %s()', segroll._capture_function(src, 'delete'));
END
$$;

/*
 * The capture index of rel (a BRIN index on segroll_seq alone), or null.
 */
CREATE OR REPLACE FUNCTION @extschema@._capture_index(rel pg_catalog.regclass)
RETURNS pg_catalog.regclass LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT c.oid::pg_catalog.regclass
	FROM pg_catalog.pg_index i
	JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid
	JOIN pg_catalog.pg_am a ON a.oid OPERATOR(pg_catalog.=) c.relam
	JOIN pg_catalog.pg_attribute t ON t.attrelid OPERATOR(pg_catalog.=) i.indrelid AND t.attnum OPERATOR(pg_catalog.=) i.indkey[0]
	WHERE i.indrelid OPERATOR(pg_catalog.=) rel AND a.amname OPERATOR(pg_catalog.=) 'brin'
	  AND t.attname OPERATOR(pg_catalog.=) 'segroll_seq' AND i.indnatts OPERATOR(pg_catalog.=) 1
	ORDER BY c.oid LIMIT 1
$$;

/*
 * Builds what finds a source's rows for the roll-ups, if missing: the
 * capture index (BRIN on segroll_seq), and for a key held in lineage as its
 * hash the index on segroll.key_hash(key).  Each build reads the table once
 * under a SHARE lock (writers wait, readers do not).  Returns whether it
 * built anything.  Called by create_segmentation when it backfills (or the
 * source had its capture already), else by backfill(), in a transaction of
 * its own: create_segmentation holds ADD COLUMN's ACCESS EXCLUSIVE lock to
 * its commit.
 */
CREATE OR REPLACE FUNCTION @extschema@._build_capture_index(src pg_catalog.regclass, key pg_catalog.text)
RETURNS pg_catalog.bool LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	built bool := false;
BEGIN
	IF segroll._capture_index(src) IS NULL THEN
		-- BRIN: numbers follow the physical order of appended rows, so a
		-- window is a few block ranges, and inserts pay almost nothing.  A
		-- roll-up keeps a local source's index summarized
		-- (_summarize_capture); the shards of a distributed source are
		-- summarized by autovacuum as their ranges fill
		EXECUTE format('CREATE INDEX ON %s USING brin (segroll_seq) WITH (pages_per_range = 16%s)', src,
		               CASE WHEN segroll._distribution_column(src) IS NOT NULL THEN ', autosummarize = on' ELSE '' END);
		built := true;
	END IF;
	IF segroll._column_type(src, key) NOT IN ('bigint'::regtype, 'integer'::regtype)
	   AND segroll._key_hash_index(src, key) IS NULL THEN
		EXECUTE format('CREATE INDEX ON %s (segroll.key_hash(%I))', src, key);
		built := true;
	END IF;
	RETURN built;
END
$$;
COMMENT ON FUNCTION @extschema@._build_capture_index(pg_catalog.regclass, pg_catalog.text) IS
	'builds the BRIN index on segroll_seq and, for a hashed key, the index on its hash, where missing';

/*
 * Adds the capture to a source: the capture sequence, the column segroll_seq
 * (default 1: rows already there are "before capture", and nothing is
 * rewritten), the change log and the triggers.  Its indexes are built
 * apart (_build_capture_index).  A Citus-distributed source
 * (distributed.sql) gets the sequence as the column's default, so that
 * Citus copies it to every node, a change log distributed with it, and its
 * own triggers (_install_distributed_capture).
 */
CREATE OR REPLACE FUNCTION @extschema@._add_capture(src pg_catalog.regclass, key pg_catalog.text, sch pg_catalog.regnamespace)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	relname text := (SELECT c.relname FROM pg_class c WHERE c.oid = src);
	relschema name := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = src);
	dist text := segroll._distribution_column(src);
	seq regclass;
	log regclass;
BEGIN
	IF segroll._column_type(src, 'segroll_seq') IS NOT NULL THEN
		RAISE EXCEPTION 'table "%" already has a column "segroll_seq"', src USING ERRCODE = 'duplicate_column',
			HINT = 'A column left behind by DROP EXTENSION segroll can be dropped with ALTER TABLE ... DROP COLUMN segroll_seq.';
	END IF;
	IF dist IS NOT NULL THEN
		-- DDL on shards and the triggers, one connection per node: Citus
		-- refuses some commands after parallel ones in a transaction
		PERFORM set_config('citus.multi_shard_modify_mode', 'sequential', true);
	END IF;
	-- beside the source, as an identity column's sequence would be (OWNED BY
	-- requires it): dropped with the column
	EXECUTE format('CREATE SEQUENCE %I.%I AS pg_catalog.int8 START 1 CACHE 1', relschema, 'segroll_seq_' || src::oid);
	seq := format('%I.%I', relschema, 'segroll_seq_' || src::oid)::regclass;
	PERFORM setval(seq, 1, true);	-- 1 is the rows before capture; new versions from 2
	EXECUTE format('ALTER SEQUENCE %s OWNER TO %s', seq, (SELECT relowner::regrole FROM pg_class WHERE oid = src));
	-- nullable: a table made LIKE the source, to be attached, needs no value
	EXECUTE format('ALTER TABLE %s ADD COLUMN segroll_seq pg_catalog.int8 DEFAULT 1', src);
	-- before Citus distributes it (it refuses to alter a distributed sequence)
	EXECUTE format('ALTER SEQUENCE %s OWNED BY %s.segroll_seq', seq, src);
	IF dist IS NULL THEN
		EXECUTE format('ALTER TABLE %s ALTER COLUMN segroll_seq SET DEFAULT 0', src);
	ELSE
		-- every writer may take a number (the trigger replaces it): an
		-- INSERT through the coordinator evaluates the default there
		EXECUTE format('GRANT USAGE ON SEQUENCE %s TO PUBLIC', seq);
		EXECUTE format('ALTER TABLE %s ALTER COLUMN segroll_seq SET DEFAULT pg_catalog.nextval(%L::pg_catalog.regclass)',
		               src, seq::text);
	END IF;
	-- statistics of the new column (every row 1; on every shard): without
	-- them the planner estimates a roll-up's window at a fixed share of the
	-- table and reads the whole table instead of the window's block ranges,
	-- until autovacuum first analyzes it; with them, a window of numbers
	-- above the column's known values is estimated small
	EXECUTE format('ANALYZE %s (segroll_seq)', src);
	-- changes_<table>_<oid>, the table's name shortened (by whole
	-- characters) so that the OID, which makes it unique, is never cut;
	-- on a distributed source with the old version's distribution column,
	-- by which it is distributed with the source
	WHILE octet_length('changes_' || relname || '_' || src::oid) > current_setting('max_identifier_length')::int LOOP
		relname := left(relname, -1);
	END LOOP;
	EXECUTE format('CREATE TABLE %s.%I (%s log_seq pg_catalog.int8 NOT NULL, old_seq pg_catalog.int8 NOT NULL, old pg_catalog.jsonb NOT NULL)',
	               sch, 'changes_' || relname || '_' || src::oid,
	               CASE WHEN dist IS NOT NULL
	                    THEN format('segroll_shard_key %s NOT NULL,', format_type(segroll._column_type(src, dist), NULL)) ELSE '' END);
	log := format('%s.%I', sch, 'changes_' || relname || '_' || src::oid)::regclass;
	EXECUTE format('CREATE INDEX ON %s (log_seq)', log);
	IF dist IS NOT NULL THEN
		PERFORM segroll._distribute_with_source(log, src, 'segroll_shard_key');
	END IF;
	INSERT INTO segroll.source VALUES (src, key, seq, log);
	PERFORM segroll._install_capture(src);
END
$$;
COMMENT ON FUNCTION @extschema@._add_capture(pg_catalog.regclass, pg_catalog.text, pg_catalog.regnamespace) IS
	'adds the capture column, sequence, index, change log and triggers to a new source';

/*
 * Keeps the capture index (BRIN on segroll_seq) summarized up to the last
 * full page range.  A roll-up finds its window through that index, and an
 * unsummarized range is read for every window: without this, each roll-up
 * would read every row inserted since the source's last VACUUM.  Called
 * after a roll-up has read the window, so the pages are in cache.  Ranges
 * are summarized from the last full one backwards until one is already
 * summarized (ranges fill in order); the partial last range is left alone,
 * so inserts into it do not update a summary.  It waits at most 10 ms for
 * its lock (a VACUUM of the source holds it): the next roll-up catches up.
 */
CREATE OR REPLACE FUNCTION @extschema@._summarize_capture(src pg_catalog.regclass)
RETURNS pg_catalog.int4
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '10ms'
AS $$
DECLARE
	idx regclass;
	per_range int;
	blk bigint;
	n int := 0;
BEGIN
	IF (SELECT relkind FROM pg_class WHERE oid = src) = 'p' THEN
		-- each partition has its own (the partitioned index's) BRIN
		RETURN coalesce((SELECT sum(segroll._summarize_capture(t.relid))::int FROM pg_partition_tree(src) t
		                 WHERE t.isleaf AND t.relid <> src), 0);
	END IF;
	idx := segroll._capture_index(src);
	SELECT coalesce((SELECT o.option_value::int FROM pg_options_to_table(c.reloptions) o
	                 WHERE o.option_name = 'pages_per_range'), 128)
	INTO per_range FROM pg_class c WHERE c.oid = idx;
	IF idx IS NULL THEN
		RETURN 0;
	END IF;
	-- every lock it takes, the table's size's included (a shard that Citus
	-- is moving is locked by the move), is given up after lock_timeout
	BEGIN
		blk := (pg_relation_size(src) / current_setting('block_size')::bigint / per_range - 1) * per_range;
		WHILE blk >= 0 LOOP
			EXIT WHEN brin_summarize_range(idx, blk) = 0;
			n := n + 1;
			blk := blk - per_range;
		END LOOP;
	EXCEPTION WHEN lock_not_available THEN
		RETURN n;
	END;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@._summarize_capture(pg_catalog.regclass) IS
	'summarizes the capture index''s full page ranges a roll-up has read; called by _rollup()';
