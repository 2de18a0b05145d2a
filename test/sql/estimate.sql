-- segroll.estimate(): with a 100 % sample it equals the exact figures of the
-- segmentation (cells, rows, periods, segment bytes); side-by-side
-- candidates; every bad input.
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'UTC';
CREATE SCHEMA est;
CREATE TABLE est.item (item_id int PRIMARY KEY, brand_id int NOT NULL, label text UNIQUE, code bigint);
INSERT INTO est.item SELECT i, 1 + i % 7, 'item ' || i, i FROM generate_series(1, 60) i;
CREATE TABLE est.sales (
	txn_id     bigint PRIMARY KEY,
	sold_at    timestamptz NOT NULL,
	org_id     int NOT NULL,
	channel_id int NOT NULL,
	item_id    int,
	amount     numeric(12,2) NOT NULL,
	qty        int NOT NULL
);
-- one sale every 7 minutes from 2026-10-01 (Seoul) for 97 days; items 61..70
-- have no reference row and every 97th item is NULL: unmapped cells
INSERT INTO est.sales
SELECT g, timestamptz '2026-10-01 00:00 Asia/Seoul' + g * interval '7 minutes',
       1 + g % 3, 1 + (g / 7) % 4, CASE WHEN g % 97 = 0 THEN NULL ELSE 1 + (g * 37) % 70 END,
       ((g * 7919) % 50000) / 100.0, 1 + g % 5
FROM generate_series(1, 20000) g;

-- the exact figures of a segmentation, from a full GROUP BY; segments are
-- measured as stored in a table (short varlena headers), as in the cells
CREATE FUNCTION est.exact(dims text, joins text, grain text, tz text, meas text,
	OUT periods bigint, OUT cells bigint, OUT "rows" bigint, OUT seg_l bigint, OUT seg_n bigint)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format($q$
		CREATE TEMP TABLE est_exact AS
		SELECT %1$s, date_trunc(%2$L, s.sold_at, %3$L) AS period, count(*) AS n,
		       segroll.segment_agg(s.txn_id, s.sold_at%4$s) AS l,
		       segroll.segment_agg_nolineage(s.txn_id, s.sold_at%4$s) AS nl
		FROM est.sales s %5$s GROUP BY %1$s, date_trunc(%2$L, s.sold_at, %3$L)$q$, dims, grain, tz, meas, joins);
	SELECT count(DISTINCT period), count(*), sum(n), sum(segroll.stored_size(l)), sum(segroll.stored_size(nl))
	INTO periods, cells, "rows", seg_l, seg_n FROM est_exact;
	DROP TABLE est_exact;
END
$$;

-- 100 %: equal to the exact figures
SELECT e.candidate, e.periods, e.cells_per_period, e.cells, e."rows", e.rows_per_cell,
       e.segment_bytes_with_lineage, e.segment_bytes_without_lineage, e.cells_stderr_pct,
       e.row_sample_pct, e.cell_sample_pct,
       (e.periods, e.cells, e."rows", e.segment_bytes_with_lineage, e.segment_bytes_without_lineage)
         = (SELECT x.periods, x.cells, x."rows", x.seg_l, x.seg_n
            FROM est.exact('s.org_id, r.brand_id', 'LEFT JOIN est.item r ON r.item_id = s.item_id',
                           'day', 'Asia/Seoul', ', s.amount, s.qty') x) AS exact
FROM segroll.estimate('est.sales', '{org_id, brand_id=est.item.brand_id ON item_id}', 'day',
                      time_zone => 'Asia/Seoul', measures => '{sum(amount), qty}', sample_percent => 100) e;

-- key and time column default to the primary key and the only NOT NULL
-- timestamptz column; a small source is sampled whole
SELECT cells, "rows", row_sample_pct, cell_sample_pct
FROM segroll.estimate('est.sales', '{org_id}', 'week');

-- table bytes against a created segmentation: a model, not exact (within
-- 15 % at this small size, where index roots and partly filled pages weigh
-- more than at scale)
CREATE TABLE est.sales_copy AS TABLE est.sales;
ALTER TABLE est.sales_copy ADD PRIMARY KEY (txn_id), ALTER sold_at SET NOT NULL;
SELECT segroll.create_segmentation('est_l', 'est.sales_copy', 'txn_id', 'sold_at', 'day', 'Asia/Seoul',
	'{org_id, brand_id=est.item.brand_id ON item_id}', '{amount, qty}', lineage => true) IS NOT NULL AS created;
SELECT segroll.create_segmentation('est_n', 'est.sales_copy', 'txn_id', 'sold_at', 'day', 'Asia/Seoul',
	'{org_id, brand_id=est.item.brand_id ON item_id}', '{amount, qty}', lineage => false) IS NOT NULL AS created;
SELECT e.cells = (SELECT count(*) FROM segroll_data.est_l) AS cells_equal,
       e.segment_bytes_with_lineage = (SELECT sum(segroll.stored_size(seg)) FROM segroll_data.est_l) AS seg_l_equal,
       e.segment_bytes_without_lineage = (SELECT sum(segroll.stored_size(seg)) FROM segroll_data.est_n) AS seg_n_equal,
       abs(e.bytes_with_lineage::float8 / pg_total_relation_size('segroll_data.est_l') - 1) < 0.15 AS table_l_close,
       abs(e.bytes_without_lineage::float8 / pg_total_relation_size('segroll_data.est_n') - 1) < 0.15 AS table_n_close
FROM segroll.estimate('est.sales', '{org_id, brand_id=est.item.brand_id ON item_id}', 'day',
                      time_zone => 'Asia/Seoul', measures => '{amount, qty}', sample_percent => 100) e;
SELECT segroll.drop_segmentation('est_l'), segroll.drop_segmentation('est_n');
DROP TABLE est.sales_copy;

-- side by side; a candidate may set its own time zone and measures
SELECT e.candidate, e.periods, e.cells, e."rows", e.rows_per_cell,
       (e.periods, e.cells, e."rows", e.segment_bytes_with_lineage, e.segment_bytes_without_lineage)
         = (SELECT x.periods, x.cells, x."rows", x.seg_l, x.seg_n FROM est.exact(x_dims, x_joins, x_grain, x_tz, x_meas) x) AS exact
FROM segroll.estimate_candidates('est.sales', '[
	{"name": "org x channel, day", "dimensions": ["org_id", "channel_id"], "grain": "day"},
	{"name": "brand, month", "dimensions": ["brand_id=est.item.brand_id ON item_id"], "grain": "1 month", "measures": []},
	{"dimensions": ["org_id", "item_id"], "grain": "hour", "time_zone": "UTC"}]',
	time_zone => 'Asia/Seoul', measures => '{amount}', sample_percent => 100) WITH ORDINALITY e
JOIN (VALUES (1, 's.org_id, s.channel_id', '', 'day', 'Asia/Seoul', ', s.amount'),
             (2, 'r.brand_id', 'LEFT JOIN est.item r ON r.item_id = s.item_id', 'month', 'Asia/Seoul', ''),
             (3, 's.org_id, s.item_id', '', 'hour', 'UTC', ', s.amount'))
     AS x(ord, x_dims, x_joins, x_grain, x_tz, x_meas) ON x.ord = e.ordinality
ORDER BY e.ordinality;

-- sampled: cells within 15 % of the exact 2 351 at 10 % and 25 %
SELECT p AS sample_percent, abs(e.cells / 2351.0 - 1) < 0.15 AS cells_close,
       abs(e."rows" / 20000.0 - 1) < 0.15 AS rows_close
FROM unnest('{10, 25}'::float8[]) p,
     segroll.estimate('est.sales', '{org_id, brand_id=est.item.brand_id ON item_id}', 'day',
                      time_zone => 'Asia/Seoul', sample_percent => p) e;

-- nothing is left behind
SELECT count(*) AS temp_tables FROM pg_class WHERE relname LIKE 'segroll\_estimate\_%';

-- bad input: SQLSTATE and message
CREATE FUNCTION est.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE VIEW est.v AS SELECT * FROM est.sales;
CREATE TABLE est.parted (txn_id bigint, sold_at timestamptz NOT NULL) PARTITION BY RANGE (sold_at);
CREATE TABLE est.part1 PARTITION OF est.parted FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
CREATE TABLE est.nokey (id bigint, sold_at timestamptz NOT NULL, org_id int);
CREATE TABLE est.twotimes (id bigint PRIMARY KEY, a timestamptz NOT NULL, b timestamptz NOT NULL, org_id int);
CREATE TABLE est.oddkeys (id bigint PRIMARY KEY, t time NOT NULL, tn timestamptz, txt text UNIQUE,
                          nul bigint, dup bigint, f float8, org_id int, code text);
CREATE ROLE regress_segroll_estimate;
GRANT segroll_admin TO regress_segroll_estimate;   -- may estimate, but not read est.sales
GRANT USAGE ON SCHEMA est TO regress_segroll_estimate;
SELECT est.try(sql) FROM (VALUES
	($$SELECT * FROM segroll.estimate('est.v', '{org_id}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.parted', '{txn_id}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.part1', '{txn_id}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.nosuch', '{org_id}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.nokey', '{org_id}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{org_id}', 'day', key => 'nosuch')$$),
	($$SELECT * FROM segroll.estimate('est.oddkeys', '{org_id}', 'day', 'tn', key => 'txt')$$),
	($$SELECT * FROM segroll.estimate('est.oddkeys', '{org_id}', 'day', 'tn', key => 'nul')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{org_id}', 'day', key => 'org_id')$$),
	($$SELECT * FROM segroll.estimate('est.twotimes', '{org_id}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.oddkeys', '{org_id}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{org_id}', 'day', 'nosuch')$$),
	($$SELECT * FROM segroll.estimate('est.oddkeys', '{org_id}', 'day', 't')$$),
	($$SELECT * FROM segroll.estimate('est.oddkeys', '{org_id}', 'day', 'tn')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{org_id}', 'fortnight')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{org_id}', NULL)$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{org_id}', 'day', time_zone => 'Mars/Olympus')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.sales', NULL, 'day')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{nosuch}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{"org_id + 1"}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{b=est.nosuch.brand_id ON item_id}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{b=est.item.nosuch ON item_id}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{b=est.item.brand_id ON nosuch}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{b=est.item.brand_id ON item_id=nosuch}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{b=est.item.brand_id ON item_id=brand_id}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{b=est.item.brand_id ON item_id=label}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{org_id, org_id}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{period=est.item.brand_id ON item_id}', 'day')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{org_id}', 'day', measures => '{nosuch}')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{org_id}', 'day', measures => '{qty, sold_at}')$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{org_id}', 'day', sample_percent => 0)$$),
	($$SELECT * FROM segroll.estimate('est.sales', '{org_id}', 'day', sample_percent => 100.5)$$),
	($$SELECT * FROM segroll.estimate_candidates('est.sales', '{"dimensions": ["org_id"]}')$$),
	($$SELECT * FROM segroll.estimate_candidates('est.sales', '[]')$$),
	($$SELECT * FROM segroll.estimate_candidates('est.sales', NULL)$$),
	($$SELECT * FROM segroll.estimate_candidates('est.sales', '["org_id"]')$$),
	($$SELECT * FROM segroll.estimate_candidates('est.sales', '[{"dimensions": ["org_id"], "grain": "day", "grian": 1}]')$$),
	($$SELECT * FROM segroll.estimate_candidates('est.sales', '[{"dimensions": "org_id", "grain": "day"}]')$$),
	($$SELECT * FROM segroll.estimate_candidates('est.sales', '[{"dimensions": ["org_id", 2], "grain": "day"}]')$$),
	($$SELECT * FROM segroll.estimate_candidates('est.sales', '[{"dimensions": ["org_id"], "grain": "day", "measures": "qty"}]')$$),
	($$SELECT * FROM segroll.estimate_candidates('est.sales', '[{"dimensions": ["org_id"], "grain": "day", "time_zone": 9}]')$$),
	($$SELECT * FROM segroll.estimate_candidates('est.sales', '[{"dimensions": ["org_id"], "grain": "day"}, {"dimensions": ["org_id"], "grain": "year"}]')$$),
	($$SET ROLE regress_segroll_estimate; SELECT * FROM segroll.estimate('est.sales', '{org_id}', 'day')$$)
) t(sql);
RESET ROLE;
DROP SCHEMA est CASCADE;
DROP ROLE regress_segroll_estimate;
