"""HA active mode keeps the carrier rule (a carrier that refuses everyone
deletes no one) although each node sends for only part of the carrier's
lines: a node judges the carrier on the lines it owns, with the threshold
scaled to its share (max(1, ceil(carrier_min_lines * owned / lines)))."""
import time

from conftest import wait_for
from test_carrier import carrier_events, carriers, ceiling_events, counts, rows
from test_ha_smoke import ha_params

M64 = (1 << 64) - 1


def _fnv(h, s):
    for c in s.encode():
        h = ((h ^ c) * 0x100000001b3) & M64
    return h


def ha_weight(l_uuid, node_id):
    """ha.c's ha_weight: FNV-1a 64 of l_uuid, 0xff, node_id, then splitmix64's
    finaliser"""
    h = _fnv(0xcbf29ce484222325, l_uuid)
    h = ((h ^ 0xff) * 0x100000001b3) & M64
    h = _fnv(h, node_id)
    h ^= h >> 30
    h = (h * 0xbf58476d1ce4e5b9) & M64
    h ^= h >> 27
    h = (h * 0x94d049bb133111eb) & M64
    h ^= h >> 31
    return h


def ha_owner(l_uuid, nodes):
    """ha_desired in active mode: the highest weight, tie the smaller id"""
    return max(sorted(nodes), key=lambda n: ha_weight(l_uuid, n))


def test_weight_matches_the_module():
    # the value tests/unit/test_ha.c pins for ha.c
    assert ha_weight("", "") == 0x4f2db50f124040cd


def test_refusing_carrier_split_over_two_nodes_deletes_no_one(db, kamailio, registrar):
    """One carrier, four lines, two owned by each node, carrier_min_lines 3,
    ceiling 2, every REGISTER answered 403: each node sees only two lines
    fail, fewer than carrier_min_lines, yet both find the carrier refusing;
    no row is deleted and no ceiling route runs."""
    nodes = ["node-a", "node-b"]
    share = {n: [] for n in nodes}
    i = 0
    while min(len(v) for v in share.values()) < 2:
        u = f"c{i}"
        i += 1
        o = ha_owner(u, nodes)
        if len(share[o]) < 2:
            share[o].append(u)
    users = {u: "secret" for v in share.values() for u in v}
    reg = registrar(users=users, respond=403)
    for u in users:
        db.add_line(u, r_domain=reg.addr)
    params = ha_params
    extra = """
modparam("uacreg", "fail_ceiling", 2)
modparam("uacreg", "carrier_window", 10)
modparam("uacreg", "carrier_min_lines", 3)
"""
    a = kamailio(extra_params=params("node-a", lease=6) + extra, host="127.0.0.11")
    b = kamailio(extra_params=params("node-b", lease=6) + extra, host="127.0.0.12")
    key = reg.addr

    def owners():
        return dict(db.sql("SELECT l_uuid, node_id FROM uacreg_owner"))

    want = {u: n for n, v in share.items() for u in v}
    wait_for(lambda: owners() == want, 30, what="each node owning its two lines")

    def refusing(k):
        c = carriers(k).get(key)
        return c is not None and c["state"] == "refusing"

    wait_for(lambda: refusing(a) and refusing(b), 30,
             what="both nodes finding the carrier refusing")
    # both nodes sent (each judged on its own lines), from their own address
    srcs = {r["src"].rsplit(":", 1)[0] for r in reg.requests()}
    assert srcs == {"127.0.0.11", "127.0.0.12"}, srcs
    # the counts made before the refusal are taken back; a while later
    # (past several ceilings' worth of retries) nothing is deleted
    wait_for(lambda: set(counts(db).values()) == {0}, 15, what="counts rolled back")
    t = time.time()
    wait_for(lambda: time.time() - t > 8, 10, what="8 s of refusal")
    assert rows(db) == 4
    assert ceiling_events(db) == []
    assert set(counts(db).values()) == {0}
    assert refusing(a) and refusing(b)
    assert len(carrier_events(db)) >= 2  # each node's carrier route
