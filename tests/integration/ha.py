"""Harness of the HA tests (issue #17): several Kamailio nodes on one table.

Each node is the test cfg's Kamailio on a loopback address of its own
(127.0.0.11, .12, .13), with its own ctl and RPC sockets, pidfile, workdir
and log, started through the test's `procs` (so every PID is stopped, pass
or fail), and the HA modparams of its own: ha_mode, node_id, node_priority,
lease_ttl, ha_interval_ms, default_contact (its own address unless a shared
Contact is given), db_url (the shared database, or its own Galera node).

The node's event_route[uacreg:state] also records HA events in test_events:
kind 'ha:<node_id>', state '<ha_event>/<owner>', code the epoch, so a test
reads in SQL which node took or lost which line, with which epoch, when
(`at`, the database's clock).

The carrier is our registrar (conftest `registrar`): its log has the source
address of every REGISTER, which is how a test counts AORs by node.
"""
import os
import signal
import time

import pytest

from conftest import CFG_TEMPLATE, Kamailio

HOSTS = ["127.0.0.11", "127.0.0.12", "127.0.0.13"]

# added at the top of the state route: the HA events of ha.md, in SQL
HA_EVENT = """	if ($uacreg(ha_event) == "takeover" || $uacreg(ha_event) == "lost") {
		xlog("L_NOTICE", "uacreg-ha: @NODE@ $uacreg(l_uuid) $uacreg(ha_event) $uacreg(owner) $uacreg(epoch)\\n");
		sql_query("ca", "INSERT INTO test_events (l_uuid, kind, state, code) VALUES ('$uacreg(l_uuid)', 'ha:@NODE@', '$uacreg(ha_event)/$uacreg(owner)', $uacreg(epoch))");
	}
"""


def ha_cfg_text(node_id):
    text = CFG_TEMPLATE.read_text()
    head = "event_route[uacreg:state] {\n"
    assert head in text
    return text.replace(head, head + HA_EVENT.replace("@NODE@", node_id), 1)


class DbUrl:
    """What Kamailio() needs of a database: its URL."""

    def __init__(self, url):
        self.url = url


class HANode(Kamailio):
    def __init__(self, procs, workdir, db, node_id, host, mode="active", priority=100,
                 lease_ttl=4, ha_interval_ms=None, extra_params="", contact=None,
                 ha_event_route=True, ha_params=True, **kw):
        self.node_id = node_id
        params = [] if not ha_params else [
            f'modparam("uacreg", "ha_mode", "{mode}")',
            f'modparam("uacreg", "node_id", "{node_id}")',
            f'modparam("uacreg", "node_priority", {priority})',
            f'modparam("uacreg", "lease_ttl", {lease_ttl})',
        ]
        if ha_interval_ms is not None and ha_params:
            params.append(f'modparam("uacreg", "ha_interval_ms", {ha_interval_ms})')
        self.lease_ttl = lease_ttl
        self.ha_interval = (ha_interval_ms or lease_ttl * 1000 / 5) / 1000.0
        super().__init__(procs, workdir, db, host=host, contact=contact,
                         extra_params="\n".join(params) + "\n" + extra_params,
                         cfg_text=ha_cfg_text(node_id) if ha_event_route else None, **kw)
        self.paused = False

    # --- signals: the whole process group (the node, not one process) ----
    def signal(self, sig):
        os.killpg(self.proc.pid, sig)

    def kill(self):
        """SIGKILL: the node dies at once, nothing released or sent."""
        self.signal(signal.SIGKILL)
        self.proc.wait(10)

    def pause(self):
        """SIGSTOP every process of the node (a VM frozen, a long GC)."""
        self.signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self.signal(signal.SIGCONT)
        self.paused = False

    def stop(self):
        if self.proc and self.paused and self.proc.poll() is None:
            self.resume()  # a stopped process would not see SIGTERM
        super().stop()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # --- what the node says of itself -------------------------------------
    def summary(self):
        return self.rpc("uacreg.summary")

    def nodes(self):
        return self.rpc("uacreg.nodes")


class Cluster:
    """The nodes of one test on one database (db: conftest DB, the SQL
    side; node i may use its own URL, e.g. its Galera node)."""

    def __init__(self, db, nodes):
        self.db = db
        self.nodes = nodes

    def __iter__(self):
        return iter(self.nodes)

    def __getitem__(self, i):
        return self.nodes[i]

    def by_host(self, host):
        for n in self.nodes:
            if n.host == host:
                return n
        return None

    # --- SQL views --------------------------------------------------------
    def owners(self):
        """{l_uuid: (node_id or None, epoch)} from uacreg_owner."""
        return {r[0]: (None if r[1] == "NULL" else r[1], int(r[2]))
                for r in self.db.sql("SELECT l_uuid, node_id, epoch FROM uacreg_owner")}

    def live_nodes(self):
        return {r[0] for r in self.db.sql(
            "SELECT node_id FROM uacreg_node WHERE lease_until > NOW(3)")}

    def ha_events(self, kind=None):
        """[(node_id, l_uuid, ha_event, owner, epoch, at)] in order."""
        out = []
        for r in self.db.sql("SELECT kind, l_uuid, state, code, UNIX_TIMESTAMP(at) FROM test_events "
                             "WHERE kind LIKE 'ha:%' ORDER BY id"):
            ev, _, owner = r[2].partition("/")
            if kind is None or ev == kind:
                out.append((r[0][3:], r[1], ev, owner, int(r[3]), float(r[4])))
        return out

    def settled(self, lines, live=None):
        """Every line owned by a live node and the owners are as active mode
        wants them (each node registered, no line unowned); returns the
        owners or None."""
        owners = self.owners()
        live = set(live if live is not None else (n.node_id for n in self.nodes if n.alive()))
        if not live <= self.live_nodes():
            return None
        if any(owners.get(l, (None, 0))[0] not in live for l in lines):
            return None
        return owners

    def wait_settled(self, lines, registrar, live=None, timeout=30, stable=None):
        """Waits until every line has an owner among the live nodes, that
        ownership has not moved for `stable` seconds (default: two HA
        intervals) and every line's last REGISTER answered 200 came from
        its owner's address; returns the owners."""
        stable = stable if stable is not None else 2 * max(n.ha_interval for n in self.nodes) + 0.5
        by_id = {n.node_id: n for n in self.nodes}
        end = time.time() + timeout
        last, since = None, time.time()
        while time.time() < end:
            o = self.settled(lines, live)
            if o != last:
                last, since = o, time.time()
            elif o is not None and time.time() - since >= stable:
                ok = registrar.last_ok_source()
                if all(ok.get(l) == by_id[o[l][0]].host for l in lines):
                    return o
            time.sleep(0.2)
        raise AssertionError(f"the cluster did not settle in {timeout}s: owners {last!r}, "
                             f"live {self.live_nodes()!r}")


@pytest.fixture
def ha_cluster(procs, tmp_path, db):
    """Factory: ha_cluster(n=2, mode="active", lease_ttl=4, priorities=None,
    urls=None, contacts=None, start=True, **node kwargs) -> Cluster.

    Node i is node_id n<i+1> on HOSTS[i]. urls: per node db_url (default:
    the test's db). contacts: per node default_contact (default: its own
    address; give the same string to every node for a floating IP)."""
    made = []

    def make(n=2, mode="active", lease_ttl=4, priorities=None, urls=None, contacts=None,
             start=True, sql_db=None, **kw):
        nodes = []
        for i in range(n):
            node = HANode(procs, tmp_path / f"node{len(made) + 1}", DbUrl(urls[i]) if urls else db,
                          f"n{len(made) + 1}", HOSTS[i], mode=mode,
                          priority=priorities[i] if priorities else 100, lease_ttl=lease_ttl,
                          contact=contacts[i] if contacts else None, **kw)
            made.append(node)
            nodes.append(node)
        if start:
            for node in nodes:
                node.start()
        return Cluster(sql_db or db, nodes)

    yield make
    for node in made:
        node.stop()


def add_lines(db, registrar, n, prefix="l", **cols):
    """n lines on the registrar (every user knows password 'secret');
    returns their l_uuids."""
    names = [f"{prefix}{i:03d}" for i in range(n)]
    users = dict(registrar.options.get("users") or {})
    for name in names:
        db.add_line(name, r_domain=registrar.addr, **cols)
        users[name] = "secret"
    registrar.set(users=users)
    return names


def host_of(src):
    return src.rsplit(":", 1)[0] if src else None


def double_registrations(registrar, since=None, until=None):
    """AORs that two nodes REGISTERed at the same time: for each AOR, each
    source's span (its first to its last REGISTER in the window,
    retransmissions left out) must not overlap another source's. A clean
    handover A -> B has A's last REGISTER before B's first."""
    spans = {}
    for r in registrar.requests():
        if (since is not None and r["t"] < since) or (until is not None and r["t"] >= until):
            continue
        s = spans.setdefault(r["user"], {}).setdefault(host_of(r["src"]), [r["t"], r["t"]])
        s[1] = r["t"]
    bad = {}
    for user, by_src in spans.items():
        iv = sorted(by_src.items(), key=lambda kv: kv[1][0])
        for (h1, (a1, b1)), (h2, (a2, b2)) in zip(iv, iv[1:]):
            if a2 <= b1:
                bad[user] = {h: (round(a, 2), round(b, 2)) for h, (a, b) in by_src.items()}
    return bad


def unregisters(registrar, host=None, since=None):
    """REGISTERs with Expires: 0 (header or Contact parameter) sent from host."""
    out = []
    for r in registrar.requests():
        if host is not None and host_of(r["src"]) != host:
            continue
        if since is not None and r["t"] < since:
            continue
        if r.get("expires") == 0 or "0" in (r.get("contact_expires") or []) or r.get("contact") == ["*"]:
            out.append(r)
    return out


def sends_from(registrar, host, since=None, users=None):
    """REGISTERs (retransmissions left out) from host after since."""
    return [r for r in registrar.requests()
            if host_of(r["src"]) == host and (since is None or r["t"] >= since)
            and (users is None or r["user"] in users)]


def sends_without_ownership(registrar, db, node, since, lines):
    """REGISTERs node sent after since for a line it did not own then: a line
    it does not own now gets none; a line it owns now (claimed again, e.g.
    after a rebalance) none before its claim (uacreg_owner.claimed_at, the
    database's clock). Returns [(l_uuid, seconds after since)]."""
    now = {r[0]: (r[1], float(r[2]) if r[2] != "NULL" else None) for r in db.sql(
        "SELECT l_uuid, node_id, UNIX_TIMESTAMP(claimed_at) FROM uacreg_owner")}
    bad = []
    for x in sends_from(registrar, node.host, since=since, users=set(lines)):
        owner, claimed = now.get(x["user"], (None, None))
        if owner != node.node_id or claimed is None or x["t"] < claimed:
            bad.append((x["user"], round(x["t"] - since, 2)))
    return bad
