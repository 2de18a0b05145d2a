/*
 * The dhash type (issue 17): a value's 64-bit hash, as a distinct measure
 * of a segment holds it.  segroll.distinct_hash(column) makes one; passed
 * to segment_agg, retract or row_checksum, it is counted as a distinct
 * measure rather than summed.  Created once, by the install script and the
 * 0.4.0 -> 0.5.0 update.
 */
CREATE TYPE @extschema@.dhash;

CREATE FUNCTION @extschema@.dhash_in(pg_catalog.cstring)
RETURNS @extschema@.dhash
AS 'MODULE_PATHNAME', 'dhash_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.dhash_out(@extschema@.dhash)
RETURNS pg_catalog.cstring
AS 'MODULE_PATHNAME', 'dhash_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.dhash (
	INPUT = @extschema@.dhash_in,
	OUTPUT = @extschema@.dhash_out,
	INTERNALLENGTH = 8,
	PASSEDBYVALUE,
	ALIGNMENT = double,
	STORAGE = plain
);

COMMENT ON TYPE @extschema@.dhash IS
	'a value''s 64-bit hash as a segment''s distinct measure holds it (segroll.distinct_hash)';
COMMENT ON FUNCTION @extschema@.dhash_in(pg_catalog.cstring) IS 'input function of dhash: 16 lower-case hexadecimal digits';
COMMENT ON FUNCTION @extschema@.dhash_out(@extschema@.dhash) IS 'output function of dhash: 16 lower-case hexadecimal digits';
