/*-------------------------------------------------------------------------
 *
 * segroll.h
 *	  Declarations shared by segroll's C files, grouped by the file that
 *	  defines them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGROLL_H
#define SEGROLL_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/numeric.h"

#include "segment_codec.h"

#ifndef HAVE_INT128
#error "segroll needs a compiler with 128-bit integers"
#endif

/*
 * SQLSTATEs of segroll's own errors, for conditions that SQL code must tell
 * apart from every other error.  Each stays in the standard class that
 * fits, so that handlers for the class (WHEN data_exception) still catch
 * it, with a subclass beginning with 'S' for segroll: the SQL standard
 * leaves subclasses beginning with I-Z to implementations, and PostgreSQL
 * uses only 'P' (22P01 ...).
 *
 * 22S01: what is subtracted from a segment is not contained in it -- a key
 * of its lineage is missing ("source key ... is not in the segment it is
 * subtracted from") or it holds fewer rows ("cannot subtract N rows from a
 * segment of M").  segroll.subtract() and retract() raise it; the roll-up
 * catches it (WHEN SQLSTATE '22S01') when a corrected row's old version
 * maps to another cell than the one it was rolled up into.
 */
#define ERRCODE_SEGROLL_NOT_CONTAINED	MAKE_SQLSTATE('2','2','S','0','1')

/* A segment as stored: a varlena whose payload is the codec format. */
typedef struct varlena Segment;

#define DatumGetSegmentPP(X)		((Segment *) PG_DETOAST_DATUM_PACKED(X))
#define PG_GETARG_SEGMENT_PP(n)		DatumGetSegmentPP(PG_GETARG_DATUM(n))
#define SEGMENT_DATA(s)				((const uint8_t *) VARDATA_ANY(s))
#define SEGMENT_LEN(s)				((size_t) VARSIZE_ANY_EXHDR(s))

/* Where bytes being decoded came from; decides the SQLSTATE of errors. */
typedef enum SegSource
{
	SEG_SOURCE_DISK,			/* a stored value: corruption, XX001 */
	SEG_SOURCE_BINARY,			/* binary input: 22P03 */
	SEG_SOURCE_TEXT				/* text input: 22P02 */
} SegSource;

/* One measure of an in-memory segment. */
typedef struct SegMeasureState
{
	uint8		kind;			/* SEG_KIND_SCALED or SEG_KIND_DECIMAL */
	uint32		scale;			/* SCALED: values are mantissa * 10^-scale */
	uint64		nnull;
	uint64		nonnull;
	int128		sum;			/* SCALED */
	int128		min;
	int128		max;
	Numeric		nsum;			/* DECIMAL */
	Numeric		nmin;
	Numeric		nmax;
	uint64		at_min;			/* values equal to min, to max (issue 13); */
	uint64		at_max;			/* meaningful while the state's counts_known */
} SegMeasureState;

/*
 * One distinct measure of an in-memory segment (issue 17): the exact set
 * of value hashes with a count each while it has at most
 * SEG_DIST_EXACT_MAX of them; then a sketch: first a small open-addressing
 * table of (register, rank) entries (4 bytes a slot: a cell of a few
 * thousand values stays small, so hash aggregation keeps more groups in
 * work_mem), then the SEG_HLL_M registers.
 *
 * The exact set is held in arrival order (hash[] and cnt[], appended, no
 * per-value allocation) with an open-addressing index 'slot' over it
 * (position + 1, 0 empty) for lookups; it is sorted by hash only when it
 * is encoded or subtracted from ('sorted'), which drops the index until
 * the next addition rebuilds it.
 *
 * Rows add their hashes to 'pend' first, and SEG_DIST_PENDING of them go
 * into the set or sketch at once (segdistinct_add_row): an aggregate whose
 * rows interleave many cells (a build) finds the cell's set or sketch out
 * of cache on almost every row, and a batch lets those memory accesses
 * overlap.  Every other function takes the pending hashes in first.
 */
#define SEG_DIST_PENDING	16
typedef struct SegDistinctState
{
	bool		sketch;
	bool		sorted;			/* exact: hash[0 .. n) ascending */
	uint32		n;				/* exact: hashes held; sparse: entries */
	uint32		cap;			/* exact: of hash[], cnt[]; sparse: slots */
	uint64	   *hash;
	uint64	   *cnt;
	uint16	   *slot;			/* exact: index of hash[], or NULL */
	uint32		nslots;			/* exact: a power of two, > 2 * cap */
	uint32	   *sp;				/* sketch, sparse: table of index << 8 | rank, 0 empty */
	uint8	   *reg;			/* sketch, dense */
	uint32		npend;
	uint64		pend[SEG_DIST_PENDING]; /* hashes of rows not yet added */
} SegDistinctState;

/*
 * A segment being built or combined, in memory.  Keys are appended
 * unsorted and sorted once when the state is encoded (or combined), where
 * a key seen twice is reported as a double count.
 */
typedef struct SegState
{
	MemoryContext mcxt;			/* everything below lives here */
	bool		lineage;
	bool		minmax_stale;
	int			nmeasures;		/* -1 until the first row or segment */
	uint64		count;
	int64		first_ts;
	int64		last_ts;
	/*
	 * Rows at first_ts and at last_ts, and each measure's at_min/at_max,
	 * are known (issue 13): false once the state holds a version 1/2
	 * segment with rows, or its bounds became stale.
	 */
	bool		counts_known;
	uint64		at_first;
	uint64		at_last;
	uint64		checksum;
	SegMeasureState *m;
	int			ndistinct;		/* -1 until the first row or segment */
	bool		distinct_stale;
	SegDistinctState *d;
	int64	   *keys;
	uint64		nkeys;
	uint64		keys_cap;
	bool		keys_sorted;
} SegState;

/* A measure value of one input row, converted once. */
typedef struct SegValue
{
	bool		isnull;
	bool		scaled;			/* else 'num' holds it */
	int128		mantissa;
	uint32		scale;
	Numeric		num;
	bool		distinct;		/* a distinct measure: 'dhash' holds it */
	uint64		dhash;
} SegValue;

/* segment.c */
extern void segment_parse_or_error(const uint8_t *data, size_t len, SegView *v, SegSource src);
extern void segment_view(Segment *seg, SegView *v);
extern uint8_t *segment_raw_lineage(const SegView *v, SegSource src);
extern Segment *segment_encode(const SegView *v, const uint8_t *raw, size_t raw_len);
extern void segment_report(SegStatus st, SegSource src);
extern bool segroll_hex64(const char *s, uint64 *result);

/* segment_distinct.c */
extern bool segdistinct_is_dhash(Oid type, Oid fn_oid);
extern void segdistinct_add(MemoryContext mcxt, SegDistinctState *d, uint64 hash, uint64 count);
extern void segdistinct_flush(MemoryContext mcxt, SegDistinctState *d);
extern void segdistinct_combine(MemoryContext mcxt, SegDistinctState *dst, SegDistinctState *src);
extern bool segdistinct_subtract(MemoryContext mcxt, SegDistinctState *dst, const SegDistinctState *src,
								 int position);

/* Adds the value hash of one row (see SegDistinctState). */
static inline void
segdistinct_add_row(MemoryContext mcxt, SegDistinctState *d, uint64 hash)
{
	d->pend[d->npend++] = hash;
	if (d->npend == SEG_DIST_PENDING)
		segdistinct_flush(mcxt, d);
}
extern size_t segdistinct_encode(MemoryContext mcxt, SegDistinctState *d, uint8_t *out, uint8_t *mode);
extern void segdistinct_decode(MemoryContext mcxt, SegDistinctState *d, const SegDistinct *sd,
							   uint64 count, SegSource src);
extern int64 segdistinct_estimate(MemoryContext mcxt, SegDistinctState *d);

/* segment_agg.c */
extern SegValue *segroll_measure_args(FunctionCallInfo fcinfo, int first, int *nvalues);
extern void segroll_key_time_args(FunctionCallInfo fcinfo, int first, int64 *key, int64 *ts);

/* rollup.c */
extern void segroll_require_args(FunctionCallInfo fcinfo, uint32 may_be_null);

/* trace.c */
extern bool segroll_trace_audit;

/* worker.c */
extern bool segroll_enabled;
extern int	segroll_naptime_ms;
extern int	segroll_probe_interval_s;
extern int	segroll_batch_size;
extern int	segroll_max_workers;
extern void segroll_worker_preload(void);
extern bool segroll_workers_available(void);

/* segment_numeric.c */
extern bool segnum_from_numeric(Numeric num, int128 *mantissa, uint32 *scale);
extern Numeric segnum_to_numeric(int128 mantissa, uint32 scale);
extern char *segnum_scaled_text(int128 mantissa, uint32 scale);
extern bool segnum_parse_scaled(const char *s, size_t len, uint32 scale, int128 *mantissa);
extern bool segnum_rescale(int128 *mantissa, uint32 from, uint32 to);
extern Numeric segnum_decimal_to_numeric(const char *s, size_t len);
extern char *segnum_numeric_text(Numeric num);
extern void segnum_value_from_datum(Datum d, Oid type, SegValue *out);
extern uint64 segnum_hash_value(uint64 h, const SegValue *val);
extern void segnum_check_measure_type(Oid type, int position);
extern bool segnum_decimals_as_scaled(Numeric nsum, Numeric nmin, Numeric nmax, SegMeasure *out);

/* segment_state.c */
extern SegState *segstate_create(MemoryContext mcxt, bool lineage);
extern void segstate_add_row(SegState *st, int64 key, int64 ts, int nvalues, const SegValue *values);
extern void segstate_add_segment(SegState *st, Segment *seg);
extern void segstate_combine(SegState *dst, SegState *src);
extern void segstate_subtract(SegState *st, Segment *seg);
extern Segment *segstate_encode(SegState *st);
extern SegState *segstate_from_segment(MemoryContext mcxt, Segment *seg, SegSource src);
extern uint64 segstate_row_hash(int64 key, int64 ts, int nvalues, const SegValue *values);

#endif							/* SEGROLL_H */
