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
BEGIN
	SELECT * INTO r FROM segroll.source WHERE relid = src;
	EXECUTE format($f$
CREATE OR REPLACE FUNCTION %s() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
	-- the new version is a new change (harmless if a later trigger cancels)
	NEW.segroll_seq := pg_catalog.nextval(%L::pg_catalog.regclass);
	RETURN NEW;
END
$body$$f$, f_update, r.seq::text);
	EXECUTE format($f$
CREATE OR REPLACE FUNCTION %s() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
	-- AFTER, so only updates that happened retract their old version
	INSERT INTO %s (log_seq, old_seq, old) VALUES (NEW.segroll_seq, OLD.segroll_seq, OLD);
	RETURN NULL;
END
$body$$f$, f_update_log, r.change_log);
	EXECUTE format($f$
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
$body$$f$, f_delete, src, r.change_log, r.seq::text);
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
