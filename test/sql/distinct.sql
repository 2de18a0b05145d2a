-- Distinct measures (issue 17): distinct_hash(column) passed to segment_agg
-- counts distinct values: exactly up to 256 of them (a set of hashes with a
-- count each), as a HyperLogLog sketch above.  Merge = build from the
-- union, byte for byte; retraction is exact in exact mode and flags a
-- sketch stale, which the roll-up repairs from the cell's lineage; bad text
-- forms are refused.
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'UTC';
CREATE SCHEMA dc;
SET search_path = dc;

-- 100 rows, 40 customers: exact, also through text, merges and retractions
CREATE TABLE t (id bigint PRIMARY KEY, ts timestamptz NOT NULL, cust int, amount numeric(12,2));
INSERT INTO t SELECT g, '2026-11-01'::timestamptz + g * interval '7 minutes', g % 40, g FROM generate_series(1, 100) g;
CREATE TABLE s40 AS SELECT segroll.segment_agg(id, ts, amount, segroll.distinct_hash(cust)) AS s FROM t;
SELECT segroll.distinct(s, 1) AS distinct_customers, (SELECT count(DISTINCT cust) FROM t) AS exact,
       segroll.distinct_exact(s, 1) AS exact_mode, segroll.measures(s) AS measures,
       segroll.distinct_measures(s) AS distinct_measures, segroll.sum(s, 1) AS amount
FROM s40;
SELECT s::text::segroll.segment OPERATOR(segroll.=) s AS text_round_trip FROM s40;
-- merge of halves = build from all, bytes equal
SELECT segroll.merge(a.s, b.s) OPERATOR(segroll.=) (SELECT s FROM s40) AS merge_equals_build,
       segroll.distinct(segroll.merge(a.s, b.s), 1) AS merged
FROM (SELECT segroll.segment_agg(id, ts, amount, segroll.distinct_hash(cust)) s FROM t WHERE id <= 50) a,
     (SELECT segroll.segment_agg(id, ts, amount, segroll.distinct_hash(cust)) s FROM t WHERE id > 50) b;
-- retract: customer 5 has rows 5, 45, 85; removing two keeps it, the third drops it
SELECT segroll.distinct(r1, 1) AS after_one, segroll.distinct(r3, 1) AS after_three,
       r3 OPERATOR(segroll.=) (SELECT segroll.segment_agg(id, ts, amount, segroll.distinct_hash(cust)) FROM t WHERE id NOT IN (5, 45, 85)) AS r3_equals_rebuild
FROM (SELECT segroll.retract(s, 5, (SELECT ts FROM t WHERE id = 5), 5.00, segroll.distinct_hash(5)) r1,
             segroll.retract(segroll.retract(segroll.retract(s, 5, (SELECT ts FROM t WHERE id = 5), 5.00, segroll.distinct_hash(5)),
                             45, (SELECT ts FROM t WHERE id = 45), 45.00, segroll.distinct_hash(5)),
                             85, (SELECT ts FROM t WHERE id = 85), 85.00, segroll.distinct_hash(5)) r3
      FROM s40) x;
-- retracting a value the segment does not hold is an error, as a key is
SELECT segroll.count(segroll.retract(s, 5, (SELECT ts FROM t WHERE id = 5), 5.00, segroll.distinct_hash(999))) FROM s40;
-- the row checksum includes the distinct value
SELECT (segroll.checksum(s)::numeric - segroll.checksum(segroll.retract(s, 5, (SELECT ts FROM t WHERE id = 5), 5.00, segroll.distinct_hash(5)))::numeric
        - segroll.row_checksum(5, (SELECT ts FROM t WHERE id = 5), 5.00, segroll.distinct_hash(5))::numeric) % 18446744073709551616 = 0 AS row_checksum_ok,
       segroll.row_checksum(5, (SELECT ts FROM t WHERE id = 5), 5.00, segroll.distinct_hash(5))
       <> segroll.row_checksum(5, (SELECT ts FROM t WHERE id = 5), 5.00, segroll.distinct_hash(6)) AS value_counts
FROM s40;
-- NULLs are not counted, as count(DISTINCT) does not count them
SELECT segroll.distinct(segroll.segment_agg(g, '2026-01-01', segroll.distinct_hash(CASE WHEN g % 3 = 0 THEN NULL ELSE g % 7 END)), 1) AS d,
       count(DISTINCT CASE WHEN g % 3 = 0 THEN NULL ELSE g % 7 END) AS exact
FROM generate_series(1, 50) g;
-- text, uuid, bigint; integer and bigint values hash alike
SELECT segroll.distinct(segroll.segment_agg(g, '2026-01-01', segroll.distinct_hash('c' || g % 30), segroll.distinct_hash(md5((g % 70)::text)::uuid),
                                            segroll.distinct_hash((g % 90)::bigint)), n) AS d
FROM generate_series(1, 1000) g, generate_series(1, 3) n GROUP BY n ORDER BY n;
SELECT segroll.distinct_hash(7)::text = segroll.distinct_hash(7::bigint)::text AS int_as_bigint,
       segroll.distinct_hash(7::bigint)::text = segroll.distinct_hash(7::bigint)::text::segroll.dhash::text AS dhash_text;
-- the threshold: 256 distinct values are a set, 257 a sketch
SELECT n, segroll.distinct_exact(s, 1) AS exact_mode, segroll.distinct(s, 1) AS d
FROM (SELECT n, (SELECT segroll.segment_agg_nolineage(g, '2026-01-01', segroll.distinct_hash(g)) FROM generate_series(1, n) g) s
      FROM unnest(ARRAY[255, 256, 257]) n) x ORDER BY n;

-- above the threshold: relative error within 3 % (the estimator's standard
-- error is 0.81 %), for several seeds at each size
SELECT n, count(*) AS cells, max(abs(d - n)::numeric / n) <= 0.03 AS within_3pct
FROM (SELECT n, k, segroll.distinct((SELECT segroll.segment_agg_nolineage(g, '2026-01-01', segroll.distinct_hash(g::bigint * 1000003 + k))
                                     FROM generate_series(1, n) g), 1) AS d
      FROM unnest(ARRAY[1000, 10000, 100000]) n, generate_series(1, 3) k) x
GROUP BY n ORDER BY n;
SELECT abs(segroll.distinct(segroll.segment_agg_nolineage(g, '2026-01-01', segroll.distinct_hash(g)), 1) - 1000000) / 1000000.0 <= 0.03 AS one_million_within_3pct
FROM generate_series(1, 1000000) g;

-- merge of day cells = build from the union, bytes equal, in both modes;
-- and in any order (a sketch does not depend on insertion order)
CREATE TABLE m AS SELECT g AS id, '2026-11-01'::timestamptz + (g % 30) * interval '1 day' AS ts, g % 7919 AS cust, g % 13 AS small
FROM generate_series(1, 60000) g;
CREATE TABLE m_days AS SELECT date_trunc('day', ts) AS day, segroll.segment_agg(id, ts, segroll.distinct_hash(cust), segroll.distinct_hash(small)) AS s
FROM m GROUP BY 1;
SELECT (SELECT segroll.merge(s ORDER BY day DESC) FROM m_days) OPERATOR(segroll.=)
       (SELECT segroll.segment_agg(id, ts, segroll.distinct_hash(cust), segroll.distinct_hash(small) ORDER BY random()) FROM m) AS month_equals_union,
       (SELECT segroll.distinct(segroll.merge(s), 2) FROM m_days) AS month_small,
       (SELECT abs(segroll.distinct(segroll.merge(s), 1) - 7919) <= 7919 * 0.03 FROM m_days) AS month_cust_within_3pct,
       (SELECT sum(segroll.distinct(s, 2)) FROM m_days) AS sum_of_days_is_wrong;
-- a sketch cannot subtract: retracting from it makes the count unknown
SELECT segroll.distinct_known(r) AS known, segroll.minmax_known(r) AS minmax_known
FROM (SELECT segroll.retract(s, 31, (SELECT ts FROM m WHERE id = 31), segroll.distinct_hash(31), segroll.distinct_hash(31 % 13)) r
      FROM m_days WHERE day = date_trunc('day', (SELECT ts FROM m WHERE id = 31))) x;
SELECT segroll.distinct(segroll.retract(s, 31, (SELECT ts FROM m WHERE id = 31), segroll.distinct_hash(31), segroll.distinct_hash(31 % 13)), 1)
FROM m_days WHERE day = date_trunc('day', (SELECT ts FROM m WHERE id = 31));
-- segments of different shapes do not merge
SELECT segroll.merge(segroll.segment_agg(1, '2026-01-01', segroll.distinct_hash(1)), segroll.segment_agg(2, '2026-01-01', 1::numeric));
SELECT segroll.distinct(s, 2) FROM s40;
SELECT segroll.distinct(segroll.segment_agg(1, '2026-01-01', 1::numeric), 1);

-- parallel and partial aggregation give the same segments
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2; SET force_parallel_mode = on;
CREATE TABLE m_par AS SELECT date_trunc('day', ts) AS day, segroll.segment_agg(id, ts, segroll.distinct_hash(cust), segroll.distinct_hash(small)) AS s
FROM m GROUP BY 1;
RESET force_parallel_mode; RESET max_parallel_workers_per_gather;
SELECT count(*) AS differences FROM ((SELECT * FROM m_days EXCEPT ALL SELECT * FROM m_par) UNION ALL (SELECT * FROM m_par EXCEPT ALL SELECT * FROM m_days)) d;
-- COPY binary round trip
COPY (SELECT s FROM m_days ORDER BY day) TO '/tmp/segroll_distinct.bin' WITH (FORMAT binary);
CREATE TABLE m_copy (s segroll.segment);
COPY m_copy FROM '/tmp/segroll_distinct.bin' WITH (FORMAT binary);
SELECT count(*) AS differences FROM ((SELECT s FROM m_days EXCEPT ALL SELECT s FROM m_copy) UNION ALL (SELECT s FROM m_copy EXCEPT ALL SELECT s FROM m_days)) d;
SELECT count(*) AS text_differences FROM m_days WHERE NOT s::text::segroll.segment OPERATOR(segroll.=) s;

-- format: version 2 holds distinct measures; a segment with extreme counts is version 3, with or without them (extreme_counts.sql)
SELECT left(segroll.segment_agg(1, '2026-01-01', 1::numeric)::text, 12) AS v1,
       segroll.segment_agg(1, '2026-01-01', 1::numeric, segroll.distinct_hash('x'::text))::text AS v2;

-- bad text forms, one per rule (the DETAIL says which)
CREATE FUNCTION try_in(t text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text;
	d text;
BEGIN
	PERFORM t::segroll.segment;
	RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, d = PG_EXCEPTION_DETAIL;
	RETURN st || ': ' || d;
END
$$;
CREATE FUNCTION v2(count int, known text, sets text) RETURNS text LANGUAGE sql AS $$
	SELECT format('{"version":2,"count":%s,"first":%s,"last":%s,"checksum":"0000000000000000","minmax":"exact","measures":[],"distinct":{"known":%s,"sets":[%s]},"keys":null}',
	              count, CASE WHEN count = 0 THEN 'null' ELSE '"2026-01-01T00:00:00Z"' END,
	              CASE WHEN count = 0 THEN 'null' ELSE '"2026-01-01T00:00:00Z"' END, known, sets)
$$;
SELECT c AS "case", try_in(t) AS result
FROM (VALUES
	('valid exact, two values', v2(4, 'true', '"0002000000000000000a000000000000000b010001"')),
	('valid sparse', v2(300, 'true', '"01020001ff7f05"')),
	('valid dense', v2(300, 'true', '"0200' || repeat('11', 8191) || '1000' || '"')),
	('unknown mode', v2(3, 'true', '"0300"')),
	('odd hex digits', v2(3, 'true', '"000"')),
	('upper-case hex', v2(3, 'true', '"0001000000000000000A00"')),
	('hashes not increasing', v2(3, 'true', '"0002000000000000000b000000000000000a00"')),
	('hash twice', v2(3, 'true', '"0002000000000000000a000000000000000a00"')),
	('two, counted three times', v2(3, 'true', '"0002000000000000000a000000000000000b010001"')),
	('more than 256 values', v2(300, 'true', '"008102' || repeat('00', 8 * 257) || '00"')),
	('counts above row count', v2(1, 'true', '"0001000000000000000a010000"')),
	('repeat position out of range', v2(9, 'true', '"0001000000000000000a010100"')),
	('trailing byte', v2(3, 'true', '"0001000000000000000a0000"')),
	('truncated set', v2(3, 'true', '"0001000000000000000a"')),
	('sparse register 0', v2(300, 'true', '"01010500"')),
	('sparse rank above 51', v2(300, 'true', '"01010534"')),
	('sparse index beyond 16383', v2(300, 'true', '"010180800101"')),
	('sparse index gap 0', v2(300, 'true', '"010205010001"')),
	('sparse, no register', v2(300, 'true', '"0100"')),
	('dense base not the minimum', v2(300, 'true', '"0201' || repeat('11', 8192) || '00"')),
	('dense escape count wrong', v2(300, 'true', '"0200' || repeat('11', 8191) || 'f000' || '"')),
	('dense rank above 51', v2(300, 'true', '"0232' || repeat('ee', 8191) || 'e000' || '"')),
	('dense that sparse would be shorter', v2(300, 'true', '"0200' || repeat('00', 8191) || '1000' || '"')),
	('version 2 without sets', v2(3, 'true', '')),
	('stale empty segment', v2(0, 'false', '"0000"')),
	('known not a boolean', v2(3, '"yes"', '"0000"')),
	('version 1 with distinct', replace(v2(3, 'true', '"0000"'), '"version":2', '"version":1'))
) v(c, t);

-- a segmentation with a distinct measure: cells, BI view, retractions
-- (UPDATE of the distinct column, DELETE) in exact and in sketch mode,
-- compared with a from-scratch count(DISTINCT)
CREATE TABLE dc.item (item_id int PRIMARY KEY, brand text);
INSERT INTO dc.item SELECT g, 'b' || (g % 3) FROM generate_series(1, 12) g;
CREATE TABLE dc.sales (id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, item_id int, cust text, amount numeric(12,2));
-- store 1: few customers a day (exact); store 2: thousands (sketch)
INSERT INTO dc.sales SELECT g, '2026-11-01'::timestamptz + (g % 3) * interval '1 day' + (g % 1000) * interval '1 second',
	g % 12 + 1, CASE WHEN g % 2 = 0 THEN 'c' || (g % 37) ELSE 'k' || g END, g % 100
FROM generate_series(1, 6000) g;
ALTER TABLE dc.sales ADD COLUMN store int GENERATED ALWAYS AS (id % 2) STORED;
SELECT segroll.create_segmentation('dc_daily', 'dc.sales', 'id', 'sold_at', 'day', 'UTC', '{store, item_id}',
	ARRAY['amount', 'distinct(cust)']) IS NOT NULL AS created;
SELECT measures, distinct_measures FROM segroll.segmentation WHERE name = 'dc_daily';
-- exact cells (store 0) agree with count(DISTINCT); sketch cells (store 1) within 3 %
SELECT v.store, count(*) AS cells, bool_and(segroll.distinct_exact(c.seg, 1)) AS all_exact,
       count(*) FILTER (WHERE v.cust_distinct = x.n) AS equal,
       bool_and(abs(v.cust_distinct - x.n) <= 0.03 * x.n) AS within_3pct
FROM segroll_data.dc_daily_v v
JOIN segroll_data.dc_daily c USING (store, item_id, period)
JOIN (SELECT store, item_id, date_trunc('day', sold_at, 'UTC') AS period, count(DISTINCT cust) AS n FROM dc.sales GROUP BY 1, 2, 3) x
  USING (store, item_id, period)
GROUP BY v.store ORDER BY v.store;
-- retractions: an UPDATE of the distinct column and DELETEs in both stores
UPDATE dc.sales SET cust = 'new' WHERE id IN (2, 4, 6, 3, 5);
DELETE FROM dc.sales WHERE id IN (8, 10, 12, 7, 9, 11);
DELETE FROM dc.sales WHERE cust = 'c1';
SELECT segroll.rollup('dc_daily') > 0 AS rolled_up;
SELECT count(*) FILTER (WHERE NOT segroll.distinct_known(seg)) AS stale_cells, count(*) AS cells FROM segroll_data.dc_daily;
-- the exact cells equal count(DISTINCT); the sketch cells equal a rebuild
SELECT v.store, count(*) FILTER (WHERE v.cust_distinct = x.n) AS equal, count(*) AS cells
FROM segroll_data.dc_daily_v v
JOIN (SELECT store, item_id, date_trunc('day', sold_at, 'UTC') AS period, count(DISTINCT cust) AS n FROM dc.sales GROUP BY 1, 2, 3) x
  USING (store, item_id, period)
WHERE v.kind = 'cell' GROUP BY v.store ORDER BY v.store;
SELECT count(*) AS cells_differing_from_rebuild FROM (
	(SELECT store, item_id, period, seg FROM segroll_data.dc_daily
	 EXCEPT ALL
	 SELECT store, item_id, date_trunc('day', sold_at, 'UTC'), segroll.segment_agg(id, sold_at, amount, segroll.distinct_hash(cust)) FROM dc.sales GROUP BY 1, 2, 3)
	UNION ALL
	(SELECT store, item_id, date_trunc('day', sold_at, 'UTC'), segroll.segment_agg(id, sold_at, amount, segroll.distinct_hash(cust)) FROM dc.sales GROUP BY 1, 2, 3
	 EXCEPT ALL
	 SELECT store, item_id, period, seg FROM segroll_data.dc_daily)) d;
SELECT problem, count(*) FROM segroll.verify('dc_daily', '2026-11-01', '2026-11-04', 'full') GROUP BY 1 ORDER BY 1;
-- item -> brand re-roll, and the days of a store merged: merge unions the sets and sketches
SELECT count(*) AS brand_cells_differing FROM (
	(SELECT i.brand, c.store, segroll.merge(c.seg) FROM segroll_data.dc_daily c JOIN dc.item i USING (item_id) GROUP BY 1, 2
	 EXCEPT ALL
	 SELECT i.brand, s.store, segroll.segment_agg(s.id, s.sold_at, s.amount, segroll.distinct_hash(s.cust)) FROM dc.sales s JOIN dc.item i USING (item_id) GROUP BY 1, 2)
	UNION ALL
	(SELECT i.brand, s.store, segroll.segment_agg(s.id, s.sold_at, s.amount, segroll.distinct_hash(s.cust)) FROM dc.sales s JOIN dc.item i USING (item_id) GROUP BY 1, 2
	 EXCEPT ALL
	 SELECT i.brand, c.store, segroll.merge(c.seg) FROM segroll_data.dc_daily c JOIN dc.item i USING (item_id) GROUP BY 1, 2)) d;
SELECT c.store, segroll.distinct(segroll.merge(c.seg), 1) = (SELECT count(DISTINCT cust) FROM dc.sales s WHERE s.store = c.store) AS exact_month,
       abs(segroll.distinct(segroll.merge(c.seg), 1) - (SELECT count(DISTINCT cust) FROM dc.sales s WHERE s.store = c.store))
           <= 0.03 * (SELECT count(DISTINCT cust) FROM dc.sales s WHERE s.store = c.store) AS within_3pct
FROM segroll_data.dc_daily c GROUP BY c.store ORDER BY c.store;
-- the live view: pending inserts are counted; a pending retraction from a
-- sketch gives NULL until the roll-up has recomputed the cell
INSERT INTO dc.sales (id, sold_at, item_id, cust, amount) VALUES (100000, '2026-11-01 00:00:10+00', 1, 'fresh', 1);
SELECT cust_distinct = (SELECT count(DISTINCT cust) FROM dc.sales WHERE store = 0 AND item_id = 1 AND sold_at < '2026-11-02') AS live_exact
FROM segroll_data.dc_daily_live WHERE store = 0 AND item_id = 1 AND period = '2026-11-01' AND kind = 'cell';
DELETE FROM dc.sales WHERE id = 13;
SELECT cust_distinct IS NULL AS live_unknown_after_sketch_retraction
FROM segroll_data.dc_daily_live WHERE store = 1 AND item_id = 2 AND period = '2026-11-02' AND kind = 'cell';
SELECT segroll.rollup('dc_daily') > 0 AS rolled_up;
SELECT count(*) AS cells_differing_from_rebuild FROM (
	(SELECT store, item_id, period, seg FROM segroll_data.dc_daily
	 EXCEPT ALL
	 SELECT store, item_id, date_trunc('day', sold_at, 'UTC'), segroll.segment_agg(id, sold_at, amount, segroll.distinct_hash(cust)) FROM dc.sales GROUP BY 1, 2, 3)
	UNION ALL
	(SELECT store, item_id, date_trunc('day', sold_at, 'UTC'), segroll.segment_agg(id, sold_at, amount, segroll.distinct_hash(cust)) FROM dc.sales GROUP BY 1, 2, 3
	 EXCEPT ALL
	 SELECT store, item_id, period, seg FROM segroll_data.dc_daily)) d;

-- bad definitions: no such column, a type without a hash opclass
ALTER TABLE dc.sales ADD COLUMN spot point;
SELECT segroll.create_segmentation('dc_bad', 'dc.sales', 'id', 'sold_at', 'day', 'UTC', '{store}', ARRAY['distinct(nosuch)']);
SELECT segroll.create_segmentation('dc_bad', 'dc.sales', 'id', 'sold_at', 'day', 'UTC', '{store}', ARRAY['distinct(spot)']);
SELECT segroll.distinct_hash(point(1, 2));

-- the segmentations view shows the distinct measures
SELECT name, measures, distinct_measures FROM segroll.segmentations WHERE name = 'dc_daily';

-- renaming the distinct column in the source: the definition and the BI
-- view follow it, and the roll-up keeps counting the renamed column
ALTER TABLE dc.sales RENAME COLUMN cust TO customer;
SELECT measures, distinct_measures FROM segroll.segmentations WHERE name = 'dc_daily';
SELECT attname FROM pg_attribute WHERE attrelid = 'segroll_data.dc_daily_v'::regclass AND attname LIKE '%distinct' ORDER BY attname;
INSERT INTO dc.sales (id, sold_at, item_id, customer, amount)
SELECT g, '2026-11-01'::timestamptz + (g % 3) * interval '1 day', g % 12 + 1,
       CASE WHEN g % 2 = 0 THEN 'c' || (g % 41) ELSE 'r' || g END, 1
FROM generate_series(200001, 200400) g;
UPDATE dc.sales SET customer = 'renamed' WHERE id IN (14, 15, 22);
DELETE FROM dc.sales WHERE id IN (16, 17);
SELECT segroll.rollup('dc_daily') > 0 AS rolled_up;
SELECT v.store, count(*) FILTER (WHERE v.customer_distinct = x.n) AS equal, count(*) AS cells
FROM segroll_data.dc_daily_v v
JOIN (SELECT store, item_id, date_trunc('day', sold_at, 'UTC') AS period, count(DISTINCT customer) AS n FROM dc.sales GROUP BY 1, 2, 3) x
  USING (store, item_id, period)
WHERE v.kind = 'cell' GROUP BY v.store ORDER BY v.store;
SELECT count(*) AS cells_differing_from_rebuild FROM (
	(SELECT store, item_id, period, seg FROM segroll_data.dc_daily
	 EXCEPT ALL
	 SELECT store, item_id, date_trunc('day', sold_at, 'UTC'), segroll.segment_agg(id, sold_at, amount, segroll.distinct_hash(customer)) FROM dc.sales GROUP BY 1, 2, 3)
	UNION ALL
	(SELECT store, item_id, date_trunc('day', sold_at, 'UTC'), segroll.segment_agg(id, sold_at, amount, segroll.distinct_hash(customer)) FROM dc.sales GROUP BY 1, 2, 3
	 EXCEPT ALL
	 SELECT store, item_id, period, seg FROM segroll_data.dc_daily)) d;

-- a new version (other dimensions, measures kept) carries the distinct
-- measure over; built by the roll-up, its cells equal a rebuild
SELECT segroll.create_version('dc_daily', dimensions => '{store}', schedule => 'manual') AS version;
SELECT name, measures, distinct_measures FROM segroll.segmentations WHERE name LIKE 'dc\_daily%' ORDER BY name;
SELECT segroll.rollup('dc_daily__v2') > 0 AS built;
SELECT v.store, count(*) AS cells, count(*) FILTER (WHERE v.customer_distinct = x.n) AS equal,
       bool_and(abs(v.customer_distinct - x.n) <= 0.03 * x.n) AS within_3pct
FROM segroll_data.dc_daily__v2_v v
JOIN (SELECT store, date_trunc('day', sold_at, 'UTC') AS period, count(DISTINCT customer) AS n FROM dc.sales GROUP BY 1, 2) x
  USING (store, period)
WHERE v.kind = 'cell' GROUP BY v.store ORDER BY v.store;
SELECT count(*) AS cells_differing_from_rebuild FROM (
	(SELECT store, period, seg FROM segroll_data.dc_daily__v2
	 EXCEPT ALL
	 SELECT store, date_trunc('day', sold_at, 'UTC'), segroll.segment_agg(id, sold_at, amount, segroll.distinct_hash(customer)) FROM dc.sales GROUP BY 1, 2)
	UNION ALL
	(SELECT store, date_trunc('day', sold_at, 'UTC'), segroll.segment_agg(id, sold_at, amount, segroll.distinct_hash(customer)) FROM dc.sales GROUP BY 1, 2
	 EXCEPT ALL
	 SELECT store, period, seg FROM segroll_data.dc_daily__v2)) d;
SELECT segroll.drop_segmentation('dc_daily__v2');
SELECT segroll.drop_segmentation('dc_daily');
