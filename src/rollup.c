/*-------------------------------------------------------------------------
 *
 * rollup.c
 *	  Run the maintenance of a segmentation as its owner: rollup(),
 *	  rebuild(), verify(), repair(), purge_source() and resegment(), and
 *	  what a source's DDL asks of its segmentations (_follow and
 *	  _note_partition_purge, called by segroll's event triggers).
 *
 * The work itself is SQL (segroll._rollup, _rebuild, _verify, _repair,
 * _purge_source and _resegment, in the extension scripts).  These entry
 * points check that the caller may ask for it, then run it the way
 * PostgreSQL runs REFRESH MATERIALIZED VIEW: as the owner, inside a
 * security-restricted operation (so code the owner controls, such as a
 * trigger on the cells table, can neither SET ROLE nor RESET ROLE back to
 * the caller), with search_path pinned.  A superuser calling rollup(), a
 * pg_cron job or a background worker therefore never rolls up as a
 * superuser, and an auditor verifying cells compares them with the sources
 * as the owner saw them when the cells were computed, whatever the
 * auditor's own row-level security.
 *
 *-------------------------------------------------------------------------
 */
#include "segroll.h"

#include "access/htup_details.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

typedef enum OwnerTask
{
	TASK_ROLLUP,
	TASK_REBUILD,
	TASK_VERIFY,
	TASK_REPAIR,
	TASK_PURGE,
	TASK_RESEGMENT,
	TASK_FOLLOW,
	TASK_PARTITION_PURGE
} OwnerTask;

typedef struct OwnerTaskInfo
{
	const char *verb;			/* for "permission denied to %s" */
	const char *sql;
	int			nargs;
	Oid			argtypes[4];
	bool		returns_set;
	bool		readers_may;	/* SELECT on the cells is enough */
	uint32		may_be_null;	/* arguments whose NULL has a documented meaning */
	bool		source_owner_may;	/* owning the source is enough */
} OwnerTaskInfo;

static const OwnerTaskInfo tasks[] = {
	/* max_changes NULL: everything pending */
	[TASK_ROLLUP] = {"roll up", "SELECT segroll._rollup($1, $2)", 2, {TEXTOID, INT8OID}, false, false, 1 << 1},
	[TASK_REBUILD] = {"rebuild", "SELECT segroll._rebuild($1)", 1, {TEXTOID}, false, false},
	[TASK_VERIFY] = {"verify", "SELECT * FROM segroll._verify($1, $2, $3, $4)", 4,
	{TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID}, true, true},
	[TASK_REPAIR] = {"repair", "SELECT * FROM segroll._repair($1, $2, $3)", 3,
	{TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID}, true, false},
	[TASK_PURGE] = {"purge the source of", "SELECT * FROM segroll._purge_source($1, $2)", 2,
	{TEXTOID, INTERVALOID}, true, false},
	[TASK_RESEGMENT] = {"resegment", "SELECT * FROM segroll._resegment($1, $2, $3)", 3,
	{TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID}, true, false},
	/* DDL on the source (source_ddl.sql): its owner altered it */
	[TASK_FOLLOW] = {"follow the source of", "SELECT 0::pg_catalog.int8 FROM segroll._follow_source($1, $2)", 2,
	{TEXTOID, INT2OID}, false, false, 1 << 1, true},
	[TASK_PARTITION_PURGE] = {"record a purge of", "SELECT 0::pg_catalog.int8 FROM segroll._record_partition_purge($1)", 1,
	{TEXTOID}, false, false, 0, true},
};

/*
 * Refuses a NULL argument of the SQL-callable function being called, as the
 * PL/pgSQL routines do with segroll._require_arg(): null_value_not_allowed,
 * naming the argument and the function.  may_be_null has bit i set for each
 * argument i (from 0) whose NULL the function documents; the others must
 * not be NULL.  Call it first, before anything runs.
 */
void
segroll_require_args(FunctionCallInfo fcinfo, uint32 may_be_null)
{
	for (int i = 0; i < PG_NARGS(); i++)
	{
		HeapTuple	proc;
		Oid		   *types;
		char	  **names;
		char	   *modes;
		const char *argname;

		if (!PG_ARGISNULL(i) || (i < 32 && (may_be_null & ((uint32) 1 << i))))
			continue;
		proc = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
		if (!HeapTupleIsValid(proc))
			elog(ERROR, "cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
		/* the input arguments come first in every segroll function */
		(void) get_func_arg_info(proc, &types, &names, &modes);
		argname = names != NULL && names[i] != NULL && names[i][0] != '\0' ? names[i] : psprintf("$%d", i + 1);
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" of %s must not be null", argname,
						NameStr(((Form_pg_proc) GETSTRUCT(proc))->proname))));
	}
}

static Datum
run_as_owner(FunctionCallInfo fcinfo, OwnerTask task)
{
	const OwnerTaskInfo *ti = &tasks[task];
	text	   *name;
	Oid			owner;
	Oid			cells;
	Oid			source;
	bool		isnull;
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
	Datum		args[4];
	char		nulls[4];
	Oid			nametype = TEXTOID;
	int64		result = 0;
	int			rc;

	segroll_require_args(fcinfo, ti->may_be_null);
	name = PG_GETARG_TEXT_PP(0);
	if (ti->returns_set)
		InitMaterializedSRF(fcinfo, 0);

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));

	/*
	 * search_path is pinned for everything below, the caller's part as well
	 * as the owner's: a superuser (or a worker) calling this may have any
	 * search_path, and the statements run here name nothing that depends on
	 * it anyway (schema-qualified tables and functions, OPERATOR(pg_catalog.=),
	 * parameters of built-in types).  PGC_S_SESSION with GUC_ACTION_SAVE is
	 * what a function's SET clause does: undone by AtEOXact_GUC below, or by
	 * the abort of the transaction on error.
	 */
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	/*
	 * The progress table first, then the definitions: the order in which
	 * ALTER EXTENSION segroll UPDATE takes them, so that a roll-up and an
	 * update queue behind each other instead of deadlocking.
	 */
	rc = SPI_execute("LOCK TABLE segroll.progress IN ACCESS SHARE MODE", false, 0);
	if (rc != SPI_OK_UTILITY)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
	args[0] = PointerGetDatum(name);
	rc = SPI_execute_with_args("SELECT owner, cells, source FROM segroll.segmentation WHERE name OPERATOR(pg_catalog.=) $1",
							   1, &nametype, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("segmentation \"%s\" does not exist", text_to_cstring(name))));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	cells = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	source = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	if (!is_member_of_role(GetUserId(), owner) &&
		!(ti->readers_may && pg_class_aclcheck(cells, GetUserId(), ACL_SELECT) == ACLCHECK_OK) &&
		!(ti->source_owner_may && pg_class_ownercheck(source, GetUserId())))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s segmentation \"%s\"", ti->verb, text_to_cstring(name)),
				 ti->readers_may
				 ? errhint("Only roles that can read its cells (%s) may do so.", get_rel_name(cells))
				 : ti->source_owner_may
				 ? errhint("Only the owner of its source and members of its owner role %s may do so.",
						   GetUserNameFromId(owner, false))
				 : errhint("Only members of its owner role %s may do so.", GetUserNameFromId(owner, false))));

	for (int i = 0; i < ti->nargs; i++)
	{
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
		args[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
	}

	/* errors restore the user and the settings when the transaction aborts */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);

	rc = SPI_execute_with_args(ti->sql, ti->nargs, (Oid *) ti->argtypes, args, nulls, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	if (ti->returns_set)
	{
		ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

		/* same columns as the SQL function, which the catalog guarantees */
		for (uint64 i = 0; i < SPI_processed; i++)
			tuplestore_puttuple(rsinfo->setResult, SPI_tuptable->vals[i]);
	}
	else
		result = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	if ((rc = SPI_finish()) != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed: %s", SPI_result_code_string(rc));
	if (ti->returns_set)
		return (Datum) 0;
	PG_RETURN_INT64(result);
}

PG_FUNCTION_INFO_V1(segroll_rollup);
Datum
segroll_rollup(PG_FUNCTION_ARGS)
{
	return run_as_owner(fcinfo, TASK_ROLLUP);
}

PG_FUNCTION_INFO_V1(segroll_rebuild);
Datum
segroll_rebuild(PG_FUNCTION_ARGS)
{
	return run_as_owner(fcinfo, TASK_REBUILD);
}

PG_FUNCTION_INFO_V1(segroll_verify);
Datum
segroll_verify(PG_FUNCTION_ARGS)
{
	return run_as_owner(fcinfo, TASK_VERIFY);
}

PG_FUNCTION_INFO_V1(segroll_repair);
Datum
segroll_repair(PG_FUNCTION_ARGS)
{
	return run_as_owner(fcinfo, TASK_REPAIR);
}

PG_FUNCTION_INFO_V1(segroll_purge_source);
Datum
segroll_purge_source(PG_FUNCTION_ARGS)
{
	return run_as_owner(fcinfo, TASK_PURGE);
}

PG_FUNCTION_INFO_V1(segroll_resegment);
Datum
segroll_resegment(PG_FUNCTION_ARGS)
{
	return run_as_owner(fcinfo, TASK_RESEGMENT);
}

PG_FUNCTION_INFO_V1(segroll_follow);
Datum
segroll_follow(PG_FUNCTION_ARGS)
{
	(void) run_as_owner(fcinfo, TASK_FOLLOW);
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(segroll_note_partition_purge);
Datum
segroll_note_partition_purge(PG_FUNCTION_ARGS)
{
	(void) run_as_owner(fcinfo, TASK_PARTITION_PURGE);
	PG_RETURN_VOID();
}
