/*-------------------------------------------------------------------------
 *
 * capture.c
 *	  Exactly-once change capture: the numbering of row versions, and the
 *	  wait for writers; what the event triggers on sources need in C.
 *
 * Every source row version gets a value from its source's capture sequence
 * (CACHE 1, by the trigger capture_number below) while its writer holds
 * RowExclusiveLock on the source (on a partitioned source: on a
 * partition).  A roll-up reads the sequence's last value U (under the
 * sequence's buffer lock, segroll._capture_last: never a number not given
 * yet), then waits here until every transaction that held a lock
 * conflicting with ShareLock on the source at that moment has ended.  Any transaction that obtained a value
 * <= U held its lock before U was read, so afterwards every value <= U
 * belongs to a committed or aborted transaction, and a new snapshot sees
 * exactly the committed ones.  This is the wait of CREATE INDEX
 * CONCURRENTLY (WaitForLockers), except that VACUUM and autovacuum, which
 * conflict with ShareLock but never write rows, are not waited for.
 *
 *-------------------------------------------------------------------------
 */
#include "segroll.h"

#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/sinvaladt.h"
#include "utils/acl.h"
#include "catalog/objectaddress.h"
#include "utils/lsyscache.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/namespace.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/rel.h"

/* Is the backend running vxid a (auto)vacuum that cannot add rows? */
static bool
vxid_is_vacuum(VirtualTransactionId vxid)
{
	PGPROC	   *proc = BackendIdGetProc(vxid.backendId);
	bool		result = false;

	if (proc == NULL)
		return false;
	LWLockAcquire(ProcArrayLock, LW_SHARED);
	if (proc->backendId == vxid.backendId && proc->lxid == vxid.localTransactionId)
		result = (proc->statusFlags & (PROC_IN_VACUUM | PROC_IS_AUTOVACUUM)) != 0;
	LWLockRelease(ProcArrayLock);
	return result;
}

/*
 * segroll.wait_for_writers(regclass): returns once every transaction that
 * could still write rows into the relation when it was called has ended.
 * Returns the number of transactions waited for.
 */
PG_FUNCTION_INFO_V1(segroll_wait_for_writers);
Datum
segroll_wait_for_writers(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	LOCKTAG		tag;
	List	   *relids;
	ListCell   *lc;
	int			waited = 0;
	AclResult	acl;

	if (!OidIsValid(get_rel_relkind(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, get_relkind_objtype(get_rel_relkind(relid)), get_rel_name(relid));

	/*
	 * A writer into a partition locks the partition, not the partitioned
	 * table, so the lockers of every partition (at any depth) are waited
	 * for.  A partition attached after this list was taken was attached by
	 * a transaction that held a lock conflicting with ShareLock on the
	 * parent: it is waited for, and the rows its partition brought are
	 * numbered after U (_number_attached).
	 */
	relids = find_all_inheritors(relid, NoLock, NULL);
	foreach(lc, relids)
	{
		VirtualTransactionId *holders;

		SET_LOCKTAG_RELATION(tag, MyDatabaseId, lfirst_oid(lc));
		holders = GetLockConflicts(&tag, ShareLock, NULL);
		for (; VirtualTransactionIdIsValid(*holders); holders++)
		{
			if (vxid_is_vacuum(*holders))
				continue;
			/* shows as wait event Lock/virtualxid, like CREATE INDEX CONCURRENTLY */
			(void) VirtualXactLock(*holders, true);
			CHECK_FOR_INTERRUPTS();
			waited++;
		}
	}
	PG_RETURN_INT32(waited);
}

/* The OID the query returns in its first row and column, or InvalidOid. */
static Oid
query_oid(const char *sql, int nargs, Oid *argtypes, Datum *args)
{
	Oid			result = InvalidOid;
	bool		isnull;
	int			rc;

	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	rc = SPI_execute_with_args(sql, nargs, argtypes, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 1)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			result = DatumGetObjectId(d);
	}
	SPI_finish();
	return result;
}

/*
 * Citus (issue 15, docs/citus.md).  The rows of a distributed source live in
 * shards, tables named <table>_<shard id> on the nodes, to which Citus gives
 * the source's triggers.  The distributed table a shard belongs to is found
 * in Citus's metadata (every node has it); InvalidOid when relid is not a
 * shard, or Citus is not installed in this database.
 */
static Oid
citus_table_of_shard(Oid relid)
{
	const char *name = get_rel_name(relid);
	const char *digits = name ? strrchr(name, '_') : NULL;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1];
	Oid			table;

	if (digits == NULL || digits[1] == '\0' || strspn(digits + 1, "0123456789") != strlen(digits + 1) ||
		strlen(digits + 1) > 18 ||
		!OidIsValid(get_relname_relid("pg_dist_shard", PG_CATALOG_NAMESPACE)))
		return InvalidOid;
	args[0] = Int64GetDatum(strtoi64(digits + 1, NULL, 10));
	table = query_oid("SELECT s.logicalrelid FROM pg_catalog.pg_dist_shard s"
					  " WHERE s.shardid OPERATOR(pg_catalog.=) $1", 1, argtypes, args);
	/* a shard is in its table's schema */
	if (!OidIsValid(table) || get_rel_namespace(table) != get_rel_namespace(relid))
		return InvalidOid;
	return table;
}

/*
 * The capture sequence of a distributed source on a node that is not the
 * coordinator.  Citus keeps a copy of the sequence on every node, because
 * segroll_seq's default calls it (distributed.sql), and each node's copy
 * draws from a range of 2^48 numbers of its own; but there it is not OWNED
 * BY the column (Citus refuses to alter a distributed sequence).  It is the
 * sequence that segroll_seq's default depends on, of a table that Citus
 * distributes.
 */
static Oid
citus_capture_sequence_of(Oid table, AttrNumber attnum)
{
	Oid			argtypes[2] = {OIDOID, INT2OID};
	Datum		args[2] = {ObjectIdGetDatum(table), Int16GetDatum(attnum)};

	if (!OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE)) ||
		!OidIsValid(query_oid("SELECT p.logicalrelid FROM pg_catalog.pg_dist_partition p"
							  " WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1", 1, argtypes, args)))
		return InvalidOid;
	return query_oid("SELECT d.refobjid FROM pg_catalog.pg_attrdef a"
					 " JOIN pg_catalog.pg_depend d"
					 "   ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_attrdef'::pg_catalog.regclass"
					 "  AND d.objid OPERATOR(pg_catalog.=) a.oid"
					 "  AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
					 " JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) d.refobjid"
					 "  AND c.relkind OPERATOR(pg_catalog.=) 'S'"
					 " WHERE a.adrelid OPERATOR(pg_catalog.=) $1 AND a.adnum OPERATOR(pg_catalog.=) $2",
					 2, argtypes, args);
}

/*
 * The numbering of row versions.
 *
 * A source's capture column segroll_seq is a plain int8 column: adding it
 * with a constant default does not rewrite the table, and every row that was
 * there before it gets that default, 1, the number of "rows before capture"
 * (the capture sequence gives 2 and up).  From then on the trigger
 * capture_number (BEFORE INSERT OR UPDATE FOR EACH ROW, ENABLE ALWAYS) gives
 * each new row version the next number, whatever the statement said: an
 * INSERT ... SELECT * that copies numbers from elsewhere cannot pass rows off
 * as already rolled up.  On a partitioned source it is cloned to every
 * partition, present and future.
 *
 * The capture sequence is the one owned by (OWNED BY) the segroll_seq
 * column of the source: of the relation itself, or of the partitioned table
 * at the root of its tree.  It is found through pg_depend, not named in the
 * trigger, so that the trigger survives pg_dump and restore (new OIDs) and
 * renames, and cannot be pointed at another sequence.  It is read without a
 * permission check: whoever may write into the source may number its rows.
 * A shard of a Citus-distributed source, on its node, has that node's copy
 * of its table's sequence (citus_capture_sequence_of).
 */

static Oid
capture_sequence_of(Oid relid)
{
	Oid			root = relid;
	Oid			shell;
	AttrNumber	attnum;
	List	   *owned;
	ListCell   *lc;

	if (get_rel_relispartition(relid))
	{
		List	   *ancestors = get_partition_ancestors(relid);

		root = llast_oid(ancestors);
		list_free(ancestors);
	}
	attnum = get_attnum(root, "segroll_seq");
	if (attnum != InvalidAttrNumber)
	{
		owned = getOwnedSequences(root);
		foreach(lc, owned)
		{
			Oid			table;
			int32		column;

			if (sequenceIsOwned(lfirst_oid(lc), DEPENDENCY_AUTO, &table, &column) &&
				table == root && column == attnum)
				return lfirst_oid(lc);
		}
		/* a shard of a distributed source, or such a source on a worker */
		shell = citus_table_of_shard(root);
		if (!OidIsValid(shell))
			shell = root;
		attnum = get_attnum(shell, "segroll_seq");
		if (attnum != InvalidAttrNumber)
		{
			Oid			seq = citus_capture_sequence_of(shell, attnum);

			if (OidIsValid(seq))
				return seq;
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("\"%s\" has no capture sequence", get_rel_name(relid)),
			 errdetail("The sequence owned by its column segroll_seq numbers its rows."),
			 errhint("Capture triggers are created by segroll.create_segmentation.")));
	return InvalidOid;			/* keep compiler quiet */
}

/* segroll._capture_sequence(regclass): the capture sequence of a source or of a partition of one */
PG_FUNCTION_INFO_V1(segroll_capture_sequence);
Datum
segroll_capture_sequence(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(capture_sequence_of(PG_GETARG_OID(0)));
}

/*
 * The last trigger and relation capture_number looked the sequence and the
 * column up for (an attnum never changes while the trigger exists: dropping
 * the column drops the capture, and a new capture has a new trigger).
 */
static Oid	cached_trigger = InvalidOid;
static Oid	cached_relation = InvalidOid;
static Oid	cached_sequence = InvalidOid;
static int	cached_attnum = 0;

PG_FUNCTION_INFO_V1(segroll_capture_number);
Datum
segroll_capture_number(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Oid			relid;
	TupleDesc	tupdesc;
	HeapTuple	tuple;
	int			attnum;
	Datum		value;
	bool		isnull = false;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("capture_number() was not called by the trigger manager")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) || !TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) || TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("capture_number() must be fired BEFORE INSERT OR UPDATE FOR EACH ROW")));
	relid = RelationGetRelid(trigdata->tg_relation);
	tupdesc = RelationGetDescr(trigdata->tg_relation);
	if (trigdata->tg_trigger->tgoid != cached_trigger || relid != cached_relation)
	{
		cached_trigger = InvalidOid;
		attnum = SPI_fnumber(tupdesc, "segroll_seq");
		if (attnum <= 0 || TupleDescAttr(tupdesc, attnum - 1)->atttypid != INT8OID)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("\"%s\" has no bigint column \"segroll_seq\"",
							RelationGetRelationName(trigdata->tg_relation))));
		cached_sequence = capture_sequence_of(relid);
		cached_attnum = attnum;
		cached_trigger = trigdata->tg_trigger->tgoid;
		cached_relation = relid;
	}
	attnum = cached_attnum;

	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple : trigdata->tg_trigtuple;
	value = Int64GetDatum(nextval_internal(cached_sequence, false));
	PG_RETURN_POINTER(heap_modify_tuple_by_cols(tuple, tupdesc, 1, &attnum, &value, &isnull));
}

/*
 * Rows that enter a source without being written through it (the rows of a
 * table attached as a partition) are numbered by an UPDATE that the
 * numbering trigger above turns into fresh numbers.  Their old versions were
 * never rolled up, so the capture must not log them: while this backend's
 * current transaction numbers rows, _logging_on() is false, and the WHEN
 * clause of the triggers that log old versions skips them.
 */
static LocalTransactionId numbering_lxid = InvalidLocalTransactionId;

PG_FUNCTION_INFO_V1(segroll_logging_on);
Datum
segroll_logging_on(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(numbering_lxid != MyProc->lxid);
}

/*
 * segroll._number_rows(regclass, limit int8): gives every row of a table (a
 * partition just attached to a source) a fresh number, without logging old
 * versions; with a limit, at most that many of the rows numbered 1 (rows
 * there before the capture, which no segmentation has rolled up yet).
 * Only the table's owner may: the owner could as well disable the capture
 * triggers.  Triggers that the UPDATE fires and that write into other
 * sources are not logged either while it runs.
 */
PG_FUNCTION_INFO_V1(segroll_number_rows);
Datum
segroll_number_rows(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char		relkind;
	StringInfoData sql;
	int			rc;
	uint64		numbered;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"rel\" of _number_rows must not be null")));
	relid = PG_GETARG_OID(0);
	relkind = get_rel_relkind(relid);
	if (relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("relation with OID %u is not a table", relid)));
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(relid));

	initStringInfo(&sql);
	appendStringInfo(&sql, "UPDATE %s s SET segroll_seq = 0",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												get_rel_name(relid)));
	if (!PG_ARGISNULL(1))
		appendStringInfo(&sql, " WHERE s.ctid OPERATOR(pg_catalog.=) ANY (ARRAY("
						 "SELECT x.ctid FROM %s x WHERE x.segroll_seq OPERATOR(pg_catalog.=) 1 LIMIT " INT64_FORMAT "))",
						 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
													get_rel_name(relid)),
						 Max(PG_GETARG_INT64(1), 0));
	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	numbering_lxid = MyProc->lxid;
	PG_TRY();
	{
		rc = SPI_execute(sql.data, false, 0);
		if (rc != SPI_OK_UPDATE)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
		numbered = SPI_processed;
	}
	PG_FINALLY();
	{
		numbering_lxid = InvalidLocalTransactionId;
	}
	PG_END_TRY();
	SPI_finish();
	PG_RETURN_INT64((int64) numbered);
}

/* segroll._in_current_xact(xid): was xid assigned by this transaction or one of its subtransactions? */
PG_FUNCTION_INFO_V1(segroll_in_current_xact);
Datum
segroll_in_current_xact(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(TransactionIdIsCurrentTransactionId(DatumGetTransactionId(PG_GETARG_DATUM(0))));
}

/*
 * segroll._creating_extension(): is an extension script running?  The event
 * triggers leave what such a script does alone: an update script converts
 * sources itself, before the privileges its routines need are granted.
 */
PG_FUNCTION_INFO_V1(segroll_creating_extension);
Datum
segroll_creating_extension(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(creating_extension);
}

/* Is the schema called segroll the extension's own?  (pg_extension has no syscache in 15) */
static bool
extension_schema_is_segroll(void)
{
	Oid			nsp = get_namespace_oid("segroll", true);
	bool		same = false;
	bool		isnull;
	int			rc;

	if (!OidIsValid(nsp))
		return false;
	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	rc = SPI_execute("SELECT e.extnamespace FROM pg_catalog.pg_extension e"
					 " WHERE e.extname OPERATOR(pg_catalog.=) 'segroll'", true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 1)
		same = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) == nsp;
	SPI_finish();
	return same;
}

/*
 * segroll._guard_alter(): event trigger at ddl_command_start of ALTER TABLE.
 * Dropping a column a segmentation uses (or the capture column
 * segroll_seq), or changing its type, is refused before PostgreSQL starts
 * on it, with an error naming the segmentation
 * (PostgreSQL would refuse too, naming only the segmentation's unmapped
 * view; with CASCADE, _guard_drop catches the drop).  Does
 * nothing while the schema called segroll is not the extension's (see
 * _follow_ddl) or during an extension script.
 */
PG_FUNCTION_INFO_V1(segroll_guard_alter);
Datum
segroll_guard_alter(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	AlterTableStmt *stmt;
	Oid			relid;
	ListCell   *lc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("_guard_alter() was not called by the event trigger manager")));
	trigdata = (EventTriggerData *) fcinfo->context;
	if (!IsA(trigdata->parsetree, AlterTableStmt) || creating_extension)
		PG_RETURN_VOID();
	stmt = (AlterTableStmt *) trigdata->parsetree;
	if (!extension_schema_is_segroll())
		PG_RETURN_VOID();
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid))
		PG_RETURN_VOID();
	if (get_rel_relispartition(relid))
	{
		List	   *ancestors = get_partition_ancestors(relid);

		relid = llast_oid(ancestors);
		list_free(ancestors);
	}

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);
		Oid			argtypes[2] = {OIDOID, TEXTOID};
		Datum		args[2];
		int			rc;

		if ((cmd->subtype != AT_AlterColumnType && cmd->subtype != AT_DropColumn) || cmd->name == NULL)
			continue;
		if ((rc = SPI_connect()) != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
		args[0] = ObjectIdGetDatum(relid);
		args[1] = CStringGetTextDatum(cmd->name);
		rc = SPI_execute_with_args(
			"SELECT s.name FROM segroll.segmentation s"
			" WHERE s.source OPERATOR(pg_catalog.=) $1::pg_catalog.regclass"
			"   AND $2 OPERATOR(pg_catalog.=) ANY (ARRAY[s.key_column, s.time_column, 'segroll_seq']::pg_catalog.text[]"
			"       OPERATOR(pg_catalog.||) s.measures::pg_catalog.text[]"
			"       OPERATOR(pg_catalog.||) ARRAY(SELECT COALESCE(d OPERATOR(pg_catalog.->>) 'column', d OPERATOR(pg_catalog.->>) 'on')"
			"                                     FROM pg_catalog.jsonb_array_elements(s.dimensions) d))"
			" ORDER BY s.name LIMIT 1",
			2, argtypes, args, NULL, true, 1);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
		if (SPI_processed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("cannot %s column \"%s\" of %s: segmentation \"%s\" uses it",
							cmd->subtype == AT_DropColumn ? "drop" : "change the type of",
							cmd->name,
							quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
													   get_rel_name(relid)),
							SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
					 cmd->subtype == AT_DropColumn
					 ? errhint("Drop the segmentation first (segroll.drop_segmentation), or keep the column.")
					 : errhint("Drop the segmentation, change the column, and create the segmentation again.")));
		SPI_finish();
	}
	PG_RETURN_VOID();
}

/*
 * segroll._guard_extension(): event trigger at ddl_command_start of DROP
 * EXTENSION and ALTER EXTENSION.  When the command is about segroll, it
 * takes segroll.progress in ACCESS EXCLUSIVE mode before the command takes
 * anything else.  A roll-up (rollup.c) takes segroll.progress first, so the
 * command waits for running roll-ups, and roll-ups that start meanwhile
 * wait for it holding nothing of segroll's: without this, DROP EXTENSION
 * locks the catalog tables in its own order (segroll.source before
 * segroll.segmentation) while a roll-up holds the segmentation and then
 * reads the source, and one of them is cancelled as a deadlock.
 */
PG_FUNCTION_INFO_V1(segroll_guard_extension);
Datum
segroll_guard_extension(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	Node	   *parsetree;
	bool		ours = false;
	Oid			nsp;
	Oid			progress;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("_guard_extension() was not called by the event trigger manager")));
	trigdata = (EventTriggerData *) fcinfo->context;
	parsetree = trigdata->parsetree;
	if (IsA(parsetree, DropStmt) && ((DropStmt *) parsetree)->removeType == OBJECT_EXTENSION)
	{
		ListCell   *lc;

		foreach(lc, ((DropStmt *) parsetree)->objects)
		{
			if (strcmp(strVal(lfirst(lc)), "segroll") == 0)
				ours = true;
		}
	}
	else if (IsA(parsetree, AlterExtensionStmt))
		ours = strcmp(((AlterExtensionStmt *) parsetree)->extname, "segroll") == 0;
	if (!ours || !extension_schema_is_segroll())
		PG_RETURN_VOID();
	nsp = get_namespace_oid("segroll", false);
	progress = get_relname_relid("progress", nsp);
	if (OidIsValid(progress))
		LockRelationOid(progress, AccessExclusiveLock);
	PG_RETURN_VOID();
}
