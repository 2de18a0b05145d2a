/*-------------------------------------------------------------------------
 *
 * segment_distinct.c
 *	  Distinct measures of a segment (issue 17): the dhash type that marks
 *	  a value as a distinct measure, distinct_hash() that makes one, the
 *	  in-memory exact set / HyperLogLog sketch, and the distinct() accessor.
 *
 * A distinct measure is passed to segment_agg, retract and row_checksum as
 * an argument of type segroll.dhash (distinct_hash(column)), which is how
 * segroll_measure_args tells it from a numeric measure.  The hash is the
 * column type's extended hash function (support function 2 of its default
 * hash operator class) with a fixed seed, under the column's collation,
 * then mixed once more (seg_distinct_mix), so that it is the same in every
 * session and after a restore, and uniform enough for HyperLogLog.
 *
 * Exact while a cell has at most SEG_DIST_EXACT_MAX distinct hashes (a
 * count per hash keeps retraction exact); a sketch of 2^14 registers above
 * (relative standard error 1.04 / sqrt(16384) = 0.81 %), which cannot
 * subtract: a retraction from a sketch flags the segment
 * (SEG_F_DISTINCT_STALE) and the roll-up rebuilds the cell from its
 * lineage, as it does for stale min/max.
 *
 * All allocations of a state are made in the memory context the caller
 * passes (the state's own).
 *
 *-------------------------------------------------------------------------
 */
#include "segroll.h"

#include <math.h>

#include "access/transam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#define SEGROLL_DISTINCT_SEED	UINT64CONST(0x44697374696E6331)

/* ------------------------------------------------------------ the type */

PG_FUNCTION_INFO_V1(dhash_in);
Datum
dhash_in(PG_FUNCTION_ARGS)
{
	const char *s = PG_GETARG_CSTRING(0);
	uint64		v;

	if (!segroll_hex64(s, &v) || s[16] != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type dhash: \"%s\"", s),
				 errdetail("A dhash is 16 lower-case hexadecimal digits.")));
	PG_RETURN_INT64((int64) v);
}

PG_FUNCTION_INFO_V1(dhash_out);
Datum
dhash_out(PG_FUNCTION_ARGS)
{
	PG_RETURN_CSTRING(psprintf("%016" INT64_MODIFIER "x", (uint64) PG_GETARG_INT64(0)));
}

/*
 * Whether 'type' is segroll.dhash: the type named dhash in the schema of
 * the function being called (fn_oid, one of segroll's own).
 */
bool
segdistinct_is_dhash(Oid type, Oid fn_oid)
{
	Oid			nsp;

	if (!OidIsValid(fn_oid) || type < FirstNormalObjectId)
		return false;
	nsp = get_func_namespace(fn_oid);
	return type == GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
								   CStringGetDatum("dhash"), ObjectIdGetDatum(nsp));
}

/*
 * Checks that values of type 'type' under 'collation' can be a distinct
 * measure: the type needs an extended hash function, and a collatable
 * type a deterministic collation (under a non-deterministic one equal
 * values may differ in their bytes, and so in their hash).  Returns the
 * hash function's OID.
 */
static Oid
distinct_type_check(Oid type, Oid collation)
{
	Oid			base = getBaseType(type);
	TypeCacheEntry *tc;

	tc = lookup_type_cache(base, TYPECACHE_HASH_EXTENDED_PROC);
	if (!OidIsValid(tc->hash_extended_proc))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("a column of type %s cannot be a distinct measure", format_type_be(type)),
				 errdetail("The type has no extended hash function (a default hash operator class with support function 2)."),
				 errhint("Count a column of a type that has one, such as integer, bigint, text or uuid, or cast the column to text.")));
	if (type_is_collatable(base))
	{
		if (!OidIsValid(collation))
			ereport(ERROR,
					(errcode(ERRCODE_INDETERMINATE_COLLATION),
					 errmsg("could not determine which collation to use for the distinct hash")));
		if (!get_collation_isdeterministic(collation))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("a column with the non-deterministic collation \"%s\" cannot be a distinct measure",
							get_collation_name(collation)),
					 errdetail("Under a non-deterministic collation equal values may differ in their bytes, and so in their hash."),
					 errhint("Give the column a deterministic collation, such as \"C\" or \"default\".")));
	}
	return tc->hash_extended_proc;
}

typedef struct DistinctHashCache
{
	Oid			type;
	Oid			collation;
	FmgrInfo	hash;
} DistinctHashCache;

/*
 * segroll.distinct_hash(anyelement) RETURNS segroll.dhash: the value as a
 * distinct measure holds it.  STRICT: a NULL is not counted, as
 * count(DISTINCT) does not count it.
 */
PG_FUNCTION_INFO_V1(segroll_distinct_hash);
Datum
segroll_distinct_hash(PG_FUNCTION_ARGS)
{
	DistinctHashCache *c = fcinfo->flinfo->fn_extra;
	Oid			collation = PG_GET_COLLATION();
	uint64		h;

	/*
	 * The argument's type is that of the call site (flinfo), so it is
	 * resolved once, with the hash function, and not per row.
	 */
	if (c == NULL || !OidIsValid(c->type) || c->collation != collation)
	{
		Oid			type = get_fn_expr_argtype(fcinfo->flinfo, 0);
		Oid			proc;

		if (!OidIsValid(type))
			ereport(ERROR,
					(errcode(ERRCODE_INDETERMINATE_DATATYPE),
					 errmsg("could not determine the type of the distinct value")));
		if (c == NULL)
			c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(DistinctHashCache));
		c->type = InvalidOid;
		proc = distinct_type_check(type, collation);
		fmgr_info_cxt(proc, &c->hash, fcinfo->flinfo->fn_mcxt);
		c->type = type;
		c->collation = collation;
		fcinfo->flinfo->fn_extra = c;
	}
	h = DatumGetUInt64(FunctionCall2Coll(&c->hash, collation, PG_GETARG_DATUM(0),
										 UInt64GetDatum(SEGROLL_DISTINCT_SEED)));
	PG_RETURN_INT64((int64) seg_distinct_mix(h));
}

/*
 * segroll._check_distinct_type(t regtype, collation oid): an error unless
 * a column of type t with that collation can be a distinct measure.
 */
PG_FUNCTION_INFO_V1(segroll_check_distinct_type);
Datum
segroll_check_distinct_type(PG_FUNCTION_ARGS)
{
	(void) distinct_type_check(PG_GETARG_OID(0), PG_GETARG_OID(1));
	PG_RETURN_BOOL(true);
}

/* ------------------------------------------------------------ the state */

/*
 * Sorts n sparse sketch entries (index << 8 | rank, one per register) by
 * register, once when a sketch is encoded: a radix sort of the
 * SEG_HLL_P-bit index in two passes, through tmp (n entries).
 */
#define RADIX_BITS_LO	(SEG_HLL_P / 2)
#define RADIX_BITS_HI	(SEG_HLL_P - RADIX_BITS_LO)

static void
sort_sparse_entries(uint32 *e, uint32 *tmp, uint32 n)
{
	uint32		lo[1 << RADIX_BITS_LO] = {0};
	uint32		hi[1 << RADIX_BITS_HI] = {0};
	uint32		i,
				sum;

	for (i = 0; i < n; i++)
	{
		lo[(e[i] >> 8) & ((1 << RADIX_BITS_LO) - 1)]++;
		hi[e[i] >> (8 + RADIX_BITS_LO)]++;
	}
	sum = 0;
	for (i = 0; i < lengthof(lo); i++)
	{
		uint32		c = lo[i];

		lo[i] = sum;
		sum += c;
	}
	sum = 0;
	for (i = 0; i < lengthof(hi); i++)
	{
		uint32		c = hi[i];

		hi[i] = sum;
		sum += c;
	}
	for (i = 0; i < n; i++)
		tmp[lo[(e[i] >> 8) & ((1 << RADIX_BITS_LO) - 1)]++] = e[i];
	for (i = 0; i < n; i++)
		e[hi[tmp[i] >> (8 + RADIX_BITS_LO)]++] = tmp[i];
}

/* an exact set's (hash, count) pairs, sorted by hash when it is encoded */
typedef struct HashCount
{
	uint64		hash;
	uint64		cnt;
} HashCount;

#define ST_SORT sort_hash_counts
#define ST_ELEMENT_TYPE HashCount
#define ST_COMPARE(a, b) (((a)->hash > (b)->hash) - ((a)->hash < (b)->hash))
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * A sparse sketch is an open-addressing table (linear probing) of entries
 * index << 8 | rank, 0 for an empty slot, keyed by the register index (the
 * hash's top bits, so uniform), at most three quarters full.  It starts
 * with SPARSE_INITIAL slots, doubles, and goes dense rather than grow past
 * SPARSE_MAX_SLOTS (8 kB, half the registers' 16 kB).
 */
#define SPARSE_INITIAL		512
#define SPARSE_MAX_SLOTS	2048
#define SPARSE_FULL(slots)	((slots) / 4 * 3)

/* Puts an entry into a sparse table: a new register, or a larger rank. */
static inline void
sparse_put(uint32 *tab, uint32 mask, uint32 entry, uint32 *n)
{
	uint32		idx = entry >> 8;
	uint32		s = idx & mask;

	for (;;)
	{
		uint32		e = tab[s];

		if (e == 0)
		{
			tab[s] = entry;
			(*n)++;
			return;
		}
		if ((e >> 8) == idx)
		{
			if (entry > e)		/* same register: the larger rank */
				tab[s] = entry;
			return;
		}
		s = (s + 1) & mask;
	}
}

/* A new, empty sparse table of 'slots' slots (a power of two). */
static void
sparse_init(MemoryContext mcxt, SegDistinctState *d, uint32 slots)
{
	d->sp = MemoryContextAllocZero(mcxt, slots * sizeof(uint32));
	d->cap = slots;
	d->n = 0;
}

static void
to_dense(MemoryContext mcxt, SegDistinctState *d)
{
	uint32		i;

	Assert(d->sketch);
	if (d->reg)
		return;
	d->reg = MemoryContextAllocZero(mcxt, SEG_HLL_M);
	for (i = 0; i < d->cap; i++)
	{
		uint32		e = d->sp[i];
		uint32		idx = e >> 8;
		uint8		rank = e & 0xFF;

		if (rank > d->reg[idx])
			d->reg[idx] = rank;
	}
	if (d->sp)
		pfree(d->sp);
	d->sp = NULL;
	d->n = d->cap = 0;
}

/* Adds an entry (index << 8 | rank) to a sketch, sparse or dense. */
static void
sketch_add_entry(MemoryContext mcxt, SegDistinctState *d, uint32 entry)
{
	if (d->reg == NULL && d->n >= SPARSE_FULL(d->cap))
	{
		if (d->cap * 2 > SPARSE_MAX_SLOTS)
			to_dense(mcxt, d);
		else
		{
			uint32	   *old = d->sp;
			uint32		oldcap = d->cap,
						i;

			sparse_init(mcxt, d, oldcap * 2);
			for (i = 0; i < oldcap; i++)
				if (old[i] != 0)
					sparse_put(d->sp, d->cap - 1, old[i], &d->n);
			pfree(old);
		}
	}
	if (d->reg)
	{
		uint32		idx = entry >> 8;
		uint8		rank = entry & 0xFF;

		d->reg[idx] = Max(d->reg[idx], rank);
		return;
	}
	sparse_put(d->sp, d->cap - 1, entry, &d->n);
}

/* Adds a hash to a sketch, sparse or dense. */
static inline void
sketch_add(MemoryContext mcxt, SegDistinctState *d, uint64 hash)
{
	uint32		idx;
	uint8		rank;

	seg_hll_position(hash, &idx, &rank);
	if (d->reg)
	{
		d->reg[idx] = Max(d->reg[idx], rank);
		return;
	}
	sketch_add_entry(mcxt, d, idx << 8 | rank);
}

static void
to_sketch(MemoryContext mcxt, SegDistinctState *d)
{
	uint64	   *hash = d->hash;
	uint64	   *cnt = d->cnt;
	uint32		n = d->n,
				i;

	if (d->sketch)
		return;
	d->sketch = true;
	d->hash = d->cnt = NULL;
	if (d->slot)
		pfree(d->slot);
	d->slot = NULL;
	d->nslots = 0;
	sparse_init(mcxt, d, SPARSE_INITIAL);
	for (i = 0; i < n; i++)
		sketch_add(mcxt, d, hash[i]);
	if (hash)
	{
		pfree(hash);
		pfree(cnt);
	}
}

/*
 * (Re)builds the index of an exact set: 2 * cap slots (at most half full),
 * each the position + 1 of a hash in hash[], 0 empty, found by linear
 * probing from the hash's low bits (it is well mixed).
 */
static void
exact_index(MemoryContext mcxt, SegDistinctState *d)
{
	uint32		nslots = Max(d->cap, 8) * 2;
	uint32		mask = nslots - 1,
				i;

	if (d->slot == NULL || d->nslots != nslots)
	{
		if (d->slot)
			pfree(d->slot);
		d->slot = MemoryContextAlloc(mcxt, nslots * sizeof(uint16));
		d->nslots = nslots;
	}
	memset(d->slot, 0, nslots * sizeof(uint16));
	for (i = 0; i < d->n; i++)
	{
		uint32		s = (uint32) d->hash[i] & mask;

		while (d->slot[s] != 0)
			s = (s + 1) & mask;
		d->slot[s] = (uint16) (i + 1);
	}
}

/* Sorts an exact set by hash (for encoding, subtraction); drops its index. */
static void
exact_sort(SegDistinctState *d)
{
	HashCount  *pairs;
	uint32		i;

	if (d->sketch || d->sorted || d->n < 2)
	{
		d->sorted = true;
		return;
	}
	pairs = palloc(d->n * sizeof(HashCount));
	for (i = 0; i < d->n; i++)
	{
		pairs[i].hash = d->hash[i];
		pairs[i].cnt = d->cnt[i];
	}
	sort_hash_counts(pairs, d->n);
	for (i = 0; i < d->n; i++)
	{
		d->hash[i] = pairs[i].hash;
		d->cnt[i] = pairs[i].cnt;
	}
	pfree(pairs);
	if (d->slot)
		pfree(d->slot);
	d->slot = NULL;
	d->nslots = 0;
	d->sorted = true;
}

/* position of hash in a sorted exact set, or where it would go */
static uint32
find_hash(const SegDistinctState *d, uint64 hash)
{
	uint32		lo = 0,
				hi = d->n;

	Assert(d->sorted || d->n < 2);
	while (lo < hi)
	{
		uint32		mid = (lo + hi) / 2;

		if (d->hash[mid] < hash)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Adds 'count' rows with value hash 'hash'. */
void
segdistinct_add(MemoryContext mcxt, SegDistinctState *d, uint64 hash, uint64 count)
{
	uint32		mask,
				s,
				k;

	if (d->sketch)
	{
		sketch_add(mcxt, d, hash);
		return;
	}
	if (d->slot == NULL)
		exact_index(mcxt, d);
	mask = d->nslots - 1;
	s = (uint32) hash & mask;
	while ((k = d->slot[s]) != 0)
	{
		if (d->hash[k - 1] == hash)
		{
			d->cnt[k - 1] += count;
			return;
		}
		s = (s + 1) & mask;
	}
	if (d->n == SEG_DIST_EXACT_MAX)
	{
		to_sketch(mcxt, d);
		sketch_add(mcxt, d, hash);
		return;
	}
	d->sorted = d->n == 0 || (d->sorted && hash > d->hash[d->n - 1]);
	if (d->n == d->cap)
	{
		uint32		cap = Min(Max(d->cap * 2, 8), SEG_DIST_EXACT_MAX);

		if (d->hash == NULL)
		{
			d->hash = MemoryContextAlloc(mcxt, cap * sizeof(uint64));
			d->cnt = MemoryContextAlloc(mcxt, cap * sizeof(uint64));
		}
		else
		{
			d->hash = repalloc(d->hash, cap * sizeof(uint64));
			d->cnt = repalloc(d->cnt, cap * sizeof(uint64));
		}
		d->cap = cap;
		d->hash[d->n] = hash;
		d->cnt[d->n] = count;
		d->n++;
		exact_index(mcxt, d);	/* larger: index it again */
		return;
	}
	d->slot[s] = (uint16) (d->n + 1);
	d->hash[d->n] = hash;
	d->cnt[d->n] = count;
	d->n++;
}

/*
 * Adds the pending hashes of rows (segdistinct_add_row).  The slots they
 * go to are prefetched first, so that the cache misses of a batch overlap
 * instead of coming one per row.
 */
void
segdistinct_flush(MemoryContext mcxt, SegDistinctState *d)
{
	uint32		n = d->npend,
				i;

	if (n == 0)
		return;
	d->npend = 0;
	if (d->sketch && d->reg)
	{
		for (i = 0; i < n; i++)
			__builtin_prefetch(&d->reg[d->pend[i] >> (64 - SEG_HLL_P)], 1);
	}
	else if (d->sketch)
	{
		for (i = 0; i < n; i++)
			__builtin_prefetch(&d->sp[(d->pend[i] >> (64 - SEG_HLL_P)) & (d->cap - 1)], 1);
	}
	else if (d->slot)
	{
		for (i = 0; i < n; i++)
			__builtin_prefetch(&d->slot[(uint32) d->pend[i] & (d->nslots - 1)], 0);
	}
	for (i = 0; i < n; i++)
		segdistinct_add(mcxt, d, d->pend[i], 1);
}

/* Folds src into dst: a union of sets, a register-wise max of sketches. */
void
segdistinct_combine(MemoryContext mcxt, SegDistinctState *dst, SegDistinctState *src)
{
	uint32		i;

	segdistinct_flush(mcxt, dst);
	segdistinct_flush(mcxt, src);
	if (src->sketch)
	{
		uint8	   *restrict d;
		const uint8 *restrict s;

		to_sketch(mcxt, dst);
		if (src->reg == NULL)
		{
			for (i = 0; i < src->cap; i++)
				if (src->sp[i] != 0)
					sketch_add_entry(mcxt, dst, src->sp[i]);
			return;
		}
		to_dense(mcxt, dst);
		d = dst->reg;
		s = src->reg;
		/* register-wise maximum, branch-free so that it vectorizes */
		for (i = 0; i < SEG_HLL_M; i++)
			d[i] = d[i] > s[i] ? d[i] : s[i];
		return;
	}
	for (i = 0; i < src->n; i++)
		segdistinct_add(mcxt, dst, src->hash[i], src->cnt[i]);
}

/*
 * Removes src's values from dst.  Exact in exact mode (an error, 22S01, if
 * a value is not in dst); a sketch cannot subtract: returns false, and the
 * caller flags the segment's distinct counts as stale.
 */
bool
segdistinct_subtract(MemoryContext mcxt, SegDistinctState *dst, const SegDistinctState *src,
					 int position)
{
	uint32		i,
				out;

	segdistinct_flush(mcxt, dst);
	Assert(src->npend == 0);
	if (!src->sketch && src->n == 0)
		return true;
	if (dst->sketch)
		return false;
	if (src->sketch)
		ereport(ERROR,
				(errcode(ERRCODE_SEGROLL_NOT_CONTAINED),
				 errmsg("the values of distinct measure %d are not in the segment they are subtracted from",
						position)));
	exact_sort(dst);
	for (i = 0; i < src->n; i++)
	{
		uint32		pos = find_hash(dst, src->hash[i]);

		if (pos >= dst->n || dst->hash[pos] != src->hash[i] || dst->cnt[pos] < src->cnt[i])
			ereport(ERROR,
					(errcode(ERRCODE_SEGROLL_NOT_CONTAINED),
					 errmsg("a value of distinct measure %d is not in the segment it is subtracted from",
							position)));
		dst->cnt[pos] -= src->cnt[i];
	}
	out = 0;
	for (i = 0; i < dst->n; i++)
	{
		if (dst->cnt[i] == 0)
			continue;
		dst->hash[out] = dst->hash[i];
		dst->cnt[out] = dst->cnt[i];
		out++;
	}
	if (out != dst->n && dst->slot)
	{
		/* positions moved: the index is built again on the next addition */
		pfree(dst->slot);
		dst->slot = NULL;
		dst->nslots = 0;
	}
	dst->n = out;
	return true;
}

/* Writes the payload (out: SEG_DIST_MAX_PAYLOAD bytes) and its mode. */
size_t
segdistinct_encode(MemoryContext mcxt, SegDistinctState *d, uint8_t *out, uint8_t *mode)
{
	segdistinct_flush(mcxt, d);
	if (d->sketch)
	{
		if (d->reg == NULL)
		{
			size_t		len;
			uint32		i,
						prev = 0;

			uint32	   *e = palloc(Max(d->n, 1) * 2 * sizeof(uint32));
			uint32		k = 0;

			/*
			 * A sparse encoding shorter than any dense one is the canonical
			 * encoding: write it from the entries (one per register, in
			 * register order), without registers.
			 */
			for (i = 0; i < d->cap; i++)
				if (d->sp[i] != 0)
					e[k++] = d->sp[i];
			Assert(k == d->n);
			sort_sparse_entries(e, e + k, k);
			len = seg_put_uvarint(out, k);
			for (i = 0; i < k && len < SEG_DIST_SPARSE_SHORT; i++)
			{
				uint32		idx = e[i] >> 8;

				len += seg_put_uvarint(out + len, i == 0 ? idx : idx - prev);
				out[len++] = (uint8_t) (e[i] & 0xFF);
				prev = idx;
			}
			pfree(e);
			if (i == k && len < SEG_DIST_SPARSE_SHORT)
			{
				*mode = SEG_DIST_SPARSE;
				return len;
			}
			to_dense(mcxt, d);
		}
		return seg_distinct_encode_sketch(d->reg, out, mode);
	}
	exact_sort(d);
	*mode = SEG_DIST_EXACT;
	return seg_distinct_encode_exact(d->hash, d->cnt, d->n, out);
}

/* Decodes and validates a stored distinct measure into d. */
void
segdistinct_decode(MemoryContext mcxt, SegDistinctState *d, const SegDistinct *sd,
				   uint64 count, SegSource src)
{
	SegStatus	st;

	memset(d, 0, sizeof(*d));
	if (sd->mode == SEG_DIST_EXACT)
	{
		uint32		n;

		d->hash = MemoryContextAlloc(mcxt, SEG_DIST_EXACT_MAX * sizeof(uint64));
		d->cnt = MemoryContextAlloc(mcxt, SEG_DIST_EXACT_MAX * sizeof(uint64));
		d->cap = SEG_DIST_EXACT_MAX;
		st = seg_distinct_exact(sd, count, d->hash, d->cnt, &n);
		d->n = n;
		d->sorted = true;		/* the stored set is in hash order */
	}
	else if (sd->mode == SEG_DIST_SPARSE && sd->len < SEG_DIST_SPARSE_SHORT)
	{
		/*
		 * A short sparse sketch (the partial states of a parallel build,
		 * cells of a few thousand values): its entries, validated, without
		 * 16 kB of registers; a table of them while few, else registers.
		 */
		uint32	   *e = palloc((sd->len / 2 + 1) * sizeof(uint32));
		uint32		k = 0,
					i,
					slots = SPARSE_INITIAL;

		d->sketch = true;
		st = seg_distinct_sparse_entries(sd, e, &k);
		if (st == SEG_OK)
		{
			while (k > SPARSE_FULL(slots) && slots < SPARSE_MAX_SLOTS)
				slots *= 2;
			if (k <= SPARSE_FULL(slots))
			{
				sparse_init(mcxt, d, slots);
				for (i = 0; i < k; i++)
					sparse_put(d->sp, slots - 1, e[i], &d->n);
			}
			else
			{
				d->reg = MemoryContextAllocZero(mcxt, SEG_HLL_M);
				for (i = 0; i < k; i++)
					d->reg[e[i] >> 8] = (uint8) (e[i] & 0xFF);
			}
		}
		pfree(e);
	}
	else
	{
		d->sketch = true;
		d->reg = MemoryContextAlloc(mcxt, SEG_HLL_M);
		st = seg_distinct_registers(sd, d->reg);
	}
	if (st != SEG_OK)
		segment_report(st, src);
}

int64
segdistinct_estimate(MemoryContext mcxt, SegDistinctState *d)
{
	segdistinct_flush(mcxt, d);
	if (!d->sketch)
		return d->n;
	to_dense(mcxt, d);
	return (int64) llround(seg_hll_estimate(d->reg));
}

/* ------------------------------------------------------------ accessors */

/*
 * distinct(seg, n): the number of distinct values of the n-th distinct
 * measure (1-based): exact up to SEG_DIST_EXACT_MAX, an estimate above.
 */
PG_FUNCTION_INFO_V1(segment_distinct);
Datum
segment_distinct(PG_FUNCTION_ARGS)
{
	Segment    *seg = PG_GETARG_SEGMENT_PP(0);
	int32		n = PG_GETARG_INT32(1);
	SegView    *v = palloc(sizeof(SegView));
	SegDistinctState d;
	int64		result;

	segment_view(seg, v);
	if (n < 1 || n > (int32) v->ndistinct)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment has no distinct measure %d", n),
				 errdetail("The segment has %u distinct measures, numbered from 1.", v->ndistinct)));
	if (v->flags & SEG_F_DISTINCT_STALE)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("segment distinct count is not known after a retraction from its sketch"),
				 errhint("Rebuild the segment from its source rows; a segmentation's roll-up does so.")));
	segdistinct_decode(CurrentMemoryContext, &d, &v->d[n - 1], v->count, SEG_SOURCE_DISK);
	result = segdistinct_estimate(CurrentMemoryContext, &d);
	pfree(v);
	PG_RETURN_INT64(result);
}

PG_FUNCTION_INFO_V1(segment_distinct_measures);
Datum
segment_distinct_measures(PG_FUNCTION_ARGS)
{
	SegView    *v = palloc(sizeof(SegView));
	int32		n;

	segment_view(PG_GETARG_SEGMENT_PP(0), v);
	n = (int32) v->ndistinct;
	pfree(v);
	PG_RETURN_INT32(n);
}

PG_FUNCTION_INFO_V1(segment_distinct_known);
Datum
segment_distinct_known(PG_FUNCTION_ARGS)
{
	SegView    *v = palloc(sizeof(SegView));
	bool		known;

	segment_view(PG_GETARG_SEGMENT_PP(0), v);
	known = (v->flags & SEG_F_DISTINCT_STALE) == 0;
	pfree(v);
	PG_RETURN_BOOL(known);
}

/*
 * distinct_exact(seg, n): whether the n-th distinct measure is the exact
 * set (true) or a sketch (false).
 */
PG_FUNCTION_INFO_V1(segment_distinct_exact);
Datum
segment_distinct_exact(PG_FUNCTION_ARGS)
{
	SegView    *v = palloc(sizeof(SegView));
	int32		n = PG_GETARG_INT32(1);
	bool		exact;

	segment_view(PG_GETARG_SEGMENT_PP(0), v);
	if (n < 1 || n > (int32) v->ndistinct)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment has no distinct measure %d", n),
				 errdetail("The segment has %u distinct measures, numbered from 1.", v->ndistinct)));
	exact = v->d[n - 1].mode == SEG_DIST_EXACT;
	pfree(v);
	PG_RETURN_BOOL(exact);
}
