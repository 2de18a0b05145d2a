/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  Background workers that keep continuous segmentations rolled up.
 *
 * With shared_preload_libraries = 'segroll', the postmaster starts one
 * launcher.  The launcher connects to no database; every naptime it lists
 * the databases that accept connections and starts, within
 * segroll.max_workers, one roll-up worker per database that has none.  A
 * roll-up worker connects to its database and, every naptime, calls
 * segroll.rollup(name, segroll.batch_size) for each segmentation whose
 * schedule is 'continuous', each in its own transaction.  rollup() is the
 * one code path that pg_cron and DBAs use too: it waits for writers,
 * applies the window as the segmentation's owner and records progress, so
 * a worker and a concurrent manual roll-up never apply a change twice.
 *
 * A worker exits when its database has no continuous segmentation (or no
 * segroll); the launcher then probes that database again only after
 * segroll.probe_interval, so idle databases cost one short-lived process
 * per interval.  Workers are never restarted by the postmaster: the
 * launcher restarts them (after probe_interval) from its fresh list of
 * databases, so a terminated worker comes back, a dropped database is not
 * retried, and after a crash no database gets two workers.  A failing segmentation is retried with exponential
 * back-off (naptime * 2^failures, at most five minutes), its error is
 * recorded in segroll.progress, and the others keep going.
 *
 * The launcher runs no SQL.  A worker connects as the bootstrap superuser,
 * since rollup() acts for every owner, to databases that any role with
 * CREATEDB may own and configure; so the few statements it runs as the
 * superuser name everything schema-qualified (OPERATOR(pg_catalog.=)), its
 * session's search_path is pinned over the database's own settings
 * (pin_session_settings), and it rolls up only where segroll's schema is
 * the extension's and a superuser's (load_tasks).  See docs/security.md.
 *
 * Signals follow autoprewarm.c: SIGTERM ends the loops promptly, SIGHUP
 * reloads settings, and postmaster death ends everything (WL_EXIT_ON_PM_DEATH).
 * Workers keep no state that a crash could leave half-done: progress is
 * transactional in segroll.progress, so start-up after a crash needs no
 * repair.
 *
 *-------------------------------------------------------------------------
 */
#include "segroll.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "tcop/tcopprot.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

/* settings, defined in _PG_init (segroll.c) */
bool		segroll_enabled = true;
int			segroll_naptime_ms = 1000;
int			segroll_probe_interval_s = 10;
int			segroll_batch_size = 1000000;
int			segroll_max_workers = 4;

/* was the library loaded by shared_preload_libraries (set in the postmaster) */
static bool segroll_preloaded = false;

PGDLLEXPORT void segroll_launcher_main(Datum main_arg);
PGDLLEXPORT void segroll_worker_main(Datum main_arg);

#define SEGROLL_MAX_BACKOFF_MS	(5 * 60 * 1000)
/* advisory lock key of a database's worker: "segroll" in ASCII */
#define SEGROLL_WORKER_LOCK_KEY 32481117297667180

/*
 * Called from _PG_init when the library is loaded by
 * shared_preload_libraries: remembers that (backends inherit it from the
 * postmaster) and registers the launcher.
 */
void
segroll_worker_preload(void)
{
	BackgroundWorker worker;

	Assert(process_shared_preload_libraries_in_progress);
	segroll_preloaded = true;

	if (IsBinaryUpgrade)
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	strlcpy(worker.bgw_library_name, "segroll", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "segroll_launcher_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "segroll launcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "segroll launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/*
 * Are background workers running in this cluster, that is, was this library
 * preloaded with shared_preload_libraries?  Core says so while it loads the
 * library (process_shared_preload_libraries_in_progress, in _PG_init), which
 * is exact however the entry is spelled ('segroll', '$libdir/segroll.so')
 * and is not fooled by another library whose name contains "segroll".
 * Loaded any other way (LOAD, session_preload_libraries, the first call of
 * a segroll function), the library has no workers.
 */
bool
segroll_workers_available(void)
{
	return segroll_preloaded;
}

/* ------------------------------------------------------------ launcher */

typedef struct DbSlot
{
	Oid			dboid;
	BackgroundWorkerHandle *handle; /* NULL when no worker runs */
	TimestampTz next_start;		/* do not start before */
	bool		seen;			/* still in pg_database */
} DbSlot;

static DbSlot *slots = NULL;
static int	nslots = 0;
static int	slots_cap = 0;

static DbSlot *
slot_for(Oid dboid)
{
	int			i;

	for (i = 0; i < nslots; i++)
		if (slots[i].dboid == dboid)
			return &slots[i];
	if (nslots == slots_cap)
	{
		slots_cap = Max(16, slots_cap * 2);
		slots = slots == NULL
			? MemoryContextAllocZero(TopMemoryContext, sizeof(DbSlot) * slots_cap)
			: repalloc(slots, sizeof(DbSlot) * slots_cap);
	}
	memset(&slots[nslots], 0, sizeof(DbSlot));
	slots[nslots].dboid = dboid;
	return &slots[nslots++];
}

/* Marks the databases that accept connections as seen. */
static void
scan_databases(void)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	int			i;

	for (i = 0; i < nslots; i++)
		slots[i].seen = false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (!db->datallowconn || db->datistemplate || db->datconnlimit == -2)
			continue;
		slot_for(db->oid)->seen = true;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();

	/* forget databases that went away (their workers exit on their own) */
	for (i = 0; i < nslots;)
	{
		if (!slots[i].seen && slots[i].handle == NULL)
			slots[i] = slots[--nslots];
		else
			i++;
	}
}

static int
running_workers(void)
{
	int			i;
	int			n = 0;

	for (i = 0; i < nslots; i++)
	{
		pid_t		pid;

		if (slots[i].handle == NULL)
			continue;
		if (GetBackgroundWorkerPid(slots[i].handle, &pid) == BGWH_STOPPED)
		{
			/* it found nothing to do, failed to connect, or was stopped */
			pfree(slots[i].handle);
			slots[i].handle = NULL;
			slots[i].next_start = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
															  segroll_probe_interval_s * 1000);
			continue;
		}
		n++;
	}
	return n;
}

static void
start_workers(void)
{
	int			running = running_workers();
	TimestampTz now = GetCurrentTimestamp();
	int			i;

	for (i = 0; i < nslots && running < segroll_max_workers; i++)
	{
		DbSlot	   *slot = &slots[i];
		BackgroundWorker worker;

		if (slot->handle != NULL || !slot->seen || now < slot->next_start)
			continue;
		memset(&worker, 0, sizeof(worker));
		worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
		worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
		worker.bgw_restart_time = BGW_NEVER_RESTART;	/* the launcher restarts it */
		strlcpy(worker.bgw_library_name, "segroll", BGW_MAXLEN);
		strlcpy(worker.bgw_function_name, "segroll_worker_main", BGW_MAXLEN);
		snprintf(worker.bgw_name, BGW_MAXLEN, "segroll worker for database %u", slot->dboid);
		strlcpy(worker.bgw_type, "segroll worker", BGW_MAXLEN);
		worker.bgw_main_arg = ObjectIdGetDatum(slot->dboid);
		worker.bgw_notify_pid = MyProcPid;
		if (!RegisterDynamicBackgroundWorker(&worker, &slot->handle))
		{
			/* no free worker slot: say so once in a while, try later */
			slot->handle = NULL;
			slot->next_start = TimestampTzPlusMilliseconds(now, segroll_probe_interval_s * 1000);
			ereport(LOG,
					(errmsg("segroll launcher could not start a worker for database %u", slot->dboid),
					 errhint("Raise max_worker_processes.")));
			break;
		}
		running++;
	}
}

void
segroll_launcher_main(Datum main_arg)
{
	/* die: FATAL exit 1, so the postmaster restarts us after bgw_restart_time */
	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();

	/* shared catalogs only */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	ereport(LOG, (errmsg("segroll launcher started")));

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (segroll_enabled)
		{
			scan_databases();
			start_workers();
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 segroll_naptime_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ------------------------------------------------------------ worker */

typedef struct SegTask
{
	char	   *name;
	int			failures;
	TimestampTz retry_at;
	bool		present;
} SegTask;

static SegTask *tasks = NULL;
static int	ntasks = 0;

/*
 * Starts a transaction, connects to SPI and pushes a snapshot: what each of
 * the worker's statements runs in.  commit_spi_transaction() ends it.
 */
static void
begin_spi_transaction(void)
{
	int			rc;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if ((rc = SPI_connect()) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed: %s", SPI_result_code_string(rc));
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
commit_spi_transaction(void)
{
	int			rc;

	PopActiveSnapshot();
	if ((rc = SPI_finish()) != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed: %s", SPI_result_code_string(rc));
	CommitTransactionCommand();
}

/*
 * Reads the continuous segmentations; false if segroll is not installed
 * at 0.2.0 or later in this database.
 */
static bool
load_tasks(void)
{
	int			i;
	bool		installed;
	MemoryContext old;
	int			rc;

	for (i = 0; i < ntasks; i++)
		tasks[i].present = false;

	begin_spi_transaction();
	pgstat_report_activity(STATE_RUNNING, "segroll: reading segmentations");

	/*
	 * Everything the worker runs as the bootstrap superuser is written so
	 * that no name depends on the search_path (which is pinned anyway, see
	 * pin_session_settings): operators as OPERATOR(pg_catalog.=), functions,
	 * tables and types schema-qualified.  segroll's schema is used only if it
	 * is the extension's and a superuser owns it: a schema named segroll
	 * that another role made, or that took the name after the extension's
	 * was renamed, could hold that role's segroll.rollup().
	 */
	rc = SPI_execute("SELECT n.nspname OPERATOR(pg_catalog.=) 'segroll' AND a.rolsuper"
					 " FROM pg_catalog.pg_extension e"
					 " JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace"
					 " JOIN pg_catalog.pg_authid a ON a.oid OPERATOR(pg_catalog.=) n.nspowner"
					 " WHERE e.extname OPERATOR(pg_catalog.=) 'segroll'"
					 " AND EXISTS (SELECT FROM pg_catalog.pg_class c"
					 "             WHERE c.relnamespace OPERATOR(pg_catalog.=) n.oid"
					 "             AND c.relname OPERATOR(pg_catalog.=) 'progress')", true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
	installed = SPI_processed > 0;
	if (installed)
	{
		bool		isnull;

		if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		{
			ereport(WARNING,
					(errmsg("segroll worker does not roll up in database \"%s\"",
							get_database_name(MyDatabaseId)),
					 errdetail("The schema of extension segroll is not named segroll or is not owned by a superuser.")));
			installed = false;
		}
	}
	if (installed)
	{
		rc = SPI_execute("SELECT name FROM segroll.segmentation"
						 " WHERE schedule OPERATOR(pg_catalog.=) 'continuous' ORDER BY name",
						 true, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
		old = MemoryContextSwitchTo(TopMemoryContext);
		for (i = 0; i < (int) SPI_processed; i++)
		{
			char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
			int			j;

			for (j = 0; j < ntasks; j++)
				if (strcmp(tasks[j].name, name) == 0)
					break;
			if (j == ntasks)
			{
				tasks = tasks == NULL ? palloc0(sizeof(SegTask) * 1)
					: repalloc(tasks, sizeof(SegTask) * (ntasks + 1));
				memset(&tasks[ntasks], 0, sizeof(SegTask));
				tasks[ntasks].name = pstrdup(name);
				ntasks++;
			}
			tasks[j].present = true;
		}
		MemoryContextSwitchTo(old);
	}
	commit_spi_transaction();
	pgstat_report_activity(STATE_IDLE, NULL);

	/* drop segmentations that are gone or no longer continuous */
	for (i = 0; i < ntasks;)
	{
		if (!tasks[i].present)
		{
			pfree(tasks[i].name);
			tasks[i] = tasks[--ntasks];
		}
		else
			i++;
	}
	return installed;
}

/* Records a failed run in segroll.progress, in a transaction of its own. */
static void
record_failure(const char *name, const char *message, int failures)
{
	Datum		args[3];
	Oid			types[3] = {TEXTOID, TEXTOID, INT4OID};
	char		nulls[3] = {' ', message ? ' ' : 'n', ' '};
	int			rc;

	begin_spi_transaction();
	args[0] = CStringGetTextDatum(name);
	args[1] = message ? CStringGetTextDatum(message) : (Datum) 0;
	args[2] = Int32GetDatum(failures);
	rc = SPI_execute_with_args("UPDATE segroll.progress SET last_error = $2,"
							   " last_error_at = CASE WHEN $2 IS NULL THEN last_error_at ELSE pg_catalog.now() END,"
							   " failures = $3"
							   " WHERE name OPERATOR(pg_catalog.=) $1",
							   3, types, args, nulls, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
	commit_spi_transaction();
}

/* Runs one roll-up; returns false (with the error recorded) if it failed. */
static bool
run_task(SegTask *task)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	volatile bool ok = true;
	char	   *volatile message = NULL;

	PG_TRY();
	{
		Datum		args[2];
		Oid			types[2] = {TEXTOID, INT8OID};
		int			rc;

		begin_spi_transaction();
		pgstat_report_activity(STATE_RUNNING, task->name);
		args[0] = CStringGetTextDatum(task->name);
		args[1] = Int64GetDatum((int64) segroll_batch_size);
		rc = SPI_execute_with_args("SELECT segroll.rollup($1, $2)", 2, types, args, NULL, false, 1);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
		commit_spi_transaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		message = MemoryContextStrdup(TopMemoryContext, edata->message);
		ereport(LOG,
				(errmsg("segroll could not roll up segmentation \"%s\": %s",
						task->name, edata->message),
				 errdetail("The worker retries after %d ms.",
						   (int) Min((int64) segroll_naptime_ms << Min(task->failures + 1, 20),
									 SEGROLL_MAX_BACKOFF_MS))));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);

	if (ok)
	{
		if (task->failures > 0)
			record_failure(task->name, NULL, 0);
		task->failures = 0;
		task->retry_at = 0;
		return true;
	}
	task->failures++;
	task->retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												 Min((int64) segroll_naptime_ms << Min(task->failures, 20),
													 SEGROLL_MAX_BACKOFF_MS));
	PG_TRY();
	{
		record_failure(task->name, message, task->failures);
	}
	PG_CATCH();
	{
		/* the segmentation may be gone; the next round finds out */
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	pfree(message);
	return false;
}

/*
 * The worker's session settings, right after connecting.
 *
 * Connecting applied the settings of ALTER DATABASE ... SET, which the
 * database's owner chooses (those of ALTER ROLE for the bootstrap superuser
 * only a superuser may make): a search_path of "public, pg_catalog" would
 * make every unqualified name of the worker's SQL find the owner's
 * operators, functions and types first, and run them as the bootstrap
 * superuser; a role would make the worker act as that role.  search_path and role are set here the
 * way a client's startup options set them (PGC_S_CLIENT): that outranks the
 * database's and the role's settings and becomes the value RESET returns
 * to, while a function's own SET clause (segroll's routines, the owner's
 * functions in a roll-up) still applies within the function, as in any
 * session.  Nothing the worker runs changes them for the session: the
 * roll-up's settings are undone when run_as_owner() returns, or when its
 * transaction aborts.
 *
 * Other settings the database's owner may set (timeouts, read-only
 * transactions, DateStyle, ...) change no name resolution and run no code;
 * the worker lives with them as a manual roll-up in that database would.
 * (standard_conforming_strings and transform_null_equals change parsing,
 * but no statement here has a backslash in a literal or an "= NULL".)
 * The settings that could load code (session_preload_libraries,
 * local_preload_libraries) are not processed by background workers.
 */
static void
pin_session_settings(void)
{
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_CLIENT);
	/* not SET ROLE to whatever role the database names: the worker is itself */
	SetConfigOption("role", "none", PGC_SUSET, PGC_S_CLIENT);
	/* rollup() needs READ COMMITTED, whatever the database's default */
	SetConfigOption("default_transaction_isolation", "read committed",
					PGC_SUSET, PGC_S_OVERRIDE);
}

/* Takes this database's worker lock; false if another worker holds it. */
static bool
claim_database(void)
{
	bool		claimed;
	bool		isnull;
	int			rc;

	begin_spi_transaction();
	rc = SPI_execute("SELECT pg_catalog.pg_try_advisory_lock(" CppAsString2(SEGROLL_WORKER_LOCK_KEY) ")",
					 false, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
	claimed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	commit_spi_transaction();
	return claimed;
}

void
segroll_worker_main(Datum main_arg)
{
	Oid			dboid = DatumGetObjectId(main_arg);

	/* die: a roll-up in progress is cancelled (and rolled back) promptly */
	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();

	/* as the bootstrap superuser; rollup() does the work as each owner */
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pin_session_settings();

	/*
	 * One worker per database: a launcher restarted while its workers still
	 * run does not know them and starts another.  The session-level
	 * advisory lock is held until this worker exits.
	 */
	if (!claim_database())
		proc_exit(0);

	for (;;)
	{
		int			i;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (!segroll_enabled || !load_tasks() || ntasks == 0)
			break;				/* nothing for us here: the launcher probes later */

		for (i = 0; i < ntasks; i++)
		{
			if (tasks[i].retry_at != 0 && GetCurrentTimestamp() < tasks[i].retry_at)
				continue;
			(void) run_task(&tasks[i]);
			CHECK_FOR_INTERRUPTS();
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 segroll_naptime_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	/* exit 0: done, the launcher decides when to look again */
	proc_exit(0);
}

PG_FUNCTION_INFO_V1(segroll_workers_available_sql);
Datum
segroll_workers_available_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(segroll_workers_available());
}
