# shellcheck shell=bash
# Shared helpers for segroll's test runner (test/run.sh) and demo scripts.
#
# Source it from bash:   . "$(dirname "$0")/../test/lib.sh"
# It sets no shell options of its own; every function returns non-zero on
# failure, so callers running under `set -e` stop on the first error.
#
# Functions:
#   segroll_install_packages        apt-get install what building and testing
#                                   need (root only; no-op when everything is
#                                   already installed or SEGROLL_SKIP_APT=1)
#   segroll_build_install [SRCDIR]  make + make install against PostgreSQL 15
#   segroll_start_cluster DIR PORT [SETTING ...]
#                                   initdb DIR/data as the postgres user and
#                                   start it on a unix socket in DIR only (no
#                                   TCP); each SETTING is one postgresql.conf
#                                   line, e.g. "shared_preload_libraries = 'segroll'"
#   segroll_stop_cluster DIR        stop the server started in DIR (no-op if
#                                   none is running)
#   segroll_psql DIR PORT [ARGS]    psql -X as superuser "postgres" to it
#   segroll_as_pg CMD [ARGS]        run CMD as the postgres user when we are
#                                   root (PostgreSQL refuses to run as root),
#                                   as ourselves otherwise
#
# Server logs: DIR/server.log; initdb output: DIR/initdb.log.

SEGROLL_PG_MAJOR=15
# SEGROLL_PGBIN may name another (relocated) copy of PostgreSQL 15, so that
# two test runs on one machine do not install into the same directories.
SEGROLL_PGBIN="${SEGROLL_PGBIN:-/usr/lib/postgresql/${SEGROLL_PG_MAJOR}/bin}"
SEGROLL_PG_CONFIG="${SEGROLL_PGBIN}/pg_config"
SEGROLL_LIB_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Compiler flags for the extension.  PG's own headers are clean under
# -Wextra, but two of its macros are not: PG_FUNCTION_ARGS (every V1 function
# gets `fcinfo`, unused by functions that take no argument) and SIGNAL_ARGS
# (signal handlers), and hook callbacks have fixed signatures with arguments
# we may not use -- hence -Wno-unused-parameter.  Everything else -Wextra
# finds (sign-compare in particular, which matters for a binary codec) stays
# an error.
SEGROLL_PG_CFLAGS="${SEGROLL_PG_CFLAGS:--Wall -Wextra -Wno-unused-parameter -Werror -DUSE_ASSERT_CHECKING}"

# Debian 12 package names.  There is no postgresql-contrib-15 in bookworm:
# contrib ships inside postgresql-15.  gcc alone does not pull libc6-dev
# under --no-install-recommends, so it is listed.  clang and
# libclang-rt-14-dev are for the libFuzzer corpus replay (fuzz/replay.sh).
# postgresql-15-plpgsql-check is the PL/pgSQL linter that
# test/pgtap/06_plpgsql_check.sql runs over every PL/pgSQL routine.
# postgresql-15-partman manages the partitions of test/t/160_partitioned_load.pl.
# prometheus-postgres-exporter scrapes segroll.metrics in test/t/170_prometheus_exporter.pl.
# gdb holds two backends at chosen instructions in test/t/104_window_end_gdb.pl,
# the only way to time a race between a sequence's reader and nextval().
SEGROLL_PACKAGES=(
	postgresql-15
	postgresql-server-dev-15
	postgresql-15-pgtap
	postgresql-15-cron
	postgresql-15-plpgsql-check
	postgresql-15-partman
	prometheus-postgres-exporter
	libtap-parser-sourcehandler-pgtap-perl
	libipc-run-perl
	perl
	libzstd-dev
	zstd
	gcc
	make
	libc6-dev
	clang
	libclang-rt-14-dev
	gdb
)

segroll_log() {
	printf '==> %s\n' "$*"
}

segroll_is_root() {
	[ "$(id -u)" -eq 0 ]
}

# Environment for anything run as the postgres user: PG 15's binaries first
# (/usr/local/bin may hold other pg_ctl/initdb builds), and no directories of
# root's own (pyenv, cargo) that postgres cannot read anyway.
segroll_pg_path() {
	printf '%s' "${SEGROLL_PGBIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
}

segroll_as_pg() {
	if segroll_is_root; then
		runuser -u postgres -- env PATH="$(segroll_pg_path)" "$@"
	else
		env PATH="$(segroll_pg_path)" "$@"
	fi
}

segroll_missing_packages() {
	local p status
	for p in "${SEGROLL_PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		if [ "$status" != "install ok installed" ]; then
			printf '%s\n' "$p"
		fi
	done
}

segroll_install_packages() {
	if [ "${SEGROLL_SKIP_APT:-0}" = 1 ]; then
		segroll_log "packages: skipped (SEGROLL_SKIP_APT=1)"
		return 0
	fi
	local missing=()
	mapfile -t missing < <(segroll_missing_packages)
	if [ "${#missing[@]}" -eq 0 ]; then
		segroll_log "packages: all ${#SEGROLL_PACKAGES[@]} already installed"
		return 0
	fi
	if ! segroll_is_root; then
		echo "segroll: not root, cannot install missing packages: ${missing[*]}" >&2
		return 1
	fi
	segroll_log "packages: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || return 1
	if ! apt-get install -y -qq --no-install-recommends "${SEGROLL_PACKAGES[@]}" \
		>/tmp/segroll-apt.log 2>&1; then
		tail -n 40 /tmp/segroll-apt.log >&2
		echo "segroll: apt-get install failed" >&2
		return 1
	fi
	rm -f /tmp/segroll-apt.log
	mapfile -t missing < <(segroll_missing_packages)
	if [ "${#missing[@]}" -gt 0 ]; then
		echo "segroll: still missing after apt-get install: ${missing[*]}" >&2
		return 1
	fi
}

segroll_build_install() {
	local src="${1:-$SEGROLL_LIB_ROOT}"
	segroll_log "build: make -j${SEGROLL_JOBS:-2} PG_CFLAGS=\"${SEGROLL_PG_CFLAGS}\" in $src"
	make -s -C "$src" -j"${SEGROLL_JOBS:-2}" PG_CONFIG="$SEGROLL_PG_CONFIG" \
		PG_CFLAGS="$SEGROLL_PG_CFLAGS" || return 1
	segroll_log "build: make install"
	make -s -C "$src" install PG_CONFIG="$SEGROLL_PG_CONFIG" >/dev/null || return 1
}

# segroll_start_cluster DIR PORT [SETTING ...]
# DIR is created if needed; an old cluster in DIR/data is stopped and wiped.
# The server listens only on the unix socket DIR/.s.PGSQL.PORT, so PORT
# never collides with another server unless it shares DIR.
segroll_start_cluster() {
	local dir="$1" port="$2"
	shift 2
	case "$dir" in /*) ;; *) dir="$(pwd)/$dir" ;; esac
	if [ $((${#dir} + ${#port} + 12)) -gt 100 ]; then
		echo "segroll_start_cluster: socket path under $dir is too long" >&2
		return 1
	fi
	mkdir -p "$dir" || return 1
	if segroll_is_root; then
		chown postgres:postgres "$dir" || return 1
	fi
	if ! segroll_as_pg test -w "$dir"; then
		echo "segroll_start_cluster: postgres cannot write $dir (check its parents' permissions)" >&2
		return 1
	fi
	if [ -e "$dir/data" ]; then
		segroll_stop_cluster "$dir" || true
		rm -rf "$dir/data"
	fi
	if ! segroll_as_pg initdb -D "$dir/data" -U postgres -A trust -E UTF8 \
		--no-locale --no-sync >"$dir/initdb.log" 2>&1; then
		echo "segroll_start_cluster: initdb failed:" >&2
		cat "$dir/initdb.log" >&2
		return 1
	fi
	{
		echo "# added by segroll_start_cluster"
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$dir'"
		echo "port = $port"
		local s
		for s in "$@"; do
			echo "$s"
		done
	} >>"$dir/data/postgresql.conf"
	if ! segroll_as_pg pg_ctl -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		start >/dev/null 2>&1; then
		echo "segroll_start_cluster: server did not start; log tail:" >&2
		tail -n 40 "$dir/server.log" >&2 2>/dev/null
		return 1
	fi
}

# segroll_stop_cluster DIR: fast shutdown, immediate if that does not finish.
segroll_stop_cluster() {
	local data="$1/data"
	[ -f "$data/postmaster.pid" ] || return 0
	segroll_as_pg pg_ctl -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 && return 0
	segroll_as_pg pg_ctl -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 && return 0
	[ ! -f "$data/postmaster.pid" ]
}

segroll_psql() {
	local dir="$1" port="$2"
	shift 2
	segroll_as_pg psql -X -h "$dir" -p "$port" -U postgres "$@"
}
