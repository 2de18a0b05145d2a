/*-------------------------------------------------------------------------
 *
 * segment_agg.c
 *	  Segment-aware aggregates: segment_agg() and segment_agg_nolineage()
 *	  build segments from raw rows; merge() merges segments.
 *
 * All three share one internal transition state (SegState, see
 * segment_state.c), one combine function and one serial form — the stored
 * segment format — so they run under parallel query and partial
 * (partitionwise) aggregation.  The state lives in the aggregate context.
 *
 *-------------------------------------------------------------------------
 */
#include "segroll.h"

#include "utils/lsyscache.h"
#include "utils/timestamp.h"

/* Per-call-site cache of the measure argument types. */
typedef struct MeasureArgs
{
	int			nvalues;
	Oid		   *types;			/* base types */
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
			segnum_check_measure_type(type, i + 1);
			ma->types[i] = getBaseType(type);
		}
		fcinfo->flinfo->fn_extra = ma;
	}
	for (i = 0; i < ma->nvalues; i++)
	{
		if (PG_ARGISNULL(first + i))
			ma->values[i].isnull = true;
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
