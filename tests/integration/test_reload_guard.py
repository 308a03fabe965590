"""reload_guard: a reload never takes most lines down by accident.

A table emptied for a moment (a re-import that deletes then inserts, a
replica back empty, the wrong database after a failover) must not send
Expires: 0 for every line. The guard holds such a reload's removals (and
applies its additions and changes), says so in the log, the RPC, an event
route and a counter; `uacreg.reload force` applies it on purpose."""
import time

import pytest

from conftest import RpcError, wait_for
from test_shipped_cfg import admin  # noqa: F401 (fixture)

ROWS = ("l_uuid, l_username, l_domain, r_username, r_domain, auth_username, "
        "auth_password, expires, flags")


def names(n):
    return [f"g{i:02d}" for i in range(n)]


def all_registered(k, lines):
    return all(k.state(n) == "registered" for n in lines)


def unregisters(carrier, lines):
    """Expires: 0 REGISTERs on the wire, per line, retransmissions folded."""
    return {n: sum(1 for m in carrier.requests(n) if m.expires == 0) for n in lines}


def held_events(db):
    return db.sql("SELECT state, code FROM test_events WHERE kind='reload' ORDER BY id")


def reloads_held(k):
    return int(k.rpc("cnt.grp_get_all", "uacreg")["reloads_held"])


@pytest.fixture
def ten(db, kamailio, sipp):
    """Ten lines registered at an open carrier; returns (k, carrier, lines, rows)."""
    carrier = sipp("registrar-open.xml")
    lines = names(10)
    for n in lines:
        db.add_line(n, r_domain=carrier.addr, expires=120)
    k = kamailio()
    wait_for(lambda: all_registered(k, lines), 30, what="ten lines registered")
    rows = db.sql(f"SELECT {ROWS} FROM uacreg ORDER BY l_uuid")
    return k, carrier, lines, rows


def put_back(db, rows):
    values = ", ".join("(" + ", ".join(f"'{v}'" for v in r) + ")" for r in rows)
    db.sql(f"INSERT INTO uacreg ({ROWS}) VALUES {values}")


def test_an_empty_table_is_held_and_the_rows_coming_back_cost_no_register(db, ten):
    k, carrier, lines, rows = ten
    sent_before = len(carrier.requests())
    db.sql("DELETE FROM uacreg")
    with pytest.raises(RpcError) as e:
        k.rpc("uacreg.reload")
    assert e.value.code == 409
    assert "would remove 10 of 10 lines" in e.value.message
    assert "uacreg.reload force" in e.value.message
    wait_for(lambda: held_events(db) == [["10", "10"]], 10, what="event_route[uacreg:reload]")
    assert reloads_held(k) == 1
    assert "uacreg reload held: it would remove 10 of 10 lines" in k.log_text()
    # nothing unregistered, every line still registered
    assert all_registered(k, lines)
    assert k.rpc("uacreg.count") == 10

    # the re-import finishes (new ids): the next reload finds every line in
    # place, and not one REGISTER goes out for it
    put_back(db, rows)
    res = k.rpc("uacreg.reload")
    assert res["removed"] == 0 and res["added"] == 0, res
    assert res["unchanged"] + res["updated"] == 10, res
    time.sleep(1.5)  # on purpose: nothing must be sent; sipp flushes its trace
    assert len(carrier.requests()) == sent_before
    assert all_registered(k, lines)
    assert sum(unregisters(carrier, lines).values()) == 0


def test_most_rows_deleted_is_held_and_additions_still_apply(db, ten):
    k, carrier, lines, rows = ten
    db.sql("DELETE FROM uacreg WHERE l_uuid IN ('g00','g01','g02','g03','g04','g05')")
    db.add_line("g-new", r_domain=carrier.addr, expires=120)
    with pytest.raises(RpcError) as e:
        k.rpc("uacreg.reload")
    assert e.value.code == 409
    assert "would remove 6 of 10 lines" in e.value.message
    assert "1 added/changed" in e.value.message
    k.wait_state("g-new", "registered", 15)
    assert all_registered(k, lines)
    wait_for(lambda: held_events(db) == [["6", "10"]], 10, what="event_route[uacreg:reload]")
    time.sleep(1)  # on purpose: no unregister may follow
    assert sum(unregisters(carrier, lines).values()) == 0


def test_a_few_rows_deleted_are_removed_as_before(db, ten):
    k, carrier, lines, rows = ten
    db.sql("DELETE FROM uacreg WHERE l_uuid IN ('g00','g01','g02')")
    res = k.rpc("uacreg.reload")
    assert res["removed"] == 3, res
    gone = ["g00", "g01", "g02"]
    wait_for(lambda: all(v == 1 for v in unregisters(carrier, gone).values()), 10,
             what="the three deleted lines unregistered")
    wait_for(lambda: k.rpc("uacreg.count") == 7, 10, what="three lines forgotten")
    assert all_registered(k, lines[3:])
    assert sum(unregisters(carrier, lines[3:]).values()) == 0
    assert held_events(db) == [] and reloads_held(k) == 0


def test_force_applies_a_held_reload(db, ten):
    k, carrier, lines, rows = ten
    db.sql("DELETE FROM uacreg")
    with pytest.raises(RpcError):
        k.rpc("uacreg.reload")
    res = k.rpc("uacreg.reload", "force")
    assert res["removed"] == 10, res
    wait_for(lambda: all(v == 1 for v in unregisters(carrier, lines).values()), 15,
             what="every line unregistered")
    wait_for(lambda: k.rpc("uacreg.count") == 0, 10, what="every line forgotten")
    assert "uacreg reload (forced)" in k.log_text()


def test_the_periodic_reload_is_held_and_never_forces(db, kamailio, sipp):
    carrier = sipp("registrar-open.xml")
    lines = names(4)
    for n in lines:
        db.add_line(n, r_domain=carrier.addr, expires=120)
    k = kamailio(extra_params='modparam("uacreg", "reload_interval", 1)\n')
    wait_for(lambda: all_registered(k, lines), 30, what="four lines registered")
    db.sql("DELETE FROM uacreg")
    # held at every period: the counter grows, the lines stay
    wait_for(lambda: reloads_held(k) >= 3, 15, what="three held periodic reloads")
    assert all_registered(k, lines)
    assert sum(unregisters(carrier, lines).values()) == 0
    assert len(held_events(db)) >= 3


def test_guard_zero_applies_an_empty_table(db, kamailio, sipp):
    carrier = sipp("registrar-open.xml")
    lines = names(3)
    for n in lines:
        db.add_line(n, r_domain=carrier.addr, expires=120)
    k = kamailio(extra_params='modparam("uacreg", "reload_guard", 0)\n')
    wait_for(lambda: all_registered(k, lines), 30, what="three lines registered")
    db.sql("DELETE FROM uacreg")
    res = k.rpc("uacreg.reload")
    assert res["removed"] == 3, res
    wait_for(lambda: k.rpc("uacreg.count") == 0, 10, what="every line forgotten")


def test_a_failed_query_or_a_missing_table_changes_nothing(db, ten):
    k, carrier, lines, rows = ten
    db.sql("RENAME TABLE uacreg TO uacreg_away")
    with pytest.raises(RpcError) as e:
        k.rpc("uacreg.reload")
    assert e.value.code == 503 and "nothing changed" in e.value.message
    assert "cannot read table uacreg" in k.log_text()
    assert all_registered(k, lines) and k.rpc("uacreg.count") == 10
    db.sql("RENAME TABLE uacreg_away TO uacreg")
    res = k.rpc("uacreg.reload")
    assert res["unchanged"] == 10 and res["removed"] == 0, res
    assert sum(unregisters(carrier, lines).values()) == 0


def test_reload_rejects_an_unknown_argument(db, kamailio):
    db.add_line("x", flags=1)
    k = kamailio()
    wait_for(lambda: k.rpc("uacreg.count") == 1, 10, what="the first load")
    with pytest.raises(RpcError) as e:
        k.rpc("uacreg.reload", "yes")
    assert e.value.code == 400
    wait_for(lambda: k.rpc("uacreg.count") == 1, 10, what="the first load")


def test_the_shipped_cfg_reports_a_held_reload_to_the_admin_url(db, kamailio, sipp, admin):
    from test_shipped_cfg import shipped
    import json
    carrier = sipp("registrar-open.xml")
    lines = names(3)
    for n in lines:
        db.add_line(n, r_domain=carrier.addr, expires=120)
    k = shipped(kamailio, db, admin)
    wait_for(lambda: all_registered(k, lines), 30, what="three lines registered")
    db.sql("DELETE FROM uacreg")
    code, out = k.kamcmd("uacreg.reload")
    assert "error: 409" in out and "would remove 3 of 3 lines" in out, out
    wait_for(lambda: admin.reports, 10, what="the admin report")
    ctype, body = admin.reports[0]
    assert ctype == "application/json"
    assert json.loads(body) == {"event": "uacreg.reload_held", "would_remove": 3,
                                "lines": 3, "guard": 50}
    assert all_registered(k, lines)
