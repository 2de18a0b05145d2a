-- Exactness of segment_agg against PostgreSQL's own aggregates.
SET extra_float_digits = 0;
SET TimeZone = 'UTC';

CREATE TABLE src (
	id      bigint PRIMARY KEY,
	ts      timestamptz NOT NULL,
	grp     int NOT NULL,
	a_num   numeric(12,2),
	a_int   integer,
	a_small smallint,
	a_big   bigint,
	a_free  numeric          -- unconstrained: mixed display scales
);

SELECT setseed(0.42);
INSERT INTO src
SELECT g,
       '2026-11-01 00:00:00+00'::timestamptz + (g * 7919 % 86400) * interval '1 second',
       g % 7,
       CASE WHEN g % 11 = 0 THEN NULL ELSE round((random() * 20000 - 5000)::numeric, 2) END,
       CASE WHEN g % 13 = 0 THEN NULL ELSE (random() * 2000000000)::int - 1000000000 END,
       (g % 30000 - 15000)::smallint,
       CASE WHEN g % 17 = 0 THEN NULL ELSE (random() * 9e18)::bigint END,
       CASE g % 4 WHEN 0 THEN round(random()::numeric, 1)
                  WHEN 1 THEN round(random()::numeric * 1000, 4)
                  WHEN 2 THEN (g % 100)::numeric
                  ELSE NULL END
FROM generate_series(1, 20000) g;

-- segments per group, built once
CREATE TABLE seg AS
SELECT grp, segroll.segment_agg(id, ts, a_num, a_int, a_small, a_big, a_free) AS s
FROM src GROUP BY grp;

-- every accessor equals the plain aggregate, both ways (text compare keeps display scale honest)
CREATE VIEW plain AS
SELECT grp, count(*)::text AS n,
       sum(a_num)::text AS s1, sum(a_int)::text AS s2, sum(a_small)::text AS s3,
       sum(a_big)::text AS s4, sum(a_free)::text AS s5,
       min(a_num)::text AS mn1, max(a_num)::text AS mx1,
       min(a_int)::text AS mn2, max(a_int)::text AS mx2,
       min(a_big)::text AS mn4, max(a_big)::text AS mx4,
       avg(a_num)::text AS av1, avg(a_int)::text AS av2, avg(a_small)::text AS av3,
       avg(a_big)::text AS av4, avg(a_free)::text AS av5,
       count(a_num)::text AS c1, count(a_free)::text AS c5,
       min(ts)::text AS first, max(ts)::text AS last
FROM src GROUP BY grp;

CREATE VIEW from_segments AS
SELECT grp, segroll.count(s)::text AS n,
       segroll.sum(s, 1)::text AS s1, segroll.sum(s, 2)::text AS s2, segroll.sum(s, 3)::text AS s3,
       segroll.sum(s, 4)::text AS s4, segroll.sum(s, 5)::text AS s5,
       segroll.min(s, 1)::text AS mn1, segroll.max(s, 1)::text AS mx1,
       segroll.min(s, 2)::text AS mn2, segroll.max(s, 2)::text AS mx2,
       segroll.min(s, 4)::text AS mn4, segroll.max(s, 4)::text AS mx4,
       segroll.avg(s, 1)::text AS av1, segroll.avg(s, 2)::text AS av2, segroll.avg(s, 3)::text AS av3,
       segroll.avg(s, 4)::text AS av4, segroll.avg(s, 5)::text AS av5,
       segroll.count(s, 1)::text AS c1, segroll.count(s, 5)::text AS c5,
       segroll.first_time(s)::text AS first, segroll.last_time(s)::text AS last
FROM seg;

SELECT count(*) AS mismatches FROM (
	(SELECT * FROM plain EXCEPT ALL SELECT * FROM from_segments)
	UNION ALL
	(SELECT * FROM from_segments EXCEPT ALL SELECT * FROM plain)) d;

-- the lineage is exactly the keys of the group
SELECT count(*) AS lineage_mismatches FROM (
	(SELECT grp, id FROM src EXCEPT ALL SELECT grp, segroll.keys(s) FROM seg)
	UNION ALL
	(SELECT grp, segroll.keys(s) FROM seg EXCEPT ALL SELECT grp, id FROM src)) d;

-- keys come back in ascending order
SELECT bool_and(k > lag_k) AS keys_ascending
FROM (SELECT k, lag(k) OVER (ORDER BY ord) AS lag_k
      FROM seg, segroll.keys(s) WITH ORDINALITY AS t(k, ord) WHERE grp = 3) x
WHERE lag_k IS NOT NULL;

-- the checksum is the sum of row checksums mod 2^64
SELECT count(*) AS checksum_mismatches
FROM seg JOIN (
	SELECT grp, ((sum(segroll.row_checksum(id, ts, a_num, a_int, a_small, a_big, a_free)::numeric)
	             % 18446744073709551616) + 18446744073709551616) % 18446744073709551616 AS c
	FROM src GROUP BY grp) r USING (grp)
WHERE ((segroll.checksum(s)::numeric + 18446744073709551616) % 18446744073709551616) <> r.c;

-- the order rows arrive in does not change the value
SELECT count(*) AS order_dependent FROM seg
JOIN (SELECT grp, segroll.segment_agg(id, ts, a_num, a_int, a_small, a_big, a_free ORDER BY random()) AS s2
      FROM src GROUP BY grp) r USING (grp)
WHERE s OPERATOR(segroll.<>) s2;

-- without lineage: same measures, no keys
SELECT count(*) AS nolineage_mismatches FROM seg
JOIN (SELECT grp, segroll.segment_agg_nolineage(id, ts, a_num, a_int, a_small, a_big, a_free) AS s2
      FROM src GROUP BY grp) r USING (grp)
WHERE segroll.sum(s, 1) IS DISTINCT FROM segroll.sum(s2, 1)
   OR segroll.sum(s, 4) IS DISTINCT FROM segroll.sum(s2, 4)
   OR segroll.checksum(s) <> segroll.checksum(s2)
   OR segroll.count(s) <> segroll.count(s2)
   OR segroll.has_lineage(s2);

-- integer overflow is impossible: bigint sums are kept in 128 bits
SELECT segroll.sum(segroll.segment_agg(g, now(), 9223372036854775807::bigint), 1)
     = sum(9223372036854775807::bigint) AS big_sum_exact
FROM generate_series(1, 1000) g;

-- beyond 128 bits, NaN and infinity: numeric arithmetic takes over, exactly
CREATE TABLE wide (id bigint, v numeric);
INSERT INTO wide VALUES
	(1, 1e40), (2, -3.5), (3, 123456789012345678901234567890.123456789),
	(4, 0.000000000000000000000000000000000000000001), (5, NULL);
SELECT segroll.sum(s, 1) = sum AS wide_sum_exact, segroll.min(s, 1) = min AS min_ok,
       segroll.max(s, 1) = max AS max_ok, segroll.avg(s, 1) = avg AS avg_ok
FROM (SELECT segroll.segment_agg(id, '2026-01-01', v) s, sum(v), min(v), max(v), avg(v) FROM wide) x;
SELECT segroll.sum(segroll.segment_agg(g, '2026-01-01', CASE WHEN g = 2 THEN 'NaN'::numeric ELSE g END), 1)
FROM generate_series(1, 3) g;
SELECT segroll.sum(s, 1), segroll.min(s, 1), segroll.max(s, 1)
FROM (SELECT segroll.segment_agg(g, '2026-01-01', CASE WHEN g = 2 THEN 'Infinity'::numeric ELSE g END) s
      FROM generate_series(1, 3) g) x;

-- a measure with only NULLs: sum is NULL as in PostgreSQL
SELECT segroll.sum(s, 1) IS NULL AS sum_null, segroll.count(s, 1) AS nonnull, segroll.count(s) AS n
FROM (SELECT segroll.segment_agg(g, '2026-01-01', NULL::numeric) s FROM generate_series(1, 3) g) x;

-- count-only segments
SELECT segroll.count(s), segroll.measures(s), segroll.stored_size(s) < 200 AS compact
FROM (SELECT segroll.segment_agg(id, ts) s FROM src) x;

-- domains over numeric are measures too
CREATE DOMAIN money_amount AS numeric(14,2);
SELECT segroll.sum(segroll.segment_agg(g, '2026-01-01', (g * 1.25)::money_amount), 1)
FROM generate_series(1, 4) g;

-- refusals
SELECT segroll.segment_agg(id, ts, a_num) FROM (VALUES (1::bigint, now(), 1.0), (1, now(), 2.0)) v(id, ts, a_num);
SELECT segroll.segment_agg(id, ts) FROM (VALUES (NULL::bigint, now())) v(id, ts);
SELECT segroll.segment_agg(id, ts) FROM (VALUES (1::bigint, NULL::timestamptz)) v(id, ts);
SELECT segroll.segment_agg(1, now(), 1.5::float8);
SELECT segroll.segment_agg(1, now(), 'x'::text);
SELECT segroll.segment_agg(1, now(), NULL);
SELECT segroll.segment_agg(1, now(), VARIADIC ARRAY[1.0, 2.0]);
SELECT segroll.sum(segroll.segment_agg(1, now(), 1), 0);
SELECT segroll.sum(segroll.segment_agg(1, now(), 1), 2);
SELECT segroll.keys(segroll.segment_agg_nolineage(1, now(), 1));

-- accessors build numerics directly: same text, value and wire form as numeric_in
SELECT v::text AS value, (s::text = v::text AND s = v AND numeric_send(s) = numeric_send(v)) AS identical
FROM (SELECT v, (SELECT segroll.sum(segroll.segment_agg(1, '2026-01-01', w), 1) FROM (SELECT v AS w) q) AS s
      FROM (VALUES (0::numeric), (1), (-1), (0.5), (-0.05), (12345.6789), (10000), (0.0001), (99999999.99),
                   (-123456789012345678.123456789), (1.000), (100.00), (0.00), (-0.10), (9999), (10000.0000),
                   (1e20), (123456789012345678901234567890.12345678), (0.000000000000000000000000000000000001),
                   (-1e37), (1e-30), (123.4500)) t(v)) x;
