-- Bad input: every rejection is an ERROR with a specific SQLSTATE.
SET TimeZone = 'UTC';

-- binary input goes through COPY (FORMAT binary); the payload gets the
-- CRC-32C that segment_send appends, so the checks behind it are reached.
CREATE FUNCTION crc32c(data bytea) RETURNS bigint LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
	crc bigint := 4294967295;
	i int;
	j int;
BEGIN
	FOR i IN 0 .. length(data) - 1 LOOP
		crc := crc # get_byte(data, i);
		FOR j IN 1 .. 8 LOOP
			IF crc & 1 = 1 THEN
				crc := (crc >> 1) # 2197175160;	-- 0x82F63B78
			ELSE
				crc := crc >> 1;
			END IF;
		END LOOP;
	END LOOP;
	RETURN crc # 4294967295;
END $$;

CREATE FUNCTION with_crc(payload bytea) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT payload || substring(int8send(crc32c(payload)) FROM 5 FOR 4)
$$;

CREATE TABLE recv_sink (s segroll.segment);

-- feeds 'wire' (what segment_send would produce) to segment_recv
CREATE FUNCTION try_recv_detail(wire bytea) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	f text := '/tmp/segroll_regress_recv_' || pg_backend_pid() || '.bin';
	lo oid;
	d text;
BEGIN
	lo := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea || '\x0000000000000000'::bytea
	                       || '\x0001'::bytea || int4send(length(wire)) || wire || '\xffff'::bytea);
	PERFORM lo_export(lo, f);
	PERFORM lo_unlink(lo);
	EXECUTE format('COPY recv_sink FROM %L (FORMAT binary)', f);
	RETURN 'accepted';
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	RETURN sqlstate || ': ' || sqlerrm || ' (' || d || ')';
END $$;

-- what send produces is accepted
SELECT try_recv_detail(segroll.segment_send(segroll.segment_agg(g, '2026-01-01', g::numeric(10,2))))
FROM generate_series(1, 3) g;
SELECT try_recv_detail(segroll.segment_send(segroll.segment_agg(g, '2026-01-01', g)))
FROM generate_series(1, 1000) g;

CREATE TABLE good AS
SELECT substring(w FROM 1 FOR length(w) - 4) AS p
FROM (SELECT segroll.segment_send(segroll.segment_agg(g, '2026-01-01', g::numeric(10,2), -g)) AS w
      FROM generate_series(1, 5) g) x;

-- hand-made cases
SELECT name, try_recv_detail(wire) AS result FROM (VALUES
	('empty',                   ''::bytea),
	('crc only',                '\x00000000'::bytea),
	('header only',             with_crc('\x0100')),
	('truncated by one byte',   with_crc((SELECT substring(p FROM 1 FOR length(p) - 1) FROM good))),
	('trailing garbage',        with_crc((SELECT p || '\x00'::bytea FROM good))),
	('bad crc',                 (SELECT p || '\xdeadbeef'::bytea FROM good)),
	('unknown version',         with_crc((SELECT set_byte(p, 0, 4) FROM good))),
	('unknown flag bit',        with_crc((SELECT set_byte(p, 1, 128) FROM good))),
	('zstd flag, no lineage', with_crc('\x010200000000000000000000'::bytea)),
	('non-minimal varint', with_crc('\x01008000000000000000000000'::bytea)),
	('overlong varint', with_crc('\x0100ffffffffffffffffffff01000000000000000000'::bytea)),
	('count above int64', with_crc('\x0100808080808080808080010000000000000000000000'::bytea)),
	('65 measures', with_crc('\x010000410000000000000000'::bytea)),
	('unknown measure kind', with_crc('\x010000010000000000000000020000'::bytea)),
	('more nulls than rows', with_crc('\x0100010100000000000000000000000200'::bytea)),
	('scale above 38', with_crc('\x0100010100000000000000000000000027020202'::bytea)),
	('min above max', with_crc('\x01000101000000000000000000000000000a0802'::bytea)),
	('malformed decimal', with_crc('\x010001010000000000000000000001000430312e3501310131'::bytea)),
	('negative zero decimal', with_crc('\x01000101000000000000000000000100022d3001310131'::bytea)),
	('first+span past int64', with_crc('\x01000100feffffffffffffffff01010000000000000000'::bytea)),
	('raw keys ok', with_crc('\x010103000000000000000000000003020101'::bytea)),
	('duplicate keys', with_crc('\x010103000000000000000000000003020001'::bytea)),
	('fewer keys than rows', with_crc('\x010103000000000000000000000003028101'::bytea)),
	('raw size below count', with_crc('\x0101030000000000000000000000020201'::bytea)),
	('raw size beyond data', with_crc('\x010103000000000000000000000004020101'::bytea)),
	('zstd frame ok', with_crc('\x01036400000000000000000000006428b52ffd246445000010020101003f012caf1c1090'::bytea)),
	('zstd unknown content size', with_crc('\x01036400000000000000000000006428b52ffd040045000010020101003f012caf1c1090'::bytea)),
	('zstd two frames', with_crc('\x01036400000000000000000000006428b52ffd246445000010020101003f012caf1c109028b52ffd246445000010020101003f012caf1c1090'::bytea)),
	('zstd size != declared', with_crc('\x01036400000000000000000000006528b52ffd246445000010020101003f012caf1c1090'::bytea)),
	('zstd garbage frame', with_crc('\x010364000000000000000000000064000102030405060708090a0b0c0d0e0f'::bytea)),
	('1 KB claiming 500 MB', with_crc('\x010380cab5ee01000000000000000000000080cab5ee0128b52ffd'::bytea || decode(repeat('00', 1000), 'hex'))),
	('declared 1 GB', with_crc('\x010380808080040000000000000000000000808080800428b52ffd00'::bytea))
) AS cases(name, wire);

-- only the four accepted values were stored
SELECT count(*) AS stored FROM recv_sink;

-- text input
CREATE FUNCTION try_in(t text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	d text;
BEGIN
	PERFORM t::segroll.segment;
	RETURN 'accepted';
EXCEPTION WHEN others THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	RETURN sqlstate || ': ' || d;
END $$;

SELECT name, try_in(t) AS result FROM (VALUES
	('empty',            ''),
	('not an object',    '[]'),
	('unknown version',  '{"version":4,"count":0,"first":null,"last":null,"checksum":"0000000000000000","minmax":"exact","measures":[],"keys":""}'),
	('fields reordered', '{"count":0,"version":1,"first":null,"last":null,"checksum":"0000000000000000","minmax":"exact","measures":[],"keys":""}'),
	('missing field',    '{"version":1,"count":0,"first":null,"last":null,"minmax":"exact","measures":[],"keys":""}'),
	('junk after brace', '{"version":1,"count":0,"first":null,"last":null,"checksum":"0000000000000000","minmax":"exact","measures":[],"keys":""} x'),
	('negative count',   '{"version":1,"count":-1,"first":null,"last":null,"checksum":"0000000000000000","minmax":"exact","measures":[],"keys":""}'),
	('count too big',    '{"version":1,"count":9223372036854775808,"first":null,"last":null,"checksum":"0000000000000000","minmax":"exact","measures":[],"keys":null}'),
	('huge count, keys', '{"version":1,"count":9223372036854775807,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[],"keys":"1-9223372036854775807"}'),
	('keys vs count',    '{"version":1,"count":3,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[],"keys":"1-2"}'),
	('too many keys',    '{"version":1,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[],"keys":"1-1000000000000"}'),
	('unsorted keys',    '{"version":1,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[],"keys":"5,3"}'),
	('duplicate keys',   '{"version":1,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[],"keys":"3,3"}'),
	('reversed range',   '{"version":1,"count":3,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[],"keys":"5-3"}'),
	('key overflow',     '{"version":1,"count":1,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[],"keys":"9223372036854775808"}'),
	('dangling comma',   '{"version":1,"count":1,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[],"keys":"1,"}'),
	('impossible date',  '{"version":1,"count":1,"first":"2026-02-31T00:00:00Z","last":"2026-02-31T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[],"keys":"1"}'),
	('local time',       '{"version":1,"count":1,"first":"2026-01-01T00:00:00+09","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[],"keys":"1"}'),
	('last before first','{"version":1,"count":2,"first":"2026-01-02T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[],"keys":"1-2"}'),
	('checksum short',   '{"version":1,"count":0,"first":null,"last":null,"checksum":"00","minmax":"exact","measures":[],"keys":""}'),
	('checksum upper',   '{"version":1,"count":0,"first":null,"last":null,"checksum":"000000000000000A","minmax":"exact","measures":[],"keys":""}'),
	('bad minmax',       '{"version":1,"count":0,"first":null,"last":null,"checksum":"0000000000000000","minmax":"maybe","measures":[],"keys":""}'),
	('empty with bounds','{"version":1,"count":0,"first":null,"last":null,"checksum":"0000000000000000","minmax":"bounds","measures":[],"keys":""}'),
	('wrong scale',      '{"version":1,"count":1,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[{"scale":2,"nulls":0,"sum":"1.5","min":"1.50","max":"1.50"}],"keys":"1"}'),
	('scale above 38',   '{"version":1,"count":1,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[{"scale":39,"nulls":1,"sum":null,"min":null,"max":null}],"keys":"1"}'),
	('beyond 128 bits',  '{"version":1,"count":1,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[{"scale":0,"nulls":0,"sum":"1000000000000000000000000000000000000000","min":"1","max":"1"}],"keys":"1"}'),
	('more nulls',       '{"version":1,"count":1,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[{"scale":0,"nulls":2,"sum":null,"min":null,"max":null}],"keys":"1"}'),
	('min above max',    '{"version":1,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[{"scale":0,"nulls":0,"sum":"5","min":"4","max":"1"}],"keys":"1-2"}'),
	('decimal exponent', '{"version":1,"count":1,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[{"scale":null,"nulls":0,"sum":"1e5","min":"1e5","max":"1e5"}],"keys":"1"}'),
	('negative zero',    '{"version":1,"count":1,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[{"scale":null,"nulls":0,"sum":"-0","min":"-0","max":"-0"}],"keys":"1"}'),
	('decimal that fits', '{"version":1,"count":1,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[{"scale":null,"nulls":0,"sum":"5.5","min":"5.5","max":"5.5"}],"keys":"1"}'),
	('decimal min > max','{"version":1,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[{"scale":null,"nulls":0,"sum":"NaN","min":"NaN","max":"1"}],"keys":"1-2"}'),
	('escape in string', '{"version":1,"count":0,"first":null,"last":null,"checksum":"0000000000000000","minmax":"exact","measures":[],"keys":"\\u0031"}'),
	('no lineage, ok',   '{"version":1,"count":5,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[],"keys":null}')
) AS cases(name, t);

SELECT try_in('{"version":1,"count":0,"first":null,"last":null,"checksum":"0000000000000000","minmax":"exact","measures":['
              || repeat('{"scale":0,"nulls":0,"sum":null,"min":null,"max":null},', 64)
              || '{"scale":0,"nulls":0,"sum":null,"min":null,"max":null}],"keys":""}') AS too_many_measures;

-- the error message itself, as a client sees it
SELECT '{"version":1,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-01T00:00:00Z","checksum":"0000000000000000","minmax":"exact","measures":[],"keys":"5,3"}'::segroll.segment;
