-- COPY round trips, text and binary, keep values identical.
SET TimeZone = 'UTC';

CREATE TABLE copy_cells AS
SELECT g % 10 AS k, segroll.segment_agg(g, '2026-11-01'::timestamptz + g * interval '1 minute',
                                        (g * 1.25)::numeric(12,2), CASE WHEN g % 3 = 0 THEN NULL ELSE g END) AS s
FROM generate_series(1, 20000) g GROUP BY 1;
INSERT INTO copy_cells
SELECT 100, segroll.segment_agg_nolineage(g, '2026-11-01', g) FROM generate_series(1, 10) g
UNION ALL SELECT 101, segroll.segment_agg(g, '2026-11-01', CASE WHEN g = 1 THEN 1e60 ELSE 'NaN' END) FROM generate_series(1, 2) g
UNION ALL SELECT 102, segroll.retract(segroll.segment_agg(g, '2026-11-01', g), 1, '2026-11-01', 1) FROM generate_series(1, 3) g;

-- binary (segment_send / segment_recv)
COPY copy_cells TO '/tmp/segroll_regress_copy.bin' (FORMAT binary);
CREATE TABLE copy_back (LIKE copy_cells);
COPY copy_back FROM '/tmp/segroll_regress_copy.bin' (FORMAT binary);
SELECT count(*) AS binary_mismatches FROM (
	(SELECT * FROM copy_cells EXCEPT ALL SELECT * FROM copy_back)
	UNION ALL (SELECT * FROM copy_back EXCEPT ALL SELECT * FROM copy_cells)) d;
-- recv(send(x)) = x, byte for byte
SELECT count(*) AS binary_byte_mismatches
FROM copy_cells a JOIN copy_back b USING (k)
WHERE segroll.segment_send(a.s) <> segroll.segment_send(b.s);

-- text (segment_out / segment_in), under another TimeZone
SET TimeZone = 'Asia/Seoul';
COPY copy_cells TO '/tmp/segroll_regress_copy.txt';
TRUNCATE copy_back;
SET TimeZone = 'America/Los_Angeles';
COPY copy_back FROM '/tmp/segroll_regress_copy.txt';
SELECT count(*) AS text_mismatches FROM (
	(SELECT * FROM copy_cells EXCEPT ALL SELECT * FROM copy_back)
	UNION ALL (SELECT * FROM copy_back EXCEPT ALL SELECT * FROM copy_cells)) d;
SELECT count(*) AS text_sum_mismatches
FROM copy_cells a JOIN copy_back b USING (k)
WHERE segroll.sum(a.s, 1) IS DISTINCT FROM segroll.sum(b.s, 1)
   OR segroll.checksum(a.s) <> segroll.checksum(b.s)
   OR segroll.count(a.s) <> segroll.count(b.s);

SELECT count(*) AS text_value_mismatches FROM copy_cells a JOIN copy_back b USING (k)
WHERE a.s OPERATOR(segroll.<>) b.s;
