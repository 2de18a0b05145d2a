/*-------------------------------------------------------------------------
 *
 * capture.c
 *	  The wait phase of exactly-once change capture.
 *
 * Every source row gets a value from its source's capture sequence (an
 * identity column, CACHE 1) while its writer holds RowExclusiveLock on the
 * source.  A roll-up reads the sequence's last value U, then waits here
 * until every transaction that held a lock conflicting with ShareLock on the
 * source at that moment has ended.  Any transaction that obtained a value
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
	VirtualTransactionId *holders;
	int			waited = 0;
	AclResult	acl;

	if (!OidIsValid(get_rel_relkind(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, get_relkind_objtype(get_rel_relkind(relid)), get_rel_name(relid));

	SET_LOCKTAG_RELATION(tag, MyDatabaseId, relid);
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
	PG_RETURN_INT32(waited);
}
