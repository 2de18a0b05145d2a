/*
 * segroll benchmark: result tables and helpers (run.sh loads this once per
 * invocation; it empties the result tables of the previous invocation).
 */
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS bench;

DROP TABLE IF EXISTS bench.timing, bench.sizes, bench.checks, bench.run_info;

-- one row per timed statement
CREATE TABLE bench.timing (
	run			int NOT NULL,		-- repetition, 1..REPS
	section		text NOT NULL,		-- 'build' or 'query'
	item		text NOT NULL,		-- segmentation or query name
	variant		text NOT NULL,		-- plain / lineage / nolineage / raw / ...
	ms			float8 NOT NULL,	-- wall clock, client round trip included
	cpu_ms		float8				-- CPU time (user + system) of the backend
);

-- sizes of the tables built by the last repetition
CREATE TABLE bench.sizes (
	segmentation text NOT NULL,
	variant		text NOT NULL,
	cells		bigint NOT NULL,	-- rows of the table
	total_bytes	bigint NOT NULL,	-- pg_total_relation_size: heap + TOAST (+ its index)
	value_bytes	bigint,				-- sum of pg_column_size of the measure columns
	stored_bytes bigint,			-- sum of segroll.stored_size(seg)
	raw_bytes	bigint				-- sum of segroll.raw_size(seg)
);

-- correctness checks that passed
CREATE TABLE bench.checks (
	label		text NOT NULL,
	result_rows	bigint NOT NULL
);

CREATE TABLE bench.run_info (
	key			text PRIMARY KEY,
	value		text NOT NULL
);

-- milliseconds since t0 (a clock_timestamp() taken by the previous statement)
CREATE OR REPLACE FUNCTION bench.ms_since(t0 timestamptz)
RETURNS float8 LANGUAGE sql VOLATILE
AS $$ SELECT 1000 * extract(epoch FROM clock_timestamp() - t0)::float8 $$;

/*
 * CPU time (user + system) this backend has used so far, in ms, from
 * /proc/<pid>/stat (Linux; needs a superuser or pg_read_server_files).
 * Resolution is one clock tick (10 ms at 100 Hz).  Unlike wall time it
 * does not grow when other processes take the CPU, so on a shared machine
 * it is the steadier measure of the work a statement does.
 */
CREATE OR REPLACE FUNCTION bench.cpu_ms(ticks_per_second int)
RETURNS float8 LANGUAGE sql VOLATILE
AS $$
	SELECT (f[12]::float8 + f[13]::float8) * 1000 / ticks_per_second
	FROM (SELECT string_to_array(split_part(pg_read_file('/proc/' || pg_backend_pid() || '/stat'), ') ', 2), ' ') AS f) AS stat
$$;

/*
 * Fails loudly unless the two queries return the same multiset of rows
 * (EXCEPT ALL both ways) and at least one row.
 */
CREATE OR REPLACE FUNCTION bench.check_same(label text, expected text, actual text)
RETURNS bigint LANGUAGE plpgsql
AS $$
DECLARE
	n_expected	bigint;
	n_actual	bigint;
	only_expected bigint;
	only_actual	bigint;
BEGIN
	EXECUTE format('SELECT count(*) FROM (%s) AS q', expected) INTO n_expected;
	EXECUTE format('SELECT count(*) FROM (%s) AS q', actual) INTO n_actual;
	EXECUTE format('SELECT count(*) FROM ((%s) EXCEPT ALL (%s)) AS q', expected, actual) INTO only_expected;
	EXECUTE format('SELECT count(*) FROM ((%s) EXCEPT ALL (%s)) AS q', actual, expected) INTO only_actual;
	IF n_expected = 0 OR n_expected <> n_actual OR only_expected <> 0 OR only_actual <> 0 THEN
		RAISE EXCEPTION 'bench check failed: %', label
			USING DETAIL = format('%s rows expected, %s returned; %s rows only in the expected result, %s only in the actual one',
								  n_expected, n_actual, only_expected, only_actual);
	END IF;
	INSERT INTO bench.checks VALUES (label, n_expected);
	RETURN n_expected;
END
$$;
