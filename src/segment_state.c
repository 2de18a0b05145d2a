/*-------------------------------------------------------------------------
 *
 * segment_state.c
 *	  The in-memory form of a segment: build from rows, merge, subtract,
 *	  and encode to / decode from the stored format.
 *
 * Aggregates keep a SegState as their transition value; the SQL functions
 * that merge or subtract stored segments decode them into states too, so
 * there is one implementation of the arithmetic.
 *
 * Exactness rules:
 *	- counts are uint64 and never wrap (overflow is an error);
 *	- a measure is SCALED (int128 mantissa at the largest display scale
 *	  seen) while that is exact, and becomes DECIMAL (numeric arithmetic)
 *	  the moment it would not be; encoding turns a DECIMAL measure back
 *	  into SCALED when its values fit, so equal content encodes equally;
 *	- keys are sorted once at encoding time; a key present twice means a
 *	  row would be counted twice, which is an error, never a silent union;
 *	- a state counts the rows at its first and last time and, per measure,
 *	  the values equal to its min and max (issue 13): building and merging
 *	  add them (equal extremes add, a new extreme replaces);
 *	- subtracting takes the removed rows' counts off; only when a count
 *	  reaches 0 (or the counts are unknown: a version 1/2 segment with
 *	  rows was involved) do those bounds become approximate: the value is
 *	  flagged (SEG_F_MINMAX_STALE), keeps no counts, and the accessors
 *	  refuse to return the bounds as exact.
 *
 * All allocations of a state are made in state->mcxt, which the caller
 * owns (the aggregate context, or the calling function's context).
 *
 *-------------------------------------------------------------------------
 */
#include "segroll.h"

#include "utils/builtins.h"
#include "utils/memutils.h"

/* an in-place sort of int64 keys */
#define ST_SORT sort_int64_keys
#define ST_ELEMENT_TYPE int64
#define ST_COMPARE(a, b) ((*(a) > *(b)) - (*(a) < *(b)))
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

static void
error_count_overflow(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("segment row count out of range")));
}

SegState *
segstate_create(MemoryContext mcxt, bool lineage)
{
	SegState   *st = MemoryContextAllocZero(mcxt, sizeof(SegState));

	st->mcxt = mcxt;
	st->lineage = lineage;
	st->nmeasures = -1;
	st->ndistinct = -1;
	st->first_ts = PG_INT64_MAX;
	st->last_ts = PG_INT64_MIN;
	st->counts_known = true;
	st->keys_sorted = true;
	return st;
}

static void
ensure_measures(SegState *st, int nmeasures)
{
	if (st->nmeasures == nmeasures)
		return;
	if (st->nmeasures >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot combine segments with %d and %d measures",
						st->nmeasures, nmeasures)));
	if (nmeasures > SEG_MAX_MEASURES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a segment can have at most %d measures", SEG_MAX_MEASURES)));
	st->nmeasures = nmeasures;
	if (nmeasures > 0)
		st->m = MemoryContextAllocZero(st->mcxt, sizeof(SegMeasureState) * nmeasures);
}

static void
ensure_distinct(SegState *st, int ndistinct)
{
	if (st->ndistinct == ndistinct)
		return;
	if (st->ndistinct >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot combine segments with %d and %d distinct measures",
						st->ndistinct, ndistinct)));
	if (ndistinct > SEG_MAX_MEASURES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a segment can have at most %d distinct measures", SEG_MAX_MEASURES)));
	st->ndistinct = ndistinct;
	if (ndistinct > 0)
		st->d = MemoryContextAllocZero(st->mcxt, sizeof(SegDistinctState) * ndistinct);
}

static void
append_keys(SegState *st, const int64 *keys, uint64 n)
{
	if (n == 0)
		return;
	if (st->nkeys + n > st->keys_cap)
	{
		uint64		cap = Max(st->keys_cap * 2, st->nkeys + n);

		cap = Max(cap, 16);
		if (cap > MaxAllocHugeSize / sizeof(int64))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("segment lineage too large")));
		if (st->keys == NULL)
			st->keys = MemoryContextAllocHuge(st->mcxt, cap * sizeof(int64));
		else
			st->keys = repalloc_huge(st->keys, cap * sizeof(int64));
		st->keys_cap = cap;
	}
	if (st->nkeys > 0 && keys[0] <= st->keys[st->nkeys - 1])
		st->keys_sorted = false;
	if (n == 1)
		st->keys[st->nkeys] = keys[0];
	else
		memcpy(st->keys + st->nkeys, keys, n * sizeof(int64));
	st->nkeys += n;
}

static void
add_count(SegState *st, uint64 n)
{
	if (st->count + n < st->count || st->count + n > (uint64) PG_INT64_MAX)
		error_count_overflow();
	st->count += n;
}

/* ------------------------------------------------------------ measures */

static Numeric
copy_numeric(MemoryContext mcxt, Numeric num)
{
	Size		len = VARSIZE(num);
	Numeric		copy = MemoryContextAlloc(mcxt, len);

	memcpy(copy, num, len);
	return copy;
}


/* Switches a SCALED measure to numeric arithmetic. */
static void
measure_to_decimal(SegState *st, SegMeasureState *ms)
{
	MemoryContext old;

	if (ms->kind == SEG_KIND_DECIMAL)
		return;
	old = MemoryContextSwitchTo(st->mcxt);
	if (ms->nonnull > 0)
	{
		ms->nsum = segnum_to_numeric(ms->sum, ms->scale);
		ms->nmin = segnum_to_numeric(ms->min, ms->scale);
		ms->nmax = segnum_to_numeric(ms->max, ms->scale);
	}
	MemoryContextSwitchTo(old);
	ms->kind = SEG_KIND_DECIMAL;
}

/* Raises a SCALED measure to a larger scale, or makes it DECIMAL. */
static void
measure_raise_scale(SegState *st, SegMeasureState *ms, uint32 scale)
{
	if (ms->kind != SEG_KIND_SCALED || scale <= ms->scale)
		return;
	if (ms->nonnull > 0)
	{
		int128		sum = ms->sum,
					min = ms->min,
					max = ms->max;

		if (!segnum_rescale(&sum, ms->scale, scale) ||
			!segnum_rescale(&min, ms->scale, scale) ||
			!segnum_rescale(&max, ms->scale, scale))
		{
			measure_to_decimal(st, ms);
			return;
		}
		ms->sum = sum;
		ms->min = min;
		ms->max = max;
	}
	ms->scale = scale;
}

static int
numeric_compare(Numeric a, Numeric b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp,
											 NumericGetDatum(a),
											 NumericGetDatum(b)));
}

/*
 * Folds an aggregate of values (nonnull values with sum, min and max, in
 * SCALED form when 'scaled', else as numerics, at_min of them equal to min
 * and at_max to max) into a measure.
 */
static void
measure_merge(SegState *st, SegMeasureState *ms, uint64 nonnull, bool scaled,
			  uint32 scale, int128 sum, int128 min, int128 max,
			  Numeric nsum, Numeric nmin, Numeric nmax,
			  uint64 at_min, uint64 at_max)
{
	if (nonnull == 0)
		return;

	if (ms->kind == SEG_KIND_SCALED && scaled)
	{
		if (scale > ms->scale)
			measure_raise_scale(st, ms, scale);
		if (ms->kind == SEG_KIND_SCALED && scale < ms->scale &&
			!(segnum_rescale(&sum, scale, ms->scale) &&
			  segnum_rescale(&min, scale, ms->scale) &&
			  segnum_rescale(&max, scale, ms->scale)))
			measure_to_decimal(st, ms);
		if (ms->kind == SEG_KIND_SCALED)
		{
			if (ms->nonnull == 0)
			{
				ms->sum = sum;
				ms->min = min;
				ms->max = max;
				ms->at_min = at_min;
				ms->at_max = at_max;
				ms->nonnull = nonnull;
				return;
			}
			if (!__builtin_add_overflow(ms->sum, sum, &ms->sum))
			{
				if (min < ms->min)
				{
					ms->min = min;
					ms->at_min = at_min;
				}
				else if (min == ms->min)
					ms->at_min += at_min;
				if (max > ms->max)
				{
					ms->max = max;
					ms->at_max = at_max;
				}
				else if (max == ms->max)
					ms->at_max += at_max;
				ms->nonnull += nonnull;
				return;
			}
			/* the sum left 128 bits: continue in numeric */
			measure_to_decimal(st, ms);
		}
	}

	/* DECIMAL arithmetic */
	measure_to_decimal(st, ms);
	{
		MemoryContext old = MemoryContextSwitchTo(st->mcxt);

		if (scaled)
		{
			nsum = segnum_to_numeric(sum, scale);
			nmin = (min == sum && nonnull == 1) ? nsum : segnum_to_numeric(min, scale);
			nmax = (max == sum && nonnull == 1) ? nsum : segnum_to_numeric(max, scale);
		}
		if (ms->nonnull == 0)
		{
			ms->nsum = scaled ? nsum : copy_numeric(st->mcxt, nsum);
			ms->nmin = scaled ? nmin : copy_numeric(st->mcxt, nmin);
			ms->nmax = scaled ? nmax : copy_numeric(st->mcxt, nmax);
			ms->at_min = at_min;
			ms->at_max = at_max;
		}
		else
		{
			int			cmp;

			ms->nsum = DatumGetNumeric(DirectFunctionCall2(numeric_add,
														   NumericGetDatum(ms->nsum),
														   NumericGetDatum(nsum)));
			/* numerically equal values (1.0, 1.00) are the same extreme */
			cmp = numeric_compare(nmin, ms->nmin);
			if (cmp < 0)
			{
				ms->nmin = scaled ? nmin : copy_numeric(st->mcxt, nmin);
				ms->at_min = at_min;
			}
			else if (cmp == 0)
				ms->at_min += at_min;
			cmp = numeric_compare(nmax, ms->nmax);
			if (cmp > 0)
			{
				ms->nmax = scaled ? nmax : copy_numeric(st->mcxt, nmax);
				ms->at_max = at_max;
			}
			else if (cmp == 0)
				ms->at_max += at_max;
		}
		MemoryContextSwitchTo(old);
	}
	ms->nonnull += nonnull;
}

/* ------------------------------------------------------------ building */

uint64
segstate_row_hash(int64 key, int64 ts, int nvalues, const SegValue *values)
{
	uint64		h = seg_hash_init(key, ts);
	int			i;

	for (i = 0; i < nvalues; i++)
		h = segnum_hash_value(h, &values[i]);
	return seg_hash_finish(h);
}

/*
 * Adds one source row.  Values must have been converted by
 * segnum_value_from_datum.
 */
void
segstate_add_row(SegState *st, int64 key, int64 ts, int nvalues, const SegValue *values)
{
	int			i;
	int			nnum = 0,
				ndist = 0;

	for (i = 0; i < nvalues; i++)
	{
		if (values[i].distinct)
			ndist++;
	}
	ensure_measures(st, nvalues - ndist);
	ensure_distinct(st, ndist);
	add_count(st, 1);
	if (st->lineage)
		append_keys(st, &key, 1);
	/* at_first/at_last start at 0, so a first row equal to the sentinel counts */
	if (ts < st->first_ts)
	{
		st->first_ts = ts;
		st->at_first = 1;
	}
	else if (ts == st->first_ts)
		st->at_first++;
	if (ts > st->last_ts)
	{
		st->last_ts = ts;
		st->at_last = 1;
	}
	else if (ts == st->last_ts)
		st->at_last++;
	st->checksum += segstate_row_hash(key, ts, nvalues, values);

	ndist = 0;
	for (i = 0; i < nvalues; i++)
	{
		const SegValue *val = &values[i];
		SegMeasureState *ms;

		if (val->distinct)
		{
			if (!val->isnull)
				segdistinct_add_row(st->mcxt, &st->d[ndist], val->dhash);
			ndist++;
			continue;
		}
		ms = &st->m[nnum++];
		if (val->isnull)
		{
			ms->nnull++;
			continue;
		}
		if (val->scaled)
		{
			/* the hot path: SCALED measure, value at the same scale */
			if (ms->kind == SEG_KIND_SCALED && val->scale == ms->scale && ms->nonnull > 0 &&
				!__builtin_add_overflow(ms->sum, val->mantissa, &ms->sum))
			{
				if (val->mantissa < ms->min)
				{
					ms->min = val->mantissa;
					ms->at_min = 1;
				}
				else if (val->mantissa > ms->max)
				{
					ms->max = val->mantissa;
					ms->at_max = 1;
				}
				else
				{
					/* both when min = max */
					ms->at_min += val->mantissa == ms->min;
					ms->at_max += val->mantissa == ms->max;
				}
				ms->nonnull++;
				continue;
			}
			measure_merge(st, ms, 1, true, val->scale,
						  val->mantissa, val->mantissa, val->mantissa,
						  NULL, NULL, NULL, 1, 1);
		}
		else
			measure_merge(st, ms, 1, false, 0, 0, 0, 0,
						  val->num, val->num, val->num, 1, 1);
	}
}

/* ------------------------------------------------------------ combining */

static void
sort_keys(SegState *st)
{
	uint64		i;

	if (!st->keys_sorted)
	{
		sort_int64_keys(st->keys, st->nkeys);
		st->keys_sorted = true;
	}
	for (i = 1; i < st->nkeys; i++)
	{
		if (st->keys[i] == st->keys[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("source key " INT64_FORMAT " would be counted twice in one segment",
							st->keys[i]),
					 errdetail("The rows or segments being combined overlap."),
					 errhint("Each source row may contribute to a segment only once; check the source key for duplicates. "
							 "A key that is not an integer is held as its 63-bit hash (segroll.key_hash): two keys of one cell may share it, "
							 "about once in 2^64 / n^2 cells of n keys; then create the segmentation with lineage => false.")));
	}
}

/* Folds src into dst.  src is left unchanged. */
void
segstate_combine(SegState *dst, SegState *src)
{
	int			i;

	if (src->nmeasures < 0)
		return;
	ensure_measures(dst, src->nmeasures);
	ensure_distinct(dst, src->ndistinct);
	for (i = 0; i < src->ndistinct; i++)
		segdistinct_combine(dst->mcxt, &dst->d[i], &src->d[i]);
	dst->distinct_stale |= src->distinct_stale;
	add_count(dst, src->count);
	if (src->count > 0)
	{
		dst->counts_known &= src->counts_known;
		if (src->first_ts < dst->first_ts)
		{
			dst->first_ts = src->first_ts;
			dst->at_first = src->at_first;
		}
		else if (src->first_ts == dst->first_ts)
			dst->at_first += src->at_first;
		if (src->last_ts > dst->last_ts)
		{
			dst->last_ts = src->last_ts;
			dst->at_last = src->at_last;
		}
		else if (src->last_ts == dst->last_ts)
			dst->at_last += src->at_last;
	}
	dst->checksum += src->checksum;
	dst->minmax_stale |= src->minmax_stale;

	if (dst->lineage && src->lineage)
	{
		bool		was_sorted = dst->keys_sorted;

		append_keys(dst, src->keys, src->nkeys);
		dst->keys_sorted = was_sorted && src->keys_sorted && dst->keys_sorted;
	}
	else if (dst->lineage && src->count > 0)
	{
		/* a union with rows of unknown keys has no lineage */
		dst->lineage = false;
		if (dst->keys)
			pfree(dst->keys);
		dst->keys = NULL;
		dst->nkeys = dst->keys_cap = 0;
	}

	for (i = 0; i < src->nmeasures; i++)
	{
		SegMeasureState *s = &src->m[i];
		SegMeasureState *d = &dst->m[i];

		d->nnull += s->nnull;
		if (s->kind == SEG_KIND_SCALED)
		{
			if (s->nonnull == 0)
				measure_raise_scale(dst, d, s->scale);
			measure_merge(dst, d, s->nonnull, true, s->scale,
						  s->sum, s->min, s->max, NULL, NULL, NULL,
						  s->at_min, s->at_max);
		}
		else
			measure_merge(dst, d, s->nonnull, false, 0, 0, 0, 0,
						  s->nsum, s->nmin, s->nmax, s->at_min, s->at_max);
	}
}

void
segstate_add_segment(SegState *st, Segment *seg)
{
	SegState   *src = segstate_from_segment(CurrentMemoryContext, seg, SEG_SOURCE_DISK);

	segstate_combine(st, src);
}

static bool
numeric_is_special(Numeric num)
{
	return numeric_is_nan(num) || numeric_is_inf(num);
}

static inline int
int128_compare(int128 a, int128 b)
{
	return (a > b) - (a < b);
}

static inline int
int64_compare(int64 a, int64 b)
{
	return (a > b) - (a < b);
}

/*
 * Takes 'removed' rows off the count 'held' of rows at an extreme.  'cmp'
 * compares the removed rows' extreme with the held one, oriented so that
 * < 0 is beyond it (for a minimum: smaller).  Returns false when the
 * extreme is no longer known: every row at it was removed, or a removed
 * row lay beyond it (it was not in the segment).
 */
static bool
extreme_remove(int cmp, uint64 *held, uint64 removed)
{
	if (cmp < 0)
		return false;
	if (cmp > 0)
		return true;
	if (removed >= *held)
		return false;
	*held -= removed;
	return true;
}

/*
 * Removes the rows of a stored segment from st.  With lineage on both
 * sides every key removed must be present.  While both sides' extreme
 * counts are known, removing rows at a min, max, first or last time only
 * lowers its count; the bounds become stale when a count reaches 0.
 */
void
segstate_subtract(SegState *st, Segment *seg)
{
	SegState   *src = segstate_from_segment(CurrentMemoryContext, seg, SEG_SOURCE_DISK);
	int			i;
	bool		counts;

	if (src->count == 0)
		return;
	if (st->nmeasures < 0)
		ensure_measures(st, src->nmeasures);
	if (st->nmeasures != src->nmeasures)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot subtract a segment with %d measures from one with %d",
						src->nmeasures, st->nmeasures)));
	if (st->ndistinct < 0)
		ensure_distinct(st, src->ndistinct);
	if (st->ndistinct != src->ndistinct)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("cannot subtract a segment with %d distinct measures from one with %d",
						src->ndistinct, st->ndistinct)));
	if (src->count > st->count)
		ereport(ERROR,
				(errcode(ERRCODE_SEGROLL_NOT_CONTAINED),
				 errmsg("cannot subtract " UINT64_FORMAT " rows from a segment of " UINT64_FORMAT,
						src->count, st->count)));
	if (st->lineage && !src->lineage)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot subtract a segment without lineage from a segment with lineage"),
				 errhint("The keys to remove must be known to keep the lineage exact.")));

	if (st->lineage)
	{
		uint64		i_st = 0,
					i_src = 0,
					out = 0;

		sort_keys(st);
		sort_keys(src);
		while (i_st < st->nkeys)
		{
			if (i_src < src->nkeys && src->keys[i_src] < st->keys[i_st])
				break;
			if (i_src < src->nkeys && src->keys[i_src] == st->keys[i_st])
			{
				i_src++;
				i_st++;
				continue;
			}
			st->keys[out++] = st->keys[i_st++];
		}
		if (i_src < src->nkeys)
			ereport(ERROR,
					(errcode(ERRCODE_SEGROLL_NOT_CONTAINED),
					 errmsg("source key " INT64_FORMAT " is not in the segment it is subtracted from",
							src->keys[i_src])));
		st->nkeys = out;
	}

	for (i = 0; i < st->ndistinct; i++)
	{
		if (!segdistinct_subtract(st->mcxt, &st->d[i], &src->d[i], i + 1))
			st->distinct_stale = true;
	}
	st->distinct_stale |= src->distinct_stale;

	st->count -= src->count;
	st->checksum -= src->checksum;
	st->minmax_stale |= src->minmax_stale;
	counts = st->counts_known && src->counts_known && !st->minmax_stale;
	if (counts)
	{
		if (!extreme_remove(int64_compare(src->first_ts, st->first_ts), &st->at_first, src->at_first) ||
			!extreme_remove(int64_compare(st->last_ts, src->last_ts), &st->at_last, src->at_last))
			st->minmax_stale = true;
	}
	else if (src->first_ts <= st->first_ts || src->last_ts >= st->last_ts)
		st->minmax_stale = true;

	for (i = 0; i < st->nmeasures; i++)
	{
		SegMeasureState *d = &st->m[i];
		SegMeasureState *s = &src->m[i];

		if (s->nnull > d->nnull || s->nonnull > d->nonnull)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot subtract more values of measure %d than the segment holds", i + 1)));
		d->nnull -= s->nnull;
		if (s->nonnull == 0)
			continue;
		if (d->kind == SEG_KIND_SCALED && s->kind == SEG_KIND_SCALED)
		{
			int128		sum = s->sum,
						min = s->min,
						max = s->max;

			measure_raise_scale(st, d, s->scale);
			if (d->kind == SEG_KIND_SCALED &&
				segnum_rescale(&sum, s->scale, d->scale) &&
				segnum_rescale(&min, s->scale, d->scale) &&
				segnum_rescale(&max, s->scale, d->scale) &&
				!__builtin_sub_overflow(d->sum, sum, &d->sum))
			{
				if (counts && !st->minmax_stale)
				{
					/* a measure left without values has no bounds to lose */
					if (d->nonnull > s->nonnull &&
						(!extreme_remove(int128_compare(min, d->min), &d->at_min, s->at_min) ||
						 !extreme_remove(int128_compare(d->max, max), &d->at_max, s->at_max)))
						st->minmax_stale = true;
				}
				else if (min <= d->min || max >= d->max)
					st->minmax_stale = true;
				d->nonnull -= s->nonnull;
				continue;
			}
		}
		/* numeric arithmetic */
		measure_to_decimal(st, d);
		{
			MemoryContext old = MemoryContextSwitchTo(st->mcxt);
			Numeric		nsum,
						nmin,
						nmax;

			if (s->kind == SEG_KIND_SCALED)
			{
				nsum = segnum_to_numeric(s->sum, s->scale);
				nmin = segnum_to_numeric(s->min, s->scale);
				nmax = segnum_to_numeric(s->max, s->scale);
			}
			else
			{
				nsum = s->nsum;
				nmin = s->nmin;
				nmax = s->nmax;
			}
			if (numeric_is_special(d->nsum) || numeric_is_special(nsum))
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot subtract from a sum that includes NaN or infinity"),
						 errhint("Rebuild the segment from its source rows.")));
			d->nsum = DatumGetNumeric(DirectFunctionCall2(numeric_sub,
														  NumericGetDatum(d->nsum),
														  NumericGetDatum(nsum)));
			if (counts && !st->minmax_stale)
			{
				if (d->nonnull > s->nonnull &&
					(!extreme_remove(numeric_compare(nmin, d->nmin), &d->at_min, s->at_min) ||
					 !extreme_remove(numeric_compare(d->nmax, nmax), &d->at_max, s->at_max)))
					st->minmax_stale = true;
			}
			else if (numeric_compare(nmin, d->nmin) <= 0 || numeric_compare(nmax, d->nmax) >= 0)
				st->minmax_stale = true;
			MemoryContextSwitchTo(old);
		}
		d->nonnull -= s->nonnull;
	}

	/* a segment whose bounds are stale keeps no counts */
	if (st->minmax_stale)
		st->counts_known = false;
	if (st->count == 0)
	{
		/* nothing left: no bounds to be unsure about, no values to count */
		st->minmax_stale = false;
		st->counts_known = true;
		st->at_first = st->at_last = 0;
		for (i = 0; i < st->nmeasures; i++)
			st->m[i].at_min = st->m[i].at_max = 0;
		st->distinct_stale = false;
		for (i = 0; i < st->ndistinct; i++)
		{
			memset(&st->d[i], 0, sizeof(SegDistinctState));
		}
		st->first_ts = PG_INT64_MAX;
		st->last_ts = PG_INT64_MIN;
	}
}

/* ------------------------------------------------------------ encoding */

Segment *
segstate_encode(SegState *st)
{
	SegView    *v = palloc0(sizeof(SegView));
	uint8_t    *raw = NULL;
	size_t		raw_len = 0;
	Segment    *result;
	int			i;

	v->flags = 0;
	if (st->lineage)
		v->flags |= SEG_F_LINEAGE;
	if (st->minmax_stale && st->count > 0)
		v->flags |= SEG_F_MINMAX_STALE;
	v->count = st->count;
	v->first_ts = st->first_ts;
	v->last_ts = st->last_ts;
	v->counts = st->counts_known && !st->minmax_stale && st->count > 0;
	v->at_first = st->at_first;
	v->at_last = st->at_last;
	v->checksum = st->checksum;
	v->nmeasures = st->nmeasures < 0 ? 0 : st->nmeasures;
	v->ndistinct = st->ndistinct < 0 ? 0 : st->ndistinct;
	if (st->distinct_stale && st->count > 0 && v->ndistinct > 0)
		v->flags |= SEG_F_DISTINCT_STALE;
	for (i = 0; i < (int) v->ndistinct; i++)
	{
		uint8_t    *buf = palloc(SEG_DIST_MAX_PAYLOAD);

		v->d[i].len = segdistinct_encode(st->mcxt, &st->d[i], buf, &v->d[i].mode);
		v->d[i].data = buf;
	}

	for (i = 0; i < (int) v->nmeasures; i++)
	{
		SegMeasureState *ms = &st->m[i];
		SegMeasure *m = &v->m[i];

		m->nnull = ms->nnull;
		m->kind = SEG_KIND_SCALED;
		m->scale = ms->scale;
		if (ms->nonnull == 0)
			continue;
		m->at_min = ms->at_min;
		m->at_max = ms->at_max;
		if (v->counts &&
			seg_check_extreme_counts(ms->nonnull, ms->at_min, ms->at_max,
									 ms->kind == SEG_KIND_SCALED ? ms->min == ms->max :
									 numeric_compare(ms->nmin, ms->nmax) == 0) != SEG_OK)
			v->counts = false;
		if (ms->kind == SEG_KIND_SCALED)
		{
			m->sum = ms->sum;
			m->min = ms->min;
			m->max = ms->max;
		}
		else if (!segnum_decimals_as_scaled(ms->nsum, ms->nmin, ms->nmax, m))
		{
			Numeric		vals[3] = {ms->nsum, ms->nmin, ms->nmax};
			int			k;

			m->kind = SEG_KIND_DECIMAL;
			for (k = 0; k < 3; k++)
			{
				char	   *text = segnum_numeric_text(vals[k]);

				m->dec[k] = text;
				m->dec_len[k] = strlen(text);
				if (m->dec_len[k] > SEG_MAX_DECIMAL_LEN)
					ereport(ERROR,
							(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
							 errmsg("a segment measure value is too long to store")));
			}
		}
	}

	/*
	 * Counts that do not add up can only come from retractions of values
	 * the rows did not have (retract trusts its arguments): then they are
	 * not known, and the value is written as version 1/2, as before them.
	 */
	if (v->counts &&
		seg_check_extreme_counts(st->count, st->at_first, st->at_last,
								 st->first_ts == st->last_ts) != SEG_OK)
		v->counts = false;

	if (st->lineage)
	{
		Assert(st->nkeys == st->count);
		sort_keys(st);
		if (st->nkeys > 0)
		{
			raw = MemoryContextAllocHuge(CurrentMemoryContext, seg_raw_keys_bound(st->nkeys));
			raw_len = seg_encode_keys(st->keys, st->nkeys, raw);
			if (raw_len > SEG_MAX_RAW_LEN)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("segment lineage too large"),
						 errdetail("The lineage of " UINT64_FORMAT " keys needs %zu bytes.",
								   st->nkeys, raw_len)));
		}
	}

	result = segment_encode(v, raw, raw_len);
	if (raw)
		pfree(raw);
	pfree(v);
	return result;
}

/*
 * Decodes a stored segment into a new state allocated in mcxt, validating
 * it fully (lineage included).
 */
SegState *
segstate_from_segment(MemoryContext mcxt, Segment *seg, SegSource src)
{
	SegView    *v = palloc(sizeof(SegView));
	SegState   *st;
	int			i;

	segment_parse_or_error(SEGMENT_DATA(seg), SEGMENT_LEN(seg), v, src);
	st = segstate_create(mcxt, (v->flags & SEG_F_LINEAGE) != 0);
	ensure_measures(st, v->nmeasures);
	st->count = v->count;
	if (v->count > 0)
	{
		st->first_ts = v->first_ts;
		st->last_ts = v->last_ts;
	}
	st->checksum = v->checksum;
	st->counts_known = v->counts || v->count == 0;
	st->at_first = v->at_first;
	st->at_last = v->at_last;
	st->minmax_stale = (v->flags & SEG_F_MINMAX_STALE) != 0;
	st->distinct_stale = (v->flags & SEG_F_DISTINCT_STALE) != 0;
	ensure_distinct(st, v->ndistinct);
	for (i = 0; i < (int) v->ndistinct; i++)
		segdistinct_decode(mcxt, &st->d[i], &v->d[i], v->count, src);

	for (i = 0; i < (int) v->nmeasures; i++)
	{
		SegMeasure *m = &v->m[i];
		SegMeasureState *ms = &st->m[i];

		ms->kind = m->kind;
		ms->scale = m->scale;
		ms->nnull = m->nnull;
		ms->nonnull = v->count - m->nnull;
		if (ms->nonnull == 0)
			continue;
		ms->at_min = m->at_min;
		ms->at_max = m->at_max;
		if (m->kind == SEG_KIND_SCALED)
		{
			ms->sum = m->sum;
			ms->min = m->min;
			ms->max = m->max;
		}
		else
		{
			MemoryContext old = MemoryContextSwitchTo(mcxt);

			ms->nsum = segnum_decimal_to_numeric(m->dec[0], m->dec_len[0]);
			ms->nmin = segnum_decimal_to_numeric(m->dec[1], m->dec_len[1]);
			ms->nmax = segnum_decimal_to_numeric(m->dec[2], m->dec_len[2]);
			MemoryContextSwitchTo(old);
			if (numeric_compare(ms->nmin, ms->nmax) > 0)
				segment_report(SEG_ERR_MINMAX, src);
			if (v->counts &&
				seg_check_extreme_counts(ms->nonnull, ms->at_min, ms->at_max,
										 numeric_compare(ms->nmin, ms->nmax) == 0) != SEG_OK)
				segment_report(SEG_ERR_EXTREME_COUNT, src);
		}
	}

	if (st->lineage && v->count > 0)
	{
		uint8_t    *raw = segment_raw_lineage(v, src);
		SegKeyIter	it;
		SegStatus	status;

		st->keys = MemoryContextAllocHuge(mcxt, v->count * sizeof(int64));
		st->keys_cap = v->count;
		seg_key_iter_init(&it, raw, v->raw_len, v->count);
		while (it.remaining > 0)
		{
			int64_t		key;

			status = seg_key_next(&it, &key);
			if (status != SEG_OK)
				segment_report(status, src);
			st->keys[st->nkeys++] = key;
		}
		status = seg_key_iter_finish(&it);
		if (status != SEG_OK)
			segment_report(status, src);
		pfree(raw);
	}
	pfree(v);
	return st;
}
