-- segroll demo, step 7: the auditor's and the administrator's view.
--
-- trace() returns the source rows of a cell as the caller may see them;
-- locate() goes from a transaction to its cell; verify() proves the cells
-- match their sources; close_period() freezes a day, after which a late
-- correction shows as an adjustment beside the closed figure; every step is
-- in segroll.history.
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;
SET TimeZone = 'Asia/Seoul';

\echo
\echo '== trace: the first source rows of Seoul HQ x store x brand H on 2026-11-03'
SELECT key, origin, source_row
FROM   segroll.trace('sales_daily', '{"org_id": 1, "channel_id": 3, "brand_id": 8}', '2026-11-03 00:00 Asia/Seoul')
LIMIT  3;

\echo '== locate: the cell of one of them'
SELECT * FROM segroll.locate('sales_daily',
  (SELECT min(key) FROM segroll.trace('sales_daily', '{"org_id": 1, "channel_id": 3, "brand_id": 8}', '2026-11-03 00:00 Asia/Seoul')));

\echo '== verify, full: every cell of November against its source rows (no rows = no discrepancy)'
SELECT count(*) AS discrepancies FROM segroll.verify('sales_daily', '2026-11-01 00:00 Asia/Seoul', '2026-12-01 00:00 Asia/Seoul', 'full');

\echo '== close the days before 2026-11-04, then a late correction to a sale of 2026-11-03'
SELECT segroll.close_period('sales_daily', '2026-11-04 00:00 Asia/Seoul') AS closed_up_to;
UPDATE front.sales_txn SET amount = amount + 100
WHERE  txn_id = (SELECT min(key) FROM segroll.trace('sales_daily', '{"org_id": 1, "channel_id": 3, "brand_id": 8}', '2026-11-03 00:00 Asia/Seoul'));
SELECT segroll.rollup('sales_daily') AS applied;
\echo '   the BI view: the closed cell is unchanged, the correction is a row of its own'
SELECT kind, count, amount_sum, adjusted_at IS NOT NULL AS has_time
FROM   segroll_data.sales_daily_v
WHERE  org_id = 1 AND channel_id = 3 AND brand_id = 8 AND period = '2026-11-03 00:00 Asia/Seoul'
ORDER  BY kind DESC;
SELECT count(*) AS discrepancies FROM segroll.verify('sales_daily', '2026-11-01 00:00 Asia/Seoul', '2026-12-01 00:00 Asia/Seoul', 'full');

\echo '== history: who did what'
SELECT action, role_name, rows, detail->>'closed_upto' AS closed_upto
FROM   segroll.history WHERE segmentation = 'sales_daily' AND action <> 'roll-up'
ORDER  BY at;
