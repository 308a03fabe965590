"""Integration harness: a private MariaDB, Kamailio loading our module, and
sipp peers, all on loopback with free ports.

The Kamailio is the one `make` names in UACREG_KAMAILIO: 5.6 (the default)
is Debian 12's installed 5.6.3; 6.0 is Debian 13's, built into
build/kamailio-6.0/ by `make KAMAILIO=6.0 module`.

Every process a test starts is registered with `procs` and stopped by its PID
when the test ends, pass or fail.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KAMAILIO_VERSION = os.environ.get("UACREG_KAMAILIO") or "5.6"
if KAMAILIO_VERSION == "5.6":
    KAMAILIO_BIN = "kamailio"
    KAMCMD = "kamcmd"
    MODDIR = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
    MODULE = ROOT / "modules" / "uacreg" / "uacreg.so"
elif KAMAILIO_VERSION == "6.0":
    _PREFIX = ROOT / "build" / "kamailio-6.0"
    KAMAILIO_BIN = str(_PREFIX / "sbin" / "kamailio")
    KAMCMD = str(_PREFIX / "sbin" / "kamcmd")
    MODDIR = str(_PREFIX / "lib" / "kamailio" / "modules")
    MODULE = Path(MODDIR) / "uacreg.so"
else:
    raise RuntimeError(f"UACREG_KAMAILIO={KAMAILIO_VERSION}: supported are 5.6 and 6.0")
if not MODULE.exists():
    raise RuntimeError(f"{MODULE} is missing: make KAMAILIO={KAMAILIO_VERSION} module")
SCHEMA = ROOT / "sql" / "uacreg-create.sql"
SIPP_DIR = ROOT / "tests" / "sipp"
CFG_TEMPLATE = Path(__file__).with_name("kamailio-test.cfg")
# one folder per pytest session: two sessions never share a MariaDB
RUN_DIR = ROOT / "build" / "test-run" / f"session-{os.getpid()}"


def free_port(kind=socket.SOCK_DGRAM, host="127.0.0.1"):
    """A port free for both UDP and TCP on host (sipp and Kamailio may open
    either)."""
    for _ in range(50):
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


def wait_stable(fn, quiet=1.0, timeout=15.0, step=0.1, what="value"):
    """Polls fn() until its value has not changed for quiet seconds (sipp
    still writing its trace, a count still moving) and returns it: for a
    count whose exact value is not known in advance."""
    end = time.time() + timeout
    last, since = fn(), time.time()
    while time.time() < end:
        time.sleep(step)
        v = fn()
        if v != last:
            last, since = v, time.time()
        elif time.time() - since >= quiet:
            return v
    raise AssertionError(f"{what} still changing after {timeout}s (last: {last!r})")


def wait_for(pred, timeout=10.0, step=0.1, what="condition"):
    """Polls pred() until it is truthy; returns its value or fails."""
    end = time.time() + timeout
    last = None
    while time.time() < end:
        last = pred()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Procs:
    """Processes started by one test, stopped by PID at its end."""

    def __init__(self):
        self.items = []

    def start(self, args, **kw):
        p = subprocess.Popen(args, start_new_session=True, **kw)
        self.items.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=10):
        if p.poll() is not None:
            return
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)

    def stop_all(self):
        for p in reversed(self.items):
            self.stop(p)


@pytest.fixture
def procs():
    ps = Procs()
    yield ps
    ps.stop_all()


class MariaDB:
    def __init__(self, directory, port):
        self.dir = directory
        self.port = port
        self.sock = directory / "mysqld.sock"

    def start(self):
        out = subprocess.run(
            ["bash", str(ROOT / "scripts" / "mariadb.sh"), "start", str(self.dir), str(self.port)],
            check=True, capture_output=True, text=True)
        self.pid = int(out.stdout.strip().splitlines()[-1])

    def stop(self):
        subprocess.run(["bash", str(ROOT / "scripts" / "mariadb.sh"), "stop", str(self.dir)],
                       check=False)

    def sql(self, query, db=None):
        args = ["mariadb", "--no-defaults", "-S", str(self.sock), "-uroot", "-N", "-B"]
        if db:
            args.append(db)
        out = subprocess.run(args, input=query, check=True, capture_output=True, text=True)
        return [line.split("\t") for line in out.stdout.splitlines()]


@pytest.fixture(scope="session")
def mariadb():
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    m = MariaDB(RUN_DIR / "mariadb", free_port(socket.SOCK_STREAM))
    m.start()
    yield m
    m.stop()
    shutil.rmtree(RUN_DIR, ignore_errors=True)


class DB:
    """One test's database, with the uacreg schema and a table the test
    kamailio.cfg's event routes write to."""

    def __init__(self, mariadb, name):
        self.m = mariadb
        self.name = name
        self.url = f"mysql://uacreg:uacreg@127.0.0.1:{mariadb.port}/{name}"

    def sql(self, query):
        return self.m.sql(query, self.name)

    def add_line(self, l_uuid, **cols):
        row = {
            "l_uuid": l_uuid, "l_username": l_uuid, "l_domain": "sbc.test",
            "r_username": l_uuid, "r_domain": "127.0.0.1", "realm": "",
            "auth_username": l_uuid, "auth_password": "secret", "auth_ha1": "",
            "auth_proxy": "", "expires": 60, "flags": 0, "reg_delay": 0,
            "contact_addr": "", "socket": "",
        }
        row.update(cols)
        names = ", ".join(f"`{k}`" for k in row)
        vals = ", ".join("NULL" if v is None else (str(v) if isinstance(v, int) else "'" + str(v).replace("'", "''") + "'")
                         for v in row.values())
        self.sql(f"INSERT INTO uacreg ({names}) VALUES ({vals})")

    def value(self, query):
        rows = self.sql(query)
        return rows[0][0] if rows else None


def new_db(mariadb):
    """A fresh database on mariadb with the uacreg schema and the table the
    test kamailio.cfg's event routes write to."""
    name = "t_" + uuid.uuid4().hex[:12]
    mariadb.sql(f"CREATE DATABASE {name}")
    mariadb.sql(SCHEMA.read_text(), name)
    mariadb.sql("CREATE TABLE test_events (id INT AUTO_INCREMENT PRIMARY KEY, "
                "l_uuid VARCHAR(64), kind VARCHAR(16), state VARCHAR(32), code INT, "
                "at TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP(3))", name)
    return DB(mariadb, name)


@pytest.fixture
def db(mariadb):
    d = new_db(mariadb)
    yield d
    mariadb.sql(f"DROP DATABASE IF EXISTS {d.name}")


class Kamailio:
    def __init__(self, procs, workdir, db, extra_params="", ceiling_extra="", request_extra="",
                 listen2=None, shm_mb=64, cfg_text=None, env=None, host="127.0.0.1",
                 contact=None):
        self.procs = procs
        self.env = env
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        # host: a loopback address of its own (127.0.0.11, ...) for tests
        # with several nodes
        self.host = host
        self.port = free_port(host=host)
        self.addr = f"{host}:{self.port}"
        self.ctl = self.dir / "ctl.sock"
        self.rpcsock = self.dir / "rpc.sock"
        self.pidfile = self.dir / "kamailio.pid"
        self.log = self.dir / "kamailio.log"
        self.shm_mb = shm_mb
        listen = f"listen=udp:{self.addr}"
        if listen2:
            listen += f"\nlisten={listen2}"
        subst = {
            "LISTEN": listen, "MODDIR": MODDIR, "UACREG_SO": str(MODULE),
            "CTLSOCK": str(self.ctl), "RPCSOCK": str(self.rpcsock),
            "DBURL": db.url, "CONTACT": contact or self.addr,
            "EXTRA_PARAMS": extra_params, "CEILING_EXTRA": ceiling_extra,
            "REQUEST_EXTRA": request_extra,
        }
        text = cfg_text if cfg_text is not None else CFG_TEMPLATE.read_text()
        for k, v in subst.items():
            text = text.replace(f"@{k}@", v)
        self.cfg = self.dir / "kamailio.cfg"
        self.cfg.write_text(text)
        self.proc = None

    def start(self):
        for p in (self.ctl, self.rpcsock):
            if p.exists():
                p.unlink()
        logf = open(self.log, "a")
        self.proc = self.procs.start(
            # -L: the modules of KAMAILIO_VERSION, whatever mpath a cfg sets
            [KAMAILIO_BIN, "-f", str(self.cfg), "-L", MODDIR, "-DD", "-E", "-w", str(self.dir),
             "-P", str(self.pidfile),
             "-m", str(self.shm_mb), "-M", "16"],
            stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=None if self.env is None else {**os.environ, **self.env})
        wait_for(lambda: self.proc.poll() is not None or self._rpc_ready(), 20,
                 what="kamailio to answer RPC")
        if self.proc.poll() is not None:
            raise AssertionError("kamailio exited:\n" + self.log.read_text()[-4000:])
        return self

    def _rpc_ready(self):
        try:
            self.rpc("core.version")
            return True
        except Exception:
            return False

    def stop(self):
        if self.proc:
            self.procs.stop(self.proc)

    def rpc(self, method, *params, timeout=20):
        """JSON-RPC over jsonrpcs' datagram socket; returns the result or
        raises RpcError with the fault."""
        client = self.dir / f"rpc-client-{os.getpid()}-{uuid.uuid4().hex[:6]}.sock"
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            s.bind(str(client))
            s.settimeout(timeout)
            req = {"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1}
            s.sendto(json.dumps(req).encode(), str(self.rpcsock))
            data, _ = s.recvfrom(4 * 1024 * 1024)
        finally:
            s.close()
            if client.exists():
                client.unlink()
        reply = json.loads(data.decode())
        if "error" in reply:
            raise RpcError(reply["error"].get("code"), reply["error"].get("message"))
        return reply.get("result")

    def kamcmd(self, *args):
        out = subprocess.run([KAMCMD, "-s", f"unix:{self.ctl}", *args],
                             capture_output=True, text=True, timeout=30)
        return out.returncode, out.stdout + out.stderr

    def log_text(self):
        return self.log.read_text(errors="replace")

    def info(self, l_uuid):
        return self.rpc("uacreg.info", l_uuid)

    def state(self, l_uuid):
        try:
            return self.info(l_uuid)["state"]
        except RpcError:
            return None

    def wait_state(self, l_uuid, state, timeout=15):
        return wait_for(lambda: self.state(l_uuid) == state, timeout,
                        what=f"{l_uuid} to be {state}")


class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


@pytest.fixture
def kamailio(procs, tmp_path, db):
    """Factory: kamailio(extra_params=..., ...) -> a started Kamailio."""
    made = []

    def make(start=True, **kw):
        k = Kamailio(procs, tmp_path / f"kamailio{len(made)}", db, **kw)
        made.append(k)
        return k.start() if start else k

    yield make
    for k in made:
        k.stop()


class SippMessage:
    def __init__(self, direction, text):
        self.direction = direction  # "received" or "sent"
        self.text = text
        first, _, rest = text.partition("\n")
        self.first_line = first.strip()
        self.headers = {}
        for line in rest.split("\n"):
            line = line.rstrip("\r")
            if not line:
                break
            name, _, value = line.partition(":")
            self.headers.setdefault(name.strip().lower(), []).append(value.strip())

    def header(self, name):
        vals = self.headers.get(name.lower())
        return vals[0] if vals else None

    @property
    def is_register(self):
        return self.first_line.startswith("REGISTER ")

    @property
    def call_id(self):
        return self.header("call-id") or self.header("i")

    @property
    def cseq(self):
        v = self.header("cseq")
        return int(v.split()[0]) if v else None

    @property
    def authorized(self):
        return self.header("authorization") is not None or self.header("proxy-authorization") is not None

    @property
    def status(self):
        m = re.match(r"SIP/2.0 (\d+)", self.first_line)
        return int(m.group(1)) if m else None

    @property
    def expires(self):
        v = self.header("expires")
        return int(v) if v is not None else None

    def user(self):
        """The user part of the To URI (our r_username)."""
        to = self.header("to") or self.header("t") or ""
        m = re.search(r"sips?:([^@;>]+)@", to)
        return m.group(1) if m else None


class Sipp:
    """A sipp registrar on loopback. Its message trace is how tests see the
    wire."""

    def __init__(self, procs, workdir, scenario, host="127.0.0.1", port=None,
                 extra=()):
        self.procs = procs
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port = port or free_port(host=host)
        self.addr = f"{host}:{self.port}"
        self.scenario = SIPP_DIR / scenario
        self.trace = self.dir / f"sipp-{self.port}-messages.log"
        self.extra = list(extra)
        self.proc = None

    def start(self):
        self.proc = self.procs.start(
            ["sipp", "-sf", str(self.scenario), "-i", self.host, "-p", str(self.port),
             "-t", "u1", "-nostdin", "-trace_msg", "-message_file", str(self.trace),
             "-trace_err", "-error_file", str(self.dir / f"sipp-{self.port}-errors.log"),
             "-max_recv_loops", "100000", "-deadcall_wait", "1000",
             *self.extra],
            cwd=str(self.dir), stdout=subprocess.DEVNULL, stderr=open(self.dir / f"sipp-{self.port}.stderr", "w"),
            stdin=subprocess.DEVNULL)
        time.sleep(0.3)
        if self.proc.poll() is not None:
            raise AssertionError("sipp exited: " + (self.dir / f"sipp-{self.port}.stderr").read_text())
        return self

    def stop(self):
        if self.proc:
            self.procs.stop(self.proc)

    def messages(self):
        if not self.trace.exists():
            return []
        text = self.trace.read_text(errors="replace")
        out = []
        for block in re.split(r"\n?-{20,}[^\n]*\n", text):
            m = re.match(r"\s*(UDP|TCP) message (received|sent)[^\n]*:\s*\n+", block)
            if not m:
                continue
            out.append(SippMessage(m.group(2), block[m.end():]))
        return out

    def registers(self, user=None):
        """REGISTERs received, optionally only those of one r_username."""
        return [m for m in self.messages()
                if m.direction == "received" and m.is_register and (user is None or m.user() == user)]

    def requests(self, user=None, authorized=None):
        """REGISTERs of one line as sent, retransmissions folded (one per
        Call-ID and CSeq), in wire order; optionally only those with or
        without credentials."""
        seen, out = set(), []
        for m in self.registers(user):
            key = (m.call_id, m.cseq)
            if key in seen:
                continue
            seen.add(key)
            if authorized is None or m.authorized == authorized:
                out.append(m)
        return out

    def oks(self, user):
        """200 OKs sent to one line, retransmissions folded."""
        return len({(m.call_id, m.cseq) for m in self.replies_sent(user) if m.status == 200})

    def replies_sent(self, user=None):
        return [m for m in self.messages()
                if m.direction == "sent" and m.status is not None and (user is None or m.user() == user)]


@pytest.fixture
def sipp(procs, tmp_path):
    """Factory: sipp("scenario.xml", ...) -> a started sipp registrar."""
    made = []

    def make(scenario, **kw):
        s = Sipp(procs, tmp_path / "sipp", scenario, **kw)
        made.append(s)
        return s.start()

    yield make
    for s in made:
        s.stop()


REGISTRAR = Path(__file__).with_name("registrar.py")


class Registrar:
    """Our own registrar (registrar.py) on loopback: digest verified for
    every algorithm and qop, authenticating proxy, fixed answers, switchable
    at run time. Its JSON-lines log is how tests see the wire.

    registrar(users={"l1": "secret"}, challenges=[...], ...) takes the config
    keys documented in registrar.py; set(**options) changes them while it
    runs and returns once the registrar has read them."""

    def __init__(self, procs, workdir, host="127.0.0.1", port=None, **options):
        self.procs = procs
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.port = port or free_port(host=host)
        self.addr = f"{host}:{self.port}"
        self.cfg_path = self.dir / f"registrar-{host}-{self.port}.json"
        self.logfile = self.dir / f"registrar-{host}-{self.port}.log"
        self.stderr = self.dir / f"registrar-{host}-{self.port}.stderr"
        self.options = {"realm": "registrar.test", "users": {}, **options}
        self.generation = 0
        self.proc = None

    def _write(self):
        cfg = {**self.options, "host": self.host, "port": self.port,
               "log": str(self.logfile), "generation": self.generation}
        tmp = self.cfg_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(cfg))
        os.replace(tmp, self.cfg_path)  # a new inode: the registrar sees the change

    def start(self):
        self._write()
        self.proc = self.procs.start(
            [sys.executable, str(REGISTRAR), "--config", str(self.cfg_path)],
            stdout=subprocess.DEVNULL, stderr=open(self.stderr, "w"), stdin=subprocess.DEVNULL)
        wait_for(lambda: self.proc.poll() is not None or
                 any(r.get("event") == "start" for r in self.log()), 10,
                 what="the registrar to start")
        if self.proc.poll() is not None:
            raise AssertionError("registrar exited: " + self.stderr.read_text())
        return self

    def set(self, **options):
        """Changes config keys at run time (None removes a key)."""
        for k, v in options.items():
            if v is None:
                self.options.pop(k, None)
            else:
                self.options[k] = v
        self.generation += 1
        self._write()
        g = self.generation
        wait_for(lambda: any(r.get("event") == "config" and r.get("generation") == g
                             for r in self.log()), 10, what="the registrar to read its config")

    def stop(self):
        if self.proc:
            self.procs.stop(self.proc)

    def log(self):
        """Every log record, in order (a half-written last line is skipped)."""
        if not self.logfile.exists():
            return []
        out = []
        for line in self.logfile.read_text(errors="replace").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def requests(self, user=None, method="REGISTER", retransmissions=False):
        """Requests received (retransmissions left out unless asked)."""
        return [r for r in self.log() if r.get("dir") == "in" and r.get("method") == method
                and (user is None or r.get("user") == user)
                and (retransmissions or not r.get("retransmission"))]

    def responses(self, user=None, code=None):
        return [r for r in self.log() if r.get("dir") == "out"
                and (user is None or r.get("user") == user)
                and (code is None or r.get("code") == code)]

    def oks(self, user=None):
        return len(self.responses(user, 200))

    # --- by source address (several nodes registering, the HA tests) ------
    @staticmethod
    def host_of(addr):
        return addr.rsplit(":", 1)[0] if addr else None

    def sources(self, since=None, until=None, user=None):
        """{AOR (To user): set of source hosts} of the REGISTERs received
        (retransmissions left out) in [since, until)."""
        out = {}
        for r in self.requests(user):
            if (since is None or r["t"] >= since) and (until is None or r["t"] < until):
                out.setdefault(r["user"], set()).add(self.host_of(r["src"]))
        return out

    def aors_from_several_sources(self, since=None, until=None):
        """The AORs that REGISTERed from more than one address in the window."""
        return sorted(u for u, s in self.sources(since, until).items() if len(s) > 1)

    def count_by_source(self, since=None, until=None):
        """{source host: number of AORs it REGISTERed} in the window."""
        out = {}
        for u, hosts in self.sources(since, until).items():
            for h in hosts:
                out[h] = out.get(h, 0) + 1
        return out

    def last_ok_source(self):
        """{AOR: host the last 200 OK went to}."""
        out = {}
        for r in self.responses(code=200):
            out[r["user"]] = self.host_of(r["dst"])
        return out

    def first_ok(self, user, since=0, host=None):
        """Time of the first 200 OK to user after since (from host), or None."""
        for r in self.responses(user, 200):
            if r["t"] >= since and (host is None or self.host_of(r["dst"]) == host):
                return r["t"]
        return None

    def credential_registers(self, user=None, failing=None):
        """REGISTERs that carried credentials (Authorization or
        Proxy-Authorization), retransmissions left out; failing=True: only
        those the registrar refused (a new challenge, 401/407/403),
        failing=False: only those accepted."""
        out = []
        for r in self.requests(user):
            if not r.get("auth"):
                continue
            refused = r.get("code") in (401, 403, 407)
            if failing is None or failing == refused:
                out.append(r)
        return out


@pytest.fixture
def registrar(procs, tmp_path):
    """Factory: registrar(host=..., **options) -> a started Registrar."""
    made = []

    def make(**kw):
        r = Registrar(procs, tmp_path / "registrar", **kw)
        made.append(r)
        return r.start()

    yield make
    for r in made:
        r.stop()
