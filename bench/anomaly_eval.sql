-- What evaluating anomaly flags after each roll-up adds to a roll-up
-- (issue 16).  Run as a superuser in a scratch database with segroll:
--
--   psql -X -d scratch -f bench/anomaly_eval.sql
--
-- Data (deterministic: setseed): 8 channels x 5 partners = 40 segments, the
-- 70 days before today (UTC), 20 to 80 rows a day per segment (about 140 000
-- rows, 2 800 cells of a day-grain segmentation with one measure); one
-- segment has 400 rows yesterday, a flag to record.  Each
-- trial inserts 1 000 rows dated today and times segroll.rollup() (psql's
-- clock, committed statements):
--   off       evaluation off (set_anomaly_detection's default);
--   evaluate  evaluation on, a period has ended since the last evaluation
--             (evaluated_upto cleared): anomalies() over yesterday, the
--             flags recorded, NOTIFY;
--   on, none  evaluation on, no period ended since the last evaluation
--             (the roll-ups of the rest of the day).
-- Five trials each; the medians are printed.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SELECT segroll.drop_segmentation('anom_eval') FROM segroll.segmentation WHERE name = 'anom_eval';
DROP SCHEMA IF EXISTS anom_eval CASCADE;
CREATE SCHEMA anom_eval;
SET search_path = anom_eval;
SELECT setseed(0.16);
CREATE TABLE tx (id bigint PRIMARY KEY, ts timestamptz NOT NULL, channel int NOT NULL, partner int NOT NULL, amount numeric NOT NULL);
INSERT INTO tx
SELECT row_number() OVER (), date_trunc('day', now()) - d * interval '1 day' + i * interval '1 minute', ch, p, 100 + (i * 7) % 50
FROM generate_series(1, 8) ch, generate_series(1, 5) p, generate_series(1, 70) d,
     LATERAL generate_series(1, CASE WHEN ch = 1 AND p = 1 AND d = 1 THEN 400 ELSE 20 + floor(random() * 60)::int + 0 * d END) i;
SELECT segroll.create_segmentation('anom_eval', 'tx', 'id', 'ts', 'day', 'UTC', '{channel,partner}', '{amount}');
SELECT count(*) AS source_rows, (SELECT count(*) FROM segroll_data.anom_eval) AS cells FROM tx;
CREATE TABLE timing (mode text, ms float8);
CREATE SEQUENCE next_id START 10000000;
LISTEN segroll_anomaly;
\set trial 'INSERT INTO tx SELECT nextval(''next_id''), date_trunc(''day'', now()) + g * interval ''1 second'', g % 8 + 1, g % 5 + 1, 100 FROM generate_series(1, 1000) g'

\o /dev/null
SELECT segroll.set_anomaly_detection('anom_eval');
:trial;
SELECT segroll.rollup('anom_eval');
\o
\set mode off
\set reset false
\ir anomaly_eval_trial.sql
\ir anomaly_eval_trial.sql
\ir anomaly_eval_trial.sql
\ir anomaly_eval_trial.sql
\ir anomaly_eval_trial.sql
SELECT segroll.set_anomaly_detection('anom_eval', evaluate_after_rollup => true, notify => true) \gset
\set mode evaluate
\set reset true
\ir anomaly_eval_trial.sql
\ir anomaly_eval_trial.sql
\ir anomaly_eval_trial.sql
\ir anomaly_eval_trial.sql
\ir anomaly_eval_trial.sql
\set mode 'on, none'
\set reset false
\ir anomaly_eval_trial.sql
\ir anomaly_eval_trial.sql
\ir anomaly_eval_trial.sql
\ir anomaly_eval_trial.sql
\ir anomaly_eval_trial.sql
UNLISTEN *;
SELECT mode, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) AS median_ms,
       round(min(ms)::numeric, 1) AS min_ms, round(max(ms)::numeric, 1) AS max_ms
FROM timing GROUP BY mode ORDER BY median_ms;
SELECT count(*) AS flags_recorded FROM segroll.anomaly_history WHERE segmentation = 'anom_eval';
SELECT segroll.drop_segmentation('anom_eval');
DROP SCHEMA anom_eval CASCADE;
