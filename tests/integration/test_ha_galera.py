"""Issue #17 on a database that survives a node: a three-node MariaDB Galera
cluster on this machine (galera.py), one Kamailio node on each Galera node.

Galera node g3 cut off the other two (gmcast.isolate) leaves the primary
component and refuses every query: Kamailio node n3 on it cannot renew its
lease, so it stops sending within lease_ttl; n1 and n2 claim its lines
after its lease (one compare-and-set each: the claim that loses
certification sees 0 rows), and no AOR is registered by two nodes at once.
When g3 is back, n3 takes its share back by claims of its own: one owner
per line, no row lost.
"""
import shutil
import time
import uuid

import pytest

from conftest import RUN_DIR, Procs, new_db, wait_for
from galera import Galera, available
from ha import (add_lines, double_registrations, ha_cluster, sends_from,  # noqa: F401
                sends_without_ownership)

TTL = 4

pytestmark = pytest.mark.skipif(not available(), reason="galera-4, rsync and mariadbd needed")


@pytest.fixture(scope="module")
def galera():
    """One cluster for this file (it takes ~10 s to form), stopped by PID
    at its end. Its datadirs are under the session's folder (rsync SST as
    root writes as nobody, which cannot enter pytest's 0700 tmp)."""
    procs = Procs()
    g = Galera(procs, RUN_DIR / f"galera-{uuid.uuid4().hex[:6]}")
    try:
        g.start()
        yield g
    finally:
        procs.stop_all()
        shutil.rmtree(g.dir, ignore_errors=True)
        try:
            RUN_DIR.rmdir()  # made for us alone when no test used the session MariaDB
        except OSError:
            pass


@pytest.fixture
def gdb(galera):
    """A fresh database on the cluster (created on g1, replicated), made as
    conftest's db fixture makes one."""
    d = new_db(galera.nodes[0])
    yield d
    for n in galera.nodes:
        if n.alive() and n.ready():
            n.sql(f"DROP DATABASE IF EXISTS {d.name}")
            break


def test_galera_forms_a_three_node_cluster(galera):
    assert galera.size() == 3
    for n in galera.nodes:
        assert n.status("wsrep_cluster_status") == "Primary"
        assert n.status("wsrep_provider_name") == "Galera"
    name = "t_" + uuid.uuid4().hex[:8]
    galera.nodes[0].sql(f"CREATE DATABASE {name}; CREATE TABLE {name}.t (id INT PRIMARY KEY)")
    galera.nodes[1].sql(f"INSERT INTO {name}.t VALUES (7)")
    wait_for(lambda: galera.nodes[2].sql(f"SELECT id FROM {name}.t") == [["7"]], 10,
             what="the row replicated to g3")
    galera.nodes[2].sql(f"DROP DATABASE {name}")


def test_galera_two_claims_of_one_line_on_two_nodes_one_wins(galera, gdb):
    """The claim's compare-and-set on Galera: the same UPDATE ... WHERE
    node_id IS NULL sent at once to g1 and g2 commits on one; the other
    fails certification, MariaDB retries it (wsrep_retry_autocommit) and it
    matches 0 rows. The epoch is raised once. (The database's side of the
    design, whatever the module sends.)"""
    import subprocess
    rows = [f"c{i:02d}" for i in range(20)]
    gdb.sql("INSERT INTO uacreg_owner (l_uuid, node_id, epoch) VALUES " +
            ", ".join(f"('{r}', NULL, 0)" for r in rows))
    wait_for(lambda: galera.nodes[1].sql("SELECT COUNT(*) FROM uacreg_owner", gdb.name) == [["20"]],
             10, what="the rows on g2")
    for r in rows:
        qs = [f"UPDATE uacreg_owner SET node_id='n{i + 1}', epoch=epoch+1, claimed_at=NOW(3) "
              f"WHERE l_uuid='{r}' AND node_id IS NULL; SELECT ROW_COUNT();" for i in range(2)]
        ps = [subprocess.Popen(
            ["mariadb", "--no-defaults", "-S", str(node.sock), "-uroot", "-N", "-B", gdb.name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for node in galera.nodes[:2]]
        outs = [p.communicate(q, timeout=30) for p, q in zip(ps, qs)]
        won = [o[0].strip() == "1" for o in outs]
        # a loser either matched 0 rows or (retries exhausted) got a deadlock error
        for o, w in zip(outs, won):
            assert w or o[0].strip() == "0" or "Deadlock" in o[1], o
        assert sum(won) == 1, (r, outs)
        winner = "n1" if won[0] else "n2"
        for node in galera.nodes:
            wait_for(lambda: node.sql(f"SELECT node_id, epoch FROM uacreg_owner WHERE l_uuid='{r}'",
                                      gdb.name) == [[winner, "1"]], 10,
                     what=f"{r} owned by {winner} with epoch 1 on {node.name}")


def test_galera_isolated_node_stops_sending_others_take_its_lines(galera, gdb, registrar,
                                                                  ha_cluster):
    r = registrar()
    lines = add_lines(gdb, r, 30, expires=6)
    c = ha_cluster(3, lease_ttl=TTL, urls=[galera.url(i, gdb.name) for i in range(3)], sql_db=gdb)
    owners = c.wait_settled(lines, r, timeout=40)
    cut = [l for l in lines if owners[l][0] == "n3"]
    assert cut, owners
    g3 = galera.nodes[2]
    t_iso = time.time()
    g3.isolate(True)
    try:
        wait_for(lambda: g3.status("wsrep_cluster_status") == "non-Primary", 15,
                 what="g3 out of the primary component")
        # n1 and n2 take n3's lines once its lease is over, each by one claim
        wait_for(lambda: all(c.owners()[l][0] in ("n1", "n2") for l in cut), TTL + 15,
                 what="n1/n2 to claim n3's lines")
        after = c.owners()
        for l in cut:
            assert after[l][1] == owners[l][1] + 1, (l, owners[l], after[l])
        # every line of n3 answered 200 from n1 or n2
        wait_for(lambda: all(r.first_ok(l, t_iso) is not None and
                             r.last_ok_source().get(l) in ("127.0.0.11", "127.0.0.12") for l in cut),
                 TTL + 15, what="n3's lines registered by the others")
        time.sleep(max(0.0, t_iso + TTL + 4 - time.time()))  # intentional: past n3's lease
        late = [(x["user"], round(x["t"] - t_iso, 2)) for x in sends_from(r, "127.0.0.13", t_iso + TTL)]
        assert late == [], "n3 kept sending without a lease"
        assert c[2].summary()["fenced"] == 1
        assert double_registrations(r, since=t_iso) == {}
        assert gdb.value("SELECT COUNT(*) FROM uacreg") == "30"
    finally:
        g3.isolate(False)
    # g3 back in the primary component: n3 renews, takes its share back by
    # claims of its own, one owner per line, no row lost
    t_back = time.time()
    wait_for(g3.ready, 60, what="g3 synced again")
    final = c.wait_settled(lines, r, timeout=60)
    assert sorted(final) == lines and {o[0] for o in final.values()} == {"n1", "n2", "n3"}
    assert c[2].summary()["fenced"] == 0
    # while cut off, and since, n3 sent nothing for a line it did not own
    assert sends_without_ownership(r, gdb, c[2], t_iso + TTL, lines) == []
    assert double_registrations(r, since=t_iso, until=t_back) == {}
    assert r.aors_from_several_sources(since=time.time() - 3) == []
    assert all(r.first_ok(l, t_back) is not None for l in lines if final[l][0] == "n3")
    assert gdb.value("SELECT COUNT(*) FROM uacreg") == "30"
