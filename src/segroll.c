/*-------------------------------------------------------------------------
 *
 * segroll.c
 *	  Entry point of the segroll extension library.
 *
 * segroll rolls transaction streams up into segment aggregates that keep
 * exact measures, the lineage of source keys and a mergeable checksum.
 * The pieces live in one file each:
 *	segment_codec.c		stored format, validating decoder (no backend deps)
 *	segment_numeric.c	exact numeric <-> scaled int128 conversion
 *	segment_state.c		in-memory segments: build, merge, subtract, encode
 *	segment.c			the datatype: I/O, accessors, comparison
 *	segment_agg.c		aggregates
 *	segment_ops.c		merge/subtract/retract of stored segments
 *	capture.c			the wait phase of exactly-once change capture
 *	rollup.c			rollup(), rebuild(), verify(), repair(), purge_source():
 *						run as the owner
 *	trace.c				key batches for trace; trace log and history settings
 *	worker.c			the launcher and per-database roll-up workers
 *
 *-------------------------------------------------------------------------
 */
#include "segroll.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	segroll_trace_init();
	segroll_worker_init();
}
