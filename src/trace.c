/*-------------------------------------------------------------------------
 *
 * trace.c
 *	  What trace needs from C: the keys of a segment in bounded batches.
 *	  (The settings that govern the trace log and history retention,
 *	  segroll.trace_audit and segroll.history_retention, are defined in
 *	  _PG_init, segroll.c.)
 *
 * Trace itself is SQL run as the caller (so that privileges and row-level
 * security apply to every source row it returns); it looks the source rows
 * up one batch of keys at a time, which keeps each lookup an index scan of
 * bounded size however large the traced segment is.
 *
 *-------------------------------------------------------------------------
 */
#include "segroll.h"

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"

typedef struct KeyBatchFctx
{
	uint8_t    *raw;
	SegKeyIter	it;
	int			batch;
} KeyBatchFctx;

/*
 * segroll.key_batches(segment, batch int4) returns the keys of a segment in
 * ascending order as arrays of at most batch keys, decoding as it goes.
 */
PG_FUNCTION_INFO_V1(segment_key_batches);
Datum
segment_key_batches(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	KeyBatchFctx *kf;
	Datum	   *elems;
	int			n;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		SegView    *v;
		int32		batch = PG_GETARG_INT32(1);

		if (batch < 1 || batch > 1000000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("batch size must be between 1 and 1000000, not %d", batch)));
		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		v = palloc(sizeof(SegView));
		segment_view(PG_GETARG_SEGMENT_PP(0), v);
		if (!(v->flags & SEG_F_LINEAGE))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("segment has no lineage"),
					 errhint("Build segments with segment_agg() rather than segment_agg_nolineage() to keep source keys.")));
		kf = palloc(sizeof(KeyBatchFctx));
		kf->raw = v->count > 0 ? segment_raw_lineage(v, SEG_SOURCE_DISK) : NULL;
		seg_key_iter_init(&kf->it, kf->raw, v->raw_len, v->count);
		kf->batch = batch;
		funcctx->user_fctx = kf;
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	kf = funcctx->user_fctx;
	if (kf->it.remaining == 0)
		SRF_RETURN_DONE(funcctx);

	n = (int) Min((uint64) kf->batch, kf->it.remaining);
	elems = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
	{
		int64_t		key;

		(void) seg_key_next(&kf->it, &key); /* validated when decoded */
		elems[i] = Int64GetDatum(key);
	}
	SRF_RETURN_NEXT(funcctx,
					PointerGetDatum(construct_array(elems, n, INT8OID, sizeof(int64),
													FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)));
}
