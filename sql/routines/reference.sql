/*
 * When an item moves to another brand, a segmentation either keeps its
 * cells as they were mapped when rolled up (as-was, the default) or follows
 * the reference data as it is now (as-is): its roll-up notices that the
 * reference rows changed (by a fingerprint of the rows it looks up) and
 * re-maps the open cells first.  resegment(name, from, to) re-maps a range
 * of any segmentation on demand.  Both rewrite only the cells whose members
 * changed.
 */

/* A digest of the reference rows a segmentation looks up; null without any. */
CREATE OR REPLACE FUNCTION @extschema@._reference_fingerprint(def @extschema@.segmentation)
RETURNS pg_catalog.text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	d jsonb;
	part text;
	fp text;
BEGIN
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) WHERE NOT value ? 'column' LOOP
		EXECUTE format('SELECT pg_catalog.md5(pg_catalog.string_agg(r.%1$I::pg_catalog.text OPERATOR(pg_catalog.||) %3$L
		                    OPERATOR(pg_catalog.||) coalesce(r.%2$I::pg_catalog.text, %4$L), %5$L ORDER BY r.%1$I))
		                FROM %6$s r',
		               d->>'key', d->>'value', '=', '<null>', ',', (d->>'table')::regclass)
		INTO part;
		fp := coalesce(fp, '') || coalesce(part, 'empty') || ';';
	END LOOP;
	RETURN fp;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@._snapshot_reference(def @extschema@.segmentation)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	d jsonb;
	i int := 0;
BEGIN
	DELETE FROM segroll.reference_snapshot r WHERE r.name = def.name;
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
		i := i + 1;
		CONTINUE WHEN d ? 'column';
		EXECUTE format('INSERT INTO segroll.reference_snapshot (name, dim, key, value)
		                SELECT $1, $2, r.%I::pg_catalog.text, r.%I::pg_catalog.text FROM %s r',
		               d->>'key', d->>'value', (d->>'table')::regclass)
			USING def.name, i;
	END LOOP;
END
$$;

/*
 * {"dim": [old and new values of the keys whose value changed]} since the
 * snapshot; null when there is no snapshot (everything may have moved).
 */
CREATE OR REPLACE FUNCTION @extschema@._moved_values(def @extschema@.segmentation)
RETURNS pg_catalog.jsonb LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	d jsonb;
	i int := 0;
	moved jsonb := '{}'::jsonb;
	vals jsonb;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM segroll.reference_snapshot r WHERE r.name = def.name) THEN
		RETURN NULL;
	END IF;
	FOR d IN SELECT * FROM jsonb_array_elements(def.dimensions) LOOP
		i := i + 1;
		CONTINUE WHEN d ? 'column';
		EXECUTE format($q$
			SELECT pg_catalog.jsonb_agg(DISTINCT v.value)
			FROM (SELECT r.key, r.value FROM segroll.reference_snapshot r
			      WHERE r.name OPERATOR(pg_catalog.=) $1 AND r.dim OPERATOR(pg_catalog.=) $2) o
			FULL JOIN (SELECT n.%1$I::pg_catalog.text AS key, n.%2$I::pg_catalog.text AS value FROM %3$s n) n
			  ON n.key OPERATOR(pg_catalog.=) o.key
			CROSS JOIN LATERAL (VALUES (pg_catalog.to_jsonb(o.value)), (pg_catalog.to_jsonb(n.value))) v(value)
			WHERE o.key IS NULL OR n.key IS NULL OR o.value IS DISTINCT FROM n.value$q$,
			d->>'key', d->>'value', (d->>'table')::regclass)
			INTO vals USING def.name, i;
		IF vals IS NOT NULL THEN
			-- a key that vanished or appeared moves rows to or from the unmapped member
			vals := (SELECT jsonb_agg(DISTINCT coalesce(x, 'null'::jsonb)) FROM jsonb_array_elements(vals) x);
			moved := moved || jsonb_build_object(d->>'name', vals);
		END IF;
	END LOOP;
	RETURN moved;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@._resegment(name pg_catalog.text, period_from pg_catalog.timestamptz,
	period_to pg_catalog.timestamptz)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, action pg_catalog.text,
	count_before pg_catalog.int8, count_after pg_catalog.int8)
LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
	SELECT * FROM segroll._rebuild_cells(name, period_from, period_to, 'resegment')
$$;
COMMENT ON FUNCTION @extschema@._resegment(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
	'the re-mapping itself; called by segroll.resegment() as the segmentation''s owner';

CREATE OR REPLACE FUNCTION @extschema@.resegment(name pg_catalog.text, period_from pg_catalog.timestamptz,
	period_to pg_catalog.timestamptz)
RETURNS TABLE (dimensions pg_catalog.jsonb, period pg_catalog.timestamptz, action pg_catalog.text,
	count_before pg_catalog.int8, count_after pg_catalog.int8)
AS 'MODULE_PATHNAME', 'segroll_resegment'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.resegment(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz) IS
	're-maps the open cells of [period_from, period_to) under the current reference data, rewriting only those whose members changed';
