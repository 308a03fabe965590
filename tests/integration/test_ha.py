"""Issue #17: several Kamailio nodes on one table, every line registered by
exactly one live node, failover in seconds.

Nodes n1, n2 (n3) on 127.0.0.11, .12 (.13), one MariaDB (the session's, or
a private one for the outage), our registrar on 127.0.0.1 as the carrier:
its log has the source of every REGISTER, so "registered by which node" is
read on the wire, and ownership (uacreg_owner, uacreg_node) in SQL. Small
lease_ttl (4 s, ha_interval 0.8 s) keeps the runs short.

The Galera cluster (a database that survives a node) is test_ha_galera.py.
"""
import socket
import time

import pytest

from conftest import MariaDB, free_port, new_db, wait_for
from ha import (add_lines, double_registrations, ha_cluster, host_of, sends_from,  # noqa: F401
                sends_without_ownership, unregisters)

TTL = 4
# what the tests' cfg leaves at the module's default
RATE = 100


def owned_by(owners, node_id, lines):
    return [l for l in lines if owners.get(l, (None, 0))[0] == node_id]


def wait_all_ok(registrar, lines, since, host=None, timeout=30):
    """Waits until every line has a 200 after since (from host); returns
    {line: time of that 200}."""
    def done():
        got = {l: registrar.first_ok(l, since, host) for l in lines}
        return got if all(v is not None for v in got.values()) else None
    return wait_for(done, timeout, step=0.2, what=f"a 200 for each of {len(lines)} lines")


# --- ha_mode=off: today's behaviour, and the problem of the issue --------------

def test_ha_off_every_node_registers_every_line(db, registrar, ha_cluster):
    """Without ha_mode (the default, off) each node registers every row, as
    stock uac does (Kamailio #2624): the harness sees both sources per AOR.
    No HA table is touched."""
    r = registrar()
    lines = add_lines(db, r, 6, expires=4)
    c = ha_cluster(2, ha_params=False, ha_event_route=False)
    wait_for(lambda: all(len(r.sources().get(l, ())) == 2 for l in lines), 20,
             what="every line registered from both nodes")
    assert r.count_by_source() == {"127.0.0.11": 6, "127.0.0.12": 6}
    # what the HA tests assert to be empty is not empty here
    assert r.aors_from_several_sources() == lines
    wait_for(lambda: len(double_registrations(r)) == 6, 20,
             what="refreshes of each line from both nodes, interleaved")
    for n in c:
        assert n.summary()["lines"] == 6
    assert db.value("SELECT COUNT(*) FROM uacreg_owner") == "0"
    assert db.value("SELECT COUNT(*) FROM uacreg_node") == "0"


# --- steady state ---------------------------------------------------------------

def test_steady_state_two_nodes_one_source_per_aor(db, registrar, ha_cluster):
    """60 lines on 2 active nodes, refreshing every 8 s, 20 s watched: every
    line registered, none from two sources, the lines spread over both."""
    r = registrar()
    lines = add_lines(db, r, 60, expires=10)
    c = ha_cluster(2, lease_ttl=TTL)
    owners = c.wait_settled(lines, r, timeout=40)
    t0 = time.time()
    time.sleep(20)  # intentional: the window watched
    t1 = time.time()

    assert r.aors_from_several_sources(t0, t1) == []
    assert double_registrations(r) == {}, "a line registered by both nodes at once"
    # every line refreshed in the window, from its owner
    src = r.sources(t0, t1)
    assert sorted(src) == lines
    host = {n.node_id: n.host for n in c}
    for l in lines:
        assert src[l] == {host[owners[l][0]]}
        assert r.first_ok(l, t0, host[owners[l][0]]) is not None
    n1, n2 = len(owned_by(owners, "n1", lines)), len(owned_by(owners, "n2", lines))
    assert n1 + n2 == 60 and n1 >= 15 and n2 >= 15, (n1, n2)
    assert r.count_by_source(t0, t1) == {"127.0.0.11": n1, "127.0.0.12": n2}
    # each node knows it: owned_lines, uacreg.nodes, uacreg.info's owner
    s1, s2 = c[0].summary(), c[1].summary()
    assert (s1["ha_mode"], s1["node_id"], s1["owned_lines"], s1["fenced"]) == ("active", "n1", n1, 0)
    assert (s2["ha_mode"], s2["node_id"], s2["owned_lines"], s2["fenced"]) == ("active", "n2", n2, 0)
    assert s1["lines"] == s2["lines"] == 60  # every node loads every row
    nodes = {n["node_id"]: n for n in c[0].nodes()}
    assert set(nodes) == {"n1", "n2"}
    assert nodes["n1"]["self"] == 1 and nodes["n2"]["self"] == 0
    assert all(n["alive"] == 1 and 0 < n["lease_left_ms"] <= TTL * 1000 for n in nodes.values())
    assert (nodes["n1"]["lines"], nodes["n2"]["lines"]) == (n1, n2)
    for l in lines[:5]:
        info = c[0].info(l)
        assert info["owner"] == owners[l][0] and info["epoch"] == owners[l][1]
    # the owner table: one row per line, every owner live
    assert db.value("SELECT COUNT(*) FROM uacreg_owner") == "60"
    assert c.live_nodes() == {"n1", "n2"}


# --- SIGKILL ---------------------------------------------------------------------

def test_sigkill_survivor_takes_every_line_within_lease_ttl(db, registrar, ha_cluster):
    r = registrar()
    lines = add_lines(db, r, 40)
    c = ha_cluster(2, lease_ttl=TTL)
    owners = c.wait_settled(lines, r)
    dead = owned_by(owners, "n1", lines)
    assert dead
    t_kill = time.time()
    c[0].kill()
    bound = TTL + 5 + len(dead) / RATE
    oks = wait_all_ok(r, dead, t_kill, host="127.0.0.12", timeout=bound + 5)
    worst = max(oks.values()) - t_kill
    assert worst <= bound, f"the last line came back {worst:.1f}s after the kill (bound {bound:.1f}s)"
    after = c.owners()
    for l in dead:
        assert after[l] == ("n2", owners[l][1] + 1), (l, owners[l], after[l])
    for l in set(lines) - set(dead):
        assert after[l] == owners[l]  # the survivor's own lines did not move
    assert sends_from(r, "127.0.0.11", since=t_kill + 0.5) == []
    assert double_registrations(r, since=t_kill) == {}
    # one takeover event per line, on the survivor, with the new epoch
    ev = [(e[1], e[4]) for e in c.ha_events("takeover") if e[0] == "n2" and e[5] >= t_kill]
    assert sorted(ev) == sorted((l, owners[l][1] + 1) for l in dead)
    s = c[1].summary()
    assert s["owned_lines"] == 40
    # the dead node stays listed, expired, without lines
    nodes = {n["node_id"]: n for n in c[1].nodes()}
    assert nodes["n1"]["alive"] == 0 and nodes["n1"]["lease_left_ms"] < 0
    assert nodes["n1"]["lines"] == 0 and nodes["n2"]["lines"] == 40
    got = c[1].rpc("cnt.grp_get_all", "uacreg")
    assert int(got["takeovers"]) >= len(dead)
    assert "uacreg: HA: node n2 took over" in c[1].log_text()


# --- SIGSTOP / SIGCONT -----------------------------------------------------------

def test_sigstop_paused_node_sends_nothing_for_lines_it_lost(db, registrar, ha_cluster):
    """n1 frozen for 2 x lease_ttl: n2 claims n1's lines (epoch + 1, once
    each). Rows of expires 6: when n1 wakes every one of its lines is long
    due for a refresh, yet it sends nothing for a line it lost until it has
    claimed it again (claimed_at of a new epoch), and never Expires: 0."""
    r = registrar()
    lines = add_lines(db, r, 30, expires=6)
    c = ha_cluster(2, lease_ttl=TTL)
    owners = c.wait_settled(lines, r)
    lost = owned_by(owners, "n1", lines)
    assert lost
    c[0].pause()
    t_stop = time.time()
    wait_for(lambda: all(c.owners()[l][0] == "n2" for l in lost), TTL + 5,
             what="n2 to claim n1's lines")
    time.sleep(max(0.0, t_stop + 2 * TTL - time.time()))  # intentional: paused 2 x lease_ttl
    mid = c.owners()
    for l in lost:
        assert mid[l] == ("n2", owners[l][1] + 1), (l, owners[l], mid[l])
    took = [(e[1], e[4]) for e in c.ha_events("takeover") if e[0] == "n2" and e[5] >= t_stop]
    assert sorted(t for t in took if t[0] in lost) == sorted((l, owners[l][1] + 1) for l in lost)

    t_cont = time.time()
    c[0].resume()
    # n1 is back: its lease is renewed and it reports the lines it lost
    wait_for(lambda: "n1" in c.live_nodes(), 3 * TTL, what="n1's lease renewed")
    wait_for(lambda: {e[1] for e in c.ha_events("lost") if e[0] == "n1"} >= set(lost), 3 * TTL,
             what="n1's 'lost' events")
    # and it settles again (rebalancing may hand lines back, each by a new claim)
    final = c.wait_settled(lines, r, timeout=30)
    for l in lost:
        if final[l][0] == "n1":  # back with n1: by a claim of its own
            assert final[l][1] >= owners[l][1] + 2, (l, owners[l], final[l])
    assert sends_without_ownership(r, db, c[0], t_cont, lost) == []
    assert unregisters(r, "127.0.0.11") == []
    assert double_registrations(r, since=t_stop) == {}
    s1 = c[0].rpc("cnt.grp_get_all", "uacreg")
    assert int(s1["leases_lost"]) >= len(lost) and int(s1["fenced"]) >= 1
    assert "sending nothing until the database answers" in c[0].log_text()


# --- the failure ceiling across a takeover ---------------------------------------

def test_ceiling_exactly_once_when_the_owner_dies_between_failures(db, registrar, ha_cluster):
    """Wrong password, ceiling 3; the owner dies after the first failure:
    the carrier sees exactly 3 failing credential REGISTERs in all (the
    survivor carries the count over from SQL), the route runs once, the row
    is deleted once."""
    r = registrar()
    good = add_lines(db, r, 8, prefix="g")
    db.add_line("bad", r_domain=r.addr, auth_password="wrong", fail_ceiling=3)
    c = ha_cluster(2, lease_ttl=TTL, extra_params='modparam("uacreg", "retry_min", 3)\n')
    wait_for(lambda: len(r.credential_registers("bad", failing=True)) >= 1, 20,
             what="the first failing credential REGISTER")
    # hold the line's next attempts unanswered (timeouts never count) until
    # the owner is dead and the survivor owns the line
    r.set(user_respond={"bad": "silent"})
    first = r.credential_registers("bad", failing=True)
    assert len(first) == 1
    owner = c.owners()["bad"]
    wait_for(lambda: db.value("SELECT fail_count FROM uacreg WHERE l_uuid='bad'") == "1", 5,
             what="fail_count 1 in SQL")
    dying = c[0] if owner[0] == "n1" else c[1]
    survivor = c[1] if dying is c[0] else c[0]
    dying.kill()
    wait_for(lambda: c.owners()["bad"] == (survivor.node_id, owner[1] + 1), TTL + 5,
             what="the survivor to claim the bad line")
    r.set(user_respond=None)
    wait_for(lambda: db.value("SELECT COUNT(*) FROM uacreg WHERE l_uuid='bad'") == "0", 40,
             what="the bad row deleted")
    wait_for(lambda: len(r.credential_registers("bad", failing=True)) >= 3, 5,
             what="the registrar's log of the third failure")
    time.sleep(2)  # intentional: nothing more may come for "bad"
    failing = r.credential_registers("bad", failing=True)
    assert len(failing) == 3, [(x["src"], x["code"]) for x in failing]
    assert {host_of(x["src"]) for x in failing[1:]} == {survivor.host}
    assert db.sql("SELECT state, code FROM test_events WHERE kind='ceiling' AND l_uuid='bad'") == \
        [["bad_auth", "3"]]
    assert survivor.log_text().count("line [bad]: deleted after 3 failures") == 1
    assert "line [bad]: deleted" not in dying.log_text()
    # the good lines lost nothing
    assert db.value("SELECT COUNT(*) FROM uacreg") == str(len(good))


# --- database outage ---------------------------------------------------------------

@pytest.fixture
def private_db(tmp_path):
    """A MariaDB of the test's own, to stop and start (not the session's)."""
    m = MariaDB(tmp_path / "mariadb", free_port(socket.SOCK_STREAM))
    m.start()
    d = new_db(m)
    yield d
    m.stop()


def test_database_stopped_nodes_stop_sending_then_one_owner_per_line(private_db, registrar,
                                                                    ha_cluster):
    db = private_db
    r = registrar()
    lines = add_lines(db, r, 20, expires=5)
    c = ha_cluster(2, lease_ttl=TTL, urls=[db.url, db.url], sql_db=db)
    c.wait_settled(lines, r)
    t_stop = time.time()
    db.m.stop()
    wait_for(lambda: all(n.summary()["fenced"] == 1 for n in c), TTL + 2,
             what="both nodes fenced")
    time.sleep(max(0.0, t_stop + TTL + 4 - time.time()))  # intentional: 4 s past the lease
    late = [(x["src"], x["user"], round(x["t"] - t_stop, 2)) for x in r.requests()
            if x["t"] > t_stop + TTL]
    assert late == [], "a node kept sending without its lease"

    t_back = time.time()
    db.m.start()
    wait_all_ok(r, lines, t_back, timeout=TTL + 20)
    c.wait_settled(lines, r)
    assert double_registrations(r, since=t_back) == {}
    owners = c.owners()
    assert sorted(owners) == lines and all(o[0] in ("n1", "n2") for o in owners.values())
    assert db.value("SELECT COUNT(*) FROM uacreg") == "20"
    assert all(n.summary()["fenced"] == 0 for n in c)


# --- standby ---------------------------------------------------------------------------

def test_standby_only_the_best_node_sends_then_failover(db, registrar, ha_cluster):
    r = registrar()
    lines = add_lines(db, r, 20)
    c = ha_cluster(2, mode="standby", lease_ttl=TTL, priorities=[200, 100], start=False)
    # n2 starts once n1 holds its lease: n2 never is the best live node
    c[0].start()
    wait_for(lambda: "n1" in c.live_nodes(), 10, what="n1's lease")
    c[1].start()
    owners = c.wait_settled(lines, r)
    assert all(owners[l][0] == "n1" for l in lines)
    assert sends_from(r, "127.0.0.12") == []
    assert c[1].summary()["owned_lines"] == 0
    t_kill = time.time()
    c[0].kill()
    bound = TTL + 5 + len(lines) / RATE
    oks = wait_all_ok(r, lines, t_kill, host="127.0.0.12", timeout=bound + 5)
    assert max(oks.values()) - t_kill <= bound
    assert all(o == ("n2", owners[l][1] + 1) for l, o in c.owners().items())


# --- graceful stop -----------------------------------------------------------------------

def test_graceful_stop_survivor_takes_over_within_one_interval(db, registrar, ha_cluster):
    """A stop releases the node's lines and lease: the survivor claims them
    at its next round (1 s here), not after the lease (10 s)."""
    r = registrar()
    lines = add_lines(db, r, 20)
    c = ha_cluster(2, lease_ttl=10, ha_interval_ms=1000)
    owners = c.wait_settled(lines, r)
    gone = owned_by(owners, "n1", lines)
    assert gone
    t_stop = time.time()
    c[0].stop()
    t_exit = time.time()
    wait_for(lambda: all(c.owners()[l][0] == "n2" for l in gone), 10,
             what="n2 to claim n1's released lines")
    took = time.time() - t_exit
    # one round of n2 (1 s) and the time to see it in SQL; a takeover by
    # the lease would take 8 s or more
    assert took <= 1.0 + 1.5, f"the takeover took {took:.1f}s after the stop"
    oks = wait_all_ok(r, gone, t_stop, host="127.0.0.12", timeout=10)
    assert max(oks.values()) - t_exit < 5, "well under lease_ttl (10 s)"
    assert "n1" not in c.live_nodes()
    assert db.value("SELECT COUNT(*) FROM uacreg_node WHERE node_id='n1' AND lease_until > NOW(3)") == "0"
    assert unregisters(r, "127.0.0.11") == []
    assert double_registrations(r, since=t_stop) == {}


# --- a shared Contact (the floating-IP set-up) -------------------------------------

def test_shared_contact_takeover_keeps_one_binding_at_the_carrier(db, registrar, ha_cluster):
    """Both nodes put the same Contact (a floating address) in their
    REGISTERs: after a SIGKILL the survivor re-registers that Contact, the
    carrier holds exactly one binding per AOR, and nothing ever sent
    Expires: 0 (it would wipe the shared binding)."""
    r = registrar()
    lines = add_lines(db, r, 10)
    shared = f"127.0.0.1:{free_port()}"
    c = ha_cluster(2, lease_ttl=TTL, contacts=[shared, shared])
    owners = c.wait_settled(lines, r)
    dead = owned_by(owners, "n1", lines)
    assert dead
    t_kill = time.time()
    c[0].kill()
    wait_all_ok(r, dead, t_kill, host="127.0.0.12", timeout=TTL + 10)
    for l in lines:
        last = r.responses(l, 200)[-1]
        assert [b["uri"] for b in last["contacts"]] == [f"sip:{l}@{shared}"], last["contacts"]
    assert unregisters(r) == []
    assert double_registrations(r, since=t_kill) == {}
