-- A window of inserts (issue 13, the worker): while no cell is in lineage
-- blocks and the window retracts nothing, a roll-up runs one INSERT ... ON
-- CONFLICT DO UPDATE (upsert_sql.sql) instead of the general window
-- statement.  Which statement ran shows in the roll-up's DEBUG line
-- ("inserts only, upserted").  After each window the cells must be, segment
-- for segment, those of a twin rebuilt from scratch (the build path, which
-- test/sql/build.sql holds to the general statement), and verify() must
-- find nothing.  Windows that must not be upserted: one retracting an
-- applied row, one taking a cell past segroll.inline_lineage_limit (it
-- moves to blocks; the upsert is undone), and every window after a cell
-- went to blocks.  A closed period's inserts go to the adjustments.
SET client_min_messages = warning;
SET segroll.inline_lineage_limit = 30;
SET segroll.lineage_block_keys = 4;
CREATE SCHEMA uw;
CREATE TABLE uw.item (item int PRIMARY KEY, brand text NOT NULL);
INSERT INTO uw.item SELECT i, 'brand ' || (i % 3) FROM generate_series(1, 8) i;	-- items 9, 10: unmapped
CREATE TABLE uw.sale (id bigint PRIMARY KEY, at timestamptz NOT NULL, org int, item int,
                      amount numeric(10,2), qty int);
INSERT INTO uw.sale
SELECT g, timestamptz '2026-11-01 00:00+09' + (g % 47) * interval '1 hour', 1 + g % 5, 1 + g % 10, (g % 100) / 10.0, 1 + g % 4
FROM generate_series(1, 200) g;
DO $$
DECLARE
	lin boolean;
BEGIN
	FOREACH lin IN ARRAY ARRAY[true, false] LOOP
		PERFORM segroll.create_segmentation(x, 'uw.sale', 'id', 'at', 'day', 'Asia/Seoul',
		                                    '{org, brand=uw.item.brand ON item}', '{amount, qty}', lin,
		                                    'manual', true)
		FROM unnest(CASE WHEN lin THEN ARRAY['uw_lin', 'uw_lin_r'] ELSE ARRAY['uw_nolin', 'uw_nolin_r'] END) x;
	END LOOP;
END
$$;

-- cells of a that its rebuilt twin b does not have, and the other way round
CREATE FUNCTION uw.differ(a text, b text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	PERFORM segroll.rebuild(b);
	EXECUTE format($q$
		SELECT count(*) FROM ((SELECT org, brand, period, seg FROM segroll_data.%1$I
		                       EXCEPT ALL SELECT org, brand, period, seg FROM segroll_data.%2$I)
		                      UNION ALL
		                      (SELECT org, brand, period, seg FROM segroll_data.%2$I
		                       EXCEPT ALL SELECT org, brand, period, seg FROM segroll_data.%1$I)) d$q$, a, b) INTO n;
	RETURN n;
END $$;
-- the roll-up of both segmentations, with the DEBUG line of the first
CREATE FUNCTION uw.roll() RETURNS TABLE (lin_applied bigint, nolin_applied bigint) LANGUAGE plpgsql AS $$
BEGIN
	SET LOCAL client_min_messages = debug1;
	lin_applied := segroll.rollup('uw_lin');
	SET LOCAL client_min_messages = warning;
	nolin_applied := segroll.rollup('uw_nolin');
	RETURN NEXT;
END $$;
CREATE FUNCTION uw.check() RETURNS TABLE (lin_differ bigint, nolin_differ bigint, lin_discrepancies bigint, nolin_discrepancies bigint)
LANGUAGE sql AS $$
	SELECT uw.differ('uw_lin', 'uw_lin_r'), uw.differ('uw_nolin', 'uw_nolin_r'),
	       (SELECT count(*) FROM segroll.verify('uw_lin', '2026-10-01', '2027-01-01', 'full')),
	       (SELECT count(*) FROM segroll.verify('uw_nolin', '2026-10-01', '2027-01-01', 'full'))
$$;
SELECT * FROM uw.check();

-- inserts into existing cells, new cells, unmapped items (a null brand),
-- and a row inserted and updated within the window (no retraction)
INSERT INTO uw.sale
SELECT 1000 + g, timestamptz '2026-11-01 00:00+09' + (g % 71) * interval '1 hour', 1 + g % 7, 1 + g % 10, g / 7.0, 1 + g % 3
FROM generate_series(1, 60) g;
UPDATE uw.sale SET amount = 99 WHERE id = 1001;
SELECT * FROM uw.roll();
SELECT * FROM uw.check();

-- a row updated after the window's end: the window takes its old version
-- from the log, still no retraction
INSERT INTO uw.sale VALUES (2001, '2026-11-02 03:00+09', 2, 3, 1.5, 1), (2002, '2026-11-03 03:00+09', NULL, 9, 2.5, 2);
SELECT segroll.pending_upper('uw_lin') AS cap \gset
UPDATE uw.sale SET qty = 7 WHERE id = 2001;
SET client_min_messages = debug1;
SELECT segroll.rollup('uw_lin', :cap - (SELECT applied_upto FROM segroll.progress WHERE name = 'uw_lin')) AS applied;
SET client_min_messages = warning;
SELECT segroll.rollup('uw_nolin', :cap - (SELECT applied_upto FROM segroll.progress WHERE name = 'uw_nolin')) AS applied;
-- (the twins are rebuilt as of the source now: roll up the rest first)
SELECT * FROM uw.roll();
SELECT * FROM uw.check();

-- a retraction: the general statement
UPDATE uw.sale SET amount = amount + 1 WHERE id IN (5, 1002);
INSERT INTO uw.sale VALUES (2003, '2026-11-01 05:00+09', 1, 1, 3, 1);
SELECT * FROM uw.roll();
SELECT * FROM uw.check();

-- a closed period: its inserts go to the adjustments, as the general
-- statement puts them
SELECT segroll.close_period(x, '2026-11-02 00:00+09') IS NOT NULL AS closed FROM unnest(ARRAY['uw_lin', 'uw_nolin']) x;
INSERT INTO uw.sale VALUES (2004, '2026-11-01 06:00+09', 1, 1, 4, 1), (2005, '2026-11-03 06:00+09', 1, 1, 5, 1);
SELECT * FROM uw.roll();
SELECT name, count(*) AS adjustments, sum(segroll.count(added)) AS added, count(removed) AS removed
FROM (SELECT 'uw_lin' AS name, added, removed FROM segroll_data.uw_lin_adjustments
      UNION ALL SELECT 'uw_nolin', added, removed FROM segroll_data.uw_nolin_adjustments) a GROUP BY 1 ORDER BY 1;
SELECT count(*) AS discrepancies FROM segroll.verify('uw_lin', '2026-10-01', '2027-01-01', 'full');
SELECT segroll.reopen_period(x, '-infinity') IS NOT NULL AS reopened FROM unnest(ARRAY['uw_lin', 'uw_nolin']) x;

-- a cell past the limit: the upsert is undone, the general statement moves
-- the cell to blocks; after that every window takes the general statement
INSERT INTO uw.sale
SELECT 3000 + g, timestamptz '2026-11-04 00:00+09' + g * interval '1 minute', 4, 2, g, 1 FROM generate_series(1, 40) g;
SELECT * FROM uw.roll();
SELECT count(*) FILTER (WHERE NOT segroll.has_lineage(seg)) AS in_blocks FROM segroll_data.uw_lin;
INSERT INTO uw.sale VALUES (3100, '2026-11-04 12:00+09', 4, 2, 1, 1), (3101, '2026-11-05 12:00+09', 4, 2, 1, 1);
SELECT * FROM uw.roll();
SELECT count(*) AS discrepancies FROM segroll.verify('uw_lin', '2026-10-01', '2027-01-01', 'full');
SELECT uw.differ('uw_nolin', 'uw_nolin_r') AS nolin_differ;

SELECT segroll.drop_segmentation(x) FROM unnest(ARRAY['uw_lin', 'uw_lin_r', 'uw_nolin', 'uw_nolin_r']) x;
DROP SCHEMA uw CASCADE;
RESET segroll.inline_lineage_limit;
RESET segroll.lineage_block_keys;
RESET client_min_messages;
