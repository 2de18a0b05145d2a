/*-------------------------------------------------------------------------
 *
 * segment_codec.c
 *	  Encoder and validating decoder of the segment format.
 *
 * See segment_codec.h for the layout.  Nothing here allocates or throws:
 * decoders bound every length by the bytes actually present (and zstd
 * output by the size the value declares), and report problems as a
 * SegStatus.  The fuzzer in fuzz/ drives seg_parse, seg_lineage_raw and
 * the key iterator directly.
 *
 *-------------------------------------------------------------------------
 */
#include "segment_codec.h"

#include <math.h>
#include <string.h>
#include <zstd.h>

#define SEG_ZSTD_FRAME_OVERHEAD 32
#define SEG_ZSTD_BLOCK			(128 * 1024)
#define SEG_ZSTD_MAX_RATIO		(SEG_ZSTD_BLOCK / 4)

const char *
seg_status_message(SegStatus status)
{
	switch (status)
	{
		case SEG_OK:
			return "no error";
		case SEG_ERR_EMPTY:
			return "The value is empty.";
		case SEG_ERR_TRUNCATED:
			return "The value ends inside a field.";
		case SEG_ERR_TRAILING:
			return "The value has bytes after its last field.";
		case SEG_ERR_VERSION:
			return "The format version is unknown.";
		case SEG_ERR_FLAGS:
			return "The flags field has unknown or inconsistent bits.";
		case SEG_ERR_VARINT:
			return "A variable-length integer is overlong or not minimally encoded.";
		case SEG_ERR_RANGE:
			return "A number is out of its allowed range.";
		case SEG_ERR_MINMAX:
			return "A minimum is greater than its maximum.";
		case SEG_ERR_KIND:
			return "A measure has an unknown kind.";
		case SEG_ERR_DECIMAL:
			return "A decimal value is malformed.";
		case SEG_ERR_TOO_LARGE:
			return "The declared size exceeds the maximum allowed.";
		case SEG_ERR_LINEAGE_SIZE:
			return "The declared lineage size does not match the data.";
		case SEG_ERR_ZSTD:
			return "The lineage is not exactly one valid zstd frame.";
		case SEG_ERR_ZSTD_SIZE:
			return "The zstd frame's content size differs from the declared lineage size.";
		case SEG_ERR_KEY_ORDER:
			return "The lineage keys are not strictly increasing.";
		case SEG_ERR_KEY_COUNT:
			return "The number of lineage keys differs from the row count.";
		case SEG_ERR_NOT_CANONICAL:
			return "A decimal measure holds values that must be stored as scaled integers.";
		case SEG_ERR_DISTINCT:
			return "A distinct measure has an unknown mode.";
		case SEG_ERR_DIST_ORDER:
			return "A distinct measure's hashes or register indexes are not strictly increasing.";
		case SEG_ERR_DIST_RANGE:
			return "A distinct measure's set size or register value is out of range.";
		case SEG_ERR_DIST_COUNT:
			return "A distinct measure counts more rows than the segment has.";
		case SEG_ERR_DIST_CANONICAL:
			return "A distinct measure's sketch is not in canonical form.";
		case SEG_ERR_EXTREME_COUNT:
			return "A count of rows at a minimum, maximum, first or last time is out of range or inconsistent.";
	}
	return "unknown error";
}

/* ---------------------------------------------------------------- varints */

size_t
seg_put_uvarint(uint8_t *out, uint64_t v)
{
	size_t		n = 0;

	while (v >= 0x80)
	{
		out[n++] = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t) v;
	return n;
}

size_t
seg_put_svarint(uint8_t *out, int64_t v)
{
	uint64_t	zz = ((uint64_t) v << 1) ^ (uint64_t) (v >> 63);

	return seg_put_uvarint(out, zz);
}

size_t
seg_put_svarint128(uint8_t *out, seg_int128 v)
{
	seg_uint128 zz = ((seg_uint128) v << 1) ^ (seg_uint128) (v >> 127);
	size_t		n = 0;

	while (zz >= 0x80)
	{
		out[n++] = (uint8_t) (zz | 0x80);
		zz >>= 7;
	}
	out[n++] = (uint8_t) zz;
	return n;
}

/*
 * Reads an unsigned varint of at most 'bits' bits.  Rejects encodings that
 * run past 'end', exceed 'bits', or are not minimal (a final zero group).
 */
static inline SegStatus
get_varint_bits(const uint8_t **pp, const uint8_t *end, seg_uint128 *v, int bits)
{
	const uint8_t *p = *pp;
	seg_uint128 result = 0;
	int			shift = 0;

	for (;;)
	{
		uint8_t		b;

		if (p >= end)
			return SEG_ERR_TRUNCATED;
		b = *p++;
		if (shift + 7 > bits && (b & 0x7F) >> (bits - shift) != 0)
			return SEG_ERR_VARINT;
		result |= (seg_uint128) (b & 0x7F) << shift;
		if ((b & 0x80) == 0)
		{
			if (b == 0 && shift > 0)
				return SEG_ERR_VARINT;
			break;
		}
		shift += 7;
		if (shift >= bits)
			return SEG_ERR_VARINT;
	}
	*pp = p;
	*v = result;
	return SEG_OK;
}

SegStatus
seg_get_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	const uint8_t *q = *p;
	uint64_t	result = 0;
	int			shift = 0;

	/* fast path: one byte */
	if (q < end && *q < 0x80)
	{
		*v = *q;
		*p = q + 1;
		return SEG_OK;
	}
	for (;;)
	{
		uint8_t		b;

		if (q >= end)
			return SEG_ERR_TRUNCATED;
		b = *q++;
		if (shift == 63 && (b & 0x7E) != 0)
			return SEG_ERR_VARINT;
		result |= (uint64_t) (b & 0x7F) << shift;
		if ((b & 0x80) == 0)
		{
			if (b == 0 && shift > 0)
				return SEG_ERR_VARINT;
			break;
		}
		shift += 7;
		if (shift > 63)
			return SEG_ERR_VARINT;
	}
	*p = q;
	*v = result;
	return SEG_OK;
}

SegStatus
seg_get_svarint(const uint8_t **p, const uint8_t *end, int64_t *v)
{
	uint64_t	zz;
	SegStatus	st = seg_get_uvarint(p, end, &zz);

	if (st != SEG_OK)
		return st;
	*v = (int64_t) (zz >> 1) ^ -(int64_t) (zz & 1);
	return SEG_OK;
}

SegStatus
seg_get_svarint128(const uint8_t **p, const uint8_t *end, seg_int128 *v)
{
	seg_uint128 zz;
	SegStatus	st = get_varint_bits(p, end, &zz, 128);

	if (st != SEG_OK)
		return st;
	*v = (seg_int128) (zz >> 1) ^ -(seg_int128) (zz & 1);
	return SEG_OK;
}

/* ---------------------------------------------------------------- decimals */

/*
 * Is s exactly what numeric_out prints for some numeric: NaN, Infinity,
 * -Infinity, or -?digits(.digits)? without redundant leading zeros and
 * without a negative zero?
 */
bool
seg_decimal_valid(const char *s, size_t len)
{
	size_t		i = 0;
	size_t		int_start;
	bool		nonzero = false;

	if (len == 0 || len > SEG_MAX_DECIMAL_LEN)
		return false;
	if ((len == 3 && memcmp(s, "NaN", 3) == 0) ||
		(len == 8 && memcmp(s, "Infinity", 8) == 0) ||
		(len == 9 && memcmp(s, "-Infinity", 9) == 0))
		return true;
	if (s[0] == '-')
		i++;
	int_start = i;
	while (i < len && s[i] >= '0' && s[i] <= '9')
	{
		if (s[i] != '0')
			nonzero = true;
		i++;
	}
	if (i == int_start)
		return false;
	if (s[int_start] == '0' && i - int_start > 1)
		return false;
	if (i < len)
	{
		size_t		frac_start;

		if (s[i] != '.')
			return false;
		frac_start = ++i;
		while (i < len && s[i] >= '0' && s[i] <= '9')
		{
			if (s[i] != '0')
				nonzero = true;
			i++;
		}
		if (i == frac_start || i != len)
			return false;
	}
	if (s[0] == '-' && !nonzero)
		return false;
	return true;
}

/* ---------------------------------------------------------------- parsing */

static inline SegStatus
get_u8(const uint8_t **p, const uint8_t *end, uint8_t *v)
{
	if (*p >= end)
		return SEG_ERR_TRUNCATED;
	*v = **p;
	(*p)++;
	return SEG_OK;
}

#define TRY(expr) \
	do { SegStatus st_ = (expr); if (st_ != SEG_OK) return st_; } while (0)

/* The 8-byte little-endian checksum. */
static SegStatus
get_checksum(const uint8_t **p, const uint8_t *end, uint64_t *checksum)
{
	int			k;

	if ((size_t) (end - *p) < 8)
		return SEG_ERR_TRUNCATED;
	*checksum = 0;
	for (k = 0; k < 8; k++)
		*checksum |= (uint64_t) (*p)[k] << (8 * k);
	*p += 8;
	return SEG_OK;
}

/*
 * A measure's kind, NULL count (at most max_nnull) and, when SCALED, its
 * scale: what both forms store before the values.  *m is cleared first.
 */
static SegStatus
get_measure_head(const uint8_t **p, const uint8_t *end, uint64_t max_nnull, SegMeasure *m)
{
	memset(m, 0, sizeof(*m));
	TRY(get_u8(p, end, &m->kind));
	if (m->kind != SEG_KIND_SCALED && m->kind != SEG_KIND_DECIMAL)
		return SEG_ERR_KIND;
	TRY(seg_get_uvarint(p, end, &m->nnull));
	if (m->nnull > max_nnull)
		return SEG_ERR_RANGE;
	if (m->kind == SEG_KIND_SCALED)
	{
		uint64_t	scale;

		TRY(seg_get_uvarint(p, end, &scale));
		if (scale > SEG_MAX_SCALE)
			return SEG_ERR_RANGE;
		m->scale = (uint32_t) scale;
	}
	return SEG_OK;
}

/* One DECIMAL value: a length, then the text numeric_out would print. */
static SegStatus
get_decimal(const uint8_t **p, const uint8_t *end, const char **text, uint32_t *len)
{
	uint64_t	slen;

	TRY(seg_get_uvarint(p, end, &slen));
	if (slen > SEG_MAX_DECIMAL_LEN)
		return SEG_ERR_DECIMAL;
	if ((uint64_t) (end - *p) < slen)
		return SEG_ERR_TRUNCATED;
	if (!seg_decimal_valid((const char *) *p, (size_t) slen))
		return SEG_ERR_DECIMAL;
	*text = (const char *) *p;
	*len = (uint32_t) slen;
	*p += slen;
	return SEG_OK;
}

/*
 * Checks the counts of rows at the two extremes of one field over n rows:
 * each 1 .. n; both n when the extremes are equal (every row holds both),
 * else no row holds both, so they add up to at most n.
 */
SegStatus
seg_check_extreme_counts(uint64_t n, uint64_t at_lo, uint64_t at_hi, bool equal)
{
	if (at_lo < 1 || at_lo > n || at_hi < 1 || at_hi > n)
		return SEG_ERR_EXTREME_COUNT;
	if (equal ? (at_lo != n || at_hi != n) : at_lo > n - at_hi)
		return SEG_ERR_EXTREME_COUNT;
	return SEG_OK;
}

/*
 * Whether a DECIMAL measure's min and max are the same text: then every
 * non-NULL row holds both, and version 3 stores no count for them (as for
 * a SCALED measure whose min = max, and a first time = last time).
 */
static bool
decimal_same_text(const SegMeasure *m)
{
	return m->dec_len[1] == m->dec_len[2] &&
		memcmp(m->dec[1], m->dec[2], m->dec_len[1]) == 0;
}

/*
 * The extreme counts of a view built by other means than seg_parse (the
 * text input), against the same rules, including the counts that the
 * encoding leaves out because the rules imply them.  DECIMAL measures
 * whose min and max are spelled differently get the range check only, as
 * in seg_parse; the backend compares them as numerics.
 */
SegStatus
seg_check_view_counts(const SegView *v)
{
	uint32_t	i;

	if (!v->counts)
		return SEG_OK;
	if (v->count > 0)
		TRY(seg_check_extreme_counts(v->count, v->at_first, v->at_last,
									 v->first_ts == v->last_ts));
	for (i = 0; i < v->nmeasures; i++)
	{
		const SegMeasure *m = &v->m[i];
		uint64_t	nonnull = v->count - m->nnull;

		if (nonnull == 0)
			continue;
		if (m->kind == SEG_KIND_SCALED || decimal_same_text(m))
			TRY(seg_check_extreme_counts(nonnull, m->at_min, m->at_max,
										 m->kind == SEG_KIND_SCALED ? m->min == m->max : true));
		else if (m->at_min < 1 || m->at_min > nonnull || m->at_max < 1 || m->at_max > nonnull)
			return SEG_ERR_EXTREME_COUNT;
	}
	return SEG_OK;
}

/*
 * The distinct section of a version 2 or 3 value (none in version 1): the
 * payloads are located, not yet checked (seg_distinct_validate).
 */
static SegStatus
parse_distinct_section(const uint8_t **pp, const uint8_t *end, SegView *v)
{
	const uint8_t *p = *pp;
	uint64_t	nd;
	uint32_t	i;

	v->ndistinct = 0;
	if (v->version == SEG_FORMAT_VERSION)
		return SEG_OK;
	TRY(seg_get_uvarint(&p, end, &nd));
	if ((nd == 0 && v->version == SEG_FORMAT_VERSION_DISTINCT) || nd > SEG_MAX_MEASURES)
		return SEG_ERR_RANGE;
	v->ndistinct = (uint32_t) nd;
	for (i = 0; i < v->ndistinct; i++)
	{
		SegDistinct *d = &v->d[i];
		uint64_t	dlen;

		TRY(get_u8(&p, end, &d->mode));
		if (d->mode > SEG_DIST_DENSE)
			return SEG_ERR_DISTINCT;
		TRY(seg_get_uvarint(&p, end, &dlen));
		if (dlen > SEG_DIST_MAX_PAYLOAD)
			return SEG_ERR_DISTINCT;
		if ((uint64_t) (end - p) < dlen)
			return SEG_ERR_TRUNCATED;
		d->data = p;
		d->len = (size_t) dlen;
		p += dlen;
	}
	*pp = p;
	return SEG_OK;
}

/*
 * Whether a one-row value's checksum can be recomputed, and if so its
 * value for the row's key: the row hash segstate_row_hash() gives the row
 * (key, first_ts, and per measure NULL or its value).  Not with distinct
 * measures (the row hash mixes their values in among the measures, at
 * places the segment does not keep) nor with a DECIMAL value (the backend
 * hashes it from numeric's text).  A SCALED value is hashed as its
 * mantissa without trailing zeros and the scale that leaves, as
 * segnum_hash_value() does, so 1.50 at scale 2 and 1.5 at scale 1 hash
 * alike.  v must hold one row.
 */
static bool
one_row_recomputable(const SegView *v)
{
	uint32_t	i;

	if (v->ndistinct > 0)
		return false;
	for (i = 0; i < v->nmeasures; i++)
		if (v->m[i].nnull == 0 && v->m[i].kind != SEG_KIND_SCALED)
			return false;
	return true;
}

bool
seg_one_row_checksum(const SegView *v, int64_t key, uint64_t *checksum)
{
	uint64_t	h;
	uint32_t	i;

	if (!one_row_recomputable(v))
		return false;
	h = seg_hash_init(key, v->first_ts);
	for (i = 0; i < v->nmeasures; i++)
	{
		const SegMeasure *m = &v->m[i];
		seg_int128	mant = m->sum;
		uint32_t	scale = m->scale;

		if (m->nnull > 0)
		{
			h = seg_hash_null(h);
			continue;
		}
		while (scale > 0 && mant % 10 == 0)
		{
			mant /= 10;
			scale--;
		}
		h = seg_hash_scaled(h, mant, scale);
	}
	*checksum = seg_hash_finish(h);
	return true;
}

/* With lineage, a one-row value's checksum is recomputed, not stored. */
static bool
one_row_checksum_implied(const SegView *v)
{
	return (v->flags & SEG_F_LINEAGE) && one_row_recomputable(v);
}

/*
 * The rest of a value in the one-row form (see segment_codec.h), p just
 * past the flags byte.  Everything the form leaves out is filled in, so
 * the view is the one the full form gives.
 */
static SegStatus
parse_one_row(const uint8_t *data, const uint8_t *p, const uint8_t *end, SegView *v)
{
	uint64_t	nmeasures;
	uint32_t	i;
	int			k;

	v->one_row = true;
	v->flags &= ~SEG_F_ONE_ROW;
	if (v->flags & (SEG_F_ZSTD | SEG_F_MINMAX_STALE))
		return SEG_ERR_FLAGS;
	v->count = 1;
	TRY(seg_get_uvarint(&p, end, &nmeasures));
	if (nmeasures > SEG_MAX_MEASURES)
		return SEG_ERR_RANGE;
	v->nmeasures = (uint32_t) nmeasures;
	TRY(seg_get_svarint(&p, end, &v->first_ts));
	v->last_ts = v->first_ts;
	if (v->counts)
		v->at_first = v->at_last = 1;
	for (i = 0; i < v->nmeasures; i++)
	{
		SegMeasure *m = &v->m[i];

		TRY(get_measure_head(&p, end, 1, m));
		if (m->nnull == 1)
			continue;
		if (m->kind == SEG_KIND_SCALED)
		{
			TRY(seg_get_svarint128(&p, end, &m->sum));
			m->min = m->max = m->sum;
		}
		else
		{
			TRY(get_decimal(&p, end, &m->dec[0], &m->dec_len[0]));
			for (k = 1; k < 3; k++)
			{
				m->dec[k] = m->dec[0];
				m->dec_len[k] = m->dec_len[0];
			}
		}
		if (v->counts)
			m->at_min = m->at_max = 1;
	}
	TRY(parse_distinct_section(&p, end, v));
	if ((v->flags & SEG_F_DISTINCT_STALE) && v->ndistinct == 0)
		return SEG_ERR_FLAGS;
	if (!one_row_checksum_implied(v))
		TRY(get_checksum(&p, end, &v->checksum));
	v->fixed_len = (size_t) (p - data);
	if (v->flags & SEG_F_LINEAGE)
	{
		int64_t		key;

		/* the raw encoding of one key, and nothing after it */
		v->lineage = p;
		TRY(seg_get_svarint(&p, end, &key));
		v->lineage_len = (size_t) (p - v->lineage);
		v->raw_len = v->lineage_len;
		if (one_row_checksum_implied(v))
			(void) seg_one_row_checksum(v, key, &v->checksum);
	}
	if (p != end)
		return SEG_ERR_TRAILING;
	return SEG_OK;
}

/*
 * Parses and validates everything but the content of the lineage section,
 * whose sizes are still checked against the declared count.  Cheap: the
 * accessors call it on every value they read.
 */
SegStatus
seg_parse(const uint8_t *data, size_t len, SegView *v)
{
	const uint8_t *p = data;
	const uint8_t *end = data + len;
	uint64_t	nmeasures;
	uint32_t	i;

	memset(v, 0, offsetof(SegView, m));
	v->raw_len = 0;
	v->lineage = NULL;
	v->lineage_len = 0;

	if (len == 0)
		return SEG_ERR_EMPTY;
	TRY(get_u8(&p, end, &v->version));
	if (v->version != SEG_FORMAT_VERSION && v->version != SEG_FORMAT_VERSION_DISTINCT &&
		v->version != SEG_FORMAT_VERSION_COUNTS)
		return SEG_ERR_VERSION;
	v->counts = v->version == SEG_FORMAT_VERSION_COUNTS;
	TRY(get_u8(&p, end, &v->flags));
	if ((v->flags & ~(SEG_F_ALL | SEG_F_ONE_ROW)) != 0)
		return SEG_ERR_FLAGS;
	if (v->flags & SEG_F_ONE_ROW)
		return parse_one_row(data, p, end, v);
	if ((v->flags & SEG_F_DISTINCT_STALE) && v->version == SEG_FORMAT_VERSION)
		return SEG_ERR_FLAGS;
	/* a segment whose bounds are stale keeps no counts */
	if ((v->flags & SEG_F_MINMAX_STALE) && v->counts)
		return SEG_ERR_FLAGS;
	if ((v->flags & SEG_F_ZSTD) && !(v->flags & SEG_F_LINEAGE))
		return SEG_ERR_FLAGS;
	TRY(seg_get_uvarint(&p, end, &v->count));
	if (v->count > (uint64_t) INT64_MAX)
		return SEG_ERR_RANGE;
	TRY(seg_get_uvarint(&p, end, &nmeasures));
	if (nmeasures > SEG_MAX_MEASURES)
		return SEG_ERR_RANGE;
	v->nmeasures = (uint32_t) nmeasures;

	if (v->count > 0)
	{
		uint64_t	span;
		uint64_t	first_u;

		TRY(seg_get_svarint(&p, end, &v->first_ts));
		TRY(seg_get_uvarint(&p, end, &span));
		/* in offset-binary, last = first + span must not pass INT64_MAX */
		first_u = (uint64_t) v->first_ts ^ UINT64_C(0x8000000000000000);
		if (UINT64_MAX - first_u < span)
			return SEG_ERR_RANGE;
		v->last_ts = (int64_t) ((first_u + span) ^ UINT64_C(0x8000000000000000));
		if (v->counts && span == 0)
			v->at_first = v->at_last = v->count;	/* implied, not stored */
		else if (v->counts)
		{
			TRY(seg_get_uvarint(&p, end, &v->at_first));
			TRY(seg_get_uvarint(&p, end, &v->at_last));
			TRY(seg_check_extreme_counts(v->count, v->at_first, v->at_last, false));
		}
	}
	else if (v->flags & (SEG_F_MINMAX_STALE | SEG_F_DISTINCT_STALE))
		return SEG_ERR_FLAGS;
	else if (v->counts)
		return SEG_ERR_EXTREME_COUNT;	/* nothing to count */

	TRY(get_checksum(&p, end, &v->checksum));

	for (i = 0; i < v->nmeasures; i++)
	{
		SegMeasure *m = &v->m[i];

		TRY(get_measure_head(&p, end, v->count, m));
		if (v->count - m->nnull == 0)
			continue;
		if (m->kind == SEG_KIND_SCALED)
		{
			TRY(seg_get_svarint128(&p, end, &m->sum));
			TRY(seg_get_svarint128(&p, end, &m->min));
			TRY(seg_get_svarint128(&p, end, &m->max));
			if (m->min > m->max)
				return SEG_ERR_MINMAX;
			if (v->counts && m->min == m->max)
				m->at_min = m->at_max = v->count - m->nnull;	/* implied */
			else if (v->counts)
			{
				TRY(seg_get_uvarint(&p, end, &m->at_min));
				TRY(seg_get_uvarint(&p, end, &m->at_max));
				TRY(seg_check_extreme_counts(v->count - m->nnull, m->at_min, m->at_max, false));
			}
		}
		else
		{
			int			k;

			for (k = 0; k < 3; k++)
				TRY(get_decimal(&p, end, &m->dec[k], &m->dec_len[k]));
			if (v->counts && decimal_same_text(m))
				m->at_min = m->at_max = v->count - m->nnull;	/* implied */
			else if (v->counts)
			{
				uint64_t	nonnull = v->count - m->nnull;

				/*
				 * min = max in other spellings is for the backend to tell
				 * (numeric compare)
				 */
				TRY(seg_get_uvarint(&p, end, &m->at_min));
				TRY(seg_get_uvarint(&p, end, &m->at_max));
				if (m->at_min < 1 || m->at_min > nonnull ||
					m->at_max < 1 || m->at_max > nonnull)
					return SEG_ERR_EXTREME_COUNT;
			}
		}
	}
	TRY(parse_distinct_section(&p, end, v));
	if ((v->flags & SEG_F_DISTINCT_STALE) && v->ndistinct == 0)
		return SEG_ERR_FLAGS;
	v->fixed_len = (size_t) (p - data);

	if (!(v->flags & SEG_F_LINEAGE) || v->count == 0)
	{
		if (v->flags & SEG_F_ZSTD)
			return SEG_ERR_FLAGS;
		if (p != end)
			return SEG_ERR_TRAILING;
		return SEG_OK;
	}

	TRY(seg_get_uvarint(&p, end, &v->raw_len));
	/* every key takes 1 to 10 bytes */
	if (v->raw_len > SEG_MAX_RAW_LEN)
		return SEG_ERR_TOO_LARGE;
	if (v->raw_len < v->count || v->raw_len > v->count * 10)
		return SEG_ERR_LINEAGE_SIZE;
	v->lineage = p;
	v->lineage_len = (size_t) (end - p);
	if (v->flags & SEG_F_ZSTD)
	{
		if (v->lineage_len == 0)
			return SEG_ERR_TRUNCATED;
		/*
		 * No zstd frame expands more than an RLE block does (4 bytes for
		 * 128 kB): a small value cannot make us allocate a huge buffer.
		 */
		if (v->raw_len > (uint64_t) v->lineage_len * SEG_ZSTD_MAX_RATIO + SEG_ZSTD_BLOCK)
			return SEG_ERR_ZSTD_SIZE;
	}
	else if (v->lineage_len != v->raw_len)
		return v->lineage_len < v->raw_len ? SEG_ERR_TRUNCATED : SEG_ERR_TRAILING;
	return SEG_OK;
}

/*
 * Writes the raw key encoding of a parsed value with lineage into 'raw',
 * which must have room for v->raw_len bytes.  zstd output is bounded by
 * that declared size, never by what the frame claims.
 */
SegStatus
seg_lineage_raw(const SegView *v, uint8_t *raw)
{
	unsigned long long content;
	size_t		frame;
	size_t		got;

	if (!(v->flags & SEG_F_ZSTD))
	{
		memcpy(raw, v->lineage, v->lineage_len);
		return SEG_OK;
	}
	/*
	 * Only a standard frame, as seg_encode_lineage writes: libzstd would
	 * also take skippable frames and (built with legacy support, as Debian's
	 * is) pre-1.0 v0.5-v0.7 frames, whose old decoders we do not want to
	 * expose to stored bytes.
	 */
	if (v->lineage_len < 4 || v->lineage[0] != 0x28 || v->lineage[1] != 0xB5 ||
		v->lineage[2] != 0x2F || v->lineage[3] != 0xFD)
		return SEG_ERR_ZSTD;
	frame = ZSTD_findFrameCompressedSize(v->lineage, v->lineage_len);
	if (ZSTD_isError(frame) || frame != v->lineage_len)
		return SEG_ERR_ZSTD;
	content = ZSTD_getFrameContentSize(v->lineage, v->lineage_len);
	if (content == ZSTD_CONTENTSIZE_UNKNOWN || content == ZSTD_CONTENTSIZE_ERROR)
		return SEG_ERR_ZSTD;
	if (content != v->raw_len)
		return SEG_ERR_ZSTD_SIZE;
	{
		/*
		 * One decompression context for the process, as seg_encode_lineage
		 * keeps one for compression: ZSTD_decompress() sets up and frees a
		 * context on every call, 13 us against 3 us for a 430-byte frame,
		 * and a roll-up, merge() or trace decodes one frame per cell.  A
		 * context is reset at the start of every frame, so a frame that
		 * failed leaves nothing behind for the next.
		 */
		static ZSTD_DCtx *dctx = NULL;

		if (dctx == NULL)
			dctx = ZSTD_createDCtx();
		if (dctx != NULL)
			got = ZSTD_decompressDCtx(dctx, raw, (size_t) v->raw_len, v->lineage, v->lineage_len);
		else
			got = ZSTD_decompress(raw, (size_t) v->raw_len, v->lineage, v->lineage_len);
	}
	if (ZSTD_isError(got))
		return SEG_ERR_ZSTD;
	if (got != v->raw_len)
		return SEG_ERR_ZSTD_SIZE;
	return SEG_OK;
}

void
seg_key_iter_init(SegKeyIter *it, const uint8_t *raw, size_t raw_len, uint64_t count)
{
	it->p = raw;
	it->end = raw + raw_len;
	it->remaining = count;
	it->prev = 0;
	it->started = false;
}

/* Next key; the caller stops after 'count' keys. */
SegStatus
seg_key_next(SegKeyIter *it, int64_t *key)
{
	if (it->remaining == 0)
		return SEG_ERR_KEY_COUNT;
	if (!it->started)
	{
		int64_t		first;

		TRY(seg_get_svarint(&it->p, it->end, &first));
		it->prev = (uint64_t) first ^ UINT64_C(0x8000000000000000);
		it->started = true;
	}
	else
	{
		uint64_t	gap;

		TRY(seg_get_uvarint(&it->p, it->end, &gap));
		if (gap == 0)
			return SEG_ERR_KEY_ORDER;
		if (UINT64_MAX - it->prev < gap)
			return SEG_ERR_RANGE;
		it->prev += gap;
	}
	it->remaining--;
	*key = (int64_t) (it->prev ^ UINT64_C(0x8000000000000000));
	return SEG_OK;
}

SegStatus
seg_key_iter_finish(const SegKeyIter *it)
{
	if (it->remaining != 0)
		return SEG_ERR_KEY_COUNT;
	if (it->p != it->end)
		return SEG_ERR_TRAILING;
	return SEG_OK;
}

SegStatus
seg_lineage_validate(const uint8_t *raw, size_t raw_len, uint64_t count)
{
	SegKeyIter	it;
	int64_t		key;

	seg_key_iter_init(&it, raw, raw_len, count);
	while (it.remaining > 0)
		TRY(seg_key_next(&it, &key));
	return seg_key_iter_finish(&it);
}

/* ---------------------------------------------------------------- encoding */

size_t
seg_raw_keys_bound(uint64_t nkeys)
{
	return (size_t) nkeys * 10;
}

/* Encodes strictly increasing keys; returns the bytes written. */
size_t
seg_encode_keys(const int64_t *keys, uint64_t nkeys, uint8_t *out)
{
	size_t		n = 0;
	uint64_t	i;

	if (nkeys == 0)
		return 0;
	n += seg_put_svarint(out, keys[0]);
	for (i = 1; i < nkeys; i++)
	{
		uint64_t	gap = (uint64_t) keys[i] - (uint64_t) keys[i - 1];

		if (gap < 0x80)
			out[n++] = (uint8_t) gap;
		else
			n += seg_put_uvarint(out + n, gap);
	}
	return n;
}

size_t
seg_fixed_bound(const SegView *v)
{
	size_t		n = 2 + 10 + 10 + 10 + 10 + 10 + 10 + 8;
	uint32_t	i;

	for (i = 0; i < v->nmeasures; i++)
	{
		const SegMeasure *m = &v->m[i];

		n += 1 + 10 + 10 + 3 * 19 + 2 * 10;
		if (m->kind == SEG_KIND_DECIMAL)
			n += 3 * 10 + m->dec_len[0] + m->dec_len[1] + m->dec_len[2];
	}
	n += 10;
	for (i = 0; i < v->ndistinct; i++)
		n += 1 + 10 + v->d[i].len;
	return n + 10;				/* + raw_len varint */
}

/* The 8-byte little-endian checksum; returns the bytes written. */
static size_t
put_checksum(uint8_t *out, uint64_t checksum)
{
	int			k;

	for (k = 0; k < 8; k++)
		out[k] = (uint8_t) (checksum >> (8 * k));
	return 8;
}

/* A measure's kind, NULL count and, when SCALED, scale (get_measure_head). */
static size_t
put_measure_head(uint8_t *out, const SegMeasure *m)
{
	size_t		n = 0;

	out[n++] = m->kind;
	n += seg_put_uvarint(out + n, m->nnull);
	if (m->kind == SEG_KIND_SCALED)
		n += seg_put_uvarint(out + n, m->scale);
	return n;
}

/* One DECIMAL value (get_decimal). */
static size_t
put_decimal(uint8_t *out, const char *text, uint32_t len)
{
	size_t		n = seg_put_uvarint(out, len);

	memcpy(out + n, text, len);
	return n + len;
}

/* The distinct section of a version 2 or 3 value (parse_distinct_section). */
static size_t
put_distinct_section(uint8_t *out, const SegView *v)
{
	size_t		n = seg_put_uvarint(out, v->ndistinct);
	uint32_t	i;

	for (i = 0; i < v->ndistinct; i++)
	{
		out[n++] = v->d[i].mode;
		n += seg_put_uvarint(out + n, v->d[i].len);
		memcpy(out + n, v->d[i].data, v->d[i].len);
		n += v->d[i].len;
	}
	return n;
}

/*
 * Writes everything up to (not including) the lineage section, with the
 * extreme counts (version 3) when 'counts'.
 */
static size_t
encode_fixed(const SegView *v, uint8_t *out, bool counts)
{
	size_t		n = 0;
	uint32_t	i;
	int			k;

	out[n++] = counts ? SEG_FORMAT_VERSION_COUNTS :
		v->ndistinct > 0 ? SEG_FORMAT_VERSION_DISTINCT : SEG_FORMAT_VERSION;
	out[n++] = (uint8_t) (v->flags & ~SEG_F_ONE_ROW);
	n += seg_put_uvarint(out + n, v->count);
	n += seg_put_uvarint(out + n, v->nmeasures);
	if (v->count > 0)
	{
		n += seg_put_svarint(out + n, v->first_ts);
		n += seg_put_uvarint(out + n, (uint64_t) v->last_ts - (uint64_t) v->first_ts);
		if (counts && v->first_ts != v->last_ts)
		{
			n += seg_put_uvarint(out + n, v->at_first);
			n += seg_put_uvarint(out + n, v->at_last);
		}
	}
	n += put_checksum(out + n, v->checksum);
	for (i = 0; i < v->nmeasures; i++)
	{
		const SegMeasure *m = &v->m[i];

		n += put_measure_head(out + n, m);
		if (v->count - m->nnull == 0)
			continue;
		if (m->kind == SEG_KIND_SCALED)
		{
			n += seg_put_svarint128(out + n, m->sum);
			n += seg_put_svarint128(out + n, m->min);
			n += seg_put_svarint128(out + n, m->max);
		}
		else
		{
			for (k = 0; k < 3; k++)
				n += put_decimal(out + n, m->dec[k], m->dec_len[k]);
		}
		if (counts && (m->kind == SEG_KIND_SCALED ? m->min != m->max : !decimal_same_text(m)))
		{
			n += seg_put_uvarint(out + n, m->at_min);
			n += seg_put_uvarint(out + n, m->at_max);
		}
	}
	if (v->ndistinct > 0 || counts)
		n += put_distinct_section(out + n, v);
	return n;
}

/*
 * Whether v (and raw, the raw key encoding when v has lineage) is stored in
 * the one-row form: one row, exact bounds, first = last, every value its
 * own min and max, counts (when known) 1, and with lineage one key and,
 * where the checksum is recomputed, the checksum that gives.  See
 * segment_codec.h.
 */
bool
seg_one_row_form(const SegView *v, const uint8_t *raw, size_t raw_len)
{
	uint32_t	i;

	if (v->count != 1 || (v->flags & SEG_F_MINMAX_STALE) || v->first_ts != v->last_ts)
		return false;
	if (v->counts && (v->at_first != 1 || v->at_last != 1))
		return false;
	for (i = 0; i < v->nmeasures; i++)
	{
		const SegMeasure *m = &v->m[i];

		if (m->nnull > 0)
			continue;
		if (m->kind == SEG_KIND_SCALED ? (m->min != m->sum || m->max != m->sum) :
			(m->dec_len[1] != m->dec_len[0] || m->dec_len[2] != m->dec_len[0] ||
			 memcmp(m->dec[1], m->dec[0], m->dec_len[0]) != 0 ||
			 memcmp(m->dec[2], m->dec[0], m->dec_len[0]) != 0))
			return false;
		if (v->counts && (m->at_min != 1 || m->at_max != 1))
			return false;
	}
	if (v->flags & SEG_F_LINEAGE)
	{
		const uint8_t *p = raw;
		int64_t		key;
		uint64_t	h;

		if (raw == NULL || seg_get_svarint(&p, raw + raw_len, &key) != SEG_OK ||
			p != raw + raw_len)
			return false;
		if (seg_one_row_checksum(v, key, &h) && h != v->checksum)
			return false;
	}
	return true;
}

/* Writes v in the one-row form; seg_one_row_form(v, raw, raw_len) holds. */
static size_t
encode_one_row(const SegView *v, const uint8_t *raw, size_t raw_len, uint8_t *out)
{
	size_t		n = 0;
	uint32_t	i;

	out[n++] = v->counts ? SEG_FORMAT_VERSION_COUNTS :
		v->ndistinct > 0 ? SEG_FORMAT_VERSION_DISTINCT : SEG_FORMAT_VERSION;
	out[n++] = (uint8_t) ((v->flags & ~(SEG_F_ZSTD | SEG_F_ONE_ROW)) | SEG_F_ONE_ROW);
	n += seg_put_uvarint(out + n, v->nmeasures);
	n += seg_put_svarint(out + n, v->first_ts);
	for (i = 0; i < v->nmeasures; i++)
	{
		const SegMeasure *m = &v->m[i];

		n += put_measure_head(out + n, m);
		if (m->nnull > 0)
			continue;
		if (m->kind == SEG_KIND_SCALED)
			n += seg_put_svarint128(out + n, m->sum);
		else
			n += put_decimal(out + n, m->dec[0], m->dec_len[0]);
	}
	if (v->ndistinct > 0 || v->counts)
		n += put_distinct_section(out + n, v);
	if (!one_row_checksum_implied(v))
		n += put_checksum(out + n, v->checksum);
	if (v->flags & SEG_F_LINEAGE)
	{
		memcpy(out + n, raw, raw_len);
		n += raw_len;
	}
	return n;
}

/*
 * Writes a whole value: the one-row form when it applies, else the full
 * form's fixed part (version 3 when v->counts) and, when raw is not NULL,
 * the lineage section, zstd-compressed when that is smaller (SEG_F_ZSTD is
 * then set).  v->flags' SEG_F_ZSTD is ignored.  out_cap must be at least
 * seg_fixed_bound(v) + seg_lineage_bound(raw_len) (the latter only with
 * raw).  Returns 0 if zstd fails, which the caller treats as out of memory.
 */
size_t
seg_encode_value(const SegView *v, const uint8_t *raw, size_t raw_len,
				 uint8_t *out, size_t out_cap)
{
	size_t		n;

	if (seg_one_row_form(v, raw, raw_len))
		return encode_one_row(v, raw, raw_len, out);
	n = encode_fixed(v, out, v->counts);
	out[1] &= ~SEG_F_ZSTD;
	if (raw)
	{
		bool		compressed;
		size_t		ln = seg_encode_lineage(raw, raw_len, out + n, out_cap - n, &compressed);

		if (ln == 0)
			return 0;
		if (compressed)
			out[1] |= SEG_F_ZSTD;
		n += ln;
	}
	return n;
}

/*
 * Writes everything up to the lineage section in the full form (never the
 * one-row form: seg_encode_value chooses): version 3 when v->counts.
 */
size_t
seg_encode_fixed(const SegView *v, uint8_t *out)
{
	return encode_fixed(v, out, v->counts);
}

/*
 * The same without the extreme counts: what v's fixed part is as a version
 * 1 or 2 value.  Equality and hashing compare this form (segment.c).
 */
size_t
seg_encode_fixed_without_counts(const SegView *v, uint8_t *out)
{
	return encode_fixed(v, out, false);
}

size_t
seg_lineage_bound(size_t raw_len)
{
	size_t		z = ZSTD_compressBound(raw_len);

	return 10 + (z > raw_len ? z : raw_len) + SEG_ZSTD_FRAME_OVERHEAD;
}

/*
 * Writes the lineage section (raw_len varint, then zstd frame or raw bytes,
 * whichever is smaller).  out_cap must be at least seg_lineage_bound().
 * Returns 0 if zstd fails, which the caller treats as out of memory.
 */
size_t
seg_encode_lineage(const uint8_t *raw, size_t raw_len, uint8_t *out, size_t out_cap, bool *compressed)
{
	size_t		n = seg_put_uvarint(out, raw_len);

	*compressed = false;
	if (raw_len >= SEG_ZSTD_MIN_RAW)
	{
		static ZSTD_CCtx *cctx = NULL;
		size_t		z;

		if (cctx == NULL)
			cctx = ZSTD_createCCtx();
		if (cctx == NULL)
			return 0;
		z = ZSTD_compressCCtx(cctx, out + n, out_cap - n, raw, raw_len, SEG_ZSTD_LEVEL);
		if (ZSTD_isError(z))
			return 0;
		if (z < raw_len)
		{
			*compressed = true;
			return n + z;
		}
	}
	memcpy(out + n, raw, raw_len);
	return n + raw_len;
}

/* ---------------------------------------------------------------- hashing */

/*
 * Row checksums.  The hash of a row depends only on its key, its time and
 * its measure values (not on how a segment stores them), so that summing
 * row hashes mod 2^64 gives a checksum that merges by addition and
 * retracts by subtraction.  The functions are part of the on-disk format:
 * changing them needs a new format version.
 */
static inline uint64_t
fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= UINT64_C(0xff51afd7ed558ccd);
	k ^= k >> 33;
	k *= UINT64_C(0xc4ceb9fe1a85ec53);
	k ^= k >> 33;
	return k;
}

static inline uint64_t
mix_word(uint64_t h, uint64_t w)
{
	h ^= fmix64(w + UINT64_C(0x9e3779b97f4a7c15));
	h = (h << 27) | (h >> 37);
	return h * 5 + UINT64_C(0x52dce729);
}

uint64_t
seg_hash_init(int64_t key, int64_t ts)
{
	uint64_t	h = UINT64_C(0x736567726f6c6c31);	/* "segroll1" */

	h = mix_word(h, (uint64_t) key);
	return mix_word(h, (uint64_t) ts);
}

/* mantissa * 10^-scale; the caller passes the value without trailing zeros */
uint64_t
seg_hash_scaled(uint64_t h, seg_int128 mantissa, uint32_t scale)
{
	h = mix_word(h, 1);
	h = mix_word(h, (uint64_t) (seg_uint128) mantissa);
	h = mix_word(h, (uint64_t) ((seg_uint128) mantissa >> 64));
	return mix_word(h, scale);
}

/* a decimal that does not fit 128 bits, in canonical text */
uint64_t
seg_hash_text(uint64_t h, const char *s, size_t len)
{
	size_t		i;

	h = mix_word(h, 2);
	h = mix_word(h, len);
	for (i = 0; i < len; i += 8)
	{
		uint64_t	w = 0;
		size_t		j;

		for (j = 0; j < 8 && i + j < len; j++)
			w |= (uint64_t) (uint8_t) s[i + j] << (8 * j);
		h = mix_word(h, w);
	}
	return h;
}

uint64_t
seg_hash_null(uint64_t h)
{
	return mix_word(h, 3);
}

/* a distinct measure's value, by its 64-bit hash (version 2) */
uint64_t
seg_hash_distinct(uint64_t h, uint64_t dhash)
{
	h = mix_word(h, 4);
	return mix_word(h, dhash);
}

/* the final mix of a distinct value's hash, so that HLL sees uniform bits */
uint64_t
seg_distinct_mix(uint64_t h)
{
	return fmix64(h ^ UINT64_C(0x64697374696e6374));	/* "distinct" */
}

uint64_t
seg_hash_finish(uint64_t h)
{
	return fmix64(h);
}

/* ---------------------------------------------------------------- distinct */

/*
 * Distinct measures: see segment_codec.h for the payloads.  The exact set
 * and the sketch are functions of the multiset of value hashes only (a
 * register is the maximum over its hashes), so the same rows give the
 * same bytes in any order, and a merge equals a build from the union.
 */

static inline size_t
uvarint_size(uint64_t v)
{
	size_t		n = 1;

	while (v >= 0x80)
	{
		v >>= 7;
		n++;
	}
	return n;
}

/*
 * Checks an EXACT payload completely and returns its hashes and counts
 * (arrays of SEG_DIST_EXACT_MAX).  The counts add up to at most 'count',
 * the segment's rows.
 */
SegStatus
seg_distinct_exact(const SegDistinct *d, uint64_t count, uint64_t *hashes,
				   uint64_t *counts, uint32_t *nout)
{
	const uint8_t *p = d->data;
	const uint8_t *end = d->data + d->len;
	uint64_t	n,
				r,
				total,
				pos = 0,
				i;

	if (d->mode != SEG_DIST_EXACT)
		return SEG_ERR_DISTINCT;
	TRY(seg_get_uvarint(&p, end, &n));
	if (n > SEG_DIST_EXACT_MAX)
		return SEG_ERR_DIST_RANGE;
	if ((uint64_t) (end - p) < n * 8)
		return SEG_ERR_TRUNCATED;
	for (i = 0; i < n; i++)
	{
		uint64_t	h = 0;
		int			k;

		for (k = 0; k < 8; k++)
			h |= (uint64_t) p[k] << (8 * k);
		p += 8;
		if (i > 0 && h <= hashes[i - 1])
			return SEG_ERR_DIST_ORDER;
		hashes[i] = h;
		counts[i] = 1;
	}
	TRY(seg_get_uvarint(&p, end, &r));
	if (r > n)
		return SEG_ERR_DIST_RANGE;
	total = n;
	for (i = 0; i < r; i++)
	{
		uint64_t	gap,
					extra;

		TRY(seg_get_uvarint(&p, end, &gap));
		TRY(seg_get_uvarint(&p, end, &extra));
		if (i > 0 && gap == 0)
			return SEG_ERR_DIST_ORDER;
		if (gap >= n)
			return SEG_ERR_DIST_RANGE;
		pos = i == 0 ? gap : pos + gap;
		if (pos >= n)
			return SEG_ERR_DIST_RANGE;
		if (extra >= count)
			return SEG_ERR_DIST_COUNT;
		counts[pos] = extra + 2;
		total += extra + 1;
		if (total > count)
			return SEG_ERR_DIST_COUNT;
	}
	if (total > count)
		return SEG_ERR_DIST_COUNT;
	if (p != end)
		return SEG_ERR_TRAILING;
	*nout = (uint32_t) n;
	return SEG_OK;
}

size_t
seg_distinct_encode_exact(const uint64_t *hashes, const uint64_t *counts,
						  uint32_t n, uint8_t *out)
{
	size_t		len = seg_put_uvarint(out, n);
	uint32_t	i,
				r = 0,
				prev = 0;
	int			k;

	for (i = 0; i < n; i++)
	{
		for (k = 0; k < 8; k++)
			out[len++] = (uint8_t) (hashes[i] >> (8 * k));
		if (counts[i] > 1)
			r++;
	}
	len += seg_put_uvarint(out + len, r);
	r = 0;
	for (i = 0; i < n; i++)
	{
		if (counts[i] <= 1)
			continue;
		len += seg_put_uvarint(out + len, r == 0 ? i : i - prev);
		len += seg_put_uvarint(out + len, counts[i] - 2);
		prev = i;
		r++;
	}
	return len;
}

static size_t
sparse_size(const uint8_t *reg)
{
	size_t		n = 0,
				k = 0;
	uint32_t	i,
				prev = 0;

	for (i = 0; i < SEG_HLL_M; i++)
	{
		if (reg[i] == 0)
			continue;
		n += uvarint_size(k == 0 ? i : i - prev) + 1;
		prev = i;
		k++;
	}
	return n + uvarint_size(k);
}

static uint8_t
register_min(const uint8_t *reg)
{
	uint8_t		b = SEG_HLL_MAXRANK;
	uint32_t	i;

	for (i = 0; i < SEG_HLL_M; i++)
		if (reg[i] < b)
			b = reg[i];
	return b;
}

static size_t
dense_size(const uint8_t *reg)
{
	uint8_t		base = register_min(reg);
	size_t		n = 1 + SEG_HLL_M / 2,
				e = 0;
	uint32_t	i,
				prev = 0;

	for (i = 0; i < SEG_HLL_M; i++)
	{
		if (reg[i] - base < 15)
			continue;
		n += uvarint_size(e == 0 ? i : i - prev) + 1;
		prev = i;
		e++;
	}
	return n + uvarint_size(e);
}

/*
 * Writes a sketch's payload, sparse or dense, whichever is shorter (dense
 * on a tie), and its mode.  out needs SEG_DIST_MAX_PAYLOAD bytes.
 */
size_t
seg_distinct_encode_sketch(const uint8_t *reg, uint8_t *out, uint8_t *mode)
{
	size_t		sp = sparse_size(reg);
	size_t		dn = dense_size(reg);
	size_t		n = 0;
	uint32_t	i,
				prev = 0,
				k = 0;

	if (sp < dn)
	{
		for (i = 0; i < SEG_HLL_M; i++)
			if (reg[i] != 0)
				k++;
		*mode = SEG_DIST_SPARSE;
		n += seg_put_uvarint(out, k);
		k = 0;
		for (i = 0; i < SEG_HLL_M; i++)
		{
			if (reg[i] == 0)
				continue;
			n += seg_put_uvarint(out + n, k == 0 ? i : i - prev);
			out[n++] = reg[i];
			prev = i;
			k++;
		}
		return n;
	}
	else
	{
		uint8_t		base = register_min(reg);

		*mode = SEG_DIST_DENSE;
		out[n++] = base;
		for (i = 0; i < SEG_HLL_M; i += 2)
		{
			uint8_t		lo = reg[i] - base < 15 ? reg[i] - base : 15;
			uint8_t		hi = reg[i + 1] - base < 15 ? reg[i + 1] - base : 15;

			out[n++] = (uint8_t) (lo | (hi << 4));
			if (lo == 15)
				k++;
			if (hi == 15)
				k++;
		}
		n += seg_put_uvarint(out + n, k);
		k = 0;
		for (i = 0; i < SEG_HLL_M; i++)
		{
			if (reg[i] - base < 15)
				continue;
			n += seg_put_uvarint(out + n, k == 0 ? i : i - prev);
			out[n++] = reg[i];
			prev = i;
			k++;
		}
		return n;
	}
}

/*
 * The i-th register index of a sparse list (or of a dense sketch's
 * escapes), written as a gap from the previous one, *idx (the first gap
 * is the index itself): gaps after the first are >= 1, so the indexes
 * strictly increase.  The caller checks the new *idx against SEG_HLL_M,
 * with the status that fits its encoding.
 */
static SegStatus
get_register_index(const uint8_t **p, const uint8_t *end, uint64_t i, uint64_t *idx)
{
	uint64_t	gap;

	TRY(seg_get_uvarint(p, end, &gap));
	if (i > 0 && gap == 0)
		return SEG_ERR_DIST_ORDER;
	if (gap >= SEG_HLL_M)
		return SEG_ERR_DIST_RANGE;
	*idx = i == 0 ? gap : *idx + gap;
	return SEG_OK;
}

/*
 * Reads a sparse payload into registers (reg, zeroed by the caller) or
 * into entries index << 8 | value in register order (entries; the
 * payload has at most len / 2 of them), validating all but the canonical
 * size, which needs the registers.
 */
static SegStatus
sparse_parse(const SegDistinct *d, uint8_t *reg, uint32_t *entries, uint32_t *nout)
{
	const uint8_t *p = d->data;
	const uint8_t *end = d->data + d->len;
	uint64_t	k,
				i,
				idx = 0;

	TRY(seg_get_uvarint(&p, end, &k));
	if (k == 0 || k > SEG_HLL_M)
		return SEG_ERR_DIST_RANGE;
	for (i = 0; i < k; i++)
	{
		uint8_t		val;

		TRY(get_register_index(&p, end, i, &idx));
		if (idx >= SEG_HLL_M)
			return SEG_ERR_DIST_RANGE;
		TRY(get_u8(&p, end, &val));
		if (val == 0 || val > SEG_HLL_MAXRANK)
			return SEG_ERR_DIST_RANGE;
		if (reg)
			reg[idx] = val;
		else
			entries[i] = (uint32_t) idx << 8 | val;
	}
	if (p != end)
		return SEG_ERR_TRAILING;
	*nout = (uint32_t) k;
	return SEG_OK;
}

/*
 * The entries (index << 8 | value, in register order) of a sparse payload
 * shorter than any dense one (d->len < SEG_DIST_SPARSE_SHORT), validated
 * as seg_distinct_registers validates it, without the SEG_HLL_M registers:
 * 'entries' has room for d->len / 2 of them.  SEG_ERR_DISTINCT for any
 * other payload.
 */
SegStatus
seg_distinct_sparse_entries(const SegDistinct *d, uint32_t *entries, uint32_t *n)
{
	if (d->mode != SEG_DIST_SPARSE || d->len >= SEG_DIST_SPARSE_SHORT)
		return SEG_ERR_DISTINCT;
	return sparse_parse(d, NULL, entries, n);
}

/*
 * Checks a SPARSE or DENSE payload completely, canonical form included,
 * and writes its SEG_HLL_M registers.
 */
SegStatus
seg_distinct_registers(const SegDistinct *d, uint8_t *reg)
{
	const uint8_t *p = d->data;
	const uint8_t *end = d->data + d->len;
	uint64_t	i,
				idx = 0;

	memset(reg, 0, SEG_HLL_M);
	if (d->mode == SEG_DIST_SPARSE)
	{
		uint32_t	n;

		TRY(sparse_parse(d, reg, NULL, &n));
		/* a dense payload takes at least SEG_DIST_SPARSE_SHORT bytes */
		if (d->len >= SEG_DIST_SPARSE_SHORT && d->len >= dense_size(reg))
			return SEG_ERR_DIST_CANONICAL;
		return SEG_OK;
	}
	if (d->mode == SEG_DIST_DENSE)
	{
		uint8_t		base;
		uint64_t	e;
		uint32_t	escapes = 0,
					zeros = 0,
					nonzero_count;
		bool		has_base;

		TRY(get_u8(&p, end, &base));
		if (base > SEG_HLL_MAXRANK)
			return SEG_ERR_DIST_RANGE;
		if ((size_t) (end - p) < SEG_HLL_M / 2)
			return SEG_ERR_TRUNCATED;
		/*
		 * One pass, two registers a byte, written to vectorize: escapes
		 * get the marker base + 15, which no nibble gives otherwise, and
		 * are filled in below.
		 */
		if (base + 14 > SEG_HLL_MAXRANK)
		{
			for (i = 0; i < SEG_HLL_M / 2; i++)
			{
				uint8_t		lo = p[i] & 0x0F,
							hi = p[i] >> 4;

				if ((lo != 15 && base + lo > SEG_HLL_MAXRANK) ||
					(hi != 15 && base + hi > SEG_HLL_MAXRANK))
					return SEG_ERR_DIST_RANGE;
			}
		}
		for (i = 0; i < SEG_HLL_M / 2; i++)
		{
			uint8_t		lo = p[i] & 0x0F,
						hi = p[i] >> 4;

			zeros += (lo == 0) + (hi == 0);
			escapes += (lo == 15) + (hi == 15);
			reg[2 * i] = (uint8_t) (base + lo);
			reg[2 * i + 1] = (uint8_t) (base + hi);
		}
		has_base = zeros > 0;
		nonzero_count = base > 0 ? SEG_HLL_M : SEG_HLL_M - zeros;
		p += SEG_HLL_M / 2;
		TRY(seg_get_uvarint(&p, end, &e));
		if (e != escapes)
			return SEG_ERR_DIST_CANONICAL;
		for (i = 0; i < e; i++)
		{
			uint8_t		val;

			TRY(get_register_index(&p, end, i, &idx));
			if (idx >= SEG_HLL_M || reg[idx] != base + 15)
				return SEG_ERR_DIST_CANONICAL;
			TRY(get_u8(&p, end, &val));
			if (val < base + 15 || val > SEG_HLL_MAXRANK)
				return SEG_ERR_DIST_RANGE;
			reg[idx] = val;
		}
		if (p != end)
			return SEG_ERR_TRAILING;
		if (!has_base || nonzero_count == 0)
			return SEG_ERR_DIST_CANONICAL;
		/* a sparse payload takes at least 1 + 2 bytes a non-zero register */
		if (d->len > 1 + 2 * nonzero_count && d->len > sparse_size(reg))
			return SEG_ERR_DIST_CANONICAL;
		return SEG_OK;
	}
	return SEG_ERR_DISTINCT;
}

/*
 * Checks every distinct measure of a parsed value completely.  scratch
 * holds SEG_DIST_SCRATCH bytes, 8-byte aligned.
 */
SegStatus
seg_distinct_validate(const SegView *v, void *scratch)
{
	uint32_t	i;
	uint64_t   *hashes = scratch;

	for (i = 0; i < v->ndistinct; i++)
	{
		uint32_t	n;

		if (v->d[i].mode == SEG_DIST_EXACT)
			TRY(seg_distinct_exact(&v->d[i], v->count, hashes,
								   hashes + SEG_DIST_EXACT_MAX, &n));
		else
			TRY(seg_distinct_registers(&v->d[i], scratch));
	}
	return SEG_OK;
}

void
seg_hll_add(uint8_t *reg, uint64_t hash)
{
	uint32_t	idx;
	uint8_t		rank;

	seg_hll_position(hash, &idx, &rank);
	if (rank > reg[idx])
		reg[idx] = rank;
}

/* Ertl (2017), "New cardinality estimation algorithms for HyperLogLog
 * sketches", the improved raw estimator: unbiased over the whole range
 * without empirical bias tables. */
static double
ertl_sigma(double x)
{
	double		y = 1.0,
				z,
				z_old;

	if (x == 1.0)
		return INFINITY;
	z = x;
	do
	{
		x *= x;
		z_old = z;
		z += x * y;
		y += y;
	} while (z != z_old);
	return z;
}

static double
ertl_tau(double x)
{
	double		y = 1.0,
				z,
				z_old;

	if (x == 0.0 || x == 1.0)
		return 0.0;
	z = 1.0 - x;
	do
	{
		x = sqrt(x);
		z_old = z;
		y *= 0.5;
		z -= (1.0 - x) * (1.0 - x) * y;
	} while (z != z_old);
	return z / 3.0;
}

double
seg_hll_estimate(const uint8_t *reg)
{
	const double m = SEG_HLL_M;
	const int	q = 64 - SEG_HLL_P;
	uint32_t	c[SEG_HLL_MAXRANK + 1];
	double		z;
	uint32_t	i;
	int			k;

	memset(c, 0, sizeof(c));
	for (i = 0; i < SEG_HLL_M; i++)
		c[reg[i]]++;
	if (c[0] == SEG_HLL_M)
		return 0.0;
	z = m * ertl_tau(1.0 - c[q + 1] / m);
	for (k = q; k >= 1; k--)
		z = 0.5 * (z + c[k]);
	z += m * ertl_sigma(c[0] / m);
	return (m * m / (2.0 * log(2.0))) / z;
}
