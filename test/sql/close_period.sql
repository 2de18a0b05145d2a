-- Period close: closed cells never change; later changes to their source
-- rows become adjustments beside them, listed in <name>_adjustments and as
-- rows of the BI view; cells plus adjustments always equal a from-scratch
-- GROUP BY; re-opening folds them back in and is recorded.
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'UTC';
CREATE SCHEMA cp;
CREATE TABLE cp.sales (id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org int, amount numeric(12,2));
INSERT INTO cp.sales SELECT g, '2026-10-01'::timestamptz + g * interval '1 hour', g % 3, g FROM generate_series(1, 1500) g;
SELECT segroll.create_segmentation('cp_monthly', 'cp.sales', 'id', 'sold_at', 'month', 'UTC', '{org}', '{amount}');

-- the oracle: cells with their adjustments applied = a GROUP BY over the source
CREATE VIEW cp.oracle AS
WITH fresh AS (
	SELECT org, date_trunc('month', sold_at, 'UTC') AS period, segroll.segment_agg(id, sold_at, amount) AS seg
	FROM cp.sales GROUP BY 1, 2),
adjusted AS (
	SELECT coalesce(c.org, a.org) AS org, coalesce(c.period, a.period) AS period,
	       CASE WHEN a.ad IS NULL THEN c.seg ELSE segroll._adjusted(c.seg, a.ad, a.rm) END AS seg
	FROM segroll_data.cp_monthly c
	FULL JOIN (SELECT org, period, array_agg(added ORDER BY to_seq) AS ad, array_agg(removed ORDER BY to_seq) AS rm
	           FROM segroll_data.cp_monthly_adjustments GROUP BY 1, 2) a
	  ON a.org = c.org AND a.period = c.period)
SELECT count(*) AS differences FROM (
	(SELECT * FROM adjusted WHERE seg IS NOT NULL EXCEPT ALL SELECT * FROM fresh)
	UNION ALL
	(SELECT * FROM fresh EXCEPT ALL SELECT * FROM adjusted WHERE seg IS NOT NULL)) d;
-- a fingerprint of the closed cells, to prove they never change
CREATE TABLE cp.closed_before AS SELECT org, period, seg FROM segroll_data.cp_monthly WHERE period < '2026-11-01';

-- close October (up_to rounds up to the next period start)
SELECT segroll.close_period('cp_monthly', '2026-10-20');
SELECT name, closed_upto, closed_by FROM segroll.closed_period;

-- late insert, correction, reversal, and a row moved out of the closed month
INSERT INTO cp.sales VALUES (5000, '2026-10-10', 1, 100), (5001, '2026-11-10', 1, 7);
UPDATE cp.sales SET amount = amount + 1000 WHERE id = 10;
DELETE FROM cp.sales WHERE id = 20;
UPDATE cp.sales SET sold_at = '2026-11-20' WHERE id = 30;
SELECT segroll.rollup('cp_monthly');
-- the closed cells did not change
SELECT count(*) AS changed_closed_cells FROM (
	SELECT * FROM cp.closed_before EXCEPT ALL SELECT org, period, seg FROM segroll_data.cp_monthly WHERE period < '2026-11-01') d;
-- the adjustments, listed
SELECT org, period, segroll.count(added) AS added, segroll.count(removed) AS removed,
       segroll.sum(added, 1) AS added_amount, segroll.sum(removed, 1) AS removed_amount
FROM segroll_data.cp_monthly_adjustments ORDER BY period, org;
-- the BI view shows them as rows of their own, with the time of the change
SELECT org, period, count, amount_sum, kind, adjusted_at IS NOT NULL AS has_time
FROM segroll_data.cp_monthly_v ORDER BY period, org, kind;
-- BI totals are the source's
SELECT (SELECT sum(count) FROM segroll_data.cp_monthly_v) = (SELECT count(*) FROM cp.sales) AS counts_match,
       (SELECT sum(amount_sum) FROM segroll_data.cp_monthly_v) = (SELECT sum(amount) FROM cp.sales) AS sums_match;
SELECT * FROM cp.oracle;
-- verify compares the source with cells and adjustments together
SELECT count(*) FROM segroll.verify('cp_monthly', '-infinity', 'infinity');
SELECT count(*) FROM segroll.verify('cp_monthly', '-infinity', 'infinity', 'full');
-- an adjustment of an adjustment, and more changes
UPDATE cp.sales SET amount = amount + 1 WHERE id = 5000;
DELETE FROM cp.sales WHERE id = 5000;
UPDATE cp.sales SET amount = amount * 2 WHERE id % 100 = 0;
SELECT segroll.rollup('cp_monthly');
SELECT * FROM cp.oracle;
SELECT count(*) FROM segroll.verify('cp_monthly', '-infinity', 'infinity', 'full');
SELECT count(*) AS changed_closed_cells FROM (
	SELECT * FROM cp.closed_before EXCEPT ALL SELECT org, period, seg FROM segroll_data.cp_monthly WHERE period < '2026-11-01') d;
-- repair leaves closed cells alone
SELECT * FROM segroll.repair('cp_monthly', '-infinity', 'infinity');
-- damage in a closed period is found
UPDATE segroll_data.cp_monthly_adjustments SET added = NULL WHERE org = 1 AND period = '2026-10-01' AND added IS NOT NULL
	AND from_seq = (SELECT min(from_seq) FROM segroll_data.cp_monthly_adjustments WHERE org = 1);
SELECT problem, in_cells, in_source FROM segroll.verify('cp_monthly', '2026-10-01', '2026-11-01');

-- closing again, backwards, or what is not closed
SELECT segroll.close_period('cp_monthly', '2026-10-05');
SELECT segroll.reopen_period('cp_monthly', '2026-12-01');
SELECT segroll.close_period('cp_monthly', 'infinity');
SELECT segroll.close_period('no_such', '2026-10-05');

-- re-open: adjustments are folded into rebuilt cells, and it is on record
SELECT segroll.reopen_period('cp_monthly', '2026-10-01') AS cells_rebuilt;
SELECT count(*) FROM segroll.closed_period WHERE name = 'cp_monthly';
SELECT count(*) FROM segroll_data.cp_monthly_adjustments;
SELECT * FROM cp.oracle;
SELECT count(*) FROM segroll.verify('cp_monthly', '-infinity', 'infinity', 'full');
SELECT action, rows, detail - 'closed_upto' - 'previous' AS detail FROM segroll.history
WHERE segmentation = 'cp_monthly' AND action IN ('close period', 'reopen period') ORDER BY id;
-- only an admin who owns the segmentation closes or re-opens
CREATE ROLE cp_auditor;
GRANT segroll_auditor TO cp_auditor;
SET ROLE cp_auditor;
SELECT segroll.close_period('cp_monthly', '2026-11-01');
SELECT segroll.reopen_period('cp_monthly', '2026-10-01');
RESET ROLE;
DROP VIEW cp.oracle;
SELECT segroll.drop_segmentation('cp_monthly');
SELECT count(*) FROM pg_class WHERE relname LIKE 'cp_monthly%';
DROP ROLE cp_auditor;
