"""The bench's report: results.md from the phases' figures (build_report),
the outage section, the machine the run was on, and how figures are
printed."""
import hashlib
import os
import platform
import subprocess

from engines import (PARAMS_STOCK_RETRY, REST, PKG_MB, RELOAD_CHANGED, ROOT, SHM_MB, STALL, STOCK_SO,
                     UACREG_SO)
from phases import expires_for, stock_timer


def outage_report(w, outage, results):
    n, secs = outage
    u = results.get("uacreg", {})
    s = results.get("stock", {})

    def f(r, k, fmt="{:,}"):
        v = r.get(k)
        return "n/a" if v is None else fmt.format(v)
    w("## Carrier outage\n")
    w(f"{n:,} lines of one carrier (rows of 60 s, refreshes spread over the expiry) register "
      f"with tests/integration/registrar.py; then it answers nothing for {secs} s (tm "
      "fr_timer 5 s), then answers again. uacreg with its defaults (retry_min 30, "
      "carrier_probe_max 30, carrier_min_lines 3); stock with reg_retry_interval "
      f"{PARAMS_STOCK_RETRY} s.\n")
    w("| | uacreg | stock | uacreg/stock |")
    w("|---|---|---|---|")
    for label, k in (("REGISTERs received during the outage", "outage_registers"),
                     ("packets (with tm retransmissions)", "outage_packets"),
                     ("REGISTERs after it, until all registered", "recovery_registers")):
        w(f"| {label} | {f(u, k)} | {f(s, k)} | {ratio(u.get(k), s.get(k))} |")
    w(f"| every line registered again (s after its return) | {f(u, 'recovery_s', '{:.1f}')} "
      f"| {f(s, 'recovery_s', '{:.1f}')} | {ratio(u.get('recovery_s'), s.get('recovery_s'))} |")
    w("")
    w("uacreg: the lines whose refresh fell due before the outage was known (3 timeouts, "
      "5 s each) were sent; then one probe per backoff step (30 s: retry_min, bounded by "
      "carrier_probe_max) and its retransmissions; after the return, the next probe "
      "finds the carrier and every line follows, paced. Stock: every line retries on its "
      "own.")
    for e, r in (("uacreg", u), ("stock", s)):
        for note in r.get("notes", []):
            w(f"- {e}: {note}")
    w("")



def machine():
    def first(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True,
                                  shell=True).stdout.strip().splitlines()[0]
        except Exception:
            return "?"
    model = first("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-").strip()
    mem = first("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    debian = first("cat /etc/debian_version")
    so_hash = hashlib.sha256(UACREG_SO.read_bytes()).hexdigest()[:12]
    commit = first(f"git -C {ROOT} rev-parse --short HEAD")
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--",
                            "modules/uacreg"], capture_output=True, text=True).stdout.strip()
    return {
        "cpu": f"{os.cpu_count()} cores, {model}",
        "memory": mem,
        "os": f"Debian {debian}, Linux {platform.release()}",
        "kamailio": first("kamailio -v | head -1"),
        "sipp": first("sipp -v 2>&1 | grep -m1 SIPp").strip(),
        "mariadb": first("mariadb --version"),
        "python": platform.python_version(),
        "uacreg": f"commit {commit}{' + uncommitted changes in modules/uacreg' if dirty else ''}"
                  f", uacreg.so sha256 {so_hash}",
        "load": os.getloadavg(),
    }


# ---------------------------------------------------------------- report --

def fmt(v, kind):
    if v is None:
        return "—"
    if kind in ("s", "d"):
        return f"{v:.2f} s"
    if kind == "ms":
        return f"{v * 1000:.0f} ms"
    if kind == "r":
        return f"{v:.3f}"
    if kind == "cpu":
        return f"{v:.3f} s"
    if kind == "mb":
        return f"{v / 1048576:.1f} MB"
    if kind == "b":
        return f"{v:.0f} B"
    if kind == "i":
        return f"{int(v):,}"
    return str(v)


def ratio(u, s):
    if u is None or s is None or s == 0:
        return "—"
    return f"{u / s:.2f}x"


def spread(r, k):
    """min–max of a figure over the rounds, and its width against the
    median."""
    if not r or r.get(k + "_min") is None:
        return "—"
    lo, hi, med = r[k + "_min"], r[k + "_max"], r[k]
    return f"{lo:.3f}–{hi:.3f} s (±{(hi - lo) / 2 / med * 100:.0f} %)" if med else "—"


def round_ratios(u, s, k):
    """uacreg/stock of each round (uacreg's round i against stock's round i,
    run one after the other)."""
    uv = (u or {}).get("round_values", {}).get(k, [])
    sv = (s or {}).get("round_values", {}).get(k, [])
    return [a / b if a is not None and b else None for a, b in zip(uv, sv)]


def ratio_range(u, s, k):
    rr = [x for x in round_ratios(u, s, k) if x is not None]
    if not rr:
        return "—"
    return f"rounds {min(rr):.2f}x–{max(rr):.2f}x"


def rounds_report(w, args, sizes, results):
    """Round by round: the figures behind the medians."""
    for z in sizes:
        u = results.get((z.key(args), "uacreg"))
        s = results.get((z.key(args), "stock"))
        n = max((u or {}).get("rounds", 1), (s or {}).get("rounds", 1))
        if n < 2:
            continue
        w(f"## CPU per 1,000 refreshes round by round, {z.label(args)} lines\n")
        w("Each round: a fresh Kamailio and sipp for uacreg, then for stock, same rows, same "
          "registrar scenario, one after the other. The machine is shared (other engineers' "
          "test runs): the alternation puts any load on both engines alike, and the medians "
          "and their ratio are the figures; the per-round ratios show how much it moves.\n")
        w("| round | uacreg | stock | uacreg/stock | load avg (1 min) at uacreg / stock start |")
        w("|---:|---:|---:|---:|---|")
        k = "cpu_per_1k_refresh"
        uv = (u or {}).get("round_values", {}).get(k, [])
        sv = (s or {}).get("round_values", {}).get(k, [])
        ul = (u or {}).get("round_loads", [])
        sl = (s or {}).get("round_loads", [])
        rr = round_ratios(u, s, k)
        for i in range(n):
            def at(lst):
                return lst[i] if i < len(lst) else None
            la, lb = at(ul), at(sl)
            w(f"| {i + 1} | {fmt(at(uv), 'cpu')} | {fmt(at(sv), 'cpu')} | "
              f"{'—' if at(rr) is None else f'{at(rr):.2f}x'} | "
              f"{'—' if la is None else f'{la:.2f}'} / {'—' if lb is None else f'{lb:.2f}'} |")
        um, sm = (u or {}).get(k), (s or {}).get(k)
        w(f"| median | {fmt(um, 'cpu')} | {fmt(sm, 'cpu')} | {ratio(um, sm)} | |")
        w("")


def shm_per_line(r, base):
    """(rest real_used - empty baseline) / lines, only where it means that:
    every line loaded and a rest measured (every line registered, tm
    drained; shm errors earlier, from transactions, leave nothing behind)."""
    if (not base or r.get("shm_rest_used") is None
            or r.get("lines_loaded") != r["lines"]):
        return None
    return (r["shm_rest_used"] - base) / r["lines"]


def build_report(args, m, sizes, results, params, started, finished):
    out = []
    w = out.append
    w("# make bench: uacreg against stock uac\n")
    w(f"Run {started} — {finished}: lines "
      f"{'; '.join(z.label(args) for z in sizes)}{' (smoke)' if args.smoke else ''}. "
      f"Command: `bash bench/run.sh {' '.join(args.argv)}`.\n")
    w("## Machine\n")
    for k in ("cpu", "memory", "os", "kamailio", "sipp", "mariadb", "python", "uacreg"):
        w(f"- {k}: {m[k]}")
    w(f"- load average at start: {' '.join(f'{x:.2f}' for x in m['load'])}; at end: "
      f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (a shared machine: absolute "
      "figures are noisy, the ratio measured in one run is the figure that counts)")
    w("")
    w("## Set-up\n")
    exps = ", ".join(f"{expires_for(args, z.n, z)} s at {z.label(args)}" for z in sizes)
    w(f"- Same rows in `uacreg` for both engines (expires {exps} lines; password \"secret\"; "
      "auth_proxy set, stock ignores rows without it), same registrar "
      "(bench/sipp/registrar.xml: 401 to every REGISTER without credentials, accepts a reused "
      "nonce), same Kamailio configuration (bench/kamailio-bench.cfg: children=4, tm fr_timer "
      f"5 s, other tm timers default, shm {args.shm} MB unless a size says otherwise, pkg "
      f"{PKG_MB} MB, debug=2), one engine at a time, a fresh Kamailio and sipp for each "
      "engine and size, all on 127.0.0.1.")
    w("- uacreg: " + ", ".join(f"{k}={v}" for k, v in params["uacreg"].items())
      + " (rate raised from its default 100: where the lines leave too little shm for "
      "the transactions of that rate, tm keeping each, ~9 KB, 5 s after its final reply, "
      "shm_reserve (default 10 %) holds the sends back); every other parameter default.")
    w(f"- stock uac ({STOCK_SO}): reg_timer_interval=expires/6, at most 60 s ("
      + ", ".join(f"{stock_timer(expires_for(args, z.n, z))} s at {z.label(args)}"
                  for z in sizes) + "), "
      + ", ".join(f"{k}={v}" for k, v in params["stock"].items() if k != "reg_timer_interval")
      + ", reg_keep_callid=0 (default); every other parameter default.")
    w("- Registered = the registrar answered 200 to the line (its log); time from the start "
      "of the Kamailio process (includes loading the table). The cold phase waits at most "
      f"min(420, max(120, 30 + 3 n / rate)) s and stops when nothing moves for {STALL} s "
      "(stock: its timer interval + 30 s, at least that).")
    w("- REGISTERs per cold registration: every REGISTER of a line not yet registered during "
      "the cold phase (lines that never made it included), divided by the lines registered in "
      "it; per refresh: REGISTERs of a line since its previous 200. Retransmissions are not "
      "REGISTERs the registrar's scenario sees; \"on the wire\" adds sipp's Retrans counters "
      "of the same period.")
    w("- CPU: utime+stime of every process in Kamailio's process group over one refresh "
      "cycle (from the registrar's quiet switch until every registered line was answered 200 "
      "again), divided by the refreshes in it; idle = the scheduler's run time of the same "
      f"processes (/proc/PID/schedstat, to the ns) over {REST:.0f} s with nothing due, after "
      "tm's wait timer, for all processes and for the engine's own (uacreg worker and "
      "uacreg HA; stock's TIMER UAC REG), which the target compares: Kamailio's core "
      "timers run the same code in both engines and move by 0.1-0.2 ms/s between rounds "
      "on a virtual machine; wake-ups = their voluntary context switches in the refresh window "
      "per refresh. At the sizes of at most 10,000 lines the engines run in alternation, "
      f"{args.rounds} rounds each (uacreg, stock, uacreg, stock, ...: a fresh Kamailio and "
      "sipp each round, same rows, same registrar scenario); the CPU figures are the median "
      "of each engine's rounds, with their spread, and the target reads from the ratio of "
      "the medians. Other figures are from the first round (later rounds skip the reload).")
    w("- shm per line: real_used_size at rest (nothing due, tm drained) minus the same "
      "configuration with an empty table, divided by the lines; only where every line "
      "loaded and registered. Peak = max_used_size of the phase; shm allocation errors = "
      "log lines of failed shm allocations (transactions, lines, nonces).")
    w(f"- Reload: {RELOAD_CHANGED} rows get auth_password 'secret-b' (the registrar accepts "
      "it too); every line held a 3600 s grant by then, so each REGISTER in the window after "
      "the RPC (stock's timer interval + 5 s, at least 10 s) was caused by the reload.")
    w("")
    w("## Results (uacreg/stock: lower is better everywhere)\n")
    w("| figure | lines | uacreg | stock | uacreg/stock | target | |")
    w("|---|---:|---:|---:|---:|---|---|")
    verdicts = []
    default_shm = lambda z: z.shm_mb(args) == SHM_MB  # noqa: E731
    biggest = max(z.n for z in sizes)

    for z in sizes:
        lab = z.label(args)
        u = results.get((z.key(args), "uacreg"))
        s = results.get((z.key(args), "stock"))

        def cell(r, v, kind, reload=False):
            if r is None:
                return "not run"
            if r.get("failed"):
                return "phase failed"
            if reload and r.get("reload_ok") is False:
                return fmt(v, kind) + " (RPC failed)"
            return fmt(v, kind)

        def row(name, get, kind, target=None, check=None):
            uv = get(u) if u else None
            sv = get(s) if s else None
            rl = name.startswith("reload")
            vt = ""
            cu, cs = cell(u, uv, kind, rl), cell(s, sv, kind, rl)
            if target and check and u and not u.get("failed"):
                ok = check(uv, sv)
                vt = "n/a" if ok is None else "PASS" if ok else "MISS"
                verdicts.append((vt, name, lab, target, cu, cs))
            rt = ratio(uv, sv) if kind not in ("i", "d", "x") else ""
            w(f"| {name} | {lab} | {cu} | {cs} | {rt} | {target or ''} | {vt} |")

        def g(key):
            return lambda r: r.get(key)

        def cold(r):
            if r.get("cold_complete"):
                return f"{r['cold_time']:.2f} s"
            return (f"{r.get('registered_at_cold_end', 0):,} of {r['lines']:,} after "
                    f"{r.get('cold_waited', 0):.0f} s")

        w(f"| row expires | {lab} | {expires_for(args, z.n, z)} s | {expires_for(args, z.n, z)} s "
          "| | | |")
        tgt = chk = None
        if z.n == 100000 and default_shm(z):
            tgt = "100,000 lines registered in 64 MB"
            chk = lambda uv, sv: bool(u.get("cold_complete")) and not u.get("shm_errors")  # noqa
        uv, sv = (cold(u) if u and not u.get("failed") else None,
                  cold(s) if s and not s.get("failed") else None)
        vt = ""
        if tgt and u and not u.get("failed"):
            vt = "PASS" if chk(uv, sv) else "MISS"
            verdicts.append((vt, "every line registered", lab, tgt, uv, sv or "—"))
        w(f"| time until every line is registered | {lab} | {cell(u, uv, 'x')} | "
          f"{cell(s, sv, 'x')} | {ratio((u or {}).get('cold_time'), (s or {}).get('cold_time'))} "
          f"| {tgt or ''} | {vt} |")
        row("rows loaded by the engine", g("lines_loaded"), "i")
        row("REGISTERs per cold registration (on the wire)", g("cold_wire_per_reg"), "r",
            "<= 2.0 (challenging carrier)", lambda uv, sv: None if uv is None else uv <= 2.0)
        row("REGISTERs per cold registration (new requests)", g("cold_req_per_reg"), "r")
        row("cold: 401 answered after (median)", g("challenge_answer_p50"), "d")
        row("cold: 401 answered after (90 %)", g("challenge_answer_p90"), "d")
        row("REGISTERs per refresh (on the wire)", g("wire_per_refresh"), "r",
            "<= 1.05 (nonce reuse accepted)", lambda uv, sv: None if uv is None else uv <= 1.05)
        row("REGISTERs per refresh (new requests)", g("req_per_refresh"), "r")
        row("retransmissions (whole phase)", g("sipp_retrans_total"), "i")
        row("408s (local timeouts, Kamailio log)", g("timeouts_408"), "i")
        row("sipp: challenged calls with no credentials within 3 s", g("sipp_timeouts"), "i")
        row("refreshes in the CPU window", g("refreshes"), "i")
        cpu_t = ("<= 0.5x stock (ratio of medians)" if z.n == 10000 and default_shm(z)
                 else None)
        nr = max((u or {}).get("rounds", 1), (s or {}).get("rounds", 1))
        med = f" (median of {nr} rounds)" if nr > 1 else ""
        row("CPU s per 1,000 refreshes" + med, g("cpu_per_1k_refresh"), "cpu", cpu_t,
            (lambda uv, sv: None if uv is None or sv is None else uv <= 0.5 * sv)
            if cpu_t else None)
        if nr > 1:
            w(f"| CPU s per 1,000 refreshes: spread (min–max) | {lab} | "
              f"{spread(u, 'cpu_per_1k_refresh')} | {spread(s, 'cpu_per_1k_refresh')} | "
              f"{ratio_range(u, s, 'cpu_per_1k_refresh')} | | |")
        row("CPU s per 1,000 refreshes above idle" + med, g("cpu_per_1k_refresh_above_idle"),
            "cpu")
        # how often the processes slept and were woken in the window (a SIP
        # worker that finds the socket empty sleeps until the next reply)
        row("wake-ups per refresh (voluntary context switches, all processes)" + med,
            g("wakeups_per_refresh"), "r")
        # idle from the scheduler's run time (schedstat, to the ns). The
        # target reads from the engine's own processes (uacreg worker against
        # TIMER UAC REG): the rest is Kamailio's core, the same code in both,
        # whose noise between rounds is larger than the difference
        row("idle CPU, nothing due, all processes (ms per s)" + med, g("idle_cpu_ms_per_s"), "r")
        row("idle CPU, nothing due, the engine's own processes (ms per s)" + med,
            g("idle_engine_ms_per_s"), "r", "<= stock" if cpu_t else None,
            (lambda uv, sv: None if uv is None or sv is None else uv <= sv)
            if cpu_t else None)
        row("shm real_used at rest", g("shm_rest_used"), "mb")
        row("shm per line", g("shm_per_line"), "b", "<= stock",
            lambda uv, sv: None if uv is None or sv is None else uv <= sv)
        row("shm peak (max_used_size)", g("shm_peak"), "mb")
        row("shm allocation errors in the log", g("shm_errors"), "i")
        big = z.n == biggest
        row("reload (100 rows changed): RPC time", g("reload_time"), "ms",
            "< 1 s" if big else None,
            (lambda uv, sv: None if uv is None else (uv < 1.0 and u.get("reload_ok")))
            if big else None)
        row("reload: REGISTERs caused (on the wire)", g("reload_wire"), "i",
            "exactly 100" if big else None,
            (lambda uv, sv: None if uv is None else uv == RELOAD_CHANGED) if big else None)
        row("reload: of which with credentials", g("reload_requests_with_credentials"), "i")
        row("reload: changed lines registered again", g("reload_changed_ok"), "i")
    w("")
    rounds_report(w, args, sizes, results)
    for (key, e), r in sorted(results.items()):
        if r.get("profile_top"):
            w(f"## Profile: {key[0]:,} lines, {e}, refresh window\n")
            w("perf record -e cpu-clock -g on every Kamailio process; self time, % of all "
              "samples of the engine's processes.\n")
            w("| % | process | object | function |")
            w("|---:|---|---|---|")
            for pct, role, dso, sym in r["profile_top"]:
                w(f"| {pct:.2f} | {role} | {dso} | {sym} |")
            w("")
    w("## Targets\n")
    for vt, name, lab, target, uv, sv in verdicts:
        w(f"- {vt}: {name} at {lab} lines — target {target}; uacreg {uv}, stock {sv}")
    w("\n(n/a: the figure could not be measured at that size, see \"Where it fails\".)")
    w("")
    fails = []
    for (key, e), r in sorted(results.items()):
        if r.get("failed") or not r.get("cold_complete") or r.get("shm_errors"):
            lab = f"{key[0]:,} lines, shm {key[1]} MB, {e}"
            if r.get("failed"):
                fails.append(f"- {lab}: {'; '.join(r.get('notes', []))}")
                continue
            fails.append(
                f"- {lab}: {r.get('registered_at_cold_end', 0):,} of {r['lines']:,} lines "
                f"registered after {r.get('cold_waited', 0):.0f} s"
                f"{' (' + r['cold_stalled'] + ')' if r.get('cold_stalled') else ''}; "
                f"{r.get('lines_loaded')} rows loaded; {r.get('shm_errors', 0):,} shm "
                f"allocation errors, peak {fmt(r.get('shm_peak'), 'mb')}"
                + (f"; a tm transaction asked for {r['tm_cell_bytes']:,} B"
                   if r.get("tm_cell_bytes") else "")
                + (f"; first: `{r['first_shm_error']}`" if r.get("first_shm_error") else ""))
    if fails:
        w("## Where it fails\n")
        out.extend(fails)
        w("")
    w("## Details per phase\n")
    keys = ("expires", "stock_timer", "processes", "lines_loaded", "cold_complete", "cold_time",
            "cold_waited", "cold_stalled", "registered_at_cold_end", "uacreg_summary_registered",
            "cold_requests", "cold_registered", "cold_retrans", "challenge_answer_p50",
            "challenge_answer_p90", "challenge_answer_max", "window", "window_complete",
            "window_lines_refreshed", "refreshes", "refresh_requests", "window_retrans",
            "cpu_window", "cpu_per_1k_refresh", "cpu_per_1k_refresh_above_idle",
            "cpu_window_by_process", "rounds", "round_values", "round_loads",
            "round_cpu_by_process", "idle_by_process", "round_idle_by_process", "round_failed", "sipp_cpu_window", "idle_cpu_ms_per_s", "idle_engine_ms_per_s", "cpu_total",
            "sipp_cpu_total", "shm_baseline", "shm_after_cold", "shm_after_window",
            "shm_steady_mean", "shm_rest_used", "shm_per_line", "shm_end_used", "shm_peak",
            "quiet_before_reload", "rest_requests", "reload_ok", "reload_time", "reload_output",
            "reload_window", "reload_requests", "reload_requests_with_credentials",
            "reload_retrans", "reload_lines", "reload_unchanged_requests", "reload_changed_ok",
            "reload_failures", "failures", "registers_total", "sipp_retrans_total",
            "sipp_timeouts", "sipp_unexpected", "timeouts_408", "shm_errors",
            "first_shm_error", "tm_cell_bytes", "send_failed", "errors", "crit", "tm_stats",
            "uacreg_summary_end")
    for (key, e), r in sorted(results.items()):
        w(f"### {key[0]:,} lines, shm {key[1]} MB, {e}\n")
        for k in keys:
            if k in r:
                v = r[k]
                if isinstance(v, float):
                    v = f"{v:.4g}"
                w(f"- {k}: {v}")
        for note in r.get("notes", []):
            w(f"- note: {note}")
        w("")
    return "\n".join(out) + "\n", verdicts
