-- Reference data changes: an item moves to another brand.  as-was cells keep
-- the mapping of their roll-up until resegment() re-maps a range; as-is
-- cells follow the reference data at the next roll-up.  Either way only the
-- cells whose members changed are rewritten, and afterwards the cells equal
-- a from-scratch GROUP BY under the current reference data.
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'UTC';
CREATE SCHEMA rs;
CREATE TABLE rs.item (item_id int PRIMARY KEY, brand text);
INSERT INTO rs.item SELECT g, 'b' || (g % 4) FROM generate_series(1, 20) g;
CREATE TABLE rs.sales (id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, item_id int, amount numeric(12,2));
INSERT INTO rs.sales SELECT g, '2026-11-01'::timestamptz + g * interval '30 minutes', g % 20 + 1, g FROM generate_series(1, 960) g;
SELECT segroll.create_segmentation('rs_was', 'rs.sales', 'id', 'sold_at', 'day', 'UTC', '{brand=rs.item.brand ON item_id}', '{amount}');
SELECT segroll.create_segmentation('rs_is', 'rs.sales', 'id', 'sold_at', 'day', 'UTC', '{brand=rs.item.brand ON item_id}', '{amount}');
SELECT segroll.alter_segmentation('rs_is', mapping => 'as-is');
SELECT name, mapping, schedule FROM segroll.segmentation WHERE name LIKE 'rs\_%' ORDER BY name;
CREATE FUNCTION rs.oracle(cells regclass) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE n bigint;
BEGIN
	EXECUTE format($q$
	WITH fresh AS (SELECT i.brand, date_trunc('day', s.sold_at, 'UTC') AS period,
	                      segroll.segment_agg(s.id, s.sold_at, s.amount) AS seg
	               FROM rs.sales s LEFT JOIN rs.item i USING (item_id) GROUP BY 1, 2)
	SELECT count(*) FROM ((SELECT brand, period, seg FROM %1$s EXCEPT ALL SELECT * FROM fresh)
	                      UNION ALL (SELECT * FROM fresh EXCEPT ALL SELECT brand, period, seg FROM %1$s)) d$q$, cells)
	INTO n;
	RETURN n;
END
$$;
SELECT segroll.rollup('rs_is');
SELECT rs.oracle('segroll_data.rs_was') AS was, rs.oracle('segroll_data.rs_is') AS is_;

-- item 5 moves from b1 to b3; item 6 loses its brand (unmapped)
UPDATE rs.item SET brand = 'b3' WHERE item_id = 5;
DELETE FROM rs.item WHERE item_id = 6;
CREATE TABLE rs.before AS SELECT brand, period, seg FROM segroll_data.rs_was;
-- as-was keeps its mapping: the cells are as rolled up, verify sees the move
SELECT rs.oracle('segroll_data.rs_was') > 0 AS was_differs_from_current_mapping;
SELECT problem, count(*) FROM segroll.verify('rs_was', '2026-11-01', '2026-11-02') GROUP BY 1 ORDER BY 1;
-- as-is follows at its next roll-up, touching only the moved members' cells
SELECT segroll.rollup('rs_is');
SELECT rs.oracle('segroll_data.rs_is') AS is_after_rollup;
SELECT action, rows, jsonb_array_length(detail->'cells') AS cells, detail->'only' AS only_values FROM segroll.history
WHERE segmentation = 'rs_is' AND action LIKE 'resegment%' ORDER BY id;
-- only the cells of the brands that gained or lost members were rebuilt: b0's are untouched
SELECT count(*) AS b0_cells_rewritten FROM jsonb_array_elements(
	(SELECT detail->'cells' FROM segroll.history WHERE segmentation = 'rs_is' AND action = 'resegment (as-is)'
	 ORDER BY id DESC LIMIT 1)) c WHERE c->'dimensions'->>'brand' = 'b0';
SELECT count(*) AS snapshot_rows FROM segroll.reference_snapshot WHERE name = 'rs_is';
-- resegment re-maps a range of the as-was segmentation: one day first
SELECT dimensions, period, action, count_before, count_after
FROM segroll.resegment('rs_was', '2026-11-01', '2026-11-02') ORDER BY 2, 1::text;
SELECT count(*) AS untouched_other_days FROM (
	SELECT * FROM rs.before WHERE period >= '2026-11-02' EXCEPT ALL SELECT * FROM segroll_data.rs_was) d;
SELECT count(*) FROM segroll.verify('rs_was', '2026-11-01', '2026-11-02', 'full');
SELECT count(*) > 0 AS cells_rewritten FROM segroll.resegment('rs_was', '-infinity', 'infinity');
SELECT rs.oracle('segroll_data.rs_was') AS was_after_resegment;
-- nothing left to re-map
SELECT count(*) FROM segroll.resegment('rs_was', '-infinity', 'infinity');
-- the roll-up goes on from the re-mapped cells; an as-was correction of a
-- moved row now retracts from the right cell
UPDATE rs.sales SET amount = amount + 1 WHERE item_id IN (5, 6);
INSERT INTO rs.sales SELECT g, '2026-11-03'::timestamptz + g * interval '1 minute', 5, 1 FROM generate_series(2001, 2010) g;
SELECT segroll.rollup('rs_was') > 0, segroll.rollup('rs_is') > 0;
SELECT rs.oracle('segroll_data.rs_was') AS was, rs.oracle('segroll_data.rs_is') AS is_;
-- as-is again: move back
UPDATE rs.item SET brand = 'b1' WHERE item_id = 5;
INSERT INTO rs.item VALUES (6, 'b2');
SELECT segroll.rollup('rs_is');
SELECT rs.oracle('segroll_data.rs_is') AS is_after_move_back;
-- an idle as-is round reads the reference rows but writes nothing
BEGIN;
SELECT segroll.rollup('rs_is') AS applied;
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_transaction_id;
COMMIT;
-- bad input
SELECT segroll.alter_segmentation('rs_is', mapping => 'as-if');
SELECT segroll.alter_segmentation('rs_is', schedule => 'hourly');
SELECT * FROM segroll.resegment('rs_was', '2026-11-02', '2026-11-01');
SELECT * FROM segroll.resegment('no_such', '2026-11-01', '2026-11-02');
SELECT action, detail FROM segroll.history WHERE segmentation = 'rs_is' AND action = 'alter segmentation' ORDER BY id;
SELECT segroll.drop_segmentation('rs_was');
SELECT segroll.drop_segmentation('rs_is');
