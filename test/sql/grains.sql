-- Grains come from one table, segroll.grain.  The quarter grain, added as a
-- row of it, works end to end: roll-up, corrections across a quarter
-- boundary, verify, close_period, re-rolling months into quarters, and
-- estimate; a bad grain names the grains there are.
SET client_min_messages = warning;
SET TimeZone = 'Asia/Seoul';

SELECT name, step, bound, verify_span FROM segroll.grain ORDER BY step;

CREATE SCHEMA q;
CREATE TABLE q.sales (
	txn_id   bigint PRIMARY KEY,
	sold_at  timestamptz NOT NULL,
	org_id   int,
	amount   numeric(12,2)
);
-- 2026-11-01 .. 2027-04-09 (Seoul), rows close to the quarter boundaries
-- in Seoul time, which are not the boundaries in UTC
INSERT INTO q.sales
SELECT g, '2026-11-01 00:00+09'::timestamptz + g * interval '23 minutes', g % 4, (g % 997) / 10.0
FROM generate_series(1, 10000) g;
INSERT INTO q.sales VALUES
	(20001, '2026-12-31 23:59:59+09', 1, 1.00),
	(20002, '2027-01-01 00:00:00+09', 1, 2.00),
	(20003, '2027-03-31 23:30:00+09', 2, 3.00),
	(20004, '2027-04-01 00:30:00+09', 2, 4.00);

-- "1 quarter" is the quarter grain
SELECT segroll.create_segmentation('q_sales', 'q.sales', 'txn_id', 'sold_at', '1 quarter', 'Asia/Seoul',
                                   '{org_id}', '{amount}');
SELECT segroll.create_segmentation('q_monthly', 'q.sales', 'txn_id', 'sold_at', 'month', 'Asia/Seoul',
                                   '{org_id}', '{amount}');
SELECT name, grain FROM segroll.segmentations ORDER BY name;

CREATE FUNCTION q_oracle() RETURNS bigint LANGUAGE sql AS $$
	WITH fresh AS (
		SELECT org_id, date_trunc('quarter', sold_at, 'Asia/Seoul') AS period,
		       segroll.segment_agg(txn_id, sold_at, amount) AS seg
		FROM q.sales GROUP BY 1, 2)
	SELECT count(*) FROM (
		(SELECT * FROM fresh EXCEPT ALL SELECT org_id, period, seg FROM segroll_data.q_sales)
		UNION ALL
		(SELECT org_id, period, seg FROM segroll_data.q_sales EXCEPT ALL SELECT * FROM fresh)) d
$$;
SELECT q_oracle() AS after_backfill;
SELECT period, sum(count) AS rows, sum(amount_sum) AS amount
FROM segroll_data.q_sales_v GROUP BY period ORDER BY period;

-- corrections that move rows across a quarter boundary, and a delete
UPDATE q.sales SET sold_at = '2027-01-01 00:00:01+09' WHERE txn_id = 20001;
UPDATE q.sales SET sold_at = '2026-12-31 23:00:00+09', amount = 5.00 WHERE txn_id = 20002;
DELETE FROM q.sales WHERE txn_id = 20004;
INSERT INTO q.sales VALUES (20005, '2026-11-15 12:00+09', 3, 7.77);
SELECT segroll.rollup('q_sales') AS applied;
SELECT q_oracle() AS after_corrections;

-- months re-roll exactly into quarters
SELECT segroll.rollup('q_monthly') AS applied;
SELECT count(*) AS differing_quarters FROM (
	SELECT org_id, date_trunc('quarter', period, 'Asia/Seoul') AS period, segroll.merge(seg) AS seg
	FROM segroll_data.q_monthly GROUP BY 1, 2
	EXCEPT ALL
	SELECT org_id, period, seg FROM segroll_data.q_sales) d;

-- verify walks the quarters; nothing differs
SELECT count(*) AS problems FROM segroll.verify('q_sales', '2026-10-01', '2027-07-01', 'full');
SELECT count(*) AS problems_all_time FROM segroll.verify('q_sales', '-infinity', 'infinity');

-- a quarter closes at its boundary, not inside it
SELECT segroll.close_period('q_sales', '2027-02-15');
SELECT closed_upto FROM segroll.closed_period WHERE name = 'q_sales';

-- estimate knows the grain too, exactly at 100 %
SELECT e.periods, e.cells, e."rows",
       e.cells = (SELECT count(*) FROM segroll_data.q_sales) AS cells_exact
FROM segroll.estimate('q.sales', '{org_id}', 'quarter', time_zone => 'Asia/Seoul', sample_percent => 100) e;

-- an unknown grain names the ones there are
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT segroll.create_segmentation('q_bad', 'q.sales', 'txn_id', 'sold_at', 'fortnight', 'UTC', '{org_id}');
SELECT segroll.create_segmentation('q_bad', 'q.sales', 'txn_id', 'sold_at', NULL, 'UTC', '{org_id}');
SELECT * FROM segroll.estimate('q.sales', '{org_id}', 'year');
-- and the catalog refuses one written directly
\set VERBOSITY terse
UPDATE segroll.segmentation SET grain = 'fortnight' WHERE name = 'q_sales';
SELECT segroll.drop_segmentation('q_monthly'), segroll.drop_segmentation('q_sales');
