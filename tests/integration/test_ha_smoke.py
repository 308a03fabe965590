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
        # refreshed every few seconds: the steady state below sees traffic
        db.add_line(u, r_domain=reg.addr, expires=10)
    a = kamailio(extra_params=ha_params("node-a"), host="127.0.0.11")
    b = kamailio(extra_params=ha_params("node-b"), host="127.0.0.12")

    def owners():
        return {l: (o, int(e)) for l, o, e in
                db.sql("SELECT l_uuid, node_id, epoch FROM uacreg_owner")}

    # both nodes live, every line owned by one of them (a node that started
    # alone may have taken every line first: they move once, to the node
    # the hash names, with epoch + 1)
    wait_for(lambda: {o for o, _ in owners().values()} == {"node-a", "node-b"}
             and len(owners()) == N, 30, what="lines spread over both nodes")
    time.sleep(2)
    own = owners()
    assert all(e in (1, 2) for _, e in own.values()), own
    t0 = time.time()
    wait_for(lambda: ok_users(reg, since=t0) == set(users), 30,
             what="every line registered (refreshed) in the steady state")
    # steady state: every line from exactly one address, its owner's
    srcs = {}
    for r in reg.requests():
        if r["t"] >= t0:
            srcs.setdefault(r["user"], set()).add(r["src"].rsplit(":", 1)[0])
    assert set(srcs) == set(users)
    for u, s in srcs.items():
        want = "127.0.0.11" if own[u][0] == "node-a" else "127.0.0.12"
        assert s == {want}, (u, s, own[u])
    assert owners() == own  # nothing moved
    nodes = {n["node_id"]: n for n in a.rpc("uacreg.nodes")}
    assert nodes["node-a"]["self"] == 1 and nodes["node-b"]["alive"] == 1
    assert sum(n["lines"] for n in nodes.values()) == N
    info = a.info("h0")
    assert info["owner"] == own["h0"][0] and info["epoch"] == own["h0"][1]

    # SIGKILL node-b: its lines answer 200 from node-a within lease + 5 s
    b_lines = {u for u, (o, _) in own.items() if o == "node-b"}
    killed = time.time()
    b.procs.stop(b.proc, sig=signal.SIGKILL)
    wait_for(lambda: b_lines <= ok_users(reg, since=killed, src="127.0.0.11"), LEASE + 5,
             what="node-b's lines registered by node-a")
    after = owners()
    for u in users:
        if u in b_lines:
            assert after[u] == ("node-a", own[u][1] + 1), (u, own[u], after[u])
        else:
            assert after[u] == own[u]
    s = a.rpc("uacreg.summary")
    assert s["owned_lines"] == N and s["fenced"] == 0
    assert "took over %d lines from node-b" % len(b_lines) in a.log_text()
    # node-b's lines were not sent from node-b after the kill
    assert not [r for r in reg.requests() if r["t"] > killed + 0.5
                and r["src"].startswith("127.0.0.12:")]
