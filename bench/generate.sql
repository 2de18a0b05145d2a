/*
 * segroll benchmark: deterministic generator of back-office sales
 * transactions.
 *
 *   psql -v rows=10000000 -f bench/generate.sql      (default 10 000 000)
 *
 * Creates, in schema "bench":
 *   bench.item(item_id, brand_id, unit_price)   20 000 items -> 500 brands
 *   bench.sales_txn(txn_id bigint primary key, sold_at timestamptz,
 *                   org_id int, channel_id int, item_id int,
 *                   customer_id int, amount numeric(12,2), qty int)
 *   bench.dataset                               one row: how it was made
 *
 * The data:
 *   - 30 days, 2024-03-01 .. 2024-03-30, days cut in Asia/Seoul (UTC+9,
 *     no daylight saving);
 *   - a daily shape (quiet nights, lunch and evening peaks) and 25% more
 *     trade on Saturdays and Sundays; rows are spread over the 720 hours
 *     in proportion to those weights, uniformly at random inside an hour;
 *   - txn_id is assigned in sold_at order (1, 2, 3, ... as time goes on)
 *     and the heap is written in that order, as an append-only ledger is;
 *   - 50 organisations, mildly skewed (organisation 1 is ~5x the median);
 *   - 8 channels, Zipf-like: channel 1 carries half the rows, channel 8 ~4%;
 *   - 20 000 items, Zipf-like (power 3 of random()): item 1 ~4% of rows,
 *     the top 5% of items ~37%; items map to 500 brands through bench.item
 *     (each brand has at least one item, brand sizes are skewed);
 *   - 1 000 000 customers, skewed (power 2);
 *   - qty mostly 1 (1..6), amount = unit price x qty less a discount of
 *     0/10/20/30%, rounded to cents; 2% of rows are returns (negative qty
 *     and amount).
 *
 * Deterministic: setseed() and a serial plan make every run produce the
 * same rows; bench.dataset.fingerprint lets run.sh check that.
 */
\set ON_ERROR_STOP on
\if :{?rows}
\else
\set rows 10000000
\endif

SET max_parallel_workers_per_gather = 0;	-- parallel workers have their own seeds
SET jit = off;
SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS bench;
DROP TABLE IF EXISTS bench.sales_txn, bench.item, bench.dataset;

SELECT setseed(0.20240301);

-- items: the 500 most popular items cover every brand once (211 is coprime
-- to 500), the others fall on skewed brands; prices log-uniform 1.50..450.00
CREATE TABLE bench.item (
	item_id		int PRIMARY KEY,
	brand_id	int NOT NULL,
	unit_price	numeric(10,2) NOT NULL
);
INSERT INTO bench.item
SELECT i,
	   CASE WHEN i <= 500 THEN 1 + (i * 211) % 500
			ELSE 1 + floor(500 * random() ^ 1.3)::int END,
	   round((1.5 * exp(random() * ln(300)))::numeric, 2)
FROM generate_series(1, 20000) AS i;

CREATE TABLE bench.sales_txn (
	txn_id		bigint NOT NULL,
	sold_at		timestamptz NOT NULL,
	org_id		int NOT NULL,
	channel_id	int NOT NULL,
	item_id		int NOT NULL,
	customer_id	int NOT NULL,
	amount		numeric(12,2) NOT NULL,
	qty			int NOT NULL
);

WITH hour_weight AS (
	-- weight of each of the 720 hours: hour-of-day shape (Seoul time) x 5
	-- on weekends, x 4 on weekdays; integers so the split is exact
	SELECT h,
		   (ARRAY[2,1,1,1,1,2,4,7,10,12,13,15,17,15,13,12,12,13,15,16,14,10,6,4])[1 + h % 24]
		   * CASE WHEN extract(isodow FROM date '2024-03-01' + h / 24) IN (6, 7) THEN 5 ELSE 4 END
		   AS w
	FROM generate_series(0, 719) AS h
), hour_cum AS (
	SELECT h, w, sum(w) OVER (ORDER BY h) AS cw, sum(w) OVER () AS tw
	FROM hour_weight
), slot AS (
	-- rows of hour h get keys k0+1 .. k0+cnt
	SELECT h,
		   (:rows::bigint * (cw - w)) / tw AS k0,
		   (:rows::bigint * cw) / tw - (:rows::bigint * (cw - w)) / tw AS cnt
	FROM hour_cum
), r AS (
	SELECT s.k0 + j AS txn_id,
		   timestamptz '2024-03-01 00:00:00+09'
			 + make_interval(hours => s.h)
			 + make_interval(secs => ((j - 1) + random()) * 3600.0 / s.cnt) AS sold_at,
		   1 + floor(50 * random() ^ 1.6)::int AS org_id,
		   1 + floor(8 * random() ^ 3)::int AS channel_id,
		   1 + floor(20000 * random() ^ 3)::int AS item_id,
		   1 + floor(1000000 * random() ^ 2)::int AS customer_id,
		   (1 + floor(6 * random() ^ 4)::int)
			 * CASE WHEN random() < 0.02 THEN -1 ELSE 1 END AS qty,
		   (ARRAY[1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 1.00, 0.90, 0.80, 0.70])
			 [1 + floor(11 * random())::int] AS pay
	FROM slot AS s
	CROSS JOIN LATERAL generate_series(1, s.cnt) AS j
	OFFSET 0					-- keep the volatile subquery (and its order) intact
)
INSERT INTO bench.sales_txn
SELECT r.txn_id, r.sold_at, r.org_id, r.channel_id, r.item_id, r.customer_id,
	   round(i.unit_price * r.qty * r.pay, 2), r.qty
FROM r JOIN bench.item AS i USING (item_id);

ALTER TABLE bench.sales_txn ADD PRIMARY KEY (txn_id);

CREATE TABLE bench.dataset AS
SELECT count(*) AS rows,
	   md5(concat_ws('|', count(*), sum(amount), sum(qty), sum(org_id), sum(channel_id),
					 sum(item_id::bigint), sum(customer_id::bigint),
					 sum(extract(epoch FROM sold_at)), min(sold_at), max(sold_at))) AS fingerprint,
	   bool_and(ordered) AS keys_in_time_order,
	   now() AS generated_at
FROM (SELECT *, sold_at >= lag(sold_at, 1, sold_at) OVER (ORDER BY txn_id) AS ordered
	  FROM bench.sales_txn) AS t;

VACUUM ANALYZE bench.item;
VACUUM ANALYZE bench.sales_txn;

SELECT rows, fingerprint, keys_in_time_order FROM bench.dataset;
