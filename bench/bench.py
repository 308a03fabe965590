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

A phase whose cold start registers less than 95 % of its lines skips steady
and rest (the figures would measure retries) and only times the reload.

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
import json
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
STEADY_MAX_EXPIRES = 900  # longer expires: no refresh cycle within the run
QUIET_USER = "bench-quiet-on"
ENGINES = ("uacreg", "stock")
PARAMS_STOCK_RETRY = 30


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
    def __init__(self, procs, pdir, engine, db, sipp_addr, params, shm_mb=SHM_MB):
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
        self.shm_mb = shm_mb
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

    def cpu_by_pid(self):
        out = {}
        for pid in pgroup_pids(self.proc.pid):
            st = proc_stat(pid)
            if st:
                out[pid] = st[1] / CLK
        return out

    def roles(self):
        """pid -> Kamailio's description of the process (core.psx)."""
        rc, text, _ = self.rpc("core.psx")
        out = {}
        for m in re.finditer(r"PID:\s*(\d+)\s*DSC:\s*([^\n]*)", text):
            out[int(m.group(1))] = m.group(2).strip()
        return out

    def lines_loaded(self):
        if self.engine == "uacreg":
            rc, text, _ = self.rpc("uacreg.count")
            m = re.search(r"(\d+)", text)
        else:
            rc, text, _ = self.rpc("stats.get_statistics", "uac:")
            m = re.search(r"regtotal\s*=\s*(\d+)", text)
        return int(m.group(1)) if rc == 0 and m else None

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
            "shm_errors": SHM_ERR,
            "send_failed": r"failed to send request",
            "errors": r"\bERROR:",
            "crit": r"\bCRITICAL:|\bALERT:|\bBUG:",
        }
        out = {k: len(re.findall(p, text, re.I if k == "shm_errors" else 0))
               for k, p in pats.items()}
        m = re.search(r"[^\n]*(?:" + SHM_ERR + r")[^\n]*", text, re.I)
        out["first_shm_error"] = m.group(0).strip()[:200] if m else ""
        # what one tm transaction asks of shm, when an allocation failed
        m = re.search(r"malloc\([^,]*, (\d+)\) called from tm: h_table.c: build_cell", text)
        out["tm_cell_bytes"] = int(m.group(1)) if m else None
        return out


SHM_ERR = (r"(?:no more|not enough|could not allocate)[^\n]*(?:shm|shared)|"
           r"short of [a-z]* ?shmem|(?:shm|shared) mem[^\n]*(?:fail|error|out of)")


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


def rest_phase(kam, rl, res):
    """Nothing due: once tm's wait timer (5 s) drained, idle CPU and shm at
    rest. Returns when the rest began."""
    time.sleep(6.5)
    rest0 = time.time()
    idle0, _ = kam.cpu()
    time.sleep(REST)
    idle1, _ = kam.cpu()
    res["idle_cpu_ms_per_s"] = (idle1 - idle0) / (time.time() - rest0) * 1000
    rl.poll()
    res["shm_rest_used"] = kam.shm().get("real_used_size")
    res["quiet_before_reload"] = rl.last_r < rest0
    return rest0


REG_PY = ROOT / "tests" / "integration" / "registrar.py"


class PyRegistrar:
    """tests/integration/registrar.py: a registrar whose answers change at run
    time (its JSON config is re-read when it changes); its JSON-lines log has
    one record per request and per answer."""

    def __init__(self, procs, pdir, users):
        self.procs = procs
        self.dir = pdir / "registrar"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.cfg_path = self.dir / "registrar.json"
        self.logfile = self.dir / "registrar.log"
        self.options = {"realm": "bench.test", "users": users}
        self.generation = 0
        self.proc = None
        self.recs = []
        self.pos = 0

    def _write(self):
        cfg = {**self.options, "host": "127.0.0.1", "port": self.port,
               "log": str(self.logfile), "generation": self.generation}
        tmp = self.cfg_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cfg))
        os.replace(tmp, self.cfg_path)

    def poll(self):
        if not self.logfile.exists():
            return self.recs
        with open(self.logfile) as f:
            f.seek(self.pos)
            data = f.read()
        end = data.rfind("\n") + 1
        self.pos += len(data[:end].encode())
        for line in data[:end].splitlines():
            try:
                self.recs.append(json.loads(line))
            except ValueError:
                pass
        return self.recs

    def _wait(self, pred, what, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            if any(pred(r) for r in self.poll()):
                return
            time.sleep(0.05)
        raise RuntimeError(f"the registrar: no {what} within {timeout} s")

    def start(self):
        self._write()
        self.proc = self.procs.start(
            [sys.executable, str(REG_PY), "--config", str(self.cfg_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=open(self.dir / "stderr.log", "w"))
        self._wait(lambda r: r.get("event") == "start", "start")
        return self

    def set(self, **options):
        for k, v in options.items():
            if v is None:
                self.options.pop(k, None)
            else:
                self.options[k] = v
        self.generation += 1
        self._write()
        g = self.generation
        self._wait(lambda r: r.get("event") == "config" and r.get("generation") == g, "config")
        return [r for r in self.recs if r.get("event") == "config"
                and r.get("generation") == g][0]["t"]

    def stop(self):
        if self.proc:
            self.procs.stop(self.proc)

    def registered_since(self, t):
        return {r["user"] for r in self.poll()
                if r.get("dir") == "out" and r.get("code") == 200 and r["t"] >= t}

    def registers(self, t0, t1):
        """(transactions, packets) of REGISTERs received in [t0, t1)."""
        rs = [r for r in self.poll() if r.get("dir") == "in"
              and r.get("method") == "REGISTER" and t0 <= r["t"] < t1]
        return sum(1 for r in rs if not r.get("retransmission")), len(rs)


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


def run_phase(args, run_dir, procs, db, engine, size, params):
    n = size.n
    shm_mb = size.shm_mb(args)
    pdir = run_dir / f"{n}-{shm_mb}MB-{engine}"
    pdir.mkdir(parents=True, exist_ok=True)
    expires = expires_for(args, n, size)
    timer = stock_timer(expires)
    reload_window = args.reload_window or max(10.0, timer + 5.0)
    params = dict(params)
    params["stock"] = dict(params["stock"], reg_timer_interval=timer)
    res = {"engine": engine, "lines": n, "shm_mb": shm_mb, "notes": [], "expires": expires,
           "stock_timer": timer, "reload_window": reload_window}
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
            cpu0 = sum(by_pid0.values())
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
            cpu1 = sum(by_pid1.values())
            scpu1 = sipp.cpu()
            rl.poll()
            res["window"] = win_end - flag
            res["window_complete"] = registered <= rl.ok_since_mark
            res["window_lines_refreshed"] = len(registered & rl.ok_since_mark)
            res["cpu_window"] = cpu1 - cpu0
            res["sipp_cpu_window"] = scpu1 - scpu0
            per = {}
            for pid, c in by_pid1.items():
                d = c - by_pid0.get(pid, 0.0)
                role = re.sub(r"\s+", " ", roles.get(pid, f"pid {pid}"))
                role = re.sub(r"child=\d+", "child=*", role)
                per[role] = per.get(role, 0.0) + d
            res["cpu_window_by_process"] = ", ".join(
                f"{k}: {v:.2f} s" for k, v in sorted(per.items(), key=lambda x: -x[1]) if v > 0)
            res["shm_steady_mean"] = statistics.mean(shm_samples) if shm_samples else None
            sh = kam.shm()
            res["shm_after_window"] = (sh.get("real_used_size"), sh.get("max_used_size"))
            log(f"  steady: window {res['window']:.1f} s, {res['window_lines_refreshed']}/"
                f"{len(registered)} lines refreshed, CPU {res['cpu_window']:.2f} s")

            rest0 = rest_phase(kam, rl, res)
        else:
            res["notes"].append("cold start incomplete (< 95 % of the lines): no steady "
                                "window, no rest, reload timed but its REGISTERs not counted")

        # ---- reload: 100 rows get another valid password ----------------
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
            res["req_per_refresh"] = res["refresh_requests"] / rf if rf else None
            res["wire_per_refresh"] = ((res["refresh_requests"] + res["window_retrans"]) / rf
                                       if rf else None)
            res["cpu_per_1k_refresh"] = res["cpu_window"] / rf * 1000 if rf else None
            if rf and res.get("idle_cpu_ms_per_s") is not None:
                work = res["cpu_window"] - res["idle_cpu_ms_per_s"] / 1000 * res["window"]
                res["cpu_per_1k_refresh_above_idle"] = work / rf * 1000
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
      "again), divided by the refreshes in it; idle = the same with nothing due, after tm's "
      "wait timer.")
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
        cpu_t = "<= 0.2x stock" if z.n == 10000 and default_shm(z) else None
        row("CPU s per 1,000 refreshes", g("cpu_per_1k_refresh"), "cpu", cpu_t,
            (lambda uv, sv: None if uv is None or sv is None else uv <= 0.2 * sv)
            if cpu_t else None)
        row("CPU s per 1,000 refreshes above idle", g("cpu_per_1k_refresh_above_idle"), "cpu")
        row("idle CPU, nothing due (ms per s)", g("idle_cpu_ms_per_s"), "r")
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
            "cpu_window_by_process", "sipp_cpu_window", "idle_cpu_ms_per_s", "cpu_total",
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
    ap.add_argument("--run-dir", required=True)
    argv = sys.argv[1:]
    args = ap.parse_args()
    args.argv = [a for i, a in enumerate(argv)
                 if a != "--run-dir" and (i == 0 or argv[i - 1] != "--run-dir")]
    default_lines = ap.get_default("lines")
    if args.smoke:
        args.lines = "1000"
        if not args.expires:
            args.expires = 30
        if "--outage" not in argv:
            args.outage = ""
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
    shutil.copy2(UACREG_SO, so_copy)
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
            for e in engines:
                try:
                    r = run_phase(args, run_dir, procs, db, e, z, params)
                except KeyboardInterrupt:
                    raise
                except Exception as ex:
                    log(f"{z.label(args)} lines, {e}: phase failed: {ex}")
                    r = {"engine": e, "lines": z.n, "notes": [f"phase failed: {ex}"],
                         "failed": True}
                # the empty-table baseline is measured at --shm; the same
                # allocations at another size of shm
                r["shm_baseline"] = baselines.get(e)
                r["shm_per_line"] = shm_per_line(r, baselines.get(e))
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
    except KeyboardInterrupt as ex:
        failed = f"interrupted ({ex})"
        log(failed)
    finally:
        procs.stop_all()
        db.stop()
    finished = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    if not results and not outage_results:
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
        if bad:
            log("smoke FAILED: " + "; ".join(bad))
            return 1
        log("smoke OK (a MISS on a target is a figure, not a failure of the bench)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
