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
	src/segment_ops.o \
	src/capture.o \
	src/worker.o \
	src/rollup.o \
	src/trace.o

DATA = $(wildcard sql/segroll--*.sql)

REGRESS = segment_io segment_bad_input segment_agg segment_ops segment_parallel segment_copy rollup trace close_period resegment versions estimate
REGRESS_OPTS = --inputdir=test --load-extension=segroll

PG_CPPFLAGS = -I$(srcdir)/src
SHLIB_LINK = -lzstd

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Isolation specs and TAP tests live under test/; test/run.sh drives them.

# PGXS does not track header dependencies on Debian builds.
$(OBJS): src/segroll.h src/segment_codec.h
