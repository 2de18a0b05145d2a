-- Re-segmentation: a new version with other dimensions or grain is built
-- beside the current one, which answers under the name until
-- switch_version() swaps them atomically; the old one is kept or dropped.
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'UTC';
CREATE SCHEMA vs;
CREATE TABLE vs.item (item_id int PRIMARY KEY, brand text);
INSERT INTO vs.item SELECT g, 'b' || (g % 3) FROM generate_series(1, 12) g;
CREATE TABLE vs.sales (id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org int, item_id int, amount numeric(12,2));
INSERT INTO vs.sales SELECT g, '2026-10-01'::timestamptz + g * interval '90 minutes', g % 4, g % 12 + 1, g FROM generate_series(1, 1200) g;
SELECT segroll.create_segmentation('vs_sales', 'vs.sales', 'id', 'sold_at', 'day', 'UTC', '{org}', '{amount}');
SELECT count(*) AS day_cells FROM segroll_data.vs_sales;

-- version 2: by organisation and brand, per month, built by the roll-up
SELECT segroll.create_version('vs_sales', dimensions => '{org, brand=vs.item.brand ON item_id}', grain => 'month',
                              schedule => 'manual');
SELECT name, version, segmentation, state FROM segroll.segmentation_version ORDER BY version;
SELECT name, grain, dimensions FROM segroll.segmentations WHERE name LIKE 'vs\_sales%' ORDER BY name;
SELECT name, pending_changes > 0 AS building FROM segroll.status WHERE name LIKE 'vs\_sales%' ORDER BY name;
-- meanwhile the current version answers, and changes keep coming
SELECT count(*) AS still_day_cells FROM segroll_data.vs_sales;
INSERT INTO vs.sales VALUES (5000, '2026-11-15', 1, 3, 10);
UPDATE vs.sales SET amount = amount + 1 WHERE id % 50 = 0;
SELECT segroll.rollup('vs_sales');
-- a version being built cannot be versioned again
SELECT segroll.create_version('vs_sales', grain => 'week');
-- switch: the new version catches up and takes the name
SELECT segroll.switch_version('vs_sales');
SELECT name, version, segmentation, state, switched_at IS NOT NULL AS switched FROM segroll.segmentation_version ORDER BY version;
SELECT name, grain, dimensions FROM segroll.segmentations WHERE name LIKE 'vs\_sales%' ORDER BY name;
SELECT org, brand, period, count FROM segroll_data.vs_sales_v WHERE org = 1 ORDER BY period, brand;
-- the cells under the name equal a GROUP BY by org, brand and month
WITH fresh AS (SELECT s.org, i.brand, date_trunc('month', s.sold_at, 'UTC') AS period,
                      segroll.segment_agg(s.id, s.sold_at, s.amount) AS seg
               FROM vs.sales s LEFT JOIN vs.item i USING (item_id) GROUP BY 1, 2, 3)
SELECT count(*) AS differences FROM ((SELECT org, brand, period, seg FROM segroll_data.vs_sales EXCEPT ALL SELECT * FROM fresh)
                      UNION ALL (SELECT * FROM fresh EXCEPT ALL SELECT org, brand, period, seg FROM segroll_data.vs_sales)) d;
-- the old version is kept, by day, and both keep rolling up
DELETE FROM vs.sales WHERE id = 5000;
SELECT segroll.rollup('vs_sales') > 0 AS new_rolled, segroll.rollup('vs_sales__v1') > 0 AS old_rolled;
SELECT count(*) FROM segroll.verify('vs_sales', '-infinity', 'infinity', 'full');
SELECT count(*) FROM segroll.verify('vs_sales__v1', '-infinity', 'infinity', 'full');
SELECT count(*) AS old_day_cells FROM segroll_data.vs_sales__v1;
SELECT status FROM segroll.locate('vs_sales', 10);
-- version 3 replaces version 2 and drops it
SELECT segroll.create_version('vs_sales', grain => 'week', schedule => 'manual');
SELECT segroll.switch_version('vs_sales', keep_old => false);
SELECT name, version, segmentation, state FROM segroll.segmentation_version ORDER BY version;
SELECT name, grain FROM segroll.segmentations WHERE name LIKE 'vs\_sales%' ORDER BY name;
SELECT action, detail->'from_version' AS from_v, detail->'to_version' AS to_v, detail->'kept_as' AS kept
FROM segroll.history WHERE segmentation = 'vs_sales' AND action IN ('create version', 'switch version') ORDER BY id;
-- bad input
SELECT segroll.switch_version('vs_sales');
SELECT segroll.create_version('vs_sales__v1', grain => 'month');
SELECT segroll.create_version('vs_sales', dimensions => '{no_such_column}');
SELECT segroll.create_version('no_such');
SELECT segroll.drop_segmentation('vs_sales__v1');
SELECT segroll.drop_segmentation('vs_sales');
SELECT count(*) FROM segroll.segmentation_version;
