/*-------------------------------------------------------------------------
 *
 * segment_numeric.c
 *	  Exact conversion between measure values and scaled 128-bit integers.
 *
 * A measure is kept as mantissa * 10^-scale in an int128 as long as that
 * is exact, which makes summing millions of numeric(12,2) amounts integer
 * additions.  Reading a numeric's digits here, instead of going through
 * numeric_out, is what keeps the aggregate path fast; the format read is
 * PostgreSQL's stable on-disk numeric format (short and long headers,
 * base-10000 digits, special values).  Anything that does not convert
 * exactly — NaN, infinities, more than 38 digits — is reported as such and
 * the caller keeps the value as a numeric instead: results are never
 * rounded and never wrap.
 *
 *-------------------------------------------------------------------------
 */
#include "segroll.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

/* PostgreSQL's numeric header bits (utils/adt/numeric.c, on-disk format) */
#define NUMH_SIGN_MASK			0xC000
#define NUMH_NEG				0x4000
#define NUMH_SHORT				0x8000
#define NUMH_SPECIAL			0xC000
#define NUMH_DSCALE_MASK		0x3FFF
#define NUMH_SHORT_SIGN_MASK	0x2000
#define NUMH_SHORT_DSCALE_MASK	0x1F80
#define NUMH_SHORT_DSCALE_SHIFT	7
#define NUMH_SHORT_WEIGHT_SIGN	0x0040
#define NUMH_SHORT_WEIGHT_MASK	0x003F
#define NUMH_NBASE				10000

static const int128 *
pow10_table(void)
{
	static int128 table[SEG_MAX_SCALE + 1];
	static bool done = false;

	if (!done)
	{
		int			i;

		table[0] = 1;
		for (i = 1; i <= SEG_MAX_SCALE; i++)
			table[i] = table[i - 1] * 10;
		done = true;
	}
	return table;
}

/*
 * Converts a numeric (packed or not) to mantissa * 10^-scale, scale being
 * its display scale.  Returns false if that is not exactly representable.
 */
bool
segnum_from_numeric(Numeric num, int128 *mantissa, uint32 *scale)
{
	const char *data = VARDATA_ANY(num);
	size_t		len = VARSIZE_ANY_EXHDR(num);
	uint16		header;
	bool		neg;
	int			dscale;
	int			weight;
	const char *digits;
	int			ndigits;
	int			exp10;
	int128		n = 0;
	int			i;

	if (len < sizeof(uint16))
		return false;
	memcpy(&header, data, sizeof(uint16));
	switch (header & NUMH_SIGN_MASK)
	{
		case NUMH_SPECIAL:
			return false;
		case NUMH_SHORT:
			neg = (header & NUMH_SHORT_SIGN_MASK) != 0;
			dscale = (header & NUMH_SHORT_DSCALE_MASK) >> NUMH_SHORT_DSCALE_SHIFT;
			weight = header & NUMH_SHORT_WEIGHT_MASK;
			if (header & NUMH_SHORT_WEIGHT_SIGN)
				weight -= NUMH_SHORT_WEIGHT_MASK + 1;
			digits = data + sizeof(uint16);
			ndigits = (int) ((len - sizeof(uint16)) / sizeof(int16));
			break;
		default:
			{
				int16		w;

				if (len < 2 * sizeof(uint16))
					return false;
				neg = (header & NUMH_SIGN_MASK) == NUMH_NEG;
				dscale = header & NUMH_DSCALE_MASK;
				memcpy(&w, data + sizeof(uint16), sizeof(int16));
				weight = w;
				digits = data + 2 * sizeof(uint16);
				ndigits = (int) ((len - 2 * sizeof(uint16)) / sizeof(int16));
				break;
			}
	}
	if (dscale > SEG_MAX_SCALE)
		return false;
	if (ndigits == 0)
	{
		*mantissa = 0;
		*scale = (uint32) dscale;
		return true;
	}
	if (ndigits > 10)
		return false;

	if (ndigits <= 4)
	{
		int64		n64 = 0;

		for (i = 0; i < ndigits; i++)
		{
			int16		d;

			memcpy(&d, digits + i * sizeof(int16), sizeof(int16));
			if (d < 0 || d >= NUMH_NBASE)
				return false;
			n64 = n64 * NUMH_NBASE + d;
		}
		n = n64;
	}
	else
	{
		for (i = 0; i < ndigits; i++)
		{
			int16		d;

			memcpy(&d, digits + i * sizeof(int16), sizeof(int16));
			if (d < 0 || d >= NUMH_NBASE)
				return false;
			if (__builtin_mul_overflow(n, (int128) NUMH_NBASE, &n) ||
				__builtin_add_overflow(n, (int128) d, &n))
				return false;
		}
	}

	/* value = n * 10^(4 * (weight - ndigits + 1)); we want value * 10^dscale */
	exp10 = 4 * (weight - ndigits + 1) + dscale;
	if (exp10 > 0)
	{
		if (exp10 > SEG_MAX_SCALE ||
			__builtin_mul_overflow(n, pow10_table()[exp10], &n))
			return false;
	}
	else if (exp10 < 0)
	{
		int128		div;

		if (-exp10 > SEG_MAX_SCALE)
			return false;
		div = pow10_table()[-exp10];
		if (n % div != 0)
			return false;
		n /= div;
	}
	*mantissa = neg ? -n : n;
	*scale = (uint32) dscale;
	return true;
}

/* Text of mantissa * 10^-scale with exactly 'scale' fractional digits. */
char *
segnum_scaled_text(int128 mantissa, uint32 scale)
{
	char		digits[48];
	char	   *out;
	int			nd = 0;
	int			o = 0;
	bool		neg = mantissa < 0;
	uint128		u = neg ? -(uint128) mantissa : (uint128) mantissa;
	int			i;

	do
	{
		digits[nd++] = (char) ('0' + (int) (u % 10));
		u /= 10;
	} while (u != 0);
	while (nd <= (int) scale)
		digits[nd++] = '0';

	out = palloc(nd + 3);
	if (neg)
		out[o++] = '-';
	for (i = nd - 1; i >= 0; i--)
	{
		out[o++] = digits[i];
		if (i == (int) scale && scale > 0)
			out[o++] = '.';
	}
	out[o] = '\0';
	return out;
}

/*
 * Builds the numeric mantissa * 10^-scale directly in PostgreSQL's numeric
 * format (what numeric_in would produce for the same text, short header
 * when it fits), without going through text: the accessors call this once
 * per cell, which BI queries do for every cell they read.
 */
Numeric
segnum_to_numeric(int128 mantissa, uint32 scale)
{
	bool		neg = mantissa < 0;
	uint128		u = neg ? -(uint128) mantissa : (uint128) mantissa;
	int			pad = (4 - (int) (scale % 4)) % 4;
	int			frac_groups = (int) (scale + pad) / 4;
	int16		digits[16];		/* base-10000 digits, least significant first */
	int			nd = 0;
	int			first;
	int			weight;
	int			ndigits;
	Numeric		result;
	char	   *data;
	int			i;

	/* align the decimal point on a base-10000 digit boundary */
	for (i = 0; i < pad; i++)
	{
		if (u > ((uint128) ~(uint128) 0) / 10)
		{
			char	   *text = segnum_scaled_text(mantissa, scale);

			return DatumGetNumeric(DirectFunctionCall3(numeric_in,
													   CStringGetDatum(text),
													   ObjectIdGetDatum(InvalidOid),
													   Int32GetDatum(-1)));
		}
		u *= 10;
	}
	while (u != 0)
	{
		digits[nd++] = (int16) (u % NUMH_NBASE);
		u /= NUMH_NBASE;
	}
	/* strip zero digits at the fractional end; weight counts from the top */
	first = 0;
	while (first < nd && digits[first] == 0)
		first++;
	ndigits = nd - first;
	weight = nd - frac_groups - 1;
	if (ndigits == 0)
	{
		weight = 0;
		neg = false;
	}

	if (scale <= (NUMH_SHORT_DSCALE_MASK >> NUMH_SHORT_DSCALE_SHIFT) &&
		weight >= -(NUMH_SHORT_WEIGHT_MASK + 1) && weight <= NUMH_SHORT_WEIGHT_MASK)
	{
		uint16		header = NUMH_SHORT |
			(neg ? NUMH_SHORT_SIGN_MASK : 0) |
			(uint16) (scale << NUMH_SHORT_DSCALE_SHIFT) |
			(weight < 0 ? NUMH_SHORT_WEIGHT_SIGN : 0) |
			(uint16) (weight & NUMH_SHORT_WEIGHT_MASK);

		result = palloc(VARHDRSZ + sizeof(uint16) + ndigits * sizeof(int16));
		SET_VARSIZE(result, VARHDRSZ + sizeof(uint16) + ndigits * sizeof(int16));
		data = VARDATA(result);
		memcpy(data, &header, sizeof(uint16));
		data += sizeof(uint16);
	}
	else
	{
		uint16		sign_dscale = (neg ? NUMH_NEG : 0) | (uint16) (scale & NUMH_DSCALE_MASK);
		int16		w = (int16) weight;

		result = palloc(VARHDRSZ + 2 * sizeof(uint16) + ndigits * sizeof(int16));
		SET_VARSIZE(result, VARHDRSZ + 2 * sizeof(uint16) + ndigits * sizeof(int16));
		data = VARDATA(result);
		memcpy(data, &sign_dscale, sizeof(uint16));
		memcpy(data + sizeof(uint16), &w, sizeof(int16));
		data += 2 * sizeof(uint16);
	}
	/* most significant digit first */
	for (i = 0; i < ndigits; i++)
		memcpy(data + i * sizeof(int16), &digits[nd - 1 - i], sizeof(int16));
	return result;
}

/*
 * Parses -?digits(.digits)? with exactly 'scale' fractional digits (none
 * and no point when scale is 0) into a mantissa.  False if malformed or
 * out of 128-bit range.
 */
bool
segnum_parse_scaled(const char *s, size_t len, uint32 scale, int128 *mantissa)
{
	size_t		i = 0;
	int128		n = 0;
	bool		neg = false;
	size_t		int_digits = 0;
	uint32		frac_digits = 0;

	if (len > 0 && s[0] == '-')
	{
		neg = true;
		i++;
	}
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, int_digits++)
	{
		if (__builtin_mul_overflow(n, (int128) 10, &n) ||
			__builtin_add_overflow(n, (int128) (s[i] - '0'), &n))
			return false;
	}
	if (int_digits == 0)
		return false;
	if (i < len && s[i] == '.')
	{
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, frac_digits++)
		{
			if (__builtin_mul_overflow(n, (int128) 10, &n) ||
				__builtin_add_overflow(n, (int128) (s[i] - '0'), &n))
				return false;
		}
		if (frac_digits == 0)
			return false;
	}
	if (i != len || frac_digits != scale)
		return false;
	*mantissa = neg ? -n : n;
	return true;
}

/* Multiplies a mantissa from scale 'from' up to scale 'to'; false on overflow. */
bool
segnum_rescale(int128 *mantissa, uint32 from, uint32 to)
{
	Assert(to >= from);
	if (to == from)
		return true;
	if (to - from > SEG_MAX_SCALE)
		return *mantissa == 0;
	return !__builtin_mul_overflow(*mantissa, pow10_table()[to - from], mantissa);
}

Numeric
segnum_decimal_to_numeric(const char *s, size_t len)
{
	char	   *text = pnstrdup(s, len);

	return DatumGetNumeric(DirectFunctionCall3(numeric_in,
											   CStringGetDatum(text),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

char *
segnum_numeric_text(Numeric num)
{
	return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(num)));
}

/*
 * The types a measure may have: the one list, used by segment_agg() and
 * friends (segnum_check_measure_type) and by the segmentation definitions
 * in SQL (segment_measure_type_ok).  segnum_value_from_datum converts each
 * of them.  'base' is a base type, not a domain.
 */
static bool
measure_base_type_ok(Oid base)
{
	switch (base)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case NUMERICOID:
			return true;
		default:
			return false;
	}
}

/* Measures may be smallint, integer, bigint or numeric (or domains). */
void
segnum_check_measure_type(Oid type, int position)
{
	Oid			base = getBaseType(type);

	if (base == UNKNOWNOID)
		ereport(ERROR,
				(errcode(ERRCODE_INDETERMINATE_DATATYPE),
				 errmsg("segment measure %d has no type", position),
				 errhint("Cast a literal or NULL measure, for example 5::numeric or NULL::integer.")));
	if (!measure_base_type_ok(base))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("segment measure %d has unsupported type %s",
						position, format_type_be(type)),
				 errhint("Measures must be smallint, integer, bigint or numeric; cast other types to numeric.")));
}

/*
 * Converts one input value.  'type' must have passed
 * segnum_check_measure_type and be the base type.  A numeric that does not
 * fit is detoasted into the current memory context.
 */
void
segnum_value_from_datum(Datum d, Oid type, SegValue *out)
{
	out->isnull = false;
	out->num = NULL;
	switch (type)
	{
		case INT2OID:
			out->scaled = true;
			out->mantissa = DatumGetInt16(d);
			out->scale = 0;
			break;
		case INT4OID:
			out->scaled = true;
			out->mantissa = DatumGetInt32(d);
			out->scale = 0;
			break;
		case INT8OID:
			out->scaled = true;
			out->mantissa = DatumGetInt64(d);
			out->scale = 0;
			break;
		case NUMERICOID:
			{
				struct varlena *packed = PG_DETOAST_DATUM_PACKED(d);

				out->scaled = segnum_from_numeric((Numeric) packed,
												  &out->mantissa, &out->scale);
				if (!out->scaled)
					out->num = DatumGetNumeric(d);
				break;
			}
		default:
			/* measure_base_type_ok() and this switch disagree */
			elog(ERROR, "unexpected segment measure type %u", type);
	}
}

/*
 * segment_measure_type_ok(regtype) returns bool: can a column of this type
 * (a domain counts as its base type) be a measure?  False for a type that
 * does not exist.
 */
PG_FUNCTION_INFO_V1(segment_measure_type_ok);
Datum
segment_measure_type_ok(PG_FUNCTION_ARGS)
{
	Oid			type = PG_GETARG_OID(0);

	if (get_typtype(type) == '\0')
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(measure_base_type_ok(getBaseType(type)));
}

/* Adds a value to a row hash in a form that depends on its value only. */
uint64
segnum_hash_value(uint64 h, const SegValue *val)
{
	int128		m;
	uint32		scale;

	if (val->isnull)
		return seg_hash_null(h);
	if (val->distinct)
		return seg_hash_distinct(h, val->dhash);
	if (val->scaled)
	{
		m = val->mantissa;
		scale = val->scale;
	}
	else
	{
		char	   *text = segnum_numeric_text(val->num);
		size_t		len = strlen(text);
		char	   *point = strchr(text, '.');

		if (point != NULL)
		{
			while (len > 0 && text[len - 1] == '0')
				len--;
			if (text[len - 1] == '.')
				len--;
		}
		scale = point != NULL && text + len > point ? (uint32) (text + len - point - 1) : 0;
		if (scale > SEG_MAX_SCALE || !segnum_parse_scaled(text, len, scale, &m))
			return seg_hash_text(h, text, len);
	}
	if (m >= PG_INT64_MIN && m <= PG_INT64_MAX)
	{
		/* the common case, without 128-bit division */
		int64		m64 = (int64) m;

		while (scale > 0 && m64 % 10 == 0)
		{
			m64 /= 10;
			scale--;
		}
		m = m64;
	}
	else
	{
		while (scale > 0 && m % 10 == 0)
		{
			m /= 10;
			scale--;
		}
	}
	return seg_hash_scaled(h, m, scale);
}

/*
 * DECIMAL values (sum, min, max) that all fit 128 bits at the sum's scale
 * are SCALED: the encoder writes them so, and input holding them as DECIMAL
 * is refused, so that equal content has exactly one encoding.  Fills 'out'
 * (kind, scale, sum, min, max) when they fit.
 */
bool
segnum_decimals_as_scaled(Numeric nsum, Numeric nmin, Numeric nmax, SegMeasure *out)
{
	int128		sum,
				min,
				max;
	uint32		ssum,
				smin,
				smax;

	if (!segnum_from_numeric(nsum, &sum, &ssum) ||
		!segnum_from_numeric(nmin, &min, &smin) ||
		!segnum_from_numeric(nmax, &max, &smax))
		return false;
	if (smin > ssum || smax > ssum ||
		!segnum_rescale(&min, smin, ssum) || !segnum_rescale(&max, smax, ssum))
		return false;
	out->kind = SEG_KIND_SCALED;
	out->scale = ssum;
	out->sum = sum;
	out->min = min;
	out->max = max;
	return true;
}
