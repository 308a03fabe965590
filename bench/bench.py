#!/usr/bin/python3
"""make bench: uacreg against stock uac in the same run, on the same table
and the same sipp registrar, for 1,000 / 10,000 / 100,000 lines (and 100,000
with 256 MB of shm, to see the figures that 64 MB does not let through).

Everything runs on 127.0.0.1 with free ports: a private MariaDB, and for each
size and engine one sipp registrar (bench/sipp/registrar.xml) and one
Kamailio (bench/kamailio-bench.cfg). One phase per (size, engine):

  cold      Kamailio starts with N rows in `uacreg`; the phase waits until the
            registrar has answered 200 to every line (its log, one line per
            message), at most a budget, and stops early when nothing moves.
            Time is counted from the start of the Kamailio process.
  steady    bench.py flips the registrar's quiet switch (later 200s grant
            3600 s) and samples the CPU of Kamailio's process group; the window
            ends when every registered line has refreshed once (its 200 came
            after the switch). CPU per 1,000 refreshes = CPU of the window /
            refreshes in it. Requests per refresh = REGISTERs of each line
            between its previous 200 and this one.
  rest      nothing is due (every line holds 3600 s): after tm's wait timer,
            idle CPU, and the shm in use minus the same configuration with an
            empty table, divided by the lines: the shm per line.
  reload    100 rows get auth_password 'secret-b' (the registrar accepts it
            too); the reload RPC is timed and every REGISTER in the window
            after it was caused by it (nothing else is due).

outage      (its own Kamailio per engine, --outage N/S, default 1000/600: the
            issue's 1,000 lines and 10 minutes) N lines register with our own
            registrar (tests/integration/registrar.py); then it answers
            nothing for S seconds, then it answers again. Counted from its
            log: REGISTERs (transactions, and packets with retransmissions)
            received during the outage, and the time from its return until
            every line has a 200 again.

ha          (bench/ha.py; --ha-steady N/S, default 200/600, --ha-takeover N,
            default 10000) two uacreg nodes in ha_mode active on one table:
            AORs registered from two sources in S s of steady state, and the
            takeover time of a survivor after a SIGKILL at N lines.

Rounds: at the sizes of at most 10,000 lines the (size, engine) phases run
in alternation, --rounds times each (default 3: uacreg, stock, uacreg,
stock, uacreg, stock), each with a fresh Kamailio and sipp; the CPU figures
of the report are each engine's median with its spread (min-max), the
ratio of medians is the target's, and a table gives every round's ratio.
Later rounds skip the reload (counted once). The machine may be shared:
load during one round falls on one engine, the medians keep it out.

--profile ENGINES records perf samples (cpu-clock, DWARF call graphs) of
every Kamailio process over the refresh window: the top functions go to
the report, perf.data stays in the phase's folder. It inflates that
phase's CPU figures (the kernel copies a stack per sample): profile runs
explain, they do not measure. --so FILE runs another uacreg.so.

A phase whose cold start registers less than 95 % of its lines skips steady
and rest (the figures would measure retries) and only times the reload.

Retransmissions come from sipp's -trace_counts (the Retrans columns, dumped
every second), 408s from the Kamailio log of each engine.

Started processes are written to RUN/pids; run.sh stops them by PID should
this script die; this script stops them itself on any exit.

The code, one concern a file: engines.py (MariaDB, sipp, the registrars,
Kamailio with either engine, the processes), phases.py (the phases and their
figures), report.py (results.md); this file reads the command line, runs the
phases in order and writes the report.
"""
import argparse
import datetime
import json
import re
import shutil
import signal
import sys
from pathlib import Path

from ha import ha_phase, ha_report
from engines import BENCH, ENGINES, MariaDB, PARAMS_STOCK_RETRY, Procs, SHM_MB, UACREG_SO, log
from phases import Size, baseline_shm, fold_rounds, outage_phase, rounds_for, run_phase
from report import build_report, machine, outage_report, shm_per_line


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", default="1000,10000,100000/3600,100000@256",
                    help="sizes, comma separated; N@MB runs N lines with MB of shm, "
                    "N/S with rows of expires S")
    ap.add_argument("--smoke", action="store_true",
                    help="1,000 lines, 30 s expires: checks that the bench works")
    ap.add_argument("--engines", default="uacreg,stock")
    ap.add_argument("--expires", type=int, default=0,
                    help="row expires (default: 60 s, longer where the rate needs it)")
    ap.add_argument("--rate", type=int, default=800, help="uacreg rate modparam")
    ap.add_argument("--shm", type=int, default=SHM_MB, help="Kamailio shm MB (-m)")
    ap.add_argument("--cold-budget", type=float, default=0)
    ap.add_argument("--reload-window", type=float, default=0)
    ap.add_argument("--out", default="")
    ap.add_argument("--outage", default="1000/600",
                    help="N/S: the carrier outage phase (N lines, S s of silence); "
                    "empty to skip (the smoke skips it unless given)")
    ap.add_argument("--ha-steady", default="200/600",
                    help="N/S: HA steady state, 2 nodes, N lines watched S s (bench/ha.py); "
                    "empty to skip")
    ap.add_argument("--ha-takeover", default="10000",
                    help="N: HA takeover time after a SIGKILL at N lines; empty to skip")
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds of the alternation (uacreg, stock, uacreg, ...) at the sizes "
                    "of at most 10,000 lines with a refresh window; the smoke: 2")
    ap.add_argument("--profile", default="",
                    help="engines to profile (perf record -e cpu-clock -g on every Kamailio "
                    "process over the refresh window), comma separated; the top functions "
                    "go to the report")
    ap.add_argument("--so", default="", help="the uacreg.so to run (default: the module built)")
    ap.add_argument("--run-dir", required=True)
    argv = sys.argv[1:]
    args = ap.parse_args()
    args.argv = [a for i, a in enumerate(argv)
                 if a != "--run-dir" and (i == 0 or argv[i - 1] != "--run-dir")]
    default_lines = ap.get_default("lines")
    if args.smoke:
        args.lines = "1000"
        if "--rounds" not in argv:
            args.rounds = 2
        if not args.expires:
            args.expires = 30
        if "--outage" not in argv:
            args.outage = ""
        if "--ha-steady" not in argv:
            args.ha_steady = "100/15"
        if "--ha-takeover" not in argv:
            args.ha_takeover = "100"
    outage = None
    if args.outage:
        on, _, osecs = args.outage.partition("/")
        outage = (int(on), int(osecs or 600))
    sizes = [Size(x) for x in args.lines.split(",") if x]
    engines = [e for e in args.engines.split(",") if e]
    for e in engines:
        if e not in ENGINES:
            sys.exit(f"unknown engine {e}")
    if not args.out:
        if args.smoke:
            args.out = str(BENCH / "results-smoke.md")
        elif (args.lines == default_lines and engines == list(ENGINES)
              and args.shm == SHM_MB and not args.expires and args.rate == 800):
            args.out = str(BENCH / "results.md")
        else:
            args.out = str(BENCH / ("results-" + re.sub(r"[^0-9a-z@-]+", "-", args.lines)
                                    + ".md"))

    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    # the module as it is now: a rebuild during the run changes nothing
    so_copy = run_dir / "uacreg.so"
    shutil.copy2(args.so or UACREG_SO, so_copy)
    params = {
        "uacreg_so": so_copy,
        "uacreg": {"rate": args.rate, "start_spread": 0},
        "stock": {"reg_timer_interval": 10, "reg_retry_interval": PARAMS_STOCK_RETRY,
                  "reg_hash_size": 14},
    }
    procs = Procs(run_dir / "pids")

    def on_signal(sig, frame):
        raise KeyboardInterrupt(f"signal {sig}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    started = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    m = machine()
    results = {}
    outage_results = {}
    ha_results = {}
    baselines = {}
    db = MariaDB(run_dir / "mariadb", procs)
    failed = None
    try:
        log(f"run dir {run_dir}; lines {args.lines}; engines {engines}; rate {args.rate}")
        db.start()
        for e in engines:
            baselines[e], peak = baseline_shm(args, run_dir, procs, db, e, params)
            log(f"empty table, {e}: shm real_used {baselines[e]} B, max_used {peak} B")
        for z in sizes:
            # the engines in alternation, round after round (uacreg, stock,
            # uacreg, stock, ...): a shared machine's load moves both alike,
            # and the median of each engine over the rounds is the figure
            rounds = rounds_for(args, z)
            per = {e: [] for e in engines}
            for i in range(rounds):
                for e in engines:
                    if rounds > 1:
                        log(f"{z.label(args)} lines: round {i + 1} of {rounds}, {e}")
                    try:
                        r = run_phase(args, run_dir, procs, db, e, z, params, round_no=i)
                    except KeyboardInterrupt:
                        raise
                    except Exception as ex:
                        log(f"{z.label(args)} lines, {e}: phase failed: {ex}")
                        r = {"engine": e, "lines": z.n, "notes": [f"phase failed: {ex}"],
                             "failed": True, "round": i}
                    per[e].append(r)
            for e in engines:
                r = per[e][0]
                # the empty-table baseline is measured at --shm; the same
                # allocations at another size of shm
                r["shm_baseline"] = baselines.get(e)
                r["shm_per_line"] = shm_per_line(r, baselines.get(e))
                fold_rounds(r, per[e])
                results[(z.key(args), e)] = r
        if outage:
            for e in engines:
                try:
                    outage_results[e] = outage_phase(args, run_dir, procs, db, e,
                                                     outage[0], outage[1], params)
                except KeyboardInterrupt:
                    raise
                except Exception as ex:
                    log(f"outage, {e}: phase failed: {ex}")
                    outage_results[e] = {"engine": e, "notes": [f"phase failed: {ex}"]}
        if (args.ha_steady or args.ha_takeover) and "uacreg" in engines:
            ha_results = ha_phase(args, run_dir, procs, db, params, args.shm)
    except KeyboardInterrupt as ex:
        failed = f"interrupted ({ex})"
        log(failed)
    finally:
        procs.stop_all()
        db.stop()
    finished = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    if not results and not outage_results and not ha_results:
        return 1
    with open(run_dir / "results.json", "w") as f:
        json.dump({f"{k[0][0]}@{k[0][1]}{'/' + str(k[0][2]) if k[0][2] else ''}/{k[1]}": v for k, v in results.items()}, f,
                  indent=1, default=str)
    if outage_results:
        with open(run_dir / "outage.json", "w") as f:
            json.dump(outage_results, f, indent=1, default=str)
    if results:
        report, verdicts = build_report(args, m, sizes, results, params, started, finished)
    else:
        # only the outage phase ran (--lines "")
        report = (f"# make bench: uacreg against stock uac\n\nRun {started} — {finished}. "
                  f"Command: `bash bench/run.sh {' '.join(args.argv)}`.\n\n"
                  "## Results\n\n## Details per phase\n")
    if outage_results:
        extra = []
        outage_report(extra.append, outage, outage_results)
        head, sep, tail = report.partition("## Details per phase")
        report = head + "\n".join(extra) + "\n" + sep + tail
    if ha_results:
        with open(run_dir / "ha.json", "w") as f:
            json.dump(ha_results, f, indent=1, default=str)
        extra = []
        ha_report(extra.append, ha_results)
        head, sep, tail = report.partition("## Details per phase")
        report = head + "\n".join(extra) + "\n" + sep + tail
    if failed:
        report = f"**Incomplete run: {failed}.**\n\n" + report
    Path(args.out).write_text(report)
    show = report.split("## Results")[1].split("## Details")[0]
    print("\n## Results" + show, flush=True)
    log(f"written {args.out}")
    if failed:
        return 1
    if args.smoke:
        bad = []
        u = results.get((sizes[0].key(args), "uacreg"), {})
        if "uacreg" in engines and not u.get("cold_complete"):
            bad.append("uacreg did not register all 1,000 lines")
        for (key, e), r in results.items():
            if r.get("failed"):
                bad.append(f"{e}: {r['notes']}")
            elif e == "uacreg" and (r.get("cpu_per_1k_refresh") is None
                                    or r.get("shm_per_line") is None
                                    or r.get("reload_wire") is None):
                bad.append(f"{e}: a figure is missing (CPU, shm per line or reload)")
        for name, r in ha_results.items():
            if r.get("failed"):
                bad.append(f"HA {name}: {r['notes']}")
            elif r.get("double_registrations") or r.get("aors_two_sources"):
                bad.append(f"HA {name}: an AOR registered by both nodes")
        if bad:
            log("smoke FAILED: " + "; ".join(bad))
            return 1
        log("smoke OK (a MISS on a target is a figure, not a failure of the bench)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
