# segroll — PGXS build
EXTENSION  = segroll
MODULE_big = segroll
PGFILEDESC = "segroll - traceable segment aggregates"

OBJS = \
	src/segroll.o \
	src/segment_codec.o \
	src/segment_numeric.o \
	src/segment.o \
	src/segment_state.o \
	src/segment_agg.o \
	src/segment_expanded.o \
	src/segment_ops.o \
	src/segment_distinct.o \
	src/capture.o \
	src/worker.o \
	src/rollup.o \
	src/trace.o

# The SQL surface is kept in one file per concept (docs/architecture.md):
#   sql/install/   objects created once: the type, the catalog, its policies
#   sql/routines/  functions, views, roles and privileges; CREATE OR REPLACE
#                  only, so that every update re-applies them all
#   sql/updates/   what an update changes besides the routines
# The install script of EXTVERSION and the update script from the previous
# version are assembled from them; the scripts of released versions are
# kept as they were released.
EXTVERSION  = 0.5.0
PREVVERSION = 0.4.0

INSTALL_SQL = \
	sql/install/schema_check.sql \
	sql/install/segment_type.sql \
	sql/install/dhash_type.sql \
	sql/install/catalog.sql \
	sql/install/node_progress.sql \
	sql/install/compiler_type.sql

ROUTINE_SQL = \
	sql/routines/roles.sql \
	sql/routines/arguments.sql \
	sql/routines/cells_schema.sql \
	sql/routines/segment.sql \
	sql/routines/distinct.sql \
	sql/routines/owner.sql \
	sql/routines/history.sql \
	sql/routines/capture.sql \
	sql/routines/distributed.sql \
	sql/routines/compiler.sql \
	sql/routines/caller_values.sql \
	sql/routines/lineage.sql \
	sql/routines/apply_sql.sql \
	sql/routines/build_sql.sql \
	sql/routines/upsert_sql.sql \
	sql/routines/definition.sql \
	sql/routines/source_ddl.sql \
	sql/routines/rollup.sql \
	sql/routines/metrics.sql \
	sql/routines/trace.sql \
	sql/routines/reconcile.sql \
	sql/routines/period_close.sql \
	sql/routines/live.sql \
	sql/routines/anomalies.sql \
	sql/routines/reference.sql \
	sql/routines/versions.sql \
	sql/routines/estimate.sql

# after the routines, which the policies call
POLICY_SQL = sql/install/policies.sql
PRIVILEGE_SQL = sql/routines/privileges.sql

# before the routines, and (.post) after them
UPDATE_SQL = sql/updates/$(PREVVERSION)--$(EXTVERSION).sql
# objects created once that EXTVERSION adds: the update creates them as the
# install script does, after UPDATE_SQL and before the routines
UPDATE_NEW_SQL = sql/install/dhash_type.sql sql/install/node_progress.sql
UPDATE_POST_SQL = $(wildcard sql/updates/$(PREVVERSION)--$(EXTVERSION).post.sql)

DATA_built = sql/segroll--$(EXTVERSION).sql sql/segroll--$(PREVVERSION)--$(EXTVERSION).sql
DATA = $(filter-out $(DATA_built),$(wildcard sql/segroll--*.sql))

REGRESS = segment_io segment_bad_input segment_agg segment_ops segment_parallel segment_copy rollup trace trace_fast close_period resegment versions estimate grains lineage_blocks sources time_types identifiers arguments keys live anomalies anomaly_history distinct build extreme_counts one_row_form upsert_window caller_checks
REGRESS_OPTS = --inputdir=test --load-extension=segroll

PG_CPPFLAGS = -I$(srcdir)/src
SHLIB_LINK = -lzstd

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/segroll--$(EXTVERSION).sql: $(INSTALL_SQL) $(ROUTINE_SQL) $(POLICY_SQL) $(PRIVILEGE_SQL) Makefile
	{ printf '%s\n\n%s\n' '/* segroll $(EXTVERSION), assembled by make from sql/install and sql/routines: edit those */' \
		'\echo Use "CREATE EXTENSION segroll" to load this file. \quit'; \
	  for f in $(INSTALL_SQL) $(ROUTINE_SQL) $(POLICY_SQL) $(PRIVILEGE_SQL); do \
		printf '\n/* ==================================================== %s */\n\n' "$$f"; cat "$$f"; done; } > $@

sql/segroll--$(PREVVERSION)--$(EXTVERSION).sql: $(UPDATE_SQL) $(UPDATE_NEW_SQL) $(ROUTINE_SQL) $(UPDATE_POST_SQL) $(PRIVILEGE_SQL) Makefile
	{ printf '%s\n\n%s\n' '/* segroll $(PREVVERSION) -> $(EXTVERSION), assembled by make from sql/updates and sql/routines: edit those */' \
		'\echo Use "ALTER EXTENSION segroll UPDATE TO '"'"'$(EXTVERSION)'"'"'" to load this file. \quit'; \
	  for f in $(UPDATE_SQL) $(UPDATE_NEW_SQL) $(ROUTINE_SQL) $(UPDATE_POST_SQL) $(PRIVILEGE_SQL); do \
		printf '\n/* ==================================================== %s */\n\n' "$$f"; cat "$$f"; done; } > $@

# Isolation specs and TAP tests live under test/; test/run.sh drives them.

# PGXS does not track header dependencies on Debian builds.
$(OBJS): src/segroll.h src/segment_codec.h
