-- Where a roll-up window ends: segroll._capture_last() reads a capture
-- sequence's last number under the sequence's buffer lock.  A plain
-- SELECT last_value FROM seq reads the page after letting go of that lock
-- and may catch the value 32 ahead that a WAL-logging nextval() has there
-- while it logs it; a window ending there lost 29 rows under pgbench (TAP
-- 161, once in about fifty runs).  The race cannot be timed from SQL, so
-- besides the values, no segroll routine may read last_value another way.
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION segroll;

SELECT plan(11);

CREATE SEQUENCE t10_from1 AS bigint START 1 CACHE 1;
CREATE SEQUENCE t10_range AS bigint START 1001 CACHE 1;
SELECT is(segroll._capture_last('t10_from1'), 0::bigint, 'nothing given from 1: 0');
SELECT is(segroll._capture_last('t10_range'), 1000::bigint, 'nothing given from 1001 (a Citus node''s range): 1000');
SELECT nextval('t10_from1'), nextval('t10_from1');
SELECT is(segroll._capture_last('t10_from1'), 2::bigint, 'after two nextval(): 2');
-- a nextval() that logs writes last_value + 32 to the page for the WAL
-- record, and the value given after: the page says 35 only while logging
SELECT setval('t10_from1', 40);
SELECT nextval('t10_from1');
SELECT is(segroll._capture_last('t10_from1'), 41::bigint, 'after a nextval() that logged 32 numbers ahead: the number it gave');
SELECT setval('t10_from1', 70, false);
SELECT is(segroll._capture_last('t10_from1'), 69::bigint, 'setval(70, false): 69');

-- privileges are the sequence's: SELECT or USAGE
CREATE ROLE t10_nobody;
SET ROLE t10_nobody;
SELECT throws_ok($$SELECT segroll._capture_last('t10_from1')$$, '42501', NULL,
                 'a role that may not read the sequence is refused');
RESET ROLE;
GRANT USAGE ON SEQUENCE t10_range TO t10_nobody;
SET ROLE t10_nobody;
SELECT throws_ok($$SELECT segroll._capture_last('t10_range')$$, '42501', NULL, 'USAGE is not enough');
RESET ROLE;
GRANT SELECT ON SEQUENCE t10_range TO t10_nobody;
SET ROLE t10_nobody;
SELECT is(segroll._capture_last('t10_range'), 1000::bigint, 'SELECT is');
RESET ROLE;

-- a roll-up applies up to what _capture_last() says, no further
CREATE TABLE t10_sales (id bigint PRIMARY KEY, at timestamptz NOT NULL, shop int, amount numeric);
SELECT segroll.create_segmentation('t10_daily', 't10_sales', 'id', 'at', 'day', 'UTC', '{shop}', '{amount}');
INSERT INTO t10_sales SELECT g, '2026-12-01'::timestamptz + g * interval '1 minute', g % 3, g FROM generate_series(1, 100) g;
SELECT segroll.rollup('t10_daily');
SELECT is((SELECT applied_upto FROM segroll.progress WHERE name = 't10_daily'),
          segroll._capture_last((SELECT seq FROM segroll.source WHERE relid = 't10_sales'::regclass)),
          'the roll-up applied up to the sequence''s last number');
SELECT is((SELECT sum(amount_sum) FROM segroll_data.t10_daily_v), (SELECT sum(amount) FROM t10_sales),
          'and every row is in the cells');

-- the only reader of last_value: every other routine calls _capture_last()
SELECT is((SELECT array_agg(p.oid::regprocedure::text ORDER BY 1) FROM pg_proc p
           WHERE p.pronamespace = 'segroll'::regnamespace AND p.proname <> '_capture_last'
             AND regexp_replace(p.prosrc, 'pg_sequence_last_value', '', 'g') ~ '\mlast_value\M'),
          NULL, 'no other segroll routine reads a sequence''s last_value from its page');

SELECT * FROM finish();
