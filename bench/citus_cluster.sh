# Sourced by the Citus benchmarks (bench/citus_*.sh): a coordinator and two
# workers on 127.0.0.1, in $DIR/n0 .. n2, ports $PORT .. $PORT+2, with the
# database "bench" and Citus in it on each node, the nodes registered and
# segroll created (Citus propagates it).  Citus must be installed for the
# PostgreSQL of $PGBIN (docs/citus.md).
#
#   citus_start PRELOAD [CONF_LINE ...]   (re)creates and starts the cluster;
#                                         PRELOAD is shared_preload_libraries
#   citus_stop                            stops it
#   psql_c ...                            psql on the coordinator's "bench"

psql_c() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -d bench "$@"; }

citus_stop() {
	for i in 0 1 2; do
		[ -f "$DIR/n$i/postmaster.pid" ] && "$PGBIN/pg_ctl" -D "$DIR/n$i" -m fast -w stop >/dev/null || true
	done
}

citus_start() {
	local preload=$1
	shift
	citus_stop
	rm -rf "$DIR"
	mkdir -p "$DIR"
	for i in 0 1 2; do
		"$PGBIN/initdb" -D "$DIR/n$i" -A trust >/dev/null
		{
			cat <<CONF
listen_addresses = '127.0.0.1'
port = $((PORT + i))
unix_socket_directories = ''
shared_preload_libraries = '$preload'
max_prepared_transactions = 20
citus.shard_count = 8
log_min_messages = warning
CONF
			printf '%s\n' "$@"
		} >>"$DIR/n$i/postgresql.conf"
		"$PGBIN/pg_ctl" -D "$DIR/n$i" -l "$DIR/n$i.log" -w start >/dev/null
		"$PGBIN/psql" -X -q -h 127.0.0.1 -p $((PORT + i)) -d postgres -c 'CREATE DATABASE bench'
		"$PGBIN/psql" -X -q -h 127.0.0.1 -p $((PORT + i)) -d bench -c 'CREATE EXTENSION citus'
	done
	psql_c <<SQL
SET client_min_messages = warning;
SELECT citus_set_coordinator_host('127.0.0.1', $PORT);
SELECT citus_add_node('127.0.0.1', $((PORT + 1)));
SELECT citus_add_node('127.0.0.1', $((PORT + 2)));
CREATE EXTENSION segroll;
SQL
}
