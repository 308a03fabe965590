"""Issue #17 on a database that survives a node: a three-node MariaDB Galera
cluster on this machine (galera.py), one Kamailio node on each Galera node.

Galera node g3 cut off the other two (gmcast.isolate) leaves the primary
component and refuses every query: Kamailio node n3 on it cannot renew its
lease, so it stops sending within lease_ttl; n1 and n2 claim its lines
after its lease (one compare-and-set each: the claim that loses
certification sees 0 rows), and no AOR is registered by two nodes at once.
"""
import shutil
import time
import uuid

import pytest

from conftest import DB, RUN_DIR, SCHEMA, Procs, wait_for
from galera import Galera, available
from ha import add_lines, double_registrations, ha_cluster, sends_from  # noqa: F401

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
    """A fresh database on the cluster (created on g1, replicated)."""
    name = "t_" + uuid.uuid4().hex[:12]
    g1 = galera.nodes[0]
    g1.sql(f"CREATE DATABASE {name}")
    g1.sql(SCHEMA.read_text(), name)
    g1.sql("CREATE TABLE test_events (id INT AUTO_INCREMENT PRIMARY KEY, "
           "l_uuid VARCHAR(64), kind VARCHAR(16), state VARCHAR(32), code INT, "
           "at TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP(3))", name)
    yield DB(g1, name)
    for n in galera.nodes:
        if n.alive() and n.ready():
            n.sql(f"DROP DATABASE IF EXISTS {name}")
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
