/*-------------------------------------------------------------------------
 *
 * segment_decode_fuzzer.c
 *	  libFuzzer target for the decode path of the segment format.
 *
 * The input is the payload of a segment value (the bytes after the varlena
 * header).  The target runs exactly what the backend runs on bytes it reads
 * (see segment_raw_lineage() and segstate_decode() in src/):
 *
 *	seg_parse(data, len, &view)
 *	if (view.flags & SEG_F_LINEAGE) && view.count > 0:
 *		raw = malloc(view.raw_len)
 *		seg_lineage_raw(&view, raw)
 *		seg_lineage_validate(raw, view.raw_len, view.count)
 *		seg_key_iter_init / seg_key_next / seg_key_iter_finish
 *	seg_decimal_valid on every decimal
 *
 * Every rejection must come back as a SegStatus; a crash, an out-of-bounds
 * access or undefined behaviour is caught by ASan/UBSan.  For an input that
 * decodes completely, it then checks, and abort()s on a violation:
 *
 *	- the view's invariants (ranges, min <= max, first <= last, pointers
 *	  inside the input, sizes consistent);
 *	- the fixed part of a full-form value is canonical: seg_encode_fixed of
 *	  the view reproduces the input's fixed bytes exactly (segment_compare
 *	  and segment_hash rely on that), and so does seg_encode_keys for the
 *	  raw key encoding;
 *	- round trip: re-encoding the view with seg_encode_value (as
 *	  segstate_encode does) gives a value that parses to an identical view
 *	  (all fields; the SEG_F_ZSTD bit may differ) with identical raw lineage
 *	  bytes, and the very same bytes unless a full-form value of one row
 *	  (as 0.4.0 wrote it) becomes the one-row form (issue 13);
 *	- one row: a one-row form is re-encoded as itself; its content in the
 *	  full form (seg_encode_fixed + seg_encode_lineage) parses to the same
 *	  view, would be re-encoded in the one-row form, and has the same bytes
 *	  without counts (what equality and hashing compare);
 *	- version 3's extreme counts obey their rule (restated here), and the
 *	  value without them (seg_encode_fixed_without_counts, what equality
 *	  and hashing compare) is a valid version 1/2 fixed part;
 *	- the iterator and seg_lineage_validate agree on every input;
 *	- a proper prefix of an accepted value without zstd is rejected, and so
 *	  is an accepted value with one byte appended.
 *
 * The harness (not the codec) refuses to decode lineage whose declared
 * raw_len is above HARNESS_MAX_RAW (64 MiB), only to keep executions fast
 * and memory bounded under ASan.  The codec bounds raw_len by itself: at most
 * SEG_MAX_RAW_LEN, at most 10 bytes per key, and for zstd at most
 * SEG_ZSTD_MAX_RATIO times the stored frame plus one block, so with
 * -max_len=4096 raw_len stays below ~129 MiB anyway.
 *
 * The same function is linked into fuzz/replay.c (no libFuzzer) so the
 * test suite can replay the corpus.
 *
 *-------------------------------------------------------------------------
 */
#include "segment_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HARNESS_MAX_RAW		((uint64_t) 64 << 20)
#define KEY_CHUNK			4096

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *cond, int line)
{
	fprintf(stderr, "segment_decode_fuzzer.c:%d: check failed: %s\n", line, cond);
	abort();
}

#define CHECK(cond) do { if (!(cond)) fail(#cond, __LINE__); } while (0)

static void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
	{
		fprintf(stderr, "segment_decode_fuzzer: out of memory (%zu bytes)\n", n);
		abort();
	}
	return p;
}

/* A status is one of the enum's values and has a message. */
static void
check_status(SegStatus st)
{
	const char *msg;

	CHECK((int) st >= (int) SEG_OK && (int) st <= (int) SEG_ERR_EXTREME_COUNT);
	msg = seg_status_message(st);
	CHECK(msg != NULL && strcmp(msg, "unknown error") != 0);
}

/*
 * An independent statement of what numeric_out prints, for a differential
 * check of seg_decimal_valid:  NaN | Infinity | -Infinity |
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?  but not a negative zero.
 */
static int
ref_decimal_valid(const char *s, size_t len)
{
	size_t		i,
				ndig = 0,
				nfrac = 0,
				ndots = 0;
	int			neg,
				allzero = 1;

	if (len == 0 || len > SEG_MAX_DECIMAL_LEN)
		return 0;
	if ((len == 3 && memcmp(s, "NaN", 3) == 0) ||
		(len == 8 && memcmp(s, "Infinity", 8) == 0) ||
		(len == 9 && memcmp(s, "-Infinity", 9) == 0))
		return 1;
	neg = (s[0] == '-');
	for (i = neg; i < len; i++)
	{
		if (s[i] == '.')
		{
			if (ndots++ > 0 || ndig == 0)
				return 0;
		}
		else if (s[i] >= '0' && s[i] <= '9')
		{
			if (ndots)
				nfrac++;
			else
				ndig++;
			if (s[i] != '0')
				allzero = 0;
		}
		else
			return 0;
	}
	if (ndig == 0 || (ndots && nfrac == 0))
		return 0;
	if (ndig > 1 && s[neg] == '0')
		return 0;
	if (neg && allzero)
		return 0;
	return 1;
}

static void
check_decimal(const uint8_t *data, size_t size)
{
	size_t		n;

	/* a few prefixes of the input, as decimal text */
	for (n = 0; n <= size && n <= 48; n++)
		CHECK(seg_decimal_valid((const char *) data, n) ==
			  (ref_decimal_valid((const char *) data, n) != 0));
	if (size > 48)
		CHECK(seg_decimal_valid((const char *) data, size) ==
			  (ref_decimal_valid((const char *) data, size) != 0));
}

/* Varint decoders: what they accept, the encoders reproduce byte for byte. */
static void
check_varints(const uint8_t *data, size_t size)
{
	const uint8_t *end = data + size;
	const uint8_t *p;
	uint8_t		buf[24];
	uint64_t	u;
	int64_t		s;
	seg_int128	s128;
	SegStatus	st;

	p = data;
	st = seg_get_uvarint(&p, end, &u);
	check_status(st);
	if (st == SEG_OK)
	{
		CHECK(p > data && p <= end && p - data <= 10);
		CHECK(seg_put_uvarint(buf, u) == (size_t) (p - data));
		CHECK(memcmp(buf, data, p - data) == 0);
	}
	else
		CHECK(p == data);

	p = data;
	st = seg_get_svarint(&p, end, &s);
	check_status(st);
	if (st == SEG_OK)
	{
		CHECK(seg_put_svarint(buf, s) == (size_t) (p - data));
		CHECK(memcmp(buf, data, p - data) == 0);
	}

	p = data;
	st = seg_get_svarint128(&p, end, &s128);
	check_status(st);
	if (st == SEG_OK)
	{
		CHECK(p > data && p <= end && p - data <= 19);
		CHECK(seg_put_svarint128(buf, s128) == (size_t) (p - data));
		CHECK(memcmp(buf, data, p - data) == 0);
	}
	else
		CHECK(p == data);
}

/*
 * Distinct measures (issue 17): seg_distinct_validate and the per-mode
 * decoders agree; an accepted set or sketch is canonical (re-encoding the
 * decoded hashes and counts, or registers, gives the payload back, mode
 * included), and the estimator gives a finite, non-negative number; a
 * short sparse sketch read as entries (seg_distinct_sparse_entries, what
 * the backend decodes partial states with) gives the same status and the
 * same registers as read into registers.
 * Returns whether the value's distinct measures are valid.
 */
static bool
check_distinct(const SegView *v)
{
	uint64_t   *scratch = xmalloc(SEG_DIST_SCRATCH);
	uint64_t   *hashes = xmalloc(sizeof(uint64_t) * SEG_DIST_EXACT_MAX);
	uint64_t   *counts = xmalloc(sizeof(uint64_t) * SEG_DIST_EXACT_MAX);
	uint8_t    *reg = xmalloc(SEG_HLL_M);
	uint8_t    *out = xmalloc(SEG_DIST_MAX_PAYLOAD);
	uint32_t   *entries = xmalloc(sizeof(uint32_t) * (SEG_DIST_SPARSE_SHORT / 2 + 1));
	SegStatus	all = seg_distinct_validate(v, scratch);
	SegStatus	first = SEG_OK;
	uint32_t	i;

	check_status(all);
	for (i = 0; i < v->ndistinct; i++)
	{
		const SegDistinct *d = &v->d[i];
		SegStatus	st;
		size_t		n;
		uint8_t		mode;

		CHECK(d->mode <= SEG_DIST_DENSE);
		CHECK(d->len <= SEG_DIST_MAX_PAYLOAD);
		if (d->mode == SEG_DIST_EXACT)
		{
			uint32_t	cnt;
			uint64_t	total = 0;
			uint32_t	k;

			st = seg_distinct_exact(d, v->count, hashes, counts, &cnt);
			check_status(st);
			if (st == SEG_OK)
			{
				CHECK(cnt <= SEG_DIST_EXACT_MAX);
				for (k = 0; k < cnt; k++)
				{
					CHECK(counts[k] >= 1);
					CHECK(k == 0 || hashes[k] > hashes[k - 1]);
					total += counts[k];
				}
				CHECK(total <= v->count);
				n = seg_distinct_encode_exact(hashes, counts, cnt, out);
				CHECK(n == d->len && memcmp(out, d->data, n) == 0);
			}
		}
		else
		{
			st = seg_distinct_registers(d, reg);
			check_status(st);
			if (d->mode == SEG_DIST_SPARSE && d->len < SEG_DIST_SPARSE_SHORT)
			{
				uint32_t	ne = 0,
							k;
				SegStatus	st2 = seg_distinct_sparse_entries(d, entries, &ne);

				CHECK(st2 == st);
				if (st2 == SEG_OK)
				{
					uint32_t	set = 0;

					CHECK(ne >= 1 && ne <= d->len / 2);
					for (k = 0; k < ne; k++)
					{
						CHECK(k == 0 || (entries[k] >> 8) > (entries[k - 1] >> 8));
						CHECK(reg[entries[k] >> 8] == (entries[k] & 0xFF));
					}
					for (k = 0; k < SEG_HLL_M; k++)
						set += reg[k] != 0;
					CHECK(set == ne);
				}
			}
			if (st == SEG_OK)
			{
				double		e = seg_hll_estimate(reg);

				CHECK(e >= 0.0 && e < 1e30);
				n = seg_distinct_encode_sketch(reg, out, &mode);
				CHECK(mode == d->mode);
				CHECK(n == d->len && memcmp(out, d->data, n) == 0);
			}
		}
		if (first == SEG_OK)
			first = st;
	}
	CHECK(first == all);
	free(scratch);
	free(hashes);
	free(counts);
	free(reg);
	free(out);
	free(entries);
	return all == SEG_OK;
}

/*
 * The rule for the counts of rows at two extremes of n rows: 1 .. n each;
 * both n when the extremes are equal, else at most n together.  'exact':
 * whether 'equal' is known (a DECIMAL measure's min and max are compared
 * by the backend, so only the ranges hold here).
 */
static int
counts_ok(uint64_t n, uint64_t lo, uint64_t hi, int equal, int exact)
{
	if (lo == 0 || hi == 0 || lo > n || hi > n)
		return 0;
	if (!exact)
		return 1;
	if (equal)
		return lo == n && hi == n;
	return (unsigned __int128) lo + hi <= n;
}

/* Invariants of a view that seg_parse accepted. */
static void
check_view(const SegView *v, const uint8_t *data, size_t size)
{
	uint32_t	i;
	int			k;

	CHECK(v->version == SEG_FORMAT_VERSION || v->version == SEG_FORMAT_VERSION_DISTINCT ||
		  v->version == SEG_FORMAT_VERSION_COUNTS);
	if (v->version == SEG_FORMAT_VERSION_DISTINCT)
		CHECK(v->ndistinct > 0);
	if (v->version == SEG_FORMAT_VERSION)
		CHECK(v->ndistinct == 0);
	/* extreme counts (version 3): stated again here, not by the codec */
	CHECK(v->counts == (v->version == SEG_FORMAT_VERSION_COUNTS));
	if (v->counts)
	{
		CHECK(v->count > 0 && !(v->flags & SEG_F_MINMAX_STALE));
		CHECK(counts_ok(v->count, v->at_first, v->at_last, v->first_ts == v->last_ts, 1));
	}
	else
		CHECK(v->at_first == 0 && v->at_last == 0);
	CHECK(!(v->flags & SEG_F_DISTINCT_STALE) || (v->ndistinct > 0 && v->count > 0));
	CHECK((v->flags & ~SEG_F_ALL) == 0);
	CHECK(!(v->flags & SEG_F_ZSTD) || (v->flags & SEG_F_LINEAGE));
	CHECK(v->count <= (uint64_t) INT64_MAX);
	CHECK(v->nmeasures <= SEG_MAX_MEASURES);
	CHECK(v->first_ts <= v->last_ts);
	if (v->count == 0)
	{
		CHECK(v->first_ts == 0 && v->last_ts == 0);
		CHECK(!(v->flags & (SEG_F_MINMAX_STALE | SEG_F_ZSTD)));
	}
	/* the one-row form has no count and, with lineage, may have no checksum */
	CHECK(v->fixed_len >= (v->one_row ? 2 + 1 + 1 : 2 + 1 + 1 + 8) && v->fixed_len <= size);
	if (v->one_row)
	{
		CHECK(v->count == 1 && v->first_ts == v->last_ts);
		CHECK(!(v->flags & (SEG_F_MINMAX_STALE | SEG_F_ZSTD)));
		if (v->counts)
			CHECK(v->at_first == 1 && v->at_last == 1);
		for (i = 0; i < v->nmeasures; i++)
		{
			const SegMeasure *m = &v->m[i];

			CHECK(m->nnull <= 1);
			if (m->nnull == 0 && m->kind == SEG_KIND_SCALED)
				CHECK(m->min == m->sum && m->max == m->sum);
			if (m->nnull == 0 && m->kind == SEG_KIND_DECIMAL)
				CHECK(m->dec_len[1] == m->dec_len[0] && m->dec_len[2] == m->dec_len[0] &&
					  memcmp(m->dec[1], m->dec[0], m->dec_len[0]) == 0 &&
					  memcmp(m->dec[2], m->dec[0], m->dec_len[0]) == 0);
			if (v->counts && m->nnull == 0)
				CHECK(m->at_min == 1 && m->at_max == 1);
		}
		if (v->flags & SEG_F_LINEAGE)
			CHECK(v->raw_len >= 1 && v->raw_len <= 10);
	}
	CHECK((v->flags & SEG_F_ONE_ROW) == 0);
	CHECK(v->fixed_len + 10 <= seg_fixed_bound(v));
	for (i = 0; i < v->nmeasures; i++)
	{
		const SegMeasure *m = &v->m[i];

		CHECK(m->kind == SEG_KIND_SCALED || m->kind == SEG_KIND_DECIMAL);
		CHECK(m->nnull <= v->count);
		CHECK(m->scale <= SEG_MAX_SCALE);
		if (m->kind == SEG_KIND_DECIMAL)
			CHECK(m->scale == 0);
		if (v->count == m->nnull || m->kind == SEG_KIND_DECIMAL)
			CHECK(m->sum == 0 && m->min == 0 && m->max == 0);
		else
			CHECK(m->min <= m->max);
		if (v->counts && v->count > m->nnull)
			CHECK(counts_ok(v->count - m->nnull, m->at_min, m->at_max, m->min == m->max,
							m->kind == SEG_KIND_SCALED));
		else
			CHECK(m->at_min == 0 && m->at_max == 0);
		if (v->count == m->nnull || m->kind == SEG_KIND_SCALED)
		{
			for (k = 0; k < 3; k++)
				CHECK(m->dec[k] == NULL && m->dec_len[k] == 0);
			continue;
		}
		for (k = 0; k < 3; k++)
		{
			const uint8_t *d = (const uint8_t *) m->dec[k];

			CHECK(d > data && d + m->dec_len[k] <= data + v->fixed_len);
			CHECK(seg_decimal_valid(m->dec[k], m->dec_len[k]));
			CHECK(ref_decimal_valid(m->dec[k], m->dec_len[k]));
		}
	}
	if ((v->flags & SEG_F_LINEAGE) && v->count > 0)
	{
		CHECK(v->raw_len >= v->count && v->raw_len / 10 <= v->count);
		CHECK(v->raw_len <= SEG_MAX_RAW_LEN);
		/* the full form has raw_len between them, the one-row form nothing */
		if (v->one_row)
			CHECK(v->lineage == data + v->fixed_len);
		else
			CHECK(v->lineage > data + v->fixed_len);
		CHECK(v->lineage + v->lineage_len == data + size);
		if (!(v->flags & SEG_F_ZSTD))
			CHECK(v->lineage_len == v->raw_len);
		else
			CHECK(v->lineage_len > 0);
	}
	else
	{
		CHECK(v->fixed_len == size);
		CHECK(v->raw_len == 0 && v->lineage == NULL && v->lineage_len == 0);
	}
}

/*
 * Full lineage decode the way the backend does it.  Returns the raw key
 * encoding (caller frees) if it is valid, else NULL.  Both validation routes
 * must agree.
 */
static uint8_t *
decode_lineage(const SegView *v)
{
	uint8_t    *raw = xmalloc((size_t) v->raw_len);
	SegStatus	st,
				st_iter;
	SegKeyIter	it;
	int64_t		key,
				prev = 0;
	uint64_t	nkeys = 0;

	st = seg_lineage_raw(v, raw);
	check_status(st);
	if (st != SEG_OK)
	{
		free(raw);
		return NULL;
	}
	/* only standard zstd frames (no legacy v0.x, no skippable frame) */
	if (v->flags & SEG_F_ZSTD)
		CHECK(v->lineage_len >= 4 && v->lineage[0] == 0x28 &&
			  v->lineage[1] == 0xB5 && v->lineage[2] == 0x2F &&
			  v->lineage[3] == 0xFD);

	st = seg_lineage_validate(raw, (size_t) v->raw_len, v->count);
	check_status(st);

	seg_key_iter_init(&it, raw, (size_t) v->raw_len, v->count);
	st_iter = SEG_OK;
	while (it.remaining > 0)
	{
		st_iter = seg_key_next(&it, &key);
		check_status(st_iter);
		if (st_iter != SEG_OK)
			break;
		CHECK(it.p <= it.end);
		if (nkeys > 0)
			CHECK(key > prev);
		prev = key;
		nkeys++;
	}
	if (st_iter == SEG_OK)
	{
		st_iter = seg_key_iter_finish(&it);
		check_status(st_iter);
		CHECK(nkeys == v->count);
		/* one key too many is refused */
		CHECK(seg_key_next(&it, &key) == SEG_ERR_KEY_COUNT);
	}
	CHECK(st == st_iter);
	if (st != SEG_OK)
	{
		free(raw);
		return NULL;
	}
	return raw;
}

/*
 * The raw key encoding is what seg_encode_keys makes of the decoded keys.
 * Done in chunks of KEY_CHUNK keys so memory stays bounded: each chunk after
 * the first starts with the previous chunk's last key, whose (zigzag)
 * encoding is then skipped.
 */
static void
check_keys_canonical(const uint8_t *raw, size_t raw_len, uint64_t count)
{
	static int64_t keys[KEY_CHUNK + 1];
	static uint8_t enc[(KEY_CHUNK + 1) * 10];
	SegKeyIter	it;
	size_t		pos = 0;
	int			have_prev = 0;
	int64_t		prev = 0;

	CHECK(raw_len <= seg_raw_keys_bound(count));
	seg_key_iter_init(&it, raw, raw_len, count);
	while (it.remaining > 0)
	{
		size_t		nk = 0,
					e,
					skip = 0;
		uint8_t		tmp[10];

		if (have_prev)
		{
			keys[nk++] = prev;
			skip = seg_put_svarint(tmp, prev);
		}
		while (nk < KEY_CHUNK + 1 && it.remaining > 0)
		{
			CHECK(seg_key_next(&it, &keys[nk]) == SEG_OK);
			nk++;
		}
		e = seg_encode_keys(keys, nk, enc);
		CHECK(e >= skip && e <= seg_raw_keys_bound(nk));
		CHECK(pos + (e - skip) <= raw_len);
		CHECK(memcmp(enc + skip, raw + pos, e - skip) == 0);
		pos += e - skip;
		prev = keys[nk - 1];
		have_prev = 1;
	}
	CHECK(pos == raw_len);
}

static void
check_same_view(const SegView *a, const SegView *b)
{
	uint32_t	i;
	int			k;

	CHECK(a->version == b->version);
	CHECK((a->flags & ~SEG_F_ZSTD) == (b->flags & ~SEG_F_ZSTD));
	CHECK(a->count == b->count);
	CHECK(a->first_ts == b->first_ts);
	CHECK(a->last_ts == b->last_ts);
	CHECK(a->checksum == b->checksum);
	CHECK(a->counts == b->counts);
	CHECK(a->at_first == b->at_first && a->at_last == b->at_last);
	CHECK(a->nmeasures == b->nmeasures);
	CHECK(a->ndistinct == b->ndistinct);
	if (a->one_row == b->one_row)
		CHECK(a->fixed_len == b->fixed_len);
	CHECK(a->raw_len == b->raw_len);
	for (i = 0; i < a->nmeasures; i++)
	{
		const SegMeasure *x = &a->m[i];
		const SegMeasure *y = &b->m[i];

		CHECK(x->kind == y->kind);
		CHECK(x->scale == y->scale);
		CHECK(x->nnull == y->nnull);
		CHECK(x->sum == y->sum);
		CHECK(x->min == y->min);
		CHECK(x->max == y->max);
		CHECK(x->at_min == y->at_min && x->at_max == y->at_max);
		for (k = 0; k < 3; k++)
		{
			CHECK(x->dec_len[k] == y->dec_len[k]);
			CHECK((x->dec[k] == NULL) == (y->dec[k] == NULL));
			if (x->dec_len[k] > 0)
				CHECK(memcmp(x->dec[k], y->dec[k], x->dec_len[k]) == 0);
		}
	}
}

/*
 * A value of one row, v, in the other form: the full form for a one-row
 * form (as 0.4.0 wrote it), seg_encode_value's form otherwise.  Both must
 * parse to the same content, and compare alike (the same bytes without
 * counts, what segment_compare and segment_hash look at).
 */
static void
check_other_form(const SegView *v, const uint8_t *raw)
{
	SegView    *w = xmalloc(sizeof(SegView));
	SegView    *v2 = xmalloc(sizeof(SegView));
	size_t		fbound = seg_fixed_bound(v);
	size_t		cap = fbound + (raw ? seg_lineage_bound((size_t) v->raw_len) : 0);
	uint8_t    *out = xmalloc(cap);
	uint8_t    *copy;
	uint8_t    *p1 = xmalloc(fbound);
	uint8_t    *p2 = xmalloc(fbound);
	size_t		n,
				n1,
				n2;
	bool		compressed = false;

	*w = *v;
	w->flags &= ~SEG_F_ZSTD;
	n = seg_encode_fixed(w, out);
	if (raw)
	{
		size_t		ln = seg_encode_lineage(raw, (size_t) v->raw_len, out + n, cap - n, &compressed);

		CHECK(ln != 0);
		if (compressed)
			out[1] |= SEG_F_ZSTD;
		n += ln;
	}
	CHECK((out[1] & SEG_F_ONE_ROW) == 0);
	copy = xmalloc(n);
	memcpy(copy, out, n);
	CHECK(seg_parse(copy, n, v2) == SEG_OK);
	check_view(v2, copy, n);
	CHECK(!v2->one_row);
	check_same_view(v, v2);
	/* the full form of a one-row content is re-encoded in the one-row form */
	CHECK(seg_one_row_form(v2, raw, raw ? (size_t) v->raw_len : 0));
	n1 = seg_encode_fixed_without_counts(v, p1);
	n2 = seg_encode_fixed_without_counts(v2, p2);
	CHECK(n1 == n2 && memcmp(p1, p2, n1) == 0);
	if (raw && !compressed)
		CHECK(v2->raw_len == v->raw_len && memcmp(v2->lineage, raw, (size_t) v->raw_len) == 0);
	free(p2);
	free(p1);
	free(copy);
	free(out);
	free(v2);
	free(w);
}

/* Re-encode an accepted value as segstate_encode does; it must round-trip. */
static void
check_roundtrip(const SegView *v, const uint8_t *data, size_t size, const uint8_t *raw)
{
	SegView    *w = xmalloc(sizeof(SegView));
	SegView    *v2 = xmalloc(sizeof(SegView));
	int			lineage = raw != NULL;
	size_t		fbound,
				cap,
				n;
	uint8_t    *out;
	uint8_t    *copy;
	bool		compressed = false;
	bool		one_row;
	SegStatus	st;

	*w = *v;
	w->flags &= ~SEG_F_ZSTD;
	fbound = seg_fixed_bound(w);
	cap = fbound + (lineage ? seg_lineage_bound((size_t) v->raw_len) : 0);
	out = xmalloc(cap);

	/* a full-form fixed part is canonical: same bytes (but maybe the zstd bit) */
	if (!v->one_row)
	{
		n = seg_encode_fixed(w, out);
		CHECK(n == v->fixed_len && n + 10 <= fbound);
		CHECK(out[0] == data[0]);
		CHECK(out[1] == (data[1] & ~SEG_F_ZSTD));
		CHECK(memcmp(out + 2, data + 2, n - 2) == 0);
	}

	/* the whole value as the backend writes it */
	one_row = seg_one_row_form(w, raw, lineage ? (size_t) v->raw_len : 0);
	n = seg_encode_value(w, raw, lineage ? (size_t) v->raw_len : 0, out, cap);
	CHECK(n != 0 && n <= cap);
	CHECK(((out[1] & SEG_F_ONE_ROW) != 0) == one_row);
	/* a one-row form is the encoder's choice for its content */
	if (v->one_row)
		CHECK(one_row);
	if (one_row)
		CHECK(n <= size && v->count == 1);
	compressed = (out[1] & SEG_F_ZSTD) != 0;
	if (compressed)
		CHECK(v->raw_len >= SEG_ZSTD_MIN_RAW);

	/* exact-size copy so that ASan sees any read past the end */
	copy = xmalloc(n);
	memcpy(copy, out, n);
	st = seg_parse(copy, n, v2);
	CHECK(st == SEG_OK);
	check_view(v2, copy, n);
	check_same_view(v, v2);
	CHECK(v2->one_row == one_row);
	CHECK((v2->flags & SEG_F_ZSTD) == (compressed ? SEG_F_ZSTD : 0));

	if (lineage)
	{
		uint8_t    *raw2 = decode_lineage(v2);

		CHECK(raw2 != NULL);
		CHECK(memcmp(raw, raw2, (size_t) v->raw_len) == 0);
		if (!compressed)
			CHECK(memcmp(v2->lineage, raw, (size_t) v->raw_len) == 0);
		free(raw2);
	}

	/*
	 * stored the way the encoder would store it: the very same bytes (a
	 * full-form value of one row, as 0.4.0 wrote it, becomes one-row)
	 */
	if ((data[1] & SEG_F_ZSTD) == (out[1] & SEG_F_ZSTD) && !compressed &&
		v->one_row == one_row)
		CHECK(n == size && memcmp(out, data, size) == 0);

	/* one row: the other form holds the same content and compares alike */
	if (one_row)
		check_other_form(v, raw);

	/*
	 * The form equality and hashing compare: without the counts, a valid
	 * version 1/2 fixed part with the same content, and the same bytes as
	 * the input's when it had no counts and was in the full form.
	 */
	{
		uint8_t    *plain = xmalloc(fbound);
		size_t		pn = seg_encode_fixed_without_counts(w, plain);
		SegView    *v3 = xmalloc(sizeof(SegView));
		uint32_t	i;

		CHECK((plain[1] & SEG_F_ONE_ROW) == 0);
		plain[1] &= ~SEG_F_LINEAGE;	/* parse the fixed part alone */
		CHECK(seg_parse(plain, pn, v3) == SEG_OK);
		CHECK(!v3->counts && !v3->one_row && v3->count == v->count && v3->nmeasures == v->nmeasures &&
			  v3->ndistinct == v->ndistinct && v3->checksum == v->checksum &&
			  v3->first_ts == v->first_ts && v3->last_ts == v->last_ts);
		for (i = 0; i < v->nmeasures; i++)
			CHECK(v3->m[i].sum == v->m[i].sum && v3->m[i].min == v->m[i].min &&
				  v3->m[i].max == v->m[i].max && v3->m[i].nnull == v->m[i].nnull);
		if (!v->counts && !v->one_row)
			CHECK(pn == v->fixed_len && memcmp(plain + 2, data + 2, pn - 2) == 0);
		free(v3);
		free(plain);
	}

	free(copy);
	free(out);
	free(v2);
	free(w);
}

/* Values must not be accepted with a byte missing or a byte added. */
static void
check_neighbours(const SegView *v, const uint8_t *data, size_t size)
{
	SegView    *v2 = xmalloc(sizeof(SegView));
	uint8_t    *longer = xmalloc(size + 1);
	SegStatus	st;

	if (!(v->flags & SEG_F_ZSTD))
	{
		st = seg_parse(data, size - 1, v2);
		check_status(st);
		CHECK(st != SEG_OK);
	}

	memcpy(longer, data, size);
	longer[size] = 0;
	st = seg_parse(longer, size + 1, v2);
	check_status(st);
	if (st == SEG_OK)
	{
		/* only the zstd lineage can take the byte, and the frame refuses it */
		uint8_t    *raw;

		CHECK(v2->flags & SEG_F_ZSTD);
		CHECK(v2->raw_len == v->raw_len);
		raw = xmalloc((size_t) v2->raw_len);
		st = seg_lineage_raw(v2, raw);
		check_status(st);
		CHECK(st != SEG_OK);
		free(raw);
	}
	free(longer);
	free(v2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SegView    *v;
	SegStatus	st;
	uint8_t    *raw = NULL;
	int			has_lineage;

	check_varints(data, size);
	check_decimal(data, size);

	/* SegView is ~4 kB: keep it on the heap so ASan guards it */
	v = xmalloc(sizeof(SegView));
	st = seg_parse(data, size, v);
	check_status(st);
	if (st != SEG_OK)
	{
		if (size == 0)
			CHECK(st == SEG_ERR_EMPTY);
		free(v);
		return 0;
	}
	check_view(v, data, size);

	has_lineage = (v->flags & SEG_F_LINEAGE) && v->count > 0;
	if (has_lineage)
	{
		if (v->raw_len > HARNESS_MAX_RAW)
		{
			/* harness limit only, see the file header */
			free(v);
			return 0;
		}
		raw = decode_lineage(v);
		if (raw == NULL)
		{
			free(v);
			return 0;
		}
		check_keys_canonical(raw, (size_t) v->raw_len, v->count);
	}
	if (v->ndistinct > 0 && !check_distinct(v))
	{
		free(raw);
		free(v);
		return 0;
	}

	check_roundtrip(v, data, size, raw);
	check_neighbours(v, data, size);

	free(raw);
	free(v);
	return 0;
}
