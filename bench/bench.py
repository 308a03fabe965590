#!/usr/bin/python3
"""make bench: uacreg against stock uac in the same run, on the same table
and the same sipp registrar, for 1,000 / 10,000 / 100,000 lines.

Everything runs on 127.0.0.1 with free ports: a private MariaDB, and for each
size and engine one sipp registrar (bench/sipp/registrar.xml) and one
Kamailio (bench/kamailio-bench.cfg). One phase per (size, engine):

  cold      Kamailio starts with N rows in `uacreg`; the phase waits until the
            registrar has answered 200 to every line (its log, one line per
            message). Time is counted from the start of the Kamailio process.
  steady    bench.py flips the registrar's quiet switch (later 200s grant
            3600 s) and samples the CPU of Kamailio's process group; the window
            ends when every registered line has refreshed once (its 200 came
            after the switch). CPU per 1,000 refreshes = CPU of the window /
            refreshes in it. Requests per refresh = REGISTERs of each line
            between its previous 200 and this one.
  rest      nothing is due (every line holds 3600 s): after tm's wait timer the
            shm in use, minus the same configuration with an empty table,
            divided by the lines is the shm per line.
  reload    100 rows get auth_password 'secret-b' (the registrar accepts it
            too); the reload RPC is timed and every REGISTER in the window
            after it was caused by it (nothing else is due).

Retransmissions come from sipp's -trace_counts (the Retrans columns, dumped
every second), 408s from the Kamailio log of each engine.

Started processes are written to RUN/pids; run.sh stops them by PID should
this script die; this script stops them itself on any exit.
"""
import argparse
import bisect
import csv
import datetime
import hashlib
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
MODDIR = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")
UACREG_SO = ROOT / "modules" / "uacreg" / "uacreg.so"
STOCK_SO = MODDIR / "uac.so"
SCHEMA = ROOT / "sql" / "uacreg-create.sql"
CFG = BENCH / "kamailio-bench.cfg"
REGISTRAR = BENCH / "sipp" / "registrar.xml"
CLK = os.sysconf("SC_CLK_TCK")
SHM_MB = 64  # Kamailio's default; --shm changes it
PKG_MB = 8
RELOAD_CHANGED = 100
REST = 10.0  # s of the idle CPU measurement, nothing due
STALL = 70  # s without a new registered line: the cold phase stops waiting
QUIET_USER = "bench-quiet-on"
ENGINES = ("uacreg", "stock")


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port(host="127.0.0.1"):
    """A port free for UDP and TCP on host."""
    for _ in range(100):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((host, 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind((host, port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    raise RuntimeError("no free port")


class Procs:
    """Every process this run starts, stopped by PID (each leads its own
    process group, so a Kamailio's children go with it)."""

    def __init__(self, pidfile):
        self.pidfile = pidfile
        self.items = []

    def start(self, args, **kw):
        p = subprocess.Popen(args, start_new_session=True, **kw)
        self.items.append(p)
        with open(self.pidfile, "a") as f:
            f.write(f"{p.pid}\n")
        return p

    def stop(self, p, timeout=30):
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(10)
        # children a Kamailio left behind (it normally stops them itself)
        if pgroup_pids(p.pid):
            time.sleep(1)
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop_all(self):
        for p in reversed(self.items):
            self.stop(p)


def proc_stat(pid):
    """(pgrp, utime+stime ticks) of one process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    return int(rest[2]), int(rest[11]) + int(rest[12])


def pgroup_pids(pgid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(d)
            if st and st[0] == pgid:
                out.append(int(d))
    return out


def group_cpu(pgid):
    """CPU seconds (user+system) of every live process in a process group."""
    total = 0
    n = 0
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(d)
            if st and st[0] == pgid:
                total += st[1]
                n += 1
    return total / CLK, n


class MariaDB:
    def __init__(self, directory, procs):
        self.dir = directory
        self.port = free_port()
        self.sock = directory / "mysqld.sock"
        self.url = f"mysql://uacreg:uacreg@127.0.0.1:{self.port}/uacreg"

    def start(self):
        out = subprocess.run(["bash", str(ROOT / "scripts" / "mariadb.sh"), "start",
                              str(self.dir), str(self.port)],
                             check=True, capture_output=True, text=True)
        self.pid = int(out.stdout.strip().splitlines()[-1])
        self.sql(SCHEMA.read_text())

    def stop(self):
        subprocess.run(["bash", str(ROOT / "scripts" / "mariadb.sh"), "stop", str(self.dir)],
                       check=False)

    def sql(self, query, local_infile=False):
        args = ["mariadb", "--no-defaults", "-S", str(self.sock), "-uroot", "-N", "-B"]
        if local_infile:
            args.append("--local-infile=1")
        args.append("uacreg")
        out = subprocess.run(args, input=query, check=True, capture_output=True, text=True)
        return [line.split("\t") for line in out.stdout.splitlines()]


def user_name(i):
    return f"b{i:06d}"


COLS = ("l_uuid", "l_username", "l_domain", "r_username", "r_domain", "realm",
        "auth_username", "auth_password", "auth_ha1", "auth_proxy", "expires",
        "flags", "reg_delay", "contact_addr", "socket")


def load_table(db, path, n, carrier, expires):
    """N rows, one LOAD DATA: every line a user of the carrier with the
    password it accepts. auth_proxy is set because stock uac 5.6 ignores a
    row with an empty one. Columns uacreg adds keep their defaults (NULL:
    the module defaults)."""
    proxy = f"sip:{carrier}"
    with open(path, "w") as f:
        for i in range(1, n + 1):
            u = user_name(i)
            f.write("\t".join((u, u, "sbc.bench", u, carrier, "", u, "secret", "",
                               proxy, str(expires), "0", "0", "", "")) + "\n")
    db.sql("TRUNCATE TABLE uacreg;\n"
           f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE uacreg "
           "FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n' "
           f"({', '.join(COLS)});", local_infile=True)
    got = int(db.sql("SELECT COUNT(*) FROM uacreg")[0][0])
    if got != n:
        raise RuntimeError(f"table has {got} rows, wanted {n}")


class Sipp:
    """The registrar. Its -trace_logs file has one short line per REGISTER
    and per answer; its -trace_counts file the per-message counters (with
    Retrans), dumped every second."""

    def __init__(self, procs, pdir):
        self.procs = procs
        self.dir = pdir / "sipp"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.logfile = self.dir / "registrar.log"
        self.proc = None

    def start(self):
        self.proc = self.procs.start(
            ["sipp", "-sf", str(REGISTRAR), "-i", "127.0.0.1", "-p", str(self.port),
             "-t", "u1", "-nostdin", "-deadcall_wait", "1000",
             "-trace_logs", "-log_file", str(self.logfile),
             "-trace_counts", "-fd", "1",
             # no -trace_err: verifyauth warns about every REGISTER without
             # credentials; unexpected messages show in the counts (Unexp)
             "-buff_size", "4194304", "-max_recv_loops", "100000",
             "-max_sched_loops", "100000"],
            cwd=str(self.dir), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "stderr.log", "w"))
        time.sleep(0.5)
        if self.proc.poll() is not None:
            raise RuntimeError("sipp exited: " + (self.dir / "stderr.log").read_text()[-2000:])
        return self

    def stop(self):
        if self.proc:
            self.procs.stop(self.proc)

    def cpu(self):
        st = proc_stat(self.proc.pid)
        return st[1] / CLK if st else 0.0

    def counts(self):
        """[(epoch, {column: value})] from the -trace_counts file."""
        files = sorted(self.dir.glob("*_counts.csv"))
        if not files:
            return []
        rows = []
        with open(files[-1], newline="") as f:
            r = csv.reader(f, delimiter=";")
            head = None
            for row in r:
                if not row:
                    continue
                if head is None:
                    head = row
                    continue
                try:
                    t = float(row[0].split("\t")[-1])
                except ValueError:
                    continue
                vals = {}
                for k, v in zip(head[2:], row[2:]):
                    if k:
                        try:
                            vals[k] = int(v)
                        except ValueError:
                            pass
                rows.append((t, vals))
        return rows

    def quiet(self):
        """Sends the REGISTER that flips the registrar's quiet switch; returns
        the time it was answered."""
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(1.0)
        port = s.getsockname()[1]
        try:
            for attempt in range(10):
                cid = f"quiet-{os.getpid()}-{time.time_ns()}"
                msg = (f"REGISTER sip:{self.addr} SIP/2.0\r\n"
                       f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{time.time_ns()}\r\n"
                       f"From: <sip:{QUIET_USER}@127.0.0.1>;tag=q{attempt}\r\n"
                       f"To: <sip:{QUIET_USER}@127.0.0.1>\r\n"
                       f"Call-ID: {cid}\r\nCSeq: 1 REGISTER\r\nMax-Forwards: 70\r\n"
                       f"Contact: <sip:{QUIET_USER}@127.0.0.1:{port}>\r\nExpires: 60\r\n"
                       "Content-Length: 0\r\n\r\n")
                t = time.time()
                s.sendto(msg.encode(), ("127.0.0.1", self.port))
                end = time.time() + 1.0
                while time.time() < end:
                    try:
                        data = s.recv(4096).decode(errors="replace")
                    except socket.timeout:
                        break
                    if cid in data and data.startswith("SIP/2.0 200"):
                        return t
        finally:
            s.close()
        raise RuntimeError("the registrar did not answer the quiet switch")


class RegLog:
    """Follows the registrar's log. Keeps every event (time, kind, user,
    with credentials) for the analysis at the end, and what the phases wait
    on: lines answered 200 at least once, and lines answered since a mark."""

    def __init__(self, path):
        self.path = path
        self.off = 0
        self.partial = ""
        self.events = []
        self.first_ok = {}
        self.last_ok = {}
        self.last_r = 0.0
        self.mark = None
        self.ok_since_mark = set()

    def poll(self):
        try:
            with open(self.path, "r", errors="replace") as f:
                f.seek(self.off)
                data = f.read()
                self.off = f.tell()
        except FileNotFoundError:
            return
        if not data:
            return
        data = self.partial + data
        lines = data.split("\n")
        self.partial = lines.pop()
        for line in lines:
            p = line.split()
            if len(p) < 4 or p[0] not in ("R", "O", "F"):
                continue
            try:
                t = float(p[1]) + float(p[2]) / 1e6
            except ValueError:
                continue
            user = p[3]
            if user == QUIET_USER:
                continue
            kind = p[0]
            self.events.append((t, kind, user, len(p) > 4))
            if kind == "R":
                self.last_r = max(self.last_r, t)
            elif kind == "O":
                if user not in self.first_ok:
                    self.first_ok[user] = t
                self.last_ok[user] = t
                if self.mark is not None and t >= self.mark:
                    self.ok_since_mark.add(user)

    def set_mark(self, t):
        self.mark = t
        self.ok_since_mark = {u for u, lt in self.last_ok.items() if lt >= t}


class Kamailio:
    def __init__(self, procs, pdir, engine, db, sipp_addr, params):
        self.procs = procs
        self.dir = pdir / "kamailio"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.engine = engine
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.ctl = self.dir / "ctl.sock"
        self.log = self.dir / "kamailio.log"
        text = CFG.read_text()
        subst = {
            "LISTEN": self.addr, "MODDIR": str(MODDIR), "UACREG_SO": str(params["uacreg_so"]),
            "CTLSOCK": str(self.ctl), "DBURL": db.url,
            "UACREG_PARAMS": "\n".join(f'modparam("uacreg", "{k}", {v})'
                                       for k, v in params["uacreg"].items()),
            "STOCK_PARAMS": "\n".join(f'modparam("uac", "{k}", {v})'
                                      for k, v in params["stock"].items()),
        }
        for k, v in subst.items():
            text = text.replace(f"@{k}@", v)
        self.cfg = self.dir / "kamailio.cfg"
        self.cfg.write_text(text)
        self.shm_mb = params.get("shm_mb", SHM_MB)
        self.proc = None

    def start(self):
        if self.ctl.exists():
            self.ctl.unlink()
        define = "BENCH_UACREG" if self.engine == "uacreg" else "BENCH_STOCK"
        self.t_start = time.time()
        self.proc = self.procs.start(
            ["kamailio", "-f", str(self.cfg), "-DD", "-E", "-w", str(self.dir),
             "-m", str(self.shm_mb), "-M", str(PKG_MB), "-A", define],
            stdin=subprocess.DEVNULL, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        end = time.time() + 60
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kamailio ({self.engine}) exited:\n"
                                   + self.log.read_text(errors="replace")[-3000:])
            if self.ctl.exists() and self.rpc("core.uptime")[0] == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError(f"kamailio ({self.engine}) did not answer RPC within 60 s")

    def stop(self):
        if self.proc:
            self.procs.stop(self.proc)

    def rpc(self, *args, timeout=120):
        t = time.time()
        try:
            out = subprocess.run(["kamcmd", "-s", f"unix:{self.ctl}", *args],
                                 capture_output=True, text=True, timeout=timeout)
            rc, text = out.returncode, out.stdout + out.stderr
        except subprocess.TimeoutExpired:
            rc, text = -1, f"kamcmd {' '.join(args)}: no answer in {timeout} s"
        return rc, text, time.time() - t

    def shm(self):
        rc, text, _ = self.rpc("stats.get_statistics", "shmem:")
        vals = {}
        for m in re.finditer(r"shmem:(\w+)\s*=\s*(\d+)", text):
            vals[m.group(1)] = int(m.group(2))
        return vals

    def cpu(self):
        return group_cpu(self.proc.pid)

    def registered(self):
        """The engine's own count of registered lines (uacreg.summary), or
        None for stock (uac.reg_dump is too big beyond a few thousand lines;
        the registrar's log is what counts for both)."""
        if self.engine != "uacreg":
            return None
        rc, text, _ = self.rpc("uacreg.summary")
        m = re.search(r"registered:\s*(\d+)", text)
        return int(m.group(1)) if rc == 0 and m else None

    def log_counts(self):
        text = self.log.read_text(errors="replace")
        pats = {
            "timeouts_408": r"REGISTER failed: 408|got sip response 408 while registering",
            "shm_errors": r"(?i)(no more|not enough|could not allocate)[^\n]*(shm|shared)|"
                          r"(shm|shared) mem[^\n]*(fail|error|out of)|SHM_MEM_ERROR",
            "send_failed": r"failed to send request",
            "errors": r"\bERROR:",
            "crit": r"\bCRITICAL:|\bALERT:|\bBUG:",
        }
        return {k: len(re.findall(p, text)) for k, p in pats.items()}


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


def expires_for(args, n):
    """--expires, or 60 s unless a refresh cycle of n lines would need more
    than 45 % of the uacreg rate (one REGISTER per refresh): then the next
    multiple of 60 that keeps it there."""
    if args.expires:
        return args.expires
    need = 2.2 * n / args.rate
    return max(60, int(-(-need // 60)) * 60)


def stock_timer(expires):
    """reg_timer_interval: stock refreshes a line when it has less than
    timer+3 s left, checked every timer s, so about expires/6 keeps it
    refreshing at 75-95 % of the expiry (uacreg: 90 %)."""
    return max(2, expires // 6)


def run_phase(args, run_dir, procs, db, engine, n, params):
    pdir = run_dir / f"{n}-{engine}"
    pdir.mkdir(parents=True, exist_ok=True)
    expires = expires_for(args, n)
    timer = stock_timer(expires)
    reload_window = args.reload_window or max(10.0, timer + 5.0)
    params = dict(params)
    params["stock"] = dict(params["stock"], reg_timer_interval=timer)
    res = {"engine": engine, "lines": n, "notes": [], "expires": expires,
           "stock_timer": timer, "reload_window": reload_window}
    sipp = Sipp(procs, pdir)
    load_table(db, pdir / "rows.tsv", n, sipp.addr, expires)
    sipp.start()
    rl = RegLog(sipp.logfile)
    kam = Kamailio(procs, pdir, engine, db, sipp.addr, params)
    sipp_cpu0 = sipp.cpu()
    try:
        log(f"{n} lines, {engine}: starting Kamailio")
        kam.start()
        t0 = kam.t_start
        pgid = kam.proc.pid
        res["processes"] = kam.cpu()[1]

        # ---- cold: until the registrar answered 200 to every line -------
        # uacreg needs 2 n / rate s (two REGISTERs a line); a phase that
        # registers nobody new for STALL s stops waiting earlier
        budget = args.cold_budget or min(420.0, max(120.0, 30.0 + 3.0 * n / args.rate))
        deadline = t0 + budget
        last_print = 0
        progress, progress_t = 0, t0
        stalled = False
        while time.time() < deadline:
            rl.poll()
            if len(rl.first_ok) >= n:
                break
            if len(rl.first_ok) > progress:
                progress, progress_t = len(rl.first_ok), time.time()
            elif time.time() - progress_t > STALL:
                stalled = True
                break
            if kam.proc.poll() is not None:
                raise RuntimeError(f"kamailio ({engine}) died during cold start")
            if time.time() - last_print > 15:
                log(f"  cold: {len(rl.first_ok)}/{n} lines answered 200 "
                    f"after {time.time() - t0:.0f} s")
                last_print = time.time()
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
        if engine == "uacreg":
            res["uacreg_summary_registered"] = kam.registered()
        res["cpu_cold"] = kam.cpu()[0]
        sh = kam.shm()
        res["shm_after_cold"] = (sh.get("real_used_size"), sh.get("max_used_size"))
        log(f"  cold: {len(rl.first_ok)}/{n} registered"
            + (f" in {res['cold_time']:.2f} s" if complete else
               f" after {res['cold_waited']:.0f} s ({'no new line for %d s' % STALL if stalled else 'budget over'})"))

        # ---- steady: one refresh cycle of every registered line ---------
        time.sleep(1.0)
        registered = set(rl.first_ok)
        flag = sipp.quiet()
        cpu0, _ = kam.cpu()
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
        cpu1, nproc = kam.cpu()
        scpu1 = sipp.cpu()
        rl.poll()
        res["window"] = win_end - flag
        res["window_complete"] = registered <= rl.ok_since_mark
        res["window_lines_refreshed"] = len(registered & rl.ok_since_mark)
        res["cpu_window"] = cpu1 - cpu0
        res["sipp_cpu_window"] = scpu1 - scpu0
        res["shm_steady_mean"] = statistics.mean(shm_samples) if shm_samples else None
        sh = kam.shm()
        res["shm_after_window"] = (sh.get("real_used_size"), sh.get("max_used_size"))
        log(f"  steady: window {res['window']:.1f} s, {res['window_lines_refreshed']}/"
            f"{len(registered)} lines refreshed, CPU {res['cpu_window']:.2f} s")

        # ---- rest: nothing due; tm's wait timer (5 s) drains -------------
        time.sleep(6.5)
        rest0 = time.time()
        idle0, _ = kam.cpu()
        time.sleep(REST)
        idle1, _ = kam.cpu()
        res["idle_cpu_ms_per_s"] = (idle1 - idle0) / (time.time() - rest0) * 1000
        rl.poll()
        sh = kam.shm()
        res["shm_rest_used"] = sh.get("real_used_size")
        res["shm_total"] = sh.get("total_size")
        res["quiet_before_reload"] = rl.last_r < rest0

        # ---- reload: 100 rows get another valid password ----------------
        step = max(1, n // RELOAD_CHANGED)
        changed = {user_name(i) for i in range(step, n + 1, step)}
        changed = set(sorted(changed)[:RELOAD_CHANGED])
        db.sql("UPDATE uacreg SET auth_password='secret-b' WHERE l_uuid IN ("
               + ",".join(f"'{u}'" for u in sorted(changed)) + ")")
        reload0 = time.time()
        cmd = "uacreg.reload" if engine == "uacreg" else "uac.reg_reload"
        rc, text, took = kam.rpc(cmd)
        res["reload_rc"] = rc
        res["reload_time"] = took
        res["reload_output"] = " ".join(text.split())[:400]
        log(f"  reload: {cmd} took {took:.3f} s (rc {rc}): {res['reload_output'][:160]}")
        reload_end = reload0 + reload_window
        while time.time() < reload_end + 1.0:
            rl.poll()
            time.sleep(0.25)
        time.sleep(1.5)  # one more counters dump after the window
        rl.poll()

        # ---- final figures ----------------------------------------------
        sh = kam.shm()
        res["shm_peak"] = sh.get("max_used_size")
        res["shm_end_used"] = sh.get("real_used_size")
        res["shm_frags"] = sh.get("fragments")
        rc, text, _ = kam.rpc("tm.stats")
        res["tm_stats"] = " ".join(text.split())[:300]
        res["cpu_total"] = kam.cpu()[0]
        res["sipp_cpu_total"] = sipp.cpu() - sipp_cpu0
        if engine == "uacreg":
            res["uacreg_summary_end"] = " ".join(kam.rpc("uacreg.summary")[1].split())[:300]
        res.update(kam.log_counts())

        b = {"cold_end": cold_end, "flag": flag, "win_end": win_end, "rest0": rest0,
             "reload0": reload0, "reload_end": reload_end}
        a = analyze(rl.events, b, changed)
        res.update(a)
        rows = sipp.counts()
        res["cold_retrans"] = delta(rows, 0, cold_end + 1.0, "Retrans")
        res["window_retrans"] = delta(rows, flag, win_end + 1.0, "Retrans")
        res["reload_retrans"] = delta(rows, reload0, reload_end + 1.0, "Retrans")
        last = rows[-1][1] if rows else {}
        res["sipp_retrans_total"] = csum(last, "Retrans")
        res["sipp_timeouts"] = csum(last, "Timeout")
        res["sipp_unexpected"] = sum(v for k, v in last.items() if k.endswith("_Unexp"))
        res["registers_total"] = csum(last, "Recv")
        if n:
            cr = res["cold_registered"] or 0
            res["cold_req_per_reg"] = res["cold_requests"] / cr if cr else None
            res["cold_wire_per_reg"] = ((res["cold_requests"] + res["cold_retrans"]) / cr
                                        if cr else None)
            rf = res["refreshes"]
            res["req_per_refresh"] = res["refresh_requests"] / rf if rf else None
            res["wire_per_refresh"] = ((res["refresh_requests"] + res["window_retrans"]) / rf
                                       if rf else None)
            res["cpu_per_1k_refresh"] = res["cpu_window"] / rf * 1000 if rf else None
            if rf and res.get("idle_cpu_ms_per_s") is not None:
                work = res["cpu_window"] - res["idle_cpu_ms_per_s"] / 1000 * res["window"]
                res["cpu_per_1k_refresh_above_idle"] = work / rf * 1000
            res["reload_wire"] = res["reload_requests"] + res["reload_retrans"]
    finally:
        kam.stop()
        sipp.stop()
    return res


def baseline_shm(args, run_dir, procs, db, engine, params):
    """shm in use by the same configuration with an empty table."""
    pdir = run_dir / f"empty-{engine}"
    pdir.mkdir(parents=True, exist_ok=True)
    db.sql("TRUNCATE TABLE uacreg")
    kam = Kamailio(procs, pdir, engine, db, "127.0.0.1:9", params)
    try:
        kam.start()
        time.sleep(3.0)
        sh = kam.shm()
    finally:
        kam.stop()
    return sh.get("real_used_size"), sh.get("max_used_size")


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
        "uacreg": f"commit {commit}{' + uncommitted module changes' if dirty else ''}, "
                  f"uacreg.so sha256 {so_hash}",
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
        return f"{int(v)}"
    return str(v)


def ratio(u, s):
    if u is None or s is None or s == 0:
        return "—"
    return f"{u / s:.2f}x"


def verdict(ok):
    return "PASS" if ok else "MISS"


def build_report(args, m, results, baselines, params, started, finished):
    sizes = sorted({r["lines"] for r in results.values()})
    out = []
    w = out.append
    w(f"# make bench: uacreg against stock uac\n")
    w(f"Run {started} — {finished}, lines {', '.join(f'{n:,}' for n in sizes)}"
      f"{' (smoke)' if args.smoke else ''}.\n")
    w("## Machine\n")
    for k in ("cpu", "memory", "os", "kamailio", "sipp", "mariadb", "python", "uacreg"):
        w(f"- {k}: {m[k]}")
    w(f"- load average at start: {m['load'][0]:.2f} {m['load'][1]:.2f} {m['load'][2]:.2f}"
      f"; at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
      "(a shared machine: compare the ratio, measured in one run)")
    w("")
    w("## Set-up\n")
    exps = ", ".join(f"{expires_for(args, n)} s at {n:,}" for n in sizes)
    w(f"- Same table (`uacreg` rows, expires {exps} lines, password \"secret\"), same "
      "registrar (bench/sipp/registrar.xml: 401 to every REGISTER without credentials, "
      "accepts a reused nonce), same Kamailio configuration (bench/kamailio-bench.cfg: "
      f"children=4, tm fr_timer 5 s, shm {args.shm} MB, pkg {PKG_MB} MB, debug=2), one engine "
      "at a time, one fresh Kamailio and sipp per engine and size, all on 127.0.0.1.")
    w("- uacreg: " + ", ".join(f"{k}={v}" for k, v in params["uacreg"].items() if k != "db_url")
      + " (rate raised from the default 100 for the bench; every other parameter default).")
    w("- stock uac (" + str(STOCK_SO) + "): reg_timer_interval=expires/6 ("
      + ", ".join(f"{stock_timer(expires_for(args, n))} s at {n:,}" for n in sizes) + "), "
      + ", ".join(f"{k}={v}" for k, v in params["stock"].items() if k != "reg_timer_interval")
      + ", reg_keep_callid=0 (default); rest default.")
    w("- Registered = the registrar answered 200 to the line (its log); time from the "
      "start of the Kamailio process (includes loading the table).")
    w("- Requests per registration / refresh: REGISTERs the registrar received for a line "
      "up to its 200 (cold: up to its first 200; refresh: since its previous 200); "
      "\"on the wire\" adds sipp's retransmission counter of the same period.")
    w("- CPU: utime+stime of every process in Kamailio's process group over one refresh "
      "cycle of every line (the window ends when each line registered before it was "
      "answered 200 again), divided by the refreshes in it.")
    w("- shm per line: real_used_size at rest (no line due, tm wait timers drained) minus "
      "the same configuration with an empty table, divided by the lines; peak = "
      "max_used_size over the whole phase.")
    w(f"- Reload: {RELOAD_CHANGED} rows get auth_password 'secret-b' (also accepted by the "
      "registrar); before it every line was granted 3600 s, so each REGISTER in the "
      "window after the RPC (stock's timer interval + 5 s, at least 10 s) was caused by "
      "the reload.")
    w("")
    w("## Results\n")
    w("| figure | lines | uacreg | stock | uacreg/stock | target | |")
    w("|---|---:|---:|---:|---:|---|---|")
    verdicts = []

    def row(name, n, key, kind, target=None, check=None, fu=None, fs=None):
        u = results.get((n, "uacreg"), {})
        s = results.get((n, "stock"), {})
        uv = fu(u) if fu else u.get(key)
        sv = fs(s) if fs else s.get(key)
        vt = ""
        if target and check is not None and u:
            ok = check(uv, sv, u, s)
            if ok is not None:
                vt = verdict(ok)
                verdicts.append((name, n, target, vt, fmt(uv, kind), fmt(sv, kind)))
        cell_u = fmt(uv, kind) if u else "not run"
        cell_s = fmt(sv, kind) if s else "not run"
        w(f"| {name} | {n:,} | {cell_u} | {cell_s} | {ratio(uv, sv) if kind not in ('i', 'd') else '—'} "
          f"| {target or ''} | {vt} |")

    def cold_time(r):
        return r.get("cold_time")

    def cold_text(r):
        if not r:
            return None
        if r.get("cold_complete"):
            return f"{r['cold_time']:.2f} s"
        return (f"{r.get('registered_at_cold_end', 0):,}/{r['lines']:,} after "
                f"{r.get('cold_waited', 0):.0f} s")

    for n in sizes:
        u = results.get((n, "uacreg"), {})
        s = results.get((n, "stock"), {})
        w(f"| row expires | {n:,} | {expires_for(args, n)} s | {expires_for(args, n)} s | | | |")
        # time until every line is registered (text when incomplete)
        ut, st = cold_text(u), cold_text(s)
        rat = ratio(u.get("cold_time"), s.get("cold_time"))
        tgt, vt = "", ""
        if n == 100000 and u:
            tgt = "100,000 lines registered in 64 MB shm"
            ok = bool(u.get("cold_complete")) and not u.get("shm_errors")
            vt = verdict(ok)
            verdicts.append(("100,000 lines registered within 64 MB shm", n, tgt, vt,
                             ut, st))
        w(f"| time until every line is registered | {n:,} | {ut or 'not run'} | "
          f"{st or 'not run'} | {rat} | {tgt} | {vt} |")
        row("REGISTERs per cold registration (on the wire)", n, "cold_wire_per_reg", "r",
            "<= 2.0 (challenging carrier)",
            lambda uv, sv, u, s: None if uv is None else uv <= 2.0)
        row("REGISTERs per cold registration (new requests)", n, "cold_req_per_reg", "r")
        row("REGISTERs per refresh (on the wire)", n, "wire_per_refresh", "r",
            "<= 1.05 (nonce reuse accepted)",
            lambda uv, sv, u, s: None if uv is None else uv <= 1.05)
        row("REGISTERs per refresh (new requests)", n, "req_per_refresh", "r")
        row("cold: 401 answered after (median)", n, "challenge_answer_p50", "d")
        row("cold: 401 answered after (90 %)", n, "challenge_answer_p90", "d")
        row("retransmissions (whole phase)", n, "sipp_retrans_total", "i")
        row("408s (local timeouts, Kamailio log)", n, "timeouts_408", "i")
        row("sipp timeouts (challenged, no credentials in 3 s)", n, "sipp_timeouts", "i")
        row("refreshes in the CPU window", n, "refreshes", "i")
        row("idle CPU, nothing due (ms per s)", n, "idle_cpu_ms_per_s", "r")
        row("CPU s per 1,000 refreshes", n, "cpu_per_1k_refresh", "cpu",
            "<= 0.2x stock at 10,000" if n == 10000 else None,
            (lambda uv, sv, u, s: None if uv is None or sv is None else uv <= 0.2 * sv)
            if n == 10000 else None)
        row("CPU s per 1,000 refreshes above idle", n, "cpu_per_1k_refresh_above_idle", "cpu")
        row("shm real_used at rest", n, "shm_rest_used", "mb")
        row("shm per line", n, None, "b", "<= stock",
            lambda uv, sv, u, s: None if uv is None or sv is None else uv <= sv,
            fu=lambda r: r.get("shm_per_line"), fs=lambda r: r.get("shm_per_line"))
        row("shm peak (max_used_size)", n, "shm_peak", "mb")
        row("shm errors in the log", n, "shm_errors", "i")
        big = n == max(sizes)
        row("reload (100 rows changed): RPC time", n, "reload_time", "ms",
            "< 1 s" if big else None,
            (lambda uv, sv, u, s: None if uv is None else (uv < 1.0 and u.get("reload_rc") == 0))
            if big else None)
        row("reload: REGISTERs caused (on the wire)", n, "reload_wire", "i",
            "exactly 100" if big else None,
            (lambda uv, sv, u, s: None if uv is None else uv == RELOAD_CHANGED) if big else None)
        row("reload: changed lines registered again", n, "reload_changed_ok", "i")
    w("")
    w("## Targets\n")
    for name, n, target, vt, uv, sv in verdicts:
        w(f"- {vt}: {name} at {n:,} lines — target {target}; uacreg {uv}, stock {sv}")
    w("")
    w("## Details per phase\n")
    keys = ("cold_complete", "cold_time", "registered_at_cold_end", "uacreg_summary_registered",
            "cold_requests", "cold_registered", "cold_retrans", "cold_waited", "cold_stalled",
            "challenge_answer_p50", "challenge_answer_p90", "challenge_answer_max", "window", "window_complete",
            "window_lines_refreshed", "refreshes", "refresh_requests", "window_retrans",
            "cpu_window", "cpu_per_1k_refresh", "cpu_per_1k_refresh_above_idle", "sipp_cpu_window", "cpu_total", "sipp_cpu_total", "processes",
            "idle_cpu_ms_per_s", "shm_baseline", "shm_after_cold", "shm_after_window",
            "shm_steady_mean", "shm_rest_used", "shm_end_used", "shm_peak",
            "quiet_before_reload", "rest_requests", "reload_rc", "reload_time", "reload_output",
            "reload_requests", "reload_requests_with_credentials", "reload_retrans", "reload_lines", "reload_unchanged_requests",
            "reload_changed_ok", "reload_failures", "failures", "registers_total",
            "sipp_retrans_total", "sipp_timeouts", "sipp_unexpected", "timeouts_408",
            "shm_errors", "send_failed", "errors", "crit", "tm_stats", "uacreg_summary_end")
    for (n, e), r in sorted(results.items()):
        w(f"### {n:,} lines, {e}\n")
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", default="1000,10000,100000")
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
    ap.add_argument("--run-dir", required=True)
    args = ap.parse_args()
    if args.smoke:
        args.lines = "1000"
        if not args.expires:
            args.expires = 30
    sizes = [int(x.replace("_", "").replace(",", "")) for x in args.lines.split(",") if x]
    engines = [e for e in args.engines.split(",") if e]
    for e in engines:
        if e not in ENGINES:
            sys.exit(f"unknown engine {e}")
    if not args.out:
        if args.smoke:
            args.out = str(BENCH / "results-smoke.md")
        elif (sizes == [1000, 10000, 100000] and engines == list(ENGINES)
              and args.shm == SHM_MB and not args.expires):
            args.out = str(BENCH / "results.md")
        else:
            args.out = str(BENCH / f"results-{'-'.join(str(s) for s in sizes)}.md")

    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    # the module as it is now: a rebuild during the run changes nothing
    so_copy = run_dir / "uacreg.so"
    shutil.copy2(UACREG_SO, so_copy)
    params = {
        "uacreg_so": so_copy,
        "shm_mb": args.shm,
        "uacreg": {"rate": args.rate, "start_spread": 0},
        "stock": {"reg_timer_interval": 10, "reg_retry_interval": 30,
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
    baselines = {}
    db = MariaDB(run_dir / "mariadb", procs)
    failed = None
    try:
        log(f"run dir {run_dir}; lines {sizes}; engines {engines}; expires {args.expires} s")
        db.start()
        for e in engines:
            baselines[e], peak = baseline_shm(args, run_dir, procs, db, e, params)
            log(f"empty table, {e}: shm real_used {baselines[e]} B, max_used {peak} B")
        for n in sizes:
            for e in engines:
                try:
                    r = run_phase(args, run_dir, procs, db, e, n, params)
                except KeyboardInterrupt:
                    raise
                except Exception as ex:
                    log(f"{n} lines, {e}: phase failed: {ex}")
                    r = {"engine": e, "lines": n, "notes": [f"phase failed: {ex}"],
                         "failed": True}
                base = baselines.get(e)
                r["shm_baseline"] = base
                if base and r.get("shm_rest_used"):
                    r["shm_per_line"] = (r["shm_rest_used"] - base) / n
                results[(n, e)] = r
    except KeyboardInterrupt as ex:
        failed = f"interrupted ({ex})"
        log(failed)
    finally:
        procs.stop_all()
        db.stop()
    finished = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    if not results:
        return 1
    report, verdicts = build_report(args, m, results, baselines, params, started, finished)
    if failed:
        report = f"**Incomplete run: {failed}.**\n\n" + report
    Path(args.out).write_text(report)
    # the table and the targets on stdout
    show = report.split("## Results")[1].split("## Details")[0]
    print("\n## Results" + show)
    log(f"written {args.out}")
    if failed:
        return 1
    if args.smoke:
        u = results.get((1000, "uacreg"), {})
        bad = []
        if not u.get("cold_complete"):
            bad.append("uacreg did not register all 1,000 lines")
        for (n, e), r in results.items():
            if r.get("failed"):
                bad.append(f"{e}: {r['notes']}")
            elif r.get("cpu_per_1k_refresh") is None or r.get("shm_per_line") is None:
                bad.append(f"{e}: a figure is missing (CPU or shm)")
        if bad:
            log("smoke FAILED: " + "; ".join(bad))
            return 1
        log("smoke OK (a MISS on a target is a figure, not a failure of the bench)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
