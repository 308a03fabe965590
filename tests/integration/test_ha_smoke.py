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


def ha_params(node, mode="active", prio=100, lease=LEASE):
    return "\n".join([
        'modparam("uacreg", "ha_mode", "%s")' % mode,
        'modparam("uacreg", "node_id", "%s")' % node,
        'modparam("uacreg", "node_priority", %d)' % prio,
        'modparam("uacreg", "lease_ttl", %d)' % lease,
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


def counter(k, name):
    rc, out = k.kamcmd("cnt.get", "uacreg", name)
    assert rc == 0, out
    return int(out.strip())


def ha_cfg():
    """the test cfg, its state route also logging the HA fields"""
    from conftest import CFG_TEMPLATE
    text = CFG_TEMPLATE.read_text()
    old = 'xlog("L_NOTICE", "uacreg-state: $uacreg(l_uuid) $uacreg(state) $uacreg(last_code)\\n");'
    assert old in text
    return text.replace(old, old + '\n\txlog("L_NOTICE", "uacreg-ha: $uacreg(l_uuid) '
                        '[$uacreg(ha_event)] [$uacreg(owner)] $uacreg(epoch)\\n");')


def test_fence_without_lease(db, kamailio, registrar):
    """The node cannot renew its lease (its node table is gone): it stops
    sending before the lease can expire, says so once, and sends again once
    the renew succeeds and it has read its ownership."""
    users = {f"f{i}": "secret" for i in range(3)}
    reg = registrar(users=users)
    for u in users:
        db.add_line(u, r_domain=reg.addr, expires=4)  # refreshed every ~2-3 s
    a = kamailio(extra_params=ha_params("node-a"), host="127.0.0.11")
    wait_for(lambda: ok_users(reg) == set(users), 20, what="lines registered")
    db.sql("RENAME TABLE uacreg_node TO uacreg_node_away")
    cut = time.time()
    wait_for(lambda: a.rpc("uacreg.summary")["fenced"] == 1, LEASE + 2, what="the fence")
    # the fence is lease_ttl - margin after the last renew that was sent
    fenced_at = time.time()
    assert fenced_at - cut <= LEASE + 1
    time.sleep(LEASE + 1)  # refreshes fall due meanwhile: none may go
    late = [r for r in reg.requests() if r["t"] > fenced_at]
    assert late == [], late
    assert counter(a, "fenced") == 1
    assert a.log_text().count("lease not renewed for") == 1
    db.sql("RENAME TABLE uacreg_node_away TO uacreg_node")
    back = time.time()
    wait_for(lambda: ok_users(reg, since=back) == set(users), 15, what="sending again")
    assert a.rpc("uacreg.summary")["fenced"] == 0
    # its lines stayed its own, at the same epoch
    assert db.sql("SELECT DISTINCT node_id, epoch FROM uacreg_owner") == [["node-a", "1"]]


def test_lost_line_is_dropped_silently(db, kamailio, registrar):
    """Another live node took the line in the table (as after a pause of
    this node): it sends nothing more for it, not even Expires: 0, counts
    the loss and runs the state route with ha_event 'lost'."""
    reg = registrar(users={"p1": "secret", "p2": "secret"})
    db.add_line("p1", r_domain=reg.addr, expires=4)
    db.add_line("p2", r_domain=reg.addr, expires=4)
    a = kamailio(extra_params=ha_params("node-a") + '\nmodparam("uacreg", "unregister_on_shutdown", 1)',
                 host="127.0.0.11", cfg_text=ha_cfg())
    wait_for(lambda: ok_users(reg) == {"p1", "p2"}, 20, what="lines registered")
    # a live node 'ghost' claims p1 (epoch + 1), as a survivor would
    db.sql("INSERT INTO uacreg_node VALUES ('ghost', 100, 'active', NOW(3) + INTERVAL 1 HOUR, NOW(3))")
    db.sql("UPDATE uacreg_owner SET node_id='ghost', epoch=epoch+1 WHERE l_uuid='p1'")
    moved = time.time()
    wait_for(lambda: a.info("p1")["owner"] == "ghost", 5, what="the loss seen")
    assert a.info("p1")["epoch"] == 2
    assert counter(a, "leases_lost") == 1
    wait_for(lambda: "uacreg-ha: p1 [lost] [ghost] 2" in a.log_text(), 5, what="the lost event")
    # p2 keeps refreshing; p1 is never sent again, and no unregister at stop
    wait_for(lambda: "p2" in ok_users(reg, since=moved + 1), 10, what="p2 refreshed")
    a.stop()
    p1_after = [r for r in reg.requests("p1") if r["t"] > moved + 0.5]
    assert p1_after == [], p1_after
    p2_bye = [r for r in reg.requests("p2") if r.get("expires") == 0
              or 0 in (r.get("contact_expires") or [])]
    assert p2_bye, "p2 (owned) is unregistered at the stop"
    # the graceful stop released node-a's lines, not ghost's
    assert sorted(db.sql("SELECT l_uuid, IFNULL(node_id, '-') FROM uacreg_owner")) == \
        [["p1", "ghost"], ["p2", "-"]]
    assert float(db.value("SELECT TIMESTAMPDIFF(MICROSECOND, NOW(3), lease_until) "
                          "FROM uacreg_node WHERE node_id='node-a'")) <= 0


def test_standby_and_graceful_stop(db, kamailio, registrar):
    """standby: the live node with the best priority registers every line;
    its graceful stop hands them over at the other's next round (well
    before the lease would expire); back, it takes them back."""
    users = {f"s{i}": "secret" for i in range(6)}
    reg = registrar(users=users)
    for u in users:
        db.add_line(u, r_domain=reg.addr)
    hi = kamailio(extra_params=ha_params("node-hi", "standby", 200), host="127.0.0.11",
                  cfg_text=ha_cfg())
    lo = kamailio(extra_params=ha_params("node-lo", "standby", 100), host="127.0.0.12",
                  cfg_text=ha_cfg())

    def owners():
        return {l: o for l, o in db.sql("SELECT l_uuid, IFNULL(node_id, '-') FROM uacreg_owner")}

    wait_for(lambda: set(owners().values()) == {"node-hi"} and len(owners()) == 6, 20,
             what="every line on node-hi")
    wait_for(lambda: ok_users(reg, src="127.0.0.11") == set(users), 20, what="hi registers all")
    assert lo.rpc("uacreg.summary")["owned_lines"] == 0
    hi.stop()
    stopped = time.time()
    wait_for(lambda: ok_users(reg, since=stopped, src="127.0.0.12") == set(users), 3,
             what="node-lo registers every line at once (graceful stop)")
    assert set(owners().values()) == {"node-lo"}
    assert counter(lo, "takeovers") == 6
    wait_for(lambda: lo.log_text().count("[takeover] [node-lo]") == 6, 5, what="takeover events")
    # node-hi comes back: it takes every line back
    hi.start()
    wait_for(lambda: set(owners().values()) == {"node-hi"}, 10, what="lines back on node-hi")


def test_ceiling_exactly_once_across_a_takeover(db, kamailio, registrar):
    """Wrong password, ceiling 3, its owner killed after failure 1: the
    survivor carries the count over (from SQL), so the carrier sees exactly
    3 failing credential REGISTERs in all; the route runs once; the row and
    its owner row are deleted once."""
    reg = registrar(users={"w1": "secret"})
    db.add_line("w1", r_domain=reg.addr, auth_password="wrong", fail_ceiling=3)
    slow = '\nmodparam("uacreg", "retry_min", 3)\nmodparam("uacreg", "retry_max", 3)'
    a = kamailio(extra_params=ha_params("node-a") + slow, host="127.0.0.11")
    b = kamailio(extra_params=ha_params("node-b") + slow, host="127.0.0.12")
    wait_for(lambda: db.value("SELECT node_id FROM uacreg_owner WHERE l_uuid='w1'")
             in ("node-a", "node-b"), 20, what="w1 owned")
    wait_for(lambda: db.value("SELECT fail_count FROM uacreg WHERE l_uuid='w1'") == "1", 20,
             what="failure 1 written")
    owner = db.value("SELECT node_id FROM uacreg_owner WHERE l_uuid='w1'")
    dead, survivor = (a, b) if owner == "node-a" else (b, a)
    dead.procs.stop(dead.proc, sig=signal.SIGKILL)
    wait_for(lambda: db.value("SELECT COUNT(*) FROM uacreg WHERE l_uuid='w1'") == "0",
             LEASE + 20, what="w1 deleted by the survivor")
    bad = [r for r in reg.requests("w1") if str(r.get("verify")).endswith("bad_response")]
    assert len(bad) == 3, bad
    assert db.sql("SELECT COUNT(*) FROM test_events WHERE kind='ceiling'") == [["1"]]
    assert db.value("SELECT COUNT(*) FROM uacreg_owner WHERE l_uuid='w1'") == "0"
    assert counter(survivor, "takeovers") == 1
    assert counter(survivor, "ceiling_removals") == 1


def test_row_reloaded_on_one_node_only(db, kamailio, registrar):
    """A row added and reloaded on one node only: the node that should own
    it loads it itself and registers it, once."""
    users = {f"r{i}": "secret" for i in range(8)}
    reg = registrar(users=users)
    a = kamailio(extra_params=ha_params("node-a"), host="127.0.0.11")
    b = kamailio(extra_params=ha_params("node-b"), host="127.0.0.12")
    wait_for(lambda: len(a.rpc("uacreg.nodes")) == 2, 10, what="both nodes live")
    for u in users:
        db.add_line(u, r_domain=reg.addr)
    a.rpc("uacreg.reload")
    wait_for(lambda: ok_users(reg) == set(users), 15, what="every new line registered")
    own = {l: o for l, o in db.sql("SELECT l_uuid, node_id FROM uacreg_owner")}
    assert set(own.values()) == {"node-a", "node-b"}, own  # both took theirs
    srcs = {}
    for r in reg.requests():
        srcs.setdefault(r["user"], set()).add(r["src"].rsplit(":", 1)[0])
    for u in users:
        assert srcs[u] == {"127.0.0.11" if own[u] == "node-a" else "127.0.0.12"}


def test_paused_node_drops_what_it_lost(db, kamailio, registrar):
    """SIGSTOP of a node for twice lease_ttl: the other takes its lines over
    (epoch + 1); after SIGCONT the paused node sends nothing for them until
    it has claimed them back under a new epoch of its own (active mode gives
    them back to it)."""
    import os
    users = {f"z{i}": "secret" for i in range(12)}
    reg = registrar(users=users)
    for u in users:
        db.add_line(u, r_domain=reg.addr, expires=6)
    a = kamailio(extra_params=ha_params("node-a"), host="127.0.0.11")
    b = kamailio(extra_params=ha_params("node-b"), host="127.0.0.12")

    def owners():
        return {l: (o, int(e)) for l, o, e in
                db.sql("SELECT l_uuid, IFNULL(node_id, '-'), epoch FROM uacreg_owner")}

    wait_for(lambda: {o for o, _ in owners().values()} == {"node-a", "node-b"}
             and len(owners()) == len(users), 30, what="lines spread over both nodes")
    time.sleep(2)
    own = owners()
    b_lines = {u for u, (o, _) in own.items() if o == "node-b"}
    os.killpg(b.proc.pid, signal.SIGSTOP)
    try:
        wait_for(lambda: all(owners()[u] == ("node-a", own[u][1] + 1) for u in b_lines),
                 LEASE + 5, what="node-a took node-b's lines over")
        time.sleep(max(0, 2 * LEASE - (LEASE + 1)))
    finally:
        os.killpg(b.proc.pid, signal.SIGCONT)
    woke = time.time()
    # node-b comes back: the hash gives its lines back to it, by a claim
    wait_for(lambda: all(owners()[u] == ("node-b", own[u][1] + 2) for u in b_lines),
             20, what="node-b's lines back on node-b (epoch + 2: two claims)")
    claimed = {l: float(t) for l, t in db.sql(
        "SELECT l_uuid, UNIX_TIMESTAMP(claimed_at) FROM uacreg_owner")}
    for r in reg.requests():
        if r["src"].startswith("127.0.0.12:") and r["t"] >= woke and r["user"] in b_lines:
            # 10 ms: the database's and the registrar's clock, one machine
            assert r["t"] >= claimed[r["user"]] - 0.01, (r["user"], r["t"], claimed[r["user"]])
    assert counter(b, "leases_lost") == len(b_lines)
    assert counter(a, "takeovers") == len(b_lines)


def test_first_claims_keep_start_spread(db, kamailio, registrar):
    """A cluster's first claims start the lines as a start-up does (spread
    over start_spread); only a takeover registers at once."""
    users = {f"q{i}": "secret" for i in range(10)}
    reg = registrar(users=users)
    for u in users:
        db.add_line(u, r_domain=reg.addr)
    a = kamailio(extra_params=ha_params("node-a") + '\nmodparam("uacreg", "start_spread", 60)',
                 host="127.0.0.11")
    wait_for(lambda: a.rpc("uacreg.summary")["owned_lines"] == len(users), 10,
             what="every line owned")
    time.sleep(2)
    # each line waits a random 0-60 s: all ten within the first seconds
    # would be a chance of 1e-10
    assert len(ok_users(reg)) < len(users)


def test_nodes_started_together_claim_once(db, kamailio, registrar):
    """Two nodes started together: every line is claimed once (epoch 1), by
    the node the hash names, and registered from that node only - no line
    is taken by the first node up and handed over a moment later."""
    users = {f"t{i}": "secret" for i in range(30)}
    reg = registrar(users=users)
    for u in users:
        db.add_line(u, r_domain=reg.addr)
    a = kamailio(extra_params=ha_params("node-a", lease=10), host="127.0.0.11")
    b = kamailio(extra_params=ha_params("node-b", lease=10), host="127.0.0.12")
    wait_for(lambda: ok_users(reg) == set(users), 30, what="every line registered")
    own = {l: (o, int(e)) for l, o, e in db.sql("SELECT l_uuid, node_id, epoch FROM uacreg_owner")}
    assert {e for _, e in own.values()} == {1}, own
    assert {o for o, _ in own.values()} == {"node-a", "node-b"}
    for r in reg.requests():
        want = "127.0.0.11" if own[r["user"]][0] == "node-a" else "127.0.0.12"
        assert r["src"].startswith(want + ":"), (r["user"], r["src"], own[r["user"]])


def test_ha_off_touches_no_ha_table(db, kamailio, registrar):
    """ha_mode off (the default): no HA table is written, no HA process
    runs, uacreg.nodes says so, and the summary shows every line as this
    node's."""
    reg = registrar(users={"o1": "secret"})
    db.add_line("o1", r_domain=reg.addr)
    k = kamailio()
    k.wait_state("o1", "registered")
    assert db.value("SELECT COUNT(*) FROM uacreg_owner") == "0"
    assert db.value("SELECT COUNT(*) FROM uacreg_node") == "0"
    assert "uacreg HA" not in k.kamcmd("core.psx")[1]
    assert "uacreg worker" in k.kamcmd("core.psx")[1]
    try:
        k.rpc("uacreg.nodes")
        assert False, "uacreg.nodes answered with ha_mode off"
    except Exception as e:
        assert "ha_mode is off" in str(e)
    s = k.rpc("uacreg.summary")
    assert (s["ha_mode"], s["owned_lines"], s["fenced"]) == ("off", 1, 0)
    assert (k.info("o1")["owner"], k.info("o1")["epoch"]) == ("", 0)


def test_ceiling_keep_and_lost_ceiling(db, kamailio, registrar):
    """HA ceiling writes are the owner's: a kept line is disabled by its
    owner (the owner row stays); a line at its ceiling whose owner row moved
    to another node meanwhile is neither deleted nor disabled here."""
    reg = registrar(users={"k1": "secret", "k2": "secret"})
    db.add_line("k1", r_domain=reg.addr, auth_password="wrong", fail_ceiling=2)
    a = kamailio(extra_params=ha_params("node-a"), host="127.0.0.11",
                 ceiling_extra='if ($uacreg(l_uuid) == "k1") { uacreg_keep(); }\n'
                               '\tif ($uacreg(l_uuid) == "k2") { sql_query("ca", "DO SLEEP(3)"); }')
    wait_for(lambda: db.value("SELECT flags FROM uacreg WHERE l_uuid='k1'") == "1", 20,
             what="k1 disabled by the ceiling route's keep")
    assert db.value("SELECT node_id FROM uacreg_owner WHERE l_uuid='k1'") == "node-a"
    # k2: while its ceiling route runs (3 s), a live node takes it over
    db.add_line("k2", r_domain=reg.addr, auth_password="wrong", fail_ceiling=2)
    a.rpc("uacreg.reload")
    wait_for(lambda: "uacreg-ceiling: k2" in a.log_text(), 20, what="k2's ceiling route")
    db.sql("INSERT INTO uacreg_node VALUES ('ghost', 100, 'active', NOW(3) + INTERVAL 1 HOUR, NOW(3))")
    db.sql("UPDATE uacreg_owner SET node_id='ghost', epoch=epoch+1 WHERE l_uuid='k2'")
    wait_for(lambda: "line [k2]: owned by another node now: not deleted here" in a.log_text(),
             10, what="the write refused")
    assert db.value("SELECT COUNT(*) FROM uacreg WHERE l_uuid='k2'") == "1"
    assert db.value("SELECT node_id FROM uacreg_owner WHERE l_uuid='k2'") == "ghost"
