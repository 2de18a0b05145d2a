#!/usr/bin/env bash
# segroll demo:   bash demo/run.sh
#
# Works as root on a fresh Debian 12 machine, and again on the same machine:
#   1. installs the Debian packages segroll needs (apt-get; skipped when they
#      are all installed, or with SEGROLL_SKIP_APT=1);
#   2. builds segroll in a copy of the build files (Makefile, segroll.control,
#      src/, sql/) and installs it into PostgreSQL 15 (make, make install);
#   3. starts a throw-away PostgreSQL 15 cluster as the postgres user in a
#      temporary directory (unix socket only, no TCP port), removed on exit;
#   4. runs demo/01_sample_data.sql .. demo/09_distinct.sql in it: loads
#      sample sales and an item master with a few items missing, defines a
#      segmentation (segroll.create_segmentation, with backfill), ingests
#      more rows, late rows and corrections, rolls them up (segroll.rollup),
#      checks a month x brand report from the BI view against the raw rows,
#      shows the unmapped rows, traces one cell to its source rows and checks
#      its checksum, audits, shows a live figure moving before a roll-up
#      (the <name>_live view) and an injected wrong amount flagged by
#      segroll.anomalies().
# As another user it needs the packages already installed and write access
# to PostgreSQL's directories for make install.
#
# Environment:
#   SEGROLL_SKIP_APT=1    don't touch apt
#   SEGROLL_KEEP_DEMO=1   leave the cluster running and the directory in
#                         place; the script prints how to connect
#   SEGROLL_PG_CFLAGS     compiler flags for the build (default: -Wall)
#   SEGROLL_TMPDIR=DIR    where the temporary directory goes (default /tmp)
#
# Uses test/lib.sh for packages, build and cluster handling.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"

# A user's build: warnings shown, not errors, and no assertions (test/lib.sh
# defaults to the CI flags, -Werror -DUSE_ASSERT_CHECKING).
SEGROLL_PG_CFLAGS="${SEGROLL_PG_CFLAGS:--Wall}"
# shellcheck source=test/lib.sh
. "$ROOT/test/lib.sh"

PORT=54340
TMP_BASE="${SEGROLL_TMPDIR:-/tmp}"
W=""

# Nothing from the caller's environment may point psql at another server;
# initdb needs a locale that exists (C.UTF-8 is part of glibc).
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE \
	PGOPTIONS PGDATA PGSSLMODE PGAPPNAME
export LC_ALL=C.UTF-8 LANG=C.UTF-8

say() {
	printf '\n### %s\n' "$*"
}

# Stop and remove demo directories of earlier runs that were killed before
# their own cleanup could run.
clean_stale() {
	local d pid
	for d in "$TMP_BASE"/segroll-demo.*; do
		[ -d "$d" ] || continue
		pid="$(cat "$d/runner.pid" 2>/dev/null || true)"
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			continue
		fi
		segroll_stop_cluster "$d/pg" || true
		rm -rf "$d"
	done
}

# shellcheck disable=SC2317  # invoked by trap
cleanup() {
	local rc=$?
	if [ -n "$W" ] && [ -d "$W" ]; then
		if [ "${SEGROLL_KEEP_DEMO:-0}" = 1 ] && [ "$rc" -eq 0 ]; then
			rm -f "$W/runner.pid"
			echo
			echo "The demo cluster is still running (SEGROLL_KEEP_DEMO=1). Connect with:"
			echo "  runuser -u postgres -- $SEGROLL_PGBIN/psql -h $W/pg -p $PORT -U postgres"
			echo "Stop and remove it with (the next demo run also does this):"
			echo "  runuser -u postgres -- $SEGROLL_PGBIN/pg_ctl -D $W/pg/data stop; rm -rf $W"
		else
			segroll_stop_cluster "$W/pg" || true
			if [ "$rc" -ne 0 ] && [ -f "$W/pg/server.log" ]; then
				echo "---- last lines of the server log ----" >&2
				tail -n 20 "$W/pg/server.log" >&2
			fi
			rm -rf "$W"
		fi
	fi
	if [ "$rc" -ne 0 ]; then
		echo "demo FAILED (exit status $rc)" >&2
	fi
	exit "$rc"
}

# run_sql FILE: one demo step, read by psql from standard input (so the
# postgres user needs no access to this tree).
run_sql() {
	segroll_psql "$W/pg" "$PORT" -d postgres -q -v ON_ERROR_STOP=1 -f - <"$1"
}

main() {
	local start=$SECONDS

	say "1/4  packages"
	segroll_install_packages

	mkdir -p "$TMP_BASE"
	clean_stale
	W="$(mktemp -d "$TMP_BASE/segroll-demo.XXXXXX")"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	echo "$$" >"$W/runner.pid"
	chmod 755 "$W"

	say "2/4  build and install segroll (make && make install)"
	# Only what the build reads is copied: the tree stays untouched.
	mkdir "$W/src"
	tar -C "$ROOT" --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
		-cf - Makefile segroll.control src sql | tar -C "$W/src" -xf -
	segroll_build_install "$W/src"

	say "3/4  throw-away PostgreSQL 15 cluster in $W/pg"
	segroll_start_cluster "$W/pg" "$PORT"
	segroll_psql "$W/pg" "$PORT" -d postgres -Atq \
		-c "SELECT 'server: ' || version()" \
		-c "CREATE EXTENSION segroll" \
		-c "SELECT 'extension: segroll ' || extversion FROM pg_extension WHERE extname = 'segroll'"

	say "4/4  the demo (SQL in demo/*.sql)"
	local f
	for f in "$HERE"/0[1-9]_*.sql; do
		echo
		echo "---- $(basename "$f")"
		run_sql "$f"
	done

	echo
	echo "demo finished in $((SECONDS - start))s"
}

main "$@"
