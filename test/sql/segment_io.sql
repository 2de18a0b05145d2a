-- Text form of segments: readable, exact, independent of the session.
SET TimeZone = 'UTC';

CREATE TABLE io_src (id bigint, ts timestamptz, amount numeric(12,2), qty int);
INSERT INTO io_src VALUES
	(101, '2026-11-01 09:00:00+09', 10.50, 1),
	(102, '2026-11-01 09:30:00.25+09', 5.25, 2),
	(103, '2026-11-01 10:00:00+09', NULL, 3),
	(205, '2026-11-02 23:59:59.999999+09', -1.00, NULL);

SELECT segroll.segment_agg(id, ts, amount, qty) FROM io_src;
SELECT segroll.segment_agg_nolineage(id, ts, amount, qty) FROM io_src;
SELECT segroll.segment_agg(id, ts) FROM io_src;

-- the text does not depend on TimeZone or DateStyle
CREATE TABLE io_seg AS SELECT segroll.segment_agg(id, ts, amount, qty) AS s FROM io_src;
SET TimeZone = 'Asia/Seoul';
SET DateStyle = 'German, DMY';
SELECT s FROM io_seg;
SET TimeZone = 'America/Los_Angeles';
SELECT s::text = (SELECT s::text FROM io_seg) AS same_text FROM io_seg;
RESET DateStyle;
SET TimeZone = 'UTC';

-- round trips through text are exact
SELECT s::text::segroll.segment OPERATOR(segroll.=) s AS text_round_trip FROM io_seg;

-- a value typed by hand
SELECT '{"version":1,"count":2,"first":"2026-01-01T00:00:00Z","last":"2026-01-02T00:00:00.500000Z","checksum":"00000000000000ff","minmax":"exact","measures":[{"scale":1,"nulls":0,"sum":"3.0","min":"1.0","max":"2.0"}],"keys":"7,9"}'::segroll.segment;
-- whitespace between tokens is allowed
SELECT segroll.count(' { "version" : 1 , "count" : 0 , "first" : null , "last" : null , "checksum" : "0000000000000000" , "minmax" : "exact" , "measures" : [ ] , "keys" : "" } '::segroll.segment);

-- empty, stale, decimal and extreme values
SELECT segroll.subtract(s, s) FROM io_seg;
SELECT segroll.retract(s, 101, '2026-11-01 09:00:00+09', 10.50, 1) FROM io_seg;
SELECT segroll.segment_agg(g, '2026-01-01', CASE g WHEN 1 THEN 1e50 WHEN 2 THEN 'NaN' ELSE -0.5 END)
FROM generate_series(1, 3) g;
SELECT segroll.segment_agg(k, t)
FROM (VALUES (-9223372036854775808, '-infinity'::timestamptz),
             (9223372036854775807, 'infinity'::timestamptz),
             (0, '0044-03-15 12:00:00 BC'::timestamptz)) v(k, t);
SELECT x::text::segroll.segment OPERATOR(segroll.=) x AS extremes_round_trip
FROM (SELECT segroll.segment_agg(k, t) AS x
      FROM (VALUES (-9223372036854775808, '-infinity'::timestamptz),
                   (9223372036854775807, 'infinity'::timestamptz),
                   (0, '0044-03-15 12:00:00 BC'::timestamptz)) v(k, t)) y;

-- long contiguous lineage is compressed, and its text collapses to a range
SELECT segroll.count(s), segroll.stored_size(s) < 100 AS compressed,
       segroll.raw_size(s) AS raw_bytes, s::text LIKE '%"keys":"1-100000"}' AS one_range
FROM (SELECT segroll.segment_agg(g, '2026-01-01') s FROM generate_series(1, 100000) g) x;
SELECT s::text::segroll.segment OPERATOR(segroll.=) s AS compressed_round_trip
FROM (SELECT segroll.segment_agg(g * 3, '2026-01-01', g) s FROM generate_series(1, 50000) g) x;

-- accessors
SELECT segroll.count(s), segroll.measures(s), segroll.has_lineage(s),
       segroll.first_time(s), segroll.last_time(s), segroll.minmax_known(s),
       segroll.contains(s, 102) AS has_102, segroll.contains(s, 104) AS has_104,
       segroll.contains(s, 1) AS has_1, segroll.contains(s, 999) AS has_999
FROM io_seg;
SELECT segroll.keys(s) FROM io_seg;
SELECT segroll.sum(s, 1), segroll.min(s, 1), segroll.max(s, 1), segroll.avg(s, 1), segroll.count(s, 1),
       segroll.sum(s, 2), segroll.min(s, 2), segroll.max(s, 2), segroll.avg(s, 2), segroll.count(s, 2)
FROM io_seg;

-- no binary-coercible cast lets a user forge a value
SELECT '\x0101'::bytea::segroll.segment;
SELECT count(*) AS casts_to_segment FROM pg_cast WHERE casttarget = 'segroll.segment'::regtype;

-- the type is stored without a second compression attempt
SELECT typstorage FROM pg_type WHERE oid = 'segroll.segment'::regtype;
