-- Names as PostgreSQL accepts them (issue 14): a source in a schema named
-- in Korean with a space, its key, time, dimension and measure columns in
-- Korean, in mixed case, with spaces and with double quotes, and reference
-- lookups named in Korean, end to end: create, roll up, the BI view, trace,
-- verify, repair, close, estimate, versions; names too long are refused.
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'UTC';
SELECT pg_catalog.getdatabaseencoding() AS encoding;
CREATE SCHEMA "판매 데이터";
CREATE SCHEMA 참조;
CREATE TABLE 참조."채널 표" (채널코드 int PRIMARY KEY, 이름 text);
INSERT INTO 참조."채널 표" VALUES (1, '온라인'), (2, '매장'), (3, '전화');
CREATE TABLE "판매 데이터"."품목 표" ("품목 코드" int PRIMARY KEY, "Brand Name" text);
INSERT INTO "판매 데이터"."품목 표" SELECT g, '브랜드' || (g % 3) FROM generate_series(1, 8) g;
CREATE TABLE "판매 데이터".거래 (
	"거래 ID"    bigint PRIMARY KEY,
	거래시각      timestamptz NOT NULL,
	조직          int,
	"Mixed Case" text,
	"say ""hi""" int,
	채널코드      int,
	품목          int,
	금액          numeric(12,2),
	"Qty Sold"   int,
	"a""b"       bigint
);
-- channel 4 and item 9 have no reference row: unmapped members
INSERT INTO "판매 데이터".거래
SELECT g, '2026-11-01'::timestamptz + g * interval '11 minutes', g % 3, (ARRAY['Ab', 'aB', 'A b'])[g / 7 % 3 + 1],
       g % 2, g % 5, g % 10, (g % 89) * 1.5, g % 7, g * 3
FROM generate_series(1, 900) g;

SELECT segroll.create_segmentation('ident_daily', '"판매 데이터".거래', '거래 ID', '거래시각', 'day', 'UTC',
	ARRAY['조직', 'Mixed Case', '"say ""hi"""', '"거래 채널"=참조."채널 표".이름 ON 채널코드',
	      '브랜드="판매 데이터"."품목 표"."Brand Name" ON 품목="품목 코드"'],
	ARRAY['금액', 'sum("Qty Sold")', 'a"b']);
SELECT key_column, time_column, dimensions, measures FROM segroll.segmentations WHERE name = 'ident_daily';
SELECT dimensions FROM segroll.segmentation WHERE name = 'ident_daily';
-- the cells' and the BI view's columns carry the names as they are
SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) AS cells
FROM pg_attribute WHERE attrelid = 'segroll_data.ident_daily'::regclass AND attnum > 0;
SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) AS bi_view
FROM pg_attribute WHERE attrelid = 'segroll_data.ident_daily_v'::regclass AND attnum > 0;
SELECT c.relname ~ '^changes_거래_[0-9]+$' AS change_log_named FROM segroll.source s JOIN pg_class c ON c.oid = s.change_log
WHERE s.relid = '"판매 데이터".거래'::regclass;

-- the oracle: cells minus a from-scratch GROUP BY of the source, both ways
CREATE VIEW "판매 데이터".oracle AS
WITH fresh AS (
	SELECT s.조직, s."Mixed Case", s."say ""hi""", c.이름, p."Brand Name", date_trunc('day', s.거래시각, 'UTC') AS period,
	       segroll.segment_agg(s."거래 ID", s.거래시각, s.금액, s."Qty Sold", s."a""b") AS seg
	FROM "판매 데이터".거래 s LEFT JOIN 참조."채널 표" c USING (채널코드)
	LEFT JOIN "판매 데이터"."품목 표" p ON p."품목 코드" = s.품목
	GROUP BY 1, 2, 3, 4, 5, 6)
SELECT count(*) AS differences FROM (
	(SELECT * FROM segroll_data.ident_daily EXCEPT ALL SELECT * FROM fresh)
	UNION ALL
	(SELECT * FROM fresh EXCEPT ALL SELECT * FROM segroll_data.ident_daily)) d;
SELECT count(*) AS cells FROM segroll_data.ident_daily;
SELECT * FROM "판매 데이터".oracle;
-- the BI view's figures are the source's
SELECT (SELECT (sum(count)::numeric, sum("금액_sum"), sum("Qty Sold_sum")::numeric, min("a""b_min")::numeric, max("a""b_max")::numeric)
        FROM segroll_data.ident_daily_v)
     = (SELECT (count(*)::numeric, sum(금액), sum("Qty Sold")::numeric, min("a""b")::numeric, max("a""b")::numeric)
        FROM "판매 데이터".거래) AS bi_matches;
SELECT 조직, "Mixed Case", "say ""hi""", "거래 채널", 브랜드, period, count, "금액_sum", "Qty Sold_sum"
FROM segroll_data.ident_daily_v ORDER BY period, 조직, "Mixed Case", "say ""hi""", "거래 채널", 브랜드 LIMIT 3;

-- an insert, an update that moves rows between cells, a delete: rolled up exactly
INSERT INTO "판매 데이터".거래 VALUES (5000, '2026-11-02 10:00', 7, 'Ab', 1, 1, 1, 12.5, 3, 9);
UPDATE "판매 데이터".거래 SET 금액 = 금액 + 1, 채널코드 = 2, "Mixed Case" = 'A b' WHERE "거래 ID" % 40 = 0;
DELETE FROM "판매 데이터".거래 WHERE "거래 ID" % 45 = 0;
SELECT segroll.rollup('ident_daily') AS applied;
SELECT * FROM "판매 데이터".oracle;
SELECT count(*) FROM segroll.verify('ident_daily', '2026-11-01', '2026-12-01', 'full');

-- trace a cell named by its Korean, mixed-case and quoted dimensions: the
-- rows a plain SELECT finds, and the trace log names the cell the same way
SELECT (SELECT array_agg(key ORDER BY key)
        FROM segroll.trace('ident_daily', '{"조직": 0, "Mixed Case": "Ab", "say \"hi\"": 0, "거래 채널": "매장", "브랜드": "브랜드2"}', '2026-11-02'))
     = (SELECT array_agg(s."거래 ID" ORDER BY s."거래 ID")
        FROM "판매 데이터".거래 s JOIN 참조."채널 표" c USING (채널코드) JOIN "판매 데이터"."품목 표" p ON p."품목 코드" = s.품목
        WHERE s.조직 = 0 AND s."Mixed Case" = 'Ab' AND s."say ""hi""" = 0 AND c.이름 = '매장' AND p."Brand Name" = '브랜드2'
          AND s.거래시각 >= '2026-11-02' AND s.거래시각 < '2026-11-03') AS same_keys,
       (SELECT count(*) FROM segroll.trace('ident_daily', '{"조직": 0, "Mixed Case": "Ab", "say \"hi\"": 0, "거래 채널": "매장", "브랜드": "브랜드2"}', '2026-11-02')) AS traced;
SELECT key, origin, source_row FROM segroll.trace('ident_daily',
	'{"조직": 0, "Mixed Case": "Ab", "say \"hi\"": 0, "거래 채널": "매장", "브랜드": "브랜드2"}', '2026-11-02') ORDER BY key LIMIT 2;
-- unmapped members trace too
SELECT count(*) = (SELECT count(*) FROM "판매 데이터".거래 WHERE 조직 = 0 AND 채널코드 IN (0, 4) AND 품목 IN (0, 9) AND "Mixed Case" = 'Ab'
                   AND "say ""hi""" = 0 AND 거래시각 >= '2026-11-03' AND 거래시각 < '2026-11-04') AS unmapped_traced
FROM segroll.trace('ident_daily', '{"조직": 0, "Mixed Case": "Ab", "say \"hi\"": 0, "거래 채널": null, "브랜드": null}', '2026-11-03');
SELECT "거래 ID", 거래시각, "a""b" FROM segroll.trace_rows('ident_daily',
	segroll.cell('ident_daily', '{"조직": 0, "Mixed Case": "Ab", "say \"hi\"": 0, "거래 채널": "매장", "브랜드": "브랜드2"}', '2026-11-02'),
	NULL::"판매 데이터".거래) ORDER BY 1 LIMIT 2;
SELECT segmentation, cell, keys FROM segroll.trace_log WHERE segmentation = 'ident_daily' ORDER BY at, keys LIMIT 1;
-- locate a row back to its cell
SELECT * FROM segroll.locate('ident_daily', 40);
SELECT * FROM segroll.locate('ident_daily', 5000);

-- a damaged cell: verify finds it, repair rebuilds it
DELETE FROM segroll_data.ident_daily c WHERE EXISTS (SELECT FROM segroll.keys(c.seg) k WHERE k = 100);
UPDATE segroll_data.ident_daily c SET seg = segroll.subtract(c.seg, c.seg) WHERE EXISTS (SELECT FROM segroll.keys(c.seg) k WHERE k = 200);
SELECT period, problem, dimensions FROM segroll.verify('ident_daily', '2026-11-01', '2026-12-01') ORDER BY 1, 2;
SELECT count(*) > 0 AS repaired FROM segroll.repair('ident_daily', '2026-11-01', '2026-12-01');
SELECT * FROM "판매 데이터".oracle;

-- close November 1 and 2: a later change becomes an adjustment, in the BI view too
SELECT segroll.close_period('ident_daily', '2026-11-03');
UPDATE "판매 데이터".거래 SET "Qty Sold" = "Qty Sold" + 100 WHERE "거래 ID" = 7;
SELECT segroll.rollup('ident_daily') AS applied;
SELECT 조직, "Mixed Case", "거래 채널", period, segroll.count(added) AS added, segroll.count(removed) AS removed
FROM segroll_data.ident_daily_adjustments;
SELECT kind, count(*), sum("Qty Sold_sum") FROM segroll_data.ident_daily_v WHERE period < '2026-11-03' GROUP BY kind ORDER BY kind;
SELECT segroll.reopen_period('ident_daily', '2026-11-01');
SELECT * FROM "판매 데이터".oracle;

-- estimate: the same dimensions, over the whole table, count the same cells
SELECT cells = (SELECT count(*) FROM segroll_data.ident_daily) AS estimate_exact, "rows"
FROM segroll.estimate('"판매 데이터".거래', ARRAY['조직', 'Mixed Case', '"say ""hi"""',
	'"거래 채널"=참조."채널 표".이름 ON 채널코드', '브랜드="판매 데이터"."품목 표"."Brand Name" ON 품목="품목 코드"'],
	'day', measures => ARRAY['금액', '"Qty Sold"'], sample_percent => 100);

-- a version by month with the same names (its dimensions are re-read from the definition)
SELECT segroll.create_version('ident_daily', grain => 'month', schedule => 'manual');
SELECT segroll.switch_version('ident_daily');
SELECT grain, dimensions FROM segroll.segmentations WHERE name = 'ident_daily';
WITH fresh AS (
	SELECT s.조직, s."Mixed Case", s."say ""hi""", c.이름, p."Brand Name", date_trunc('month', s.거래시각, 'UTC') AS period,
	       segroll.segment_agg(s."거래 ID", s.거래시각, s.금액, s."Qty Sold", s."a""b") AS seg
	FROM "판매 데이터".거래 s LEFT JOIN 참조."채널 표" c USING (채널코드)
	LEFT JOIN "판매 데이터"."품목 표" p ON p."품목 코드" = s.품목
	GROUP BY 1, 2, 3, 4, 5, 6)
SELECT count(*) AS differences FROM (
	(SELECT * FROM segroll_data.ident_daily EXCEPT ALL SELECT * FROM fresh)
	UNION ALL
	(SELECT * FROM fresh EXCEPT ALL SELECT * FROM segroll_data.ident_daily)) d;

-- names too long for what segroll derives from them are refused, not cut
CREATE TABLE "판매 데이터"."가나다라마바사아자차카타파하가나다라마바사" (
	id bigint PRIMARY KEY, t timestamptz NOT NULL, org int,
	"금액금액금액금액금액금액금액금액금액금액" numeric, "금액금액금액금액금액금액금액금액금액금" numeric);
CREATE TABLE "판매 데이터"."가나다라마바사아자차카타파하가나다라마바아" (id bigint PRIMARY KEY, t timestamptz NOT NULL, org int);
INSERT INTO "판매 데이터"."가나다라마바사아자차카타파하가나다라마바사" VALUES (1, '2026-11-01', 1, 2, 3);
-- a 60-byte measure would make a 64-byte "<measure>_sum"
SELECT segroll.create_segmentation('too_long', '"판매 데이터"."가나다라마바사아자차카타파하가나다라마바사"', 'id', 't', 'day', 'UTC',
	'{org}', ARRAY['금액금액금액금액금액금액금액금액금액금액']);
-- a dimension name over 63 bytes
SELECT segroll.create_segmentation('too_long', '"판매 데이터"."가나다라마바사아자차카타파하가나다라마바사"', 'id', 't', 'day', 'UTC',
	ARRAY['"가나다라마바사아자차카타파하가나다라마바사아"=참조."채널 표".이름 ON org=채널코드']);
-- a 57-byte measure fits; two 60-byte source names get distinct change logs of at most 63 bytes
SELECT segroll.create_segmentation('long_a', '"판매 데이터"."가나다라마바사아자차카타파하가나다라마바사"', 'id', 't', 'day', 'UTC',
	'{org}', ARRAY['금액금액금액금액금액금액금액금액금액금']);
SELECT segroll.create_segmentation('long_b', '"판매 데이터"."가나다라마바사아자차카타파하가나다라마바아"', 'id', 't', 'day', 'UTC', '{org}');
SELECT count(DISTINCT change_log) AS logs, max(octet_length(c.relname)) AS longest
FROM segroll.source s JOIN pg_class c ON c.oid = s.change_log WHERE s.relid::text LIKE '%가나다라%';
SELECT "금액금액금액금액금액금액금액금액금액금_sum" FROM segroll_data.long_a_v;

-- bad specs are still refused with the hint
SELECT segroll.create_segmentation('bad', '"판매 데이터".거래', '거래 ID', '거래시각', 'day', 'UTC',
	ARRAY['"거래 채널"=참조."채널 표" ON 채널코드']);
SELECT segroll.create_segmentation('bad', '"판매 데이터".거래', '거래 ID', '거래시각', 'day', 'UTC',
	ARRAY['"거래 채널=참조."채널 표".이름 ON 채널코드']);
SELECT segroll.create_segmentation('bad', '"판매 데이터".거래', '거래 ID', '거래시각', 'day', 'UTC',
	ARRAY['"거래 채널"=참조."채널 표".이름 채널코드']);
SELECT segroll.create_segmentation('bad', '"판매 데이터".거래', '거래 ID', '거래시각', 'day', 'UTC',
	ARRAY['"거래 채널"=참조."채널 표".이름 ON 채널코드=']);
SELECT segroll.create_segmentation('bad', '"판매 데이터".거래', '거래 ID', '거래시각', 'day', 'UTC',
	ARRAY['조직 + 1']);
SELECT segroll.create_segmentation('bad', '"판매 데이터".거래', '거래 ID', '거래시각', 'day', 'UTC',
	ARRAY['"mixed case"']);
SELECT segroll.create_segmentation('bad', '"판매 데이터".거래', '거래 ID', '거래시각', 'day', 'UTC',
	ARRAY['채널=참조."없는 표".이름 ON 채널코드']);
SELECT segroll.create_segmentation('bad', '"판매 데이터".거래', '거래 ID', '거래시각', 'day', 'UTC',
	ARRAY['채널=참조.채널 표.이름 ON 채널코드']);
SELECT segroll.create_segmentation('bad', '"판매 데이터".거래', '거래id', '거래시각', 'day', 'UTC', '{조직}');
SELECT segroll.create_segmentation('bad', '"판매 데이터".거래', '거래 ID', '거래시각', 'day', 'UTC', '{조직}', '{"qty sold"}');
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT segroll.create_segmentation('bad', '"판매 데이터".거래', '거래 ID', '거래시각', 'day', 'UTC',
	ARRAY['"거래 채널"=참조."채널 표".이름 ON']);
\set VERBOSITY terse

DROP VIEW "판매 데이터".oracle;
SELECT segroll.drop_segmentation(name) FROM segroll.segmentation WHERE name ~ '^(ident_daily|long_)' ORDER BY name;
SELECT count(*) AS capture_left FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE a.attname = 'segroll_seq' AND NOT a.attisdropped AND c.relnamespace = '"판매 데이터"'::regnamespace;

-- a source whose name holds what the capture functions' bodies are quoted with
CREATE TABLE "판매 데이터"."x$body$y" (id bigint PRIMARY KEY, t timestamptz NOT NULL, org int, v int);
INSERT INTO "판매 데이터"."x$body$y" SELECT g, '2026-11-01'::timestamptz + g * interval '1 hour', g % 2, g FROM generate_series(1, 50) g;
SELECT segroll.create_segmentation('dollar', '"판매 데이터"."x$body$y"', 'id', 't', 'day', 'UTC', '{org}', '{v}');
UPDATE "판매 데이터"."x$body$y" SET org = 1 WHERE id <= 10;
DELETE FROM "판매 데이터"."x$body$y" WHERE id > 45;
SELECT segroll.rollup('dollar') AS applied;
SELECT org, sum(count) AS rows, sum(v_sum) AS v FROM segroll_data.dollar_v GROUP BY org ORDER BY org;
SELECT org, count(*) AS rows, sum(v) AS v FROM "판매 데이터"."x$body$y" GROUP BY org ORDER BY org;
SELECT segroll.drop_segmentation('dollar');
