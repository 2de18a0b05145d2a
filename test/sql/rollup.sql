-- Segmentations and incremental roll-up: the cells always equal a
-- from-scratch GROUP BY over the source (symmetric EXCEPT ALL), lineage and
-- checksums included.
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'Asia/Seoul';
CREATE SCHEMA ref;
CREATE SCHEMA front;
CREATE TABLE ref.item (item_id int PRIMARY KEY, brand_id int);
INSERT INTO ref.item SELECT g, g % 5 FROM generate_series(1, 100) g;
CREATE TABLE front.sales (
	txn_id   bigint PRIMARY KEY,
	sold_at  timestamptz NOT NULL,
	org_id   int,
	item_id  int,
	amount   numeric(12,2),
	qty      int
);
INSERT INTO front.sales
SELECT g, '2026-11-01 00:00+09'::timestamptz + g * interval '7 minutes', g % 3,
       g % 110,	-- items 101..109 have no reference row: unmapped
       (g % 1000) / 10.0, g % 5
FROM generate_series(1, 5000) g;

SELECT segroll.create_segmentation(
	name       => 'sales_daily',
	source     => 'front.sales',
	key        => 'txn_id',
	time_col   => 'sold_at',
	grain      => 'day',
	time_zone  => 'Asia/Seoul',
	dimensions => '{org_id, brand_id=ref.item.brand_id ON item_id}',
	measures   => '{sum(amount), qty}');

-- the oracle: cells vs a from-scratch GROUP BY, both ways
CREATE FUNCTION oracle() RETURNS bigint LANGUAGE sql AS $$
	WITH fresh AS (
		SELECT s.org_id, r.brand_id, date_trunc('day', s.sold_at, 'Asia/Seoul') AS period,
		       segroll.segment_agg(s.txn_id, s.sold_at, s.amount, s.qty) AS seg
		FROM front.sales s LEFT JOIN ref.item r ON r.item_id = s.item_id
		GROUP BY 1, 2, 3)
	SELECT count(*) FROM (
		(SELECT * FROM fresh EXCEPT ALL SELECT org_id, brand_id, period, seg FROM segroll_data.sales_daily)
		UNION ALL
		(SELECT org_id, brand_id, period, seg FROM segroll_data.sales_daily EXCEPT ALL SELECT * FROM fresh)) d
$$;

SELECT oracle() AS after_backfill;
SELECT name, schedule, applied_upto, source_upto, pending_changes, last_applied, total_applied FROM segroll.status;
SELECT name, source, dimensions, measures, lineage, cells, bi_view, unmapped_view, schedule FROM segroll.segmentations;

-- the plain view agrees with count(*) and sum() over the raw rows
SELECT (SELECT sum(count) FROM segroll_data.sales_daily_v) = (SELECT count(*) FROM front.sales) AS counts_agree,
       (SELECT sum(amount_sum) FROM segroll_data.sales_daily_v) = (SELECT sum(amount) FROM front.sales) AS sums_agree;
SELECT * FROM segroll_data.sales_daily_v ORDER BY period, org_id, brand_id LIMIT 3;

-- unmapped rows land in an explicit NULL member and are listed
SELECT count(*) AS unmapped_rows FROM segroll_data.sales_daily_unmapped;
SELECT sum(count) AS unmapped_in_cells FROM segroll_data.sales_daily_v WHERE brand_id IS NULL;

-- new rows, late rows, corrections
INSERT INTO front.sales SELECT g, now(), g % 3, g % 100 + 1, 1.00, 1 FROM generate_series(5001, 5100) g;
INSERT INTO front.sales VALUES (5101, '2026-11-02 12:00+09', 1, 1, 12.34, 2);	-- late
UPDATE front.sales SET amount = amount + 1 WHERE txn_id BETWEEN 100 AND 150;
UPDATE front.sales SET org_id = 2 WHERE txn_id BETWEEN 200 AND 210;		-- moves cells
UPDATE front.sales SET sold_at = sold_at - interval '3 days' WHERE txn_id BETWEEN 300 AND 305;
UPDATE front.sales SET item_id = 7 WHERE txn_id = 101;				-- becomes mapped
DELETE FROM front.sales WHERE txn_id BETWEEN 400 AND 450;
SELECT segroll.rollup('sales_daily') AS applied;
SELECT oracle() AS after_corrections;

-- a correction that removes a cell's maximum recomputes that cell only
UPDATE front.sales SET amount = 99999 WHERE txn_id = 1000;
SELECT segroll.rollup('sales_daily') AS applied;
UPDATE front.sales SET amount = 1 WHERE txn_id = 1000;
SELECT segroll.rollup('sales_daily') AS applied;
SELECT oracle() AS after_minmax_correction;

-- deleting every row of a cell removes the cell
DELETE FROM front.sales WHERE org_id = 1 AND sold_at < '2026-11-03 00:00+09';
SELECT segroll.rollup('sales_daily') AS applied;
SELECT oracle() AS after_cell_emptied;

-- aborted writers and rolled-back savepoints leave nothing behind
BEGIN;
INSERT INTO front.sales VALUES (6001, now(), 0, 1, 5, 5);
ROLLBACK;
BEGIN;
INSERT INTO front.sales VALUES (6002, now(), 0, 1, 5, 5);
SAVEPOINT a;
INSERT INTO front.sales VALUES (6003, now(), 0, 1, 7, 7);
UPDATE front.sales SET amount = 0 WHERE txn_id = 6002;
ROLLBACK TO a;
COMMIT;
SELECT segroll.rollup('sales_daily') AS applied;
SELECT oracle() AS after_aborts;

-- nothing new: nothing changes
SELECT segroll.rollup('sales_daily') AS applied;
SELECT segroll.rollup('sales_daily') AS applied;
SELECT oracle() AS idempotent;

-- a roll-up that fails half-way leaves cells and progress as they were
INSERT INTO front.sales SELECT g, now(), 0, 1, 1, 1 FROM generate_series(7001, 7010) g;
BEGIN;
SELECT segroll.rollup('sales_daily') AS applied;
SELECT 1 / 0;
ROLLBACK;
SELECT pending_changes FROM segroll.status;
SELECT segroll.rollup('sales_daily') AS applied;
SELECT oracle() AS after_failed_rollup;

-- the TimeZone of the session that rolls up does not matter
SET TimeZone = 'America/Los_Angeles';
INSERT INTO front.sales VALUES (8001, '2026-11-05 23:30:00+00', 0, 1, 3, 3);	-- 2026-11-06 in Seoul
SELECT segroll.rollup('sales_daily') AS applied;
SET TimeZone = 'UTC';
SELECT oracle() AS timezone_independent;
SELECT period FROM segroll_data.sales_daily WHERE segroll.contains(seg, 8001);

-- batches and the backfill procedure
INSERT INTO front.sales SELECT g, now(), g % 3, g % 100 + 1, 2, 2 FROM generate_series(9001, 9500) g;
SELECT segroll.rollup('sales_daily', 100) AS applied_in_batch;
CALL segroll.backfill('sales_daily', 150);
SELECT pending_changes FROM segroll.status;
SELECT oracle() AS after_backfill_procedure;

-- TRUNCATE would silently lose the cells' sources
TRUNCATE front.sales;

-- a second segmentation over the same source shares its capture
SELECT segroll.create_segmentation('sales_monthly_org', 'front.sales', 'txn_id', 'sold_at', 'month',
	'Asia/Seoul', '{org_id}', '{amount}', lineage => false);
SELECT count(*) AS sources FROM segroll.source;
DELETE FROM front.sales WHERE txn_id < 50;
SELECT segroll.rollup('sales_daily') + segroll.rollup('sales_monthly_org') AS applied;
SELECT oracle() AS first_after_second;
SELECT count(*) AS monthly_mismatches FROM (
	SELECT org_id, date_trunc('month', sold_at, 'Asia/Seoul'), sum(amount), count(*) FROM front.sales GROUP BY 1, 2
	EXCEPT ALL
	SELECT org_id, period, amount_sum, count FROM segroll_data.sales_monthly_org_v) d;
SELECT segroll.has_lineage(seg) FROM segroll_data.sales_monthly_org LIMIT 1;

-- definitions are validated, and nothing is half-created on error
CREATE TABLE front.bad (id bigint, id2 bigint NOT NULL, t timestamptz NOT NULL, tl time NOT NULL,
                        nt timestamptz, amt float8, note text, c int);
CREATE UNIQUE INDEX ON front.bad (id2);
SELECT segroll.create_segmentation('Bad Name', 'front.bad', 'id2', 't', 'day', 'UTC', '{c}');
SELECT segroll.create_segmentation('sales_daily', 'front.bad', 'id2', 't', 'day', 'UTC', '{c}');
SELECT segroll.create_segmentation('b1', 'front.bad', 'nope', 't', 'day', 'UTC', '{c}');
SELECT segroll.create_segmentation('b1', 'front.bad', 'id', 't', 'day', 'UTC', '{c}');
SELECT segroll.create_segmentation('b1', 'front.bad', 'note', 't', 'day', 'UTC', '{c}');
SELECT segroll.create_segmentation('b1', 'front.bad', 'id2', 'tl', 'day', 'UTC', '{c}');
SELECT segroll.create_segmentation('b1', 'front.bad', 'id2', 'nt', 'day', 'UTC', '{c}');
SELECT segroll.create_segmentation('b1', 'front.bad', 'id2', 't', 'fortnight', 'UTC', '{c}');
SELECT segroll.create_segmentation('b1', 'front.bad', 'id2', 't', 'day', 'Mars/Olympus', '{c}');
SELECT segroll.create_segmentation('b1', 'front.bad', 'id2', 't', 'day', 'UTC', '{}');
SELECT segroll.create_segmentation('b1', 'front.bad', 'id2', 't', 'day', 'UTC', '{nope}');
SELECT segroll.create_segmentation('b1', 'front.bad', 'id2', 't', 'day', 'UTC', '{c, c}');
SELECT segroll.create_segmentation('b1', 'front.bad', 'id2', 't', 'day', 'UTC', '{x=ref.nope.brand_id ON c}');
SELECT segroll.create_segmentation('b1', 'front.bad', 'id2', 't', 'day', 'UTC', '{x=ref.item.brand_id ON c=brand_id}');
SELECT segroll.create_segmentation('b1', 'front.bad', 'id2', 't', 'day', 'UTC', '{x=ref.item.brand_id ON note=item_id}');
SELECT segroll.create_segmentation('b1', 'front.bad', 'id2', 't', 'day', 'UTC', '{x = something odd}');
SELECT segroll.create_segmentation('b1', 'front.bad', 'id2', 't', 'day', 'UTC', '{c}', '{amt}');
SELECT segroll.create_segmentation('b1', 'front.bad', 'id2', 't', 'day', 'UTC', '{c}', '{nope}');
SELECT segroll.create_segmentation('b1', 'front.bad', 'id2', 't', 'day', 'UTC', '{c}', schedule => 'hourly');
SELECT segroll.create_segmentation('b1', 'ref.item_pkey', 'id2', 't', 'day', 'UTC', '{c}');
SELECT count(*) AS half_created FROM pg_class WHERE relname LIKE 'b1%';
SELECT count(*) AS capture_column FROM pg_attribute WHERE attrelid = 'front.bad'::regclass AND attname = 'segroll_seq';
SELECT segroll.rollup('nope');
SELECT segroll.drop_segmentation('nope');
SELECT segroll.alter_segmentation('sales_daily', 'sometimes');
SELECT segroll.alter_segmentation('sales_daily', 'continuous');
SELECT schedule FROM segroll.segmentations WHERE name = 'sales_daily';
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT segroll.rollup('sales_daily');
ROLLBACK;

-- reference data that changes under rolled-up rows: a correction cannot be
-- retracted from the cell it was counted in; the error says how to recover
UPDATE front.sales SET item_id = 105 WHERE txn_id = 6002;	-- unmapped now
SELECT segroll.rollup('sales_daily') AS applied;
INSERT INTO ref.item VALUES (105, 4);			-- the item gets a brand
UPDATE front.sales SET amount = 6 WHERE txn_id = 6002;	-- old version maps to brand 4, counted under NULL
SELECT segroll.rollup('sales_daily') AS applied;
SELECT pending_changes > 0 AS still_pending FROM segroll.status WHERE name = 'sales_daily';
SELECT segroll.rebuild('sales_daily') AS rebuilt_from_rows;
SELECT oracle() AS after_rebuild;
SELECT pending_changes FROM segroll.status WHERE name = 'sales_daily';

-- roles: the owner's privileges, not the caller's
CREATE ROLE segroll_reg_owner LOGIN;
CREATE ROLE segroll_reg_other LOGIN;
-- both may operate segmentations, but only their own
GRANT segroll_admin TO segroll_reg_owner, segroll_reg_other;
CREATE SCHEMA owner_data AUTHORIZATION segroll_reg_owner;
GRANT USAGE ON SCHEMA ref TO segroll_reg_owner;
GRANT SELECT ON ref.item TO segroll_reg_owner;
SET ROLE segroll_reg_owner;
CREATE TABLE owner_data.txn (id bigint PRIMARY KEY, t timestamptz NOT NULL, item_id int, v numeric(10,2));
INSERT INTO owner_data.txn SELECT g, '2026-11-01 00:00+09'::timestamptz + g * interval '1 hour', g % 100 + 1, g FROM generate_series(1, 50) g;
SELECT segroll.create_segmentation('owned', 'owner_data.txn', 'id', 't', 'day', 'Asia/Seoul',
	'{brand_id=ref.item.brand_id ON item_id}', '{v}', cells_schema => 'owner_data');
SELECT count(*) AS cells FROM owner_data.owned;
RESET ROLE;
SET ROLE segroll_reg_other;
SELECT segroll.rollup('owned');
SELECT segroll.drop_segmentation('owned');
SELECT segroll.create_segmentation('stolen', 'owner_data.txn', 'id', 't', 'day', 'UTC', '{item_id}');
-- the number of pending changes shows to every role (segroll._pending_changes),
-- the capture sequence (source_upto) only to those who may read it
SELECT name, pending_changes, source_upto FROM segroll.status ORDER BY name;
RESET ROLE;
-- a superuser's roll-up runs as the owner: revoke the owner's access to the
-- reference table and the roll-up fails for lack of the owner's privilege
REVOKE SELECT ON ref.item FROM segroll_reg_owner;
INSERT INTO owner_data.txn VALUES (51, now(), 1, 1);
SELECT segroll.rollup('owned');
GRANT SELECT ON ref.item TO segroll_reg_owner;
SELECT segroll.rollup('owned') AS applied;
SELECT segroll.drop_segmentation('owned');
DROP SCHEMA owner_data CASCADE;
REVOKE ALL ON SCHEMA ref FROM segroll_reg_owner;
REVOKE ALL ON ref.item FROM segroll_reg_owner;
DROP ROLE segroll_reg_owner;
DROP ROLE segroll_reg_other;

-- a partitioned source needs a unique key (with the partition key; see sources.sql)
CREATE TABLE front.parted (id bigint NOT NULL, t timestamptz NOT NULL, c int) PARTITION BY RANGE (t);
SELECT segroll.create_segmentation('p1', 'front.parted', 'id', 't', 'day', 'UTC', '{c}');

-- a version numbered in a window but replaced after it (batched roll-ups):
-- the window is applied as it stood, the replacement retracts it later
CREATE TABLE front.sup (id bigint PRIMARY KEY, ts timestamptz NOT NULL, g int, v int);
SELECT segroll.create_segmentation('sup', 'front.sup', 'id', 'ts', 'day', 'UTC', '{g}', '{v}', backfill => false);
INSERT INTO front.sup VALUES (1, '2026-11-01', 1, 10), (2, '2026-11-01', 1, 20);
UPDATE front.sup SET g = 2 WHERE id = 1;
DELETE FROM front.sup WHERE id = 2;
-- the first window is number 1, the rows there before the capture: none
SELECT segroll.rollup('sup', 1) AS applied;
SELECT segroll.rollup('sup', 1) AS applied;
SELECT segroll.rollup('sup') AS applied;
SELECT g, period, count, v_sum FROM segroll_data.sup_v ORDER BY g;

-- another BEFORE UPDATE trigger that cancels an update: nothing is retracted
CREATE FUNCTION front.skip_row_1() RETURNS trigger LANGUAGE plpgsql AS
	$$BEGIN IF OLD.id = 1 THEN RETURN NULL; END IF; RETURN NEW; END$$;
CREATE TRIGGER zz_skip BEFORE UPDATE ON front.sup FOR EACH ROW EXECUTE FUNCTION front.skip_row_1();
INSERT INTO front.sup VALUES (3, '2026-11-01', 2, 30);
SELECT segroll.rollup('sup') AS applied;
UPDATE front.sup SET v = v + 1;
SELECT segroll.rollup('sup') AS applied;
SELECT count(*) AS sup_mismatches FROM (
	(SELECT g, date_trunc('day', ts, 'UTC') AS period, count(*) AS count, sum(v) AS v_sum FROM front.sup GROUP BY 1, 2
	 EXCEPT ALL SELECT g, period, count, v_sum FROM segroll_data.sup_v)
	UNION ALL
	(SELECT g, period, count, v_sum FROM segroll_data.sup_v
	 EXCEPT ALL SELECT g, date_trunc('day', ts, 'UTC'), count(*), sum(v) FROM front.sup GROUP BY 1, 2)) d;
SELECT segroll.drop_segmentation('sup');

-- dropping the last segmentation of a source removes the capture
SELECT segroll.drop_segmentation('sales_monthly_org');
SELECT count(*) AS capture_column FROM pg_attribute WHERE attrelid = 'front.sales'::regclass AND attname = 'segroll_seq' AND NOT attisdropped;
SELECT segroll.drop_segmentation('sales_daily');
SELECT count(*) AS capture_column FROM pg_attribute WHERE attrelid = 'front.sales'::regclass AND attname = 'segroll_seq' AND NOT attisdropped;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'front.sales'::regclass;
SELECT count(*) AS left_over FROM pg_class WHERE relnamespace = 'segroll_data'::regnamespace;
SELECT count(*) AS definitions FROM segroll.segmentation;
TRUNCATE front.sales;

-- measure types: the aggregates' own rule (measure_type_ok, in C), domains
-- at any depth included
CREATE DOMAIN front.qty AS int CHECK (VALUE >= 0);
CREATE DOMAIN front.small_qty AS front.qty CHECK (VALUE < 1000);
CREATE DOMAIN front.label AS text;
SELECT t::regtype, segroll.measure_type_ok(t::regtype)
FROM unnest('{smallint, integer, bigint, numeric, "numeric(12,2)", front.qty, front.small_qty, real, double precision, money, text, front.label, boolean}'::text[]) t;
CREATE TABLE front.dom (id bigint PRIMARY KEY, t timestamptz NOT NULL, org int, q front.small_qty, l front.label);
INSERT INTO front.dom SELECT g, '2026-11-01 00:00+09'::timestamptz + g * interval '1 hour', g % 2, g % 9, 'x' FROM generate_series(1, 50) g;
SELECT segroll.create_segmentation('dom_daily', 'front.dom', 'id', 't', 'day', 'UTC', '{org}', '{l}');
SELECT segroll.create_segmentation('dom_daily', 'front.dom', 'id', 't', 'day', 'UTC', '{org}', '{q}');
SELECT sum(q_sum) = (SELECT sum(q) FROM front.dom) AS sums_agree FROM segroll_data.dom_daily_v;

-- an idle round writes nothing: no transaction id (a row lock would take
-- one), the progress row as it was
SELECT xmin AS progress_xmin, last_run_at AS progress_run FROM segroll.progress WHERE name = 'dom_daily' \gset
BEGIN;
SELECT segroll.rollup('dom_daily') AS applied, segroll.rollup('dom_daily') AS applied_again;
SELECT pg_current_xact_id_if_assigned() IS NULL AS no_transaction_id;
COMMIT;
SELECT xmin = :'progress_xmin' AND last_run_at = :'progress_run' AS progress_untouched
FROM segroll.progress WHERE name = 'dom_daily';
-- a round with something to apply still records itself
INSERT INTO front.dom VALUES (51, '2026-11-04 00:00+09', 1, 3, 'x');
SELECT segroll.rollup('dom_daily') AS applied;
SELECT last_run_at > :'progress_run' AS progress_recorded, last_applied FROM segroll.progress WHERE name = 'dom_daily';
SELECT segroll.drop_segmentation('dom_daily');

-- a roll-up keeps the capture index (BRIN) summarized up to the last full
-- page range, so the next window is found without reading every row
-- inserted since the last VACUUM
CREATE TABLE front.brin_src (id bigint PRIMARY KEY, at timestamptz NOT NULL, org int, amount numeric) WITH (autovacuum_enabled = off);
SELECT segroll.create_segmentation('brin_daily', 'front.brin_src', 'id', 'at', 'day', 'Asia/Seoul', '{org}', '{amount}') IS NOT NULL;
INSERT INTO front.brin_src SELECT g, '2026-11-01 00:00+09'::timestamptz + g * interval '1 second', g % 3, g FROM generate_series(1, 20000) g;
SELECT segroll.rollup('brin_daily');
SELECT brin_summarize_new_values(i.indexrelid) <= 1 AS summarized_up_to_the_last_range
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'front.brin_src'::regclass AND c.relam = (SELECT oid FROM pg_am WHERE amname = 'brin');
SELECT segroll.drop_segmentation('brin_daily');
