-- Anomaly flags per segment (issue 16, part 2): segroll.anomalies() on
-- deterministic generated data, nine weeks of sales by channel and partner,
-- with three anomalies injected in the last week: a channel that stops, a
-- partner that doubles, a price error (the sum far off, the count normal).
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'UTC';
CREATE SCHEMA anom;
SET search_path = anom;
CREATE TABLE tx (id bigint PRIMARY KEY, ts timestamptz NOT NULL, channel text NOT NULL, partner int NOT NULL, amount numeric NOT NULL);
-- day 0 is Monday 2026-01-05 in Seoul; cells (channel, partner, day) hold
-- 20 + (a weekly pattern) + (a small deterministic wobble) rows of 100..106
CREATE TABLE plan AS
SELECT ch, p, day, 20 + 3 * (day % 7) + (day * 7 + p * 3 + ascii(ch)) % 3 AS n
FROM unnest(ARRAY['a', 'b', 'c']) ch, generate_series(1, 2) p, generate_series(0, 62) day;
-- injected: channel c stops on day 62; partner 2 of channel a doubles on day 60
DELETE FROM plan WHERE ch = 'c' AND day = 62;
UPDATE plan SET n = n * 2 WHERE ch = 'a' AND p = 2 AND day = 60;
-- a partner that begins on day 50: too little history, never flagged
INSERT INTO plan SELECT 'a', 3, day, CASE WHEN day = 61 THEN 200 ELSE 20 END FROM generate_series(50, 62) day;
INSERT INTO tx
SELECT row_number() OVER (ORDER BY day, ch, p, i),
       timestamptz '2026-01-05 00:00 Asia/Seoul' + day * interval '1 day' + i * interval '10 minutes',
       ch, p, 100 + i % 7
FROM plan, generate_series(1, n) i;
-- injected: a price error on day 59 for channel b, partner 1 (one row 1000 times its price)
UPDATE tx SET amount = amount * 1000
WHERE id = (SELECT min(id) FROM tx WHERE channel = 'b' AND partner = 1
            AND ts >= timestamptz '2026-01-05 00:00 Asia/Seoul' + 59 * interval '1 day');
-- create_segmentation fills the cells
SELECT segroll.create_segmentation('anom_daily', 'tx', 'id', 'ts', 'day', 'Asia/Seoul', '{channel,partner}', '{amount}');

-- the last week (days 56..62): exactly the three injected anomalies
SELECT period AT TIME ZONE 'Asia/Seoul' AS local_day, dimensions, figure, value, median, round(score::numeric, 1) AS score, history, reason
FROM segroll.anomalies('anom_daily', timestamptz '2026-01-05 00:00 Asia/Seoul' + 56 * interval '1 day');
-- the default threshold is 3.5; a higher one drops the doubling, keeps the stop and the price error
SELECT period AT TIME ZONE 'Asia/Seoul' AS local_day, dimensions, figure, round(score::numeric, 1) AS score
FROM segroll.anomalies('anom_daily', timestamptz '2026-01-05 00:00 Asia/Seoul' + 56 * interval '1 day', threshold => 20);
-- the same anomalies with 4 weeks of history
SELECT period AT TIME ZONE 'Asia/Seoul' AS local_day, dimensions, figure, history, reason
FROM segroll.anomalies('anom_daily', timestamptz '2026-01-05 00:00 Asia/Seoul' + 56 * interval '1 day', weeks => 4, min_history => 4);
-- nothing is flagged before the injections
SELECT count(*) AS flagged_before FROM segroll.anomalies('anom_daily', '-infinity', threshold => 3.5)
WHERE period < timestamptz '2026-01-05 00:00 Asia/Seoul' + 56 * interval '1 day';
-- too little history: the first weeks have fewer than min_history comparable
-- periods (day 20 has 2), so a stop there is not flagged; partner a/3 (from
-- day 50) is not flagged on day 61 for its 10-fold count
DELETE FROM tx WHERE channel = 'b' AND ts >= timestamptz '2026-01-05 00:00 Asia/Seoul' + 20 * interval '1 day'
                 AND ts < timestamptz '2026-01-05 00:00 Asia/Seoul' + 21 * interval '1 day';
SELECT segroll.rollup('anom_daily') > 0 AS rolled_up;
SELECT count(*) AS flagged_early FROM segroll.anomalies('anom_daily', '-infinity')
WHERE period < timestamptz '2026-01-05 00:00 Asia/Seoul' + 56 * interval '1 day';
SELECT count(*) AS flagged_early_with_two FROM segroll.anomalies('anom_daily', '-infinity', min_history => 2)
WHERE period < timestamptz '2026-01-05 00:00 Asia/Seoul' + 56 * interval '1 day';
SELECT count(*) AS a3_flagged FROM segroll.anomalies('anom_daily', '-infinity')
WHERE dimensions = '{"channel": "a", "partner": 3}';
-- (with one comparable period enough, it is)
SELECT period AT TIME ZONE 'Asia/Seoul' AS local_day, figure, history, reason FROM segroll.anomalies('anom_daily', '-infinity', min_history => 1)
WHERE dimensions = '{"channel": "a", "partner": 3}';
-- a window with no history (after the last cell, or a new segmentation): no rows
SELECT count(*) AS after_last FROM segroll.anomalies('anom_daily', '2027-01-01');

-- hour grain: the same hour of the same weekday, in the segmentation's zone
CREATE TABLE hx (id bigint PRIMARY KEY, ts timestamptz NOT NULL, site int NOT NULL, amount int NOT NULL);
INSERT INTO hx
SELECT row_number() OVER (), (timestamp '2026-03-02 00:00' + d * interval '1 day' + h * interval '1 hour' + i * interval '1 minute') AT TIME ZONE 'America/New_York',
       1, 5
FROM generate_series(0, 35) d, generate_series(0, 23) h, generate_series(1, 10 + h % 4 + CASE WHEN d = 35 AND h = 14 THEN 30 ELSE 0 END) i;
SELECT segroll.create_segmentation('anom_hourly', 'hx', 'id', 'ts', 'hour', 'America/New_York', '{site}', '{amount}');
-- day 35 is a Monday, 14:00 local has 42 rows instead of 12; DST began on
-- 2026-03-08, between day 0 and day 7: the local hours still line up
SELECT period AT TIME ZONE 'America/New_York' AS local_hour, figure, value, history, reason
FROM segroll.anomalies('anom_hourly', timestamptz '2026-04-06 00:00 America/New_York');
CREATE TABLE ex (id bigint PRIMARY KEY, ts timestamptz NOT NULL, site int NOT NULL, amount int NOT NULL);
SELECT segroll.create_segmentation('anom_empty', 'ex', 'id', 'ts', 'day', 'UTC', '{site}', '{amount}');
SELECT count(*) AS empty FROM segroll.anomalies('anom_empty', '-infinity');

-- a period still in progress is not flagged: the same hour of the last 4
-- weeks had 10 sales, the hour now running has 1 so far, the hour before
-- it (ended) 1 too: only the ended hour is flagged
CREATE TABLE nowx (id bigint PRIMARY KEY, ts timestamptz NOT NULL, site int NOT NULL, amount int NOT NULL);
INSERT INTO nowx
SELECT w * 100 + h * 10 + i, date_trunc('hour', now()) - w * interval '7 days' - h * interval '1 hour' + i * interval '1 minute', 1, 5
FROM generate_series(1, 4) w, generate_series(0, 1) h, generate_series(0, 9) i;
INSERT INTO nowx VALUES (1, date_trunc('hour', now()), 1, 5), (2, date_trunc('hour', now()) - interval '1 hour', 1, 5);
SELECT segroll.create_segmentation('anom_now', 'nowx', 'id', 'ts', 'hour', 'UTC', '{site}', '{amount}');
SELECT period = date_trunc('hour', now()) - interval '1 hour' AS ended_hour, figure, value, history
FROM segroll.anomalies('anom_now', date_trunc('hour', now()) - interval '1 hour')
ORDER BY figure;

-- bad input
SELECT segroll.anomalies('no_such', now());
SELECT segroll.anomalies('anom_daily', now(), threshold => 0);
SELECT segroll.anomalies('anom_daily', now(), threshold => 'NaN');
SELECT segroll.anomalies('anom_daily', now(), threshold => 1001);
SELECT segroll.anomalies('anom_daily', now(), weeks => 0);
SELECT segroll.anomalies('anom_daily', now(), weeks => 4, min_history => 5);
SELECT segroll.anomalies('anom_daily', NULL);
SELECT segroll.anomalies(NULL, now());
SELECT segroll.create_segmentation('anom_weekly', 'hx', 'id', 'ts', 'week', 'UTC', '{site}', '{amount}');
SELECT segroll.anomalies('anom_weekly', now());

SELECT segroll.drop_segmentation(n) FROM unnest(ARRAY['anom_daily', 'anom_hourly', 'anom_empty', 'anom_weekly', 'anom_now']) n;
DROP SCHEMA anom CASCADE;
