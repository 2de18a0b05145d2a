/*-------------------------------------------------------------------------
 *
 * segment_ops.c
 *	  Functions that combine stored segments outside an aggregate: merge of
 *	  two segments, subtraction, retraction of one row, the segment without
 *	  its lineage, and the checksum contribution of one row.  These are the
 *	  primitives an incremental roll-up applies to a cell.
 *
 *-------------------------------------------------------------------------
 */
#include "segroll.h"

PG_FUNCTION_INFO_V1(segment_merge);
Datum
segment_merge(PG_FUNCTION_ARGS)
{
	SegState   *st = segstate_from_segment(CurrentMemoryContext,
										   PG_GETARG_SEGMENT_PP(0), SEG_SOURCE_DISK);

	segstate_add_segment(st, PG_GETARG_SEGMENT_PP(1));
	PG_RETURN_POINTER(segstate_encode(st));
}

PG_FUNCTION_INFO_V1(segment_subtract);
Datum
segment_subtract(PG_FUNCTION_ARGS)
{
	SegState   *st = segstate_from_segment(CurrentMemoryContext,
										   PG_GETARG_SEGMENT_PP(0), SEG_SOURCE_DISK);

	segstate_subtract(st, PG_GETARG_SEGMENT_PP(1));
	PG_RETURN_POINTER(segstate_encode(st));
}

/*
 * without_lineage(seg): the same rows' figures, without their keys.  The
 * head of a cell whose lineage is kept in blocks (a small value the roll-up
 * rewrites in place).
 */
PG_FUNCTION_INFO_V1(segment_without_lineage);
Datum
segment_without_lineage(PG_FUNCTION_ARGS)
{
	SegState   *st = segstate_from_segment(CurrentMemoryContext,
										   PG_GETARG_SEGMENT_PP(0), SEG_SOURCE_DISK);

	st->lineage = false;
	PG_RETURN_POINTER(segstate_encode(st));
}

/* retract(seg, key, ts, measures...): NULL segment gives NULL */
PG_FUNCTION_INFO_V1(segment_retract);
Datum
segment_retract(PG_FUNCTION_ARGS)
{
	SegState   *st;
	SegState   *row;
	int64		key,
				ts;
	int			nvalues;
	SegValue   *values;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	segroll_key_time_args(fcinfo, 1, &key, &ts);
	values = segroll_measure_args(fcinfo, 3, &nvalues);
	st = segstate_from_segment(CurrentMemoryContext, PG_GETARG_SEGMENT_PP(0), SEG_SOURCE_DISK);
	row = segstate_create(CurrentMemoryContext, st->lineage);
	segstate_add_row(row, key, ts, nvalues, values);
	segstate_subtract(st, segstate_encode(row));
	PG_RETURN_POINTER(segstate_encode(st));
}

PG_FUNCTION_INFO_V1(segment_row_checksum);
Datum
segment_row_checksum(PG_FUNCTION_ARGS)
{
	int64		key,
				ts;
	int			nvalues;
	SegValue   *values;

	segroll_key_time_args(fcinfo, 0, &key, &ts);
	values = segroll_measure_args(fcinfo, 2, &nvalues);
	PG_RETURN_INT64((int64) segstate_row_hash(key, ts, nvalues, values));
}
