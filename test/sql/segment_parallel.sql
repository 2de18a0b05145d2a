-- Results are identical under serial, parallel and partitionwise plans.
SET TimeZone = 'UTC';

CREATE TABLE par_src (id bigint, ts timestamptz, org int, amount numeric(12,2), qty int)
	WITH (parallel_workers = 2);
INSERT INTO par_src
SELECT g, '2026-11-01'::timestamptz + (g % 30) * interval '1 day', g % 5,
       round(((g * 7919) % 1000003) / 100.0, 2), g % 11
FROM generate_series(1, 200000) g;
ANALYZE par_src;

CREATE TABLE serial_result AS
SELECT org, segroll.segment_agg(id, ts, amount, qty) AS s, segroll.segment_agg_nolineage(id, ts, amount, qty) AS n
FROM par_src GROUP BY org;

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET force_parallel_mode = on;
SET parallel_leader_participation = off;

EXPLAIN (COSTS OFF)
SELECT org, segroll.segment_agg(id, ts, amount, qty) FROM par_src GROUP BY org;

SELECT count(*) AS parallel_mismatches FROM (
	(SELECT org, s, n FROM serial_result
	 EXCEPT ALL
	 SELECT org, segroll.segment_agg(id, ts, amount, qty), segroll.segment_agg_nolineage(id, ts, amount, qty)
	 FROM par_src GROUP BY org)
	UNION ALL
	(SELECT org, segroll.segment_agg(id, ts, amount, qty), segroll.segment_agg_nolineage(id, ts, amount, qty)
	 FROM par_src GROUP BY org
	 EXCEPT ALL
	 SELECT org, s, n FROM serial_result)) d;

-- merge() in parallel, over the per-day cells
CREATE TABLE par_cells AS
SELECT org, date_trunc('day', ts) AS day, id % 50 AS bucket, segroll.segment_agg(id, ts, amount, qty) AS s
FROM par_src GROUP BY 1, 2, 3;
ALTER TABLE par_cells SET (parallel_workers = 2);
ANALYZE par_cells;
EXPLAIN (COSTS OFF) SELECT org, segroll.merge(s) FROM par_cells GROUP BY org;
SELECT count(*) AS merge_parallel_mismatches FROM (
	SELECT org, segroll.merge(s) FROM par_cells GROUP BY org
	EXCEPT ALL SELECT org, s FROM serial_result) d;
-- a whole-table merge is one segment equal to building it directly
SELECT segroll.merge(s) OPERATOR(segroll.=) (SELECT segroll.merge(s) FROM serial_result) AS merge_all_ok
FROM par_cells;

RESET force_parallel_mode;
RESET parallel_leader_participation;

-- partitionwise aggregation over a partitioned table
CREATE TABLE part_src (id bigint, ts timestamptz, org int, amount numeric(12,2), qty int)
	PARTITION BY LIST (org);
CREATE TABLE part_src_0 PARTITION OF part_src FOR VALUES IN (0, 1);
CREATE TABLE part_src_1 PARTITION OF part_src FOR VALUES IN (2, 3);
CREATE TABLE part_src_2 PARTITION OF part_src FOR VALUES IN (4);
INSERT INTO part_src SELECT * FROM par_src;
ANALYZE part_src;
SET enable_partitionwise_aggregate = on;

-- grouping by the partition key: full aggregation per partition
EXPLAIN (COSTS OFF)
SELECT org, segroll.segment_agg(id, ts, amount, qty) FROM part_src GROUP BY org;
SELECT count(*) AS partitionwise_mismatches FROM (
	SELECT org, segroll.segment_agg(id, ts, amount, qty), segroll.segment_agg_nolineage(id, ts, amount, qty)
	FROM part_src GROUP BY org
	EXCEPT ALL SELECT org, s, n FROM serial_result) d;

-- grouping across partitions: partial aggregation per partition, combined above
EXPLAIN (COSTS OFF)
SELECT qty % 2, segroll.segment_agg(id, ts, amount, qty) FROM part_src GROUP BY qty % 2;
SELECT count(*) AS partial_mismatches FROM (
	(SELECT qty % 2 AS k, segroll.segment_agg(id, ts, amount, qty) FROM part_src GROUP BY 1
	 EXCEPT ALL
	 SELECT qty % 2, segroll.segment_agg(id, ts, amount, qty) FROM par_src GROUP BY 1)
	UNION ALL
	(SELECT qty % 2, segroll.segment_agg(id, ts, amount, qty) FROM par_src GROUP BY 1
	 EXCEPT ALL
	 SELECT qty % 2 AS k, segroll.segment_agg(id, ts, amount, qty) FROM part_src GROUP BY 1)) d;

-- and the sums still equal PostgreSQL's
SELECT count(*) AS sum_mismatches FROM (
	SELECT qty % 2, segroll.sum(segroll.segment_agg(id, ts, amount, qty), 1) FROM part_src GROUP BY 1
	EXCEPT ALL SELECT qty % 2, sum(amount) FROM par_src GROUP BY 1) d;
