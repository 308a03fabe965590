"""The bench's engines and what they run on: a private MariaDB with the
uacreg table, the sipp registrar and its log, our own Python registrar (the
outage phase), and Kamailio with uacreg or stock uac (its cfg, RPC, shm and
log), each process started in its own group and stopped by its PID (Procs).
The paths and constants of the run live here too."""
import csv
import json
import os
import re
import signal
import socket
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
REST = 30.0  # s of the idle CPU measurement, nothing due (schedstat: to the ns)
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
    """kamailio-bench.cfg with params["uacreg"] and params["stock"] in its
    folder pdir/name (name: "kamailio" unless given, as the HA phase's nodes
    do), listening on host; pidfile: Kamailio writes its PID there."""

    def __init__(self, procs, pdir, engine, db, sipp_addr, params, shm_mb=SHM_MB,
                 name=None, host="127.0.0.1", pidfile=False):
        self.procs = procs
        self.dir = pdir / (name or "kamailio")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.engine = engine
        # what its errors call it: the engine, or the node's name
        self.name = name or engine
        self.port = free_port(host)
        self.addr = f"{host}:{self.port}"
        self.ctl = self.dir / "ctl.sock"
        self.log = self.dir / "kamailio.log"
        self.pidfile = self.dir / "kamailio.pid" if pidfile else None
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
        pid = ["-P", str(self.pidfile)] if self.pidfile else []
        self.proc = self.procs.start(
            ["kamailio", "-f", str(self.cfg), "-DD", "-E", "-w", str(self.dir), *pid,
             "-m", str(self.shm_mb), "-M", str(PKG_MB), "-A", define],
            stdin=subprocess.DEVNULL, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        end = time.time() + 60
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kamailio ({self.name}) exited:\n"
                                   + self.log.read_text(errors="replace")[-3000:])
            if self.ctl.exists() and self.rpc("core.uptime")[0] == 0:
                return self
            time.sleep(0.1)
        raise RuntimeError(f"kamailio ({self.name}) did not answer RPC within 60 s")

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
        """pid -> CPU seconds (utime+stime, in clock ticks)."""
        def read(pid):
            st = proc_stat(pid)
            return st[1] / CLK if st else None
        return self._by_pid(read)

    def _by_pid(self, read):
        """pid -> read(pid) for every live process of the group (a process
        that ended meanwhile, or an unreadable file, is left out)."""
        out = {}
        for pid in pgroup_pids(self.proc.pid):
            try:
                v = read(pid)
            except (OSError, ValueError, IndexError):
                continue
            if v is not None:
                out[pid] = v
        return out

    def runtime_by_pid(self):
        """pid -> CPU seconds from /proc/PID/schedstat (the scheduler's
        sum_exec_runtime, in ns): precise where utime+stime counts 10 ms
        clock ticks, which is most of an idle process's figure."""
        def read(pid):
            with open(f"/proc/{pid}/schedstat") as f:
                return int(f.read().split()[0]) / 1e9
        return self._by_pid(read)

    def switches_by_pid(self):
        """pid -> voluntary context switches: each is a sleep that ended in a
        wake-up (a SIP worker blocked in recvfrom woken by a reply)."""
        def read(pid):
            with open(f"/proc/{pid}/status") as f:
                m = re.search(r"^voluntary_ctxt_switches:\s*(\d+)", f.read(), re.M)
            return int(m.group(1)) if m else None
        return self._by_pid(read)

    # the processes each engine adds to Kamailio's (core.psx descriptions)
    ENGINE_PROCESSES = {"uacreg": ("uacreg worker", "uacreg HA"), "stock": ("TIMER UAC REG",)}

    def is_engine_process(self, role):
        """True for a process this engine added (not one of Kamailio's own)."""
        return role in self.ENGINE_PROCESSES[self.engine]

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
