-- segroll demo, step 1: sample back-office data.
--
-- 200 000 sales transactions over 30 days (2026-10-17 .. 2026-11-15, days
-- cut in Asia/Seoul), with reference tables that map each sale to its
-- organisation, channel and brand.  Keys (txn_id) are assigned in time
-- order, as an append-only ledger does.  setseed() makes every run produce
-- the same rows.
--
-- It DROPS and recreates the schemas front, ref and cells.  demo/run.sh runs
-- it in a throw-away cluster; to run the steps in a database of your own,
-- use a scratch database:  psql -d scratch -f demo/01_sample_data.sql, then
-- 02_cells.sql .. 05_checksum.sql in order.
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;   -- one process: same random() sequence every run

CREATE EXTENSION IF NOT EXISTS segroll;

DROP SCHEMA IF EXISTS front, ref, cells CASCADE;
CREATE SCHEMA ref;      -- master (reference) data
CREATE SCHEMA front;    -- the front-end transaction feed
CREATE SCHEMA cells;    -- segment cells built from it

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

-- 2 000 items, each belonging to one brand, with a unit price
CREATE TABLE ref.item (
    item_id    int PRIMARY KEY,
    brand_id   int NOT NULL REFERENCES ref.brand,
    unit_price numeric(10,2) NOT NULL
);
SELECT setseed(0.2026) \g /dev/null
INSERT INTO ref.item
SELECT i,
       1 + (i * 7) % 12,
       round((2 + 300 * random() ^ 2)::numeric, 2)
FROM generate_series(1, 2000) i;

CREATE TABLE front.sales_txn (
    txn_id     bigint PRIMARY KEY,
    sold_at    timestamptz NOT NULL,
    org_id     int NOT NULL REFERENCES ref.org,
    channel_id int NOT NULL REFERENCES ref.channel,
    item_id    int NOT NULL REFERENCES ref.item,
    qty        int NOT NULL,
    amount     numeric(12,2) NOT NULL
);

-- Random sale times (mostly 09:00-22:00 Seoul time), skewed organisations,
-- channels and items; 1% of rows are returns (negative qty and amount).
-- Keys are numbered in time order.
INSERT INTO front.sales_txn
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
JOIN ref.item USING (item_id)
ORDER BY sold_at, r;

ANALYZE ref.org, ref.channel, ref.brand, ref.item, front.sales_txn;

\echo
\echo '== sample data: front.sales_txn (first 5 of 200 000 rows, times in Asia/Seoul)'
SET TimeZone = 'Asia/Seoul';
SELECT txn_id, sold_at, org_id, channel_id, item_id, qty, amount
FROM front.sales_txn ORDER BY txn_id LIMIT 5;
