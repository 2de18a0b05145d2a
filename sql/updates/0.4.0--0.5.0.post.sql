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
