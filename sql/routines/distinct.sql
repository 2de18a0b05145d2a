/*
 * Distinct measures of a segment (issue 17, src/segment_distinct.c): the
 * hash that marks an argument of segment_agg, retract or row_checksum as a
 * distinct measure, and the accessors.  C functions, re-applied by every
 * update.
 */
CREATE OR REPLACE FUNCTION @extschema@.distinct_hash(value anyelement)
RETURNS @extschema@.dhash AS 'MODULE_PATHNAME', 'segroll_distinct_hash'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.distinct_hash(anyelement) IS
	'the value as a distinct measure: pass it to segment_agg, retract or row_checksum to count distinct values (its type''s extended hash, fixed seed)';

CREATE OR REPLACE FUNCTION @extschema@.distinct(@extschema@.segment, pg_catalog.int4)
RETURNS pg_catalog.int8 AS 'MODULE_PATHNAME', 'segment_distinct'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.distinct(@extschema@.segment, pg_catalog.int4) IS
	'number of distinct values of distinct measure n (1-based): exact up to 256 values, above a HyperLogLog estimate with a relative standard error of 0.81 %';

CREATE OR REPLACE FUNCTION @extschema@.distinct_measures(@extschema@.segment)
RETURNS pg_catalog.int4 AS 'MODULE_PATHNAME', 'segment_distinct_measures'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.distinct_measures(@extschema@.segment) IS 'number of distinct measures';

CREATE OR REPLACE FUNCTION @extschema@.distinct_known(@extschema@.segment)
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segment_distinct_known'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.distinct_known(@extschema@.segment) IS
	'false when a retraction from a sketch made the distinct counts unknown until the segment is rebuilt';

CREATE OR REPLACE FUNCTION @extschema@.distinct_exact(@extschema@.segment, pg_catalog.int4)
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segment_distinct_exact'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.distinct_exact(@extschema@.segment, pg_catalog.int4) IS
	'whether distinct measure n (1-based) holds its exact set of values (at most 256) rather than a sketch';

/*
 * An error unless a column of type t with the given collation (0 for a
 * type that has none) can be a distinct measure.
 */
CREATE OR REPLACE FUNCTION @extschema@._check_distinct_type(t pg_catalog.regtype, collation pg_catalog.oid)
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segroll_check_distinct_type'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
