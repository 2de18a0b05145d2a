-- Cells whose lineage is kept in blocks (lineage.sql): with a small
-- segroll.inline_lineage_limit, most cells here keep only their head in the
-- cells table and their lineage in <name>_lineage.  After every roll-up the
-- cells, read whole through <name>_segments, equal a from-scratch GROUP BY
-- (symmetric EXCEPT ALL, lineage and checksums included), and every head
-- equals its full segment without lineage.
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'Asia/Seoul';
SET segroll.inline_lineage_limit = 40;
SET segroll.lineage_block_keys = 8;
CREATE SCHEMA lb;
CREATE TABLE lb.item (item int PRIMARY KEY, brand text);
INSERT INTO lb.item SELECT g, 'b' || (g % 3) FROM generate_series(1, 20) g;
CREATE TABLE lb.sales (
	id      bigint PRIMARY KEY,
	at      timestamptz NOT NULL,
	org     int,
	item    int,
	amount  numeric(12,2),
	qty     int
);
-- keys with gaps, so that cells span several blocks of 1024 key values
INSERT INTO lb.sales
SELECT g * 7, '2026-11-01 00:00+09'::timestamptz + g * interval '3 minutes', g % 3,
       g % 23,	-- items 21, 22 and 0 have no reference row: unmapped (a NULL brand)
       (g % 997) / 10.0, 1 + g % 8
FROM generate_series(1, 3000) g;

SELECT segroll.create_segmentation(
	name       => 'lb_daily',
	source     => 'lb.sales',
	key        => 'id',
	time_col   => 'at',
	grain      => 'day',
	time_zone  => 'Asia/Seoul',
	dimensions => '{org, brand=lb.item.brand ON item}',
	measures   => '{amount, qty}');

CREATE FUNCTION lb.oracle() RETURNS TABLE (differences bigint, bad_heads bigint, cells_in_blocks bigint, blocks bigint)
LANGUAGE sql AS $$
	WITH fresh AS (
		SELECT s.org, i.brand, date_trunc('day', s.at, 'Asia/Seoul') AS period,
		       segroll.segment_agg(s.id, s.at, s.amount, s.qty) AS seg
		FROM lb.sales s LEFT JOIN lb.item i ON i.item = s.item
		GROUP BY 1, 2, 3)
	SELECT (SELECT count(*) FROM (
	            (SELECT * FROM fresh EXCEPT ALL SELECT org, brand, period, seg FROM segroll_data.lb_daily_segments)
	            UNION ALL
	            (SELECT org, brand, period, seg FROM segroll_data.lb_daily_segments EXCEPT ALL SELECT * FROM fresh)) d),
	       (SELECT count(*) FROM segroll_data.lb_daily c JOIN segroll_data.lb_daily_segments f
	          ON f.org IS NOT DISTINCT FROM c.org AND f.brand IS NOT DISTINCT FROM c.brand AND f.period = c.period
	        WHERE (segroll.has_lineage(c.seg) AND c.seg OPERATOR(segroll.<>) f.seg)
	           OR (NOT segroll.has_lineage(c.seg) AND c.seg OPERATOR(segroll.<>) segroll.without_lineage(f.seg))
	           OR NOT segroll.minmax_known(c.seg)),
	       (SELECT count(*) FROM segroll_data.lb_daily c WHERE NOT segroll.has_lineage(c.seg)),
	       (SELECT count(*) FROM segroll_data.lb_daily_lineage)
$$;

-- the build: cells past 40 rows are written straight into blocks
SELECT * FROM lb.oracle();
SELECT count(*) AS cells, max(segroll.count(seg)) AS largest FROM segroll_data.lb_daily;
-- a block holds the cell's rows with keys in [block, block + span), and a
-- cell's blocks share one span, chosen for about 8 keys a block here
SELECT count(*) AS keys_out_of_range
FROM segroll_data.lb_daily_lineage b, LATERAL segroll.keys(b.seg) k
WHERE k < b.block OR k >= b.block + b.span;
SELECT count(*) AS cells_with_two_spans FROM (
	SELECT org, brand, period FROM segroll_data.lb_daily_lineage GROUP BY 1, 2, 3 HAVING count(DISTINCT span) > 1) x;
SELECT min(span), max(span) FROM segroll_data.lb_daily_lineage;

-- new rows, late rows for earlier days, a new cell that starts small
INSERT INTO lb.sales
SELECT 21000 + g * 5, '2026-11-03 00:00+09'::timestamptz + g * interval '1 minute', g % 4, g % 23, g % 50, 1 + g % 8
FROM generate_series(1, 400) g;
SELECT segroll.rollup('lb_daily');
SELECT * FROM lb.oracle();

-- an inline cell that grows past the limit moves its lineage to blocks
SELECT segroll.count(seg) AS org3_rows, segroll.has_lineage(seg) AS inline
FROM segroll_data.lb_daily WHERE org = 3 AND brand = 'b1';
INSERT INTO lb.sales
SELECT 30000 + g, '2026-11-03 12:00+09'::timestamptz + g * interval '1 second', 3, 1, g, 1
FROM generate_series(1, 60) g;
SELECT segroll.rollup('lb_daily');
SELECT segroll.count(seg) AS org3_rows, segroll.has_lineage(seg) AS inline
FROM segroll_data.lb_daily WHERE org = 3 AND brand = 'b1';
SELECT * FROM lb.oracle();

-- corrections: amounts, quantities, rows moving between cells and days
UPDATE lb.sales SET amount = amount + 1 WHERE id % 17 = 0;
UPDATE lb.sales SET qty = 8 WHERE id % 23 = 0;
UPDATE lb.sales SET org = (org + 1) % 3 WHERE id % 31 = 0;
UPDATE lb.sales SET at = at - interval '1 day' WHERE id % 37 = 0;
DELETE FROM lb.sales WHERE id % 29 = 0;
SELECT segroll.rollup('lb_daily');
SELECT * FROM lb.oracle();

-- retractions of every cell's extremes: min and max stay exact
DELETE FROM lb.sales s USING (
	SELECT s.org, i.brand, date_trunc('day', s.at, 'Asia/Seoul') AS d, max(s.amount) AS hi, min(s.qty) AS lo
	FROM lb.sales s LEFT JOIN lb.item i ON i.item = s.item GROUP BY 1, 2, 3) x
WHERE s.org = x.org AND date_trunc('day', s.at, 'Asia/Seoul') = x.d
  AND (s.amount = x.hi OR s.qty = x.lo)
  AND (SELECT brand FROM lb.item WHERE item = s.item) IS NOT DISTINCT FROM x.brand;
SELECT segroll.rollup('lb_daily');
SELECT * FROM lb.oracle();

-- a cell in blocks emptied: head and blocks go
DELETE FROM lb.sales WHERE org = 0 AND at < '2026-11-02 00:00+09';
SELECT segroll.rollup('lb_daily');
SELECT * FROM lb.oracle();
SELECT count(*) AS day1_org0_blocks FROM segroll_data.lb_daily_lineage
WHERE org = 0 AND period = '2026-11-01 00:00+09';

-- readers see the full segment
SELECT segroll.has_lineage(segroll.cell('lb_daily', '{"org": 1, "brand": "b2"}', '2026-11-02')) AS cell_has_lineage,
       segroll.count(segroll.cell('lb_daily', '{"org": 1, "brand": "b2"}', '2026-11-02'))
       = (SELECT count(*) FROM lb.sales s JOIN lb.item i ON i.item = s.item
          WHERE s.org = 1 AND i.brand = 'b2' AND date_trunc('day', s.at, 'Asia/Seoul') = '2026-11-02') AS cell_count_right;
SELECT (SELECT array_agg(key ORDER BY key) FROM segroll.trace('lb_daily', '{"org": 1, "brand": "b2"}', '2026-11-02'))
     = (SELECT array_agg(s.id ORDER BY s.id) FROM lb.sales s JOIN lb.item i ON i.item = s.item
        WHERE s.org = 1 AND i.brand = 'b2' AND date_trunc('day', s.at, 'Asia/Seoul') = '2026-11-02') AS trace_right;
SELECT dimensions, period, status, detail FROM segroll.locate('lb_daily', (SELECT max(id) FROM lb.sales WHERE id < 20000 AND org = 1));
-- merge of whole cells, then trace: through the segments view
SELECT count(*) = (SELECT count(*) FROM lb.sales WHERE org = 2) AS merged_trace_right
FROM segroll.trace('lb_daily', (SELECT segroll.merge(seg) FROM segroll_data.lb_daily_segments WHERE org = 2));
-- a head has no lineage to trace
SELECT count(*) FROM segroll.trace('lb_daily',
	(SELECT seg FROM segroll_data.lb_daily WHERE NOT segroll.has_lineage(seg) ORDER BY period, org, brand LIMIT 1));

-- verify compares every key; a lost block is found and repaired
SELECT count(*) AS problems FROM segroll.verify('lb_daily', '-infinity', 'infinity', 'full');
SELECT count(*) AS problems FROM segroll.verify('lb_daily', '-infinity', 'infinity');
DELETE FROM segroll_data.lb_daily_lineage
WHERE (org, brand, period, block) = (SELECT org, brand, period, block FROM segroll_data.lb_daily_lineage
                                     WHERE org = 2 AND brand = 'b0' ORDER BY period, block LIMIT 1);
SELECT problem, count(*) FROM segroll.verify('lb_daily', '-infinity', 'infinity', 'full') GROUP BY 1 ORDER BY 1;
SELECT segroll.cell('lb_daily', '{"org": 2, "brand": "b0"}', '2026-11-01') IS NOT NULL;
SELECT action, count(*) FROM segroll.repair('lb_daily', '-infinity', 'infinity') GROUP BY 1;
SELECT count(*) AS problems FROM segroll.verify('lb_daily', '-infinity', 'infinity', 'full');
-- the repaired cell is inline; growing past the limit moves it to blocks again
SELECT segroll.count(seg) AS n, segroll.has_lineage(seg) AS inline FROM segroll_data.lb_daily
WHERE org = 2 AND brand = 'b0' AND period = '2026-11-01 00:00+09';
INSERT INTO lb.sales SELECT 40000 + g, '2026-11-01 20:00+09', 2, 3, g, 1 FROM generate_series(1, 10) g;
SELECT segroll.rollup('lb_daily');
SELECT segroll.count(seg) AS n, segroll.has_lineage(seg) AS inline FROM segroll_data.lb_daily
WHERE org = 2 AND brand = 'b0' AND period = '2026-11-01 00:00+09';
SELECT * FROM lb.oracle();

-- a closed period's cells stay; its late changes are adjustments
SELECT segroll.close_period('lb_daily', '2026-11-02');
UPDATE lb.sales SET amount = amount + 100 WHERE id IN (SELECT id FROM lb.sales WHERE at < '2026-11-02 00:00+09' ORDER BY id LIMIT 5);
SELECT segroll.rollup('lb_daily');
SELECT count(*) AS adjustments FROM segroll_data.lb_daily_adjustments;
SELECT count(*) AS problems FROM segroll.verify('lb_daily', '-infinity', 'infinity', 'full');
SELECT segroll.reopen_period('lb_daily', '2026-10-01');
SELECT * FROM lb.oracle();

-- rebuild writes the blocks again from the source
SELECT segroll.rebuild('lb_daily') > 0 AS rebuilt;
SELECT * FROM lb.oracle();

-- purged rows: a trace straddling the purge horizon finds them in the
-- lineage of cells in blocks too
SELECT rows_deleted > 0 AS purged FROM segroll.purge_source('lb_daily', now() - '2026-11-03 00:00+09'::timestamptz);
SELECT origin, count(*) FROM segroll.trace('lb_daily',
	(SELECT segroll.merge(seg) FROM segroll_data.lb_daily_segments WHERE org = 1)) GROUP BY 1 ORDER BY 1;
SELECT count(*) AS purged_by_hand FROM segroll_data.lb_daily_segments c, LATERAL segroll.keys(c.seg) k
WHERE c.org = 1 AND NOT EXISTS (SELECT FROM lb.sales s WHERE s.id = k);

-- a segmentation without lineage knows no keys: a retracted extreme is
-- recomputed from its period
SELECT segroll.create_segmentation('lb_nolin', 'lb.sales', 'id', 'at', 'day', 'Asia/Seoul', '{org}', '{amount}', false) IS NOT NULL;
DELETE FROM lb.sales WHERE amount = (SELECT max(amount) FROM lb.sales);
SELECT segroll.rollup('lb_nolin');
SELECT count(*) AS wrong_cells FROM (
	SELECT org, date_trunc('day', at, 'Asia/Seoul') AS period, count(*) AS n, max(amount) AS hi, min(amount) AS lo
	FROM lb.sales GROUP BY 1, 2
	EXCEPT ALL
	SELECT org, period, count, amount_max, amount_min FROM segroll_data.lb_nolin_v) d;
SELECT count(*) AS nolin_blocks FROM segroll_data.lb_nolin_lineage;

-- the limit is a superuser's setting
CREATE ROLE lb_plain;
SET ROLE lb_plain;
SET segroll.inline_lineage_limit = 1;
RESET ROLE;
DROP ROLE lb_plain;

-- dropping a segmentation drops its lineage table and segments view
SELECT segroll.drop_segmentation('lb_nolin');
SELECT to_regclass('segroll_data.lb_nolin_lineage') AS lineage, to_regclass('segroll_data.lb_nolin_segments') AS segments;
