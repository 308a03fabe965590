"""Issue 20: a carrier that refuses everyone deletes no one.

Lines are grouped by carrier (auth_proxy's host:port, else r_domain's). A
carrier that refuses every line (403, 404, 401 whatever the credentials) or
answers none is not a wrong password: no line of it counts toward its
ceiling, nothing is deleted, and only one REGISTER at a time (the probe)
goes to it until it accepts again. The carrier routes run once each way.
"""
import json
import time

import pytest

from conftest import RpcError, wait_for
from test_shipped_cfg import admin, shipped  # noqa: F401 (a fixture)

# a short carrier window and ceiling; the test cfg's backoff is 1..4 s
PARAMS = """
modparam("uacreg", "fail_ceiling", 2)
modparam("uacreg", "carrier_window", 10)
"""


def carrier_events(db):
    return db.sql("SELECT l_uuid, state, code FROM test_events WHERE kind='carrier' ORDER BY id")


def ceiling_events(db):
    return db.sql("SELECT l_uuid FROM test_events WHERE kind='ceiling'")


def rows(db):
    return int(db.value("SELECT COUNT(*) FROM uacreg"))


def counts(db):
    return {r[0]: int(r[1]) for r in db.sql("SELECT l_uuid, fail_count FROM uacreg")}


def carriers(k):
    return {c["carrier"]: c for c in k.rpc("uacreg.carriers")["carriers"]}


def held(k, l_uuid):
    try:
        return k.info(l_uuid)["carrier_held"] == 1
    except RpcError:  # not loaded yet
        return False


def transactions(reg, since=0.0, until=None):
    """REGISTER transactions the registrar received in [since, until]
    (retransmissions of one left out)."""
    return [r for r in reg.requests()
            if r["t"] >= since and (until is None or r["t"] <= until)]


@pytest.mark.parametrize("respond", [403, 404, 401])
def test_everyone_refused_nothing_deleted(db, kamailio, registrar, respond):
    """Ten lines, every REGISTER refused the same way, ceiling 2: no row
    deleted, the ceiling route never runs, the carrier route runs once; one
    probe at a time; when the carrier accepts again all ten register."""
    users = {f"r{i}": "secret" for i in range(10)}
    reg = registrar(users=users, respond=respond)
    for u in users:
        db.add_line(u, r_domain=reg.addr)
    k = kamailio(extra_params=PARAMS)
    key = reg.addr

    wait_for(lambda: len(carrier_events(db)) >= 1, 20, what="the carrier event")
    ev = carrier_events(db)
    assert ev[0][0] == key
    assert ev[0][1].startswith("refusing/10/")
    refused_at = time.time()
    assert carriers(k)[key]["state"] == "refusing"

    # the counts made before the refusal was known are taken back
    wait_for(lambda: set(counts(db).values()) == {0}, 10, what="counts rolled back")
    for u in users:
        assert k.info(u)["fail_count"] == 0
        assert k.info(u)["carrier"] == key
        assert k.info(u)["carrier_state"] == "refusing"

    # probes: one at a time, at the backoff (1, 2, 4, 4 ... s): over 12 s
    # at most ~5 probes (each a REGISTER and, for 401, its answer)
    wait_for(lambda: time.time() - refused_at > 12, 20, what="12 s of refusal")
    sent = transactions(reg, since=refused_at + 1)
    per_probe = 2 if respond == 401 else 1
    assert len(sent) <= 6 * per_probe, [(r["user"], r["t"]) for r in sent]
    assert len({r["call_id"] for r in sent}) <= 6
    assert rows(db) == 10
    assert ceiling_events(db) == []
    assert len(carrier_events(db)) == 1
    assert set(counts(db).values()) == {0}

    # the carrier accepts again: the next probe recovers it, all follow
    accept_at = time.time()
    reg.set(respond=None)
    wait_for(lambda: all(reg.oks(u) >= 1 for u in users), 20, what="all ten registered")
    wait_for(lambda: all(k.state(u) == "registered" for u in users), 10,
             what="all ten registered in uacreg")
    ev = carrier_events(db)
    assert len(ev) == 2 and ev[1][1].startswith("normal/10/"), ev
    assert rows(db) == 10
    assert ceiling_events(db) == []
    c = carriers(k)[key]
    assert c["state"] == "normal" and c["states"]["registered"] == 10
    assert time.time() - accept_at < 20
    rc, out = k.kamcmd("cnt.get", "uacreg", "carrier_refusals")
    assert rc == 0 and out.strip() == "1", out


def test_wrong_password_among_good_lines(db, kamailio, registrar):
    """Nine good lines and one wrong password on one carrier: the wrong one
    is deleted at its ceiling, the nine stay registered, no carrier event."""
    users = {f"g{i}": "secret" for i in range(10)}
    reg = registrar(users=users)
    for u in users:
        db.add_line(u, r_domain=reg.addr,
                    auth_password="wrong" if u == "g9" else "secret")
    k = kamailio(extra_params=PARAMS)

    wait_for(lambda: int(db.value("SELECT COUNT(*) FROM uacreg WHERE l_uuid='g9'")) == 0, 30,
             what="the wrong line deleted")
    assert [r[0] for r in ceiling_events(db)] == ["g9"]
    for i in range(9):
        assert k.state(f"g{i}") == "registered"
    assert rows(db) == 9
    assert carrier_events(db) == []
    assert carriers(k)[reg.addr]["state"] == "normal"


def test_outage_one_probe_per_step(db, kamailio, registrar):
    """A carrier that stops answering, 200 lines (the issue's 1,000 lines and
    10 minutes, scaled): while it is unreachable, at most one REGISTER per
    backoff step (and tm's retransmissions of it), not one per line; when it
    answers again every line registers, paced."""
    n = 200
    reg = registrar(users={f"o{i}": "secret" for i in range(n)})
    for i in range(n):
        db.add_line(f"o{i}", r_domain=reg.addr, expires=40)
    k = kamailio(extra_params=PARAMS + 'modparam("uacreg", "start_spread", 20)\n'
                 'modparam("uacreg", "rate", 50)\n')
    key = reg.addr
    wait_for(lambda: len({r["user"] for r in reg.responses(code=200)}) == n, 60,
             what="all lines registered")

    silent_at = time.time()
    reg.set(respond="silent")
    wait_for(lambda: any(e[1].startswith("unreachable/") for e in carrier_events(db)), 60,
             what="the carrier unreachable")
    down_at = time.time()
    # 40 s of outage: every line's refresh falls due in it
    wait_for(lambda: time.time() - down_at > 40, 60, what="40 s of outage")
    during = transactions(reg, since=down_at + 2.5)
    # probes at 1, 2, 4, 4, ... s of backoff plus each probe's 2 s timeout
    assert len(during) <= 14, len(during)
    assert len({r["user"] for r in during}) <= 14
    before = transactions(reg, since=silent_at, until=down_at + 2.5)
    # the refreshes sent before the outage was known (lines spread 20 s)
    assert len(before) < n / 2, len(before)
    assert rows(db) == n
    assert ceiling_events(db) == []

    back_at = time.time()
    reg.set(respond=None)
    # the next probe (at most 4 s away) recovers it; then n lines at 50/s
    wait_for(lambda: len({r["user"] for r in reg.responses(code=200) if r["t"] > back_at}) == n,
             30, what="every line registered again")
    assert time.time() - back_at < 30
    ev = carrier_events(db)
    assert [e[1].split("/")[0] for e in ev] == ["unreachable", "normal"], ev
    rc, out = k.kamcmd("cnt.get", "uacreg", "carrier_outages")
    assert rc == 0 and out.strip() == "1", out


def test_two_carriers_one_refusing(db, kamailio, registrar):
    """Two carriers, one refusing: the other's lines are untouched in every
    figure (state, counts, traffic, carrier state)."""
    bad = registrar(users={f"b{i}": "secret" for i in range(5)}, respond=403)
    good = registrar(host="127.0.0.2", users={f"a{i}": "secret" for i in range(5)})
    for i in range(5):
        db.add_line(f"b{i}", r_domain=bad.addr)
        db.add_line(f"a{i}", r_domain=good.addr, expires=30)
    k = kamailio(extra_params=PARAMS)

    wait_for(lambda: len(carrier_events(db)) >= 1, 20, what="the carrier event")
    wait_for(lambda: all(good.oks(f"a{i}") >= 1 for i in range(5)), 20,
             what="the good carrier's lines registered")
    assert [e[0] for e in carrier_events(db)] == [bad.addr]
    # a refresh round of the good carrier (30 s expires: refresh at ~27 s)
    wait_for(lambda: all(good.oks(f"a{i}") >= 2 for i in range(5)), 40,
             what="the good carrier's lines refreshed")
    cs = carriers(k)
    assert cs[good.addr]["state"] == "normal"
    assert cs[good.addr]["states"]["registered"] == 5
    assert cs[good.addr]["waiting"] == 0 and cs[good.addr]["held"] == 0
    assert cs[bad.addr]["state"] == "refusing"
    for i in range(5):
        info = k.info(f"a{i}")
        assert info["state"] == "registered" and info["fail_count"] == 0
        assert info["carrier_state"] == "normal" and info["carrier_waiting"] == 0
        # one REGISTER and its answer per registration, nothing more
        assert len(good.requests(f"a{i}")) <= 2 * good.oks(f"a{i}")
    assert rows(db) == 10
    assert ceiling_events(db) == []
    assert len(carrier_events(db)) == 1


def test_shipped_cfg_reports_the_carrier(db, kamailio, registrar, admin):
    """The shipped kamailio.cfg reports a refusing carrier, and its
    recovery, to the admin URL; no line is deleted or archived."""
    reg = registrar(users={f"s{i}": "secret" for i in range(4)}, respond=403)
    for i in range(4):
        db.add_line(f"s{i}", r_domain=reg.addr, fail_ceiling=2)
    shipped(kamailio, db, admin)
    wait_for(lambda: len(admin.reports) >= 1, 20, what="the carrier report")
    report = json.loads(admin.reports[0][1])
    assert report == {"event": "uacreg.carrier", "carrier": reg.addr, "state": "refusing",
                      "lines": 4, "fail_class": "forbidden", "last_code": 403}
    reg.set(respond=None)
    wait_for(lambda: len(admin.reports) >= 2, 20, what="the recovery report")
    assert json.loads(admin.reports[1][1])["state"] == "normal"
    assert rows(db) == 4
    assert db.value("SELECT COUNT(*) FROM uacreg_archive") == "0"


LUA = r'''
function ksr_request_route()
	KSR.sl.send_reply(404, "Not here")
end

function ksr_uacreg_event(evname)
	if evname == "uacreg:carrier" then
		KSR.sqlops.sql_query("ca", "INSERT INTO test_events (l_uuid, kind, state, code) VALUES ('"
			.. KSR.pv.get("$uacreg(carrier)") .. "', 'kemi', '"
			.. KSR.pv.get("$uacreg(carrier_state)") .. "/"
			.. KSR.pv.get("$uacreg(carrier_lines)") .. "/"
			.. KSR.pv.get("$uacreg(fail_class)") .. "', "
			.. KSR.pv.get("$uacreg(last_code)") .. ")", "ev")
	end
end
'''


def test_kemi_callback_gets_the_carrier(db, kamailio, registrar, tmp_path):
    """With a KEMI configuration the event callback gets "uacreg:carrier",
    with the carrier's fields in $uacreg(...)."""
    reg = registrar(users={f"k{i}": "secret" for i in range(4)}, respond=404)
    for i in range(4):
        db.add_line(f"k{i}", r_domain=reg.addr)
    script = tmp_path / "uacreg-carrier.lua"
    script.write_text(LUA)
    params = PARAMS + (f'loadmodule "app_lua.so"\nmodparam("app_lua", "load", "{script}")\n'
                       'modparam("uacreg", "event_callback", "ksr_uacreg_event")\n'
                       'cfgengine "lua"\n')
    k = kamailio(start=False, extra_params=params)
    text = k.cfg.read_text()
    k.cfg.write_text(text[:text.index("request_route {")])
    k.start()
    wait_for(lambda: db.sql("SELECT l_uuid, state, code FROM test_events WHERE kind='kemi'"),
             20, what="the KEMI carrier event")
    assert db.sql("SELECT l_uuid, state, code FROM test_events WHERE kind='kemi'") == \
        [[reg.addr, "refusing/4/not_found", "404"]]
    assert rows(db) == 4


def test_refresh_sends_the_next_probe(db, kamailio, registrar):
    """An operator's uacreg.refresh of a line of a refusing carrier goes at
    once, as the carrier's next probe; the other lines keep waiting."""
    reg = registrar(users={f"p{i}": "secret" for i in range(4)}, respond=403)
    for i in range(4):
        db.add_line(f"p{i}", r_domain=reg.addr)
    k = kamailio(extra_params=PARAMS + 'modparam("uacreg", "retry_min", 30)\n'
                 'modparam("uacreg", "retry_max", 30)\n')
    wait_for(lambda: len(carrier_events(db)) >= 1, 20, what="the carrier event")
    n = len(reg.requests())
    t = time.time()
    k.rpc("uacreg.refresh", "p2")
    wait_for(lambda: [r for r in reg.requests("p2") if r["t"] > t], 3, what="p2's REGISTER")
    # nothing else goes before the next probe, 30 s away
    wait_for(lambda: time.time() - t > 3, 5, what="3 s")
    assert len(reg.requests()) == n + 1
    assert k.info("p2")["fail_count"] == 0


def test_held_ceiling_survives_a_restart(db, kamailio, registrar):
    """A line at its ceiling whose carrier has not registered anyone since
    is held: no route, no DELETE, and its count is not written, so a
    restart meanwhile does not find the row at its ceiling. Once another
    line of the carrier registers, the failure is the line's own: deleted."""
    reg = registrar(users={"h0": "secret", "h1": "secret", "h2": "secret"},
                    user_respond={"h1": "silent", "h2": "silent"})
    db.add_line("h0", r_domain=reg.addr, auth_password="wrong", fail_ceiling=1)
    db.add_line("h1", r_domain=reg.addr)
    db.add_line("h2", r_domain=reg.addr)
    k = kamailio(extra_params=PARAMS)
    wait_for(lambda: held(k, "h0"), 20, what="h0 held")
    assert k.info("h0")["state"] == "ceiling"
    assert counts(db)["h0"] == 0
    assert ceiling_events(db) == []
    k.stop()

    k2 = kamailio(extra_params=PARAMS)
    wait_for(lambda: held(k2, "h0"), 20, what="h0 held again")
    assert rows(db) == 3 and ceiling_events(db) == []
    assert counts(db)["h0"] == 0

    reg.set(user_respond=None)
    wait_for(lambda: rows(db) == 2, 40, what="h0 deleted once h1/h2 register")
    assert [r[0] for r in ceiling_events(db)] == ["h0"]
    assert carrier_events(db) == []
