/*
 * Change capture, per source table (shared by every segmentation over it):
 *	- an identity column segroll_seq (GENERATED ALWAYS, CACHE 1) numbers
 *	  every row version in ingest order; inserts pay only nextval();
 *	- UPDATE gives the new version a new number and logs the old version
 *	  with the same number; DELETE logs the old version with a new number;
 *	- TRUNCATE is refused.
 * A roll-up applies the window (applied_upto, U] where U is the sequence's
 * last value, after segroll.wait_for_writers() has waited out every writer
 * that could still hold a number <= U.  Cells and progress are updated in
 * one transaction: a change is applied exactly once.
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

CREATE OR REPLACE FUNCTION @extschema@._capture_function(src pg_catalog.regclass, what pg_catalog.text)
RETURNS pg_catalog.text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
	SELECT pg_catalog.format('%I.%I', n.nspname, 'segroll_capture_' OPERATOR(pg_catalog.||) what
	                         OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||) src::pg_catalog.oid)
	FROM @extschema@.source s JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) s.change_log
	JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
	WHERE s.relid OPERATOR(pg_catalog.=) src
$$;

CREATE OR REPLACE FUNCTION @extschema@._install_capture(src pg_catalog.regclass)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET client_min_messages = warning AS $install$
DECLARE
	r segroll.source;
	owner name := (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = src);
	f_update text := segroll._capture_function(src, 'update');
	f_update_log text := segroll._capture_function(src, 'update_log');
	f_delete text := segroll._capture_function(src, 'delete');
	f text;
	tag text := '$body$';	-- the bodies' dollar quote: one no name below holds
	n int := 0;
BEGIN
	SELECT * INTO r FROM segroll.source WHERE relid = src;
	WHILE strpos(concat_ws(' ', src, r.change_log, r.seq, f_update, f_update_log, f_delete), tag) > 0 LOOP
		n := n + 1;
		tag := '$body' || n || '$';
	END LOOP;
	EXECUTE format(replace($f$
CREATE OR REPLACE FUNCTION %s() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
	-- the new version is a new change (harmless if a later trigger cancels)
	NEW.segroll_seq := pg_catalog.nextval(%L::pg_catalog.regclass);
	RETURN NEW;
END
$body$$f$, '$body$', tag), f_update, r.seq::text);
	EXECUTE format(replace($f$
CREATE OR REPLACE FUNCTION %s() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
	-- AFTER, so only updates that happened retract their old version
	INSERT INTO %s (log_seq, old_seq, old) VALUES (NEW.segroll_seq, OLD.segroll_seq, OLD);
	RETURN NULL;
END
$body$$f$, '$body$', tag), f_update_log, r.change_log);
	EXECUTE format(replace($f$
CREATE OR REPLACE FUNCTION %1$s() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
	IF EXISTS (SELECT 1 FROM segroll.purging p
	              WHERE p.relid OPERATOR(pg_catalog.=) %2$L::pg_catalog.regclass
	                AND p.xid OPERATOR(pg_catalog.=) pg_catalog.pg_current_xact_id()) THEN
		RETURN NULL;	-- a purge: the cells keep what they summarise
	END IF;
	INSERT INTO %3$s (log_seq, old_seq, old)
	SELECT pg_catalog.nextval(%4$L::pg_catalog.regclass), o.segroll_seq, ROW(o.*)::%2$s FROM segroll_old_rows o;
	RETURN NULL;
END
$body$$f$, '$body$', tag), f_delete, src, r.change_log, r.seq::text);
	FOREACH f IN ARRAY ARRAY[f_update, f_update_log, f_delete] LOOP
		EXECUTE format('ALTER FUNCTION %s() OWNER TO %I', f, owner);
		EXECUTE format('REVOKE EXECUTE ON FUNCTION %s() FROM PUBLIC', f);
	END LOOP;
	EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_update ON %s', src);
	EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_update_log ON %s', src);
	EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_delete ON %s', src);
	EXECUTE format('CREATE TRIGGER segroll_capture_update BEFORE UPDATE ON %s FOR EACH ROW WHEN (segroll._capture_on()) EXECUTE FUNCTION %s()',
	               src, f_update);
	EXECUTE format('CREATE TRIGGER segroll_capture_update_log AFTER UPDATE ON %s FOR EACH ROW WHEN (segroll._capture_on()) EXECUTE FUNCTION %s()',
	               src, f_update_log);
	EXECUTE format('CREATE TRIGGER segroll_capture_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS segroll_old_rows FOR EACH STATEMENT WHEN (segroll._capture_on()) EXECUTE FUNCTION %s()',
	               src, f_delete);
END
$install$;
COMMENT ON FUNCTION @extschema@._install_capture(pg_catalog.regclass) IS
	'(re)creates the capture functions and triggers of a source, owned by its owner';

CREATE OR REPLACE FUNCTION @extschema@._remove_capture(src pg_catalog.regclass)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_update ON %s', src);
	EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_update_log ON %s', src);
	EXECUTE format('DROP TRIGGER IF EXISTS segroll_capture_delete ON %s', src);
	EXECUTE format('DROP FUNCTION IF EXISTS %s()', segroll._capture_function(src, 'update'));
	EXECUTE format('DROP FUNCTION IF EXISTS %s()', segroll._capture_function(src, 'update_log'));
	EXECUTE format('DROP FUNCTION IF EXISTS %s()', segroll._capture_function(src, 'delete'));
END
$$;

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
	SELECT c.oid, coalesce((SELECT o.option_value::int FROM pg_options_to_table(c.reloptions) o
	                        WHERE o.option_name = 'pages_per_range'), 128)
	INTO idx, per_range
	FROM pg_index i
	JOIN pg_class c ON c.oid = i.indexrelid
	JOIN pg_am a ON a.oid = c.relam
	JOIN pg_attribute t ON t.attrelid = i.indrelid AND t.attnum = i.indkey[0]
	WHERE i.indrelid = src AND a.amname = 'brin' AND t.attname = 'segroll_seq' AND i.indnatts = 1
	ORDER BY c.oid LIMIT 1;
	IF idx IS NULL THEN
		RETURN 0;
	END IF;
	blk := (pg_relation_size(src) / current_setting('block_size')::bigint / per_range - 1) * per_range;
	BEGIN
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
