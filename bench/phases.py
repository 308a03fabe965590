"""The bench's phases (see bench.py's docstring): the size of a phase and
its budgets, the cold / steady / rest / reload phase of one (size, engine)
(run_phase), the empty-table shm baseline, the carrier outage phase, and the
wire figures computed from the registrar's events (analyze)."""
import bisect
import os
import signal
import subprocess
import re
import statistics
import time

from engines import (Kamailio, PyRegistrar, RELOAD_CHANGED, REST, RegLog, STALL,
                     STEADY_MAX_EXPIRES, Sipp, load_table, log, user_name)


def counts_at(rows, t):
    """Counters of the last dump at or before t (sipp dumps every second)."""
    times = [r[0] for r in rows]
    i = bisect.bisect_right(times, t) - 1
    return rows[i][1] if i >= 0 else {}


def csum(vals, suffix, what="REGISTER"):
    return sum(v for k, v in vals.items() if k.endswith(f"_{what}_{suffix}"))


def delta(rows, t0, t1, suffix, what="REGISTER"):
    return csum(counts_at(rows, t1), suffix, what) - csum(counts_at(rows, t0), suffix, what)


def analyze(events, b, changed):
    """Wire figures from the registrar's events and the phase boundaries b."""
    events.sort(key=lambda e: e[0])
    first_ok = {}
    since_ok = {}
    challenged = {}
    delays = []
    r = {"cold_requests": 0, "cold_registered": 0, "cold_unregistered_requests": 0,
         "refreshes": 0, "refresh_requests": 0, "window_requests": 0,
         "reload_requests": 0, "reload_requests_with_credentials": 0, "reload_lines": set(), "reload_changed_ok": set(),
         "reload_unchanged_requests": 0, "rest_requests": 0, "failures": 0,
         "reload_failures": 0}
    for t, kind, user, auth in events:
        if kind == "R":
            since_ok[user] = since_ok.get(user, 0) + 1
            # cold: a REGISTER without credentials is challenged (401); the
            # next one of the line carries the answer
            if user not in first_ok and t <= b["cold_end"]:
                if not auth:
                    challenged.setdefault(user, t)
                elif user in challenged:
                    delays.append(t - challenged.pop(user))
            if user not in first_ok and t <= b["cold_end"]:
                r["cold_requests"] += 1
            if b["flag"] <= t <= b["win_end"]:
                r["window_requests"] += 1
            if b.get("rest0") and b["rest0"] <= t < b["reload0"]:
                r["rest_requests"] += 1
            if b.get("reload0") and b["reload0"] <= t <= b["reload_end"]:
                r["reload_requests"] += 1
                if auth:
                    r["reload_requests_with_credentials"] += 1
                r["reload_lines"].add(user)
                if user not in changed:
                    r["reload_unchanged_requests"] += 1
        elif kind == "O":
            if user not in first_ok:
                first_ok[user] = t
                if t <= b["cold_end"]:
                    r["cold_registered"] += 1
            elif b["flag"] <= t <= b["win_end"]:
                r["refreshes"] += 1
                r["refresh_requests"] += since_ok.get(user, 0)
            if b.get("reload0") and t >= b["reload0"] and user in changed:
                r["reload_changed_ok"].add(user)
            since_ok[user] = 0
        elif kind == "F":
            r["failures"] += 1
            if b.get("reload0") and t >= b["reload0"]:
                r["reload_failures"] += 1
    delays.sort()
    if delays:
        r["challenge_answer_p50"] = delays[len(delays) // 2]
        r["challenge_answer_p90"] = delays[int(len(delays) * 0.9)]
        r["challenge_answer_max"] = delays[-1]
    r["reload_lines"] = len(r["reload_lines"])
    r["reload_changed_ok"] = len(r["reload_changed_ok"])
    return r


class Size:
    """A size of the run: lines, the shm Kamailio gets (MB) and, optionally,
    the rows' expires: N[@MB][/EXPIRES]."""

    def __init__(self, spec):
        spec, _, exp = spec.partition("/")
        n, _, shm = spec.partition("@")
        self.n = int(n.replace("_", ""))
        self.shm = int(shm) if shm else None  # None: --shm (default 64)
        self.expires = int(exp) if exp else None

    def shm_mb(self, args):
        return self.shm or args.shm

    def label(self, args):
        extra = f", shm {self.shm} MB" if self.shm and self.shm != args.shm else ""
        if self.expires:
            extra += f", expires {self.expires} s"
        return f"{self.n:,}{extra}"

    def key(self, args):
        return (self.n, self.shm_mb(args), self.expires)


def expires_for(args, n, size=None):
    """The size's own expires, --expires, or 60 s unless a refresh cycle of
    n lines would need more than 45 % of the uacreg rate (one REGISTER per
    refresh): then the next multiple of 60 that keeps it there."""
    if size is not None and size.expires:
        return size.expires
    if args.expires:
        return args.expires
    need = 2.2 * n / args.rate
    return max(60, int(-(-need // 60)) * 60)


def stock_timer(expires):
    """reg_timer_interval: stock refreshes a line when it has less than
    timer+3 s left, checked every timer s, so about expires/6 keeps it
    refreshing at 75-95 % of the expiry (uacreg: 90 %). At most 60 s: stock
    sends its first REGISTERs at its first tick, and waits a tick to retry."""
    return max(2, min(60, expires // 6))


def cold_budget(args, n, size=None):
    """How long the cold phase may wait: uacreg needs about 2 n / rate s. A
    size with its own (long) expires is the one that shows every line
    registered in the default shm: there tm's memory, not the rate, sets
    the pace (two transactions a line, each kept 5 s after its reply, in
    what the lines leave free), so it may take up to an hour."""
    if args.cold_budget:
        return args.cold_budget
    if size is not None and size.expires:
        return 3600.0
    return min(420.0, max(120.0, 30.0 + 3.0 * n / args.rate))


class Profile:
    """perf record (cpu-clock: no hardware counters in a VM) with call
    graphs unwound from DWARF (Debian builds Kamailio without frame
    pointers) on the given processes, until stop(); stop() returns the top
    functions by self time and process (perf-report.txt keeps it all;
    perf.data stays for `perf report -G`)."""

    def __init__(self, pdir, pids):
        self.data = pdir / "perf.data"
        self.out = pdir / "perf-report.txt"
        self.proc = subprocess.Popen(
            ["perf", "record", "-q", "-e", "cpu-clock", "-F", "999", "--call-graph",
             "dwarf,8192", "-o", str(self.data), "-p", ",".join(str(p) for p in pids)],
            stdout=subprocess.DEVNULL, stderr=open(pdir / "perf.log", "w"),
            start_new_session=True)

    def stop(self, roles):
        try:
            os.kill(self.proc.pid, signal.SIGINT)
            self.proc.wait(60)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        try:
            rep = subprocess.run(
                ["perf", "report", "-i", str(self.data), "--stdio", "--no-children",
                 "-g", "none", "--sort", "pid,dso,symbol", "--percent-limit", "0.5"],
                capture_output=True, text=True, timeout=300).stdout
        except subprocess.TimeoutExpired:
            return []
        self.out.write_text(rep)
        top = []
        for line in rep.splitlines():
            m = re.match(r"\s*([\d.]+)%\s+\S+?:(\d+)\s+(\S+)\s+\[[.k]\]\s+(.*)", line)
            if m:
                role = re.sub(r"\s+", " ", roles.get(int(m.group(2)), "?"))
                role = re.sub(r"(child|sock)=\S+", "", role).strip()
                top.append((float(m.group(1)), role, m.group(3), m.group(4).strip()))
        return top[:40]


def rounds_for(args, size):
    """Rounds of the alternation at this size: --rounds where a refresh
    window is measured in a few minutes (at most 10,000 lines, no long
    expires), else one."""
    if size.n <= 10000 and not size.expires and expires_for(args, size.n, size) <= 120:
        return max(1, args.rounds)
    return 1


ROUND_KEYS = ("cpu_per_1k_refresh", "cpu_per_1k_refresh_above_idle", "idle_cpu_ms_per_s",
              "idle_engine_ms_per_s", "wakeups_per_refresh")


def fold_rounds(r, rounds):
    """The figures of every round into the first round's result: for each
    CPU figure its values by round, median, min and max; the median
    replaces the figure (the report and the targets read it)."""
    r["rounds"] = len(rounds)
    r["round_values"] = {}
    for k in ROUND_KEYS:
        vals = [x.get(k) for x in rounds]
        r["round_values"][k] = vals
        got = [v for v in vals if v is not None]
        if got:
            r[k] = statistics.median(got)
            r[k + "_min"] = min(got)
            r[k + "_max"] = max(got)
    r["round_loads"] = [x.get("load_at_start") for x in rounds]
    r["round_cpu_by_process"] = [x.get("cpu_window_by_process") for x in rounds]
    r["round_idle_by_process"] = [x.get("idle_by_process") for x in rounds]
    r["round_failed"] = sum(1 for x in rounds if x.get("failed"))


def by_role(roles, before, after):
    """CPU seconds between two cpu_by_pid() readings, summed by Kamailio's
    name of the process (the SIP workers together), largest first."""
    per = {}
    for pid, c in after.items():
        role = re.sub(r"\s+", " ", roles.get(pid, f"pid {pid}"))
        role = re.sub(r"child=\d+", "child=*", role)
        per[role] = per.get(role, 0.0) + c - before.get(pid, 0.0)
    return [(k, v) for k, v in sorted(per.items(), key=lambda x: -x[1]) if v > 0]


def rest_phase(kam, rl, res):
    """Nothing due: once tm's wait timer (5 s) drained, idle CPU (from the
    scheduler's run time, to the microsecond) and shm at rest. Returns when
    the rest began."""
    time.sleep(6.5)
    rest0 = time.time()
    by0 = kam.runtime_by_pid()
    time.sleep(REST)
    by1 = kam.runtime_by_pid()
    secs = time.time() - rest0
    res["idle_cpu_ms_per_s"] = (sum(by1.values()) - sum(by0.values())) / secs * 1000
    roles = by_role(kam.roles(), by0, by1)
    res["idle_by_process"] = ", ".join(f"{k}: {v / secs * 1000:.2f} ms/s" for k, v in roles)
    # the engine's own processes; Kamailio's core timers are the same code
    # in both engines, and on a virtual machine they move by 0.1-0.2 ms/s
    # from round to round, more than the engines' own difference
    res["idle_engine_ms_per_s"] = sum(
        v for k, v in roles if kam.is_engine_process(k)) / secs * 1000
    rl.poll()
    res["shm_rest_used"] = kam.shm().get("real_used_size")
    res["quiet_before_reload"] = rl.last_r < rest0
    return rest0



def outage_phase(args, run_dir, procs, db, engine, n, secs, params):
    """n lines registered, then a carrier that answers nothing for secs s,
    then answers again (see the docstring)."""
    pdir = run_dir / f"outage-{n}-{engine}"
    pdir.mkdir(parents=True, exist_ok=True)
    expires = 60
    res = {"engine": engine, "lines": n, "outage_s": secs, "expires": expires, "notes": []}
    reg = PyRegistrar(procs, pdir, {user_name(i): "secret" for i in range(1, n + 1)})
    reg.start()
    load_table(db, pdir / "rows.tsv", n, reg.addr, expires)
    p = {**params, "uacreg": dict(params["uacreg"]), "stock": dict(params["stock"])}
    # both engines' lines refresh spread over the expires, as lines loaded
    # over time do (uacreg: its start_spread; stock has none, its timer
    # spreads them by its interval)
    p["uacreg"]["start_spread"] = expires
    p["stock"]["reg_timer_interval"] = stock_timer(expires)
    kam = Kamailio(procs, pdir, engine, db, reg.addr, p)
    name = f"outage {n} lines, {engine}"
    try:
        log(f"{name}: starting")
        kam.start()
        t0 = time.time()
        end = t0 + 240
        while time.time() < end and len(reg.registered_since(0)) < n:
            time.sleep(1)
        res["registered_before"] = len(reg.registered_since(0))
        if res["registered_before"] < n:
            res["notes"].append(f"only {res['registered_before']} of {n} registered before")
        # a full refresh round, so the refreshes are spread as in steady state
        time.sleep(expires)
        down = reg.set(respond="silent")
        log(f"{name}: the registrar answers nothing for {secs} s")
        time.sleep(secs)
        back = reg.set(respond=None)
        res["outage_registers"], res["outage_packets"] = reg.registers(down, back)
        log(f"{name}: {res['outage_registers']} REGISTERs ({res['outage_packets']} packets) "
            "during the outage; the registrar answers again")
        end = back + 240
        while time.time() < end and len(reg.registered_since(back)) < n:
            time.sleep(0.5)
        got = reg.registered_since(back)
        res["registered_after"] = len(got)
        ts = sorted(r["t"] for r in reg.recs if r.get("dir") == "out"
                    and r.get("code") == 200 and r["t"] >= back)
        res["recovery_s"] = (max(
            min(r["t"] for r in reg.recs if r.get("dir") == "out" and r.get("code") == 200
                and r["t"] >= back and r["user"] == u) for u in got) - back) if len(got) == n else None
        res["first_ok_after_s"] = ts[0] - back if ts else None
        res["recovery_registers"], _ = reg.registers(back, time.time())
        if engine == "uacreg":
            rc, text, _ = kam.rpc("cnt.get", "uacreg", "carrier_outages")
            res["carrier_outages"] = text.strip() if rc == 0 else None
        log(f"{name}: {res['registered_after']} of {n} registered again "
            f"in {res['recovery_s'] if res['recovery_s'] is not None else 'n/a'} s")
    finally:
        kam.stop()
        reg.stop()
    return res



def run_phase(args, run_dir, procs, db, engine, size, params, round_no=0):
    """One (size, engine) phase. round_no > 0: an extra round of the
    alternation (uacreg, stock, uacreg, ...), which only needs the CPU
    figures: no reload (its REGISTERs are counted in round 0), and in the
    smoke no rest either."""
    n = size.n
    shm_mb = size.shm_mb(args)
    extra = round_no > 0
    pdir = run_dir / (f"{n}-{shm_mb}MB-{engine}" + (f"-r{round_no}" if extra else ""))
    pdir.mkdir(parents=True, exist_ok=True)
    expires = expires_for(args, n, size)
    timer = stock_timer(expires)
    reload_window = args.reload_window or max(10.0, timer + 5.0)
    params = dict(params)
    params["stock"] = dict(params["stock"], reg_timer_interval=timer)
    res = {"engine": engine, "lines": n, "shm_mb": shm_mb, "notes": [], "expires": expires,
           "stock_timer": timer, "reload_window": reload_window, "round": round_no,
           "load_at_start": os.getloadavg()[0]}
    sipp = Sipp(procs, pdir)
    load_table(db, pdir / "rows.tsv", n, sipp.addr, expires)
    sipp.start()
    rl = RegLog(sipp.logfile)
    kam = Kamailio(procs, pdir, engine, db, sipp.addr, params, shm_mb)
    sipp_cpu0 = sipp.cpu()
    name = f"{size.label(args)} lines, {engine}"
    try:
        log(f"{name}: starting Kamailio (shm {shm_mb} MB, expires {expires} s)")
        kam.start()
        t0 = kam.t_start
        res["processes"] = kam.cpu()[1]

        # ---- cold: until the registrar answered 200 to every line -------
        # It stops earlier when nothing moves for STALL s: no REGISTER at
        # all, or no new registered line once uacreg's first round (n / rate
        # s of REGISTERs without credentials) could be over.
        budget = cold_budget(args, n, size)
        # stock retries failed lines only at its timer ticks
        stall = max(STALL, timer + 30)
        res["cold_stall_after"] = stall
        deadline = t0 + budget
        grace = t0 + n / args.rate
        last_print = 0
        done_n, done_t = 0, t0
        last_r = t0
        stalled = ""
        while time.time() < deadline:
            rl.poll()
            now = time.time()
            if len(rl.first_ok) >= n:
                break
            if len(rl.first_ok) > done_n:
                done_n, done_t = len(rl.first_ok), now
            if rl.last_r:
                last_r = max(last_r, rl.last_r)
            if now - last_r > stall:
                stalled = f"no REGISTER for {stall} s"
                break
            if now > grace + stall and now - max(done_t, grace) > stall:
                stalled = f"no new registered line for {stall} s"
                break
            if kam.proc.poll() is not None:
                raise RuntimeError(f"kamailio ({engine}) died during cold start")
            if now - last_print > 30:
                log(f"  cold: {len(rl.first_ok)}/{n} lines answered 200 after {now - t0:.0f} s")
                last_print = now
            time.sleep(0.25)
        rl.poll()
        complete = len(rl.first_ok) >= n
        cold_end = max(rl.first_ok.values()) if complete else time.time()
        res["cold_complete"] = complete
        res["cold_time"] = cold_end - t0 if complete else None
        res["cold_budget"] = budget
        res["cold_waited"] = time.time() - t0
        res["cold_stalled"] = stalled
        res["registered_at_cold_end"] = len(rl.first_ok)
        res["lines_loaded"] = kam.lines_loaded()
        if engine == "uacreg":
            res["uacreg_summary_registered"] = kam.registered()
        sh = kam.shm()
        res["shm_after_cold"] = (sh.get("real_used_size"), sh.get("max_used_size"))
        log(f"  cold: {len(rl.first_ok)}/{n} registered"
            + (f" in {res['cold_time']:.2f} s" if complete else
               f" after {res['cold_waited']:.0f} s ({stalled or 'budget over'})")
            + f"; {res['lines_loaded']} lines loaded")

        # ---- steady: one refresh cycle of every registered line ---------
        measured = len(rl.first_ok) >= 0.95 * n
        steady = measured and expires <= STEADY_MAX_EXPIRES
        flag = win_end = rest0 = reload0 = reload_end = None
        if measured and not steady:
            res["notes"].append(f"expires {expires} s: no refresh cycle within the run "
                                "(refreshes are measured at the other sizes)")
            rest0 = rest_phase(kam, rl, res)
            # the reload's window needs a registrar that grants long enough
            flag = win_end = sipp.quiet()  # an empty refresh window
            rl.set_mark(flag)
        if steady:
            time.sleep(1.0)
            registered = set(rl.first_ok)
            roles = kam.roles()
            flag = sipp.quiet()
            by_pid0 = kam.cpu_by_pid()
            sw0 = kam.switches_by_pid()
            cpu0 = sum(by_pid0.values())
            prof = None
            if engine in (args.profile or "").split(","):
                prof = Profile(pdir, sorted(by_pid0))
            scpu0 = sipp.cpu()
            rl.set_mark(flag)
            shm_samples = []
            win_deadline = flag + expires + 30
            next_shm = time.time() + 2
            while time.time() < win_deadline:
                rl.poll()
                if registered <= rl.ok_since_mark:
                    break
                if time.time() >= next_shm:
                    v = kam.shm().get("real_used_size")
                    if v:
                        shm_samples.append(v)
                    next_shm = time.time() + 5
                time.sleep(0.25)
            win_end = time.time()
            by_pid1 = kam.cpu_by_pid()
            sw1 = kam.switches_by_pid()
            if prof:
                res["profile_top"] = prof.stop(roles)
            cpu1 = sum(by_pid1.values())
            scpu1 = sipp.cpu()
            rl.poll()
            res["window"] = win_end - flag
            res["window_complete"] = registered <= rl.ok_since_mark
            res["window_lines_refreshed"] = len(registered & rl.ok_since_mark)
            res["cpu_window"] = cpu1 - cpu0
            res["switches_window"] = sum(v - sw0.get(pid, 0) for pid, v in sw1.items())
            res["sipp_cpu_window"] = scpu1 - scpu0
            res["cpu_window_by_process"] = ", ".join(
                f"{k}: {v:.2f} s" for k, v in by_role(roles, by_pid0, by_pid1))
            res["shm_steady_mean"] = statistics.mean(shm_samples) if shm_samples else None
            sh = kam.shm()
            res["shm_after_window"] = (sh.get("real_used_size"), sh.get("max_used_size"))
            log(f"  steady: window {res['window']:.1f} s, {res['window_lines_refreshed']}/"
                f"{len(registered)} lines refreshed, CPU {res['cpu_window']:.2f} s")

            if not (extra and args.smoke):
                rest0 = rest_phase(kam, rl, res)
        else:
            res["notes"].append("cold start incomplete (< 95 % of the lines): no steady "
                                "window, no rest, reload timed but its REGISTERs not counted")

        # ---- reload: 100 rows get another valid password ----------------
        if extra:
            res.update(kam.log_counts())
            b = {"cold_end": cold_end, "flag": flag or time.time() + 1e6,
                 "win_end": win_end or time.time() + 1e6, "rest0": None, "reload0": None,
                 "reload_end": None}
            res.update(analyze(rl.events, b, set()))
            if measured and steady and res["refreshes"]:
                per_refresh_figures(res)
            return res
        step = max(1, n // RELOAD_CHANGED)
        changed = {user_name(i) for i in range(step, n + 1, step)}
        changed = set(sorted(changed)[:RELOAD_CHANGED])
        db.sql("UPDATE uacreg SET auth_password='secret-b' WHERE l_uuid IN ("
               + ",".join(f"'{u}'" for u in sorted(changed)) + ")")
        cmd = "uacreg.reload" if engine == "uacreg" else "uac.reg_reload"
        t = time.time()
        rc, text, took = kam.rpc(cmd)
        out = " ".join(text.split())
        ok = rc == 0 and not out.lower().startswith("error")
        res["reload_ok"] = ok
        res["reload_time"] = took
        res["reload_output"] = out[:300]
        log(f"  reload: {cmd} took {took:.3f} s ({'ok' if ok else 'FAILED'}): {out[:150]}")
        if measured:
            reload0 = t
            reload_end = reload0 + reload_window
            while time.time() < reload_end + 1.0:
                rl.poll()
                time.sleep(0.25)
        time.sleep(1.5)  # one more counters dump after the last boundary
        rl.poll()

        # ---- final figures ----------------------------------------------
        sh = kam.shm()
        res["shm_peak"] = sh.get("max_used_size")
        res["shm_end_used"] = sh.get("real_used_size")
        rc, text, _ = kam.rpc("tm.stats")
        res["tm_stats"] = " ".join(text.split())[:300]
        res["cpu_total"] = kam.cpu()[0]
        res["sipp_cpu_total"] = sipp.cpu() - sipp_cpu0
        if engine == "uacreg":
            res["uacreg_summary_end"] = " ".join(kam.rpc("uacreg.summary")[1].split())[:300]
        res.update(kam.log_counts())

        far = time.time() + 1e6
        b = {"cold_end": cold_end, "flag": flag or far, "win_end": win_end or far,
             "rest0": rest0, "reload0": reload0, "reload_end": reload_end}
        res.update(analyze(rl.events, b, changed))
        rows = sipp.counts()
        res["cold_retrans"] = delta(rows, 0, cold_end + 1.0, "Retrans")
        last = rows[-1][1] if rows else {}
        res["sipp_retrans_total"] = csum(last, "Retrans")
        res["sipp_timeouts"] = csum(last, "Timeout")
        res["sipp_unexpected"] = sum(v for k, v in last.items() if k.endswith("_Unexp"))
        res["registers_total"] = csum(last, "Recv")
        cr = res["cold_registered"]
        res["cold_req_per_reg"] = res["cold_requests"] / cr if cr else None
        res["cold_wire_per_reg"] = (res["cold_requests"] + res["cold_retrans"]) / cr if cr else None
        if measured:
            res["window_retrans"] = delta(rows, flag, win_end + 1.0, "Retrans")
            res["reload_retrans"] = delta(rows, reload0, reload_end + 1.0, "Retrans")
            rf = res["refreshes"]
            res["wire_per_refresh"] = ((res["refresh_requests"] + res["window_retrans"]) / rf
                                       if rf else None)
            per_refresh_figures(res)
            res["reload_wire"] = res["reload_requests"] + res["reload_retrans"]
        else:
            for k in ("refreshes", "refresh_requests", "reload_requests", "reload_lines",
                      "reload_changed_ok", "reload_requests_with_credentials",
                      "reload_unchanged_requests"):
                res[k] = None
    finally:
        kam.stop()
        sipp.stop()
    return res


def per_refresh_figures(res):
    """Requests, CPU and wake-ups per refresh of the steady window (None
    without refreshes); CPU above idle when the rest measured idle."""
    rf = res["refreshes"]
    res["req_per_refresh"] = res["refresh_requests"] / rf if rf else None
    res["cpu_per_1k_refresh"] = res["cpu_window"] / rf * 1000 if rf else None
    sw = res.get("switches_window")
    res["wakeups_per_refresh"] = sw / rf if rf and sw is not None else None
    if rf and res.get("idle_cpu_ms_per_s") is not None:
        work = res["cpu_window"] - res["idle_cpu_ms_per_s"] / 1000 * res["window"]
        res["cpu_per_1k_refresh_above_idle"] = work / rf * 1000


def baseline_shm(args, run_dir, procs, db, engine, params):
    """shm in use by the same configuration with an empty table."""
    pdir = run_dir / f"empty-{engine}"
    pdir.mkdir(parents=True, exist_ok=True)
    db.sql("TRUNCATE TABLE uacreg")
    kam = Kamailio(procs, pdir, engine, db, "127.0.0.1:9", params, args.shm)
    try:
        kam.start()
        time.sleep(3.0)
        sh = kam.shm()
    finally:
        kam.stop()
    return sh.get("real_used_size"), sh.get("max_used_size")
