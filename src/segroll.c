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
 *	trace.c				trace entry points (run as the caller, logged by
 *						the trace log's owner), key batches for trace
 *	worker.c			the launcher and per-database roll-up workers
 *
 * _PG_init, below, defines every segroll.* setting.
 *
 *-------------------------------------------------------------------------
 */
#include "segroll.h"

#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

/* Settings that only the SQL functions read (with current_setting). */
static int	segroll_history_retention_min = 400 * 24 * 60;
static int	segroll_history_size = 100;
static int	segroll_inline_lineage_limit = 4096;
static int	segroll_lineage_block_keys = 1024;

void		_PG_init(void);

/*
 * Defines every segroll.* setting and, when the library is preloaded,
 * registers the launcher.  The variables of the settings that C code reads
 * live in the file that reads them (worker.c, trace.c).
 */
void
_PG_init(void)
{
	/* trace log (trace.c) and history (retention, in SQL) */
	DefineCustomBoolVariable("segroll.trace_audit",
							 "Whether every trace is recorded in segroll.trace_log.",
							 "Only superusers (or roles granted SET on it) can turn it off.",
							 &segroll_trace_audit, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("segroll.history_retention",
							"How long entries of segroll.history and segroll.trace_log are kept.",
							NULL, &segroll_history_retention_min, 400 * 24 * 60, 60, INT_MAX,
							PGC_SUSET, GUC_UNIT_MIN, NULL, NULL, NULL);

	/* background workers (worker.c) */
	DefineCustomBoolVariable("segroll.enabled",
							 "Whether background workers roll up continuous segmentations.",
							 NULL, &segroll_enabled, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("segroll.naptime",
							"Time between roll-up rounds of a worker.",
							NULL, &segroll_naptime_ms, 1000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("segroll.probe_interval",
							"Time before a database without continuous segmentations is checked again.",
							NULL, &segroll_probe_interval_s, 10, 1, 24 * 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("segroll.batch_size",
							"Most change numbers a worker applies to one segmentation in one transaction.",
							NULL, &segroll_batch_size, 1000000, 1, INT_MAX,
							PGC_SIGHUP, 0, NULL, NULL, NULL);

	/* run history (rollup, in SQL) */
	DefineCustomIntVariable("segroll.history_size",
							"Roll-ups kept per segmentation in segroll.run_history.",
							NULL, &segroll_history_size, 100, 1, 100000,
							PGC_SUSET, 0, NULL, NULL, NULL);

	/* cell storage (rollup, in SQL) */
	DefineCustomIntVariable("segroll.inline_lineage_limit",
							"Most rows a cell keeps its lineage inline for; a larger cell keeps it in blocks of its lineage table.",
							"A roll-up then rewrites the cell's figures and the lineage blocks it touches, not the whole lineage.",
							&segroll_inline_lineage_limit, 4096, 0, INT_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("segroll.lineage_block_keys",
							"Keys a lineage block is sized for when a cell moves its lineage to blocks.",
							"A cell keeps the key span it was given; the setting applies to cells moving to blocks afterwards.",
							&segroll_lineage_block_keys, 1024, 1, 1000000,
							PGC_SUSET, 0, NULL, NULL, NULL);

	/* a server-start setting: it exists only when the library is preloaded */
	if (process_shared_preload_libraries_in_progress)
		DefineCustomIntVariable("segroll.max_workers",
								"Most roll-up workers (one per database) running at once.",
								NULL, &segroll_max_workers, 4, 0, 64,
								PGC_POSTMASTER, 0, NULL, NULL, NULL);

	MarkGUCPrefixReserved("segroll");

	if (process_shared_preload_libraries_in_progress)
		segroll_worker_preload();
}
