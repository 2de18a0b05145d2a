-- segroll demo, step 3: more rows arrive, some are corrected, roll up.
--
-- The source table is written to as usual: nothing here calls segroll until
-- the roll-up.  Every committed INSERT, COPY, UPDATE and DELETE is captured,
-- and segroll.rollup() applies each one to the cells exactly once (pg_cron
-- would call it every minute; here we call it once).
\set ON_ERROR_STOP on
\pset footer off
SET client_min_messages = warning;

-- the next two days of the feed, as one batch
INSERT INTO front.sales_txn (txn_id, sold_at, org_id, channel_id, item_id, qty, amount)
SELECT txn_id, sold_at, org_id, channel_id, item_id, qty, amount
FROM   front.next_batch ORDER BY txn_id;

-- late rows: a Seoul HQ store uploads three sales of 3 November only now.
-- (COPY needs the column list: the table has a column segroll_seq now.)
COPY front.sales_txn (txn_id, sold_at, org_id, channel_id, item_id, qty, amount) FROM STDIN (FORMAT csv);
200001,2026-11-03 18:02:11+09,1,3,13,2,71.80
200002,2026-11-03 18:40:05+09,1,3,37,1,85.56
200003,2026-11-03 19:15:47+09,1,3,1,1,151.43
\.

-- corrections: one amount keyed in wrong, one sale voided
UPDATE front.sales_txn SET amount = 15.14 WHERE txn_id = 112909;   -- was 151.43
DELETE FROM front.sales_txn WHERE txn_id = 113199;

\echo
\echo '== ingested: next_batch (INSERT), 3 late rows (COPY), 1 UPDATE, 1 DELETE; not rolled up yet'
SELECT name, applied_upto, source_upto, pending_changes FROM segroll.status;

\echo '== SELECT segroll.rollup(''sales_daily''): the number of row changes applied'
\echo '   (13 411 + 3 rows in, 1 row out, and the UPDATE counts 2: old version out, new one in;'
\echo '   pending_changes above counts change numbers, of which an UPDATE takes one)'
SELECT segroll.rollup('sales_daily') AS applied;

SELECT name, applied_upto, pending_changes, last_applied, round(last_run_ms) AS last_run_ms,
       total_applied
FROM   segroll.status;
