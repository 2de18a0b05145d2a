/*
 * Decode cost of a one-row segment in the one-row form (issue 13, checksum
 * recomputed) against the same content in the full form, through the
 * codec alone (no server):
 *
 *   gcc -O2 -I src bench/codec_parse.c src/segment_codec.c -lzstd -lm -o /tmp/codec_parse
 *   /tmp/codec_parse
 *
 * The value is a typical fine cell: lineage (key 5 123 456), two measures
 * (1234.56 at scale 2, and 3), version 3.  Prints the best of 60 batches
 * of 500 000 seg_parse calls per form (the minimum is the least disturbed
 * by other work on the machine).
 */
#include "segment_codec.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static double
best_ns(const uint8_t *value, size_t len, SegView *w, volatile uint64_t *sink)
{
	double		best = 1e9;
	long		i,
				batch = 500000;
	int			rep;

	for (rep = 0; rep < 60; rep++)
	{
		double		t0 = now(),
					d;

		for (i = 0; i < batch; i++)
		{
			if (seg_parse(value, len, w) != SEG_OK)
				return -1;
			*sink += w->checksum;
		}
		d = (now() - t0) / batch * 1e9;
		if (d < best)
			best = d;
	}
	return best;
}

int
main(void)
{
	static SegView v,
				w;
	static uint8_t full[256],
				one[256];
	uint8_t		raw[16];
	size_t		raw_len,
				nf,
				no;
	int64_t		key = 5123456;
	bool		compressed;
	volatile uint64_t sink = 0;

	v.version = SEG_FORMAT_VERSION_COUNTS;
	v.flags = SEG_F_LINEAGE;
	v.count = 1;
	v.first_ts = v.last_ts = INT64_C(762000000000000);
	v.counts = true;
	v.at_first = v.at_last = 1;
	v.nmeasures = 2;
	v.m[0].kind = SEG_KIND_SCALED;
	v.m[0].scale = 2;
	v.m[0].sum = v.m[0].min = v.m[0].max = 123456;
	v.m[0].at_min = v.m[0].at_max = 1;
	v.m[1].kind = SEG_KIND_SCALED;
	v.m[1].sum = v.m[1].min = v.m[1].max = 3;
	v.m[1].at_min = v.m[1].at_max = 1;
	raw_len = seg_encode_keys(&key, 1, raw);
	(void) seg_one_row_checksum(&v, key, &v.checksum);

	/* the full form, as builds before the one-row form wrote it */
	nf = seg_encode_fixed(&v, full);
	nf += seg_encode_lineage(raw, raw_len, full + nf, sizeof(full) - nf, &compressed);
	no = seg_encode_value(&v, raw, raw_len, one, sizeof(one));
	printf("full form %zu bytes: %.1f ns a parse\n", nf, best_ns(full, nf, &w, &sink));
	printf("one-row form %zu bytes: %.1f ns a parse\n", no, best_ns(one, no, &w, &sink));
	return 0;
}
