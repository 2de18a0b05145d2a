/*
 * segroll benchmark: prints the results of the last run.sh as Markdown
 * (run with psql -At).
 */
\set ON_ERROR_STOP on
\if :{?builds_only}
\else
\set builds_only false
\endif

CREATE OR REPLACE FUNCTION pg_temp.ms(x float8) RETURNS text LANGUAGE sql AS $$
	SELECT CASE WHEN x >= 100 THEN to_char(round(x::numeric), 'FM999999990')
				WHEN x >= 10 THEN to_char(x, 'FM99990.0')
				ELSE to_char(x, 'FM990.00') END $$;
CREATE OR REPLACE FUNCTION pg_temp.x(x float8) RETURNS text LANGUAGE sql AS $$
	SELECT CASE WHEN x >= 100 THEN to_char(round(x::numeric), 'FM9999990') || '×'
				WHEN x >= 10 THEN to_char(x, 'FM9990.0') || '×'
				ELSE to_char(x, 'FM990.00') || '×' END $$;
CREATE OR REPLACE FUNCTION pg_temp.met(ok bool) RETURNS text LANGUAGE sql AS $$
	SELECT CASE WHEN ok THEN 'met' ELSE '**not met**' END $$;
CREATE OR REPLACE FUNCTION pg_temp.mib(b bigint) RETURNS text LANGUAGE sql AS $$
	SELECT CASE WHEN b >= 10 * 1024 * 1024 THEN to_char(b / 1048576.0, 'FM999990') || ' MiB'
				WHEN b >= 1024 * 1024 THEN to_char(b / 1048576.0, 'FM990.0') || ' MiB'
				ELSE to_char(b / 1024.0, 'FM990.0') || ' KiB' END $$;

CREATE TEMP VIEW med AS
SELECT section, item, variant,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY cpu_ms) AS cpu,
	   min(ms) AS lo, max(ms) AS hi, count(*) AS n
FROM bench.timing GROUP BY 1, 2, 3;

SELECT '# segroll benchmark results';
SELECT '';
SELECT format('%s source rows (fingerprint %s), medians of %s runs; times in ms.',
			  (SELECT value FROM bench.run_info WHERE key = 'rows'),
			  (SELECT value FROM bench.run_info WHERE key = 'fingerprint'),
			  (SELECT value FROM bench.run_info WHERE key = 'reps'));
SELECT '';
SELECT format('Server: %s; segroll %s; %s; commit %s. Settings: %s.',
			  (SELECT value FROM bench.run_info WHERE key = 'server'),
			  (SELECT value FROM bench.run_info WHERE key = 'segroll'),
			  (SELECT value FROM bench.run_info WHERE key = 'library'),
			  (SELECT value FROM bench.run_info WHERE key = 'commit'),
			  (SELECT string_agg(substr(key, 9) || '=' || value, ', ' ORDER BY key)
				 FROM bench.run_info WHERE key LIKE 'setting %'));

SELECT '';
SELECT '## Building the cells';
SELECT '';
SELECT 'CREATE TABLE ... AS SELECT dims, <aggregates> FROM source GROUP BY dims; plain = count(*), sum(amount), sum(qty); CHECKPOINT before each build.';
SELECT 'Medians of wall-clock time (ms), then of the CPU time (user + system, ms) the backend used; CPU time does not grow when other processes hold the CPU, so on a shared machine it is the steadier of the two.';
SELECT '';
SELECT '| segmentation | cells | measure | plain | with lineage | ratio | goal ≤ 1.5× | without lineage | ratio | goal ≤ 1.0× |';
SELECT '|---|---:|---|---:|---:|---:|---|---:|---:|---|';
SELECT format('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |',
			  p.item, c.cells, k.label, pg_temp.ms(k.p), pg_temp.ms(k.l), pg_temp.x(k.l / k.p),
			  pg_temp.met(k.l / k.p <= 1.5), pg_temp.ms(k.n), pg_temp.x(k.n / k.p),
			  pg_temp.met(k.n / k.p <= 1.0))
FROM med p
JOIN med l ON l.section = p.section AND l.item = p.item AND l.variant = 'lineage'
JOIN med n ON n.section = p.section AND n.item = p.item AND n.variant = 'nolineage'
CROSS JOIN LATERAL (VALUES (1, 'wall', p.ms, l.ms, n.ms), (2, 'CPU', p.cpu, l.cpu, n.cpu)) AS k(ord, label, p, l, n)
LEFT JOIN bench.sizes c ON c.segmentation = p.item AND c.variant = 'plain'
WHERE p.section = 'build' AND p.variant = 'plain'
ORDER BY array_position(ARRAY['coarse', 'medium', 'fine'], p.item), k.ord;

\if :builds_only
\else
SELECT '';
SELECT '## Analyst queries';
SELECT '';
SELECT 'Wall-clock medians (ms). cells = the cells with lineage, sum(segroll.sum(seg, 1)) per group; speed-up = raw / cells. (CPU time, in the last table, has a 10 ms resolution: too coarse for the fast queries.)';
SELECT '';
SELECT '| query | from | raw rows | cells | speed-up | goal | met | plain summary table | cells via merge() | cells without lineage |';
SELECT '|---|---|---:|---:|---:|---|---|---:|---:|---:|';
SELECT format('| %s | %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s |',
			  r.item, g.seg, pg_temp.ms(r.ms), pg_temp.ms(c.ms), pg_temp.x(r.ms / c.ms),
			  CASE g.seg WHEN 'coarse' THEN '≥ 100×' WHEN 'medium' THEN '≥ 10×' ELSE 'report' END,
			  CASE g.seg WHEN 'coarse' THEN pg_temp.met(r.ms / c.ms >= 100)
						 WHEN 'medium' THEN pg_temp.met(r.ms / c.ms >= 10) ELSE '—' END,
			  pg_temp.ms(s.ms), pg_temp.ms(m.ms), pg_temp.x(r.ms / m.ms), pg_temp.ms(n.ms))
FROM med r
JOIN (VALUES ('q1_month_org_channel', 'coarse'), ('q2_month_brand', 'medium'),
			 ('q3_week_top20_brands', 'medium'), ('q4_week_top20_items', 'fine')) AS g(q, seg) ON g.q = r.item
JOIN med c ON c.section = r.section AND c.item = r.item AND c.variant = 'cells'
JOIN med s ON s.section = r.section AND s.item = r.item AND s.variant = 'summary'
JOIN med m ON m.section = r.section AND m.item = r.item AND m.variant = 'cells_merge'
JOIN med n ON n.section = r.section AND n.item = r.item AND n.variant = 'cells_nolineage'
WHERE r.section = 'query' AND r.variant = 'raw'
ORDER BY r.item;

SELECT '';
SELECT '## Bytes';
SELECT '';
SELECT 'pg_total_relation_size (heap + TOAST) of each table, no indexes; extra = (cells − plain summary) / source rows.';
SELECT '';
SELECT '| segmentation | cells | rows per cell | plain summary | cells with lineage | extra per source row | goal | met | cells without lineage | extra per source row | with lineage vs raw table + PK |';
SELECT '|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|';
WITH src AS (SELECT cells AS rows, total_bytes FROM bench.sizes WHERE segmentation = 'raw')
SELECT format('| %s | %s | %s | %s | %s | %s B | %s | %s | %s | %s B | %s %% |',
			  p.segmentation, p.cells, to_char(src.rows::numeric / p.cells, 'FM999999990.0'),
			  pg_temp.mib(p.total_bytes), pg_temp.mib(l.total_bytes),
			  to_char((l.total_bytes - p.total_bytes)::numeric / src.rows, 'FM990.000'),
			  CASE WHEN p.segmentation IN ('hour', 'block1000') THEN '≤ 0.5 B' ELSE '≤ 3 B' END,
			  pg_temp.met((l.total_bytes - p.total_bytes)::numeric / src.rows
						  <= CASE WHEN p.segmentation IN ('hour', 'block1000') THEN 0.5 ELSE 3 END),
			  pg_temp.mib(n.total_bytes),
			  to_char((n.total_bytes - p.total_bytes)::numeric / src.rows, 'FM990.000'),
			  to_char(100.0 * l.total_bytes / src.total_bytes, 'FM990.00'))
FROM bench.sizes p
CROSS JOIN src
JOIN bench.sizes l ON l.segmentation = p.segmentation AND l.variant = 'lineage'
JOIN bench.sizes n ON n.segmentation = p.segmentation AND n.variant = 'nolineage'
WHERE p.variant = 'plain'
ORDER BY array_position(ARRAY['coarse', 'medium', 'fine', 'hour', 'block1000'], p.segmentation);
SELECT '';
SELECT format('Raw table bench.sales_txn with its primary key: %s (%s bytes per row).',
			  pg_temp.mib(total_bytes), to_char(total_bytes::numeric / cells, 'FM99990.0'))
FROM bench.sizes WHERE segmentation = 'raw';
SELECT '';
SELECT 'Per value (bytes per cell): measure columns of the plain table (count + two sums) vs the segment value; lineage = stored − same segment without lineage.';
SELECT '';
SELECT '| segmentation | plain columns | segment without lineage | segment with lineage | lineage per source key | lineage uncompressed per key |';
SELECT '|---|---:|---:|---:|---:|---:|';
SELECT format('| %s | %s | %s | %s | %s B | %s B |',
			  p.segmentation,
			  to_char(p.value_bytes::numeric / p.cells, 'FM99999990.0'),
			  to_char(n.value_bytes::numeric / n.cells, 'FM99999990.0'),
			  to_char(l.value_bytes::numeric / l.cells, 'FM99999990.0'),
			  to_char((l.stored_bytes - n.stored_bytes)::numeric / src.cells, 'FM990.000'),
			  to_char((l.raw_bytes - n.stored_bytes)::numeric / src.cells, 'FM990.000'))
FROM bench.sizes p
CROSS JOIN (SELECT cells FROM bench.sizes WHERE segmentation = 'raw') AS src
JOIN bench.sizes l ON l.segmentation = p.segmentation AND l.variant = 'lineage'
JOIN bench.sizes n ON n.segmentation = p.segmentation AND n.variant = 'nolineage'
WHERE p.variant = 'plain'
ORDER BY array_position(ARRAY['coarse', 'medium', 'fine', 'hour', 'block1000'], p.segmentation);

\endif

SELECT '';
SELECT '## Every run';
SELECT '';
SELECT '| section | item | variant | median | min | max | median CPU | runs | all runs, wall | all runs, CPU |';
SELECT '|---|---|---|---:|---:|---:|---:|---:|---|---|';
SELECT format('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |',
			  m.section, m.item, m.variant, pg_temp.ms(m.ms), pg_temp.ms(m.lo), pg_temp.ms(m.hi),
			  pg_temp.ms(m.cpu), m.n,
			  (SELECT string_agg(pg_temp.ms(t.ms), ', ' ORDER BY t.run) FROM bench.timing t
				WHERE t.section = m.section AND t.item = m.item AND t.variant = m.variant),
			  (SELECT string_agg(pg_temp.ms(t.cpu_ms), ', ' ORDER BY t.run) FROM bench.timing t
				WHERE t.section = m.section AND t.item = m.item AND t.variant = m.variant))
FROM med m
ORDER BY m.section, m.item, array_position(ARRAY['plain', 'lineage', 'nolineage', 'raw', 'summary', 'cells', 'cells_merge', 'cells_nolineage'], m.variant);

SELECT '';
\if :builds_only
SELECT 'Builds only (BUILDS_ONLY): no correctness checks, sizes or queries in this run.';
\else
SELECT format('Correctness checks passed: %s (%s).', count(*), string_agg(label, '; ' ORDER BY label))
FROM bench.checks;
\endif
