-- Anomaly settings, evaluation after each roll-up and the history of flags
-- (issue 16): the threshold and history a DBA sets per segmentation, used
-- by anomalies() when its arguments are not given; a roll-up records the
-- flags of the periods that ended since the last evaluation, once; who may
-- set and read them; week and month grains; bad input.  NOTIFY is checked
-- in test/t/171_anomaly_notify.pl (psql prints a notification with the
-- listener's PID, which changes from run to run).
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'UTC';
CREATE SCHEMA anh;
SET search_path = anh;
GRANT USAGE ON SCHEMA anh TO PUBLIC;
-- five weeks of days before today (UTC), channels a, b and c: 20 to 22 rows
-- a day; injected: channel b doubles yesterday, the last day that ended
CREATE TABLE tx (id bigint PRIMARY KEY, ts timestamptz NOT NULL, channel text NOT NULL, amount numeric NOT NULL);
INSERT INTO tx
SELECT row_number() OVER (ORDER BY d DESC, ch, i), date_trunc('day', now()) - d * interval '1 day' + i * interval '1 minute', ch, 100 + i % 5
FROM unnest(ARRAY['a', 'b', 'c']) ch, generate_series(1, 35) d,
     generate_series(1, (20 + d % 3) * CASE WHEN ch = 'b' AND d = 1 THEN 2 ELSE 1 END) i;
SELECT segroll.create_segmentation('anh_daily', 'tx', 'id', 'ts', 'day', 'UTC', '{channel}', '{amount}');

-- no setting: anomalies() uses 3.5, 8 weeks (4 comparable days here), 4
SELECT dimensions, figure, value, history, round(score::numeric, 1) AS score
FROM segroll.anomalies('anh_daily', date_trunc('day', now()) - interval '1 day');
-- a stored threshold and history are what anomalies() uses without arguments
SELECT segmentation, threshold, weeks, min_history, evaluate_after_rollup, notify, evaluated_upto
FROM segroll.set_anomaly_detection('anh_daily', threshold => 20, weeks => 4, min_history => 3);
SELECT count(*) AS flagged_at_20 FROM segroll.anomalies('anh_daily', date_trunc('day', now()) - interval '1 day');
-- (its own arguments win; history: 4 weeks, as stored)
SELECT dimensions, figure, history FROM segroll.anomalies('anh_daily', date_trunc('day', now()) - interval '1 day', threshold => 3.5);
SELECT dimensions, figure, history FROM segroll.anomalies('anh_daily', date_trunc('day', now()) - interval '1 day', threshold => 3.5, weeks => 5);
-- min_history larger than the history given: the stored one is capped at weeks
SELECT count(*) AS flagged_with_two_weeks FROM segroll.anomalies('anh_daily', date_trunc('day', now()) - interval '1 day', threshold => 3.5, weeks => 2);

-- evaluation after each roll-up
SELECT threshold, weeks, min_history, evaluate_after_rollup, notify
FROM segroll.set_anomaly_detection('anh_daily', threshold => 5, weeks => 4, evaluate_after_rollup => true, notify => true);
SELECT count(*) AS recorded_before FROM segroll.anomaly_history;
-- a sale today (the day in progress) and a roll-up: yesterday is evaluated
INSERT INTO tx VALUES (100001, date_trunc('day', now()), 'a', 100);
SELECT segroll.rollup('anh_daily') AS applied;
SELECT segmentation, period = date_trunc('day', now()) - interval '1 day' AS yesterday, dimensions, figure, value, median,
       round(score::numeric, 1) AS score,
       replace(reason, to_char(date_trunc('day', now()) - interval '1 day', 'FMDay'), '<yesterday''s weekday>') AS reason
FROM segroll.anomaly_log ORDER BY figure;
SELECT evaluated_upto = date_trunc('day', now()) AS evaluated_upto_today, last_error FROM segroll.anomaly_setting;
-- recorded once: another roll-up today evaluates nothing; one that
-- evaluates yesterday again (evaluated_upto cleared by hand) adds nothing
CREATE TABLE first_seen AS SELECT figure, detected_at FROM segroll.anomaly_history;
INSERT INTO tx VALUES (100002, date_trunc('day', now()) + interval '1 second', 'b', 100);
SELECT segroll.rollup('anh_daily') AS applied;
UPDATE segroll.anomaly_setting SET evaluated_upto = NULL;
INSERT INTO tx VALUES (100003, date_trunc('day', now()) + interval '2 seconds', 'c', 100);
SELECT segroll.rollup('anh_daily') AS applied;
SELECT h.figure, h.detected_at = f.detected_at AS same_entry FROM segroll.anomaly_history h JOIN first_seen f USING (figure) ORDER BY 1;
SELECT count(*) AS recorded FROM segroll.anomaly_history;
-- the same threshold in anomalies() finds what was recorded
SELECT count(*) AS flagged_now FROM segroll.anomalies('anh_daily', date_trunc('day', now()) - interval '1 day');

-- an evaluation that fails does not fail the roll-up: the cells are
-- applied, the error is kept and raised as a warning, and the next
-- roll-up evaluates the same periods again
UPDATE segroll.anomaly_setting SET evaluated_upto = NULL;
DELETE FROM segroll.anomaly_history;
ALTER VIEW segroll_data.anh_daily_v RENAME COLUMN channel TO channel_renamed;
INSERT INTO tx VALUES (100004, date_trunc('day', now()) + interval '3 seconds', 'c', 100);
SELECT segroll.rollup('anh_daily') AS applied;
SELECT s.pending_changes, a.evaluated_upto IS NULL AS not_evaluated, a.last_error
FROM segroll.status s JOIN segroll.anomaly_setting a ON a.segmentation = s.name;
ALTER VIEW segroll_data.anh_daily_v RENAME COLUMN channel_renamed TO channel;
INSERT INTO tx VALUES (100005, date_trunc('day', now()) + interval '4 seconds', 'c', 100);
SELECT segroll.rollup('anh_daily') AS applied;
SELECT count(*) AS recorded, (SELECT last_error FROM segroll.anomaly_setting) AS last_error FROM segroll.anomaly_history;

-- who may set and read: the owner sets; a reader of the cells (and an
-- admin, who is a reader) reads the setting and the flags but changes
-- neither; a role that may not read the cells sees neither
CREATE ROLE anh_admin IN ROLE segroll_admin;
CREATE ROLE anh_reader IN ROLE segroll_reader;
CREATE ROLE anh_nobody;
SET ROLE anh_admin;
SELECT segroll.set_anomaly_detection('anh_daily', threshold => 1);
UPDATE segroll.anomaly_setting SET threshold = 1;
SELECT count(*) AS admin_sees_settings FROM segroll.anomaly_setting;
SELECT count(*) AS admin_sees_history FROM segroll.anomaly_history;
SELECT count(*) AS admin_sees_log FROM segroll.anomaly_log;
INSERT INTO segroll.anomaly_history (segmentation, period, dimensions, figure, value, median, score, reason)
VALUES ('anh_daily', now(), '{}', 'count', 1, 1, 99, 'forged');
DELETE FROM segroll.anomaly_history;
RESET ROLE;
SET ROLE anh_reader;
SELECT segroll.set_anomaly_detection('anh_daily', threshold => 1);
SELECT threshold, weeks FROM segroll.anomaly_setting;
SELECT count(*) AS reader_sees_history FROM segroll.anomaly_history;
SELECT count(*) AS reader_sees_log FROM segroll.anomaly_log;
RESET ROLE;
SET ROLE anh_nobody;
SELECT count(*) AS nobody_sees_settings FROM segroll.anomaly_setting;
SELECT count(*) AS nobody_sees_history FROM segroll.anomaly_history;
SELECT count(*) AS nobody_sees_log FROM segroll.anomaly_log;
SELECT count(*) FROM segroll.anomalies('anh_daily', now() - interval '2 days');
RESET ROLE;
SELECT threshold, count(*) AS still_recorded FROM segroll.anomaly_setting, segroll.anomaly_history GROUP BY 1;

-- week grain: the last weeks before; month grain: the last months before
-- (fixed dates, all ended)
CREATE TABLE wx (id bigint PRIMARY KEY, ts timestamptz NOT NULL, site int NOT NULL, amount int NOT NULL);
INSERT INTO wx
SELECT row_number() OVER (), timestamptz '2025-01-06 00:00+00' + w * interval '7 days' + i * interval '1 hour', 1, 5
FROM generate_series(0, 19) w, generate_series(1, CASE WHEN w = 18 THEN 10 ELSE 50 + w % 3 END) i;
SELECT segroll.create_segmentation('anh_weekly', 'wx', 'id', 'ts', 'week', 'UTC', '{site}', '{amount}');
SELECT period, figure, value, history, reason FROM segroll.anomalies('anh_weekly', '2025-01-01');
CREATE TABLE mx (id bigint PRIMARY KEY, ts timestamptz NOT NULL, site int NOT NULL, amount int NOT NULL);
INSERT INTO mx
SELECT row_number() OVER (), (timestamp '2024-01-01 00:00' + m * interval '1 month' + i * interval '1 hour') AT TIME ZONE 'Asia/Seoul', 1, 5
FROM generate_series(0, 13) m, generate_series(1, CASE WHEN m = 12 THEN 200 ELSE 100 + m % 4 END) i;
SELECT segroll.create_segmentation('anh_monthly', 'mx', 'id', 'ts', 'month', 'Asia/Seoul', '{site}', '{amount}');
SELECT period AT TIME ZONE 'Asia/Seoul' AS local_month, figure, value, history, reason
FROM segroll.anomalies('anh_monthly', '2024-01-01', weeks => 6);
-- quarter: the last quarters before (too little history here: none flagged)
SELECT segroll.create_segmentation('anh_quarterly', 'mx', 'id', 'ts', 'quarter', 'Asia/Seoul', '{site}', '{amount}');
SELECT count(*) AS quarters_flagged FROM segroll.anomalies('anh_quarterly', '2024-01-01');

-- bad input
SELECT segroll.set_anomaly_detection('no_such');
SELECT segroll.set_anomaly_detection('anh_daily', threshold => 0);
SELECT segroll.set_anomaly_detection('anh_daily', threshold => 'NaN');
SELECT segroll.set_anomaly_detection('anh_daily', threshold => 1001);
SELECT segroll.set_anomaly_detection('anh_daily', weeks => 0);
SELECT segroll.set_anomaly_detection('anh_daily', weeks => 521);
SELECT segroll.set_anomaly_detection('anh_daily', weeks => 4, min_history => 5);
SELECT segroll.set_anomaly_detection('anh_daily', min_history => 0);
SELECT segroll.set_anomaly_detection('anh_daily', notify => true);
SELECT segroll.set_anomaly_detection('anh_daily', threshold => NULL);
SELECT segroll.set_anomaly_detection(NULL);
-- the stored setting is checked like the arguments
UPDATE segroll.anomaly_setting SET min_history = 9;

-- drop_segmentation removes the setting and the history
SELECT segroll.drop_segmentation(n) FROM unnest(ARRAY['anh_daily', 'anh_weekly', 'anh_monthly', 'anh_quarterly']) n;
SELECT (SELECT count(*) FROM segroll.anomaly_setting) AS settings, (SELECT count(*) FROM segroll.anomaly_history) AS history;
DROP SCHEMA anh CASCADE;
DROP ROLE anh_admin, anh_reader, anh_nobody;
