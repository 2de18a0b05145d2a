/*-------------------------------------------------------------------------
 *
 * rollup.c
 *	  segroll.rollup() and segroll.rebuild(): run the roll-up of a
 *	  segmentation as its owner.
 *
 * The roll-up itself is SQL (segroll._rollup and segroll._rebuild, in the
 * extension script).  These entry points check that the caller is a member
 * of the segmentation's owner role, then run it the way PostgreSQL runs
 * REFRESH MATERIALIZED VIEW: as the owner, inside a security-restricted
 * operation (so code the owner controls, such as a trigger on the cells
 * table, can neither SET ROLE nor RESET ROLE back to the caller), with
 * search_path pinned.  A superuser calling rollup(), a pg_cron job or a
 * background worker therefore never rolls up as a superuser.
 *
 *-------------------------------------------------------------------------
 */
#include "segroll.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"

static Datum
run_as_owner(FunctionCallInfo fcinfo, bool rebuild)
{
	text	   *name;
	Oid			owner;
	bool		isnull;
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
	Datum		args[2];
	Oid			types[2] = {TEXTOID, INT8OID};
	char		nulls[2] = {' ', ' '};
	int64		result;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("segmentation name must not be null")));
	name = PG_GETARG_TEXT_PP(0);

	SPI_connect();
	args[0] = PointerGetDatum(name);
	SPI_execute_with_args("SELECT owner FROM segroll.segmentation WHERE name OPERATOR(pg_catalog.=) $1",
						  1, types, args, NULL, true, 1);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("segmentation \"%s\" does not exist", text_to_cstring(name))));
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!is_member_of_role(GetUserId(), owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s segmentation \"%s\"",
						rebuild ? "rebuild" : "roll up", text_to_cstring(name)),
				 errhint("Only members of its owner role %s may do so.",
						 GetUserNameFromId(owner, false))));

	/* errors restore the user and the settings when the transaction aborts */
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	if (rebuild)
		SPI_execute_with_args("SELECT segroll._rebuild($1)", 1, types, args, NULL, false, 1);
	else
	{
		if (PG_ARGISNULL(1))
			nulls[1] = 'n';
		else
			args[1] = PG_GETARG_DATUM(1);
		SPI_execute_with_args("SELECT segroll._rollup($1, $2)", 2, types, args, nulls, false, 1);
	}
	result = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	SPI_finish();
	PG_RETURN_INT64(result);
}

PG_FUNCTION_INFO_V1(segroll_rollup);
Datum
segroll_rollup(PG_FUNCTION_ARGS)
{
	return run_as_owner(fcinfo, false);
}

PG_FUNCTION_INFO_V1(segroll_rebuild);
Datum
segroll_rebuild(PG_FUNCTION_ARGS)
{
	return run_as_owner(fcinfo, true);
}
