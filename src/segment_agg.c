/*-------------------------------------------------------------------------
 *
 * segment_agg.c
 *	  Segment-aware aggregates: segment_agg() and segment_agg_nolineage()
 *	  build segments from raw rows; merge() merges segments.
 *
 * key_hash() gives the key a row has in lineage (a hash for keys that are
 * not integers).
 *
 * All three share one internal transition state (SegState, see
 * segment_state.c), one combine function and one serial form — the stored
 * segment format — so they run under parallel query and partial
 * (partitionwise) aggregation.  The state lives in the aggregate context.
 *
 *-------------------------------------------------------------------------
 */
#include "segroll.h"

#include "access/transam.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"
#include "utils/timestamp.h"

/* Per-call-site cache of the measure argument types. */
typedef struct MeasureArgs
{
	int			nvalues;
	Oid		   *types;			/* base types; InvalidOid for a dhash */
	SegValue   *values;			/* scratch, one per measure */
} MeasureArgs;

/*
 * Converts the measure arguments from position 'first' on.  Argument types
 * are resolved once per call site and cached in fn_extra.
 */
SegValue *
segroll_measure_args(FunctionCallInfo fcinfo, int first, int *nvalues)
{
	MeasureArgs *ma = fcinfo->flinfo->fn_extra;
	int			i;

	if (ma == NULL)
	{
		int			n = PG_NARGS() - first;

		if (n > SEG_MAX_MEASURES)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("a segment can have at most %d measures", SEG_MAX_MEASURES)));
		if (n > 0 && get_fn_expr_variadic(fcinfo->flinfo))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("measures cannot be passed as a VARIADIC array"),
					 errhint("Pass each measure as a separate argument.")));
		ma = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(MeasureArgs));
		ma->nvalues = n;
		if (n > 0)
		{
			ma->types = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(Oid) * n);
			ma->values = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(SegValue) * n);
		}
		for (i = 0; i < n; i++)
		{
			Oid			type = get_fn_expr_argtype(fcinfo->flinfo, first + i);

			if (!OidIsValid(type))
				ereport(ERROR,
						(errcode(ERRCODE_INDETERMINATE_DATATYPE),
						 errmsg("could not determine the type of segment measure %d", i + 1)));
			if (segdistinct_is_dhash(type, fcinfo->flinfo->fn_oid))
			{
				ma->types[i] = InvalidOid;
				continue;
			}
			segnum_check_measure_type(type, i + 1);
			ma->types[i] = getBaseType(type);
		}
		fcinfo->flinfo->fn_extra = ma;
	}
	for (i = 0; i < ma->nvalues; i++)
	{
		ma->values[i].distinct = !OidIsValid(ma->types[i]);
		if (PG_ARGISNULL(first + i))
			ma->values[i].isnull = true;
		else if (ma->values[i].distinct)
		{
			ma->values[i].isnull = false;
			ma->values[i].dhash = (uint64) PG_GETARG_INT64(first + i);
		}
		else
			segnum_value_from_datum(PG_GETARG_DATUM(first + i), ma->types[i], &ma->values[i]);
	}
	*nvalues = ma->nvalues;
	return ma->values;
}

/* Key and time of a row; both are required. */
void
segroll_key_time_args(FunctionCallInfo fcinfo, int first, int64 *key, int64 *ts)
{
	if (PG_ARGISNULL(first))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("segment source key must not be null")));
	if (PG_ARGISNULL(first + 1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("segment transaction time must not be null")));
	*key = PG_GETARG_INT64(first);
	*ts = PG_GETARG_TIMESTAMPTZ(first + 1);
}

/*
 * The lineage key of a source row (issue 14).  A segment's lineage holds
 * 64-bit integer keys.  A bigint, integer or smallint key is held as
 * itself; a key of any other type as its hash: the type's 64-bit extended
 * hash function (support function 2 of its default hash operator class,
 * the stable hash that hash partitioning uses) with a fixed seed, so the
 * same value has the same hash in every session and after a restore,
 * reduced to 63 bits, in [-2^62, 2^62), so that a lineage block's
 * arithmetic on keys (_block_sql, spans up to 2^62) cannot overflow.  Two
 * different keys of one cell with the same hash are refused by the
 * segment's duplicate check (n keys: a chance of about n^2 / 2^64).
 *
 * key_hash runs as whoever calls it (trace, locate), so it hashes only
 * types whose hash function is the system's: built-in types and domains
 * over them (as _builtin_base in trace.c defines them), and no record,
 * whose hash calls its columns' hash functions.  A collatable key must
 * have a deterministic collation: under a non-deterministic one, values
 * that are equal may differ in their bytes, and the unique index and the
 * hash would disagree about which keys are the same.
 */
#define SEGROLL_KEY_HASH_SEED	UINT64CONST(0x5365675265C1A5E5)

typedef struct KeyHashCache
{
	Oid			type;			/* argument type, as called */
	Oid			collation;
	bool		identity;		/* an integer key: held as itself */
	Oid			base;
	FmgrInfo	hash;			/* the extended hash function */
} KeyHashCache;

/*
 * Checks that keys of type 'type' under 'collation' can be held in
 * lineage: an error otherwise.  Sets *identity (an integer type) and, for
 * other types, the extended hash function's OID in *hash_proc.
 */
static void
key_type_check(Oid type, Oid collation, bool *identity, Oid *base_out, Oid *hash_proc)
{
	Oid			base = getBaseType(type);
	TypeCacheEntry *tc;

	*base_out = base;
	*identity = (base == INT8OID || base == INT4OID || base == INT2OID);
	*hash_proc = InvalidOid;
	if (*identity)
		return;
	if (base >= FirstNormalObjectId)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a key of type %s cannot be held in lineage", format_type_be(type)),
				 errdetail("Only built-in types, and domains over them, can be keys: hashing a value of another type runs code its owner wrote, as whoever traces."),
				 errhint("Use a text, varchar, uuid, numeric, bigint or integer key column.")));
	if (base == RECORDOID || type_is_rowtype(base) ||
		get_element_type(base) == RECORDOID)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("a key of type %s cannot be held in lineage", format_type_be(type)),
				 errdetail("Composite keys are not supported.")));
	tc = lookup_type_cache(base, TYPECACHE_HASH_EXTENDED_PROC);
	if (!OidIsValid(tc->hash_extended_proc))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("a key of type %s cannot be held in lineage", format_type_be(type)),
				 errdetail("The type has no extended hash function (a default hash operator class with support function 2).")));
	if (type_is_collatable(base))
	{
		if (!OidIsValid(collation))
			ereport(ERROR,
					(errcode(ERRCODE_INDETERMINATE_COLLATION),
					 errmsg("could not determine which collation to use for the key hash")));
		if (!get_collation_isdeterministic(collation))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("a key with the non-deterministic collation \"%s\" cannot be held in lineage",
							get_collation_name(collation)),
					 errdetail("Under a non-deterministic collation equal keys may differ in their bytes, and so in their hash."),
					 errhint("Give the key column a deterministic collation, such as \"C\" or \"default\".")));
	}
	*hash_proc = tc->hash_extended_proc;
}

/*
 * segroll.key_hash(anyelement) RETURNS int8: the key as lineage holds it
 * (see above).  STRICT, IMMUTABLE: an expression index on it finds a
 * source row by its lineage key.
 */
PG_FUNCTION_INFO_V1(segroll_key_hash);
Datum
segroll_key_hash(PG_FUNCTION_ARGS)
{
	KeyHashCache *c = fcinfo->flinfo->fn_extra;
	Oid			type = get_fn_expr_argtype(fcinfo->flinfo, 0);
	Oid			collation = PG_GET_COLLATION();
	Datum		value = PG_GETARG_DATUM(0);
	uint64		h;

	if (!OidIsValid(type))
		ereport(ERROR,
				(errcode(ERRCODE_INDETERMINATE_DATATYPE),
				 errmsg("could not determine the type of the key")));
	if (c == NULL || c->type != type || c->collation != collation)
	{
		Oid			proc;

		if (c == NULL)
			c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(KeyHashCache));
		c->type = InvalidOid;
		key_type_check(type, collation, &c->identity, &c->base, &proc);
		if (!c->identity)
			fmgr_info_cxt(proc, &c->hash, fcinfo->flinfo->fn_mcxt);
		c->type = type;
		c->collation = collation;
		fcinfo->flinfo->fn_extra = c;
	}
	if (c->identity)
	{
		switch (c->base)
		{
			case INT2OID:
				PG_RETURN_INT64((int64) DatumGetInt16(value));
			case INT4OID:
				PG_RETURN_INT64((int64) DatumGetInt32(value));
			default:
				PG_RETURN_INT64(DatumGetInt64(value));
		}
	}
	h = DatumGetUInt64(FunctionCall2Coll(&c->hash, collation, value, UInt64GetDatum(SEGROLL_KEY_HASH_SEED)));
	/* 63 bits, in [-2^62, 2^62): block arithmetic stays within int8 */
	PG_RETURN_INT64((int64) (h >> 1) - (INT64CONST(1) << 62));
}

/*
 * segroll._check_key_type(t regtype, collation oid): an error unless keys
 * of type t (a column's type) under the given collation (the column's;
 * 0 for a type that has none) can be held in lineage; true when they are
 * held as themselves (integers), false when hashed.
 */
PG_FUNCTION_INFO_V1(segroll_check_key_type);
Datum
segroll_check_key_type(PG_FUNCTION_ARGS)
{
	bool		identity;
	Oid			base;
	Oid			proc;

	key_type_check(PG_GETARG_OID(0), PG_GETARG_OID(1), &identity, &base, &proc);
	PG_RETURN_BOOL(identity);
}

static MemoryContext
agg_context(FunctionCallInfo fcinfo, const char *name)
{
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "%s called in non-aggregate context", name);
	return aggcxt;
}

static Datum
build_transfn(FunctionCallInfo fcinfo, bool lineage)
{
	MemoryContext aggcxt = agg_context(fcinfo, "segment_agg");
	SegState   *st = PG_ARGISNULL(0) ? NULL : (SegState *) PG_GETARG_POINTER(0);
	int64		key,
				ts;
	int			nvalues;
	SegValue   *values;

	segroll_key_time_args(fcinfo, 1, &key, &ts);
	values = segroll_measure_args(fcinfo, 3, &nvalues);
	if (st == NULL)
		st = segstate_create(aggcxt, lineage);
	segstate_add_row(st, key, ts, nvalues, values);
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(segment_build_transfn);
Datum
segment_build_transfn(PG_FUNCTION_ARGS)
{
	return build_transfn(fcinfo, true);
}

PG_FUNCTION_INFO_V1(segment_build_nolineage_transfn);
Datum
segment_build_nolineage_transfn(PG_FUNCTION_ARGS)
{
	return build_transfn(fcinfo, false);
}

/* NULL segments are skipped, as sum() skips NULLs. */
PG_FUNCTION_INFO_V1(segment_merge_transfn);
Datum
segment_merge_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = agg_context(fcinfo, "merge");
	SegState   *st = PG_ARGISNULL(0) ? NULL : (SegState *) PG_GETARG_POINTER(0);

	if (PG_ARGISNULL(1))
	{
		if (st == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(st);
	}
	if (st == NULL)
		st = segstate_create(aggcxt, true);
	segstate_add_segment(st, PG_GETARG_SEGMENT_PP(1));
	PG_RETURN_POINTER(st);
}

PG_FUNCTION_INFO_V1(segment_state_combine);
Datum
segment_state_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = agg_context(fcinfo, "segment_state_combine");
	SegState   *s1 = PG_ARGISNULL(0) ? NULL : (SegState *) PG_GETARG_POINTER(0);
	SegState   *s2 = PG_ARGISNULL(1) ? NULL : (SegState *) PG_GETARG_POINTER(1);

	if (s2 == NULL)
	{
		if (s1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s1);
	}
	if (s1 == NULL)
		s1 = segstate_create(aggcxt, s2->lineage);
	segstate_combine(s1, s2);
	PG_RETURN_POINTER(s1);
}

PG_FUNCTION_INFO_V1(segment_state_serialize);
Datum
segment_state_serialize(PG_FUNCTION_ARGS)
{
	SegState   *st = (SegState *) PG_GETARG_POINTER(0);

	(void) agg_context(fcinfo, "segment_state_serialize");
	PG_RETURN_BYTEA_P((bytea *) segstate_encode(st));
}

PG_FUNCTION_INFO_V1(segment_state_deserialize);
Datum
segment_state_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = agg_context(fcinfo, "segment_state_deserialize");
	Segment    *seg = (Segment *) PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(0));

	PG_RETURN_POINTER(segstate_from_segment(aggcxt, seg, SEG_SOURCE_BINARY));
}

PG_FUNCTION_INFO_V1(segment_state_final);
Datum
segment_state_final(PG_FUNCTION_ARGS)
{
	SegState   *st;

	(void) agg_context(fcinfo, "segment_state_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (SegState *) PG_GETARG_POINTER(0);
	PG_RETURN_POINTER(segstate_encode(st));
}
