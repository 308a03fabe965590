#!/usr/bin/env bash
# make run: a private MariaDB, a demo carrier (sipp registrar) with demo
# lines, and Kamailio in the foreground with the repository's kamailio.cfg.
# With an operator's DB_URL: only Kamailio, on that database.
# Ctrl-C (or Kamailio exiting) stops everything this script started, by PID.
# UACREG_KAMAILIO=6.0 (make KAMAILIO=6.0 run): the Kamailio 6.0 built into
# build/kamailio-6.0/ instead of Debian 12's installed 5.6.3.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
case "${UACREG_KAMAILIO:-5.6}" in
5.6)
	kamailio_bin=kamailio
	kamcmd_bin=kamcmd
	moddir=/usr/lib/x86_64-linux-gnu/kamailio/modules
	module="$root/modules/uacreg/uacreg.so"
	;;
6.0)
	kamailio_bin="$root/build/kamailio-6.0/sbin/kamailio"
	kamcmd_bin="$root/build/kamailio-6.0/sbin/kamcmd"
	moddir="$root/build/kamailio-6.0/lib/kamailio/modules"
	module="$moddir/uacreg.so"
	;;
*) echo "make run: UACREG_KAMAILIO must be 5.6 or 6.0" >&2; exit 2 ;;
esac
run=${UACREG_RUN_DIR:-$root/build/run}
mkdir -p "$run"
run=$(cd "$run" && pwd)
db_url=${1:-}
sip_port=${UACREG_SIP_PORT:-5060}
db_port=${UACREG_DB_PORT:-23306}
carrier_port=${UACREG_CARRIER_PORT:-5070}
pids=()
local_db=0

# One run at a time in a run folder: a second one would stop the first
# one's MariaDB at its exit and write over its logs. The lock is held by
# this shell (fd 9) until it exits, however it exits.
exec 9>>"$run/run.lock"
if ! flock -n 9; then
	echo "make run: already running (pid $(cat "$run/run.pid" 2>/dev/null || echo '?'))" \
		"in $run; stop it with Ctrl-C there, or run elsewhere with" \
		"UACREG_RUN_DIR=... and other UACREG_*_PORT values" >&2
	exit 1
fi
echo $$ >"$run/run.pid"
# each run keeps its own wire log and Kamailio log
stamp=$(date +%Y%m%d-%H%M%S)
logs="$run/logs/$stamp"
mkdir -p "$logs"

cleanup() {
	trap - EXIT INT TERM
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	[ "$local_db" = 0 ] || bash "$root/scripts/mariadb.sh" stop "$run/mariadb"
	rm -f "$run/run.pid" "$run/carrier.pid" "$run/kamailio.pid"
	echo "make run: stopped (logs kept in $logs)"
}
trap cleanup EXIT INT TERM

if [ -z "$db_url" ]; then
	local_db=1
	db_pid=$(bash "$root/scripts/mariadb.sh" start "$run/mariadb" "$db_port" | tail -1)
	echo "make run: MariaDB pid $db_pid (pidfile $run/mariadb/mysqld.pid)"
	sql() { mariadb --no-defaults -S "$run/mariadb/mysqld.sock" -uroot uacreg "$@"; }
	if ! sql -N -e "SHOW TABLES LIKE 'uacreg'" | grep -q uacreg; then
		sql <"$root/sql/uacreg-create.sql"
		echo "make run: schema loaded"
	fi
	if [ "$(sql -N -e 'SELECT COUNT(*) FROM uacreg')" = 0 ]; then
		sql <<SQL
INSERT INTO uacreg (l_uuid, l_username, l_domain, r_username, r_domain,
	auth_username, auth_password, expires, fail_ceiling)
VALUES
	('demo-good', 'pbx1', 'sbc.local', 'good', '127.0.0.1:$carrier_port',
	 'good', 'secret', 60, NULL),
	('demo-wrong-password', 'pbx2', 'sbc.local', 'wrong', '127.0.0.1:$carrier_port',
	 'wrong', 'not-the-password', 60, 3);
SQL
		echo "make run: demo lines added"
	fi
	db_url="mysql://uacreg:uacreg@127.0.0.1:$db_port/uacreg"
	# the demo carrier: challenges, then accepts the password "secret"
	setsid sipp -sf "$root/tests/sipp/registrar.xml" -i 127.0.0.1 -p "$carrier_port" \
		-t u1 -nostdin -deadcall_wait 1000 -trace_msg \
		-message_file "$logs/carrier-messages.log" \
		</dev/null >"$logs/carrier.out" 2>&1 &
	pids+=($!)
	echo $! >"$run/carrier.pid"
	sleep 0.3
	kill -0 "${pids[-1]}" 2>/dev/null ||
		{ echo "make run: the demo carrier did not start:" >&2; cat "$logs/carrier.out" >&2; exit 1; }
	echo "make run: demo carrier (sipp) pid ${pids[-1]} (pidfile $run/carrier.pid)"
	# what the banner may promise: only what the table holds now
	wrong_ceiling=$(sql -N -e "SELECT COALESCE(fail_ceiling, 10) FROM uacreg WHERE
		l_uuid='demo-wrong-password' AND flags & 1 = 0" 2>/dev/null || true)
	good_line=$(sql -N -e "SELECT l_uuid FROM uacreg WHERE l_uuid='demo-good'" 2>/dev/null || true)
fi

export UACREG_LISTEN="udp:127.0.0.1:$sip_port"
export UACREG_CONTACT="127.0.0.1:$sip_port"
export UACREG_DB_URL="$db_url"
export UACREG_SQLCON="cb=>$db_url"
export UACREG_CTL="unix:$run/kamailio_ctl"
export UACREG_MODULE="$module"

ctl="$kamcmd_bin -s unix:$run/kamailio_ctl"
echo "----------------------------------------------------------------------"
echo "uacreg is starting (Ctrl-C stops everything)."
echo "  kamailio:  $("$kamailio_bin" -v | sed -n '1s/^version: //p')"
echo "  lines:     $ctl uacreg.list"
echo "  one line:  $ctl uacreg.info demo-good"
echo "  summary:   $ctl uacreg.summary"
echo "  counters:  $ctl cnt.grp_get_all uacreg"
if [ "$local_db" = 1 ]; then
	echo "  SQL:       mariadb -S $run/mariadb/mysqld.sock -uroot uacreg"
	echo "             (edit rows, then: $ctl uacreg.reload)"
	echo "  carrier:   sipp on 127.0.0.1:$carrier_port, wire log $logs/carrier-messages.log"
	[ -z "${good_line:-}" ] ||
		echo "  demo-good registers with the demo carrier's password \"secret\"."
	if [ -n "${wrong_ceiling:-}" ] && [ "$wrong_ceiling" -gt 0 ]; then
		echo "  demo-wrong-password reaches its failure ceiling ($wrong_ceiling) within"
		echo "  minutes; then: SELECT * FROM uacreg_archive;"
	fi
fi
echo "  logs:      $logs"
echo "----------------------------------------------------------------------"
# -L: the modules of that Kamailio, whatever mpath kamailio.cfg sets
"$kamailio_bin" -f "$root/kamailio.cfg" -L "$moddir" -DD -E -w "$run" > >(tee "$logs/kamailio.log") 2>&1 &
kpid=$!
pids+=("$kpid")
echo $kpid >"$run/kamailio.pid"
echo "make run: Kamailio pid $kpid (pidfile $run/kamailio.pid)"
wait "$kpid" || true
