/*
 * The segment type: text and binary I/O, equality, ordering and hashing.
 * Created once, by the install script; an update that changes the type
 * says so in its changes file (sql/updates/).
 */

/*
 * The segment type.  Values are already compressed (zstd lineage, varint
 * measures), so TOAST compression is not tried again: STORAGE = external.
 */
CREATE TYPE @extschema@.segment;

CREATE FUNCTION @extschema@.segment_in(pg_catalog.cstring)
RETURNS @extschema@.segment
AS 'MODULE_PATHNAME', 'segment_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.segment_out(@extschema@.segment)
RETURNS pg_catalog.cstring
AS 'MODULE_PATHNAME', 'segment_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.segment_recv(pg_catalog.internal)
RETURNS @extschema@.segment
AS 'MODULE_PATHNAME', 'segment_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION @extschema@.segment_send(@extschema@.segment)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'segment_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.segment (
	INPUT = @extschema@.segment_in,
	OUTPUT = @extschema@.segment_out,
	RECEIVE = @extschema@.segment_recv,
	SEND = @extschema@.segment_send,
	INTERNALLENGTH = VARIABLE,
	ALIGNMENT = int4,
	STORAGE = external
);

COMMENT ON TYPE @extschema@.segment IS
	'rolled-up transactions of one cell: count, exact sums, min/max, time range, lineage keys and a mergeable checksum';

/* Equality, ordering and hashing: representational, over the canonical
 * (uncompressed) form, so that EXCEPT ALL, DISTINCT and GROUP BY work. */
CREATE FUNCTION @extschema@.segment_eq(@extschema@.segment, @extschema@.segment)
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segment_eq'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_ne(@extschema@.segment, @extschema@.segment)
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segment_ne'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_lt(@extschema@.segment, @extschema@.segment)
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segment_lt'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_le(@extschema@.segment, @extschema@.segment)
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segment_le'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_gt(@extschema@.segment, @extschema@.segment)
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segment_gt'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_ge(@extschema@.segment, @extschema@.segment)
RETURNS pg_catalog.bool AS 'MODULE_PATHNAME', 'segment_ge'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_cmp(@extschema@.segment, @extschema@.segment)
RETURNS pg_catalog.int4 AS 'MODULE_PATHNAME', 'segment_cmp'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.segment_hash(@extschema@.segment)
RETURNS pg_catalog.int4 AS 'MODULE_PATHNAME', 'segment_hash'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE OPERATOR @extschema@.= (
	LEFTARG = @extschema@.segment, RIGHTARG = @extschema@.segment,
	PROCEDURE = @extschema@.segment_eq,
	COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
	RESTRICT = pg_catalog.eqsel, JOIN = pg_catalog.eqjoinsel,
	HASHES, MERGES
);
CREATE OPERATOR @extschema@.<> (
	LEFTARG = @extschema@.segment, RIGHTARG = @extschema@.segment,
	PROCEDURE = @extschema@.segment_ne,
	COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
	RESTRICT = pg_catalog.neqsel, JOIN = pg_catalog.neqjoinsel
);
CREATE OPERATOR @extschema@.< (
	LEFTARG = @extschema@.segment, RIGHTARG = @extschema@.segment,
	PROCEDURE = @extschema@.segment_lt,
	COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=),
	RESTRICT = pg_catalog.scalarltsel, JOIN = pg_catalog.scalarltjoinsel
);
CREATE OPERATOR @extschema@.<= (
	LEFTARG = @extschema@.segment, RIGHTARG = @extschema@.segment,
	PROCEDURE = @extschema@.segment_le,
	COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>),
	RESTRICT = pg_catalog.scalarlesel, JOIN = pg_catalog.scalarlejoinsel
);
CREATE OPERATOR @extschema@.> (
	LEFTARG = @extschema@.segment, RIGHTARG = @extschema@.segment,
	PROCEDURE = @extschema@.segment_gt,
	COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=),
	RESTRICT = pg_catalog.scalargtsel, JOIN = pg_catalog.scalargtjoinsel
);
CREATE OPERATOR @extschema@.>= (
	LEFTARG = @extschema@.segment, RIGHTARG = @extschema@.segment,
	PROCEDURE = @extschema@.segment_ge,
	COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<),
	RESTRICT = pg_catalog.scalargesel, JOIN = pg_catalog.scalargejoinsel
);

CREATE OPERATOR CLASS @extschema@.segment_ops
DEFAULT FOR TYPE @extschema@.segment USING btree AS
	OPERATOR 1 @extschema@.<,
	OPERATOR 2 @extschema@.<=,
	OPERATOR 3 @extschema@.=,
	OPERATOR 4 @extschema@.>=,
	OPERATOR 5 @extschema@.>,
	FUNCTION 1 @extschema@.segment_cmp(@extschema@.segment, @extschema@.segment);

CREATE OPERATOR CLASS @extschema@.segment_hash_ops
DEFAULT FOR TYPE @extschema@.segment USING hash AS
	OPERATOR 1 @extschema@.=,
	FUNCTION 1 @extschema@.segment_hash(@extschema@.segment);
