-- Time columns of type timestamp (without time zone) and date: read as
-- local time in the segmentation's time zone (a date as its local
-- midnight), whatever the session's TimeZone.  Sources are written and
-- rolled up in sessions with different TimeZone settings; the cells must
-- equal a GROUP BY computed independently (the local time truncated, then
-- read in the segmentation's time zone), EXCEPT both ways.
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'UTC';
CREATE SCHEMA tt;

-- a back-office table: local times, no time zone
CREATE TABLE tt.history (id bigint PRIMARY KEY, mtime timestamp NOT NULL, org int, amount numeric(12,2));
INSERT INTO tt.history
SELECT g, '2026-03-01 00:00'::timestamp + g * interval '37 minutes', g % 4, g FROM generate_series(1, 2000) g;
-- a table of dates
CREATE TABLE tt.ledger (id int PRIMARY KEY, booked date NOT NULL, org int, amount bigint);
INSERT INTO tt.ledger SELECT g, '2026-01-01'::date + g % 150, g % 3, g FROM generate_series(1, 1500) g;

SET TimeZone = 'America/New_York';
SELECT segroll.create_segmentation('tt_daily', 'tt.history', 'id', 'mtime', 'day', 'Asia/Seoul', '{org}', '{amount}');
SELECT segroll.create_segmentation('tt_hourly', 'tt.history', 'id', 'mtime', 'hour', 'Asia/Seoul', '{org}', '{amount}',
                                   lineage => false);
SELECT segroll.create_segmentation('tt_booked', 'tt.ledger', 'id', 'booked', 'day', 'Asia/Seoul', '{org}', '{amount}');
SELECT segroll.create_segmentation('tt_booked_weekly', 'tt.ledger', 'id', 'booked', 'week', 'Asia/Seoul', '{org}', '{amount}');

-- a date has no hour: grain hour is refused, for a new segmentation, a
-- new version and an estimate alike
SELECT segroll.create_segmentation('tt_bad', 'tt.ledger', 'id', 'booked', 'hour', 'Asia/Seoul', '{org}');
SELECT segroll.create_version('tt_booked', grain => 'hour');
SELECT * FROM segroll.estimate('tt.ledger', '{org}', 'hour', 'booked');
-- other types are refused as before
CREATE TABLE tt.bad (id bigint PRIMARY KEY, t time NOT NULL, org int);
SELECT segroll.create_segmentation('tt_bad', 'tt.bad', 'id', 't', 'day', 'UTC', '{org}');

-- the oracles: local time truncated in local time, then read in Asia/Seoul
-- (no daylight-saving time since 1988); count, sum, min, max, keys, and
-- the first and last absolute times the segments record
CREATE FUNCTION tt.differences(seg_name text, cells regclass, src text, tcol text, grain text, tz text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
	oracle text := format($o$
		SELECT org, date_trunc(%L, %I::timestamp) AT TIME ZONE %L AS period, count(*) AS n, sum(amount) AS s,
		       min(amount) AS lo, max(amount) AS hi, array_agg(id::bigint ORDER BY id) AS keys,
		       min(%I::timestamp AT TIME ZONE %L) AS first_time, max(%I::timestamp AT TIME ZONE %L) AS last_time
		FROM %s GROUP BY 1, 2$o$, grain, tcol, tz, tcol, tz, tcol, tz, src);
	cells_q text := format($c$
		SELECT org, period, segroll.count(seg), segroll.sum(seg, 1), segroll.min(seg, 1), segroll.max(seg, 1),
		       CASE WHEN segroll.has_lineage(seg) THEN ARRAY(SELECT k FROM segroll.keys(seg) k ORDER BY k) END,
		       segroll.first_time(seg), segroll.last_time(seg)
		FROM %s$c$, cells);
BEGIN
	IF NOT (SELECT lineage FROM segroll.segmentation WHERE name = seg_name) THEN
		oracle := replace(oracle, 'array_agg(id::bigint ORDER BY id)', 'NULL::bigint[]');
	END IF;
	EXECUTE format('SELECT count(*) FROM ((%1$s EXCEPT ALL %2$s) UNION ALL (%2$s EXCEPT ALL %1$s)) d', oracle, cells_q)
		INTO n;
	RETURN n;
END
$$;
CREATE VIEW tt.check AS
SELECT tt.differences('tt_daily', 'segroll_data.tt_daily', 'tt.history', 'mtime', 'day', 'Asia/Seoul') AS daily,
       tt.differences('tt_hourly', 'segroll_data.tt_hourly', 'tt.history', 'mtime', 'hour', 'Asia/Seoul') AS hourly,
       tt.differences('tt_booked', 'segroll_data.tt_booked', 'tt.ledger', 'booked', 'day', 'Asia/Seoul') AS booked,
       tt.differences('tt_booked_weekly', 'segroll_data.tt_booked_weekly', 'tt.ledger', 'booked', 'week', 'Asia/Seoul') AS weekly;

-- the backfill, checked in three sessions' time zones
SELECT * FROM tt.check;
SET TimeZone = 'Asia/Seoul';
SELECT * FROM tt.check;
SET TimeZone = 'UTC';
SELECT * FROM tt.check;
-- a day of the timestamp source is Seoul's day: 2026-03-02 00:00 local is 2026-03-01 15:00 UTC
SELECT org, period, segroll.count(seg), segroll.first_time(seg), segroll.last_time(seg)
FROM segroll_data.tt_daily WHERE period = '2026-03-01 15:00+00' ORDER BY org;
SELECT org, period, segroll.count(seg) FROM segroll_data.tt_booked WHERE period = '2026-01-02 00:00+09' ORDER BY org;

-- writes in New York, roll-up in Seoul: inserts, late rows, updates that
-- move rows to other periods, deletes
SET TimeZone = 'America/New_York';
INSERT INTO tt.history VALUES (5001, '2026-03-03 23:59:59.999999', 1, 11), (5002, '2026-03-04 00:00', 1, 12),
                              (5003, '2026-02-01 08:00', 2, 13);	-- late: a period long rolled up
UPDATE tt.history SET mtime = mtime + interval '1 day 3 hours' WHERE id % 9 = 0;
UPDATE tt.history SET amount = amount + 1000, mtime = mtime - interval '20 minutes' WHERE id % 13 = 0;
DELETE FROM tt.history WHERE id % 11 = 0;
INSERT INTO tt.ledger VALUES (5001, '2026-01-04', 1, 7), (5002, '2025-12-31', 2, 8);
UPDATE tt.ledger SET booked = booked + 8 WHERE id % 7 = 0;
UPDATE tt.ledger SET amount = -amount WHERE id % 5 = 0;
DELETE FROM tt.ledger WHERE id % 17 = 0;
SET TimeZone = 'Asia/Seoul';
SELECT segroll.rollup('tt_daily') > 0 AS daily, segroll.rollup('tt_hourly') > 0 AS hourly,
       segroll.rollup('tt_booked') > 0 AS booked, segroll.rollup('tt_booked_weekly') > 0 AS weekly;
SELECT * FROM tt.check;
SET TimeZone = 'America/New_York';
SELECT * FROM tt.check;

-- writes in UTC, roll-up in New York
SET TimeZone = 'UTC';
UPDATE tt.history SET mtime = mtime - interval '2 days' WHERE id % 10 = 3;
INSERT INTO tt.history SELECT 6000 + g, '2026-03-10 12:00'::timestamp + g * interval '1 hour', g % 4, g FROM generate_series(1, 50) g;
DELETE FROM tt.history WHERE id % 23 = 0;
UPDATE tt.ledger SET booked = booked - 30 WHERE id % 10 = 3;
SET TimeZone = 'America/New_York';
SELECT segroll.rollup('tt_daily') > 0 AS daily, segroll.rollup('tt_hourly') > 0 AS hourly,
       segroll.rollup('tt_booked') > 0 AS booked, segroll.rollup('tt_booked_weekly') > 0 AS weekly;
SELECT * FROM tt.check;
SET TimeZone = 'UTC';
SELECT * FROM tt.check;

-- estimate reads the time column as the roll-up does (both samples are
-- exact at 100 %)
SELECT e.periods = (SELECT count(DISTINCT mtime::date) FROM tt.history) AS periods_match,
       e.rows = (SELECT count(*) FROM tt.history) AS rows_match,
       e.cells = (SELECT count(*) FROM segroll_data.tt_daily) AS cells_match
FROM segroll.estimate('tt.history', '{org}', 'day', 'mtime', 'Asia/Seoul', '{amount}', sample_percent => 100) e;
SELECT e.periods = (SELECT count(DISTINCT date_trunc('week', booked)) FROM tt.ledger) AS periods_match,
       e.cells = (SELECT count(*) FROM segroll_data.tt_booked_weekly) AS cells_match
FROM segroll.estimate('tt.ledger', '{org}', 'week', 'booked', 'Asia/Seoul', sample_percent => 100) e;

-- verify, by period and over wide ranges, in any session time zone
SET TimeZone = 'America/New_York';
SELECT count(*) FROM segroll.verify('tt_daily', '2026-02-01 00:00+09', '2026-04-01 00:00+09', 'full');
SELECT count(*) FROM segroll.verify('tt_hourly', '2026-03-01 00:00+09', '2026-03-10 00:00+09', 'full');
SELECT count(*) FROM segroll.verify('tt_booked', '-infinity', 'infinity', 'full');
SELECT count(*) FROM segroll.verify('tt_booked_weekly', '2025-12-01', '2026-07-01', 'full');
-- a damaged cell is found in its own period, and only there
UPDATE segroll_data.tt_booked SET seg = segroll.merge(seg, (SELECT segroll.segment_agg(99999::bigint, '2026-01-02 00:00+09'::timestamptz, 1::bigint)))
WHERE org = 1 AND period = '2026-01-02 00:00+09';
SET TimeZone = 'UTC';
SELECT dimensions, period AT TIME ZONE 'Asia/Seoul' AS local_period, problem, key
FROM segroll.verify('tt_booked', '2026-01-01 00:00+09', '2026-01-04 00:00+09', 'full');
SELECT dimensions, period AT TIME ZONE 'Asia/Seoul' AS local_period, action FROM segroll.repair('tt_booked', '2026-01-02 00:00+09', '2026-01-03 00:00+09');
SELECT * FROM tt.check;

-- trace a cell: its rows are those whose local time falls in the Seoul day
SET TimeZone = 'America/New_York';
SELECT (SELECT array_agg(key ORDER BY key) FROM segroll.trace('tt_daily', '{"org": 1}', '2026-03-04 00:00+09'))
     = (SELECT array_agg(id ORDER BY id) FROM tt.history
        WHERE org = 1 AND mtime >= '2026-03-04 00:00' AND mtime < '2026-03-05 00:00') AS trace_matches;
SELECT count(*) > 0 AS traced FROM segroll.trace('tt_booked', '{"org": 1}', '2026-01-04 00:00+09');
-- locate a row: its period is its local day in Seoul
SELECT dimensions, period AT TIME ZONE 'Asia/Seoul' AS local_period, status FROM segroll.locate('tt_daily', 5001);
SELECT dimensions, period AT TIME ZONE 'Asia/Seoul' AS local_period, status FROM segroll.locate('tt_daily', 5002);
SELECT dimensions, period AT TIME ZONE 'Asia/Seoul' AS local_period, status FROM segroll.locate('tt_booked', 5001);

-- close the periods before 2026-03-05 (Seoul); a late row and a move out
-- of the closed days become adjustments; verify still agrees
SELECT segroll.close_period('tt_daily', '2026-03-04 12:00+09') AT TIME ZONE 'Asia/Seoul' AS closed_upto;
SET TimeZone = 'Asia/Seoul';
INSERT INTO tt.history VALUES (5004, '2026-03-04 23:30', 3, 40);
UPDATE tt.history SET mtime = '2026-03-20 10:00' WHERE id = 5001;
SET TimeZone = 'UTC';
SELECT segroll.rollup('tt_daily');
SELECT org, period AT TIME ZONE 'Asia/Seoul' AS local_period, segroll.count(added) AS added, segroll.count(removed) AS removed
FROM segroll_data.tt_daily_adjustments ORDER BY 2, 1;
SELECT count(*) FROM segroll.verify('tt_daily', '2026-02-01 00:00+09', '2026-04-01 00:00+09', 'full');
SELECT segroll.reopen_period('tt_daily', '-infinity') >= 0 AS reopened;
SELECT segroll.rollup('tt_hourly') > 0 AS hourly;
SELECT * FROM tt.check;

-- purge: the rows whose Seoul time is before the horizon go, no others.
-- Rows far in the past and the future make the outcome independent of
-- today's date.
SET TimeZone = 'America/Los_Angeles';
INSERT INTO tt.ledger VALUES (7001, '2001-01-01', 1, 1), (7002, '2001-02-01', 1, 2), (7003, '2099-01-01', 1, 3);
SELECT segroll.rollup('tt_booked') > 0, segroll.rollup('tt_booked_weekly') > 0;
CREATE TABLE tt.ledger_before AS SELECT id, booked FROM tt.ledger;
CREATE TABLE tt.purged AS SELECT * FROM segroll.purge_source('tt_booked', '1 day');
SELECT rows_deleted = (SELECT count(*) FROM tt.ledger_before WHERE booked::timestamp AT TIME ZONE 'Asia/Seoul' < purged_before)
       AS deleted_all_before
FROM tt.purged;
-- exactly the rows at or after the horizon are left
SELECT count(*) AS differences FROM (
	(SELECT id FROM tt.ledger_before WHERE booked::timestamp AT TIME ZONE 'Asia/Seoul' >= (SELECT purged_before FROM tt.purged)
	 EXCEPT SELECT id FROM tt.ledger)
	UNION ALL
	(SELECT id FROM tt.ledger
	 EXCEPT SELECT id FROM tt.ledger_before WHERE booked::timestamp AT TIME ZONE 'Asia/Seoul' >= (SELECT purged_before FROM tt.purged))) d;
SELECT id FROM tt.ledger WHERE id > 7000;

-- across daylight-saving changes: New York, hourly.  2026-03-08 02:00-03:00
-- local does not exist (a local 02:30 reads as 03:30 EDT, 07:30 UTC, as AT
-- TIME ZONE reads it); 2026-11-01 01:00-02:00 happens twice (a local 01:30
-- reads as the second, EST, 06:30 UTC).  Whole-hour offsets: the period of
-- a row is its absolute time truncated to the UTC hour.
CREATE TABLE tt.shifts (id bigint PRIMARY KEY, at_local timestamp NOT NULL, org int, amount int);
INSERT INTO tt.shifts
SELECT base + g, d + g * interval '10 minutes', g % 2, g
FROM (VALUES (0, '2026-03-07 20:00'::timestamp), (1000, '2026-10-31 20:00'::timestamp)) v(base, d), generate_series(1, 60) g;
SELECT segroll.create_segmentation('tt_shifts', 'tt.shifts', 'id', 'at_local', 'hour', 'America/New_York', '{org}', '{amount}');
SET TimeZone = 'Asia/Seoul';
UPDATE tt.shifts SET at_local = at_local + interval '25 minutes' WHERE id % 5 = 0;
SELECT segroll.rollup('tt_shifts') > 0;
SET TimeZone = 'UTC';
SELECT count(*) AS differences FROM (
	(SELECT org, period, segroll.count(seg) AS n, segroll.sum(seg, 1) AS s FROM segroll_data.tt_shifts
	 EXCEPT ALL
	 SELECT org, date_trunc('hour', at_local AT TIME ZONE 'America/New_York'), count(*), sum(amount) FROM tt.shifts GROUP BY 1, 2)
	UNION ALL
	(SELECT org, date_trunc('hour', at_local AT TIME ZONE 'America/New_York'), count(*), sum(amount) FROM tt.shifts GROUP BY 1, 2
	 EXCEPT ALL
	 SELECT org, period, segroll.count(seg), segroll.sum(seg, 1) FROM segroll_data.tt_shifts)) d;
-- the hours around the changes: the rows of the skipped local hour count
-- in the hour after it (03:00 EDT), those of the repeated local hour in its
-- second instance (01:00 EST), so the first (01:00 EDT, 05:00 UTC) is empty
SELECT period, period AT TIME ZONE 'America/New_York' AS local_start, sum(segroll.count(seg)) AS n
FROM segroll_data.tt_shifts
WHERE period BETWEEN '2026-03-08 05:00+00' AND '2026-03-08 09:00+00' OR period BETWEEN '2026-11-01 04:00+00' AND '2026-11-01 08:00+00'
GROUP BY period ORDER BY period;
SET TimeZone = 'America/Los_Angeles';	-- a session with a daylight-saving change of its own that day
SELECT count(*) FROM segroll.verify('tt_shifts', '2026-03-07', '2026-03-09', 'full');
SELECT count(*) FROM segroll.verify('tt_shifts', '2026-10-31', '2026-11-02', 'full');
SELECT count(*) FROM segroll.verify('tt_shifts', '-infinity', 'infinity', 'full');
SELECT (SELECT array_agg(key ORDER BY key) FROM segroll.trace('tt_shifts', '{"org": 0}', '2026-03-08 07:00+00'))
     = (SELECT array_agg(id ORDER BY id) FROM tt.shifts
        WHERE org = 0 AND date_trunc('hour', at_local AT TIME ZONE 'America/New_York') = '2026-03-08 07:00+00') AS trace_matches;
SELECT dimensions, period AT TIME ZONE 'UTC' AS utc_period, status
FROM tt.shifts s, segroll.locate('tt_shifts', s.id) WHERE s.at_local IN ('2026-03-08 02:30', '2026-11-01 01:30') ORDER BY s.id;
