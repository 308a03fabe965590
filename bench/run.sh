#!/usr/bin/env bash
# make bench: uacreg against stock uac in the same run (bench/bench.py does
# the work; this wrapper checks the tools, gives the run a folder and stops
# everything the run started, by PID, however it ends).
#
#   bash bench/run.sh                      1,000 / 10,000 / 100,000 lines -> bench/results.md
#   bash bench/run.sh --lines 1000,10000   other sizes -> bench/results-1000-10000.md
#   bash bench/run.sh --smoke              1,000 lines, 30 s expires, ~2-3 min
#                                          -> bench/results-smoke.md; exit 0 when
#                                          the bench itself works
#   more: --engines uacreg|stock, --expires S, --rate N, --out FILE,
#         --ha-steady N/S, --ha-takeover N (the HA phase; "" skips it)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

for tool in kamailio kamcmd sipp mariadb mariadbd mariadb-install-db; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing (make deps)" >&2; exit 2; }
done
[ -f "$root/modules/uacreg/uacreg.so" ] || { echo "bench: build the module first (make module)" >&2; exit 2; }
[ -f /usr/lib/x86_64-linux-gnu/kamailio/modules/uac.so ] ||
	{ echo "bench: stock uac.so is missing (apt-get install kamailio)" >&2; exit 2; }

run_dir="$root/build/bench-run/$(date +%Y%m%d-%H%M%S)-$$"
mkdir -p "$run_dir"
py_pid=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM HUP
	if [ -n "$py_pid" ] && kill -0 "$py_pid" 2>/dev/null; then
		kill -TERM "$py_pid" 2>/dev/null || true
		for _ in $(seq 1 300); do kill -0 "$py_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$py_pid" 2>/dev/null || true
	fi
	# whatever bench.py could not stop itself: each PID leads its own group
	if [ -f "$run_dir/pids" ]; then
		while read -r pid; do
			[ -n "$pid" ] || continue
			if [ -r "/proc/$pid/stat" ] && [ "$(awk '{print $5}' "/proc/$pid/stat" 2>/dev/null)" = "$pid" ]; then
				kill -TERM "$pid" 2>/dev/null || true
				for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
				kill -KILL -- "-$pid" 2>/dev/null || true
			fi
		done < "$run_dir/pids"
	fi
	[ -d "$run_dir/mariadb" ] && bash "$root/scripts/mariadb.sh" stop "$run_dir/mariadb" || true
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

/usr/bin/python3 "$root/bench/bench.py" --run-dir "$run_dir" "$@" &
py_pid=$!
set +e
wait "$py_pid"
rc=$?
set -e
py_pid=
exit "$rc"
