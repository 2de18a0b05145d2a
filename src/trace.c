/*-------------------------------------------------------------------------
 *
 * trace.c
 *	  The trace entry points, trace(name, seg), trace(name, dimensions,
 *	  period) and trace_rows(name, seg, row_type), and what they need: the
 *	  keys of a segment in bounded batches.  (segroll.history_retention is
 *	  defined in _PG_init, segroll.c, as is segroll.trace_audit, whose
 *	  variable lives here.)
 *
 * A trace runs as its caller, so that privileges, column privileges and
 * row-level security apply to every source row it returns.  For trace(),
 * segroll._trace() (PL/pgSQL, in the extension scripts) checks what the
 * caller reads and returns the statement that finds the rows; the entry
 * point runs that statement through SPI, without switching user, once per
 * batch of keys it decodes from the segment (trace_lookup), and the rows go
 * straight into its result.  trace_rows() runs segroll._trace_rows(), which
 * returns the rows itself.  Either way the source is looked up one batch of
 * keys at a time, which keeps each lookup an index scan of bounded size
 * however large the traced segment is.  segroll._trace_json() writes a row
 * as to_json() does, with its columns' types looked up once per query.
 *
 * Every trace is recorded in segroll.trace_log, and only segroll records
 * it (issue 12): anything a routine running as the caller may do, the
 * caller may do directly, so the entry is written here, after the rows
 * are counted, as the owner of segroll.trace_log in a security-restricted
 * operation, the way rollup.c runs the owner's part of a roll-up.  No role
 * but the table's owner may insert into it.  The role and session role it
 * names are taken before anything runs.  The inner routines refuse to run
 * unless an entry point admitted them (segroll._enter_trace()), so that
 * nobody gets the rows without the entry by calling them directly.
 *
 *-------------------------------------------------------------------------
 */
#include "segroll.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/transam.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/jsonapi.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

/* segroll.trace_audit: whether every trace is recorded in segroll.trace_log */
bool		segroll_trace_audit = true;

typedef struct KeyBatchFctx
{
	uint8_t    *raw;
	SegKeyIter	it;
	int			batch;
} KeyBatchFctx;

/*
 * segroll.key_batches(segment, batch int4) returns the keys of a segment in
 * ascending order as arrays of at most batch keys, decoding as it goes.
 */
PG_FUNCTION_INFO_V1(segment_key_batches);
Datum
segment_key_batches(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	KeyBatchFctx *kf;
	Datum	   *elems;
	int			n;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		SegView    *v;
		int32		batch = PG_GETARG_INT32(1);

		if (batch < 1 || batch > 1000000)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("batch size must be between 1 and 1000000, not %d", batch)));
		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		v = palloc(sizeof(SegView));
		segment_view(PG_GETARG_SEGMENT_PP(0), v);
		if (!(v->flags & SEG_F_LINEAGE))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("segment has no lineage"),
					 errhint("Build segments with segment_agg() rather than segment_agg_nolineage() to keep source keys.")));
		kf = palloc(sizeof(KeyBatchFctx));
		kf->raw = v->count > 0 ? segment_raw_lineage(v, SEG_SOURCE_DISK) : NULL;
		seg_key_iter_init(&kf->it, kf->raw, v->raw_len, v->count);
		kf->batch = batch;
		funcctx->user_fctx = kf;
		MemoryContextSwitchTo(old);
	}
	funcctx = SRF_PERCALL_SETUP();
	kf = funcctx->user_fctx;
	if (kf->it.remaining == 0)
		SRF_RETURN_DONE(funcctx);

	n = (int) Min((uint64) kf->batch, kf->it.remaining);
	elems = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
	{
		int64_t		key;

		(void) seg_key_next(&kf->it, &key); /* validated when decoded */
		elems[i] = Int64GetDatum(key);
	}
	SRF_RETURN_NEXT(funcctx,
					PointerGetDatum(construct_array(elems, n, INT8OID, sizeof(int64),
													FLOAT8PASSBYVAL, TYPALIGN_DOUBLE)));
}

/* ------------------------------------------------------------ trace */

/*
 * The admission an entry point gives the inner routine it is about to run,
 * for the role it runs as.  segroll._enter_trace() takes it: the first call
 * after the entry point granted it returns true, every other call false.
 * So segroll._trace() and segroll._trace_rows() run only as the one inner
 * call of an entry point (which records the trace), never when called
 * directly, nor when called again from code that runs during the trace.
 * The entry point withdraws it however the trace ends.
 */
static bool trace_admitted = false;
static Oid	trace_admitted_user = InvalidOid;

PG_FUNCTION_INFO_V1(segroll_enter_trace);
Datum
segroll_enter_trace(PG_FUNCTION_ARGS)
{
	bool		ok = trace_admitted && trace_admitted_user == GetUserId();

	trace_admitted = false;
	trace_admitted_user = InvalidOid;
	PG_RETURN_BOOL(ok);
}

/*
 * What a routine running as its caller may read, checked without running
 * anything another role wrote (docs/security.md, "Trace runs as the
 * caller").  These replace SQL that did the same through the catalogs and
 * dynamic statements: on every call of trace, cell and locate, that was
 * most of their fixed cost.
 */

/*
 * segroll._builtin_base(t regtype): the built-in type that values of t are
 * (t itself, or the base type under any depth of domains, when initdb
 * created it); NULL for any other type, or a type that does not exist.
 */
PG_FUNCTION_INFO_V1(segroll_builtin_base);
Datum
segroll_builtin_base(PG_FUNCTION_ARGS)
{
	Oid			type = PG_GETARG_OID(0);
	Oid			base;

	if (!SearchSysCacheExists1(TYPEOID, ObjectIdGetDatum(type)))
		PG_RETURN_NULL();
	base = getBaseType(type);
	if (base >= FirstNormalObjectId)
		PG_RETURN_NULL();
	PG_RETURN_OID(base);
}

/*
 * segroll._caller_type(rel regclass, col text): the type of column col of
 * rel as the statements about to run will see it.  The system caches are
 * read with the latest catalog snapshot, not the transaction's (under
 * REPEATABLE READ pg_attribute may still show a type that ALTER TABLE has
 * changed since); the caller has locked rel (_lock_for_read), so it stays.
 */
PG_FUNCTION_INFO_V1(segroll_caller_type);
Datum
segroll_caller_type(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *col = text_to_cstring(PG_GETARG_TEXT_PP(1));
	AttrNumber	attnum = get_attnum(relid, col);

	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						col, get_rel_name(relid) ? get_rel_name(relid) : "?")));
	PG_RETURN_OID(get_atttype(relid, attnum));
}

/*
 * segroll._lock_for_read(rel regclass): takes ACCESS SHARE on rel until the
 * end of the transaction, as reading it would, so that neither its kind nor
 * its columns' types change before the caller's reads are done.  It checks
 * no privilege (the reads that follow do, as the caller) and runs nothing;
 * the lock conflicts only with ACCESS EXCLUSIVE.
 */
PG_FUNCTION_INFO_V1(segroll_lock_for_read);
Datum
segroll_lock_for_read(PG_FUNCTION_ARGS)
{
	LockRelationOid(PG_GETARG_OID(0), AccessShareLock);
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------ row json */

/*
 * segroll._trace_json(record): the row as json, exactly as
 * pg_catalog.to_json(record) writes it, for the rows trace returns.  Each
 * column is written by its built-in type's output (the type of a domain
 * seen through, as to_json does); a column of a type that is not built in
 * is written as its text, never through a cast to json (trace shows such
 * values as text anyway: _shown_sql).  to_json looks up each column's type,
 * its output function and the row type again for every row; here they are
 * looked up once per query and kept with the call site (fn_extra), with
 * each column's key already escaped, which more than halves the time of a
 * trace's json.  test/sql/trace_fast.sql compares the two over every
 * category of built-in type.
 */
typedef enum TraceJsonKind
{
	TJ_BOOL,					/* true / false */
	TJ_NUMBER,					/* the output if it is a valid JSON number,
								 * else quoted */
	TJ_DATETIME,				/* date, timestamp, timestamptz: ISO 8601,
								 * quoted */
	TJ_JSON,					/* json, jsonb: the output as it is */
	TJ_ARRAY,					/* array_to_json() */
	TJ_COMPOSITE,				/* row_to_json() */
	TJ_TEXT						/* the output, quoted and escaped */
} TraceJsonKind;

typedef struct TraceJsonColumn
{
	bool		dropped;
	TraceJsonKind kind;
	Oid			base;			/* the built-in type written */
	char	   *key;			/* "name": */
	FmgrInfo	out;			/* output function (TJ_NUMBER, TJ_JSON,
								 * TJ_TEXT) */
} TraceJsonColumn;

typedef struct TraceJsonCache
{
	Oid			type;			/* the row type the columns describe */
	int32		typmod;
	int			natts;
	TraceJsonColumn *cols;
	MemoryContext cxt;			/* holds cols */
} TraceJsonCache;

static void
trace_json_describe(TraceJsonCache *c, TupleDesc desc, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);

	c->natts = desc->natts;
	c->cols = palloc0(sizeof(TraceJsonColumn) * Max(desc->natts, 1));
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		TraceJsonColumn *col = &c->cols[i];
		Oid			base;
		Oid			outfn;
		bool		varlena;
		StringInfoData key;

		col->dropped = att->attisdropped;
		if (col->dropped)
			continue;
		initStringInfo(&key);
		escape_json(&key, NameStr(att->attname));
		appendStringInfoChar(&key, ':');
		col->key = key.data;
		base = getBaseType(att->atttypid);
		col->base = base;
		switch (base)
		{
			case BOOLOID:
				col->kind = TJ_BOOL;
				break;
			case INT2OID:
			case INT4OID:
			case INT8OID:
			case FLOAT4OID:
			case FLOAT8OID:
			case NUMERICOID:
				col->kind = TJ_NUMBER;
				break;
			case DATEOID:
			case TIMESTAMPOID:
			case TIMESTAMPTZOID:
				col->kind = TJ_DATETIME;
				break;
			case JSONOID:
			case JSONBOID:
				col->kind = TJ_JSON;
				break;
			default:
				if (base < FirstNormalObjectId &&
					(OidIsValid(get_element_type(base)) || base == ANYARRAYOID ||
					 base == ANYCOMPATIBLEARRAYOID || base == RECORDARRAYOID))
					col->kind = TJ_ARRAY;
				else if (base < FirstNormalObjectId && type_is_rowtype(base))
					col->kind = TJ_COMPOSITE;
				else
					col->kind = TJ_TEXT;
				break;
		}
		if (col->kind == TJ_NUMBER || col->kind == TJ_JSON || col->kind == TJ_TEXT)
		{
			getTypeOutputInfo(base, &outfn, &varlena);
			fmgr_info_cxt(outfn, &col->out, cxt);
		}
	}
	MemoryContextSwitchTo(old);
}

static void
trace_json_value(StringInfo buf, TraceJsonColumn *col, Datum value)
{
	char	   *str;

	switch (col->kind)
	{
		case TJ_BOOL:
			appendStringInfoString(buf, DatumGetBool(value) ? "true" : "false");
			break;
		case TJ_NUMBER:
			str = OutputFunctionCall(&col->out, value);
			if (IsValidJsonNumber(str, strlen(str)))
				appendStringInfoString(buf, str);
			else
				escape_json(buf, str);
			pfree(str);
			break;
		case TJ_DATETIME:
			{
				char		dt[MAXDATELEN + 1];

				JsonEncodeDateTime(dt, value, col->base, NULL);
				appendStringInfoChar(buf, '"');
				appendStringInfoString(buf, dt);
				appendStringInfoChar(buf, '"');
			}
			break;
		case TJ_JSON:
			str = OutputFunctionCall(&col->out, value);
			appendStringInfoString(buf, str);
			pfree(str);
			break;
		case TJ_ARRAY:
		case TJ_COMPOSITE:
			{
				text	   *t = DatumGetTextPP(col->kind == TJ_ARRAY
											   ? DirectFunctionCall1(array_to_json, value)
											   : DirectFunctionCall1(row_to_json, value));

				appendBinaryStringInfo(buf, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
			}
			break;
		case TJ_TEXT:
			str = OutputFunctionCall(&col->out, value);
			escape_json(buf, str);
			pfree(str);
			break;
	}
}

PG_FUNCTION_INFO_V1(segroll_trace_json);
Datum
segroll_trace_json(PG_FUNCTION_ARGS)
{
	HeapTupleHeader td = PG_GETARG_HEAPTUPLEHEADER(0);
	Oid			type = HeapTupleHeaderGetTypeId(td);
	int32		typmod = HeapTupleHeaderGetTypMod(td);
	TraceJsonCache *c = fcinfo->flinfo->fn_extra;
	TraceJsonCache row;
	HeapTupleData tuple;
	TupleDesc	desc;
	StringInfo	buf;
	Datum	   *values;
	bool	   *nulls;
	bool		first = true;
	text	   *result;

	if (c == NULL)
	{
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(TraceJsonCache));
		c->type = InvalidOid;
		c->cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "segroll trace json", ALLOCSET_SMALL_SIZES);
		fcinfo->flinfo->fn_extra = c;
	}
	desc = lookup_rowtype_tupdesc(type, typmod);
	if (type == RECORDOID)
	{
		/* an anonymous row type never changes: described once */
		if (c->type != type || c->typmod != typmod)
		{
			MemoryContextReset(c->cxt);
			c->type = type;
			c->typmod = typmod;
			trace_json_describe(c, desc, c->cxt);
		}
	}
	else
	{
		/* a named one may (ALTER TABLE): described for this row */
		c = &row;
		trace_json_describe(c, desc, CurrentMemoryContext);
	}

	tuple.t_len = HeapTupleHeaderGetDatumLength(td);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = td;

	values = palloc(sizeof(Datum) * Max(c->natts, 1));
	nulls = palloc(sizeof(bool) * Max(c->natts, 1));
	heap_deform_tuple(&tuple, desc, values, nulls);
	buf = makeStringInfo();
	appendStringInfoChar(buf, '{');
	for (int i = 0; i < c->natts; i++)
	{
		TraceJsonColumn *col = &c->cols[i];

		if (col->dropped)
			continue;
		if (!first)
			appendStringInfoChar(buf, ',');
		first = false;
		appendStringInfoString(buf, col->key);
		if (nulls[i])
			appendStringInfoString(buf, "null");
		else
			trace_json_value(buf, col, values[i]);
	}
	appendStringInfoChar(buf, '}');
	ReleaseTupleDesc(desc);
	result = cstring_to_text_with_len(buf->data, buf->len);
	pfree(buf->data);
	pfree(buf);
	pfree(values);
	pfree(nulls);
	PG_RETURN_TEXT_P(result);
}

/*
 * segroll._key_index_leads(rel regclass, col text): whether rel is a plain
 * table with a valid btree index without a predicate whose first column is
 * col, read from the relation cache (the planner reads the same when it
 * plans the lookup).  Not a partitioned table: each of its partitions
 * would be probed for every key, where the planner may scan a small
 * partition instead.  The caller has locked rel (_lock_for_read).
 */
PG_FUNCTION_INFO_V1(segroll_key_index_leads);
Datum
segroll_key_index_leads(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *col = text_to_cstring(PG_GETARG_TEXT_PP(1));
	AttrNumber	attnum = get_attnum(relid, col);
	Relation	rel;
	List	   *indexes;
	ListCell   *lc;
	bool		found = false;

	if (attnum == InvalidAttrNumber)
		PG_RETURN_BOOL(false);
	rel = relation_open(relid, AccessShareLock);
	if (rel->rd_rel->relkind != RELKIND_RELATION)
	{
		relation_close(rel, AccessShareLock);
		PG_RETURN_BOOL(false);
	}
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);

		found = index->rd_rel->relam == BTREE_AM_OID && index->rd_index->indisvalid &&
			index->rd_index->indkey.values[0] == attnum &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL);
		index_close(index, AccessShareLock);
		if (found)
			break;
	}
	list_free(indexes);
	relation_close(rel, AccessShareLock);
	PG_RETURN_BOOL(found);
}

typedef enum TraceKind
{
	TRACE_SEGMENT,				/* trace(name, seg) */
	TRACE_CELL,					/* trace(name, dimensions, period) */
	TRACE_ROWS					/* trace_rows(name, seg, row_type) */
} TraceKind;

static void
spi_check(int rc, int expected, const char *what)
{
	if (rc != expected)
		elog(ERROR, "%s failed: %s", what, SPI_result_code_string(rc));
}

/*
 * The owner of segroll.trace_log, who writes its entries.  The table's
 * owner rather than any superuser: it may do anything to the table anyway
 * (its triggers included), so writing as it lends nobody anything.
 */
static Oid
trace_log_owner(void)
{
	Oid			rel = get_relname_relid("trace_log", get_namespace_oid("segroll", false));
	HeapTuple	tp;
	Oid			owner;

	if (!OidIsValid(rel))
		elog(ERROR, "relation segroll.trace_log does not exist");
	tp = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for relation %u", rel);
	owner = ((Form_pg_class) GETSTRUCT(tp))->relowner;
	ReleaseSysCache(tp);
	return owner;
}

/*
 * Where the inner routine's rows go: straight into the entry point's result
 * (a tuplestore), counted, without a copy in SPI_tuptable.  For trace() the
 * inner routine's columns are the entry point's; for trace_rows() each
 * row is the value of the one column, which has the row type's layout
 * (dropped columns included) that the result has.  The result is set up at
 * the first row, or after the run when there is none: the inner routine
 * refuses a row_type that is not the source's row type before a result of
 * that type is set up.
 */
typedef struct TraceReceiver
{
	DestReceiver pub;
	FunctionCallInfo fcinfo;
	TraceKind	kind;
	uint64		nrows;
	bool		ready;
} TraceReceiver;

static void
trace_result_ready(TraceReceiver *tr)
{
	if (!tr->ready)
	{
		InitMaterializedSRF(tr->fcinfo, 0);
		tr->ready = true;
	}
}

static bool
trace_receive(TupleTableSlot *slot, DestReceiver *self)
{
	TraceReceiver *tr = (TraceReceiver *) self;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) tr->fcinfo->resultinfo;

	trace_result_ready(tr);
	if (tr->kind != TRACE_ROWS)
		tuplestore_puttupleslot(rsinfo->setResult, slot);
	else
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, 1, &isnull);

		if (isnull)
		{
			int			natts = Max(rsinfo->setDesc->natts, 1);
			Datum	   *values = palloc0(sizeof(Datum) * natts);
			bool	   *nulls = palloc(sizeof(bool) * natts);

			memset(nulls, true, sizeof(bool) * natts);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			pfree(values);
			pfree(nulls);
		}
		else
		{
			HeapTupleHeader td = DatumGetHeapTupleHeader(d);
			HeapTupleData row;

			row.t_len = HeapTupleHeaderGetDatumLength(td);
			ItemPointerSetInvalid(&row.t_self);
			row.t_tableOid = InvalidOid;
			row.t_data = td;
			tuplestore_puttuple(rsinfo->setResult, &row);
		}
	}
	tr->nrows++;
	return true;
}

static void
trace_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
trace_shutdown(DestReceiver *self)
{
}

static void
trace_destroy(DestReceiver *self)
{
}

/* keys per lookup: the batch size segroll.key_batches() gives trace_rows */
#define TRACE_BATCH 10000

/*
 * Runs sql, the statement segroll._trace() built as the caller, once per
 * batch of at most TRACE_BATCH keys of seg, in ascending key order, with
 * the batch as $1 (int8[]) and the cell as $2 (jsonb, or null), sending
 * the rows to dest.  The statement is parsed once; the lineage is decoded
 * as the batches go, so a segment of any size needs one batch of keys in
 * memory, and no row passes through another tuplestore on its way to the
 * result.  Caller must be connected to SPI, with search_path pinned.
 */
static void
trace_lookup(const char *sql, Datum seg, Datum cell, bool cell_null, DestReceiver *dest)
{
	Oid			argtypes[2] = {INT8ARRAYOID, JSONBOID};
	SegView		v;
	uint8_t    *raw;
	SegKeyIter	it;
	SPIPlanPtr	plan;
	MemoryContext batch_cxt;

	segment_view(DatumGetSegmentPP(seg), &v);
	if (!(v.flags & SEG_F_LINEAGE))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("segment has no lineage"),
				 errhint("Build segments with segment_agg() rather than segment_agg_nolineage() to keep source keys.")));
	if (v.count == 0)
		return;
	raw = segment_raw_lineage(&v, SEG_SOURCE_DISK);
	seg_key_iter_init(&it, raw, v.raw_len, v.count);

	plan = SPI_prepare(sql, 2, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "segroll trace batch", ALLOCSET_DEFAULT_SIZES);
	while (it.remaining > 0)
	{
		int			n = (int) Min((uint64) TRACE_BATCH, it.remaining);
		MemoryContext old = MemoryContextSwitchTo(batch_cxt);
		Datum	   *elems = palloc(sizeof(Datum) * n);
		ParamListInfo params = makeParamList(2);
		SPIExecuteOptions options;
		int			rc;

		for (int i = 0; i < n; i++)
		{
			int64_t		key;

			(void) seg_key_next(&it, &key); /* validated when decoded */
			elems[i] = Int64GetDatum(key);
		}
		params->params[0].value = PointerGetDatum(construct_array(elems, n, INT8OID, sizeof(int64),
																  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		params->params[0].isnull = false;
		params->params[0].pflags = PARAM_FLAG_CONST;
		params->params[0].ptype = INT8ARRAYOID;
		params->params[1].value = cell;
		params->params[1].isnull = cell_null;
		params->params[1].pflags = PARAM_FLAG_CONST;
		params->params[1].ptype = JSONBOID;
		MemoryContextSwitchTo(old);

		memset(&options, 0, sizeof(options));
		options.params = params;
		options.read_only = false;
		options.dest = dest;
		rc = SPI_execute_plan_extended(plan, &options);
		/* a SELECT whose rows went to a receiver of ours reports UTILITY */
		if (rc != SPI_OK_SELECT && rc != SPI_OK_UTILITY)
			elog(ERROR, "SPI_execute_plan_extended failed: %s", SPI_result_code_string(rc));
		MemoryContextReset(batch_cxt);
		CHECK_FOR_INTERRUPTS();
	}
	MemoryContextDelete(batch_cxt);
	SPI_freeplan(plan);
}

static Datum
run_trace(FunctionCallInfo fcinfo, TraceKind kind)
{
	/* who traces: before anything runs */
	Oid			caller = GetUserId();
	Oid			session_user = GetSessionUserId();
	Oid		   *declared;
	int			ndeclared;
	Oid			segtype;
	Oid			argtypes[3];
	Datum		args[3];
	char		nulls[3];
	Datum		seg = (Datum) 0;
	bool		seg_null = true;
	Datum		cell = (Datum) 0;
	bool		cell_null = true;
	const char *sql;
	ParamListInfo params;
	SPIExecuteOptions options;
	TraceReceiver receiver;
	uint64		nrows;
	int			save_nestlevel;
	int			rc;

	/* trace_rows's row_type is a NULL of the source's row type */
	segroll_require_args(fcinfo, kind == TRACE_ROWS ? 1 << 2 : 0);
	(void) get_func_signature(fcinfo->flinfo->fn_oid, &declared, &ndeclared);
	segtype = kind == TRACE_CELL ? InvalidOid : declared[1];

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));

	/*
	 * search_path pinned for everything below, as the SQL functions these
	 * replace had it (SET search_path): what runs here is qualified anyway.
	 * Undone by AtEOXact_GUC below, or by the abort of the transaction.
	 */
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	for (int i = 0; i < 3; i++)
	{
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
		args[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
	}

	if (kind == TRACE_CELL)
	{
		/* the cell's segment, looked up as the caller (as trace() did) */
		argtypes[0] = TEXTOID;
		argtypes[1] = JSONBOID;
		argtypes[2] = TIMESTAMPTZOID;
		rc = SPI_execute_with_args("SELECT segroll.cell($1, $2, $3), "
								   "pg_catalog.jsonb_build_object('dimensions', $2, 'period', $3)",
								   3, argtypes, args, nulls, false, 1);
		spi_check(rc, SPI_OK_SELECT, "SPI_execute_with_args");
		seg = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &seg_null);
		segtype = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
		cell = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &cell_null);
		nulls[1] = seg_null ? 'n' : ' ';
		args[1] = seg;
		nulls[2] = cell_null ? 'n' : ' ';
		args[2] = cell;
	}
	else
	{
		seg = args[1];
		seg_null = PG_ARGISNULL(1);
	}

	argtypes[0] = TEXTOID;
	argtypes[1] = segtype;
	if (kind == TRACE_ROWS)
	{
		argtypes[2] = get_fn_expr_argtype(fcinfo->flinfo, 2);
		if (!OidIsValid(argtypes[2]))
			elog(ERROR, "could not determine the type of row_type");
		sql = "SELECT r FROM segroll._trace_rows($1, $2, $3) r";
	}
	else
	{
		argtypes[2] = JSONBOID;
		if (kind == TRACE_SEGMENT)
			nulls[2] = 'n';
		/* the checks, and the statement that finds the rows (trace_lookup) */
		sql = "SELECT segroll._trace($1, $2, $3)";
	}

	/* the rows, as the caller; the inner routine admitted once */
	params = makeParamList(3);
	for (int i = 0; i < 3; i++)
	{
		params->params[i].value = args[i];
		params->params[i].isnull = nulls[i] == 'n';
		params->params[i].pflags = PARAM_FLAG_CONST;
		params->params[i].ptype = argtypes[i];
	}
	receiver.pub.receiveSlot = trace_receive;
	receiver.pub.rStartup = trace_startup;
	receiver.pub.rShutdown = trace_shutdown;
	receiver.pub.rDestroy = trace_destroy;
	receiver.pub.mydest = DestNone;
	receiver.fcinfo = fcinfo;
	receiver.kind = kind;
	receiver.nrows = 0;
	receiver.ready = false;
	memset(&options, 0, sizeof(options));
	options.params = params;
	options.read_only = false;
	options.dest = (DestReceiver *) &receiver;
	if (kind != TRACE_ROWS)
	{
		/* trace(): its statement comes back, and runs here as the caller */
		options.dest = NULL;
		options.tcount = 1;
	}
	PG_TRY();
	{
		trace_admitted = true;
		trace_admitted_user = caller;
		rc = SPI_execute_extended(sql, &options);
		/* a SELECT whose rows went to a receiver of ours reports UTILITY */
		if (rc != SPI_OK_SELECT && rc != SPI_OK_UTILITY)
			elog(ERROR, "SPI_execute_extended failed: %s", SPI_result_code_string(rc));
	}
	PG_FINALLY();
	{
		trace_admitted = false;
		trace_admitted_user = InvalidOid;
	}
	PG_END_TRY();
	if (kind != TRACE_ROWS)
	{
		bool		isnull;
		Datum		q;

		if (rc != SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "segroll._trace() returned no statement");
		q = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (isnull)
			elog(ERROR, "segroll._trace() returned no statement");
		trace_lookup(TextDatumGetCString(q), seg, cell, cell_null, (DestReceiver *) &receiver);
	}
	trace_result_ready(&receiver);
	nrows = receiver.nrows;

	/* the server log's line, whatever segroll.trace_audit says */
	if (!seg_null)
	{
		SegView		v;

		segment_view(DatumGetSegmentPP(seg), &v);
		ereport(LOG,
				(errmsg("segroll: %s traced " UINT64_FORMAT " keys of segmentation \"%s\" (%s), " UINT64_FORMAT " rows returned",
						GetUserNameFromId(caller, false), (uint64) v.count,
						TextDatumGetCString(args[0]),
						cell_null ? "a segment" : DatumGetCString(DirectFunctionCall1(jsonb_out, cell)),
						nrows)));
	}

	/* the entry, as the owner of the trace log */
	if (segroll_trace_audit)
	{
		Oid			save_userid;
		int			save_sec_context;
		Oid			logtypes[6] = {NAMEOID, NAMEOID, TEXTOID, JSONBOID, segtype, INT8OID};
		Datum		logargs[6];
		char		lognulls[6] = {' ', ' ', ' ', cell_null ? 'n' : ' ', seg_null ? 'n' : ' ', ' '};

		logargs[0] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(caller, false)));
		logargs[1] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(session_user, false)));
		logargs[2] = args[0];
		logargs[3] = cell;
		logargs[4] = seg;
		logargs[5] = Int64GetDatum((int64) nrows);

		/* errors restore the user when the transaction aborts */
		GetUserIdAndSecContext(&save_userid, &save_sec_context);
		SetUserIdAndSecContext(trace_log_owner(), save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);
		rc = SPI_execute_with_args("INSERT INTO segroll.trace_log "
								   "(at, role_name, session_role, segmentation, cell, keys, rows_returned) "
								   "VALUES (pg_catalog.now(), $1, $2, $3, "
								   "COALESCE($4, pg_catalog.jsonb_build_object("
								   "'count', segroll.count($5), 'checksum', segroll.checksum($5), "
								   "'first_time', segroll.first_time($5), 'last_time', segroll.last_time($5))), "
								   "segroll.count($5), $6)",
								   6, logtypes, logargs, lognulls, false, 0);
		spi_check(rc, SPI_OK_INSERT, "SPI_execute_with_args");
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}

	AtEOXact_GUC(false, save_nestlevel);
	if ((rc = SPI_finish()) != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed: %s", SPI_result_code_string(rc));
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(segroll_trace_segment);
Datum
segroll_trace_segment(PG_FUNCTION_ARGS)
{
	return run_trace(fcinfo, TRACE_SEGMENT);
}

PG_FUNCTION_INFO_V1(segroll_trace_cell);
Datum
segroll_trace_cell(PG_FUNCTION_ARGS)
{
	return run_trace(fcinfo, TRACE_CELL);
}

PG_FUNCTION_INFO_V1(segroll_trace_rows);
Datum
segroll_trace_rows(PG_FUNCTION_ARGS)
{
	return run_trace(fcinfo, TRACE_ROWS);
}
