#!/usr/bin/env bash
# A private MariaDB for uacreg: its own datadir and socket under a folder of
# ours, a loopback port, no systemd, no password prompt.
#
#   scripts/mariadb.sh start DIR PORT   -> prints the PID; creates the
#                                          database `uacreg` and user `uacreg`
#   scripts/mariadb.sh stop DIR
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?datadir parent}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
sock="$dir/mysqld.sock"
pidf="$dir/mysqld.pid"

stop() {
	[ -f "$pidf" ] || return 0
	local pid
	pid=$(cat "$pidf")
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$pidf"
}

case "$cmd" in
start)
	port=${3:?port}
	if [ ! -d "$dir/data/mysql" ]; then
		mkdir -p "$dir/data"
		mariadb-install-db --no-defaults --datadir="$dir/data" --user="$(id -un)" \
			--auth-root-authentication-method=socket --skip-test-db >"$dir/install.log" 2>&1 ||
			{ cat "$dir/install.log" >&2; exit 1; }
	fi
	if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then
		cat "$pidf"
		exit 0
	fi
	# mariadbd refuses to run as root without --user; the datadir is ours
	setsid mariadbd --no-defaults --datadir="$dir/data" --socket="$sock" \
		--port="$port" --bind-address=127.0.0.1 --pid-file="$pidf" \
		--user="$(id -un)" --skip-log-bin --innodb-buffer-pool-size=64M \
		--innodb-log-file-size=16M --max-connections=200 \
		--log-error="$dir/mysqld.err" </dev/null >/dev/null 2>&1 &
	for _ in $(seq 1 300); do
		mariadb --no-defaults -S "$sock" -uroot -e 'select 1' >/dev/null 2>&1 && break
		sleep 0.1
	done
	mariadb --no-defaults -S "$sock" -uroot -e 'select 1' >/dev/null 2>&1 ||
		{ echo "mariadb did not start; see $dir/mysqld.err" >&2; tail -20 "$dir/mysqld.err" >&2; exit 1; }
	mariadb --no-defaults -S "$sock" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS uacreg;
CREATE USER IF NOT EXISTS 'uacreg'@'127.0.0.1' IDENTIFIED BY 'uacreg';
CREATE USER IF NOT EXISTS 'uacreg'@'localhost' IDENTIFIED BY 'uacreg';
GRANT ALL ON *.* TO 'uacreg'@'127.0.0.1';
GRANT ALL ON *.* TO 'uacreg'@'localhost';
SQL
	cat "$pidf"
	;;
stop) stop ;;
*) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
