"""A three-node MariaDB Galera cluster on one machine, for the HA tests.

Each node is a mariadbd of its own on 127.0.0.1: its own datadir and socket
under the test's folder, its own SQL port, Galera port (base_port), IST and
SST ports, as MariaDB's own mtr suite runs its galera tests. The first node
bootstraps the cluster (--wsrep-new-cluster, what galera_new_cluster does);
the others join it and get their data by rsync SST.

Every mariadbd is started through the test's `procs` (its own session) and
stopped by its PID, pass or fail.

Isolating one node from the other two, locally: SET GLOBAL
wsrep_provider_options='gmcast.isolate=1' on it. Galera drops every
connection to and from it; it leaves the primary component and answers
every query with ER_UNKNOWN_COM_ERROR (1047, "WSREP has not yet prepared
node for application use"), as a node cut off by the network does.
gmcast.isolate=0 lets it join again.
"""
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

PROVIDER = "/usr/lib/galera/libgalera_smm.so"


def _free_tcp(n, used):
    """n distinct free TCP ports on 127.0.0.1 (not in used)."""
    out = []
    while len(out) < n:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        # Galera takes base_port and base_port + 1 (IST): keep both free
        if p in used or p + 1 in used or p > 65000:
            continue
        used.update((p, p + 1))
        out.append(p)
    return out


def available():
    return Path(PROVIDER).exists() and shutil.which("rsync") is not None \
        and shutil.which("mariadbd") is not None


class GaleraNode:
    def __init__(self, cluster, index, sql_port, gcomm_port, sst_port):
        self.cluster = cluster
        self.index = index
        self.name = f"g{index + 1}"
        self.dir = cluster.dir / self.name
        self.data = self.dir / "data"
        self.sock = self.dir / "mysqld.sock"
        self.port = sql_port
        self.gcomm_port = gcomm_port
        self.ist_port = gcomm_port + 1
        self.sst_port = sst_port
        self.err = self.dir / "mysqld.err"
        self.proc = None

    def args(self, new_cluster):
        c = self.cluster
        peers = ",".join(f"127.0.0.1:{n.gcomm_port}" for n in c.nodes)
        opts = (f"base_host=127.0.0.1;base_port={self.gcomm_port};"
                f"ist.recv_addr=127.0.0.1:{self.ist_port};gcache.size=16M;"
                # a node that stops answering leaves the group quickly
                "evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;"
                "evs.install_timeout=PT6S;evs.keepalive_period=PT1S;"
                "pc.weight=1")
        a = ["mariadbd", "--no-defaults", f"--datadir={self.data}", f"--socket={self.sock}",
             f"--port={self.port}", "--bind-address=127.0.0.1",
             f"--pid-file={self.dir / 'mysqld.pid'}", f"--log-error={self.err}",
             "--user=" + c.user, "--skip-log-bin", "--innodb-buffer-pool-size=32M",
             "--innodb-log-file-size=16M", "--max-connections=200",
             "--binlog-format=ROW", "--default-storage-engine=InnoDB",
             "--innodb-autoinc-lock-mode=2", "--innodb-flush-log-at-trx-commit=0",
             "--wsrep-on=ON", f"--wsrep-provider={PROVIDER}",
             f"--wsrep-cluster-name={c.name}", f"--wsrep-node-name={self.name}",
             f"--wsrep-cluster-address=gcomm://{peers}",
             f"--wsrep-node-address=127.0.0.1:{self.gcomm_port}",
             f"--wsrep-node-incoming-address=127.0.0.1:{self.port}",
             f"--wsrep-provider-options={opts}",
             "--wsrep-sst-method=rsync", f"--wsrep-sst-receive-address=127.0.0.1:{self.sst_port}",
             "--wsrep-slave-threads=2"]
        if new_cluster:
            a.append("--wsrep-new-cluster")
        return a

    def start(self, new_cluster=False):
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (self.data / "mysql").exists():
            self.data.mkdir(parents=True, exist_ok=True)
            if os.getuid() == 0:
                # rsync SST: run as root, the joiner's rsync daemon writes as
                # nobody (its default), so the joiner's datadir is open to it
                # (the folders above it are 0755: see Galera's directory)
                os.chmod(self.data, 0o777)
            if new_cluster:
                subprocess.run(
                    ["mariadb-install-db", "--no-defaults", f"--datadir={self.data}",
                     f"--user={self.cluster.user}", "--auth-root-authentication-method=socket",
                     "--skip-test-db"], check=True, capture_output=True)
        self.proc = self.cluster.procs.start(
            self.args(new_cluster), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        return self

    def stop(self):
        if self.proc:
            self.cluster.procs.stop(self.proc, timeout=30)

    def sql(self, query, db=None, check=True):
        args = ["mariadb", "--no-defaults", "-S", str(self.sock), "-uroot", "-N", "-B"]
        if db:
            args.append(db)
        out = subprocess.run(args, input=query, capture_output=True, text=True, timeout=30)
        if check and out.returncode != 0:
            raise RuntimeError(f"{self.name}: {out.stderr.strip()}")
        return [line.split("\t") for line in out.stdout.splitlines()]

    def status(self, name):
        try:
            rows = self.sql(f"SHOW GLOBAL STATUS LIKE '{name}'")
        except (RuntimeError, subprocess.TimeoutExpired):
            return None
        return rows[0][1] if rows else None

    def ready(self):
        return self.status("wsrep_ready") == "ON" and \
            self.status("wsrep_local_state_comment") == "Synced"

    def isolate(self, on=True):
        """Cuts this node off the other two (gmcast.isolate), or lets it back."""
        self.sql(f"SET GLOBAL wsrep_provider_options='gmcast.isolate={1 if on else 0}'")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=30):
        try:
            return "\n".join(self.err.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"


class Galera:
    """Three Galera nodes; nodes[i].port is node i's SQL port."""

    def __init__(self, procs, directory, size=3, name="uacreg_galera"):
        import getpass
        self.procs = procs
        self.dir = Path(directory)
        self.name = name
        self.user = getpass.getuser()
        used = set()
        sql = _free_tcp(size, used)
        gcomm = _free_tcp(size, used)
        sst = _free_tcp(size, used)
        self.nodes = [GaleraNode(self, i, sql[i], gcomm[i], sst[i]) for i in range(size)]

    def _wait(self, pred, timeout, what):
        end = time.time() + timeout
        while time.time() < end:
            for n in self.nodes:
                if n.proc is not None and n.proc.poll() is not None:
                    raise AssertionError(f"galera {n.name} exited:\n{n.log_tail()}")
            if pred():
                return
            time.sleep(0.2)
        raise AssertionError(f"galera: timed out waiting for {what}:\n" +
                             "\n".join(f"--- {n.name}\n{n.log_tail(15)}" for n in self.nodes))

    def start(self):
        first = self.nodes[0]
        first.start(new_cluster=True)
        self._wait(first.ready, 60, f"{first.name} to bootstrap")
        first.sql("CREATE USER IF NOT EXISTS 'uacreg'@'127.0.0.1' IDENTIFIED BY 'uacreg';"
                  "CREATE USER IF NOT EXISTS 'uacreg'@'localhost' IDENTIFIED BY 'uacreg';"
                  "GRANT ALL ON *.* TO 'uacreg'@'127.0.0.1';"
                  "GRANT ALL ON *.* TO 'uacreg'@'localhost';")
        for n in self.nodes[1:]:
            n.start()
            self._wait(n.ready, 120, f"{n.name} to join")
        self._wait(lambda: self.size() == len(self.nodes), 30, "wsrep_cluster_size")
        return self

    def size(self):
        v = self.nodes[0].status("wsrep_cluster_size")
        return int(v) if v else 0

    def stop(self):
        for n in reversed(self.nodes):
            n.stop()

    def url(self, i, db):
        return f"mysql://uacreg:uacreg@127.0.0.1:{self.nodes[i].port}/{db}"
