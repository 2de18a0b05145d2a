-- segroll demo, step 1: sample back-office data.
--
-- 200 000 sales transactions over 30 days (2026-10-17 .. 2026-11-15, days
-- cut in Asia/Seoul), and reference tables that map each sale to its
-- organisation, channel and brand.  Keys (txn_id) are assigned in time
-- order, as an append-only ledger does.  setseed() makes every run produce
-- the same rows.
--
-- The first 28 days are loaded into front.sales_txn now.  The last two days
-- wait in front.next_batch: step 3 ingests them after the segmentation is
-- defined.  Items 1995..2000 are on sale but not yet in the master data
-- (ref.item), so their sales cannot be given a brand.
--
-- It drops the segmentation sales_daily and the schemas front and ref if
-- they exist.  demo/run.sh runs it in a throw-away cluster; to run the steps
-- in a database of your own (segroll 0.2.0), use a scratch database:
--   psql -d scratch -f demo/01_sample_data.sql, then 02_... .. 06_... in order.
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;   -- one process: same random() sequence every run

CREATE EXTENSION IF NOT EXISTS segroll;

SELECT segroll.drop_segmentation(name) FROM segroll.segmentation
WHERE  name = 'sales_daily' \g /dev/null
DROP SCHEMA IF EXISTS front, ref CASCADE;
CREATE SCHEMA ref;      -- master (reference) data
CREATE SCHEMA front;    -- the front-end transaction feed

CREATE TABLE ref.org (
    org_id   int PRIMARY KEY,
    org_name text NOT NULL
);
INSERT INTO ref.org VALUES
    (1, 'Seoul HQ'), (2, 'Busan'), (3, 'Incheon'), (4, 'Daegu'), (5, 'Jeju');

CREATE TABLE ref.channel (
    channel_id   int PRIMARY KEY,
    channel_name text NOT NULL
);
INSERT INTO ref.channel VALUES
    (1, 'mobile app'), (2, 'web'), (3, 'store'), (4, 'call centre');

CREATE TABLE ref.brand (
    brand_id   int PRIMARY KEY,
    brand_name text NOT NULL
);
INSERT INTO ref.brand
SELECT b, 'brand ' || chr(64 + b)               -- brand A .. brand L
FROM generate_series(1, 12) b;

-- the item master: item -> brand
CREATE TABLE ref.item (
    item_id  int PRIMARY KEY,
    brand_id int NOT NULL REFERENCES ref.brand
);

-- 2 000 items with a brand and a unit price; the master data lacks the
-- newest six
SELECT setseed(0.2026) \g /dev/null
CREATE TEMP TABLE catalogue AS
SELECT i AS item_id,
       1 + (i * 7) % 12 AS brand_id,
       round((2 + 300 * random() ^ 2)::numeric, 2) AS unit_price
FROM generate_series(1, 2000) i;
INSERT INTO ref.item SELECT item_id, brand_id FROM catalogue WHERE item_id <= 1994;

-- no foreign key to ref.item: the feed does not wait for the master data
CREATE TABLE front.sales_txn (
    txn_id     bigint PRIMARY KEY,
    sold_at    timestamptz NOT NULL,
    org_id     int NOT NULL REFERENCES ref.org,
    channel_id int NOT NULL REFERENCES ref.channel,
    item_id    int NOT NULL,
    qty        int NOT NULL,
    amount     numeric(12,2) NOT NULL
);
CREATE TABLE front.next_batch (LIKE front.sales_txn);

-- Random sale times (mostly 09:00-22:00 Seoul time), skewed organisations,
-- channels and items; 1% of rows are returns (negative qty and amount).
-- Keys are numbered in time order.
CREATE TEMP TABLE all_sales AS
SELECT row_number() OVER (ORDER BY sold_at, r) AS txn_id,
       sold_at, org_id, channel_id, item_id, qty,
       round(unit_price * qty * (1 - discount), 2) AS amount
FROM (
    SELECT g AS r,
           timestamptz '2026-10-17 00:00:00 Asia/Seoul'
             + floor(random() * 30) * interval '1 day'
             + CASE WHEN random() < 0.9
                    THEN make_interval(secs => 32400 + floor(random() * 46800))
                    ELSE make_interval(secs => floor(random() * 86400)) END AS sold_at,
           1 + floor(5 * random() ^ 1.8)::int                    AS org_id,
           1 + floor(4 * random() ^ 2)::int                      AS channel_id,
           1 + floor(2000 * random() ^ 3)::int                   AS item_id,
           (CASE WHEN random() < 0.01 THEN -1 ELSE 1 END)
             * (1 + floor(3 * random() ^ 3)::int)                AS qty,
           (ARRAY[0, 0, 0, 0.1, 0.2])[1 + floor(5 * random())::int] AS discount
    FROM generate_series(1, 200000) g
) raw
JOIN catalogue USING (item_id);

INSERT INTO front.sales_txn
SELECT * FROM all_sales WHERE sold_at <  '2026-11-14 00:00 Asia/Seoul' ORDER BY txn_id;
INSERT INTO front.next_batch
SELECT * FROM all_sales WHERE sold_at >= '2026-11-14 00:00 Asia/Seoul' ORDER BY txn_id;

ANALYZE ref.org, ref.channel, ref.brand, ref.item, front.sales_txn, front.next_batch;

\echo
\echo '== loaded: 28 days in front.sales_txn; 2 more days wait in front.next_batch'
SELECT (SELECT count(*) FROM front.sales_txn)  AS sales_txn_rows,
       (SELECT count(*) FROM front.next_batch) AS next_batch_rows,
       (SELECT count(*) FROM front.sales_txn t
        WHERE NOT EXISTS (SELECT FROM ref.item i WHERE i.item_id = t.item_id))
                                               AS rows_with_items_not_in_ref_item;

\echo '== front.sales_txn, first 3 rows (times in Asia/Seoul)'
SET TimeZone = 'Asia/Seoul';
SELECT * FROM front.sales_txn ORDER BY txn_id LIMIT 3;
