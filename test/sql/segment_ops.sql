-- Merging, subtracting and retracting: the primitives of incremental roll-up.
SET TimeZone = 'UTC';

CREATE TABLE ops_src (id bigint PRIMARY KEY, ts timestamptz, day date, item int, brand int, amount numeric(12,2), qty int);
INSERT INTO ops_src
SELECT g, '2026-10-01'::timestamptz + (g % 61) * interval '1 day' + (g % 1440) * interval '1 minute',
       ('2026-10-01'::date + (g % 61)), g % 50, (g % 50) / 10,
       round(((g * 7919) % 100000) / 100.0, 2), g % 9 - 2
FROM generate_series(1, 30000) g;

-- day x item cells
CREATE TABLE day_item AS
SELECT day, item, brand, segroll.segment_agg(id, ts, amount, qty) AS s
FROM ops_src GROUP BY day, item, brand;

-- re-roll day x item to month x brand with merge(): equal to building at month x brand
SELECT count(*) AS reroll_mismatches FROM (
	(SELECT date_trunc('month', day) AS m, brand, segroll.merge(s) AS s FROM day_item GROUP BY 1, 2
	 EXCEPT ALL
	 SELECT date_trunc('month', day), brand, segroll.segment_agg(id, ts, amount, qty) FROM ops_src GROUP BY 1, 2)
	UNION ALL
	(SELECT date_trunc('month', day), brand, segroll.segment_agg(id, ts, amount, qty) FROM ops_src GROUP BY 1, 2
	 EXCEPT ALL
	 SELECT date_trunc('month', day) AS m, brand, segroll.merge(s) AS s FROM day_item GROUP BY 1, 2)) d;

-- merged sums equal PostgreSQL's sums over the raw rows
SELECT count(*) AS sum_mismatches FROM (
	SELECT brand, segroll.sum(segroll.merge(s), 1) AS a, segroll.sum(segroll.merge(s), 2) AS q
	FROM day_item GROUP BY brand
	EXCEPT ALL
	SELECT brand, sum(amount), sum(qty) FROM ops_src GROUP BY brand) d;

-- two-argument merge and checksum additivity
SELECT segroll.merge(a.s, b.s) OPERATOR(segroll.=)
       (SELECT segroll.segment_agg(id, ts, amount, qty) FROM ops_src WHERE day = '2026-10-05' AND item IN (1, 2)) AS merge2_ok,
       (segroll.checksum(segroll.merge(a.s, b.s))::numeric
        - segroll.checksum(a.s) - segroll.checksum(b.s)) % 18446744073709551616 = 0 AS checksum_adds
FROM day_item a, day_item b
WHERE a.day = '2026-10-05' AND a.item = 1 AND b.day = '2026-10-05' AND b.item = 2;

-- merging a segment with itself would count its rows twice
SELECT segroll.merge(s, s) FROM day_item WHERE day = '2026-10-05' AND item = 1;
SELECT segroll.merge(s) FROM (SELECT s FROM day_item WHERE day = '2026-10-05' AND item = 1
                              UNION ALL SELECT s FROM day_item WHERE day = '2026-10-05' AND item = 1) x;
-- segments of different shapes do not merge
SELECT segroll.merge(segroll.segment_agg(1, now(), 1), segroll.segment_agg(2, now()));
-- NULL segments are skipped, as sum() skips NULLs; no rows gives NULL
SELECT segroll.count(segroll.merge(s)) FROM (VALUES (NULL::segroll.segment)) v(s);
SELECT segroll.count(segroll.merge(s)) FROM (SELECT s FROM day_item WHERE item = 3 UNION ALL SELECT NULL) x;
-- with and without lineage: the union has no lineage
SELECT segroll.has_lineage(segroll.merge(segroll.segment_agg(1, now(), 1), segroll.segment_agg_nolineage(2, now(), 1)));

-- subtract the rows of a subset: equal to building without them, min/max become bounds
SELECT segroll.subtract(whole, part) OPERATOR(segroll.=) rest AS identical_to_rebuilt,
       segroll.sum(segroll.subtract(whole, part), 1) = segroll.sum(rest, 1) AS sum_ok,
       segroll.count(segroll.subtract(whole, part)) = segroll.count(rest) AS count_ok,
       segroll.checksum(segroll.subtract(whole, part)) = segroll.checksum(rest) AS checksum_ok,
       segroll.minmax_known(segroll.subtract(whole, part)) AS minmax_known
FROM (SELECT segroll.segment_agg(id, ts, amount, qty) AS whole,
             segroll.segment_agg(id, ts, amount, qty) FILTER (WHERE id % 3 = 0) AS part,
             segroll.segment_agg(id, ts, amount, qty) FILTER (WHERE id % 3 <> 0) AS rest
      FROM ops_src WHERE item = 7) x;
SELECT count(*) AS key_mismatches FROM (
	SELECT segroll.keys(segroll.subtract(whole, part)) FROM
	(SELECT segroll.segment_agg(id, ts, amount, qty) AS whole,
	        segroll.segment_agg(id, ts, amount, qty) FILTER (WHERE id % 3 = 0) AS part
	 FROM ops_src WHERE item = 7) x
	EXCEPT ALL SELECT id FROM ops_src WHERE item = 7 AND id % 3 <> 0) d;

-- retracting a row that is not at a bound keeps min/max exact
CREATE TABLE r AS SELECT segroll.segment_agg(id, ts, amount, qty) AS s FROM
	(VALUES (1::bigint, '2026-01-01 00:00+00'::timestamptz, 1.00::numeric(12,2), 1),
	        (2, '2026-01-02 00:00+00', 5.00, 2),
	        (3, '2026-01-03 00:00+00', 9.00, 3)) v(id, ts, amount, qty);
SELECT segroll.retract(s, 2, '2026-01-02 00:00+00', 5.00, 2) FROM r;
-- retracting the row holding the minimum makes the bounds approximate
SELECT segroll.minmax_known(segroll.retract(s, 1, '2026-01-01 00:00+00', 1.00, 1)) FROM r;
SELECT segroll.min(segroll.retract(s, 1, '2026-01-01 00:00+00', 1.00, 1), 1) FROM r;
SELECT segroll.first_time(segroll.retract(s, 1, '2026-01-01 00:00+00', 1.00, 1)) FROM r;
SELECT segroll.sum(segroll.retract(s, 1, '2026-01-01 00:00+00', 1.00, 1), 1) FROM r;
-- retracting everything leaves an empty segment with exact (absent) bounds
SELECT segroll.retract(segroll.retract(segroll.retract(s, 1, '2026-01-01 00:00+00', 1.00, 1),
       2, '2026-01-02 00:00+00', 5.00, 2), 3, '2026-01-03 00:00+00', 9.00, 3) FROM r;
-- a retraction must name a row that is there
SELECT segroll.retract(s, 4, '2026-01-02 00:00+00', 5.00, 2) FROM r;
SELECT segroll.retract(s, 2, '2026-01-02 00:00+00', 5.00) FROM r;
SELECT segroll.retract(NULL, 2, '2026-01-02 00:00+00', 5.00, 2);
SELECT segroll.subtract(segroll.segment_agg(1, now()), segroll.segment_agg(1, now(), 1));
SELECT segroll.subtract(s, (SELECT segroll.segment_agg_nolineage(2, '2026-01-02 00:00+00', 5.00::numeric(12,2), 2))) FROM r;
-- NaN cannot be taken back out of a sum
SELECT segroll.retract(segroll.segment_agg(g, '2026-01-01', CASE WHEN g = 1 THEN 'NaN'::numeric ELSE g END),
                       1, '2026-01-01', 'NaN'::numeric)
FROM generate_series(1, 2) g;

-- row_checksum is what retraction subtracts
SELECT segroll.checksum(s) - segroll.checksum(segroll.retract(s, 2, '2026-01-02 00:00+00', 5.00, 2))
       = segroll.row_checksum(2, '2026-01-02 00:00+00', 5.00, 2) AS row_checksum_ok
FROM r;
-- a row's checksum depends on values, not on their types or display scale
SELECT segroll.row_checksum(1, '2026-01-01', 5) = segroll.row_checksum(1, '2026-01-01', 5.00) AS scale_free,
       segroll.row_checksum(1, '2026-01-01', 5) <> segroll.row_checksum(1, '2026-01-01', 6) AS value_sensitive,
       segroll.row_checksum(1, '2026-01-01', 5) <> segroll.row_checksum(2, '2026-01-01', 5) AS key_sensitive,
       segroll.row_checksum(1, '2026-01-01', NULL::int) <> segroll.row_checksum(1, '2026-01-01', 0) AS null_sensitive;

-- equality, hashing and ordering make segments usable in DISTINCT, GROUP BY and indexes
SELECT count(DISTINCT s) AS distinct_cells, count(*) AS cells FROM day_item;
SET enable_hashagg = off;
SELECT count(*) FROM (SELECT s FROM day_item GROUP BY s) x;
RESET enable_hashagg;
SET enable_sort = off;
SELECT count(*) FROM (SELECT s FROM day_item GROUP BY s) x;
RESET enable_sort;
CREATE INDEX ON day_item (s);
SET enable_seqscan = off;
SELECT count(*) FROM day_item a WHERE s OPERATOR(segroll.=) (SELECT s FROM day_item WHERE day = '2026-10-07' AND item = 4);
RESET enable_seqscan;

-- without_lineage: the same figures without the keys (a large cell's head);
-- merge and subtract keep working on it, and it never regains lineage
SELECT bool_and(NOT segroll.has_lineage(segroll.without_lineage(s))) AS no_lineage,
       bool_and(segroll.count(segroll.without_lineage(s)) = segroll.count(s)
                AND segroll.sum(segroll.without_lineage(s), 1) IS NOT DISTINCT FROM segroll.sum(s, 1)
                AND segroll.min(segroll.without_lineage(s), 1) IS NOT DISTINCT FROM segroll.min(s, 1)
                AND segroll.checksum(segroll.without_lineage(s)) = segroll.checksum(s)) AS same_figures,
       bool_and(segroll.without_lineage(segroll.without_lineage(s)) OPERATOR(segroll.=) segroll.without_lineage(s)) AS idempotent
FROM day_item;
SELECT segroll.without_lineage(NULL) IS NULL AS strict;
-- head - part + part: the head's count, sums and checksum; min/max unknown
-- when the part held an extreme (the roll-up then recomputes them)
SELECT segroll.count(r) = segroll.count(h) AND segroll.sum(r, 1) = segroll.sum(h, 1)
       AND segroll.checksum(r) = segroll.checksum(h) AS same_figures,
       segroll.minmax_known(r) AS minmax_known, segroll.has_lineage(r) AS has_lineage,
       segroll.has_lineage(segroll.merge(h, c)) AS merged_has_lineage
FROM (SELECT segroll.without_lineage(segroll.merge(s)) AS h FROM day_item WHERE item IN (1, 2)) a,
     (SELECT segroll.merge(s) AS b FROM day_item WHERE item = 2) b,
     (SELECT segroll.merge(s) AS c FROM day_item WHERE item = 3) c,
     LATERAL (SELECT segroll.merge(segroll.subtract(a.h, b.b), b.b) AS r) r;
