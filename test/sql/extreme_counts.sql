-- Extreme counts (issue 13): a segment counts the rows at its first and
-- last time and, per measure, the values equal to its min and max, so that
-- retracting one of several rows at an extreme keeps the bounds exact and a
-- segmentation's roll-up does not recompute the cell.
SET client_min_messages = warning;
\set VERBOSITY terse
SET TimeZone = 'UTC';
CREATE SCHEMA xc;
SET search_path = xc, public;

-- rows: amount and qty
CREATE TABLE rows (id bigint, ts timestamptz, amount numeric(10,2), qty int);
INSERT INTO rows VALUES
	(1, '2026-01-01', 1.00, 1),
	(2, '2026-01-01', 1.00, 1),
	(3, '2026-01-02', 5.00, 3),
	(4, '2026-01-03', 5.00, NULL),
	(5, '2026-01-03', 2.00, 1),
	(6, '2026-01-02', 3.00, 8),
	(7, '2026-01-02', 5.00, NULL);
CREATE FUNCTION agg_of(ids bigint[]) RETURNS segroll.segment LANGUAGE sql AS $$
	SELECT segroll.segment_agg(id, ts, amount, qty) FROM xc.rows WHERE id = ANY (ids) $$;

-- build
SELECT agg_of('{1,2,3,4,5,6}');
SELECT agg_of('{3}');
SELECT agg_of('{1,2,3,4,5,6}')::text = agg_of('{6,5,4,3,2,1}')::text AS order_free;

-- merge: equal extremes add, a smaller min / larger max replaces; the
-- merge is the build of all rows, counts included (compared as text,
-- since = does not look at counts)
SELECT segroll.merge(agg_of('{1,3}'), agg_of('{2,4,5,6}'))::text = agg_of('{1,2,3,4,5,6}')::text AS merge_is_build,
       segroll.merge(agg_of('{3}'), agg_of('{1}'))::text = agg_of('{1,3}')::text AS smaller_replaces,
       (SELECT segroll.merge(s)::text FROM (VALUES (agg_of('{1}')), (agg_of('{2}')), (agg_of('{3,4}')), (agg_of('{5,6}'))) v(s))
         = agg_of('{1,2,3,4,5,6}')::text AS merge_agg_is_build;

-- retract one of several min rows (amount 1.0 of 2, qty 1 of 3, first time of 2):
-- still exact, equal to the rebuild, counts included
SELECT segroll.retract(agg_of('{1,2,3,4,5,6}'), 1, '2026-01-01', 1.0, 1);
SELECT segroll.retract(agg_of('{1,2,3,4,5,6}'), 1, '2026-01-01', 1.0, 1)::text = agg_of('{2,3,4,5,6}')::text AS retract_is_rebuild;
-- equal values at different display scales are the same extreme
SELECT segroll.segment_agg(k, '2026-01-01', v) FROM (VALUES (1, 1.0), (2, 1.00), (3, 2.5)) r(k, v);
SELECT segroll.merge(segroll.segment_agg(1, '2026-01-01', 1.0), segroll.segment_agg(2, '2026-01-01', 1.000));
SELECT segroll.min(s, 1), segroll.max(s, 1), s
FROM (SELECT segroll.retract(segroll.segment_agg(k, '2026-01-01', v), 1, '2026-01-01', 1.000)
      FROM (VALUES (1, 1.0), (2, 1.00), (3, 2.5)) r(k, v)) x(s);
-- the last row at an extreme: bounds, no counts (version 1), as before
SELECT segroll.retract(segroll.retract(agg_of('{1,2,3,4,5,6}'), 1, '2026-01-01', 1.0, 1), 2, '2026-01-01', 1.00, 1);
-- the last row at the max of qty (8) alone makes bounds too
SELECT segroll.minmax_known(segroll.retract(agg_of('{1,2,3,4,5,6}'), 6, '2026-01-02', 3, 8)) AS known_after_max_row;
-- the last row at last time among two: still exact; then the other: bounds
SELECT segroll.minmax_known(segroll.retract(agg_of('{1,2,3,4,5,6}'), 5, '2026-01-03', 2, 1)) AS known_one_of_two_last,
       segroll.minmax_known(segroll.retract(segroll.retract(agg_of('{1,2,3,4,5,6}'), 5, '2026-01-03', 2, 1),
                                            4, '2026-01-03', 5.00, NULL::int)) AS known_none_last;
-- a measure left without values has no bound to lose
SELECT segroll.retract(agg_of('{3,7}'), 3, '2026-01-02', 5.00, 3);

-- subtract several rows at once: counts come off together
SELECT segroll.subtract(agg_of('{1,2,3,4,5,6}'), agg_of('{2,5}'))::text = agg_of('{1,3,4,6}')::text AS subtract_is_rebuild,
       segroll.minmax_known(segroll.subtract(agg_of('{1,2,3,4,5,6}'), agg_of('{1,2}'))) AS known_without_min_rows;
-- everything taken out: an empty segment (version 1), exact
SELECT segroll.subtract(agg_of('{1,2,3,4,5,6}'), agg_of('{1,2,3,4,5,6}'));

-- a retraction with values the row did not have (a time between the
-- first and last) cannot make counts that do not add up: they are
-- dropped (version 1) rather than stored wrong
SELECT segroll.retract(agg_of('{1,3,6}'), 3, '2026-01-01 12:00', 3.00, 3);

-- text round trip, with and without lineage, with a distinct measure
SELECT s::text::segroll.segment::text = s::text AS round_trip
FROM (VALUES (agg_of('{1,2,3,4,5,6}')), (agg_of('{4}')),
             ((SELECT segroll.segment_agg_nolineage(id, ts, amount, qty) FROM rows)),
             ((SELECT segroll.segment_agg(id, ts, amount, segroll.distinct_hash(qty)) FROM rows))) v(s);
SELECT segroll.segment_agg(id, ts, amount, segroll.distinct_hash(qty)) FROM rows WHERE id IN (1, 2);

-- = and hashing leave the counts out: a value written before them (version
-- 1) equals its rebuild with them, and hashes alike
CREATE FUNCTION without_counts(s segroll.segment) RETURNS segroll.segment LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(s::text, ',"at_(first|last|min|max)":[0-9]+', '', 'g'),
	                      '^\{"version":3', '{"version":1')::segroll.segment $$;
SELECT without_counts(agg_of('{1,2,3,4,5,6}'));
SELECT without_counts(agg_of('{1,2,3,4,5,6}')) OPERATOR(segroll.=) agg_of('{1,2,3,4,5,6}') AS equal,
       segroll.segment_hash(without_counts(agg_of('{1,2,3,4,5,6}'))) = segroll.segment_hash(agg_of('{1,2,3,4,5,6}')) AS same_hash,
       segroll.stored_size(without_counts(agg_of('{1,2,3,4,5,6}'))) < segroll.stored_size(agg_of('{1,2,3,4,5,6}')) AS smaller,
       (SELECT count(DISTINCT s) FROM (VALUES (without_counts(agg_of('{1,2,3,4,5,6}'))), (agg_of('{1,2,3,4,5,6}'))) v(s)) AS distinct_values;
-- counts the rules imply are not stored: a one-row segment (first = last,
-- min = max) costs version 3 one byte (its empty distinct section), and a
-- measure with min = max over several rows stores no count
SELECT segroll.stored_size(s) - segroll.stored_size(without_counts(s)) AS one_row_extra_bytes
FROM (SELECT segroll.segment_agg(7, '2026-01-01 00:00+00', 12.50::numeric, 3::int, 1e40::numeric) AS s) x;
SELECT segroll.stored_size(s) - segroll.stored_size(without_counts(s)) AS flat_measure_extra_bytes
FROM (SELECT segroll.segment_agg(g, '2026-01-01 00:00+00'::timestamptz + g * interval '1 hour', 5::numeric)
      AS s FROM generate_series(1, 4) g) x;
-- (text input still checks them: the rules below, first = last and min = max)
SET enable_sort = off;
SELECT count(*) AS hashed_groups FROM (SELECT s FROM (VALUES (without_counts(agg_of('{1,2,3,4,5,6}'))), (agg_of('{1,2,3,4,5,6}'))) v(s) GROUP BY s) g;
RESET enable_sort;
-- counts unknown (version 1): a retraction at an extreme makes bounds, as in 0.4.0 ...
SELECT segroll.minmax_known(segroll.retract(without_counts(agg_of('{1,2,3,4,5,6}')), 1, '2026-01-01', 1.00, 1)) AS v1_known;
-- ... so does one at the max; a merge with it has no counts
SELECT segroll.retract(without_counts(agg_of('{1,2,3,4,5,6}')), 6, '2026-01-02', 3.00, 8);
SELECT segroll.merge(without_counts(agg_of('{1,2}')), agg_of('{3}'));

-- bad input: one value per rule (SQLSTATE and detail)
CREATE FUNCTION try_in(t text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text;
	detail text;
BEGIN
	PERFORM t::segroll.segment;
	RETURN 'accepted';
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
	RETURN st || ': ' || detail;
END $$;
SELECT rule, try_in(t) AS result FROM (VALUES
	('at_first 0', '{"version":3,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00Z","at_first":0,"at_last":1,"checksum":"0000000000000000","minmax":"exact","measures":[],"keys":null}'),
	('at_last above count', '{"version":3,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00Z","at_first":1,"at_last":3,"checksum":"0000000000000000","minmax":"exact","measures":[],"keys":null}'),
	('at_first + at_last above count', '{"version":3,"count":3,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00Z","at_first":2,"at_last":2,"checksum":"0000000000000000","minmax":"exact","measures":[],"keys":null}'),
	('first = last, counts below count', '{"version":3,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","at_first":1,"at_last":1,"checksum":"0000000000000000","minmax":"exact","measures":[],"keys":null}'),
	('at_min 0', '{"version":3,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00Z","at_first":1,"at_last":1,"checksum":"0000000000000000","minmax":"exact","measures":[{"scale":0,"nulls":0,"sum":"3","min":"1","max":"2","at_min":0,"at_max":1}],"keys":null}'),
	('at_max above the non-NULL values', '{"version":3,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00Z","at_first":1,"at_last":1,"checksum":"0000000000000000","minmax":"exact","measures":[{"scale":0,"nulls":1,"sum":"3","min":"3","max":"3","at_min":1,"at_max":2}],"keys":null}'),
	('min = max, counts below the non-NULL values', '{"version":3,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00Z","at_first":1,"at_last":1,"checksum":"0000000000000000","minmax":"exact","measures":[{"scale":0,"nulls":0,"sum":"4","min":"2","max":"2","at_min":1,"at_max":1}],"keys":null}'),
	('at_min + at_max above the non-NULL values', '{"version":3,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00Z","at_first":1,"at_last":1,"checksum":"0000000000000000","minmax":"exact","measures":[{"scale":0,"nulls":0,"sum":"3","min":"1","max":"2","at_min":2,"at_max":1}],"keys":null}'),
	('decimal min = max (as numerics), counts below', '{"version":3,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00Z","at_first":1,"at_last":1,"checksum":"0000000000000000","minmax":"exact","measures":[{"scale":null,"nulls":0,"sum":"20000000000000000000000000000000000000000","min":"10000000000000000000000000000000000000000","max":"10000000000000000000000000000000000000000.0","at_min":1,"at_max":1}],"keys":null}'),
	('decimal min = max (as numerics), counts right', '{"version":3,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00Z","at_first":1,"at_last":1,"checksum":"0000000000000000","minmax":"exact","measures":[{"scale":null,"nulls":0,"sum":"20000000000000000000000000000000000000000","min":"10000000000000000000000000000000000000000","max":"10000000000000000000000000000000000000000.0","at_min":2,"at_max":2}],"keys":null}'),
	('decimal min = max (same text), counts below', '{"version":3,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00Z","at_first":1,"at_last":1,"checksum":"0000000000000000","minmax":"exact","measures":[{"scale":null,"nulls":0,"sum":"NaN","min":"NaN","max":"NaN","at_min":1,"at_max":2}],"keys":null}'),
	('decimal min = max (same text), counts right', '{"version":3,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00Z","at_first":1,"at_last":1,"checksum":"0000000000000000","minmax":"exact","measures":[{"scale":null,"nulls":0,"sum":"NaN","min":"NaN","max":"NaN","at_min":2,"at_max":2}],"keys":null}'),
	('version 3, empty', '{"version":3,"count":0,"first":null,"last":null,"checksum":"0000000000000000","minmax":"exact","measures":[],"keys":null}'),
	('version 3 with bounds', '{"version":3,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00Z","at_first":1,"at_last":1,"checksum":"0000000000000000","minmax":"bounds","measures":[],"keys":null}'),
	('version 3 without at_first', '{"version":3,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[],"keys":null}'),
	('version 3 without at_min', '{"version":3,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00Z","at_first":1,"at_last":1,"checksum":"0000000000000000","minmax":"exact","measures":[{"scale":0,"nulls":0,"sum":"3","min":"1","max":"2"}],"keys":null}'),
	('version 1 with at_first', '{"version":1,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00Z","at_first":1,"at_last":1,"checksum":"0000000000000000","minmax":"exact","measures":[],"keys":null}'),
	('version 3 with a distinct measure', '{"version":3,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00Z","at_first":1,"at_last":1,"checksum":"0000000000000000","minmax":"exact","measures":[],"distinct":{"known":false,"sets":["0001e81fd1584db1784a010000"]},"keys":null}'),
	('a good one', '{"version":3,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00Z","at_first":1,"at_last":1,"checksum":"0000000000000000","minmax":"exact","measures":[{"scale":0,"nulls":0,"sum":"3","min":"1","max":"2","at_min":1,"at_max":1}],"keys":null}')
) v(rule, t);

-- through a segmentation: 4 rows every 12 minutes (2 of each org), with
-- quantities 1-8, so each day cell's first and last time and its min (1)
-- and max (8) quantity are held by several rows
CREATE TABLE sales (txn_id bigint PRIMARY KEY, sold_at timestamptz NOT NULL, org_id int, qty int, amount numeric(10,2));
INSERT INTO sales
SELECT g, '2026-11-01'::timestamptz + (g / 4) * interval '12 minutes', g % 2, 1 + (g / 2) % 8, (g % 97) / 4.0
FROM generate_series(0, 2399) g;
SELECT segroll.create_segmentation(
	name => 'xc_daily', source => 'xc.sales', key => 'txn_id', time_col => 'sold_at',
	grain => 'day', time_zone => 'UTC', dimensions => '{org_id}', measures => '{qty, sum(amount)}') IS NOT NULL AS created;
-- the oracle: every cell's text (counts included) equals a from-scratch GROUP BY's
CREATE FUNCTION oracle() RETURNS bigint LANGUAGE sql AS $$
	WITH fresh AS (
		SELECT org_id, date_trunc('day', sold_at, 'UTC') AS period,
		       segroll.segment_agg(txn_id, sold_at, qty, amount)::text AS seg
		FROM xc.sales GROUP BY 1, 2)
	SELECT count(*) FROM (
		(SELECT * FROM fresh EXCEPT ALL SELECT org_id, period, seg::text FROM segroll_data.xc_daily)
		UNION ALL
		(SELECT org_id, period, seg::text FROM segroll_data.xc_daily EXCEPT ALL SELECT * FROM fresh)) d
$$;
CREATE VIEW cell AS
SELECT org_id, period, segroll.count(seg) AS n, segroll.min(seg, 1) AS qty_min, segroll.max(seg, 1) AS qty_max,
       substr(seg::text, 1, 13) AS head
FROM segroll_data.xc_daily;
-- the rows of cell (org, day), not at its first or last time
CREATE FUNCTION inner_rows(org int, day date) RETURNS SETOF xc.sales LANGUAGE sql AS $$
	SELECT * FROM xc.sales WHERE org_id = org AND sold_at > day::timestamptz AND sold_at < day::timestamptz + interval '1 day' - interval '12 minutes' $$;
SELECT oracle() AS after_build, count(*) AS cells, count(*) FILTER (WHERE head = '{"version":3,') AS with_counts FROM cell;
SELECT * FROM cell WHERE org_id = 0 AND period = '2026-11-02';

-- a batch: delete one of the min rows of (0, 11-02), set another one's qty
-- to 4 and one of its max rows' to 5; delete one of the two first rows of
-- (1, 11-03) and one of the two last rows of (1, 11-04).  Nothing is
-- recomputed: no scan of the source's key index (a recompute reads the
-- cell's lineage through it; the window is read through the capture
-- index), and the cells equal the rebuild
BEGIN;
DELETE FROM sales WHERE txn_id = (SELECT min(txn_id) FROM inner_rows(0, '2026-11-02') WHERE qty = 1);
UPDATE sales SET qty = 4 WHERE txn_id = (SELECT max(txn_id) FROM inner_rows(0, '2026-11-02') WHERE qty = 1);
UPDATE sales SET qty = 5 WHERE txn_id = (SELECT max(txn_id) FROM inner_rows(0, '2026-11-02') WHERE qty = 8);
DELETE FROM sales WHERE txn_id = (SELECT min(txn_id) FROM sales WHERE org_id = 1 AND sold_at >= '2026-11-03');
DELETE FROM sales WHERE txn_id = (SELECT max(txn_id) FROM sales WHERE org_id = 1 AND sold_at < '2026-11-05');
SELECT pg_stat_get_xact_numscans('xc.sales_pkey'::regclass) AS idx_before \gset
SELECT segroll.rollup('xc_daily') AS applied;
SELECT pg_stat_get_xact_numscans('xc.sales_pkey'::regclass) - :idx_before AS source_index_scans;
COMMIT;
SELECT oracle() AS after_corrections, count(*) FILTER (WHERE head = '{"version":3,') AS with_counts FROM cell;
SELECT * FROM cell WHERE org_id = 0 AND period = '2026-11-02';

-- the last min rows of a cell go: the roll-up recomputes that cell from its
-- lineage (through the key index) and finds the new min
BEGIN;
DELETE FROM sales WHERE org_id = 0 AND sold_at >= '2026-11-02' AND sold_at < '2026-11-03' AND qty = 1;
SELECT pg_stat_get_xact_numscans('xc.sales_pkey'::regclass) AS idx_before \gset
SELECT segroll.rollup('xc_daily') AS applied;
SELECT pg_stat_get_xact_numscans('xc.sales_pkey'::regclass) - :idx_before > 0 AS recomputed_by_key;
COMMIT;
SELECT c.qty_min, (SELECT min(qty) FROM sales WHERE org_id = 0 AND sold_at >= '2026-11-02' AND sold_at < '2026-11-03') AS group_by_min,
       oracle() AS after_last_min_row
FROM cell c WHERE org_id = 0 AND period = '2026-11-02';

-- a cell written before the counts (version 1, as 0.4.0 left it) equals its
-- rebuild; a retraction of one of its many min rows makes it bounds (its
-- counts are unknown), so the roll-up recomputes it, which heals it
UPDATE segroll_data.xc_daily SET seg = without_counts(seg) WHERE org_id = 1 AND period = '2026-11-02';
SELECT oracle() AS one_cell_without_counts,
       (SELECT count(*) FROM segroll_data.xc_daily d WHERE d.seg OPERATOR(segroll.=) (SELECT segroll.segment_agg(txn_id, sold_at, qty, amount) FROM sales s
            WHERE s.org_id = d.org_id AND date_trunc('day', s.sold_at, 'UTC') = d.period)) AS cells_equal_rebuild;
BEGIN;
DELETE FROM sales WHERE txn_id = (SELECT min(txn_id) FROM inner_rows(1, '2026-11-02') WHERE qty = 1);
SELECT pg_stat_get_xact_numscans('xc.sales_pkey'::regclass) AS idx_before \gset
SELECT segroll.rollup('xc_daily') AS applied;
SELECT pg_stat_get_xact_numscans('xc.sales_pkey'::regclass) - :idx_before > 0 AS recomputed_by_key;
COMMIT;
SELECT oracle() AS after_healing, head FROM cell WHERE org_id = 1 AND period = '2026-11-02';

DROP VIEW cell;
SELECT segroll.drop_segmentation('xc_daily');
