-- Precision and recall of segroll.anomalies() (issue 16, part 2) on
-- generated data with injected anomalies.  Run as a superuser in a scratch
-- database with segroll installed:
--
--   psql -X -d scratch -f bench/anomalies.sql
--
-- Data (deterministic: setseed): 8 channels x 5 partners = 40 segments,
-- 70 days in Asia/Seoul.  A segment's day has base x weekday factor x
-- (1 +- 15 %) rows, each of price x (0.5 .. 1.5).  The last 14 days
-- (560 cells) are evaluated, each against the 8 weeks before it; in them
-- 30 cells are injected, 10 of each kind:
--   stop    the cell has no rows (a channel that stops);
--   double  twice the rows (a partner that doubles);
--   price   one row at 100 times its price (a price error: the count normal).
-- A cell counts as flagged when any of its figures is.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS anom_bench CASCADE;
CREATE SCHEMA anom_bench;
SET search_path = anom_bench;
SELECT setseed(0.16);
CREATE TABLE seg AS
SELECT ch, p, 20 + floor(random() * 60)::int AS base, 50 + floor(random() * 950)::int AS price
FROM generate_series(1, 8) ch, generate_series(1, 5) p;
CREATE TABLE plan AS
SELECT s.ch, s.p, d.day,
       round(s.base * (ARRAY[1.0, 1.1, 1.1, 1.2, 1.4, 0.8, 0.6])[d.day % 7 + 1] * (0.85 + 0.3 * random()))::int AS n,
       NULL::text AS kind
FROM seg s, generate_series(0, 69) d(day)
ORDER BY s.ch, s.p, d.day;
-- 30 distinct cells of the last 14 days, 10 per kind
WITH pick AS (
	SELECT ch, p, day, row_number() OVER (ORDER BY random()) AS r FROM plan WHERE day >= 56
)
UPDATE plan SET kind = CASE WHEN r <= 10 THEN 'stop' WHEN r <= 20 THEN 'double' ELSE 'price' END
FROM pick WHERE pick.r <= 30 AND (plan.ch, plan.p, plan.day) = (pick.ch, pick.p, pick.day);
UPDATE plan SET n = 0 WHERE kind = 'stop';
UPDATE plan SET n = n * 2 WHERE kind = 'double';
CREATE TABLE tx (id bigint PRIMARY KEY, ts timestamptz NOT NULL, channel text NOT NULL, partner int NOT NULL, amount numeric NOT NULL);
INSERT INTO tx
SELECT row_number() OVER (ORDER BY pl.day, pl.ch, pl.p, i),
       (timestamp '2026-01-05' + pl.day * interval '1 day' + (i * 86399 / pl.n) * interval '1 second') AT TIME ZONE 'Asia/Seoul',
       'ch' || pl.ch, pl.p,
       round((s.price * (0.5 + random()) * CASE WHEN pl.kind = 'price' AND i = 1 THEN 100 ELSE 1 END)::numeric, 2)
FROM plan pl JOIN seg s USING (ch, p), generate_series(1, pl.n) i;
SELECT segroll.create_segmentation('anom_bench', 'anom_bench.tx', 'id', 'ts', 'day', 'Asia/Seoul', '{channel,partner}', '{amount}');

CREATE TABLE truth AS
SELECT jsonb_build_object('channel', 'ch' || ch, 'partner', p) AS dims,
       (timestamp '2026-01-05' + day * interval '1 day') AT TIME ZONE 'Asia/Seoul' AS period, kind
FROM plan WHERE day >= 56;
CREATE TABLE flagged AS
SELECT t.threshold, a.dimensions AS dims, a.period
FROM unnest(ARRAY[2.5, 3.5, 5, 8]::float8[]) t(threshold)
CROSS JOIN LATERAL segroll.anomalies('anom_bench', (timestamp '2026-03-02') AT TIME ZONE 'Asia/Seoul', t.threshold) a
GROUP BY 1, 2, 3;

\echo 'precision and recall by threshold (560 cells evaluated, 30 injected)'
SELECT f.threshold,
       count(*) AS flagged,
       count(*) FILTER (WHERE t.kind IS NOT NULL) AS true_pos,
       round(100.0 * count(*) FILTER (WHERE t.kind IS NOT NULL) / NULLIF(count(*), 0), 1) AS precision_pct,
       round(100.0 * count(*) FILTER (WHERE t.kind IS NOT NULL) / (SELECT count(*) FROM truth WHERE kind IS NOT NULL), 1) AS recall_pct
FROM flagged f JOIN truth t USING (dims, period)
GROUP BY f.threshold ORDER BY f.threshold;
\echo 'recall by kind of anomaly'
SELECT th.threshold, t.kind,
       count(f.dims) AS found, count(*) AS injected
FROM truth t CROSS JOIN unnest(ARRAY[2.5, 3.5, 5, 8]::float8[]) th(threshold)
LEFT JOIN flagged f ON (f.dims, f.period, f.threshold) = (t.dims, t.period, th.threshold)
WHERE t.kind IS NOT NULL
GROUP BY 1, 2 ORDER BY 1, 2;

SELECT segroll.drop_segmentation('anom_bench');
DROP SCHEMA anom_bench CASCADE;
