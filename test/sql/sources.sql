-- Real sources (issue 14): partitioned tables at several levels, partitions
-- created, attached, detached and dropped under a segmentation, rows moved
-- across partitions, and a source whose schema changes (columns added,
-- retyped, dropped and renamed; the table and its schema renamed).  After
-- every step the cells equal a from-scratch GROUP BY of the source, both
-- ways, segments (lineage and checksums) included.
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'UTC';
CREATE SCHEMA shop;

-- range by time, then hash by key under one month, range again under another
CREATE TABLE shop.pay (
	pay_id  bigint NOT NULL,
	paid_at timestamptz NOT NULL,
	channel int NOT NULL,
	amount  numeric(12,2),
	PRIMARY KEY (pay_id, paid_at)
) PARTITION BY RANGE (paid_at);
CREATE TABLE shop.pay_2026_10 PARTITION OF shop.pay FOR VALUES FROM ('2026-10-01') TO ('2026-11-01');
CREATE TABLE shop.pay_2026_11 PARTITION OF shop.pay FOR VALUES FROM ('2026-11-01') TO ('2026-12-01')
	PARTITION BY HASH (pay_id);
CREATE TABLE shop.pay_2026_11_h0 PARTITION OF shop.pay_2026_11 FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE shop.pay_2026_11_h1 PARTITION OF shop.pay_2026_11 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE shop.pay_2026_12 PARTITION OF shop.pay FOR VALUES FROM ('2026-12-01') TO ('2027-01-01')
	PARTITION BY RANGE (paid_at);
CREATE TABLE shop.pay_2026_12a PARTITION OF shop.pay_2026_12 FOR VALUES FROM ('2026-12-01') TO ('2026-12-16');
CREATE TABLE shop.pay_2026_12b PARTITION OF shop.pay_2026_12 DEFAULT;
INSERT INTO shop.pay
SELECT g, '2026-10-01'::timestamptz + g * interval '61 minutes', g % 3, (g % 997) / 10.0
FROM generate_series(1, 2000) g;

-- the oracle: cells vs a from-scratch GROUP BY, both ways
CREATE FUNCTION oracle(source regclass, cells regclass, key text, t text, dims text, meas text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
BEGIN
	EXECUTE format($q$
	WITH fresh AS (
		SELECT %4$s, date_trunc('day', s.%3$I, 'UTC') AS period, segroll.segment_agg(s.%2$I, s.%3$I, s.%5$I) AS seg
		FROM %1$s s GROUP BY %4$s, 2)
	SELECT count(*) FROM ((SELECT * FROM fresh EXCEPT ALL SELECT %6$s, period, seg FROM %7$s)
	                      UNION ALL (SELECT %6$s, period, seg FROM %7$s EXCEPT ALL SELECT * FROM fresh)) d$q$,
		source, key, t, 's.' || dims, meas, dims, cells) INTO n;
	RETURN n;
END
$$;

-- the key is unique only together with the partition key: accepted
SELECT pg_relation_filenode('shop.pay_2026_10') AS node_before \gset
SELECT segroll.create_segmentation('pay_daily', 'shop.pay', 'pay_id', 'paid_at', 'day',
	dimensions => '{channel}', measures => '{amount}');
-- the capture column was added without rewriting a partition
SELECT pg_relation_filenode('shop.pay_2026_10') = :node_before AS not_rewritten;
SELECT count(*) AS rows_before_capture FROM shop.pay WHERE segroll_seq = 1;
SELECT oracle('shop.pay', 'segroll_data.pay_daily', 'pay_id', 'paid_at', 'channel', 'amount') AS differences;

-- inserts into every level, an UPDATE that moves rows across partitions
-- (month and hash), deletes through the parent and straight from a partition
INSERT INTO shop.pay
SELECT g, '2026-10-01'::timestamptz + (g - 2000) * interval '97 minutes', g % 3, (g % 991) / 10.0
FROM generate_series(2001, 2600) g;
UPDATE shop.pay SET paid_at = paid_at + interval '31 days', pay_id = pay_id + 100000
WHERE pay_id % 17 = 0 AND paid_at < '2026-11-25';
UPDATE shop.pay SET channel = 1, amount = amount + 1 WHERE pay_id % 13 = 0 AND paid_at >= '2026-12-01';
DELETE FROM shop.pay WHERE pay_id % 19 = 0;
DELETE FROM shop.pay_2026_11_h1 WHERE pay_id % 7 = 0;
-- numbers a statement gives are not kept: the capture numbers every version
INSERT INTO shop.pay (pay_id, paid_at, channel, amount, segroll_seq) VALUES (900001, '2026-12-03', 2, 5, 1);
SELECT segroll_seq > 1 AS numbered FROM shop.pay WHERE pay_id = 900001;
-- rows applied by logical replication are numbered too (ENABLE ALWAYS)
SET session_replication_role = replica;
INSERT INTO shop.pay VALUES (900002, '2026-12-04', 0, 7);
RESET session_replication_role;
SELECT segroll_seq > 1 AS numbered FROM shop.pay WHERE pay_id = 900002;
SELECT segroll.rollup('pay_daily') > 0 AS rolled_up;
SELECT oracle('shop.pay', 'segroll_data.pay_daily', 'pay_id', 'paid_at', 'channel', 'amount') AS differences;

-- a table loaded apart, then attached (its rows, whatever numbers they
-- carry, are numbered as they join); a partition created on the fly
CREATE TABLE shop.pay_2027_01 (LIKE shop.pay INCLUDING DEFAULTS);
INSERT INTO shop.pay_2027_01 (pay_id, paid_at, channel, amount, segroll_seq)
SELECT g, '2027-01-01'::timestamptz + (g - 500000) * interval '13 minutes', g % 3, g / 100.0, 1
FROM generate_series(500001, 500300) g;
ALTER TABLE shop.pay ATTACH PARTITION shop.pay_2027_01 FOR VALUES FROM ('2027-01-01') TO ('2027-02-01');
SELECT count(*) AS attached_rows_numbered FROM shop.pay_2027_01
WHERE segroll_seq > (SELECT applied_upto FROM segroll.progress WHERE name = 'pay_daily');
CREATE TABLE shop.pay_2027_02 PARTITION OF shop.pay FOR VALUES FROM ('2027-02-01') TO ('2027-03-01');
INSERT INTO shop.pay VALUES (600001, '2027-02-02', 1, 10), (600002, '2027-02-03', 2, 20);
SELECT segroll.rollup('pay_daily') AS applied;
SELECT oracle('shop.pay', 'segroll_data.pay_daily', 'pay_id', 'paid_at', 'channel', 'amount') AS differences;

-- the oldest partition dropped by a retention job: the cells keep its rows
-- and the purge log records the horizon it leaves, which trace and locate
-- read; verify after the horizon is clean
SELECT sum(count) AS cells_rows_before FROM segroll_data.pay_daily_v;
DROP TABLE shop.pay_2026_10;
SELECT sum(count) AS cells_rows_after FROM segroll_data.pay_daily_v;
SELECT source, time_column, purged_before, rows_deleted > 0 AS counted FROM segroll.purge_log WHERE source = 'shop.pay'::regclass;
SELECT count(*) AS problems FROM segroll.verify('pay_daily', '2026-11-01', '2027-03-01', 'full');
SELECT status FROM segroll.locate('pay_daily', 3);
-- a detached partition leaves nothing to record while an older one remains
ALTER TABLE shop.pay DETACH PARTITION shop.pay_2027_02;
SELECT count(*) AS purge_entries FROM segroll.purge_log WHERE source = 'shop.pay'::regclass;

-- what cannot be a source, or a key
CREATE TABLE shop.loose (id bigint NOT NULL, t timestamptz NOT NULL, v int) PARTITION BY RANGE (t);
CREATE TABLE shop.loose_1 PARTITION OF shop.loose FOR VALUES FROM (MINVALUE) TO (MAXVALUE);
SELECT segroll.create_segmentation('loose_daily', 'shop.loose', 'id', 't', 'day', dimensions => '{v}');
SELECT segroll.create_segmentation('loose_daily', 'shop.pay_2026_11', 'pay_id', 'paid_at', 'day', dimensions => '{channel}');

-- a plain source whose schema changes between roll-ups, with changes
-- pending (logged under the old names) across each change
CREATE TABLE shop.sale (
	sale_id bigint PRIMARY KEY,
	sold_at timestamptz NOT NULL,
	org     int,
	qty     int,
	note    text
);
INSERT INTO shop.sale SELECT g, '2026-12-01'::timestamptz + g * interval '3 minutes', g % 4, g % 9, 'n'
FROM generate_series(1, 3000) g;
SELECT pg_relation_filenode('shop.sale') AS node_before \gset
SELECT segroll.create_segmentation('sale_daily', 'shop.sale', 'sale_id', 'sold_at', 'day',
	dimensions => '{org}', measures => '{qty}');
SELECT pg_relation_filenode('shop.sale') = :node_before AS not_rewritten;
UPDATE shop.sale SET qty = qty + 10, org = 5 WHERE sale_id % 11 = 0;
DELETE FROM shop.sale WHERE sale_id % 23 = 0;
ALTER TABLE shop.sale ADD COLUMN channel text DEFAULT 'web';
ALTER TABLE shop.sale ALTER COLUMN note TYPE varchar(20);
ALTER TABLE shop.sale DROP COLUMN note;
ALTER TABLE shop.sale RENAME COLUMN qty TO quantity;
ALTER TABLE shop.sale RENAME COLUMN org TO org_id;
UPDATE shop.sale SET quantity = quantity + 1 WHERE sale_id % 29 = 0;
ALTER TABLE shop.sale RENAME COLUMN sale_id TO id;
ALTER TABLE shop.sale RENAME COLUMN sold_at TO at;
CREATE SCHEMA archive;
ALTER TABLE shop.sale SET SCHEMA archive;
ALTER TABLE archive.sale RENAME TO sales;
ALTER SCHEMA archive RENAME TO back_office;
DELETE FROM back_office.sales WHERE id % 31 = 0;
SELECT segroll.rollup('sale_daily') > 0 AS rolled_up;
SELECT key_column, time_column, dimensions, measures FROM segroll.segmentations WHERE name = 'sale_daily';
-- the BI view's measure columns follow the measure, its dimension keeps its name
SELECT attname FROM pg_attribute WHERE attrelid = 'segroll_data.sale_daily_v'::regclass AND attnum > 0 ORDER BY attnum;
CREATE FUNCTION sale_oracle() RETURNS bigint LANGUAGE sql AS $$
	WITH fresh AS (
		SELECT s.org_id AS org, date_trunc('day', s.at, 'UTC') AS period, segroll.segment_agg(s.id, s.at, s.quantity) AS seg
		FROM back_office.sales s GROUP BY 1, 2)
	SELECT count(*) FROM ((SELECT * FROM fresh EXCEPT ALL SELECT org, period, seg FROM segroll_data.sale_daily)
	                      UNION ALL (SELECT org, period, seg FROM segroll_data.sale_daily EXCEPT ALL SELECT * FROM fresh)) d
$$;
SELECT sale_oracle() AS differences;
SELECT count(*) AS problems FROM segroll.verify('sale_daily', '2026-11-01', '2027-01-01', 'full');
SELECT count(*) AS traced FROM segroll.trace('sale_daily', '{"org": 1}', '2026-12-02');
-- a column the segmentation uses cannot be dropped (CASCADE neither) or retyped
ALTER TABLE back_office.sales DROP COLUMN quantity;
ALTER TABLE back_office.sales DROP COLUMN quantity CASCADE;
ALTER TABLE back_office.sales ALTER COLUMN org_id TYPE bigint;
ALTER TABLE back_office.sales DROP COLUMN segroll_seq;
SELECT count(*) AS unmapped_view_kept FROM segroll_data.sale_daily_unmapped;
-- the unmapped view shows the columns the segmentation reads, renamed with them
SELECT attname FROM pg_attribute WHERE attrelid = 'segroll_data.sale_daily_unmapped'::regclass AND attnum > 0 ORDER BY attnum;

-- the numbering trigger numbers only from its source's own capture sequence
CREATE TABLE shop.other (id bigint, segroll_seq bigint);
CREATE SEQUENCE shop.not_capture OWNED BY shop.other.id;
CREATE TRIGGER t BEFORE INSERT ON shop.other FOR EACH ROW EXECUTE FUNCTION segroll.capture_number();
INSERT INTO shop.other VALUES (1, 1);
-- nor may anyone but the table's owner renumber rows
CREATE ROLE sources_stranger;
GRANT USAGE ON SCHEMA shop TO sources_stranger;
GRANT ALL ON shop.other TO sources_stranger;
SET ROLE sources_stranger;
SELECT segroll._number_rows('shop.other');
RESET ROLE;
DROP OWNED BY sources_stranger;
DROP ROLE sources_stranger;

SELECT segroll.drop_segmentation('pay_daily');
SELECT segroll.drop_segmentation('sale_daily');
-- the capture is gone with the last segmentation: no column, no sequence
SELECT count(*) AS capture_columns FROM pg_attribute WHERE attname = 'segroll_seq' AND NOT attisdropped
  AND attrelid IN ('shop.pay'::regclass, 'back_office.sales'::regclass);
SELECT count(*) AS capture_sequences FROM pg_class WHERE relkind = 'S' AND relname LIKE 'segroll_seq_%';

-- a source range-partitioned on its time column: its segmentations can be
-- dropped one by one (their own tables' drop records no purge horizon); a
-- dropped partition still records one
CREATE TABLE shop.by_day (id bigint NOT NULL, at timestamptz NOT NULL, org int, amount numeric(12,2),
                          PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE shop.by_day_1 PARTITION OF shop.by_day FOR VALUES FROM ('2026-11-01 00:00+00') TO ('2026-11-02 00:00+00');
CREATE TABLE shop.by_day_2 PARTITION OF shop.by_day FOR VALUES FROM ('2026-11-02 00:00+00') TO ('2026-11-03 00:00+00');
INSERT INTO shop.by_day SELECT g, '2026-11-01 00:00+00'::timestamptz + g * interval '1 minute', g % 3, g FROM generate_series(1, 2000) g;
SELECT segroll.create_segmentation('by_day_a', 'shop.by_day', 'id', 'at', 'day', 'UTC', '{org}', '{amount}') IS NOT NULL AS created;
SELECT segroll.create_segmentation('by_day_b', 'shop.by_day', 'id', 'at', 'day', 'UTC', '{org}', '{amount}') IS NOT NULL AS created;
SELECT segroll.drop_segmentation('by_day_a');
SELECT count(*) AS horizons FROM segroll.purge_log WHERE source = 'shop.by_day'::regclass;
DROP TABLE shop.by_day_1;
SELECT purged_before, rows_deleted FROM segroll.purge_log WHERE source = 'shop.by_day'::regclass;
-- the source itself cannot be dropped while a segmentation rolls it up,
-- alone, with CASCADE or with its schema
DROP TABLE shop.by_day;
DROP TABLE shop.by_day CASCADE;
CREATE SCHEMA doomed;
CREATE TABLE doomed.t (id bigint PRIMARY KEY, at timestamptz NOT NULL, g int, v numeric);
INSERT INTO doomed.t VALUES (1, '2026-11-01 00:00+00', 1, 1);
SELECT segroll.create_segmentation('doomed_daily', 'doomed.t', 'id', 'at', 'day', 'UTC', '{g}', '{v}') IS NOT NULL AS created;
DROP SCHEMA doomed CASCADE;
SELECT segroll.drop_segmentation('doomed_daily');
DROP SCHEMA doomed CASCADE;
SELECT segroll.drop_segmentation('by_day_b');
DROP TABLE shop.by_day;
