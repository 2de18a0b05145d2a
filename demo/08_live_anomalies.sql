-- segroll demo, step 8: figures before the roll-up, and anomaly flags.
--
-- sales_daily_live gives the cells as they will be once every committed
-- change is rolled up: the cells plus the changes not yet applied, exact at
-- the moment of the read.  segroll.anomalies() flags cells whose count or
-- sums depart from the same weekday of the segment's last weeks.
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;

\echo
\echo '== 15 November, org 1, channel 1: the BI view (rolled up) and the live view agree'
SELECT 'rolled up' AS view, sum(count) AS sales, sum(amount_sum) AS revenue
FROM   segroll_data.sales_daily_v
WHERE  org_id = 1 AND channel_id = 1 AND period = '2026-11-15 00:00+09'
UNION ALL
SELECT 'live', sum(count), sum(amount_sum)
FROM   segroll_data.sales_daily_live
WHERE  org_id = 1 AND channel_id = 1 AND period = '2026-11-15 00:00+09';

-- an amount keyed in wrong on 15 November (98 765.00 for a sale of 3.26),
-- and two more sales, not rolled up yet
UPDATE front.sales_txn SET amount = 98765.00
WHERE  txn_id = (SELECT min(txn_id) FROM front.sales_txn
                 WHERE org_id = 1 AND channel_id = 1 AND sold_at >= '2026-11-15 00:00+09');
INSERT INTO front.sales_txn (txn_id, sold_at, org_id, channel_id, item_id, qty, amount)
VALUES (300001, '2026-11-15 20:10+09', 1, 1, 13, 1, 35.90), (300002, '2026-11-15 20:11+09', 1, 1, 37, 2, 85.56);

\echo '== after an UPDATE and two INSERTs, before any roll-up: the live view has moved, the BI view not yet'
SELECT 'rolled up' AS view, sum(count) AS sales, sum(amount_sum) AS revenue
FROM   segroll_data.sales_daily_v
WHERE  org_id = 1 AND channel_id = 1 AND period = '2026-11-15 00:00+09'
UNION ALL
SELECT 'live', sum(count), sum(amount_sum)
FROM   segroll_data.sales_daily_live
WHERE  org_id = 1 AND channel_id = 1 AND period = '2026-11-15 00:00+09'
UNION ALL
SELECT 'source rows', count(*), sum(amount)
FROM   front.sales_txn
WHERE  org_id = 1 AND channel_id = 1 AND sold_at >= '2026-11-15 00:00+09' AND sold_at < '2026-11-16 00:00+09';

SELECT segroll.rollup('sales_daily') AS applied \g /dev/null

\echo '== segroll.anomalies(): cells of 15 November against the same weekday of the 4 weeks before,'
\echo '   org 1, channel 1: the wrong amount is flagged'
SELECT (period AT TIME ZONE 'Asia/Seoul')::date AS day, dimensions, figure, value,
       round(median::numeric, 2) AS median, round(score::numeric, 1) AS score, reason
FROM   segroll.anomalies('sales_daily', '2026-11-15 00:00+09', threshold => 5, weeks => 4, min_history => 3)
WHERE  dimensions->>'org_id' = '1' AND dimensions->>'channel_id' = '1'
ORDER  BY score DESC;

\echo '== the threshold stored for the segmentation (used when anomalies() is given none; with'
\echo '   evaluate_after_rollup => true, notify => true each roll-up records new flags and sends'
\echo '   NOTIFY segroll_anomaly: docs/anomalies.md); all flags of 15 November, by figure (the'
\echo '   unmapped member, brand_id null, grows as items not yet in the master data sell)'
SELECT segroll.set_anomaly_detection('sales_daily', threshold => 5, weeks => 4, min_history => 3) \g /dev/null
SELECT dimensions->>'brand_id' IS NULL AS unmapped_member, figure, count(*) AS flags
FROM   segroll.anomalies('sales_daily', '2026-11-15 00:00+09')
GROUP  BY 1, 2 ORDER BY 1, 2;
