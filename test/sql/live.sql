-- Live figures (issue 16): <name>_live gives the cells as they will be once
-- every committed change is rolled up.  After every step, rolled up or
-- not, its counts and sums (cells plus adjustments) equal a from-scratch
-- GROUP BY of the source, its min/max are the source's or null (a pending
-- retraction of an extreme), and after a roll-up it equals <name>_v row for
-- row.  Inserts, late rows, updates (one moving a row to another cell),
-- deletes, a null dimension, a reference dimension, a closed period, cells
-- in lineage blocks, privileges, versions and a renamed measure.
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'UTC';
SET segroll.inline_lineage_limit = 2;
SET segroll.lineage_block_keys = 4;
CREATE SCHEMA lv;
CREATE TABLE lv.channel (code int PRIMARY KEY, name text);
INSERT INTO lv.channel VALUES (1, 'web'), (2, 'app'), (3, 'shop');
CREATE TABLE lv.sales (id bigint PRIMARY KEY, at timestamptz NOT NULL, org int, ch int, amount numeric(12,2));
INSERT INTO lv.sales
SELECT g, '2026-11-01 00:00+09'::timestamptz + g * interval '37 minutes', g % 3, 1 + g % 4, (g % 97) + 0.25
FROM generate_series(1, 400) g;	-- channel 4 has no reference row: a null channel
SELECT segroll.create_segmentation('lv_daily', 'lv.sales', 'id', 'at', 'day', 'Asia/Seoul',
	'{org, channel=lv.channel.name ON ch=code}', '{amount}');
SELECT c.relname, c.relkind, pg_get_userbyid(c.relowner) = current_user AS owned,
       has_table_privilege('segroll_reader', c.oid, 'SELECT') AS readers
FROM pg_class c WHERE c.oid = 'segroll_data.lv_daily_live'::regclass;
-- a segmentation without lineage (its cells know no keys), never rolled
-- up below: its pending window keeps growing
SELECT segroll.create_segmentation('lv_nolin', 'lv.sales', 'id', 'at', 'month', 'Asia/Seoul', '{org}', '{amount}',
	lineage => false) IS NOT NULL AS created;
CREATE FUNCTION lv.check_nolin() RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM (
		(SELECT org, period, count, amount_sum FROM segroll_data.lv_nolin_live
		 EXCEPT ALL
		 SELECT org, date_trunc('month', at, 'Asia/Seoul'), count(*), sum(amount) FROM lv.sales GROUP BY 1, 2)
		UNION ALL
		(SELECT org, date_trunc('month', at, 'Asia/Seoul'), count(*), sum(amount) FROM lv.sales GROUP BY 1, 2
		 EXCEPT ALL
		 SELECT org, period, count, amount_sum FROM segroll_data.lv_nolin_live)) d
$$;
-- the live view has the BI view's columns
SELECT (SELECT array_agg((attname, atttypid::regtype)::text ORDER BY attnum) FROM pg_attribute
        WHERE attrelid = 'segroll_data.lv_daily_live'::regclass AND attnum > 0)
     = (SELECT array_agg((attname, atttypid::regtype)::text ORDER BY attnum) FROM pg_attribute
        WHERE attrelid = 'segroll_data.lv_daily_v'::regclass AND attnum > 0) AS same_columns;

-- the oracle: a GROUP BY over the source, read in the same statement
CREATE FUNCTION lv.check_live(OUT differences bigint, OUT wrong_minmax bigint, OUT unknown_minmax bigint,
	OUT pending_adjustments bigint)
LANGUAGE sql AS $$
WITH fresh AS (
	SELECT s.org, c.name AS channel, date_trunc('day', s.at, 'Asia/Seoul') AS period,
	       count(*) AS count, sum(s.amount) AS amount_sum, min(s.amount) AS amount_min, max(s.amount) AS amount_max
	FROM lv.sales s LEFT JOIN lv.channel c ON c.code = s.ch GROUP BY 1, 2, 3),
live AS (SELECT * FROM segroll_data.lv_daily_live),
summed AS (SELECT org, channel, period, sum(count) AS count, sum(amount_sum) AS amount_sum FROM live GROUP BY 1, 2, 3),
closed AS (SELECT coalesce(max(closed_upto), '-infinity') AS upto FROM segroll.closed_period WHERE name = 'lv_daily')
SELECT (SELECT count(*) FROM (
	       (SELECT * FROM summed EXCEPT ALL SELECT org, channel, period, count, amount_sum FROM fresh)
	       UNION ALL
	       (SELECT org, channel, period, count, amount_sum FROM fresh EXCEPT ALL SELECT * FROM summed)) d),
       (SELECT count(*) FROM live l JOIN fresh f ON f.org = l.org AND f.channel IS NOT DISTINCT FROM l.channel AND f.period = l.period
        WHERE l.kind = 'cell' AND l.period >= (SELECT upto FROM closed)
          AND (l.amount_min <> f.amount_min OR l.amount_max <> f.amount_max)),
       (SELECT count(*) FROM live l WHERE l.kind = 'cell' AND l.amount_min IS NULL),
       (SELECT count(*) FROM live l WHERE l.kind = 'adjustment' AND l.adjusted_at IS NULL)
$$;
-- after a roll-up: the live view is the BI view
CREATE FUNCTION lv.live_is_bi() RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM (
		(SELECT * FROM segroll_data.lv_daily_live EXCEPT ALL SELECT * FROM segroll_data.lv_daily_v)
		UNION ALL
		(SELECT * FROM segroll_data.lv_daily_v EXCEPT ALL SELECT * FROM segroll_data.lv_daily_live)) d
$$;

-- nothing pending: the live view is the BI view
SELECT * FROM lv.check_live();
SELECT lv.live_is_bi() AS differences_from_bi;
SELECT count(*) > 0 AS some_cells_in_blocks FROM segroll_data.lv_daily_lineage;

-- new rows, late rows (an old day), a null channel, a new cell
INSERT INTO lv.sales VALUES
	(1001, '2026-11-03 10:00+09', 1, 1, 5.50),
	(1002, '2026-11-01 01:00+09', 2, 2, 999.99),
	(1003, '2026-11-02 12:00+09', 0, 4, 1.00),
	(1004, '2026-11-20 12:00+09', 7, 3, 3.00);
SELECT * FROM lv.check_live();
-- the new cell is there before any roll-up; the BI view does not have it yet
SELECT org, channel, period, count, amount_sum, amount_min, kind FROM segroll_data.lv_daily_live WHERE org = 7;
SELECT count(*) AS in_bi_view FROM segroll_data.lv_daily_v WHERE org = 7;
-- corrections: an amount, a row moved to another cell (channel and day),
-- deletes (one of them the extreme of its cell), an update then delete of
-- a new row (numbered and retracted after applied_upto: cancels out)
UPDATE lv.sales SET amount = amount + 100 WHERE id = 10;
UPDATE lv.sales SET ch = 3, at = at + interval '2 days' WHERE id = 8;
DELETE FROM lv.sales WHERE id IN (12, 13);
DELETE FROM lv.sales WHERE id = (SELECT id FROM lv.sales WHERE org = 1 AND ch = 1 AND at < '2026-11-02 00:00+09' ORDER BY amount DESC, id LIMIT 1);
UPDATE lv.sales SET amount = 2 WHERE id = 1003;
DELETE FROM lv.sales WHERE id = 1001;
SELECT differences, wrong_minmax, unknown_minmax > 0 AS some_minmax_unknown, pending_adjustments FROM lv.check_live();
-- the moved row: out of its old cell, into its new one, before a roll-up
SELECT l.count - v.count AS count_change, l.amount_sum - v.amount_sum AS sum_change
FROM segroll_data.lv_daily_live l JOIN segroll_data.lv_daily_v v USING (org, channel, period)
WHERE (org, channel, period) IN (SELECT 2, 'web', '2026-11-01 00:00+09'::timestamptz UNION ALL SELECT 2, 'shop', '2026-11-03 00:00+09')
ORDER BY period;
SELECT lv.check_nolin() AS nolin_differences;
SELECT segroll.rollup('lv_daily') > 0 AS rolled_up;
SELECT * FROM lv.check_live();
SELECT lv.live_is_bi() AS differences_from_bi;

-- a closed period: its pending changes show as the adjustment the roll-up
-- will add (adjusted_at null), its cells stay as closed
SELECT segroll.close_period('lv_daily', '2026-11-03 00:00+09');
INSERT INTO lv.sales VALUES (1010, '2026-11-01 05:00+09', 0, 1, 40.00);
UPDATE lv.sales SET amount = amount - 1 WHERE id = 20;
DELETE FROM lv.sales WHERE id = 21;
UPDATE lv.sales SET at = '2026-11-05 05:00+09' WHERE id = 22;	-- from a closed day to an open one
SELECT * FROM lv.check_live();
SELECT org, channel, period, count, amount_sum, amount_min, kind, adjusted_at
FROM segroll_data.lv_daily_live WHERE kind = 'adjustment' ORDER BY period, org, channel;
-- the closed cells are shown as they were closed
SELECT count(*) AS closed_cells_changed FROM (
	SELECT org, channel, period, count, amount_sum FROM segroll_data.lv_daily_live WHERE kind = 'cell' AND period < '2026-11-03 00:00+09'
	EXCEPT ALL
	SELECT org, channel, period, count, amount_sum FROM segroll_data.lv_daily_v WHERE kind = 'cell' AND period < '2026-11-03 00:00+09') d;
SELECT segroll.rollup('lv_daily') > 0 AS rolled_up;
SELECT * FROM lv.check_live();
SELECT lv.live_is_bi() AS differences_from_bi;

-- privileges: a segroll_reader reads it (as the owner reads the source),
-- a role without it does not
CREATE ROLE segroll_live_reader;
CREATE ROLE segroll_live_nobody;
GRANT segroll_reader TO segroll_live_reader;
GRANT USAGE ON SCHEMA segroll_data TO segroll_live_nobody;	-- so that the view itself refuses
INSERT INTO lv.sales VALUES (1020, '2026-11-04 09:00+09', 1, 2, 8.00);
SET ROLE segroll_live_reader;
SELECT org, channel, period, count, amount_sum FROM segroll_data.lv_daily_live
WHERE org = 1 AND channel = 'app' AND period = '2026-11-04 00:00+09';
SELECT count(*) FROM lv.sales;	-- the source itself stays closed to it
RESET ROLE;
SET ROLE segroll_live_nobody;
SELECT count(*) FROM segroll_data.lv_daily_live;
RESET ROLE;

-- schema changes: columns the segmentation does not use can be added,
-- retyped and dropped under the live view; a renamed measure column
-- renames its columns, and old versions logged under the old name are
-- still read
UPDATE lv.sales SET amount = amount + 1 WHERE id = 30;	-- pending: an old version logged under "amount"
ALTER TABLE lv.sales ADD COLUMN note text DEFAULT 'x';
ALTER TABLE lv.sales ALTER COLUMN note TYPE varchar(10);
ALTER TABLE lv.sales RENAME COLUMN amount TO amt;
SELECT attname FROM pg_attribute WHERE attrelid = 'segroll_data.lv_daily_live'::regclass AND attname LIKE 'am%' ORDER BY attnum;
SELECT (SELECT sum(count) FROM segroll_data.lv_daily_live) = (SELECT count(*) FROM lv.sales) AS counts_match,
       (SELECT sum(amt_sum) FROM segroll_data.lv_daily_live) = (SELECT sum(amt) FROM lv.sales) AS sums_match;
ALTER TABLE lv.sales RENAME COLUMN amt TO amount;
ALTER TABLE lv.sales DROP COLUMN note;
SELECT * FROM lv.check_live();
SELECT lv.check_nolin() AS nolin_differences;
SELECT segroll.rollup('lv_nolin') > 0 AS rolled_up;
SELECT lv.check_nolin() AS nolin_differences;
SELECT segroll.drop_segmentation('lv_nolin');

-- versions: each has its own live view, renamed with it
SELECT segroll.create_version('lv_daily', dimensions => '{org}', schedule => 'manual');
SELECT segroll.switch_version('lv_daily');
SELECT c.relname FROM pg_class c WHERE c.relname LIKE 'lv_daily%live' ORDER BY 1;
SELECT (SELECT sum(count) FROM segroll_data.lv_daily_live) = (SELECT count(*) FROM lv.sales) AS new_version_counts,
       (SELECT sum(count) FROM segroll_data.lv_daily__v1_live) = (SELECT count(*) FROM lv.sales) AS old_version_counts;
SELECT segroll.drop_segmentation('lv_daily__v1');
SELECT segroll.drop_segmentation('lv_daily');
SELECT count(*) AS live_views_left FROM pg_class WHERE relname LIKE 'lv_daily%live';

-- a text key, held in lineage as its hash: pending rows count the same way
CREATE TABLE lv.tx (tx_no text PRIMARY KEY, t timestamptz NOT NULL, ch int, amt numeric);
INSERT INTO lv.tx SELECT 'TX' || lpad(g::text, 16, '0'), '2026-12-01'::timestamptz + g * interval '7 min', g % 3, g
FROM generate_series(1, 600) g;
SELECT segroll.create_segmentation('lv_tx', 'lv.tx', 'tx_no', 't', 'day', dimensions => '{ch}', measures => '{amt}');
INSERT INTO lv.tx SELECT 'TX9' || lpad(g::text, 15, '0'), '2026-12-01'::timestamptz + g * interval '11 min', g % 3, g
FROM generate_series(1, 100) g;
UPDATE lv.tx SET amt = amt + 1, ch = (ch + 1) % 3 WHERE right(tx_no, 1) = '7';
DELETE FROM lv.tx WHERE right(tx_no, 1) = '3';
SELECT count(*) AS text_key_differences FROM (
	(SELECT ch, period, count, amt_sum FROM segroll_data.lv_tx_live
	 EXCEPT SELECT ch, date_trunc('day', t, 'UTC'), count(*), sum(amt) FROM lv.tx GROUP BY 1, 2)
	UNION ALL
	(SELECT ch, date_trunc('day', t, 'UTC'), count(*), sum(amt) FROM lv.tx GROUP BY 1, 2
	 EXCEPT SELECT ch, period, count, amt_sum FROM segroll_data.lv_tx_live)) d;
SELECT segroll.drop_segmentation('lv_tx');

DROP ROLE segroll_live_reader;
REVOKE USAGE ON SCHEMA segroll_data FROM segroll_live_nobody;
DROP ROLE segroll_live_nobody;
DROP SCHEMA lv CASCADE;
