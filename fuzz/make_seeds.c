/*-------------------------------------------------------------------------
 *
 * make_seeds.c
 *	  Writes a seed corpus of valid segment values for the fuzzer.
 *
 *	  make_seeds OUTDIR
 *
 * Every seed is encoded with the codec's own encoder, the way
 * segstate_encode() does it (seg_encode_fixed, then seg_encode_keys and
 * seg_encode_lineage, setting SEG_F_ZSTD when the lineage got compressed),
 * and is checked to decode completely before it is written.  A file holds
 * the payload after the varlena header, as the fuzz target expects.
 *
 *-------------------------------------------------------------------------
 */
#include "segment_codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *outdir;
static int	nseeds;

static void
die(const char *what, const char *name)
{
	fprintf(stderr, "make_seeds: %s: %s\n", name, what);
	exit(1);
}

/* the decode path of the fuzz target, reduced to "does it decode?" */
static void
check_decodes(const uint8_t *buf, size_t n, const char *name)
{
	SegView    *v = malloc(sizeof(SegView));
	SegStatus	st;

	if (v == NULL)
		die("out of memory", name);
	st = seg_parse(buf, n, v);
	if (st != SEG_OK)
		die(seg_status_message(st), name);
	if ((v->flags & SEG_F_LINEAGE) && v->count > 0)
	{
		uint8_t    *raw = malloc((size_t) v->raw_len);

		if (raw == NULL)
			die("out of memory", name);
		st = seg_lineage_raw(v, raw);
		if (st == SEG_OK)
			st = seg_lineage_validate(raw, (size_t) v->raw_len, v->count);
		if (st != SEG_OK)
			die(seg_status_message(st), name);
		free(raw);
	}
	free(v);
}

/*
 * The raw key encoding of v's lineage (keys: strictly increasing, v->count
 * of them), or NULL with *raw_len 0 when v has none; and a buffer for the
 * whole value, of *cap bytes.
 */
static uint8_t *
encode_keys(const SegView *v, const int64_t *keys, const char *name,
			size_t *raw_len, uint8_t **out, size_t *cap)
{
	uint8_t    *raw = NULL;

	*raw_len = 0;
	if ((v->flags & SEG_F_LINEAGE) && v->count > 0)
	{
		raw = malloc(seg_raw_keys_bound(v->count));
		if (raw == NULL)
			die("out of memory", name);
		*raw_len = seg_encode_keys(keys, v->count, raw);
	}
	*cap = seg_fixed_bound(v) + (raw ? seg_lineage_bound(*raw_len) : 0);
	*out = malloc(*cap);
	if (*out == NULL)
		die("out of memory", name);
	return raw;
}

/* Checks that out decodes, and writes it as OUTDIR/seed-NN-name. */
static void
write_seed(const char *name, const uint8_t *out, size_t n)
{
	char		path[4096];
	FILE	   *f;

	check_decodes(out, n, name);
	snprintf(path, sizeof(path), "%s/seed-%02d-%s", outdir, ++nseeds, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(out, 1, n, f) != n || fclose(f) != 0)
		die("cannot write", path);
}

/*
 * Encodes v (flags without SEG_F_ZSTD) and keys (strictly increasing,
 * v->count of them if v has SEG_F_LINEAGE) in the full form and writes
 * OUTDIR/seed-NN-name.  want_zstd: 1 = the lineage must end up compressed,
 * 0 = must not, -1 = any.
 */
static void
emit(const char *name, SegView *v, const int64_t *keys, int want_zstd)
{
	size_t		raw_len,
				cap,
				n;
	uint8_t    *out;
	uint8_t    *raw = encode_keys(v, keys, name, &raw_len, &out, &cap);

	n = seg_encode_fixed(v, out);
	if (raw)
	{
		bool		compressed;
		size_t		ln = seg_encode_lineage(raw, raw_len, out + n, cap - n, &compressed);

		if (ln == 0)
			die("zstd failed", name);
		if (compressed)
			out[1] |= SEG_F_ZSTD;
		if (want_zstd >= 0 && compressed != (want_zstd == 1))
			die(compressed ? "lineage unexpectedly compressed" : "lineage not compressed", name);
		n += ln;
	}
	write_seed(name, out, n);
	free(out);
	free(raw);
}

/*
 * Encodes v as the backend stores a value (seg_encode_value, which picks
 * the one-row form when it applies) and writes OUTDIR/seed-NN-name.
 * want_one_row: whether the result must be in the one-row form.
 */
static void
emit_value(const char *name, SegView *v, const int64_t *keys, int want_one_row)
{
	size_t		raw_len,
				cap,
				n;
	uint8_t    *out;
	uint8_t    *raw = encode_keys(v, keys, name, &raw_len, &out, &cap);

	n = seg_encode_value(v, raw, raw_len, out, cap);
	if (n == 0)
		die("zstd failed", name);
	if (((out[1] & SEG_F_ONE_ROW) != 0) != (want_one_row != 0))
		die(want_one_row ? "not in the one-row form" : "unexpectedly in the one-row form", name);
	write_seed(name, out, n);
	free(out);
	free(raw);
}

static void
scaled(SegMeasure *m, uint64_t nnull, uint32_t scale,
	   seg_int128 sum, seg_int128 min, seg_int128 max)
{
	memset(m, 0, sizeof(*m));
	m->kind = SEG_KIND_SCALED;
	m->nnull = nnull;
	m->scale = scale;
	m->sum = sum;
	m->min = min;
	m->max = max;
}

static void
decimal(SegMeasure *m, uint64_t nnull, const char *sum, const char *min, const char *max)
{
	memset(m, 0, sizeof(*m));
	m->kind = SEG_KIND_DECIMAL;
	m->nnull = nnull;
	m->dec[0] = sum;
	m->dec[1] = min;
	m->dec[2] = max;
	m->dec_len[0] = (uint32_t) strlen(sum);
	m->dec_len[1] = (uint32_t) strlen(min);
	m->dec_len[2] = (uint32_t) strlen(max);
}

/* a checksum as the aggregate would compute it for keys at time ts */
static uint64_t
checksum(const int64_t *keys, uint64_t n, int64_t ts)
{
	uint64_t	sum = 0,
				i;

	for (i = 0; i < n; i++)
		sum += seg_hash_finish(seg_hash_scaled(seg_hash_init(keys[i], ts), keys[i], 0));
	return sum;
}

static SegView *
new_view(uint8_t flags, uint64_t count, int64_t first, int64_t last)
{
	SegView    *v = calloc(1, sizeof(SegView));

	if (v == NULL)
		die("out of memory", "view");
	v->version = SEG_FORMAT_VERSION;
	v->flags = flags;
	v->count = count;
	v->first_ts = first;
	v->last_ts = last;
	return v;
}

int
main(int argc, char **argv)
{
	static int64_t keys[5000];
	SegView    *v;
	int			i;
	const seg_int128 i128max = (seg_int128) (~(unsigned __int128) 0 >> 1);
	const seg_int128 i128min = -i128max - 1;
	const int64_t ts0 = INT64_C(794188800000000);	/* 2025-03-01, PG epoch */

	if (argc != 2)
	{
		fprintf(stderr, "usage: make_seeds OUTDIR\n");
		return 2;
	}
	outdir = argv[1];

	/* empty segment, no measures */
	v = new_view(0, 0, 0, 0);
	emit("empty", v, NULL, -1);
	free(v);

	/* empty segment that tracks lineage, one all-NULL-free measure */
	v = new_view(SEG_F_LINEAGE, 0, 0, 0);
	v->nmeasures = 1;
	scaled(&v->m[0], 0, 2, 0, 0, 0);
	emit("empty-lineage", v, NULL, -1);
	free(v);

	/* three rows, one scaled measure, no lineage */
	for (i = 0; i < 3; i++)
		keys[i] = 10 + i;
	v = new_view(0, 3, ts0, ts0 + 3600000000LL);
	v->checksum = checksum(keys, 3, ts0);
	v->nmeasures = 1;
	scaled(&v->m[0], 0, 2, 4650, 1050, 2500);
	emit("scaled", v, NULL, -1);
	free(v);

	/* five rows with lineage (raw < 64 bytes: stored uncompressed) */
	{
		int64_t		k5[5] = {-7, -1, 0, 42, 100000};

		v = new_view(SEG_F_LINEAGE, 5, ts0, ts0 + 5);
		v->checksum = checksum(k5, 5, ts0);
		v->nmeasures = 2;
		scaled(&v->m[0], 1, 0, 10, 1, 5);
		scaled(&v->m[1], 5, 3, 0, 0, 0);
		emit("lineage-small", v, k5, 0);
		free(v);
	}

	/* 200 consecutive keys: 200 raw bytes, zstd-compressed */
	for (i = 0; i < 200; i++)
		keys[i] = 1000 + i;
	v = new_view(SEG_F_LINEAGE, 200, ts0, ts0 + 86400000000LL);
	v->checksum = checksum(keys, 200, ts0);
	v->nmeasures = 1;
	scaled(&v->m[0], 0, 1, 200 * 15, -5, 35);
	emit("lineage-zstd", v, keys, 1);
	free(v);

	/* 5000 keys with a repeating gap pattern: compressed, several sizes */
	for (i = 0; i < 5000; i++)
		keys[i] = (int64_t) i * 3 + (i % 7) * 200;
	for (i = 1; i < 5000; i++)
		if (keys[i] <= keys[i - 1])
			keys[i] = keys[i - 1] + 1;
	v = new_view(SEG_F_LINEAGE, 5000, ts0, ts0 + 1);
	v->checksum = checksum(keys, 5000, ts0);
	v->nmeasures = 1;
	scaled(&v->m[0], 4000, 0, 1000, 0, 1);
	emit("lineage-zstd-5000", v, keys, 1);
	free(v);

	/* 20 keys with pseudo-random big gaps: >= 64 raw bytes, incompressible */
	{
		uint64_t	x = UINT64_C(0x9e3779b97f4a7c15);

		keys[0] = INT64_MIN + 5;
		for (i = 1; i < 20; i++)
		{
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			keys[i] = keys[i - 1] + (int64_t) (x >> 8) + 1;
		}
		v = new_view(SEG_F_LINEAGE, 20, ts0, ts0);
		v->checksum = checksum(keys, 20, ts0);
		emit("lineage-raw-64", v, keys, 0);
		free(v);
	}

	/* decimal measures: beyond 128 bits, NaN, infinities, negative scale */
	v = new_view(0, 4, ts0 - 1000, ts0);
	v->checksum = UINT64_C(0x0123456789abcdef);
	v->nmeasures = 4;
	decimal(&v->m[0], 0, "1234567890123456789012345678901234567890123.25",
			"-0.001", "999999999999999999999999999999999999999999");
	decimal(&v->m[1], 1, "NaN", "-Infinity", "NaN");
	decimal(&v->m[2], 4, "", "", "");
	decimal(&v->m[3], 2, "Infinity", "0", "Infinity");
	emit("decimal", v, NULL, -1);
	free(v);

	/* retraction: min/max/first/last are bounds, with lineage */
	{
		int64_t		k3[3] = {1, 2, 3};

		v = new_view(SEG_F_LINEAGE | SEG_F_MINMAX_STALE, 3, ts0, ts0 + 7);
		v->checksum = checksum(k3, 3, ts0);
		v->nmeasures = 1;
		scaled(&v->m[0], 0, 2, 300, 50, 150);
		emit("stale", v, k3, 0);
		free(v);
	}

	/* extremes: time range, 128-bit values, scale 38, extreme keys */
	{
		int64_t		kx[2] = {INT64_MIN, INT64_MAX};

		v = new_view(SEG_F_LINEAGE | SEG_F_MINMAX_STALE, 2, INT64_MIN, INT64_MAX);
		v->checksum = ~UINT64_C(0);
		v->nmeasures = 3;
		scaled(&v->m[0], 0, SEG_MAX_SCALE, i128max, i128min, i128max);
		scaled(&v->m[1], 1, 0, i128min, i128min, i128min);
		scaled(&v->m[2], 2, 17, 0, 0, 0);
		emit("extremes", v, kx, 0);
		free(v);
	}

	/* the most measures a segment may have */
	v = new_view(0, 1, -1, -1);
	v->nmeasures = SEG_MAX_MEASURES;
	for (i = 0; i < SEG_MAX_MEASURES; i++)
	{
		if (i % 2)
			decimal(&v->m[i], 0, "0.5", "0.5", "0.5");
		else
			scaled(&v->m[i], 0, (uint32_t) (i % 39), i, i, i);
	}
	emit("max-measures", v, NULL, -1);
	free(v);

	/*
	 * Distinct measures (version 2): an exact set with repeated values, a
	 * sparse and a dense sketch (with escapes), a retraction-stale one.
	 */
	{
		static uint64_t hashes[SEG_DIST_EXACT_MAX];
		static uint64_t counts[SEG_DIST_EXACT_MAX];
		static uint8_t reg[SEG_HLL_M];
		static uint8_t p_exact[SEG_DIST_MAX_PAYLOAD];
		static uint8_t p_sparse[SEG_DIST_MAX_PAYLOAD];
		static uint8_t p_dense[SEG_DIST_MAX_PAYLOAD];
		static uint8_t p_full[SEG_DIST_MAX_PAYLOAD];
		uint64_t	h = UINT64_C(0x9e3779b97f4a7c15);
		uint8_t		mode;
		int64_t		k7[7] = {1, 2, 3, 4, 5, 6, 7};

		for (i = 0; i < 5; i++)
		{
			hashes[i] = (uint64_t) (i + 1) << 60;
			counts[i] = i == 2 ? 3 : 1;
		}
		v = new_view(SEG_F_LINEAGE, 7, ts0, ts0 + 7);
		v->nmeasures = 1;
		scaled(&v->m[0], 0, 2, 700, 100, 100);
		v->ndistinct = 2;
		v->d[0].mode = SEG_DIST_EXACT;
		v->d[0].data = p_exact;
		v->d[0].len = seg_distinct_encode_exact(hashes, counts, 5, p_exact);
		v->d[1].mode = SEG_DIST_EXACT;
		v->d[1].data = p_exact + 64;
		v->d[1].len = seg_distinct_encode_exact(hashes, counts, 0, p_exact + 64);
		emit("distinct-exact", v, k7, 0);

		/* 300 values: a sparse sketch */
		memset(reg, 0, sizeof(reg));
		for (i = 0; i < 300; i++)
		{
			h = h * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
			seg_hll_add(reg, h ^ (h >> 29));
		}
		v->count = 300;
		v->flags = 0;
		v->ndistinct = 1;
		v->d[0].len = seg_distinct_encode_sketch(reg, p_sparse, &mode);
		v->d[0].mode = mode;
		v->d[0].data = p_sparse;
		if (mode != SEG_DIST_SPARSE)
			die("expected a sparse sketch", "distinct-sparse");
		emit("distinct-sparse", v, NULL, -1);
		v->flags = SEG_F_DISTINCT_STALE;
		emit("distinct-stale", v, NULL, -1);

		/* 200 000 values, one register raised to the top: dense, escaped */
		for (i = 0; i < 200000; i++)
		{
			h = h * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
			seg_hll_add(reg, h ^ (h >> 29));
		}
		reg[77] = SEG_HLL_MAXRANK;
		v->count = 200000;
		v->flags = 0;
		v->d[0].len = seg_distinct_encode_sketch(reg, p_dense, &mode);
		v->d[0].mode = mode;
		v->d[0].data = p_dense;
		if (mode != SEG_DIST_DENSE)
			die("expected a dense sketch", "distinct-dense");
		/* and an exact set beside it, at the threshold */
		for (i = 0; i < SEG_DIST_EXACT_MAX; i++)
		{
			hashes[i] = (uint64_t) i * UINT64_C(0x00FF00FF00FF00FF) + 1;
			counts[i] = 1 + (i % 5 == 0);
		}
		v->ndistinct = 2;
		v->d[1].mode = SEG_DIST_EXACT;
		v->d[1].data = p_full;
		v->d[1].len = seg_distinct_encode_exact(hashes, counts, SEG_DIST_EXACT_MAX, p_full);
		emit("distinct-dense", v, NULL, -1);
		free(v);
	}

	/*
	 * Extreme counts (version 3, issue 13): rows at the first and last
	 * time, values at each measure's min and max; with lineage, without
	 * measures, with a decimal measure, with min = max and first = last,
	 * and with a distinct measure.
	 */
	{
		int64_t		k6[6] = {3, 5, 8, 13, 21, 34};
		static uint64_t h1[1] = {UINT64_C(0x0123456789abcdef)};
		static uint64_t c1[1] = {6};
		static uint8_t p1[64];

		v = new_view(SEG_F_LINEAGE, 6, ts0, ts0 + 60000000);
		v->checksum = checksum(k6, 6, ts0);
		v->counts = true;
		v->at_first = 2;
		v->at_last = 3;
		v->nmeasures = 3;
		scaled(&v->m[0], 1, 2, 1500, 100, 700);
		v->m[0].at_min = 3;
		v->m[0].at_max = 1;
		scaled(&v->m[1], 0, 0, 24, 4, 4);
		v->m[1].at_min = v->m[1].at_max = 6;
		scaled(&v->m[2], 6, 0, 0, 0, 0);
		emit("counts-lineage", v, k6, 0);

		v->flags = 0;
		v->first_ts = v->last_ts = ts0;
		v->at_first = v->at_last = 6;
		v->nmeasures = 1;
		decimal(&v->m[0], 2, "4000000000000000000000000000000000000000000",
				"1000000000000000000000000000000000000000000",
				"1000000000000000000000000000000000000000000.0");
		v->m[0].at_min = v->m[0].at_max = 4;
		emit("counts-decimal", v, NULL, -1);

		v->nmeasures = 0;
		v->ndistinct = 1;
		v->d[0].mode = SEG_DIST_EXACT;
		v->d[0].data = p1;
		v->d[0].len = seg_distinct_encode_exact(h1, c1, 1, p1);
		emit("counts-distinct", v, NULL, -1);
		free(v);
	}

	/*
	 * The one-row form (issue 13): with lineage (checksum recomputed), a
	 * NULL and a scaled value; without lineage (checksum stored); with a
	 * decimal value and with a distinct measure (checksum stored); extreme
	 * key and time; and a one-row value whose checksum is not its row's,
	 * which stays in the full form.  "max-measures" above is a one-row value
	 * in the full form, as 0.4.0 wrote them.
	 */
	{
		int64_t		k1[1] = {4242};
		int64_t		kmin[1] = {INT64_MIN};
		static uint64_t h1[1] = {UINT64_C(0xfedcba9876543210)};
		static uint64_t c1[1] = {1};
		static uint8_t p1[64];

		v = new_view(SEG_F_LINEAGE, 1, ts0, ts0);
		v->counts = true;
		v->at_first = v->at_last = 1;
		v->nmeasures = 3;
		scaled(&v->m[0], 0, 2, 1250, 1250, 1250);
		v->m[0].at_min = v->m[0].at_max = 1;
		scaled(&v->m[1], 1, 0, 0, 0, 0);
		scaled(&v->m[2], 0, 3, -7000, -7000, -7000);
		v->m[2].at_min = v->m[2].at_max = 1;
		if (!seg_one_row_checksum(v, k1[0], &v->checksum))
			die("checksum not recomputable", "one-row-lineage");
		emit_value("one-row-lineage", v, k1, 1);

		v->checksum ^= 1;
		emit_value("one-row-other-checksum", v, k1, 0);

		v->flags = 0;
		v->counts = false;
		v->at_first = v->at_last = 0;
		v->m[0].at_min = v->m[0].at_max = 0;
		v->m[2].at_min = v->m[2].at_max = 0;
		emit_value("one-row-nolineage", v, NULL, 1);

		v->flags = SEG_F_LINEAGE;
		v->nmeasures = 1;
		decimal(&v->m[0], 0, "NaN", "NaN", "NaN");
		emit_value("one-row-decimal", v, k1, 1);

		v->counts = true;
		v->at_first = v->at_last = 1;
		scaled(&v->m[0], 0, 0, 5, 5, 5);
		v->m[0].at_min = v->m[0].at_max = 1;
		v->ndistinct = 1;
		v->d[0].mode = SEG_DIST_EXACT;
		v->d[0].data = p1;
		v->d[0].len = seg_distinct_encode_exact(h1, c1, 1, p1);
		emit_value("one-row-distinct", v, k1, 1);
		free(v);

		v = new_view(SEG_F_LINEAGE, 1, INT64_MIN, INT64_MIN);
		if (!seg_one_row_checksum(v, kmin[0], &v->checksum))
			die("checksum not recomputable", "one-row-extremes");
		emit_value("one-row-extremes", v, kmin, 1);
		free(v);
	}

	printf("make_seeds: wrote %d seeds to %s\n", nseeds, outdir);
	return 0;
}
