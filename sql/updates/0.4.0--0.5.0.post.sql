/*
 * segroll 0.4.0 -> 0.5.0, after the routines: what needs the routines'
 * data (the rows of segroll.grain) and the lineage tables.
 */
ALTER TABLE @extschema@.segmentation ADD FOREIGN KEY (grain) REFERENCES @extschema@.grain (name);

-- Lineage blocks (issue 13): every segmentation gets its lineage table,
-- empty (all cells keep their lineage inline until a roll-up finds one
-- grown past segroll.inline_lineage_limit), and the roll-up SQL that uses it.
DO $$
DECLARE
	def @extschema@.segmentation;
BEGIN
	FOR def IN SELECT * FROM @extschema@.segmentation LOOP
		IF @extschema@._lineage_blocks(def) IS NULL THEN
			-- the cells' companion, not a member of the extension
			EXECUTE pg_catalog.format('ALTER EXTENSION segroll DROP TABLE %s', @extschema@._create_lineage_blocks(def));
		END IF;
		IF @extschema@._segments_view(def) IS NULL THEN
			EXECUTE pg_catalog.format('ALTER EXTENSION segroll DROP VIEW %s', @extschema@._create_segments_view(def));
		END IF;
		UPDATE @extschema@.segmentation s
		SET apply_sql = @extschema@._generate_apply(def, @extschema@._adjustments(def))
		WHERE s.name = def.name;
		-- no planner statistics on segments, as new cells tables have
		EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN seg SET STATISTICS 0', def.cells);
	END LOOP;
END
$$;

-- Capture without an identity column (issue 14): each source's segroll_seq
-- becomes a plain column numbered by the capture_number trigger from a
-- sequence of its own that continues where the identity stopped; the change
-- log keeps old versions as jsonb; unmapped views read only the columns
-- their segmentation uses (so unused columns can be dropped and retyped).
DO $$
DECLARE
	src @extschema@.source;
	def @extschema@.segmentation;
	sch pg_catalog.text;
	last_number pg_catalog.int8;
	new_seq pg_catalog.regclass;
BEGIN
	FOR src IN SELECT * FROM @extschema@.source LOOP
		EXECUTE pg_catalog.format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', src.relid);
		EXECUTE pg_catalog.format('SELECT CASE WHEN is_called THEN last_value ELSE 1 END FROM %s', src.seq) INTO last_number;
		SELECT pg_catalog.quote_ident(n.nspname) INTO sch FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
		WHERE c.oid OPERATOR(pg_catalog.=) src.relid;
		EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN segroll_seq DROP IDENTITY', src.relid);
		EXECUTE pg_catalog.format('CREATE SEQUENCE %s.%I AS pg_catalog.int8 CACHE 1', sch,
		                          'segroll_seq_' OPERATOR(pg_catalog.||) src.relid::pg_catalog.oid);
		new_seq := pg_catalog.format('%s.%I', sch,
		                             'segroll_seq_' OPERATOR(pg_catalog.||) src.relid::pg_catalog.oid)::pg_catalog.regclass;
		PERFORM pg_catalog.setval(new_seq, GREATEST(last_number, 1), true);
		EXECUTE pg_catalog.format('ALTER SEQUENCE %s OWNER TO %I', new_seq,
		                          (SELECT pg_catalog.pg_get_userbyid(c.relowner) FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) src.relid));
		EXECUTE pg_catalog.format('ALTER SEQUENCE %s OWNED BY %s.segroll_seq', new_seq, src.relid);
		EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN segroll_seq SET DEFAULT 0', src.relid);
		EXECUTE pg_catalog.format('ALTER TABLE %s ALTER COLUMN old TYPE pg_catalog.jsonb USING pg_catalog.to_jsonb(old)', src.change_log);
		UPDATE @extschema@.source s SET seq = new_seq WHERE s.relid OPERATOR(pg_catalog.=) src.relid;
		-- objects created by an update script would become members of the
		-- extension: the source's capture is its own, as create_segmentation
		-- makes it
		EXECUTE pg_catalog.format('ALTER EXTENSION segroll DROP SEQUENCE %s', new_seq);
		PERFORM @extschema@._remove_capture(src.relid);
		PERFORM @extschema@._install_capture(src.relid);
		EXECUTE pg_catalog.format('ALTER EXTENSION segroll DROP FUNCTION %s()', @extschema@._capture_function(src.relid, 'update_log'));
		EXECUTE pg_catalog.format('ALTER EXTENSION segroll DROP FUNCTION %s()', @extschema@._capture_function(src.relid, 'delete'));
	END LOOP;
	FOR def IN SELECT * FROM @extschema@.segmentation LOOP
		def.unmapped_view := @extschema@._create_unmapped_view(def, true);
		EXECUTE pg_catalog.format('ALTER EXTENSION segroll DROP VIEW %s', def.unmapped_view);
		UPDATE @extschema@.segmentation s
		SET apply_sql = @extschema@._generate_apply(def, @extschema@._adjustments(def)), unmapped_view = def.unmapped_view
		WHERE s.name OPERATOR(pg_catalog.=) def.name;
	END LOOP;
END
$$;

-- Live figures (issue 16): every segmentation gets its <name>_live view,
-- after the change log's old versions became jsonb (the view reads them).
DO $$
DECLARE
	def @extschema@.segmentation;
BEGIN
	FOR def IN SELECT * FROM @extschema@.segmentation LOOP
		IF @extschema@._live_view(def) IS NULL THEN
			-- the cells' companion, not a member of the extension
			EXECUTE pg_catalog.format('ALTER EXTENSION segroll DROP VIEW %s', @extschema@._create_live_view(def));
		END IF;
	END LOOP;
END
$$;

-- Views that called merge() (saved and dropped by the changes file, as its
-- state type changed): created again as they were, in dependency order,
-- and left out of the extension, as they were.
DO $$
DECLARE
	v pg_catalog.jsonb;
	g pg_catalog.jsonb;
BEGIN
	FOR v IN SELECT e FROM pg_catalog.jsonb_array_elements(
	             pg_catalog.current_setting('segroll_update.merge_views')::pg_catalog.jsonb) WITH ORDINALITY AS x(e, i)
	         ORDER BY x.i LOOP
		EXECUTE pg_catalog.format('CREATE VIEW %s%s AS %s', v OPERATOR(pg_catalog.->>) 'name',
		        CASE WHEN v OPERATOR(pg_catalog.->>) 'options' OPERATOR(pg_catalog.<>) ''
		             THEN pg_catalog.format(' WITH (%s)', v OPERATOR(pg_catalog.->>) 'options') ELSE '' END,
		        v OPERATOR(pg_catalog.->>) 'definition');
		EXECUTE pg_catalog.format('ALTER EXTENSION segroll DROP VIEW %s', v OPERATOR(pg_catalog.->>) 'name');
		EXECUTE pg_catalog.format('ALTER VIEW %s OWNER TO %I', v OPERATOR(pg_catalog.->>) 'name', v OPERATOR(pg_catalog.->>) 'owner');
		FOR g IN SELECT e FROM pg_catalog.jsonb_array_elements(v OPERATOR(pg_catalog.->) 'grants') e LOOP
			EXECUTE pg_catalog.format('GRANT %s ON %s TO %s%s', g OPERATOR(pg_catalog.->>) 0, v OPERATOR(pg_catalog.->>) 'name',
			        g OPERATOR(pg_catalog.->>) 1,
			        CASE WHEN (g OPERATOR(pg_catalog.->>) 2)::pg_catalog.bool THEN ' WITH GRANT OPTION' ELSE '' END);
		END LOOP;
		IF v OPERATOR(pg_catalog.->>) 'comment' IS NOT NULL THEN
			EXECUTE pg_catalog.format('COMMENT ON VIEW %s IS %L', v OPERATOR(pg_catalog.->>) 'name', v OPERATOR(pg_catalog.->>) 'comment');
		END IF;
	END LOOP;
END
$$;
