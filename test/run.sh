#!/usr/bin/env bash
# Runs segroll's whole test suite:   bash test/run.sh
#
# Works as root on a fresh Debian 12 (installs what it needs with apt-get)
# and again on the same machine.  As root, the server-side steps run as the
# `postgres` user in a copy of the tree; as another user they run as that
# user, and the packages must already be installed (make install must be able
# to write PostgreSQL's directories).
#
# Parts, each against its own throw-away server:
#   regress    REGRESS from the Makefile: test/sql/NAME.sql -> test/expected/NAME.out,
#              pg_regress --temp-instance --temp-config=test/segroll.conf
#   isolation  test/specs/NAME.spec -> test/expected/NAME.out,
#              pg_isolation_regress --temp-instance, the Makefile's EXTENSION
#              created in the test database
#              and again with segroll.inline_lineage_limit = 2 (iso-blocks),
#              so that the same specs run with cells keeping lineage in blocks
#   tap        test/t/*.pl with prove (PostgreSQL::Test::Cluster); cwd is
#              test/, SEGROLL_SRCDIR is the tree's root, logs go to
#              $TESTDIR/tmp_check/log; test/t/*_citus_*.pl run only where
#              $(pg_config --pkglibdir)/citus.so exists, and the summary says
#              "citus: skipped (...)" above its last line otherwise
#   pgtap      test/pgtap/*.sql with pg_prove; each file gets a fresh
#              database in which pgtap is already created (files may say
#              CREATE EXTENSION IF NOT EXISTS pgtap; segroll is NOT created)
#   fuzz       fuzz/replay.sh if it exists (run as postgres from the tree's
#              root; must print "replay: N passed, M failed")
# A part with nothing to run is skipped.  Counts: one per regress test, one
# per spec, one per TAP/pgTAP assertion, the replay's own counts.  The last
# line is "N passed, N failed"; the exit status is non-zero if anything
# failed, a part could not run, or no test ran at all.
#
# Environment:
#   SEGROLL_SKIP_APT=1     don't touch apt (fast local reruns)
#   SEGROLL_KEEP_TMP=1     keep the work directory even when all passed
#   SEGROLL_TMPDIR=DIR     where work directories go (default /tmp)
#   SEGROLL_ONLY="a b"     run only these parts (regress isolation tap pgtap fuzz)
#   SEGROLL_TAP_FILES=GLOB run only the TAP files test/t/GLOB.pl (e.g. "00[14]_*")
#   SEGROLL_PG_CFLAGS      override the compiler flags (see test/lib.sh)
#   SEGROLL_PGTAP_PORT=N   port of the pgtap part's server (default 54329; parallel runs)
#   SEGROLL_PGBIN=DIR      bin directory of the PostgreSQL 15 to build and test
#                          against (default /usr/lib/postgresql/15/bin); a
#                          relocated copy keeps two runs from sharing files
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=test/lib.sh
. "$ROOT/test/lib.sh"

PGXS_DIR=""              # set once PostgreSQL is installed
PG_REGRESS=""
PG_ISOLATION_REGRESS=""
PGTAP_PORT="${SEGROLL_PGTAP_PORT:-54329}"
TMP_BASE="${SEGROLL_TMPDIR:-/tmp}"
ONLY="${SEGROLL_ONLY:-regress isolation tap pgtap fuzz}"

# Nothing from the caller's environment may point the tests at another
# server, and initdb must get a locale that exists (C.UTF-8 is in glibc).
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE \
	PGOPTIONS PGDATA PGSSLMODE PGAPPNAME
export LC_ALL=C.UTF-8 LANG=C.UTF-8

PASSED=0
FAILED=0
PROBLEMS=()      # parts that could not run
SUMMARY=()       # one line per part
CITUS_LINE=""    # whether the Citus TAP tests ran (part_tap)
W=""
FINISHED=""

# ---------------------------------------------------------------- helpers

hr() {
	printf '\n======== %s ========\n' "$*"
}

# record PART PASSED FAILED [NOTE]
record() {
	PASSED=$((PASSED + $2))
	FAILED=$((FAILED + $3))
	SUMMARY+=("$(printf '  %-10s ok %-4d not ok %-4d %s' "$1" "$2" "$3" "${4:-}")")
}

skip() {
	SUMMARY+=("$(printf '  %-10s skipped: %s' "$1" "$2")")
	echo "skipped: $2"
}

# The part could not run at all: count FAILED tests, remember the part.
broken() {
	PROBLEMS+=("$1: $3")
	record "$1" 0 "$2" "COULD NOT RUN: $3"
}

want() {
	case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

# Show at most N lines of a file, with a header, for the CI log.
show() {
	local file="$1" n="${2:-200}" total
	[ -s "$file" ] || return 0
	total=$(wc -l <"$file")
	printf -- '---- %s (%d lines%s) ----\n' "$file" "$total" \
		"$([ "$total" -gt "$n" ] && echo ", last $n shown")"
	tail -n "$n" "$file"
	printf -- '---- end of %s ----\n' "$file"
}

# Crash evidence from a server log: assertion failures, signals, PANICs.
show_crashes() {
	local log
	for log in "$@"; do
		[ -f "$log" ] || continue
		if grep -qE 'TRAP:|terminated by signal|PANIC:|server process .* was terminated' "$log"; then
			echo "---- crash evidence in $log ----"
			grep -nE -B2 -A8 'TRAP:|terminated by signal|PANIC:|server process .* was terminated' "$log" | head -n 80
		fi
	done
}

# pg_regress / pg_isolation_regress output -> "PASSED FAILED".
# PG 15 prints "test NAME ... ok  12 ms" (or "     NAME ... ok" inside a
# parallel group); failures say "FAILED" or "failed (ignored)".
count_regress() {
	local log="$1" ok bad
	ok=$(grep -cE '^(test +|  +)[^ ]+ +\.\.\. ok( |$)' "$log" || true)
	bad=$(grep -cE '^(test +|  +)[^ ]+ +\.\.\. (FAILED|failed)' "$log" || true)
	echo "$ok $bad"
}

# TAP::Harness (prove, pg_prove) summary -> "PASSED FAILED".  Assertions run
# minus failed ones pass; a file that died, exited non-zero or broke its plan
# with no failed assertion counts as one failure.
count_harness() {
	perl -ne '
		sub close_file { $failed++ if $open && $dirty && !$cur; $open = 0 }
		if (/^Files=\d+, Tests=(\d+)/) { $tests += $1; $seen = 1 }
		if (/\(Wstat: (\d+).*?Tests: \d+ Failed: (\d+)\)/) {
			close_file(); $open = 1; $cur = $2; $afail += $2; $failed += $2;
			$dirty = $1 != 0; next;
		}
		if ($open) {
			if (/^\s/) { $dirty = 1 if /Parse errors|Non-zero/ } else { close_file() }
		}
		END {
			close_file();
			$failed = 1 if !$seen && !$failed;    # no summary: the run broke
			my $passed = $tests - $afail;
			printf "%d %d\n", ($passed > 0 ? $passed : 0), $failed;
		}' "$1"
}

# Stop every server left running under a directory (ours or a stale run's).
stop_servers_under() {
	local pidfile data
	while IFS= read -r pidfile; do
		data="$(dirname "$pidfile")"
		segroll_as_pg pg_ctl -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
	done < <(find "$1" -maxdepth 6 -name postmaster.pid 2>/dev/null)
}

# Remove work directories of earlier runs whose runner is gone.
clean_stale() {
	local d pid
	for d in "$TMP_BASE"/segroll-test.*; do
		[ -d "$d" ] || continue
		pid="$(cat "$d/runner.pid" 2>/dev/null || true)"
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			continue
		fi
		stop_servers_under "$d"
		rm -rf "$d"
	done
}

# shellcheck disable=SC2317  # invoked by trap
cleanup() {
	local rc=$?
	if [ -n "$W" ] && [ -d "$W" ]; then
		stop_servers_under "$W"
		if [ "$rc" -eq 0 ] && [ "${SEGROLL_KEEP_TMP:-0}" != 1 ]; then
			rm -rf "$W"
		else
			rm -f "$W/runner.pid"
			# finish() already said so, before the closing line
			[ -n "$FINISHED" ] || echo "work directory kept: $W"
		fi
	fi
	exit "$rc"
}

# Run a command as postgres with a time limit; its output goes to the
# terminal and to LOG.  Returns the command's exit status.
run_logged() {
	local log="$1" limit="$2"
	shift 2
	local rc=0
	segroll_as_pg timeout -k 30 "$limit" "$@" 2>&1 | tee "$log" || rc=${PIPESTATUS[0]}
	if [ "$rc" -eq 124 ]; then
		echo "TIMED OUT after ${limit}s: $*" | tee -a "$log"
	fi
	return "$rc"
}

# A test without expected output makes pg_regress abort the whole run, so in
# the work copy it gets an empty one: it then fails alone, and its diff shows
# everything it printed (results/NAME.out in the kept work directory).
ensure_expected() {
	local dir="$1" name
	shift
	for name in "$@"; do
		if ! compgen -G "$dir/$name.out" >/dev/null &&
			! compgen -G "$dir/${name}_[0-9].out" >/dev/null; then
			echo "MISSING expected output ${dir#"$W/src/"}/$name.out: $name will fail"
			segroll_as_pg touch "$dir/$name.out"
		fi
	done
}

# make can print any variable of the Makefile (after PGXS has added its own)
# through a second makefile holding one pattern rule.
make_var() {
	make -s --no-print-directory -C "$W/src" -f Makefile -f "$W/print.mk" \
		PG_CONFIG="$SEGROLL_PG_CONFIG" "print-$1"
}

# ---------------------------------------------------------------- parts

part_regress() {
	hr "regress (pg_regress)"
	local tests opts
	tests="$(make_var REGRESS)" || { broken regress 1 "cannot read REGRESS from Makefile"; return; }
	opts="$(make_var REGRESS_OPTS)" || opts=""
	if [ -z "$tests" ]; then
		skip regress "REGRESS is empty"
		return
	fi
	local out="$W/regress" rc=0
	segroll_as_pg mkdir -p "$out"
	# shellcheck disable=SC2086  # word list from make
	segroll_as_pg mkdir -p "$W/src/test/expected"
	ensure_expected "$W/src/test/expected" $tests
	# shellcheck disable=SC2086  # word lists from make
	(cd "$W/src" && run_logged "$W/regress.log" 1200 "$PG_REGRESS" \
		--temp-instance="$out/instance" \
		--temp-config="$W/src/test/segroll.conf" \
		--bindir="$SEGROLL_PGBIN" \
		--inputdir="$W/src/test" --outputdir="$out" \
		--encoding=UTF8 --no-locale \
		$opts $tests) || rc=$?
	local counts ok bad n
	counts="$(count_regress "$W/regress.log")"
	ok="${counts% *}" bad="${counts#* }"
	n="$(wc -w <<<"$tests")"
	if [ "$rc" -ne 0 ] || [ "$bad" -gt 0 ]; then
		show "$out/regression.diffs" 400
		show_crashes "$out/log/postmaster.log"
	fi
	if [ "$((ok + bad))" -eq 0 ]; then
		[ -s "$out/log/postmaster.log" ] || show "$out/log/initdb.log" 40
		show "$out/log/postmaster.log" 60
		broken regress "$n" "pg_regress exited $rc before running a test"
	elif [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		show "$out/log/postmaster.log" 60
		PROBLEMS+=("regress: pg_regress exited $rc")
		record regress "$ok" $((n - ok > 0 ? n - ok : 1)) "pg_regress exited $rc"
	else
		record regress "$ok" "$bad"
	fi
}

part_isolation() {
	local specs=() f
	for f in "$W"/src/test/specs/*.spec; do
		[ -e "$f" ] || continue
		specs+=("$(basename "$f" .spec)")
	done
	if [ "${#specs[@]}" -eq 0 ]; then
		hr "isolation (pg_isolation_regress)"
		skip isolation "no test/specs/*.spec"
		return
	fi
	run_isolation isolation "$W/src/test/segroll.conf" "${specs[@]}"
	# the same specs, every cell past two rows keeping its lineage in blocks
	cat "$W/src/test/segroll.conf" - >"$W/segroll-blocks.conf" <<-'EOF'
	segroll.inline_lineage_limit = 2
	segroll.lineage_block_keys = 2
	EOF
	chmod a+r "$W/segroll-blocks.conf"
	run_isolation iso-blocks "$W/segroll-blocks.conf" "${specs[@]}"
}

# run_isolation LABEL CONF SPEC...: one pg_isolation_regress run
run_isolation() {
	local label="$1" conf="$2"
	shift 2
	local specs=("$@")
	hr "$label (pg_isolation_regress, $(basename "$conf"))"
	local out="$W/$label" rc=0 ext load=()
	for ext in $(make_var EXTENSION); do
		load+=("--load-extension=$ext")
	done
	segroll_as_pg mkdir -p "$out" "$W/src/test/expected"
	ensure_expected "$W/src/test/expected" "${specs[@]}"
	(cd "$W/src/test" && run_logged "$W/$label.log" 1200 "$PG_ISOLATION_REGRESS" \
		--temp-instance="$out/instance" \
		--temp-config="$conf" \
		--bindir="$SEGROLL_PGBIN" \
		--inputdir="$W/src/test" --outputdir="$out" \
		--encoding=UTF8 --no-locale \
		"${load[@]}" "${specs[@]}") || rc=$?
	local counts ok bad n="${#specs[@]}"
	counts="$(count_regress "$W/$label.log")"
	ok="${counts% *}" bad="${counts#* }"
	if [ "$rc" -ne 0 ] || [ "$bad" -gt 0 ]; then
		show "$out/regression.diffs" 400
		show_crashes "$out/log/postmaster.log"
	fi
	if [ "$((ok + bad))" -eq 0 ]; then
		[ -s "$out/log/postmaster.log" ] || show "$out/log/initdb.log" 40
		show "$out/log/postmaster.log" 60
		broken "$label" "$n" "pg_isolation_regress exited $rc before running a spec"
	elif [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		show "$out/log/postmaster.log" 60
		PROBLEMS+=("$label: pg_isolation_regress exited $rc")
		record "$label" "$ok" $((n - ok > 0 ? n - ok : 1)) "exited $rc"
	else
		record "$label" "$ok" "$bad"
	fi
}

part_tap() {
	hr "tap (prove test/t/*.pl)"
	local files=() f
	for f in "$W"/src/test/t/${SEGROLL_TAP_FILES:-*}.pl; do
		[ -e "$f" ] && files+=("t/$(basename "$f")")
	done
	if [ "${#files[@]}" -eq 0 ]; then
		skip tap "no test/t/*.pl"
		return
	fi
	# The Citus tests (test/t/3*_citus_*.pl) skip themselves unless Citus
	# is installed for this PostgreSQL (docs/citus.md); say which it was.
	local citus_lib
	citus_lib="$("$SEGROLL_PG_CONFIG" --pkglibdir)"
	if printf '%s\n' "${files[@]}" | grep -q '_citus_'; then
		if [ -e "$citus_lib/citus.so" ]; then
			CITUS_LINE="citus: ran (citus.so in $citus_lib)"
		else
			CITUS_LINE="citus: skipped (no citus.so in $citus_lib)"
		fi
	fi
	local out="$W/tap" rc=0
	segroll_as_pg mkdir -p "$out"
	(cd "$W/src/test" && run_logged "$W/tap.log" 1800 env \
		TESTDIR="$out" \
		PG_REGRESS="$PG_REGRESS" \
		PG_CONFIG="$SEGROLL_PG_CONFIG" \
		SEGROLL_SRCDIR="$W/src" \
		PERL5LIB="$PGXS_DIR/src/test/perl:$W/src/test${PERL5LIB:+:$PERL5LIB}" \
		prove --timer "${files[@]}") || rc=$?
	local counts ok bad
	counts="$(count_harness "$W/tap.log")"
	ok="${counts% *}" bad="${counts#* }"
	if [ "$rc" -ne 0 ] || [ "$bad" -gt 0 ]; then
		# Logs of the files prove lists as failing.
		local name
		while IFS= read -r name; do
			name="$(basename "$name" .pl)"
			show "$out/tmp_check/log/regress_log_$name" 120
			for f in "$out/tmp_check/log/${name}"_*.log; do
				[ -e "$f" ] || continue
				show_crashes "$f"
				show "$f" 40
			done
		done < <(sed -nE 's/^(t\/[^ ]+\.pl) +\(Wstat.*/\1/p' "$W/tap.log")
	fi
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		bad=1
		PROBLEMS+=("tap: prove exited $rc")
	fi
	record tap "$ok" "$bad"
}

part_pgtap() {
	hr "pgtap (pg_prove test/pgtap/*.sql)"
	local files=() f
	for f in "$W"/src/test/pgtap/*.sql; do
		[ -e "$f" ] && files+=("pgtap/$(basename "$f")")
	done
	if [ "${#files[@]}" -eq 0 ]; then
		skip pgtap "no test/pgtap/*.sql"
		return
	fi
	local dir="$W/pgtap"
	if ! segroll_start_cluster "$dir" "$PGTAP_PORT" \
		"include = '$W/src/test/segroll.conf'"; then
		broken pgtap "${#files[@]}" "cluster did not start"
		return
	fi
	local ok=0 bad=0 db counts rc
	: >"$W/pgtap.log"
	for f in "${files[@]}"; do
		db="t_$(basename "$f" .sql | tr -c 'A-Za-z0-9_\n' '_')"
		rc=0
		if ! segroll_psql "$dir" "$PGTAP_PORT" -q -v ON_ERROR_STOP=1 -d postgres \
			-c "CREATE DATABASE \"$db\"" >/dev/null ||
			! segroll_psql "$dir" "$PGTAP_PORT" -q -v ON_ERROR_STOP=1 -d "$db" \
				-c "CREATE EXTENSION pgtap" >/dev/null; then
			echo "$f: could not create database $db with pgtap"
			bad=$((bad + 1))
			PROBLEMS+=("pgtap: no database for $f")
			continue
		fi
		(cd "$W/src/test" && run_logged "$W/pgtap.one.log" 600 pg_prove --timer \
			-h "$dir" -p "$PGTAP_PORT" -U postgres -d "$db" "$f") || rc=$?
		cat "$W/pgtap.one.log" >>"$W/pgtap.log"
		counts="$(count_harness "$W/pgtap.one.log")"
		ok=$((ok + ${counts% *}))
		if [ "$rc" -ne 0 ] && [ "${counts#* }" -eq 0 ]; then
			counts="${counts% *} 1"
		fi
		bad=$((bad + ${counts#* }))
	done
	if [ "$bad" -gt 0 ]; then
		show_crashes "$dir/server.log"
		show "$dir/server.log" 40
	fi
	segroll_stop_cluster "$dir" || true
	record pgtap "$ok" "$bad"
}

part_fuzz() {
	hr "fuzz (fuzz/replay.sh)"
	if [ ! -f "$W/src/fuzz/replay.sh" ]; then
		skip fuzz "no fuzz/replay.sh"
		return
	fi
	local rc=0 line ok bad
	(cd "$W/src" && run_logged "$W/fuzz.log" 1200 env \
		PG_CONFIG="$SEGROLL_PG_CONFIG" SEGROLL_SRCDIR="$W/src" \
		bash fuzz/replay.sh) || rc=$?
	line="$(grep -E '^replay: [0-9]+ passed, [0-9]+ failed' "$W/fuzz.log" | tail -n 1 || true)"
	if [ -z "$line" ]; then
		broken fuzz 1 "replay.sh exited $rc without a 'replay: N passed, M failed' line"
		return
	fi
	ok="$(sed -E 's/^replay: ([0-9]+) passed.*/\1/' <<<"$line")"
	bad="$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")"
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		bad=1
		PROBLEMS+=("fuzz: replay.sh exited $rc")
	fi
	record fuzz "$ok" "$bad"
}

# copy_tree FROM TO: the files git would commit (tracked, or untracked and
# not ignored) as they are in the work tree; without git, everything but
# .git and build output.
copy_tree() {
	local from="$1" to="$2" list
	list="$W/files.list"
	if command -v git >/dev/null 2>&1 &&
		git -C "$from" ls-files -z -co --exclude-standard >"$list.all" 2>/dev/null; then
		# files deleted in the work tree are still listed by ls-files -c
		(cd "$from" && while IFS= read -r -d '' f; do
			[ -e "$f" ] && printf '%s\0' "$f"
		done <"$list.all") >"$list"
		# a file that vanishes meanwhile (a fuzzer pruning its corpus) is no error
		tar -C "$from" --ignore-failed-read --warning=no-failed-read \
			--warning=no-file-changed --warning=no-file-removed \
			--null -T "$list" -cf - | tar -C "$to" -xf -
		# tar exits 1 for "file changed as we read it": still a usable copy
		local st=("${PIPESTATUS[@]}")
		[ "${st[0]}" -le 1 ] && [ "${st[1]}" -eq 0 ]
	else
		tar -C "$from" --exclude=./.git --exclude='*.o' --exclude='*.so' \
			--exclude='*.bc' --exclude=./results --exclude=./tmp_check \
			--exclude=./log --exclude=./regression.diffs \
			--exclude=./regression.out --exclude=./fuzz/build \
			--exclude=./bench/out -cf - . | tar -C "$to" -xf -
	fi
}

# ---------------------------------------------------------------- main

main() {
	local start=$SECONDS
	hr "setup"
	segroll_install_packages || { echo "package installation failed"; echo "0 passed, 1 failed"; exit 1; }
	PGXS_DIR="$("$SEGROLL_PG_CONFIG" --pkglibdir)/pgxs"
	PG_REGRESS="$PGXS_DIR/src/test/regress/pg_regress"
	PG_ISOLATION_REGRESS="$PGXS_DIR/src/test/isolation/pg_isolation_regress"
	local owner=postgres
	segroll_is_root || owner="$(id -un)"

	mkdir -p "$TMP_BASE"
	clean_stale
	W="$(mktemp -d "$TMP_BASE/segroll-test.XXXXXX")"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	echo "$$" >"$W/runner.pid"
	chmod 755 "$W"
	echo "work directory: $W"

	# Build in a copy, so the tree stays clean and postgres can own it.
	mkdir "$W/src" "$W/tmp"
	if ! copy_tree "$ROOT" "$W/src"; then
		record copy 0 1 "could not copy $ROOT"
		PROBLEMS+=("copy of the tree failed")
		finish "$start"
	fi
	cat >"$W/print.mk" <<'MAKE'
print-%:
	@echo $($*)
MAKE

	hr "build"
	if ! segroll_build_install "$W/src"; then
		echo "BUILD FAILED"
		record build 0 1 "build failed; nothing else ran"
		PROBLEMS+=("build failed")
		finish "$start"
	fi
	chown -R "$owner:" "$W"
	export TMPDIR="$W/tmp"

	want regress && part_regress
	want isolation && part_isolation
	want tap && part_tap
	want pgtap && part_pgtap
	want fuzz && part_fuzz
	finish "$start"
}

finish() {
	hr "summary ($((SECONDS - $1))s)"
	local l
	for l in "${SUMMARY[@]}"; do
		echo "$l"
	done
	for l in "${PROBLEMS[@]+"${PROBLEMS[@]}"}"; do
		echo "  problem: $l"
	done
	if [ "$((PASSED + FAILED))" -eq 0 ]; then
		echo "  problem: no test ran"
	fi
	local status=0
	if [ "$FAILED" -gt 0 ] || [ "${#PROBLEMS[@]}" -gt 0 ] || [ "$((PASSED + FAILED))" -eq 0 ]; then
		status=1
	fi
	if [ "$status" -ne 0 ] || [ "${SEGROLL_KEEP_TMP:-0}" = 1 ]; then
		echo "work directory kept: $W"
	fi
	FINISHED=1
	[ -n "$CITUS_LINE" ] && echo "$CITUS_LINE"
	echo "$PASSED passed, $FAILED failed"
	exit "$status"
}

main "$@"
