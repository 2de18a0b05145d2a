-- Keys that are not integers (issue 14): text, varchar, uuid and numeric
-- keys.  Lineage holds such a key as its 63-bit hash (segroll.key_hash);
-- after every roll-up the cells, read whole through <name>_segments, equal
-- a from-scratch GROUP BY with segment_agg(segroll.key_hash(key), ...)
-- (symmetric EXCEPT ALL, lineage and checksums included).  With
-- segroll.inline_lineage_limit = 2 every cell of more than two rows keeps
-- its lineage in blocks.
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'UTC';
SET segroll.inline_lineage_limit = 2;
SET segroll.lineage_block_keys = 4;
CREATE SCHEMA k;

-- the hash: an integer is itself; other types hash by value, with a
-- fixed seed (equal numerics hash alike, whatever their scale)
SELECT segroll.key_hash(42) AS int4, segroll.key_hash(42::int8) AS int8, segroll.key_hash(42::int2) AS int2;
SELECT segroll.key_hash('TX2026120600012345'::text) = segroll.key_hash('TX2026120600012345'::varchar) AS text_is_varchar,
       segroll.key_hash('TX2026120600012345'::text) <> segroll.key_hash('TX2026120600012346'::text) AS differ,
       segroll.key_hash(1.5::numeric) = segroll.key_hash(1.500::numeric) AS numeric_by_value,
       segroll.key_hash('TX1'::text) BETWEEN -(2::numeric ^ 62) AND 2::numeric ^ 62 - 1 AS in_63_bits;
SELECT segroll.key_hash(NULL::text) IS NULL AS strict;
-- stable across sessions and releases: the hash of a fixed value
SELECT segroll.key_hash('TX2026120600012345'::text) AS text_hash,
       segroll.key_hash('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid) AS uuid_hash;

-- one source per key type: same rows, keys written by kexpr from g
CREATE FUNCTION k.make(tbl text, keytype text, kexpr text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('CREATE TABLE k.%I (k %s PRIMARY KEY, ts timestamptz NOT NULL, org int, amount numeric)', tbl, keytype);
	EXECUTE format($q$INSERT INTO k.%I SELECT %s, '2026-12-01 00:00+00'::timestamptz + g * interval '37 minutes', g %% 3, g %% 101
	                  FROM generate_series(1, 300) g$q$, tbl, format(kexpr, 'g'));
END
$$;
SELECT k.make('t_text', 'text', $$'TX2026' || lpad(%s::text, 12, '0')$$),
       k.make('t_varchar', 'varchar(20)', $$('TX2026' || lpad(%s::text, 12, '0'))::varchar$$),
       k.make('t_uuid', 'uuid', $$md5(%s::text)::uuid$$),
       k.make('t_numeric', 'numeric(20,2)', $$(2026120600000000 + %s * 7.25)::numeric(20,2)$$);
SELECT segroll.create_segmentation(t || '_daily', ('k.' || t)::regclass, 'k', 'ts', 'day', 'UTC', '{org}', '{amount}')
FROM unnest(ARRAY['t_text', 't_varchar', 't_uuid', 't_numeric']) t;
-- the index that finds a row by its hashed key
SELECT indexrelid::regclass AS index, pg_get_indexdef(indexrelid) LIKE '%segroll.key_hash(k)%' AS on_key_hash
FROM pg_index WHERE indrelid = 'k.t_text'::regclass AND indexprs IS NOT NULL;

-- cells = a from-scratch GROUP BY, lineage by key hash
CREATE FUNCTION k.oracle(t text) RETURNS TABLE (differences bigint, cells bigint, cells_in_blocks bigint, blocks bigint)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY EXECUTE format($q$
	WITH fresh AS (
		SELECT s.org, date_trunc('day', s.ts, 'UTC') AS period, segroll.segment_agg(segroll.key_hash(s.k), s.ts, s.amount) AS seg
		FROM k.%1$I s GROUP BY 1, 2)
	SELECT (SELECT count(*) FROM (
	            (SELECT * FROM fresh EXCEPT ALL SELECT org, period, seg FROM segroll_data.%2$I)
	            UNION ALL
	            (SELECT org, period, seg FROM segroll_data.%2$I EXCEPT ALL SELECT * FROM fresh)) d),
	       (SELECT count(*) FROM segroll_data.%3$I),
	       (SELECT count(*) FROM segroll_data.%3$I c WHERE NOT segroll.has_lineage(c.seg)),
	       (SELECT count(*) FROM segroll_data.%4$I)$q$,
		t, t || '_daily_segments', t || '_daily', t || '_daily_lineage');
END
$$;
SELECT t, o.* FROM unnest(ARRAY['t_text', 't_varchar', 't_uuid', 't_numeric']) t, k.oracle(t) o;

-- inserts, late rows for an earlier day, UPDATEs moving rows between cells
-- (org and day), an UPDATE of a measure, DELETEs
CREATE FUNCTION k.churn(t text, kexpr text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format($q$INSERT INTO k.%I SELECT %s, '2026-12-03 12:00+00'::timestamptz + g * interval '5 minutes', g %% 3, g
	                  FROM generate_series(1001, 1040) g$q$, t, format(kexpr, 'g'));
	EXECUTE format($q$INSERT INTO k.%I SELECT %s, '2026-12-01 06:00+00'::timestamptz + g * interval '1 minute', 1, 7
	                  FROM generate_series(2001, 2010) g$q$, t, format(kexpr, 'g'));
	EXECUTE format($q$UPDATE k.%I SET org = org + 1 WHERE k IN (SELECT %s FROM generate_series(10, 60, 5) g)$q$, t, format(kexpr, 'g'));
	EXECUTE format($q$UPDATE k.%I SET ts = ts + interval '1 day' WHERE k IN (SELECT %s FROM generate_series(61, 70) g)$q$, t, format(kexpr, 'g'));
	EXECUTE format($q$UPDATE k.%I SET amount = amount * 2 WHERE k IN (SELECT %s FROM generate_series(71, 90) g)$q$, t, format(kexpr, 'g'));
	EXECUTE format($q$DELETE FROM k.%I WHERE k IN (SELECT %s FROM generate_series(100, 160, 3) g)$q$, t, format(kexpr, 'g'));
END
$$;
SELECT k.churn('t_text', $$'TX2026' || lpad(%s::text, 12, '0')$$),
       k.churn('t_varchar', $$('TX2026' || lpad(%s::text, 12, '0'))::varchar$$),
       k.churn('t_uuid', $$md5(%s::text)::uuid$$),
       k.churn('t_numeric', $$(2026120600000000 + %s * 7.25)::numeric(20,2)$$);
SELECT t, segroll.rollup(t || '_daily') > 0 AS applied FROM unnest(ARRAY['t_text', 't_varchar', 't_uuid', 't_numeric']) t;
SELECT t, o.* FROM unnest(ARRAY['t_text', 't_varchar', 't_uuid', 't_numeric']) t, k.oracle(t) o;
-- a row deleted and inserted again with the same key in one window, and a
-- key changed (the old key retracted, the new one added)
DELETE FROM k.t_text WHERE k = 'TX2026000000000200';
INSERT INTO k.t_text VALUES ('TX2026000000000200', '2026-12-02 10:00+00', 2, 500);
UPDATE k.t_text SET k = 'TX2026-renamed-201' WHERE k = 'TX2026000000000201';
SELECT segroll.rollup('t_text_daily') > 0 AS applied;
SELECT * FROM k.oracle('t_text');

-- verify (full: every key) finds nothing to report
SELECT t, count(v.*) AS problems
FROM unnest(ARRAY['t_text', 't_varchar', 't_uuid', 't_numeric']) t
LEFT JOIN LATERAL segroll.verify(t || '_daily', '2026-11-01', '2027-01-01', 'full') v ON true
GROUP BY t ORDER BY t;

-- trace of a cell returns exactly its source rows, in lineage key order
SELECT (SELECT count(*) FROM segroll.trace('t_text_daily', '{"org": 1}', '2026-12-02')) AS traced,
       (SELECT count(*) FROM k.t_text WHERE org = 1 AND date_trunc('day', ts, 'UTC') = '2026-12-02') AS in_source;
SELECT count(*) AS not_exactly_the_cell FROM (
	(SELECT t.source_row->>'k' FROM segroll.trace('t_uuid_daily', '{"org": 0}', '2026-12-03') t
	 EXCEPT ALL SELECT k::text FROM k.t_uuid WHERE org = 0 AND date_trunc('day', ts, 'UTC') = '2026-12-03')
	UNION ALL
	(SELECT k::text FROM k.t_uuid WHERE org = 0 AND date_trunc('day', ts, 'UTC') = '2026-12-03'
	 EXCEPT ALL SELECT t.source_row->>'k' FROM segroll.trace('t_uuid_daily', '{"org": 0}', '2026-12-03') t)) d;
SELECT bool_and(t.key = segroll.key_hash((t.source_row->>'k')::text)) AS key_is_the_hash,
       bool_and(t.origin = 'source') AS all_local
FROM segroll.trace('t_text_daily', '{"org": 2}', '2026-12-01') t;
-- trace of a merge of cells, and trace_rows typed as the source
SELECT count(*) AS traced_merge
FROM segroll.trace('t_numeric_daily', (SELECT segroll.merge(seg) FROM segroll_data.t_numeric_daily_segments WHERE org = 1));
SELECT count(*) AS typed_rows, min(r.k) AS first_key
FROM segroll.trace_rows('t_varchar_daily', (SELECT seg FROM segroll_data.t_varchar_daily_segments WHERE org = 0 AND period = '2026-12-01'),
                        NULL::k.t_varchar) r;

-- locate by the key as text (and a uuid or numeric as text); the bigint
-- overload still takes a plain integer
SELECT * FROM segroll.locate('t_text_daily', 'TX2026000000000042');
SELECT * FROM segroll.locate('t_text_daily', 'TX2026-renamed-201');
SELECT * FROM segroll.locate('t_uuid_daily', md5('1003')::uuid::text);
SELECT * FROM segroll.locate('t_numeric_daily', '2026120600000290.00');
SELECT * FROM segroll.locate('t_numeric_daily', '2026120600000290.0');
SELECT status, detail FROM segroll.locate('t_text_daily', 'TX2026000000000103');
SELECT * FROM segroll.locate('t_uuid_daily', 'not a uuid');
INSERT INTO k.t_text VALUES ('TX-pending', '2026-12-02 01:00+00', 0, 1);
SELECT status FROM segroll.locate('t_text_daily', 'TX-pending');
SELECT segroll.rollup('t_text_daily') > 0 AS applied;
SELECT status FROM segroll.locate('t_text_daily', 'TX-pending');
SELECT status FROM segroll.locate('t_text_daily', 5);

-- repair of a damaged cell whose lineage is in blocks: the cell loses a
-- row, from its head and its block alike
CREATE TABLE k.lost AS
SELECT segroll.key_hash(s.k) AS key, s.ts, s.amount, s.org, date_trunc('day', s.ts, 'UTC') AS period
FROM k.t_text s WHERE s.k = 'TX2026000000000042';
UPDATE segroll_data.t_text_daily_lineage b SET seg = segroll.retract(b.seg, x.key, x.ts, x.amount)
FROM k.lost x WHERE b.org = x.org AND b.period = x.period AND segroll.contains(b.seg, x.key);
UPDATE segroll_data.t_text_daily c SET seg = segroll.retract(c.seg, x.key, x.ts, x.amount)
FROM k.lost x WHERE c.org = x.org AND c.period = x.period AND NOT segroll.has_lineage(c.seg);
SELECT problem, key = segroll.key_hash('TX2026000000000042'::text) AS the_damaged_key
FROM segroll.verify('t_text_daily', '2026-11-01', '2027-01-01', 'full') ORDER BY 1;
SELECT action, count_before, count_after FROM segroll.repair('t_text_daily', '2026-11-01', '2027-01-01');
SELECT count(*) AS problems_after_repair FROM segroll.verify('t_text_daily', '2026-11-01', '2027-01-01', 'full');
SELECT * FROM k.oracle('t_text');

-- close a period: its cells stay; later changes go to adjustments
SELECT segroll.close_period('t_uuid_daily', '2026-12-02');
UPDATE k.t_uuid SET amount = amount + 1 WHERE k = md5('5')::uuid;
SELECT segroll.rollup('t_uuid_daily') > 0 AS applied;
SELECT org, period, segroll.count(added) AS added, segroll.count(removed) AS removed FROM segroll_data.t_uuid_daily_adjustments;

-- a hash collision within a cell would be refused, not miscounted: two
-- rows with the same lineage key in one segment
\set VERBOSITY default
SELECT segroll.segment_agg(x.key, '2026-12-01', 1) FROM (VALUES (segroll.key_hash('a'::text)), (segroll.key_hash('a'::text))) x(key);
\set VERBOSITY terse

-- key types that are refused
CREATE TYPE k.colour AS ENUM ('red', 'green');
CREATE DOMAIN k.colour_d AS k.colour;
CREATE DOMAIN k.code_d AS text CHECK (VALUE LIKE 'TX%');
CREATE TABLE k.t_enum (k k.colour PRIMARY KEY, ts timestamptz NOT NULL, org int);
CREATE TABLE k.t_enum_d (k k.colour_d PRIMARY KEY, ts timestamptz NOT NULL, org int);
CREATE TABLE k.t_small (k smallint PRIMARY KEY, ts timestamptz NOT NULL, org int);
CREATE COLLATION k.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE k.t_ci (k text COLLATE k.ci PRIMARY KEY, ts timestamptz NOT NULL, org int);
CREATE TABLE k.t_domain (k k.code_d PRIMARY KEY, ts timestamptz NOT NULL, org int);
SELECT segroll.create_segmentation('t_enum_daily', 'k.t_enum', 'k', 'ts', 'day', 'UTC', '{org}', '{}');
SELECT segroll.create_segmentation('t_enum_d_daily', 'k.t_enum_d', 'k', 'ts', 'day', 'UTC', '{org}', '{}');
SELECT segroll.create_segmentation('t_small_daily', 'k.t_small', 'k', 'ts', 'day', 'UTC', '{org}', '{}');
SELECT segroll.create_segmentation('t_ci_daily', 'k.t_ci', 'k', 'ts', 'day', 'UTC', '{org}', '{}');
SELECT segroll.key_hash('red'::k.colour);
SELECT segroll.key_hash(ROW(1, 'a'));
-- a domain over a built-in type is fine
INSERT INTO k.t_domain VALUES ('TX1', '2026-12-01', 1), ('TX2', '2026-12-01', 1), ('TX3', '2026-12-01', 1), ('TX9', '2026-12-01', 2);
SELECT segroll.create_segmentation('t_domain_daily', 'k.t_domain', 'k', 'ts', 'day', 'UTC', '{org}', '{}');
SELECT * FROM segroll.locate('t_domain_daily', 'TX2');
SELECT count(*) AS traced FROM segroll.trace('t_domain_daily', '{"org": 1}', '2026-12-01');
-- a hash collision across cells, simulated: the lineage of cell org 2
-- gains the hash of TX1 (a row of cell org 1).  The trace of the cell
-- keeps to the rows of that cell; the trace of its segment, which names no
-- cell, returns every row with a hash in the lineage
WITH x AS (SELECT segroll.segment_agg(segroll.key_hash('TX1'::text), '2026-12-01 12:00+00') AS s)
UPDATE segroll_data.t_domain_daily c SET seg = segroll.merge(c.seg, x.s) FROM x WHERE c.org = 2;
SELECT t.source_row->>'k' AS k FROM segroll.trace('t_domain_daily', '{"org": 2}', '2026-12-01') t;
SELECT t.source_row->>'k' AS k FROM segroll.trace('t_domain_daily', (SELECT seg FROM segroll_data.t_domain_daily WHERE org = 2)) t
ORDER BY 1;
-- the trace of a cell over a reference lookup, mapped and unmapped
CREATE TABLE k.ref (code int PRIMARY KEY, name text);
INSERT INTO k.ref VALUES (1, 'one'), (2, 'two');
CREATE TABLE k.t_ref (k uuid PRIMARY KEY, ts timestamptz NOT NULL, code int, amount int);
INSERT INTO k.t_ref SELECT md5(g::text)::uuid, '2026-12-01 00:00+00'::timestamptz + g * interval '1 hour', g % 3, g FROM generate_series(1, 48) g;
SELECT segroll.create_segmentation('t_ref_daily', 'k.t_ref', 'k', 'ts', 'day', 'UTC', '{name=k.ref.name ON code}', '{amount}') IS NOT NULL AS created;
SELECT x.name, (SELECT count(*) FROM segroll.trace('t_ref_daily', jsonb_build_object('name', x.name), '2026-12-01')) AS traced,
       (SELECT count(*) FROM k.t_ref s LEFT JOIN k.ref r USING (code)
        WHERE r.name IS NOT DISTINCT FROM x.name AND s.ts < '2026-12-02') AS in_source
FROM (VALUES ('one'), ('two'), (NULL)) x(name);

-- no archive for a hashed key
SELECT segroll.set_archive('t_text_daily', 'k.t_varchar');

-- dropping the last segmentation of a source drops its key hash index
SELECT segroll.drop_segmentation('t_text_daily');
SELECT count(*) AS key_hash_indexes FROM pg_index WHERE indrelid = 'k.t_text'::regclass AND indexprs IS NOT NULL;
