/*-------------------------------------------------------------------------
 *
 * segment.c
 *	  The segment datatype: text and binary I/O, accessors, and the
 *	  representational equality, ordering and hashing behind = and the
 *	  btree/hash operator classes.
 *
 * Every value read from a client (text or binary) is validated completely,
 * lineage included, before it is accepted; every value read from disk is
 * parsed with the same validating codec, so a corrupted value is an
 * ERROR (XX001), never a crash.  The binary form carries a CRC-32C of the
 * payload so that damage in transit is caught as well.
 *
 * Text form (one line, JSON-shaped, fixed field order):
 *	{"version":1,"count":3,"first":"2026-11-01T09:00:00Z",
 *	 "last":"2026-11-01T09:30:00Z","checksum":"8c1e55f0a1b2c3d4",
 *	 "minmax":"exact","measures":[{"scale":2,"nulls":0,"sum":"30.00",
 *	 "min":"5.00","max":"15.00"}],"keys":"101-102,205"}
 * Times are UTC, so the text does not depend on the session's TimeZone.
 *
 *-------------------------------------------------------------------------
 */
#include "segroll.h"

#include "common/hashfn.h"
#include "datatype/timestamp.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "port/pg_crc32c.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

/* ------------------------------------------------------------ errors */

void
segment_report(SegStatus st, SegSource src)
{
	if (st == SEG_ERR_TOO_LARGE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("segment value too large"),
				 errdetail("%s", seg_status_message(st))));
	switch (src)
	{
		case SEG_SOURCE_DISK:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("segment value is corrupted"),
					 errdetail("%s", seg_status_message(st))));
			break;
		case SEG_SOURCE_BINARY:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid external segment value"),
					 errdetail("%s", seg_status_message(st))));
			break;
		case SEG_SOURCE_TEXT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type segment"),
					 errdetail("%s", seg_status_message(st))));
			break;
	}
}

/*
 * The 64-bit number that 16 lower-case hexadecimal digits at s spell (a
 * checksum, a dhash); false if one of them is anything else.  The caller
 * checks that there are 16.
 */
bool
segroll_hex64(const char *s, uint64 *result)
{
	uint64		v = 0;
	int			k;

	for (k = 0; k < 16; k++)
	{
		char		c = s[k];
		int			d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			return false;
		v = (v << 4) | (uint64) d;
	}
	*result = v;
	return true;
}

void
segment_parse_or_error(const uint8_t *data, size_t len, SegView *v, SegSource src)
{
	SegStatus	st = seg_parse(data, len, v);

	if (st != SEG_OK)
		segment_report(st, src);
}

/* Parses a stored value (not its lineage). */
void
segment_view(Segment *seg, SegView *v)
{
	segment_parse_or_error(SEGMENT_DATA(seg), SEGMENT_LEN(seg), v, SEG_SOURCE_DISK);
}

/* The uncompressed key encoding of a parsed value with lineage, validated. */
uint8_t *
segment_raw_lineage(const SegView *v, SegSource src)
{
	uint8_t    *raw;
	SegStatus	st;

	Assert(v->flags & SEG_F_LINEAGE);
	raw = palloc_extended(Max(v->raw_len, 1), MCXT_ALLOC_HUGE);
	st = seg_lineage_raw(v, raw);
	if (st == SEG_OK)
		st = seg_lineage_validate(raw, v->raw_len, v->count);
	if (st != SEG_OK)
		segment_report(st, src);
	return raw;
}

/*
 * Builds a stored segment from its fields up to the lineage (v) and, when
 * raw is not NULL, the raw key encoding of its lineage, which is written
 * zstd-compressed when that is smaller (SEG_F_ZSTD is then set).  A
 * segment of one row is written in the one-row form (seg_encode_value).
 * The caller has checked raw_len against SEG_MAX_RAW_LEN.
 */
Segment *
segment_encode(const SegView *v, const uint8_t *raw, size_t raw_len)
{
	size_t		cap;
	Segment    *result;
	uint8_t    *out;
	size_t		n;

	cap = VARHDRSZ + seg_fixed_bound(v) + (raw ? seg_lineage_bound(raw_len) : 0);
	if (cap > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("segment too large")));
	result = palloc(cap);
	out = (uint8_t *) VARDATA(result);
	n = seg_encode_value(v, raw, raw_len, out, cap - VARHDRSZ);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("zstd could not compress a segment lineage.")));
	SET_VARSIZE(result, VARHDRSZ + n);
	return result;
}

/* Validates a value from a client completely, lineage included. */
static void
validate_input(const uint8_t *data, size_t len, SegSource src)
{
	SegView    *v = palloc(sizeof(SegView));

	uint32		i;

	segment_parse_or_error(data, len, v, src);
	/*
	 * The codec cannot do arithmetic on decimals; numeric can: min <= max,
	 * and DECIMAL only for values that SCALED cannot hold (one encoding
	 * per content).
	 */
	for (i = 0; i < v->nmeasures; i++)
	{
		SegMeasure *m = &v->m[i];
		Numeric		nsum,
					nmin,
					nmax;
		SegMeasure	as_scaled;
		int			cmp;

		if (m->kind != SEG_KIND_DECIMAL || v->count == m->nnull)
			continue;
		nsum = segnum_decimal_to_numeric(m->dec[0], m->dec_len[0]);
		nmin = segnum_decimal_to_numeric(m->dec[1], m->dec_len[1]);
		nmax = segnum_decimal_to_numeric(m->dec[2], m->dec_len[2]);
		cmp = DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(nmin),
												NumericGetDatum(nmax)));
		if (cmp > 0)
			segment_report(SEG_ERR_MINMAX, src);
		if (v->counts &&
			seg_check_extreme_counts(v->count - m->nnull, m->at_min, m->at_max, cmp == 0) != SEG_OK)
			segment_report(SEG_ERR_EXTREME_COUNT, src);
		if (segnum_decimals_as_scaled(nsum, nmin, nmax, &as_scaled))
			segment_report(SEG_ERR_NOT_CANONICAL, src);
	}
	if (v->ndistinct > 0)
	{
		void	   *scratch = palloc(SEG_DIST_SCRATCH);
		SegStatus	st = seg_distinct_validate(v, scratch);

		if (st != SEG_OK)
			segment_report(st, src);
		pfree(scratch);
	}
	if ((v->flags & SEG_F_LINEAGE) && v->count > 0)
		pfree(segment_raw_lineage(v, src));
	pfree(v);
}

/* ------------------------------------------------------------ text output */

static void
append_time(StringInfo buf, int64 ts)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (ts == DT_NOBEGIN)
	{
		appendStringInfoString(buf, "\"-infinity\"");
		return;
	}
	if (ts == DT_NOEND)
	{
		appendStringInfoString(buf, "\"infinity\"");
		return;
	}
	if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0 ||
		tm.tm_year < 1 || tm.tm_year > 9999)
	{
		/* outside what ISO 8601 prints plainly: microseconds since 2000 */
		appendStringInfo(buf, "\"@" INT64_FORMAT "\"", ts);
		return;
	}
	appendStringInfo(buf, "\"%04d-%02d-%02dT%02d:%02d:%02d",
					 tm.tm_year, tm.tm_mon, tm.tm_mday,
					 tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (fsec != 0)
		appendStringInfo(buf, ".%06d", (int) fsec);
	appendStringInfoString(buf, "Z\"");
}

static void
append_decimal(StringInfo buf, const SegMeasure *m, int which)
{
	appendStringInfoChar(buf, '"');
	if (m->kind == SEG_KIND_SCALED)
	{
		int128		val = which == 0 ? m->sum : which == 1 ? m->min : m->max;
		char	   *text = segnum_scaled_text(val, m->scale);

		appendStringInfoString(buf, text);
		pfree(text);
	}
	else
		appendBinaryStringInfo(buf, m->dec[which], m->dec_len[which]);
	appendStringInfoChar(buf, '"');
}

static void
append_keys(StringInfo buf, const SegView *v)
{
	uint8_t    *raw = segment_raw_lineage(v, SEG_SOURCE_DISK);
	SegKeyIter	it;
	int64_t		start = 0,
				prev = 0;
	bool		first = true;

	appendStringInfoChar(buf, '"');
	seg_key_iter_init(&it, raw, v->raw_len, v->count);
	while (it.remaining > 0)
	{
		int64_t		key;

		(void) seg_key_next(&it, &key); /* validated above */
		if (!first && key == prev + 1)
		{
			prev = key;
			continue;
		}
		if (!first)
		{
			if (prev != start)
				appendStringInfo(buf, INT64_FORMAT "-" INT64_FORMAT ",", start, prev);
			else
				appendStringInfo(buf, INT64_FORMAT ",", start);
		}
		start = prev = key;
		first = false;
	}
	if (prev != start)
		appendStringInfo(buf, INT64_FORMAT "-" INT64_FORMAT, start, prev);
	else
		appendStringInfo(buf, INT64_FORMAT, start);
	appendStringInfoChar(buf, '"');
	pfree(raw);
}

PG_FUNCTION_INFO_V1(segment_out);
Datum
segment_out(PG_FUNCTION_ARGS)
{
	Segment    *seg = PG_GETARG_SEGMENT_PP(0);
	SegView    *v = palloc(sizeof(SegView));
	StringInfoData buf;
	uint32		i;

	segment_view(seg, v);
	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"version\":%d,\"count\":" UINT64_FORMAT ",\"first\":",
					 v->version, v->count);
	if (v->count > 0)
	{
		append_time(&buf, v->first_ts);
		appendStringInfoString(&buf, ",\"last\":");
		append_time(&buf, v->last_ts);
		if (v->counts)
			appendStringInfo(&buf, ",\"at_first\":" UINT64_FORMAT ",\"at_last\":" UINT64_FORMAT,
							 v->at_first, v->at_last);
	}
	else
		appendStringInfoString(&buf, "null,\"last\":null");
	appendStringInfo(&buf, ",\"checksum\":\"%016" INT64_MODIFIER "x\",\"minmax\":\"%s\",\"measures\":[",
					 v->checksum,
					 (v->flags & SEG_F_MINMAX_STALE) ? "bounds" : "exact");
	for (i = 0; i < v->nmeasures; i++)
	{
		SegMeasure *m = &v->m[i];

		if (i > 0)
			appendStringInfoChar(&buf, ',');
		if (m->kind == SEG_KIND_SCALED)
			appendStringInfo(&buf, "{\"scale\":%u", m->scale);
		else
			appendStringInfoString(&buf, "{\"scale\":null");
		appendStringInfo(&buf, ",\"nulls\":" UINT64_FORMAT, m->nnull);
		if (v->count - m->nnull > 0)
		{
			appendStringInfoString(&buf, ",\"sum\":");
			append_decimal(&buf, m, 0);
			appendStringInfoString(&buf, ",\"min\":");
			append_decimal(&buf, m, 1);
			appendStringInfoString(&buf, ",\"max\":");
			append_decimal(&buf, m, 2);
			if (v->counts)
				appendStringInfo(&buf, ",\"at_min\":" UINT64_FORMAT ",\"at_max\":" UINT64_FORMAT,
								 m->at_min, m->at_max);
			appendStringInfoChar(&buf, '}');
		}
		else
			appendStringInfoString(&buf, ",\"sum\":null,\"min\":null,\"max\":null}");
	}
	appendStringInfoChar(&buf, ']');
	if (v->ndistinct > 0)
	{
		void	   *scratch = palloc(SEG_DIST_SCRATCH);
		SegStatus	st = seg_distinct_validate(v, scratch);

		if (st != SEG_OK)
			segment_report(st, SEG_SOURCE_DISK);
		pfree(scratch);
		appendStringInfo(&buf, ",\"distinct\":{\"known\":%s,\"sets\":[",
						 (v->flags & SEG_F_DISTINCT_STALE) ? "false" : "true");
		for (i = 0; i < v->ndistinct; i++)
		{
			size_t		k;

			appendStringInfo(&buf, "%s\"%02x", i > 0 ? "," : "", v->d[i].mode);
			for (k = 0; k < v->d[i].len; k++)
				appendStringInfo(&buf, "%02x", v->d[i].data[k]);
			appendStringInfoChar(&buf, '"');
		}
		appendStringInfoString(&buf, "]}");
	}
	appendStringInfoString(&buf, ",\"keys\":");
	if ((v->flags & SEG_F_LINEAGE) && v->count > 0)
		append_keys(&buf, v);
	else if (v->flags & SEG_F_LINEAGE)
		appendStringInfoString(&buf, "\"\"");
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoChar(&buf, '}');
	pfree(v);
	PG_RETURN_CSTRING(buf.data);
}

/* ------------------------------------------------------------ text input */

typedef struct TextParser
{
	const char *input;			/* whole input, for messages */
	const char *p;
} TextParser;

pg_attribute_noreturn()
static void
text_error(TextParser *tp, const char *detail)
{
	int			len = strlen(tp->input);

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type segment: \"%.*s%s\"",
					Min(len, 64), tp->input, len > 64 ? "..." : ""),
			 errdetail("%s", detail)));
}

static void
skip_ws(TextParser *tp)
{
	while (*tp->p == ' ' || *tp->p == '\t' || *tp->p == '\n' || *tp->p == '\r')
		tp->p++;
}

static void
expect_char(TextParser *tp, char c)
{
	skip_ws(tp);
	if (*tp->p != c)
		text_error(tp, psprintf("Expected \"%c\" at offset %d.", c, (int) (tp->p - tp->input)));
	tp->p++;
}

static void
expect_key(TextParser *tp, const char *key)
{
	size_t		len = strlen(key);

	skip_ws(tp);
	if (tp->p[0] != '"' || strncmp(tp->p + 1, key, len) != 0 || tp->p[len + 1] != '"')
		text_error(tp, psprintf("Expected field \"%s\" at offset %d.", key, (int) (tp->p - tp->input)));
	tp->p += len + 2;
	expect_char(tp, ':');
}

/* Whether ,"key" comes next (consumes only white space). */
static bool
next_key_is(TextParser *tp, const char *key)
{
	const char *q;
	size_t		len = strlen(key);

	skip_ws(tp);
	if (*tp->p != ',')
		return false;
	q = tp->p + 1;
	while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
		q++;
	return q[0] == '"' && strncmp(q + 1, key, len) == 0 && q[len + 1] == '"';
}

static bool
accept_null(TextParser *tp)
{
	skip_ws(tp);
	if (strncmp(tp->p, "null", 4) == 0)
	{
		tp->p += 4;
		return true;
	}
	return false;
}

/* A string without escapes; returns its start and sets *len. */
static const char *
parse_string(TextParser *tp, size_t *len)
{
	const char *start;

	expect_char(tp, '"');
	start = tp->p;
	while (*tp->p != '"')
	{
		if (*tp->p == '\0' || *tp->p == '\\')
			text_error(tp, "Unterminated string or unsupported escape.");
		tp->p++;
	}
	*len = tp->p - start;
	tp->p++;
	return start;
}

static uint64
parse_uint(TextParser *tp, uint64 max)
{
	uint64		v = 0;
	const char *start;

	skip_ws(tp);
	start = tp->p;
	while (*tp->p >= '0' && *tp->p <= '9')
	{
		unsigned	d = *tp->p - '0';

		if (v > (max - d) / 10)
			text_error(tp, psprintf("Number out of range at offset %d.", (int) (start - tp->input)));
		v = v * 10 + d;
		tp->p++;
	}
	if (tp->p == start || (start[0] == '0' && tp->p - start > 1))
		text_error(tp, psprintf("Expected an unsigned integer at offset %d.", (int) (start - tp->input)));
	return v;
}

static int64
parse_int64_at(TextParser *tp, const char **s, const char *end)
{
	bool		neg = false;
	uint64		v = 0;
	const char *start = *s;

	if (*s < end && **s == '-')
	{
		neg = true;
		(*s)++;
	}
	if (*s >= end || **s < '0' || **s > '9')
		text_error(tp, "Malformed key list.");
	while (*s < end && **s >= '0' && **s <= '9')
	{
		unsigned	d = **s - '0';

		if (v > (UINT64_C(9223372036854775808) - d) / 10)
			text_error(tp, "Key out of range.");
		v = v * 10 + d;
		(*s)++;
	}
	if (!neg && v > (uint64) PG_INT64_MAX)
		text_error(tp, "Key out of range.");
	(void) start;
	return neg ? (int64) (0 - v) : (int64) v;
}

static int64
parse_time(TextParser *tp)
{
	size_t		len;
	const char *s = parse_string(tp, &len);
	char	   *copy = pnstrdup(s, len);
	struct pg_tm tm;
	int			fsec = 0;
	int			consumed = 0;
	Timestamp	result;
	StringInfoData canon;

	memset(&tm, 0, sizeof(tm));
	if (strcmp(copy, "infinity") == 0)
		return DT_NOEND;
	if (strcmp(copy, "-infinity") == 0)
		return DT_NOBEGIN;
	if (copy[0] == '@')
	{
		TextParser	sub = {tp->input, copy + 1};
		const char *q = copy + 1;
		int64		v = parse_int64_at(&sub, &q, copy + len);

		if (*q != '\0')
			text_error(tp, "Malformed time.");
		result = v;
	}
	else
	{
		if (sscanf(copy, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
				   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6)
			text_error(tp, "Malformed time; expected YYYY-MM-DDTHH:MM:SS[.ffffff]Z in UTC.");
		if (copy[consumed] == '.')
		{
			int			n2 = 0;

			if (sscanf(copy + consumed + 1, "%6d%n", &fsec, &n2) != 1 || n2 != 6)
				text_error(tp, "Malformed fractional seconds; expected six digits.");
			consumed += 7;
		}
		if (strcmp(copy + consumed, "Z") != 0 ||
			tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
			tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59 ||
			tm2timestamp(&tm, fsec, NULL, &result) != 0)
			text_error(tp, "Malformed time; expected YYYY-MM-DDTHH:MM:SS[.ffffff]Z in UTC.");
	}
	/* accept only the canonical spelling, which also rejects 2026-02-31 */
	initStringInfo(&canon);
	append_time(&canon, result);
	if (canon.len != (int) len + 2 || strncmp(canon.data + 1, s, len) != 0)
		text_error(tp, psprintf("Time \"%s\" is not in canonical form (%s).", copy, canon.data));
	pfree(canon.data);
	pfree(copy);
	return result;
}

/* Appends to a growable raw key buffer, refusing to pass the size limit. */
static void
raw_append_key(TextParser *tp, StringInfo raw, bool first, int64 key, int64 prev)
{
	uint8_t		tmp[10];
	size_t		n;

	if (first)
		n = seg_put_svarint(tmp, key);
	else
	{
		if (key <= prev)
			text_error(tp, "Keys are not strictly increasing.");
		n = seg_put_uvarint(tmp, (uint64) key - (uint64) prev);
	}
	if ((size_t) raw->len + n > SEG_MAX_RAW_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("segment lineage too large")));
	appendBinaryStringInfo(raw, (const char *) tmp, n);
}

static void
parse_keys(TextParser *tp, uint64 count, StringInfo raw)
{
	size_t		len;
	const char *s = parse_string(tp, &len);
	const char *end = s + len;
	uint64		nkeys = 0;
	int64		prev = 0;

	while (s < end)
	{
		int64		lo = parse_int64_at(tp, &s, end);
		int64		hi = lo;
		int64		k;

		if (s < end && *s == '-')
		{
			s++;
			hi = parse_int64_at(tp, &s, end);
			if (hi <= lo)
				text_error(tp, "A key range must be increasing.");
		}
		if ((uint64) hi - (uint64) lo >= count - nkeys || nkeys >= count)
			text_error(tp, "There are more keys than rows.");
		for (k = lo;; k++)
		{
			raw_append_key(tp, raw, nkeys == 0, k, prev);
			prev = k;
			nkeys++;
			if (k == hi)
				break;
		}
		if (s < end)
		{
			if (*s != ',')
				text_error(tp, "Malformed key list.");
			s++;
			if (s == end)
				text_error(tp, "Malformed key list.");
		}
	}
	if (nkeys != count)
		text_error(tp, "The number of keys differs from the row count.");
}

static void
parse_measure_value(TextParser *tp, SegMeasure *m, int which)
{
	size_t		len;
	const char *s = parse_string(tp, &len);

	if (m->kind == SEG_KIND_SCALED)
	{
		int128		val;

		if (!segnum_parse_scaled(s, len, m->scale, &val))
			text_error(tp, psprintf("Value \"%.*s\" does not have exactly %u fractional digits or is out of range.",
									(int) Min(len, 64), s, m->scale));
		if (which == 0)
			m->sum = val;
		else if (which == 1)
			m->min = val;
		else
			m->max = val;
	}
	else
	{
		if (!seg_decimal_valid(s, len))
			text_error(tp, "Malformed decimal value.");
		m->dec[which] = s;
		m->dec_len[which] = len;
	}
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * ,"distinct":{"known":true,"sets":["00…",…]}: one string per distinct
 * measure, the mode byte and the payload in lower-case hex, validated
 * afterwards like binary input.
 */
static void
parse_distinct(TextParser *tp, SegView *v)
{
	expect_char(tp, ',');
	expect_key(tp, "distinct");
	expect_char(tp, '{');
	expect_key(tp, "known");
	skip_ws(tp);
	if (strncmp(tp->p, "true", 4) == 0)
		tp->p += 4;
	else if (strncmp(tp->p, "false", 5) == 0)
	{
		tp->p += 5;
		if (v->count == 0)
			text_error(tp, "An empty segment's distinct counts are known.");
		v->flags |= SEG_F_DISTINCT_STALE;
	}
	else
		text_error(tp, "Field \"known\" must be true or false.");
	expect_char(tp, ',');
	expect_key(tp, "sets");
	expect_char(tp, '[');
	for (;;)
	{
		const char *s;
		size_t		len,
					k;
		uint8_t    *bytes;
		SegDistinct *d;

		if (v->ndistinct >= SEG_MAX_MEASURES)
			text_error(tp, psprintf("A segment has at most %d distinct measures.", SEG_MAX_MEASURES));
		s = parse_string(tp, &len);
		if (len < 2 || len % 2 != 0 || len > 2 * (SEG_DIST_MAX_PAYLOAD + 1))
			text_error(tp, "A distinct set is an even number of hexadecimal digits.");
		bytes = palloc(len / 2);
		for (k = 0; k < len / 2; k++)
		{
			int			hi = hex_digit(s[2 * k]),
						lo = hex_digit(s[2 * k + 1]);

			if (hi < 0 || lo < 0)
				text_error(tp, "A distinct set must be lower-case hexadecimal digits.");
			bytes[k] = (uint8_t) (hi << 4 | lo);
		}
		d = &v->d[v->ndistinct++];
		d->mode = bytes[0];
		if (d->mode > SEG_DIST_DENSE)
			text_error(tp, "Unknown distinct set mode.");
		d->data = bytes + 1;
		d->len = len / 2 - 1;
		skip_ws(tp);
		if (*tp->p != ',')
			break;
		tp->p++;
	}
	expect_char(tp, ']');
	expect_char(tp, '}');
}

PG_FUNCTION_INFO_V1(segment_in);
Datum
segment_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	TextParser	tp = {str, str};
	SegView    *v = palloc0(sizeof(SegView));
	StringInfoData raw;
	bool		has_keys;
	Segment    *result;
	int			k;
	size_t		len;
	const char *s;
	SegStatus	st;

	expect_char(&tp, '{');
	expect_key(&tp, "version");
	v->version = parse_uint(&tp, 255);
	if (v->version != SEG_FORMAT_VERSION && v->version != SEG_FORMAT_VERSION_DISTINCT &&
		v->version != SEG_FORMAT_VERSION_COUNTS)
		text_error(&tp, "Unknown format version.");
	v->counts = v->version == SEG_FORMAT_VERSION_COUNTS;
	expect_char(&tp, ',');
	expect_key(&tp, "count");
	v->count = parse_uint(&tp, PG_INT64_MAX);
	expect_char(&tp, ',');
	expect_key(&tp, "first");
	if (v->count > 0)
	{
		v->first_ts = parse_time(&tp);
		expect_char(&tp, ',');
		expect_key(&tp, "last");
		v->last_ts = parse_time(&tp);
		if (v->last_ts < v->first_ts)
			text_error(&tp, "The last time is before the first.");
		if (v->counts)
		{
			expect_char(&tp, ',');
			expect_key(&tp, "at_first");
			v->at_first = parse_uint(&tp, PG_INT64_MAX);
			expect_char(&tp, ',');
			expect_key(&tp, "at_last");
			v->at_last = parse_uint(&tp, PG_INT64_MAX);
		}
	}
	else
	{
		if (v->counts)
			text_error(&tp, "An empty segment is version 1 or 2: it has no extreme counts.");
		if (!accept_null(&tp))
			text_error(&tp, "An empty segment has no first time.");
		expect_char(&tp, ',');
		expect_key(&tp, "last");
		if (!accept_null(&tp))
			text_error(&tp, "An empty segment has no last time.");
	}
	expect_char(&tp, ',');
	expect_key(&tp, "checksum");
	s = parse_string(&tp, &len);
	if (len != 16)
		text_error(&tp, "The checksum must be 16 hexadecimal digits.");
	if (!segroll_hex64(s, &v->checksum))
		text_error(&tp, "The checksum must be 16 lower-case hexadecimal digits.");
	expect_char(&tp, ',');
	expect_key(&tp, "minmax");
	s = parse_string(&tp, &len);
	if (len == 6 && strncmp(s, "bounds", 6) == 0)
	{
		if (v->count == 0)
			text_error(&tp, "An empty segment has no bounds.");
		v->flags |= SEG_F_MINMAX_STALE;
	}
	else if (!(len == 5 && strncmp(s, "exact", 5) == 0))
		text_error(&tp, "Field \"minmax\" must be \"exact\" or \"bounds\".");
	expect_char(&tp, ',');
	expect_key(&tp, "measures");
	expect_char(&tp, '[');
	skip_ws(&tp);
	if (*tp.p != ']')
	{
		for (;;)
		{
			SegMeasure *m;

			if (v->nmeasures >= SEG_MAX_MEASURES)
				text_error(&tp, psprintf("A segment has at most %d measures.", SEG_MAX_MEASURES));
			m = &v->m[v->nmeasures++];
			expect_char(&tp, '{');
			expect_key(&tp, "scale");
			if (accept_null(&tp))
				m->kind = SEG_KIND_DECIMAL;
			else
			{
				m->kind = SEG_KIND_SCALED;
				m->scale = parse_uint(&tp, SEG_MAX_SCALE);
			}
			expect_char(&tp, ',');
			expect_key(&tp, "nulls");
			m->nnull = parse_uint(&tp, PG_INT64_MAX);
			if (m->nnull > v->count)
				text_error(&tp, "A measure has more nulls than the segment has rows.");
			for (k = 0; k < 3; k++)
			{
				static const char *const names[3] = {"sum", "min", "max"};

				expect_char(&tp, ',');
				expect_key(&tp, names[k]);
				if (v->count - m->nnull == 0)
				{
					if (!accept_null(&tp))
						text_error(&tp, "A measure without values has null sum, min and max.");
				}
				else
					parse_measure_value(&tp, m, k);
			}
			if (m->kind == SEG_KIND_SCALED && v->count - m->nnull > 0 && m->min > m->max)
				text_error(&tp, "A minimum is greater than its maximum.");
			if (v->counts && v->count - m->nnull > 0)
			{
				expect_char(&tp, ',');
				expect_key(&tp, "at_min");
				m->at_min = parse_uint(&tp, PG_INT64_MAX);
				expect_char(&tp, ',');
				expect_key(&tp, "at_max");
				m->at_max = parse_uint(&tp, PG_INT64_MAX);
			}
			expect_char(&tp, '}');
			skip_ws(&tp);
			if (*tp.p != ',')
				break;
			tp.p++;
		}
	}
	expect_char(&tp, ']');
	if (v->version == SEG_FORMAT_VERSION_DISTINCT)
		parse_distinct(&tp, v);
	else if (v->counts && next_key_is(&tp, "distinct"))
		parse_distinct(&tp, v);	/* optional in version 3 */
	expect_char(&tp, ',');
	expect_key(&tp, "keys");
	initStringInfo(&raw);
	has_keys = !accept_null(&tp);
	if (has_keys)
	{
		v->flags |= SEG_F_LINEAGE;
		if (v->count > SEG_MAX_RAW_LEN)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("segment lineage too large"),
					 errdetail("A segment with lineage holds at most %zu keys.",
							   (size_t) SEG_MAX_RAW_LEN)));
		if (v->count > 0)
			parse_keys(&tp, v->count, &raw);
		else
		{
			(void) parse_string(&tp, &len);
			if (len != 0)
				text_error(&tp, "An empty segment has no keys.");
		}
	}
	expect_char(&tp, '}');
	skip_ws(&tp);
	if (*tp.p != '\0')
		text_error(&tp, "Junk after closing right brace.");

	/*
	 * Counts that the rules imply (first = last, min = max) are not stored,
	 * so validate_input() below cannot see them: check them here.
	 */
	st = seg_check_view_counts(v);
	if (st != SEG_OK)
		segment_report(st, SEG_SOURCE_TEXT);
	result = segment_encode(v, raw.len > 0 ? (uint8_t *) raw.data : NULL, raw.len);
	validate_input(SEGMENT_DATA(result), SEGMENT_LEN(result), SEG_SOURCE_TEXT);
	pfree(raw.data);
	pfree(v);
	PG_RETURN_POINTER(result);
}

/* ------------------------------------------------------------ binary I/O */

static pg_crc32c
payload_crc(const uint8_t *data, size_t len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, data, len);
	FIN_CRC32C(crc);
	return crc;
}

PG_FUNCTION_INFO_V1(segment_send);
Datum
segment_send(PG_FUNCTION_ARGS)
{
	Segment    *seg = PG_GETARG_SEGMENT_PP(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, (const char *) SEGMENT_DATA(seg), SEGMENT_LEN(seg));
	pq_sendint32(&buf, payload_crc(SEGMENT_DATA(seg), SEGMENT_LEN(seg)));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

PG_FUNCTION_INFO_V1(segment_recv);
Datum
segment_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	size_t		total = buf->len - buf->cursor;
	size_t		len;
	const uint8_t *data;
	uint32		crc;
	Segment    *result;

	if (total < sizeof(uint32) + 1)
		segment_report(total <= sizeof(uint32) ? SEG_ERR_EMPTY : SEG_ERR_TRUNCATED,
					   SEG_SOURCE_BINARY);
	len = total - sizeof(uint32);
	data = (const uint8_t *) pq_getmsgbytes(buf, len);
	crc = pq_getmsgint(buf, sizeof(uint32));
	if (crc != payload_crc(data, len))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid external segment value"),
				 errdetail("The CRC-32C of the value does not match its content.")));
	validate_input(data, len, SEG_SOURCE_BINARY);
	result = palloc(VARHDRSZ + len);
	SET_VARSIZE(result, VARHDRSZ + len);
	memcpy(VARDATA(result), data, len);
	PG_RETURN_POINTER(result);
}

/* ------------------------------------------------------------ accessors */

static SegMeasure *
get_measure(SegView *v, int32 n)
{
	if (n < 1 || n > (int32) v->nmeasures)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("segment measure %d does not exist", n),
				 errdetail("The segment has %u measures, numbered from 1.", v->nmeasures)));
	return &v->m[n - 1];
}

static void
check_bounds_exact(SegView *v, const char *what)
{
	if (v->flags & SEG_F_MINMAX_STALE)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("segment %s is not known exactly after a retraction", what),
				 errhint("Rebuild the segment from its source rows; minmax_known() tells whether bounds are exact.")));
}

static Numeric
measure_numeric(const SegMeasure *m, int which)
{
	if (m->kind == SEG_KIND_SCALED)
		return segnum_to_numeric(which == 0 ? m->sum : which == 1 ? m->min : m->max,
								 m->scale);
	return segnum_decimal_to_numeric(m->dec[which], m->dec_len[which]);
}

PG_FUNCTION_INFO_V1(segment_count);
Datum
segment_count(PG_FUNCTION_ARGS)
{
	SegView		v;

	segment_view(PG_GETARG_SEGMENT_PP(0), &v);
	PG_RETURN_INT64((int64) v.count);
}

PG_FUNCTION_INFO_V1(segment_measure_count);
Datum
segment_measure_count(PG_FUNCTION_ARGS)
{
	SegView		v;
	SegMeasure *m;

	segment_view(PG_GETARG_SEGMENT_PP(0), &v);
	m = get_measure(&v, PG_GETARG_INT32(1));
	PG_RETURN_INT64((int64) (v.count - m->nnull));
}

/*
 * The sum (which = 0), minimum (1) or maximum (2) of measure $2 of segment
 * $1, or NULL when the measure has no values.  A minimum or maximum must be
 * exact: 'bound' names it in the error, and is NULL for the sum.
 */
static Datum
measure_result(FunctionCallInfo fcinfo, int which, const char *bound)
{
	SegView		v;
	SegMeasure *m;

	segment_view(PG_GETARG_SEGMENT_PP(0), &v);
	m = get_measure(&v, PG_GETARG_INT32(1));
	if (v.count - m->nnull == 0)
		PG_RETURN_NULL();
	if (bound != NULL)
		check_bounds_exact(&v, bound);
	PG_RETURN_NUMERIC(measure_numeric(m, which));
}

PG_FUNCTION_INFO_V1(segment_sum);
Datum
segment_sum(PG_FUNCTION_ARGS)
{
	return measure_result(fcinfo, 0, NULL);
}

PG_FUNCTION_INFO_V1(segment_min);
Datum
segment_min(PG_FUNCTION_ARGS)
{
	return measure_result(fcinfo, 1, "minimum");
}

PG_FUNCTION_INFO_V1(segment_max);
Datum
segment_max(PG_FUNCTION_ARGS)
{
	return measure_result(fcinfo, 2, "maximum");
}

/* sum / count with numeric_div, exactly as PostgreSQL's avg() finishes */
PG_FUNCTION_INFO_V1(segment_avg);
Datum
segment_avg(PG_FUNCTION_ARGS)
{
	SegView		v;
	SegMeasure *m;
	Datum		n;

	segment_view(PG_GETARG_SEGMENT_PP(0), &v);
	m = get_measure(&v, PG_GETARG_INT32(1));
	if (v.count - m->nnull == 0)
		PG_RETURN_NULL();
	n = DirectFunctionCall1(int8_numeric, Int64GetDatum((int64) (v.count - m->nnull)));
	PG_RETURN_DATUM(DirectFunctionCall2(numeric_div,
										NumericGetDatum(measure_numeric(m, 0)), n));
}

PG_FUNCTION_INFO_V1(segment_first_time);
Datum
segment_first_time(PG_FUNCTION_ARGS)
{
	SegView		v;

	segment_view(PG_GETARG_SEGMENT_PP(0), &v);
	if (v.count == 0)
		PG_RETURN_NULL();
	check_bounds_exact(&v, "first time");
	PG_RETURN_TIMESTAMPTZ(v.first_ts);
}

PG_FUNCTION_INFO_V1(segment_last_time);
Datum
segment_last_time(PG_FUNCTION_ARGS)
{
	SegView		v;

	segment_view(PG_GETARG_SEGMENT_PP(0), &v);
	if (v.count == 0)
		PG_RETURN_NULL();
	check_bounds_exact(&v, "last time");
	PG_RETURN_TIMESTAMPTZ(v.last_ts);
}

PG_FUNCTION_INFO_V1(segment_measures);
Datum
segment_measures(PG_FUNCTION_ARGS)
{
	SegView		v;

	segment_view(PG_GETARG_SEGMENT_PP(0), &v);
	PG_RETURN_INT32((int32) v.nmeasures);
}

PG_FUNCTION_INFO_V1(segment_has_lineage);
Datum
segment_has_lineage(PG_FUNCTION_ARGS)
{
	SegView		v;

	segment_view(PG_GETARG_SEGMENT_PP(0), &v);
	PG_RETURN_BOOL((v.flags & SEG_F_LINEAGE) != 0);
}

PG_FUNCTION_INFO_V1(segment_checksum);
Datum
segment_checksum(PG_FUNCTION_ARGS)
{
	SegView		v;

	segment_view(PG_GETARG_SEGMENT_PP(0), &v);
	PG_RETURN_INT64((int64) v.checksum);
}

PG_FUNCTION_INFO_V1(segment_minmax_known);
Datum
segment_minmax_known(PG_FUNCTION_ARGS)
{
	SegView		v;

	segment_view(PG_GETARG_SEGMENT_PP(0), &v);
	PG_RETURN_BOOL((v.flags & SEG_F_MINMAX_STALE) == 0);
}

PG_FUNCTION_INFO_V1(segment_stored_size);
Datum
segment_stored_size(PG_FUNCTION_ARGS)
{
	Segment    *seg = PG_GETARG_SEGMENT_PP(0);

	PG_RETURN_INT64((int64) VARSIZE_ANY(seg));
}

PG_FUNCTION_INFO_V1(segment_raw_size);
Datum
segment_raw_size(PG_FUNCTION_ARGS)
{
	Segment    *seg = PG_GETARG_SEGMENT_PP(0);
	SegView		v;

	segment_view(seg, &v);
	PG_RETURN_INT64((int64) (VARSIZE_ANY(seg) - v.lineage_len + v.raw_len));
}

static void
require_lineage(const SegView *v)
{
	if (!(v->flags & SEG_F_LINEAGE))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("segment has no lineage"),
				 errhint("Build segments with segment_agg() rather than segment_agg_nolineage() to keep source keys.")));
}

/* Streams the keys in order from the decompressed encoding. */
typedef struct KeysFctx
{
	uint8_t    *raw;
	SegKeyIter	it;
} KeysFctx;

PG_FUNCTION_INFO_V1(segment_keys);
Datum
segment_keys(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	KeysFctx   *kf;
	int64_t		key;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		SegView    *v;

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		v = palloc(sizeof(SegView));
		segment_view(PG_GETARG_SEGMENT_PP(0), v);
		require_lineage(v);
		kf = palloc(sizeof(KeysFctx));
		kf->raw = v->count > 0 ? segment_raw_lineage(v, SEG_SOURCE_DISK) : NULL;
		seg_key_iter_init(&kf->it, kf->raw, v->raw_len, v->count);
		funcctx->user_fctx = kf;
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	kf = funcctx->user_fctx;
	if (kf->it.remaining > 0)
	{
		(void) seg_key_next(&kf->it, &key); /* validated when decoded */
		SRF_RETURN_NEXT(funcctx, Int64GetDatum(key));
	}
	SRF_RETURN_DONE(funcctx);
}

PG_FUNCTION_INFO_V1(segment_contains);
Datum
segment_contains(PG_FUNCTION_ARGS)
{
	SegView		v;
	int64		target = PG_GETARG_INT64(1);
	uint8_t    *raw;
	SegKeyIter	it;
	bool		found = false;

	segment_view(PG_GETARG_SEGMENT_PP(0), &v);
	require_lineage(&v);
	if (v.count == 0)
		PG_RETURN_BOOL(false);
	raw = segment_raw_lineage(&v, SEG_SOURCE_DISK);
	seg_key_iter_init(&it, raw, v.raw_len, v.count);
	while (it.remaining > 0)
	{
		int64_t		key;

		(void) seg_key_next(&it, &key);
		if (key >= target)
		{
			found = key == target;
			break;
		}
	}
	pfree(raw);
	PG_RETURN_BOOL(found);
}

/* ------------------------------------------------------------ comparison */

/*
 * The bytes of a parsed value's fixed part that equality, ordering and
 * hashing look at, from the flags byte on: the extreme counts (version 3)
 * are left out, so a value with counts equals the same content without
 * them (a cell written by 0.4.0 equals its rebuild; counts are a cache of
 * the rows, and wrong counts show as wrong min/max the moment they
 * matter), and a value in the one-row form is compared in the full form,
 * so it equals (and hashes and sorts as) a full-form value of the same row
 * written by 0.4.0.  Returns a pointer into 'data' or a palloc'd copy.
 */
static const uint8_t *
compared_fixed(const SegView *v, const uint8_t *data, size_t *len)
{
	uint8_t    *buf;

	if (!v->counts && !v->one_row)
	{
		*len = v->fixed_len - 1;
		return data + 1;
	}
	buf = palloc(seg_fixed_bound(v));
	*len = seg_encode_fixed_without_counts(v, buf) - 1;
	return buf + 1;
}

/*
 * Canonical comparison: the fixed part byte for byte without the extreme
 * counts (ignoring whether the lineage happens to be compressed), then the
 * uncompressed key encoding.
 */
static int
segment_compare(Segment *a, Segment *b)
{
	SegView    *va,
			   *vb;
	int			cmp;
	uint8_t    *ra,
			   *rb;
	const uint8_t *fa,
			   *fb;
	size_t		la,
				lb;

	if (SEGMENT_LEN(a) == SEGMENT_LEN(b) &&
		memcmp(SEGMENT_DATA(a), SEGMENT_DATA(b), SEGMENT_LEN(a)) == 0)
		return 0;

	va = palloc(sizeof(SegView));
	vb = palloc(sizeof(SegView));
	segment_view(a, va);
	segment_view(b, vb);
	fa = compared_fixed(va, SEGMENT_DATA(a), &la);
	fb = compared_fixed(vb, SEGMENT_DATA(b), &lb);
	if (la != lb)
		return la < lb ? -1 : 1;
	if ((va->flags & ~SEG_F_ZSTD) != (vb->flags & ~SEG_F_ZSTD))
		return (va->flags & ~SEG_F_ZSTD) < (vb->flags & ~SEG_F_ZSTD) ? -1 : 1;
	cmp = memcmp(fa + 1, fb + 1, la - 1);
	if (cmp != 0 || !(va->flags & SEG_F_LINEAGE) || va->count == 0)
		return cmp < 0 ? -1 : cmp > 0 ? 1 : 0;
	if (va->raw_len != vb->raw_len)
		return va->raw_len < vb->raw_len ? -1 : 1;
	if (!((va->flags | vb->flags) & SEG_F_ZSTD))
		cmp = memcmp(va->lineage, vb->lineage, va->raw_len);
	else
	{
		ra = segment_raw_lineage(va, SEG_SOURCE_DISK);
		rb = segment_raw_lineage(vb, SEG_SOURCE_DISK);
		cmp = memcmp(ra, rb, va->raw_len);
	}
	return cmp < 0 ? -1 : cmp > 0 ? 1 : 0;
}

#define SEGMENT_CMP_FN(name, expr) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	Segment    *a = PG_GETARG_SEGMENT_PP(0); \
	Segment    *b = PG_GETARG_SEGMENT_PP(1); \
	int			c = segment_compare(a, b); \
	PG_FREE_IF_COPY(a, 0); \
	PG_FREE_IF_COPY(b, 1); \
	expr; \
}

SEGMENT_CMP_FN(segment_eq, PG_RETURN_BOOL(c == 0))
SEGMENT_CMP_FN(segment_ne, PG_RETURN_BOOL(c != 0))
SEGMENT_CMP_FN(segment_lt, PG_RETURN_BOOL(c < 0))
SEGMENT_CMP_FN(segment_le, PG_RETURN_BOOL(c <= 0))
SEGMENT_CMP_FN(segment_gt, PG_RETURN_BOOL(c > 0))
SEGMENT_CMP_FN(segment_ge, PG_RETURN_BOOL(c >= 0))
SEGMENT_CMP_FN(segment_cmp, PG_RETURN_INT32(c))

/* Hashes what segment_compare compares, so that equal values hash alike. */
PG_FUNCTION_INFO_V1(segment_hash);
Datum
segment_hash(PG_FUNCTION_ARGS)
{
	Segment    *seg = PG_GETARG_SEGMENT_PP(0);
	SegView    *v = palloc(sizeof(SegView));
	const uint8_t *f;
	size_t		flen;
	uint32		h;

	segment_view(seg, v);
	f = compared_fixed(v, SEGMENT_DATA(seg), &flen);
	h = hash_bytes(f + 1, flen - 1);
	h = hash_combine(h, (uint32) (v->flags & ~SEG_F_ZSTD));
	if ((v->flags & SEG_F_LINEAGE) && v->count > 0)
	{
		uint8_t    *raw = (v->flags & SEG_F_ZSTD) ? segment_raw_lineage(v, SEG_SOURCE_DISK)
			: (uint8_t *) v->lineage;

		h = hash_combine(h, hash_bytes(raw, v->raw_len));
	}
	pfree(v);
	PG_RETURN_INT32((int32) h);
}
