-- The build into empty cells (issue 13): a roll-up from change 0 into a
-- segmentation with no cell runs one GROUP BY (build_sql.sql) instead of
-- the window statement (apply_sql.sql).  Each segmentation here has a twin
-- built by the window statement (an adjustment row, removed afterwards,
-- keeps the twin off the build path); cells and lineage blocks must be the
-- same, segment for segment.  The source: partitioned, a text key (lineage
-- holds its hash), a lookup dimension with unmapped rows, cells above and
-- below segroll.inline_lineage_limit, updates and deletes before the build
-- and after the window's end.
SET client_min_messages = warning;
SET segroll.inline_lineage_limit = 30;
SET segroll.lineage_block_keys = 4;
CREATE SCHEMA bt;
CREATE TABLE bt.item (item int PRIMARY KEY, brand text NOT NULL);
INSERT INTO bt.item SELECT i, 'brand ' || (i % 3) FROM generate_series(1, 8) i;	-- items 9, 10: unmapped
CREATE TABLE bt.sale (id text NOT NULL, at timestamptz NOT NULL, org int, item int, amount numeric(10,2), qty int,
                      PRIMARY KEY (id)) PARTITION BY HASH (id);
CREATE TABLE bt.sale_1 PARTITION OF bt.sale FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE bt.sale_2 PARTITION OF bt.sale FOR VALUES WITH (MODULUS 2, REMAINDER 1);
-- rows there before the capture (number 1); org 1 day 1 is a large cell
INSERT INTO bt.sale
SELECT 'k' || g, timestamptz '2026-11-01 00:00+09' + (g % 97) * interval '1 hour' + g * interval '1 second',
       CASE WHEN g % 97 < 24 AND g % 2 = 0 THEN 1 ELSE 1 + g % 4 END, 1 + g % 10,
       (g % 1000) / 10.0, 1 + g % 5
FROM generate_series(1, 600) g;

DO $$
DECLARE
	lin boolean;
BEGIN
	FOREACH lin IN ARRAY ARRAY[true, false] LOOP
		PERFORM segroll.create_segmentation(x, 'bt.sale', 'id', 'at', 'day', 'Asia/Seoul',
		                                    '{org, brand=bt.item.brand ON item}', '{amount, qty}', lin,
		                                    'manual', false)
		FROM unnest(CASE WHEN lin THEN ARRAY['bt_lin', 'bt_lin_w'] ELSE ARRAY['bt_nolin', 'bt_nolin_w'] END) x;
	END LOOP;
END
$$;
-- numbered rows, updates (one moves a row to another cell)
-- and deletes
INSERT INTO bt.sale
SELECT 'n' || g, timestamptz '2026-11-02 00:00+09' + g * interval '7 minutes', 1 + g % 2, 1 + g % 10, g, 1
FROM generate_series(1, 300) g;
UPDATE bt.sale SET amount = amount + 1 WHERE id IN ('k10', 'k11', 'n5');
UPDATE bt.sale SET at = at + interval '2 days', org = 3 WHERE id IN ('k20', 'n6');
DELETE FROM bt.sale WHERE id IN ('k30', 'n7', 'n8');
-- the changes after the first window's end: its old versions come from the log
UPDATE bt.sale SET qty = qty + 10 WHERE id IN ('k40', 'n9', 'n200');
DELETE FROM bt.sale WHERE id IN ('k41', 'n10');
INSERT INTO bt.sale VALUES ('late', '2026-11-01 12:00+09', 1, 9, 5, 1);

-- the twins: one adjustment keeps them off the build path
CREATE FUNCTION bt.pin(seg text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('INSERT INTO segroll_data.%I (period, from_seq, to_seq) VALUES (%L, 0, 0)',
	               seg || '_adjustments', '1970-01-01 00:00+00');
END $$;
SELECT bt.pin('bt_lin_w'), bt.pin('bt_nolin_w');

-- cells and blocks of segmentation a that b does not have, and the other way round
CREATE FUNCTION bt.differ(a text, b text) RETURNS TABLE (what text, n bigint) LANGUAGE plpgsql AS $$
BEGIN
	FOR what, n IN EXECUTE format($q$
		SELECT 'cells', count(*) FROM ((SELECT org, brand, period, seg FROM segroll_data.%1$I
		                                EXCEPT ALL SELECT org, brand, period, seg FROM segroll_data.%2$I)
		                               UNION ALL
		                               (SELECT org, brand, period, seg FROM segroll_data.%2$I
		                                EXCEPT ALL SELECT org, brand, period, seg FROM segroll_data.%1$I)) d
		UNION ALL
		SELECT 'blocks', count(*) FROM ((SELECT org, brand, period, block, span, seg FROM segroll_data.%3$I
		                                 EXCEPT ALL SELECT org, brand, period, block, span, seg FROM segroll_data.%4$I)
		                                UNION ALL
		                                (SELECT org, brand, period, block, span, seg FROM segroll_data.%4$I
		                                 EXCEPT ALL SELECT org, brand, period, block, span, seg FROM segroll_data.%3$I)) d
		UNION ALL
		SELECT 'full segments', count(*) FROM (
		    SELECT org, brand, period, seg FROM segroll_data.%5$I
		    EXCEPT ALL SELECT org, brand, period, seg FROM segroll_data.%6$I) d$q$,
		a, b, a || '_lineage', b || '_lineage', a || '_segments', b || '_segments') LOOP
		RETURN NEXT;
	END LOOP;
END $$;
-- what the cells hold: cells inline and in blocks, blocks, unmapped cells, rows
CREATE FUNCTION bt.shape(a text) RETURNS TABLE (inline bigint, in_blocks bigint, blocks bigint, unmapped bigint, nrows numeric)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format($q$
		SELECT count(*) FILTER (WHERE segroll.has_lineage(seg)), count(*) FILTER (WHERE NOT segroll.has_lineage(seg)),
		       (SELECT count(*) FROM segroll_data.%2$I), count(*) FILTER (WHERE brand IS NULL), sum(segroll.count(seg))
		FROM segroll_data.%1$I$q$, a, a || '_lineage');
END $$;

-- the first window ends before the last changes: the build and the window
-- statement, from change 0, over the same numbers
SELECT segroll.pending_upper('bt_lin') - 9 AS cap \gset
-- which statement ran: the build inserts the cells past the limit whole
-- and then writes their heads, the window statement inserts the heads
BEGIN;
SELECT segroll.rollup('bt_lin', :cap) AS applied;
SELECT n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables WHERE relid = 'segroll_data.bt_lin'::regclass;
COMMIT;
BEGIN;
SELECT segroll.rollup('bt_lin_w', :cap) AS applied;
SELECT n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables WHERE relid = 'segroll_data.bt_lin_w'::regclass;
COMMIT;
SELECT segroll.rollup('bt_nolin', :cap) = segroll.rollup('bt_nolin_w', :cap) AS same_applied;
SELECT * FROM bt.shape('bt_lin');
SELECT * FROM bt.shape('bt_nolin');
SELECT * FROM bt.differ('bt_lin', 'bt_lin_w');
SELECT * FROM bt.differ('bt_nolin', 'bt_nolin_w');
-- the oracle: the cells are the source as of the window's end
SELECT count(*) AS discrepancies FROM segroll.verify('bt_lin', '2026-10-01', '2026-12-01', 'full');
SELECT count(*) AS discrepancies FROM segroll.verify('bt_nolin', '2026-10-01', '2026-12-01', 'full');

-- the rest, by the window statement for both, then rebuilt by the build
SELECT segroll.rollup('bt_lin') = segroll.rollup('bt_lin_w') AS same_applied;
SELECT segroll.rollup('bt_nolin') = segroll.rollup('bt_nolin_w') AS same_applied;
SELECT * FROM bt.differ('bt_lin', 'bt_lin_w');
-- (a cell's blocks keep the span chosen when it moved to blocks: the twins
-- are rebuilt too, by the window statement from change 0)
SELECT segroll.rebuild(x) > 0 AS rebuilt FROM unnest(ARRAY['bt_lin', 'bt_lin_w', 'bt_nolin', 'bt_nolin_w']) x;
SELECT * FROM bt.shape('bt_lin');
SELECT * FROM bt.differ('bt_lin', 'bt_lin_w');
SELECT * FROM bt.differ('bt_nolin', 'bt_nolin_w');
SELECT count(*) AS discrepancies FROM segroll.verify('bt_lin', '2026-10-01', '2026-12-01', 'full');
-- a built cell in blocks traces to its rows (keys: the text key's hash)
SELECT count(*) AS traced, count(*) FILTER (WHERE source_row->>'id' = 'n100') AS n100
FROM segroll.trace('bt_lin', '{"org": 1, "brand": "brand 1"}', '2026-11-02 00:00+09');
-- and applies later changes as any cells
INSERT INTO bt.sale VALUES ('after', '2026-11-02 12:00+09', 1, 4, 7, 1);
UPDATE bt.sale SET amount = 0 WHERE id = 'n100';
SELECT segroll.rollup('bt_lin') = segroll.rollup('bt_lin_w') AS same_applied;
SELECT * FROM bt.differ('bt_lin', 'bt_lin_w');

-- not a build: a closed period, a progress past change 0
SELECT segroll.close_period('bt_nolin', '2026-11-02 00:00+09') IS NOT NULL AS closed;
SELECT segroll.rebuild('bt_nolin') > 0 AS rebuilt;
SELECT count(*) > 0 AS adjusted FROM segroll_data.bt_nolin_adjustments;

SELECT segroll.drop_segmentation(x) FROM unnest(ARRAY['bt_lin', 'bt_lin_w', 'bt_nolin', 'bt_nolin_w']) x;
DROP SCHEMA bt CASCADE;
RESET segroll.inline_lineage_limit;
RESET segroll.lineage_block_keys;
RESET client_min_messages;
