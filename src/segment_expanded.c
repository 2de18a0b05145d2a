/*-------------------------------------------------------------------------
 *
 * segment_expanded.c
 *	  The segment as an expanded object: the transition state of merge(),
 *	  a real SQL type (segment) that Citus can push down to its workers.
 *
 * Citus runs a custom aggregate on the workers only when the aggregate has
 * a combine function and a state type that is not a pseudo-type (Citus
 * issue #3916); the other aggregates' state is 'internal'.  merge()'s
 * state is therefore a segment.  A flat segment as state would mean
 * decoding and re-encoding the whole value, lineage included, for every
 * input: quadratic.  So the state is held as a PostgreSQL expanded object
 * (utils/expandeddatum.h) that wraps the in-memory SegState of
 * segment_state.c:
 *
 *	- nodeAgg (and Citus' worker_partial_agg, which copies its logic) keeps
 *	  a read-write expanded transition value without copying it when the
 *	  object's context is a child of the aggregate context (one context
 *	  holds all the states of an aggregate context: see segx_create);
 *	- the transition and combine function fold their input into that state
 *	  in place and return the same read-write pointer;
 *	- the object is flattened into the stored format only when a flat
 *	  value is needed: the final function, a partial state shipped by Citus
 *	  (the type's output function) or sent to a parallel leader (the tuple
 *	  is formed).  The encoding is cached until the state changes again.
 *
 * The arithmetic and the duplicate-key check are segment_state.c's: the
 * combine function appends the keys of both states and the encoding sorts
 * them, where a key counted twice is an error, as with the internal state.
 *
 *-------------------------------------------------------------------------
 */
#include "segroll.h"

#include "utils/datum.h"
#include "utils/expandeddatum.h"
#include "utils/memutils.h"

/* A segment being merged: an expanded object around a SegState. */
typedef struct SegExpanded
{
	ExpandedObjectHeader hdr;
	SegState   *st;				/* lives in hdr.eoh_context, which is
								 * shared with the other states */
	Segment    *flat;			/* its encoding, NULL until asked for or
								 * after a change; in hdr.eoh_context */
} SegExpanded;

static Size segx_get_flat_size(ExpandedObjectHeader *eohptr);
static void segx_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size);

static const ExpandedObjectMethods segx_methods = {
	segx_get_flat_size,
	segx_flatten_into
};

/* The encoding of the state, computed once per change. */
static Segment *
segx_flat(SegExpanded *x)
{
	if (x->flat == NULL)
	{
		/* encoded here, kept there: the encoder's scratch is not kept */
		Segment    *flat = segstate_encode(x->st);

		x->flat = MemoryContextAlloc(x->hdr.eoh_context, VARSIZE(flat));
		memcpy(x->flat, flat, VARSIZE(flat));
		pfree(flat);
	}
	return x->flat;
}

static Size
segx_get_flat_size(ExpandedObjectHeader *eohptr)
{
	SegExpanded *x = (SegExpanded *) eohptr;

	Assert(eohptr->eoh_methods == &segx_methods);
	return VARSIZE(segx_flat(x));
}

static void
segx_flatten_into(ExpandedObjectHeader *eohptr, void *result, Size allocated_size)
{
	SegExpanded *x = (SegExpanded *) eohptr;
	Segment    *flat = segx_flat(x);

	Assert(eohptr->eoh_methods == &segx_methods);
	if (allocated_size != VARSIZE(flat))
		elog(ERROR, "segment flattened into %zu bytes, %zu expected",
			 (size_t) allocated_size, (size_t) VARSIZE(flat));
	memcpy(result, flat, allocated_size);
}

/* The SegExpanded a datum points to if it is one of ours, else NULL. */
static SegExpanded *
segx_of(Datum d)
{
	if (VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(d)))
	{
		ExpandedObjectHeader *eoh = DatumGetEOHP(d);

		if (eoh->eoh_methods == &segx_methods)
			return (SegExpanded *) eoh;
	}
	return NULL;
}

/* the name of the context that holds the states (a constant, as required) */
#define SEGX_CONTEXT_NAME "segroll merge states"

/*
 * An empty state, in the context that holds every merge state of the
 * aggregate context 'aggcxt': a child of it, created by the first state
 * and found again (by its name) by the next ones.
 *
 * Not a context per state, as expanded arrays have: hash aggregation sums
 * the memory of the aggregate context with its children's each time it
 * adds a group, so a context per group made merge() quadratic in the
 * number of groups (48 000 groups: 0.8 s against 0.1 s).  A shared
 * context satisfies nodeAgg just as well: it keeps a read-write expanded
 * value whose context is a child of the aggregate context, and it deletes
 * a state only when the transition function returns another pointer than
 * the state it was given, which segment_merge_state never does for a
 * state of this context.  The states go when the aggregate context is
 * reset (the next group of a sorted aggregation, a new batch) or deleted.
 */
static SegExpanded *
segx_create(MemoryContext aggcxt, bool lineage)
{
	MemoryContext cxt;
	SegExpanded *x;

	for (cxt = aggcxt->firstchild; cxt != NULL; cxt = cxt->nextchild)
	{
		if (strcmp(cxt->name, SEGX_CONTEXT_NAME) == 0)
			break;
	}
	if (cxt == NULL)
		cxt = AllocSetContextCreate(aggcxt, SEGX_CONTEXT_NAME, ALLOCSET_DEFAULT_SIZES);
	x = MemoryContextAllocZero(cxt, sizeof(SegExpanded));

	EOH_init_header(&x->hdr, &segx_methods, cxt);
	x->st = segstate_create(cxt, lineage);
	return x;
}

/* The state changed: its cached encoding is stale. */
static void
segx_changed(SegExpanded *x)
{
	if (x->flat != NULL)
	{
		pfree(x->flat);
		x->flat = NULL;
	}
}

/*
 * Folds a segment value (flat, or expanded: another state, read only) into
 * x.  A stored value is validated as one read from disk.
 */
static void
segx_add(SegExpanded *x, Datum value)
{
	SegExpanded *other = segx_of(value);

	if (other != NULL && other != x)
		segstate_combine(x->st, other->st);
	else
		segstate_add_segment(x->st, DatumGetSegmentPP(value));
	segx_changed(x);
}

/*
 * The state argument (argument 0) of a transition or combine function, to
 * be changed in place: itself when it is a read-write expanded segment of
 * this aggregate (its context a child of the aggregate context), else a
 * new expanded state, empty for a NULL state, holding a copy of any other
 * (a flat segment, or an expanded one that belongs to someone else).
 */
static SegExpanded *
segx_state_arg(FunctionCallInfo fcinfo, MemoryContext aggcxt, bool lineage)
{
	SegExpanded *x;
	Datum		state;

	if (PG_ARGISNULL(0))
		return segx_create(aggcxt, lineage);
	state = PG_GETARG_DATUM(0);
	x = segx_of(state);
	if (x != NULL &&
		VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(state)) &&
		MemoryContextGetParent(x->hdr.eoh_context) == aggcxt)
		return x;
	x = segx_create(aggcxt, lineage);
	segx_add(x, state);
	return x;
}

/*
 * segroll.segment_merge_state(state segment, value segment) RETURNS segment:
 * merge()'s transition function and its combine function (both fold one
 * segment into the state).  Not strict: a NULL value is skipped, as sum()
 * skips NULLs, and a NULL state starts empty.  The state is changed in
 * place when it is a read-write expanded segment of this aggregate (its
 * context a child of the aggregate context); any other state (a flat
 * segment, or an expanded one that belongs to someone else) is copied
 * into a new expanded state first.
 */
PG_FUNCTION_INFO_V1(segment_merge_state);
Datum
segment_merge_state(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	SegExpanded *x;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("segment_merge_state can only be called by the aggregate merge()"),
				 errhint("To merge two segments, call segroll.merge(a, b).")));
	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	x = segx_state_arg(fcinfo, aggcxt, true);
	segx_add(x, PG_GETARG_DATUM(1));
	PG_RETURN_DATUM(EOHPGetRWDatum(&x->hdr));
}

/*
 * The row transition function of segment_agg() and segment_agg_nolineage()
 * with a segment as state (issue 15): folds the row (key, time, measures
 * from argument 3 on) into the state in place, as segment_merge_state
 * folds a segment; their combine function is segment_merge_state, their
 * final function segment_merge_final.  A state that is not a read-write
 * expanded segment of this aggregate is copied into a new one first.
 */
static Datum
build_state(FunctionCallInfo fcinfo, bool lineage)
{
	MemoryContext aggcxt;
	SegExpanded *x;
	int64		key,
				ts;
	int			nvalues;
	SegValue   *values;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("segment_build_state can only be called by the aggregate segment_agg()")));
	segroll_key_time_args(fcinfo, 1, &key, &ts);
	values = segroll_measure_args(fcinfo, 3, &nvalues);
	x = segx_state_arg(fcinfo, aggcxt, lineage);
	segstate_add_row(x->st, key, ts, nvalues, values);
	segx_changed(x);
	PG_RETURN_DATUM(EOHPGetRWDatum(&x->hdr));
}

/*
 * segroll.segment_build_state(state segment, key int8, at timestamptz
 * [, VARIADIC measures "any"]) RETURNS segment: segment_agg()'s transition.
 */
PG_FUNCTION_INFO_V1(segment_build_state);
Datum
segment_build_state(PG_FUNCTION_ARGS)
{
	return build_state(fcinfo, true);
}

/* segroll.segment_build_nolineage_state: segment_agg_nolineage()'s. */
PG_FUNCTION_INFO_V1(segment_build_nolineage_state);
Datum
segment_build_nolineage_state(PG_FUNCTION_ARGS)
{
	return build_state(fcinfo, false);
}

/*
 * segroll.segment_merge_final(state segment) RETURNS segment, STRICT: the
 * flat segment of the state.  The state is left as it is (the encoding sorts
 * its keys, which changes nothing it holds).
 */
PG_FUNCTION_INFO_V1(segment_merge_final);
Datum
segment_merge_final(PG_FUNCTION_ARGS)
{
	SegExpanded *x = segx_of(PG_GETARG_DATUM(0));

	if (x == NULL)
		PG_RETURN_POINTER(PG_DETOAST_DATUM_COPY(PG_GETARG_DATUM(0)));
	if (x->flat != NULL)
		PG_RETURN_POINTER(datumCopy(PointerGetDatum(x->flat), false, -1));
	PG_RETURN_POINTER(segstate_encode(x->st));
}
