/*
 * Segments from raw rows, merging, subtracting and retracting, and the
 * accessors of every stored field.  C functions, re-applied by every update.
 */

/*
 * Building segments from raw rows.  Measures are positional (1-based) and
 * may be smallint, integer, bigint or numeric; sums are exact.  SSPACE tells
 * the planner what a state costs (a few hundred bytes, plus 8 per key), so
 * that hash aggregation is not ruled out by the 8 kB it assumes for an
 * unknown internal state.
 */
CREATE OR REPLACE FUNCTION @extschema@.segment_build_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.timestamptz, VARIADIC pg_catalog."any")
RETURNS pg_catalog.internal AS 'MODULE_PATHNAME', 'segment_build_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION @extschema@.segment_build_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.timestamptz)
RETURNS pg_catalog.internal AS 'MODULE_PATHNAME', 'segment_build_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION @extschema@.segment_build_nolineage_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.timestamptz, VARIADIC pg_catalog."any")
RETURNS pg_catalog.internal AS 'MODULE_PATHNAME', 'segment_build_nolineage_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION @extschema@.segment_build_nolineage_transfn(pg_catalog.internal, pg_catalog.int8, pg_catalog.timestamptz)
RETURNS pg_catalog.internal AS 'MODULE_PATHNAME', 'segment_build_nolineage_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
/*
 * merge()'s state is a segment (held in memory as an expanded object,
 * src/segment_expanded.c), not 'internal': Citus pushes down to its workers
 * only aggregates whose state is a real type and that have a combine
 * function.  One function folds a segment into the state, as the transition
 * and as the combine function; the final function flattens the state.
 * SSPACE: each state has a memory context of its own, 1 kB at least.
 * Executable by PUBLIC: Citus checks that the caller may execute them.
 */
CREATE OR REPLACE FUNCTION @extschema@.segment_merge_state(@extschema@.segment, @extschema@.segment)
RETURNS @extschema@.segment AS 'MODULE_PATHNAME', 'segment_merge_state'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION @extschema@.segment_merge_final(@extschema@.segment)
RETURNS @extschema@.segment AS 'MODULE_PATHNAME', 'segment_merge_final'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION @extschema@.segment_state_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal AS 'MODULE_PATHNAME', 'segment_state_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION @extschema@.segment_state_serialize(pg_catalog.internal)
RETURNS pg_catalog.bytea AS 'MODULE_PATHNAME', 'segment_state_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION @extschema@.segment_state_deserialize(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal AS 'MODULE_PATHNAME', 'segment_state_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE OR REPLACE FUNCTION @extschema@.segment_state_final(pg_catalog.internal)
RETURNS @extschema@.segment AS 'MODULE_PATHNAME', 'segment_state_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE OR REPLACE AGGREGATE @extschema@.segment_agg(pg_catalog.int8, pg_catalog.timestamptz, VARIADIC pg_catalog."any") (
	SFUNC = @extschema@.segment_build_transfn,
	STYPE = pg_catalog.internal,
	SSPACE = 256,
	FINALFUNC = @extschema@.segment_state_final,
	COMBINEFUNC = @extschema@.segment_state_combine,
	SERIALFUNC = @extschema@.segment_state_serialize,
	DESERIALFUNC = @extschema@.segment_state_deserialize,
	PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE @extschema@.segment_agg(pg_catalog.int8, pg_catalog.timestamptz) (
	SFUNC = @extschema@.segment_build_transfn,
	STYPE = pg_catalog.internal,
	SSPACE = 256,
	FINALFUNC = @extschema@.segment_state_final,
	COMBINEFUNC = @extschema@.segment_state_combine,
	SERIALFUNC = @extschema@.segment_state_serialize,
	DESERIALFUNC = @extschema@.segment_state_deserialize,
	PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE @extschema@.segment_agg_nolineage(pg_catalog.int8, pg_catalog.timestamptz, VARIADIC pg_catalog."any") (
	SFUNC = @extschema@.segment_build_nolineage_transfn,
	STYPE = pg_catalog.internal,
	SSPACE = 256,
	FINALFUNC = @extschema@.segment_state_final,
	COMBINEFUNC = @extschema@.segment_state_combine,
	SERIALFUNC = @extschema@.segment_state_serialize,
	DESERIALFUNC = @extschema@.segment_state_deserialize,
	PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE @extschema@.segment_agg_nolineage(pg_catalog.int8, pg_catalog.timestamptz) (
	SFUNC = @extschema@.segment_build_nolineage_transfn,
	STYPE = pg_catalog.internal,
	SSPACE = 256,
	FINALFUNC = @extschema@.segment_state_final,
	COMBINEFUNC = @extschema@.segment_state_combine,
	SERIALFUNC = @extschema@.segment_state_serialize,
	DESERIALFUNC = @extschema@.segment_state_deserialize,
	PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE @extschema@.merge(@extschema@.segment) (
	SFUNC = @extschema@.segment_merge_state,
	STYPE = @extschema@.segment,
	SSPACE = 1024,
	FINALFUNC = @extschema@.segment_merge_final,
	COMBINEFUNC = @extschema@.segment_merge_state,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE @extschema@.segment_agg(pg_catalog.int8, pg_catalog.timestamptz, VARIADIC pg_catalog."any") IS
	'builds a segment with lineage from rows (key, time, measures...)';
COMMENT ON AGGREGATE @extschema@.segment_agg(pg_catalog.int8, pg_catalog.timestamptz) IS
	'builds a count-only segment with lineage from rows (key, time)';
COMMENT ON AGGREGATE @extschema@.segment_agg_nolineage(pg_catalog.int8, pg_catalog.timestamptz, VARIADIC pg_catalog."any") IS
	'builds a segment without lineage from rows (key, time, measures...)';
COMMENT ON AGGREGATE @extschema@.segment_agg_nolineage(pg_catalog.int8, pg_catalog.timestamptz) IS
	'builds a count-only segment without lineage from rows (key, time)';
COMMENT ON AGGREGATE @extschema@.merge(@extschema@.segment) IS
	'merges segments into the segment of the union of their rows';

/* Merging, subtracting and retracting single values */
CREATE OR REPLACE FUNCTION @extschema@.merge(@extschema@.segment, @extschema@.segment)
RETURNS @extschema@.segment AS 'MODULE_PATHNAME', 'segment_merge'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.merge(@extschema@.segment, @extschema@.segment) IS
	'segment of the union of the rows of two disjoint segments';

CREATE OR REPLACE FUNCTION @extschema@.subtract(@extschema@.segment, @extschema@.segment)
RETURNS @extschema@.segment AS 'MODULE_PATHNAME', 'segment_subtract'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.subtract(@extschema@.segment, @extschema@.segment) IS
	'removes the rows of the second segment from the first';

CREATE OR REPLACE FUNCTION @extschema@.retract(@extschema@.segment, pg_catalog.int8, pg_catalog.timestamptz, VARIADIC pg_catalog."any")
RETURNS @extschema@.segment AS 'MODULE_PATHNAME', 'segment_retract'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION @extschema@.retract(@extschema@.segment, pg_catalog.int8, pg_catalog.timestamptz)
RETURNS @extschema@.segment AS 'MODULE_PATHNAME', 'segment_retract'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.retract(@extschema@.segment, pg_catalog.int8, pg_catalog.timestamptz, VARIADIC pg_catalog."any") IS
	'removes one row''s contribution (key, time, measures...) from a segment';
COMMENT ON FUNCTION @extschema@.retract(@extschema@.segment, pg_catalog.int8, pg_catalog.timestamptz) IS
	'removes one row''s contribution (key, time) from a count-only segment';

CREATE OR REPLACE FUNCTION @extschema@.row_checksum(pg_catalog.int8, pg_catalog.timestamptz, VARIADIC pg_catalog."any")
RETURNS pg_catalog.int8 AS 'MODULE_PATHNAME', 'segment_row_checksum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE OR REPLACE FUNCTION @extschema@.row_checksum(pg_catalog.int8, pg_catalog.timestamptz)
RETURNS pg_catalog.int8 AS 'MODULE_PATHNAME', 'segment_row_checksum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.row_checksum(pg_catalog.int8, pg_catalog.timestamptz, VARIADIC pg_catalog."any") IS
	'the contribution of one row to a segment''s checksum';
COMMENT ON FUNCTION @extschema@.row_checksum(pg_catalog.int8, pg_catalog.timestamptz) IS
	'the contribution of one count-only row to a segment''s checksum';

/* Accessors */
CREATE OR REPLACE FUNCTION @extschema@.count(@extschema@.segment)
RETURNS pg_catalog.int8 AS 'MODULE_PATHNAME', 'segment_count'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.count(@extschema@.segment) IS 'number of source rows';

CREATE OR REPLACE FUNCTION @extschema@.count(@extschema@.segment, pg_catalog.int4)
RETURNS pg_catalog.int8 AS 'MODULE_PATHNAME', 'segment_measure_count'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.count(@extschema@.segment, pg_catalog.int4) IS
	'number of non-null values of measure n (1-based)';

CREATE OR REPLACE FUNCTION @extschema@.sum(@extschema@.segment, pg_catalog.int4)
RETURNS pg_catalog.numeric AS 'MODULE_PATHNAME', 'segment_sum'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.sum(@extschema@.segment, pg_catalog.int4) IS
	'exact sum of measure n (1-based); NULL when it has no non-null value';

CREATE OR REPLACE FUNCTION @extschema@.min(@extschema@.segment, pg_catalog.int4)
RETURNS pg_catalog.numeric AS 'MODULE_PATHNAME', 'segment_min'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.min(@extschema@.segment, pg_catalog.int4) IS
	'smallest value of measure n (1-based)';

CREATE OR REPLACE FUNCTION @extschema@.max(@extschema@.segment, pg_catalog.int4)
RETURNS pg_catalog.numeric AS 'MODULE_PATHNAME', 'segment_max'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.max(@extschema@.segment, pg_catalog.int4) IS
	'largest value of measure n (1-based)';

CREATE OR REPLACE FUNCTION @extschema@.avg(@extschema@.segment, pg_catalog.int4)
RETURNS pg_catalog.numeric AS 'MODULE_PATHNAME', 'segment_avg'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.avg(@extschema@.segment, pg_catalog.int4) IS
	'average of measure n (1-based), as PostgreSQL''s avg() computes it';

CREATE OR REPLACE FUNCTION @extschema@.first_time(@extschema@.segment)
RETURNS pg_catalog.timestamptz AS 'MODULE_PATHNAME', 'segment_first_time'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.first_time(@extschema@.segment) IS 'earliest transaction time';

CREATE OR REPLACE FUNCTION @extschema@.last_time(@extschema@.segment)
RETURNS pg_catalog.timestamptz AS 'MODULE_PATHNAME', 'segment_last_time'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.last_time(@extschema@.segment) IS 'latest transaction time';

CREATE OR REPLACE FUNCTION @extschema@.measures(@extschema@.segment)
RETURNS pg_catalog.int4 AS 'MODULE_PATHNAME', 'segment_measures'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.measures(@extschema@.segment) IS 'number of measures';

CREATE OR REPLACE FUNCTION @extschema@.has_lineage(@extschema@.segment)
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segment_has_lineage'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.has_lineage(@extschema@.segment) IS
	'whether the segment holds the keys of its source rows';

CREATE OR REPLACE FUNCTION @extschema@.without_lineage(@extschema@.segment)
RETURNS @extschema@.segment AS 'MODULE_PATHNAME', 'segment_without_lineage'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.without_lineage(@extschema@.segment) IS
	'the segment''s figures without the keys of its rows';

CREATE OR REPLACE FUNCTION @extschema@.keys(@extschema@.segment)
RETURNS SETOF pg_catalog.int8 AS 'MODULE_PATHNAME', 'segment_keys'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 1000;
COMMENT ON FUNCTION @extschema@.keys(@extschema@.segment) IS
	'source keys of the segment, in ascending order';

CREATE OR REPLACE FUNCTION @extschema@.contains(@extschema@.segment, pg_catalog.int8)
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segment_contains'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.contains(@extschema@.segment, pg_catalog.int8) IS
	'whether a source key contributed to the segment';

CREATE OR REPLACE FUNCTION @extschema@.checksum(@extschema@.segment)
RETURNS pg_catalog.int8 AS 'MODULE_PATHNAME', 'segment_checksum'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.checksum(@extschema@.segment) IS
	'order-independent checksum over (key, time, measures) of the source rows';

CREATE OR REPLACE FUNCTION @extschema@.minmax_known(@extschema@.segment)
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segment_minmax_known'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.minmax_known(@extschema@.segment) IS
	'false when a retraction made min, max, first or last time unknown';

CREATE OR REPLACE FUNCTION @extschema@.stored_size(@extschema@.segment)
RETURNS pg_catalog.int8 AS 'MODULE_PATHNAME', 'segment_stored_size'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.stored_size(@extschema@.segment) IS
	'bytes the value occupies, header included';

CREATE OR REPLACE FUNCTION @extschema@.raw_size(@extschema@.segment)
RETURNS pg_catalog.int8 AS 'MODULE_PATHNAME', 'segment_raw_size'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.raw_size(@extschema@.segment) IS
	'bytes the value would occupy with its lineage uncompressed';

CREATE OR REPLACE FUNCTION @extschema@.measure_type_ok(pg_catalog.regtype)
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segment_measure_type_ok'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.measure_type_ok(pg_catalog.regtype) IS
	'whether a column of this type can be a measure of a segment (smallint, integer, bigint, numeric, or a domain over one)';

/* The keys of a segment in batches, for trace (one index scan per batch). */
CREATE OR REPLACE FUNCTION @extschema@.key_batches(@extschema@.segment, pg_catalog.int4)
RETURNS SETOF pg_catalog.int8[] AS 'MODULE_PATHNAME', 'segment_key_batches'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 10;
COMMENT ON FUNCTION @extschema@.key_batches(@extschema@.segment, pg_catalog.int4) IS
	'the source keys of a segment in ascending order, as arrays of at most the given number of keys';

/*
 * The key a source row has in lineage (src/segment_agg.c): a bigint,
 * integer or smallint key itself; a key of another built-in type (text,
 * varchar, uuid, numeric, ...) its 64-bit extended hash with a fixed seed,
 * reduced to 63 bits.
 */
CREATE OR REPLACE FUNCTION @extschema@.key_hash(key anyelement)
RETURNS pg_catalog.int8 AS 'MODULE_PATHNAME', 'segroll_key_hash'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.key_hash(anyelement) IS
	'the key as a segment''s lineage holds it: an integer key itself, a key of another built-in type its 63-bit hash';

/*
 * An error unless a key column of type t with the given collation can be
 * held in lineage; true for an integer key (held as itself), false for a
 * hashed one.
 */
CREATE OR REPLACE FUNCTION @extschema@._check_key_type(t pg_catalog.regtype, collation pg_catalog.oid)
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segroll_check_key_type'
LANGUAGE C STABLE STRICT PARALLEL SAFE;
