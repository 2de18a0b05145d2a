/*-------------------------------------------------------------------------
 *
 * segment_codec.h
 *	  On-disk format of a segment value, and its encoder and validating
 *	  decoder.
 *
 * The codec is plain C (no palloc, no ereport) so that the same code runs
 * inside the backend and under a coverage-guided fuzzer (fuzz/).  Every
 * decoder function returns a SegStatus; callers in the backend turn a
 * status into an ereport with the SQLSTATE that fits where the bytes came
 * from (client input or disk).
 *
 * Layout of the bytes after the varlena header (all integers LEB128
 * varints unless noted; "zz" means zigzag-encoded signed):
 *
 *	uint8	version				SEG_FORMAT_VERSION
 *	uint8	flags				SEG_F_*
 *	varint	count				number of source rows
 *	varint	nmeasures			<= SEG_MAX_MEASURES
 *	if count > 0:
 *		zz		first_ts		microseconds, as timestamptz
 *		varint	last_ts - first_ts
 *		version 3, last_ts > first_ts: varint at_first, varint at_last
 *		(rows at first_ts and at last_ts; see "Extreme counts" below)
 *	8 bytes	checksum			little-endian, sum mod 2^64 of row hashes
 *	per measure:
 *		uint8	kind			SEG_KIND_SCALED or SEG_KIND_DECIMAL
 *		varint	nnull			NULL inputs, <= count
 *		SCALED:  varint scale  (<= SEG_MAX_SCALE)
 *		if count - nnull > 0:
 *			SCALED:  zz128 sum, zz128 min, zz128 max  (value * 10^scale)
 *			DECIMAL: three strings (varint length + ASCII) as numeric_out
 *					 prints them: sum, min, max
 *			version 3, min <> max (DECIMAL: not the same text): varint
 *			at_min, varint at_max (non-NULL values equal to min, to max)
 *	version 2 (a segment with distinct measures, issue 17):
 *	varint	ndistinct			1 .. SEG_MAX_MEASURES
 *	version 3: the same section, but ndistinct may be 0 (then nothing follows)
 *	per distinct measure:
 *		uint8	mode			SEG_DIST_EXACT, SEG_DIST_SPARSE or SEG_DIST_DENSE
 *		varint	len				bytes of the payload that follows
 *		payload:
 *		EXACT:	varint n (<= SEG_DIST_EXACT_MAX) distinct 64-bit value hashes;
 *				n x 8 bytes little-endian, strictly increasing;
 *				varint r (<= n), then r x (varint position gap, varint
 *				count - 2): the hashes counted more than once (the first gap
 *				is the position itself, later gaps >= 1); every other hash
 *				counts once.  The counts let a retraction stay exact.
 *		SPARSE:	varint k (1 .. SEG_HLL_M) non-zero HLL registers, then
 *				k x (varint index gap, uint8 value 1 .. SEG_HLL_MAXRANK);
 *				the first gap is the index itself, later gaps >= 1.
 *		DENSE:	uint8 base (the smallest register); SEG_HLL_M / 2 bytes of
 *				nibbles, register i in the low nibble of byte i / 2 when i
 *				is even: value - base, or 15 for an escape; varint e, then
 *				e x (varint index gap, uint8 value >= base + 15) for the
 *				escapes, in index order.
 *		SPARSE is used exactly when it is shorter than DENSE, so that a
 *		sketch has one encoding.
 *	if flags & SEG_F_LINEAGE and count > 0:
 *		varint	raw_len			bytes of the uncompressed key encoding
 *		rest					one standard zstd frame (SEG_F_ZSTD), or the raw encoding
 *
 * Extreme counts (version 3, issue 13): how many rows hold the first time,
 * the last time, and per measure the min and the max, so that retracting
 * one of several rows at an extreme leaves it exact.  Version 3 is written
 * exactly when the counts are known: never for an empty segment (nothing
 * to count; versions 1/2 say it), never with SEG_F_MINMAX_STALE (a segment
 * whose bounds are stale keeps no counts), never for a segment built from
 * or merged with a version 1/2 value with rows (counts unknown).  Rules:
 * 1 <= at_first, at_last <= count; at_first = at_last = count when
 * first = last, else at_first + at_last <= count; likewise at_min/at_max
 * against the non-NULL count and min = max.  Counts that the rules imply
 * are not stored: none for the times when first = last, none for a
 * measure whose min = max (for DECIMAL: the same text), so a one-row cell
 * costs version 3 only its empty distinct section.  For DECIMAL measures
 * whose min and max are spelled differently the codec checks the ranges
 * only; the backend compares them as numerics (segment.c,
 * segment_state.c).
 *
 * One-row form (flag SEG_F_ONE_ROW, any version, issue 13): a segment of
 * exactly one row with exact bounds is stored without what its row
 * implies.  Fine-grain cells are mostly such segments, and the full form
 * spends about 18 of their 44 bytes (10 M-row benchmark, two measures) on
 * copies: count (1), last - first (0), min and max (= sum), raw_len (the
 * key's own length) and, with lineage, the checksum (the row's hash,
 * recomputable from the key, the time and the values).  A flag rather than
 * a version 4: the form is orthogonal to what versions 1 to 3 say (extreme
 * counts known, distinct measures), so the version keeps its meaning and
 * the text output, which prints it, does not change.  Layout:
 *
 *	uint8	version				as the full form would be (1, 2 or 3)
 *	uint8	flags				SEG_F_ONE_ROW set; never SEG_F_ZSTD nor
 *								SEG_F_MINMAX_STALE
 *	varint	nmeasures
 *	zz		first_ts			= last_ts; count = 1
 *	per measure:
 *		uint8	kind; varint nnull (0 or 1); SCALED: varint scale
 *		if nnull = 0:	SCALED: zz128 sum; DECIMAL: one string, the sum
 *						(min = max = sum; version 3: at_min = at_max = 1)
 *	version 2 and 3: the distinct section, as in the full form
 *	8 bytes	checksum			only if it cannot be recomputed: without
 *								lineage, with distinct measures (whose place
 *								among the row's values is not stored), or with
 *								a DECIMAL value (its row hash depends on
 *								numeric's text)
 *	if SEG_F_LINEAGE: zz key	the raw key encoding of one key, the rest of
 *								the value (raw_len is its length)
 *
 * The recomputed checksum is seg_one_row_checksum(): the row hash of
 * segstate_row_hash(), which hashes a value as its mantissa without
 * trailing zeros and the scale that leaves, so it depends only on the
 * value, not on the scale the segment stores it at.  version 3's counts are
 * all 1.  The encoder (seg_encode_value) writes the one-row form exactly
 * when the content has it: count = 1, bounds exact, first = last, min = max
 * = sum (DECIMAL: the same text), counts (if known) 1, and, when the
 * checksum would be implied, the stored checksum equal to the recomputed
 * one; otherwise (e.g. a text input with another checksum) the full form.
 * A one-row form can hold nothing inconsistent, since what it leaves out
 * is derived.  Full-form values of one row written before it stay valid;
 * SegView reads both alike (one_row says which form was read, and flags
 * never carries SEG_F_ONE_ROW), and equality, ordering and hashing compare
 * the full form without counts (seg_encode_fixed_without_counts), so a
 * 0.4.0 value equals its one-row rebuild.
 *
 * The raw key encoding is zz(first key) followed by count - 1 varint gaps,
 * each >= 1: keys are strictly increasing, so a key cannot be counted twice.
 * Varints must be minimal, so that a segment's content has exactly one
 * uncompressed encoding; equality and hashing rely on that.
 *
 *-------------------------------------------------------------------------
 */
#ifndef SEGMENT_CODEC_H
#define SEGMENT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * 8-byte aligned like PostgreSQL's own int128, so that structs holding them
 * may live in palloc'd (MAXALIGN) memory.
 */
typedef __int128 seg_int128 __attribute__((aligned(8)));
typedef unsigned __int128 seg_uint128 __attribute__((aligned(8)));

#define SEG_FORMAT_VERSION		1
#define SEG_FORMAT_VERSION_DISTINCT	2	/* only with distinct measures */
#define SEG_FORMAT_VERSION_COUNTS	3	/* extreme counts known (issue 13) */

#define SEG_F_LINEAGE			0x01	/* source keys are stored */
#define SEG_F_ZSTD				0x02	/* key encoding is zstd-compressed */
#define SEG_F_MINMAX_STALE		0x04	/* a retraction made min/max/first/last
										 * bounds, not exact values */
#define SEG_F_DISTINCT_STALE	0x08	/* a retraction from a sketch made the
										 * distinct counts unknown (version 2) */
#define SEG_F_ALL				(SEG_F_LINEAGE | SEG_F_ZSTD | SEG_F_MINMAX_STALE | SEG_F_DISTINCT_STALE)
/*
 * On disk only: the value is in the one-row form.  seg_parse reports it as
 * SegView.one_row, not in SegView.flags; the encoder sets it by itself.
 */
#define SEG_F_ONE_ROW			0x10

/*
 * Distinct measures (issue 17): the exact set of value hashes, with a
 * count per hash, while there are at most SEG_DIST_EXACT_MAX of them; a
 * HyperLogLog sketch of 2^SEG_HLL_P registers above.  A register holds
 * the rank (leading zeros + 1) of the 50 bits below the 14 index bits of a
 * 64-bit hash, 1 .. 51, or 0 when no hash has reached it.
 */
#define SEG_DIST_EXACT			0
#define SEG_DIST_SPARSE			1
#define SEG_DIST_DENSE			2
#define SEG_DIST_EXACT_MAX		256
#define SEG_HLL_P				14
#define SEG_HLL_M				(1 << SEG_HLL_P)
#define SEG_HLL_MAXRANK			(64 - SEG_HLL_P + 1)
/* a dense payload takes at least this many bytes: a shorter sparse one
 * is the canonical encoding */
#define SEG_DIST_SPARSE_SHORT	(2 + SEG_HLL_M / 2)
/* the largest payload a distinct measure can have (a dense sketch with
 * every register escaped is longer than its sparse form, so never) */
#define SEG_DIST_MAX_PAYLOAD	(10 + SEG_HLL_M * 4)
/* scratch space seg_distinct_validate needs */
#define SEG_DIST_SCRATCH		(SEG_HLL_M > 16 * SEG_DIST_EXACT_MAX ? SEG_HLL_M : 16 * SEG_DIST_EXACT_MAX)

#define SEG_KIND_SCALED			0	/* exact integer scaled by 10^scale */
#define SEG_KIND_DECIMAL		1	/* numeric text; beyond 128 bits, NaN, inf */

#define SEG_MAX_MEASURES		64
#define SEG_MAX_SCALE			38	/* 10^38 still fits in 128 bits */
#define SEG_MAX_DECIMAL_LEN		4096
/* largest decoded buffer we ever allocate: stays below MaxAllocSize */
#define SEG_MAX_RAW_LEN			((size_t) 0x3FFFFFFF - 1024)
/* a zstd level that keeps encoding cheap on the aggregate path */
#define SEG_ZSTD_LEVEL			3
/* below this many raw lineage bytes zstd's frame overhead wins */
#define SEG_ZSTD_MIN_RAW		64

typedef enum SegStatus
{
	SEG_OK = 0,
	SEG_ERR_EMPTY,				/* no bytes at all */
	SEG_ERR_TRUNCATED,			/* value ends inside a field */
	SEG_ERR_TRAILING,			/* bytes after the last field */
	SEG_ERR_VERSION,			/* unknown format version */
	SEG_ERR_FLAGS,				/* unknown or inconsistent flag bits */
	SEG_ERR_VARINT,				/* overlong or non-minimal varint */
	SEG_ERR_RANGE,				/* a number out of its allowed range */
	SEG_ERR_MINMAX,				/* min > max, or first > last */
	SEG_ERR_KIND,				/* unknown measure kind */
	SEG_ERR_DECIMAL,			/* malformed decimal text */
	SEG_ERR_TOO_LARGE,			/* declared size beyond what we allocate */
	SEG_ERR_LINEAGE_SIZE,		/* declared raw size inconsistent */
	SEG_ERR_ZSTD,				/* not exactly one valid zstd frame */
	SEG_ERR_ZSTD_SIZE,			/* frame content size differs from declared */
	SEG_ERR_KEY_ORDER,			/* keys not strictly increasing */
	SEG_ERR_KEY_COUNT,			/* number of keys differs from count */
	SEG_ERR_NOT_CANONICAL,		/* content that has another encoding */
	SEG_ERR_DISTINCT,			/* a distinct measure of unknown mode */
	SEG_ERR_DIST_ORDER,			/* hashes or register indexes not increasing */
	SEG_ERR_DIST_RANGE,			/* a set too large, a register out of range */
	SEG_ERR_DIST_COUNT,			/* value counts above the row count */
	SEG_ERR_DIST_CANONICAL,		/* a sketch that has a shorter encoding */
	SEG_ERR_EXTREME_COUNT		/* counts of rows at min/max/first/last
								 * out of range or inconsistent */
} SegStatus;

/* One distinct measure of a parsed segment: its payload, not yet checked. */
typedef struct SegDistinct
{
	uint8_t		mode;
	const uint8_t *data;
	size_t		len;
} SegDistinct;

typedef struct SegMeasure
{
	uint8_t		kind;
	uint32_t	scale;			/* SCALED only */
	uint64_t	nnull;
	/* SCALED, present when count > nnull */
	seg_int128	sum;
	seg_int128	min;
	seg_int128	max;
	/* DECIMAL, present when count > nnull; not NUL-terminated */
	const char *dec[3];			/* sum, min, max */
	uint32_t	dec_len[3];
	/* version 3, present when count > nnull: values equal to min, max */
	uint64_t	at_min;
	uint64_t	at_max;
} SegMeasure;

/* A parsed segment; pointers refer into the buffer that was parsed. */
typedef struct SegView
{
	uint8_t		version;
	uint8_t		flags;
	uint64_t	count;
	int64_t		first_ts;
	int64_t		last_ts;
	bool		counts;			/* version 3: the at_* counts are known */
	bool		one_row;		/* read from the one-row form (SEG_F_ONE_ROW) */
	uint64_t	at_first;		/* version 3, count > 0: rows at first_ts */
	uint64_t	at_last;		/* ... and at last_ts */
	uint64_t	checksum;
	uint32_t	nmeasures;
	SegMeasure	m[SEG_MAX_MEASURES];
	uint32_t	ndistinct;		/* version 2 only */
	SegDistinct d[SEG_MAX_MEASURES];
	size_t		fixed_len;		/* bytes before the lineage section */
	uint64_t	raw_len;		/* uncompressed key encoding size */
	const uint8_t *lineage;		/* stored key encoding (maybe zstd) */
	size_t		lineage_len;
} SegView;

/* Iterator over a raw (uncompressed) key encoding. */
typedef struct SegKeyIter
{
	const uint8_t *p;
	const uint8_t *end;
	uint64_t	remaining;
	uint64_t	prev;			/* previous key, offset by 2^63 */
	bool		started;
} SegKeyIter;

extern const char *seg_status_message(SegStatus status);

/* varints */
extern size_t seg_put_uvarint(uint8_t *out, uint64_t v);
extern size_t seg_put_svarint(uint8_t *out, int64_t v);
extern size_t seg_put_svarint128(uint8_t *out, seg_int128 v);
extern SegStatus seg_get_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *v);
extern SegStatus seg_get_svarint(const uint8_t **p, const uint8_t *end, int64_t *v);
extern SegStatus seg_get_svarint128(const uint8_t **p, const uint8_t *end, seg_int128 *v);

/* decimal text as numeric_out prints it */
extern bool seg_decimal_valid(const char *s, size_t len);

/* parsing */
extern SegStatus seg_check_extreme_counts(uint64_t n, uint64_t at_lo, uint64_t at_hi, bool equal);
extern SegStatus seg_check_view_counts(const SegView *v);
extern SegStatus seg_parse(const uint8_t *data, size_t len, SegView *v);
extern SegStatus seg_lineage_raw(const SegView *v, uint8_t *raw);
extern void seg_key_iter_init(SegKeyIter *it, const uint8_t *raw, size_t raw_len, uint64_t count);
extern SegStatus seg_key_next(SegKeyIter *it, int64_t *key);
extern SegStatus seg_key_iter_finish(const SegKeyIter *it);
extern SegStatus seg_lineage_validate(const uint8_t *raw, size_t raw_len, uint64_t count);

/* encoding */
extern size_t seg_raw_keys_bound(uint64_t nkeys);
extern size_t seg_encode_keys(const int64_t *keys, uint64_t nkeys, uint8_t *out);
extern size_t seg_fixed_bound(const SegView *v);
extern size_t seg_encode_fixed(const SegView *v, uint8_t *out);
extern bool seg_one_row_checksum(const SegView *v, int64_t key, uint64_t *checksum);
extern bool seg_one_row_form(const SegView *v, const uint8_t *raw, size_t raw_len);
extern size_t seg_encode_value(const SegView *v, const uint8_t *raw, size_t raw_len,
							   uint8_t *out, size_t out_cap);
extern size_t seg_encode_fixed_without_counts(const SegView *v, uint8_t *out);
extern size_t seg_encode_lineage(const uint8_t *raw, size_t raw_len, uint8_t *out, size_t out_cap, bool *compressed);
extern size_t seg_lineage_bound(size_t raw_len);

/* distinct measures */
extern SegStatus seg_distinct_exact(const SegDistinct *d, uint64_t count, uint64_t *hashes,
									uint64_t *counts, uint32_t *n);
extern SegStatus seg_distinct_registers(const SegDistinct *d, uint8_t *reg);
extern SegStatus seg_distinct_sparse_entries(const SegDistinct *d, uint32_t *entries, uint32_t *n);
extern SegStatus seg_distinct_validate(const SegView *v, void *scratch);
extern size_t seg_distinct_encode_exact(const uint64_t *hashes, const uint64_t *counts,
										uint32_t n, uint8_t *out);
extern size_t seg_distinct_encode_sketch(const uint8_t *reg, uint8_t *out, uint8_t *mode);
extern void seg_hll_add(uint8_t *reg, uint64_t hash);

/*
 * The register a hash goes to, and the rank it gives it: one plus the
 * leading zeros of the hash's remaining 64 - SEG_HLL_P bits, or
 * SEG_HLL_MAXRANK when they are all zero.  w's low SEG_HLL_P bits are
 * zero, so setting bit SEG_HLL_P - 1 changes the count only for w == 0,
 * where it gives 64 - SEG_HLL_P: no branch.
 */
static inline void
seg_hll_position(uint64_t hash, uint32_t *idx, uint8_t *rank)
{
	uint64_t	w = hash << SEG_HLL_P;

	*idx = (uint32_t) (hash >> (64 - SEG_HLL_P));
	*rank = (uint8_t) (__builtin_clzll(w | ((uint64_t) 1 << (SEG_HLL_P - 1))) + 1);
}
extern double seg_hll_estimate(const uint8_t *reg);
extern uint64_t seg_distinct_mix(uint64_t h);

/* checksums of rows */
extern uint64_t seg_hash_init(int64_t key, int64_t ts);
extern uint64_t seg_hash_scaled(uint64_t h, seg_int128 mantissa, uint32_t scale);
extern uint64_t seg_hash_text(uint64_t h, const char *s, size_t len);
extern uint64_t seg_hash_null(uint64_t h);
extern uint64_t seg_hash_distinct(uint64_t h, uint64_t dhash);
extern uint64_t seg_hash_finish(uint64_t h);

#endif							/* SEGMENT_CODEC_H */
