"""HA smoke test (issue #17): two nodes on loopback addresses of their own,
one database. Every line is registered from exactly one source; a node
killed with SIGKILL has its lines registered by the other within
lease_ttl + 5 s. The long multi-node suite is test_ha*.py of the hatest
branch."""
import signal
import time

from conftest import wait_for

LEASE = 4
N = 20


def ha_params(node, mode="active", prio=100):
    return "\n".join([
        'modparam("uacreg", "ha_mode", "%s")' % mode,
        'modparam("uacreg", "node_id", "%s")' % node,
        'modparam("uacreg", "node_priority", %d)' % prio,
        'modparam("uacreg", "lease_ttl", %d)' % LEASE,
        'modparam("uacreg", "ha_interval_ms", 500)',
        'modparam("uacreg", "rate", 200)',
    ])


def sources_by_user(reg):
    """{user: set of source addresses} of the REGISTERs the carrier got"""
    out = {}
    for r in reg.requests():
        out.setdefault(r["user"], set()).add(r["src"].rsplit(":", 1)[0])
    return out


def ok_users(reg, since=0.0, src=None):
    """users answered 200 (after `since`, from `src`)"""
    reqs = {}
    for r in reg.log():
        if r.get("dir") == "in" and r.get("method") == "REGISTER":
            reqs[(r.get("call_id"), r.get("cseq"))] = r
    users = set()
    for r in reg.log():
        if r.get("dir") == "out" and r.get("code") == 200 and r.get("t", 0) >= since:
            q = reqs.get((r.get("call_id"), r.get("cseq")))
            if q and (src is None or q["src"].startswith(src + ":")):
                users.add(q["user"])
    return users


def test_two_nodes_one_source_and_failover(db, kamailio, registrar):
    users = {f"h{i}": "secret" for i in range(N)}
    reg = registrar(users=users)
    for u in users:
        db.add_line(u, r_domain=reg.addr)
    a = kamailio(extra_params=ha_params("node-a"), host="127.0.0.11")
    b = kamailio(extra_params=ha_params("node-b"), host="127.0.0.12")

    def owners():
        return {l: o for l, o in db.sql("SELECT l_uuid, node_id FROM uacreg_owner")}

    wait_for(lambda: len(ok_users(reg)) == N, 30, what="every line registered")
    # steady state: every line from exactly one address, both nodes used
    time.sleep(2 * LEASE)  # several HA rounds: no line may move or double
    srcs = sources_by_user(reg)
    assert set(srcs) == set(users)
    assert all(len(s) == 1 for s in srcs.values()), srcs
    own = owners()
    assert set(own.values()) == {"node-a", "node-b"}, own
    for u, s in srcs.items():
        want = "127.0.0.11" if own[u] == "node-a" else "127.0.0.12"
        assert s == {want}, (u, s, own[u])
    assert int(db.value("SELECT MAX(epoch) FROM uacreg_owner")) == 1
    nodes = {n["node_id"]: n for n in a.rpc("uacreg.nodes")}
    assert nodes["node-a"]["self"] == 1 and nodes["node-b"]["alive"] == 1
    assert sum(n["lines"] for n in nodes.values()) == N
    info = a.info("h0")
    assert info["owner"] == own["h0"] and info["epoch"] == 1

    # SIGKILL node-b: its lines answer 200 from node-a within lease + 5 s
    b_lines = {u for u, o in own.items() if o == "node-b"}
    killed = time.time()
    b.procs.stop(b.proc, sig=signal.SIGKILL)
    wait_for(lambda: b_lines <= ok_users(reg, since=killed, src="127.0.0.11"), LEASE + 5,
             what="node-b's lines registered by node-a")
    assert set(owners().values()) == {"node-a"}
    assert int(db.value("SELECT MAX(epoch) FROM uacreg_owner")) == 2
    s = a.rpc("uacreg.summary")
    assert s["owned_lines"] == N and s["fenced"] == 0
    assert "took over %d lines from node-b" % len(b_lines) in a.log_text()
