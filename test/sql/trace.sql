-- Trace and reconcile: trace, locate, verify, repair, purge_source.
-- Every discrepancy verify reports is one we made on purpose; after repair
-- the cells equal a from-scratch GROUP BY again.
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'UTC';
CREATE SCHEMA tr;
CREATE TABLE tr.item (item_id int PRIMARY KEY, brand text);
INSERT INTO tr.item SELECT g, 'b' || (g % 3) FROM generate_series(1, 10) g;
CREATE TABLE tr.sales (
	id      bigint PRIMARY KEY,
	sold_at timestamptz NOT NULL,
	org     int,
	item_id int,
	amount  numeric(12,2)
);
-- 2000 rows over 10 days; items 0 and 11 have no reference row (unmapped)
INSERT INTO tr.sales
SELECT g, '2026-11-01'::timestamptz + g * interval '7 minutes', g % 4, g % 12, (g % 97) * 1.25
FROM generate_series(1, 2000) g;
SELECT segroll.create_segmentation('tr_daily', 'tr.sales', 'id', 'sold_at', 'day', 'UTC',
	'{org, brand=tr.item.brand ON item_id}', '{amount}');

-- the oracle: cells minus a from-scratch GROUP BY, both ways
CREATE VIEW tr.oracle AS
WITH fresh AS (
	SELECT s.org, i.brand, date_trunc('day', s.sold_at, 'UTC') AS period,
	       segroll.segment_agg(s.id, s.sold_at, s.amount) AS seg
	FROM tr.sales s LEFT JOIN tr.item i USING (item_id) GROUP BY 1, 2, 3)
SELECT count(*) AS differences FROM (
	(SELECT org, brand, period, seg FROM segroll_data.tr_daily EXCEPT ALL SELECT * FROM fresh)
	UNION ALL
	(SELECT * FROM fresh EXCEPT ALL SELECT org, brand, period, seg FROM segroll_data.tr_daily)) d;
SELECT * FROM tr.oracle;

-- clean cells verify clean, in both modes
SELECT count(*) FROM segroll.verify('tr_daily', '2026-11-01', '2026-12-01');
SELECT count(*) FROM segroll.verify('tr_daily', '2026-11-01', '2026-12-01', 'full');

-- ---------------------------------------------------------------- trace
-- a cell, named by dimensions and period: the same rows as a plain SELECT
SELECT key, origin, source_row FROM segroll.trace('tr_daily', '{"org": 1, "brand": "b0"}', '2026-11-02') LIMIT 3;
SELECT (SELECT array_agg(key ORDER BY key) FROM segroll.trace('tr_daily', '{"org": 1, "brand": "b0"}', '2026-11-02'))
     = (SELECT array_agg(s.id ORDER BY s.id) FROM tr.sales s JOIN tr.item i USING (item_id)
        WHERE s.org = 1 AND i.brand = 'b0' AND s.sold_at >= '2026-11-02' AND s.sold_at < '2026-11-03') AS same_keys;
SELECT bool_and(source_row::jsonb = to_jsonb(s) - 'segroll_seq') AS same_rows, count(*)
FROM segroll.trace('tr_daily', '{"org": 1, "brand": "b0"}', '2026-11-02') t JOIN tr.sales s ON s.id = t.key;
-- the unmapped member is a cell like any other
SELECT count(*) FROM segroll.trace('tr_daily', '{"org": 0, "brand": null}', '2026-11-01');
-- a merged segment (every brand of org 2 over the month) traces too, in key order
SELECT count(*), min(key), max(key), bool_and(origin = 'source'),
       count(*) = (SELECT count(*) FROM tr.sales WHERE org = 2) AS all_rows
FROM segroll.trace('tr_daily', (SELECT segroll.merge(seg) FROM segroll_data.tr_daily WHERE org = 2));
SELECT array_agg(key) = array_agg(key ORDER BY key) AS ordered
FROM segroll.trace('tr_daily', (SELECT segroll.merge(seg) FROM segroll_data.tr_daily WHERE org = 2));
-- typed as the source table
SELECT * FROM segroll.trace_rows('tr_daily', segroll.cell('tr_daily', '{"org": 1, "brand": "b0"}', '2026-11-02'), NULL::tr.sales) LIMIT 3;
-- every trace is recorded
SELECT segmentation, cell, keys, rows_returned FROM segroll.trace_log ORDER BY at, keys LIMIT 2;
SELECT count(*) FROM segroll.trace_log;
-- bad input
SELECT * FROM segroll.trace('tr_daily', '{"org": 1}', '2026-11-02');
SELECT * FROM segroll.trace('tr_daily', '{"org": 1, "brand": "b0", "channel": 3}', '2026-11-02');
SELECT * FROM segroll.trace('tr_daily', '[1, 2]', '2026-11-02');
SELECT * FROM segroll.trace('tr_daily', '{"org": 1, "brand": "b0"}', '2027-01-01');
SELECT * FROM segroll.trace('tr_daily', '{"org": "x", "brand": "b0"}', '2026-11-02');
SELECT * FROM segroll.trace('no_such', '{"org": 1}', '2026-11-02');
SELECT * FROM segroll.trace('tr_daily', NULL::segroll.segment);
SELECT * FROM segroll.trace('tr_daily', (SELECT segroll.segment_agg_nolineage(1, now())));
SELECT * FROM segroll.trace_rows('tr_daily', (SELECT segroll.segment_agg(1, now())), NULL::tr.item);
SELECT segroll.key_batches(segroll.segment_agg(g, now()), 0) FROM generate_series(1, 3) g;
SELECT segroll.key_batches(s, 2) FROM (SELECT segroll.segment_agg(g, now()) s FROM generate_series(1, 5) g) x;

-- ---------------------------------------------------------------- locate
SELECT * FROM segroll.locate('tr_daily', 9);     -- org 1, item 9 -> b0
SELECT * FROM segroll.locate('tr_daily', 12);    -- item 0: unmapped
SELECT * FROM segroll.locate('tr_daily', 99999); -- no such row
INSERT INTO tr.sales VALUES (5000, '2026-11-03 12:00', 1, 1, 10);
SELECT * FROM segroll.locate('tr_daily', 5000);  -- not rolled up yet
SELECT segroll.rollup('tr_daily');
SELECT * FROM segroll.locate('tr_daily', 5000);
SELECT * FROM segroll.locate('tr_daily', NULL);

-- ---------------------------------------------------------------- verify and repair
-- four kinds of damage, each behind the engine's back
ALTER TABLE tr.sales DISABLE TRIGGER USER;
UPDATE tr.sales SET amount = amount + 1 WHERE id = 100;      -- a measure changed
DELETE FROM tr.sales WHERE id = 200;                         -- a row deleted uncaptured
ALTER TABLE tr.sales ENABLE TRIGGER USER;
UPDATE segroll_data.tr_daily                                 -- a segment edited
SET seg = segroll.merge(seg, (SELECT segroll.segment_agg(999999, '2026-11-02', 1.00::numeric)))
WHERE org = 2 AND brand = 'b1' AND period = '2026-11-02';
DELETE FROM segroll_data.tr_daily WHERE org = 3 AND brand = 'b0' AND period = '2026-11-04';  -- a cell lost
INSERT INTO segroll_data.tr_daily                            -- a cell invented
SELECT 9, 'b9', '2026-11-05', segroll.segment_agg(888888, '2026-11-05', 5.00::numeric);
SELECT * FROM tr.oracle;
SELECT * FROM segroll.verify('tr_daily', '2026-11-01', '2026-12-01');
SELECT * FROM segroll.verify('tr_daily', '2026-11-01', '2026-12-01', 'full');
-- a range selects whole periods
SELECT count(*) FROM segroll.verify('tr_daily', '2026-11-03', '2026-11-04', 'full');
SELECT * FROM segroll.locate('tr_daily', 888888);
SELECT status FROM segroll.locate('tr_daily', 100);
-- repair touches exactly the reported cells, and says so
SELECT * FROM segroll.repair('tr_daily', '2026-11-01', '2026-12-01');
SELECT count(*) FROM segroll.verify('tr_daily', '2026-11-01', '2026-12-01', 'full');
SELECT * FROM tr.oracle;
SELECT action, rows, detail->'cells'->0 AS first_cell FROM segroll.history WHERE action = 'repair';
-- nothing left to repair
SELECT count(*) FROM segroll.repair('tr_daily', '2026-11-01', '2026-12-01');
-- the roll-up goes on exactly from the repaired cells
UPDATE tr.sales SET amount = amount * 2 WHERE id % 10 = 0;
DELETE FROM tr.sales WHERE id % 17 = 0;
INSERT INTO tr.sales SELECT g, '2026-11-06'::timestamptz + g * interval '1 minute', g % 4, g % 12, 1 FROM generate_series(6001, 6100) g;
SELECT segroll.rollup('tr_daily') > 0 AS applied;
SELECT * FROM tr.oracle;
SELECT count(*) FROM segroll.verify('tr_daily', '2026-11-01', '2026-12-01', 'full');
-- bad input
SELECT * FROM segroll.verify('tr_daily', '2026-11-01', '2026-12-01', 'quick');
SELECT * FROM segroll.verify('tr_daily', '2026-12-01', '2026-11-01');
SELECT * FROM segroll.verify('tr_daily', NULL, '2026-11-01');
SELECT * FROM segroll.verify(NULL, '2026-11-01', '2026-12-01');
SELECT * FROM segroll.verify('no_such', '2026-11-01', '2026-12-01');
SELECT * FROM segroll.repair('tr_daily', '2026-11-01', '2026-11-01');
SELECT * FROM segroll._verify('tr_daily', '2026-11-01', '2026-12-01', 'fast') WHERE false;

-- ---------------------------------------------------------------- purge
-- damaged cells keep their raw rows
ALTER TABLE tr.sales DISABLE TRIGGER USER;
DELETE FROM tr.sales WHERE id = 300;
ALTER TABLE tr.sales ENABLE TRIGGER USER;
SELECT * FROM segroll.purge_source('tr_daily', now() - '2026-11-05'::timestamptz);
SELECT count(*) FROM tr.sales WHERE sold_at < '2026-11-05';
SELECT count(*) FROM segroll.repair('tr_daily', '2026-11-01', '2026-11-05');
-- clean: rows of whole days before the horizon go; cells and lineage stay
SELECT source, purged_before > '2026-11-04' AND purged_before <= '2026-11-05' AS horizon_ok, rows_deleted > 0 AS deleted
FROM segroll.purge_source('tr_daily', now() - '2026-11-05'::timestamptz);
SELECT count(*) FROM tr.sales WHERE sold_at < (SELECT max(purged_before) FROM segroll.purge_log);
SELECT count(*) FROM segroll.verify('tr_daily', (SELECT max(purged_before) FROM segroll.purge_log), '2026-12-01', 'full');
-- trace of a purged cell still lists every key, marked purged
SELECT origin, count(*), bool_and(source_row IS NULL) FROM segroll.trace('tr_daily', '{"org": 1, "brand": "b0"}', '2026-11-02') GROUP BY 1;
-- a segment across the horizon: purged keys marked, the rest from the source
SELECT origin, count(*) FROM segroll.trace('tr_daily', (SELECT segroll.merge(seg) FROM segroll_data.tr_daily WHERE org = 2)) GROUP BY 1 ORDER BY 1;
SELECT sum(segroll.count(seg)) FROM segroll_data.tr_daily WHERE org = 2;
SELECT action, rows > 0 FROM segroll.history WHERE action = 'purge source';
-- the capture keeps working for rows after the horizon
DELETE FROM tr.sales WHERE id = 1999;
SELECT segroll.rollup('tr_daily');
SELECT * FROM segroll.locate('tr_daily', 1999);
SELECT count(*) FROM segroll.verify('tr_daily', (SELECT max(purged_before) FROM segroll.purge_log), '2026-12-01', 'full');
-- a role that may change rows but does not own the table: its changes are
-- captured (by the owner's capture functions), and it cannot skip the capture
CREATE ROLE tr_clerk;
GRANT segroll_auditor TO tr_clerk;   -- may trace and verify, not repair or purge
GRANT USAGE ON SCHEMA tr TO tr_clerk;
GRANT SELECT, UPDATE, DELETE ON tr.sales TO tr_clerk;
SET ROLE tr_clerk;
UPDATE tr.sales SET amount = amount + 100 WHERE id = 1997;
INSERT INTO segroll.purging VALUES ('tr.sales', pg_current_xact_id());
DELETE FROM tr.sales WHERE id = 1998;
RESET ROLE;
SELECT segroll.rollup('tr_daily');
SELECT count(*) FROM segroll.verify('tr_daily', (SELECT max(purged_before) FROM segroll.purge_log), '2026-12-01', 'full');
SELECT status FROM segroll.locate('tr_daily', 1998);
SELECT * FROM segroll.purge_source('tr_daily', '-1 day');
SELECT * FROM segroll.purge_source('tr_daily', NULL);
SET ROLE tr_clerk;
SELECT * FROM segroll.purge_source('tr_daily', '1 day');
SELECT * FROM segroll.repair('tr_daily', '2026-11-01', '2026-12-01');
RESET ROLE;

-- ---------------------------------------------------------------- audit setting
SET ROLE tr_clerk;
SET segroll.trace_audit = off;
RESET ROLE;
SET segroll.trace_audit = off;
SELECT count(*) AS before FROM segroll.trace_log \gset
SELECT count(*) FROM segroll.trace('tr_daily', '{"org": 1, "brand": "b0"}', '2026-11-06');
SELECT count(*) - :before AS new_entries FROM segroll.trace_log;
RESET segroll.trace_audit;

DROP VIEW tr.oracle;
SELECT segroll.drop_segmentation('tr_daily');
SELECT count(*) FROM pg_proc WHERE proname LIKE 'segroll_capture_%';
SELECT action FROM segroll.history WHERE segmentation = 'tr_daily' ORDER BY id;
DROP OWNED BY tr_clerk;
DROP ROLE tr_clerk;

-- a measure (and source) with a % in its name: verify, repair and trace
-- build their SQL with one format() each
CREATE TABLE tr."pct%src" (id bigint PRIMARY KEY, t timestamptz NOT NULL, org int, "q%ty" numeric);
INSERT INTO tr."pct%src" SELECT g, '2026-11-01 00:00+00'::timestamptz + g * interval '1 hour', g % 3, g % 7 FROM generate_series(1, 100) g;
SELECT segroll.create_segmentation('tr_pct', 'tr."pct%src"', 'id', 't', 'day', 'UTC', '{org}', '{q%ty}');
UPDATE tr."pct%src" SET "q%ty" = 100 WHERE id = 5;
SELECT segroll.rollup('tr_pct');
SELECT count(*) AS problems FROM segroll.verify('tr_pct', '2026-11-01', '2026-11-06', 'full');
SELECT count(*) AS problems_long_range FROM segroll.verify('tr_pct', '-infinity', 'infinity', 'full');
SELECT count(*) AS repaired FROM segroll.repair('tr_pct', '2026-11-01', '2026-11-06');
SELECT count(*) AS traced FROM segroll.trace('tr_pct', '{"org": 1}', '2026-11-02');
SELECT segroll.drop_segmentation('tr_pct');
