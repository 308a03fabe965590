"""(B) The failure ceiling, end to end: Kamailio with uacreg, MariaDB and
sipp carriers on loopback.

A line whose counted failures (bad_auth, forbidden, not_found) reach its
ceiling stops sending at once, event_route[uacreg:ceiling] runs once (the
test cfg INSERTs a kind='ceiling' row into test_events, fail_class in
`state`, fail_count in `code`), then the row goes from memory and SQL -
unless the route keeps it, the admin changed it meanwhile, or the ceiling is
0. Timeouts never count; a 200 resets the count; a restart continues it.
"""
import socket
import time

import pytest

from conftest import DB, SCHEMA, MariaDB, RpcError, free_port, wait_for, wait_stable

BOOK = "registrar.xml"






def ceiling_events(db, l_uuid):
    return db.sql(f"SELECT state, code FROM test_events WHERE kind='ceiling' AND l_uuid='{l_uuid}'")


def exists(db, l_uuid):
    return db.value(f"SELECT COUNT(*) FROM uacreg WHERE l_uuid='{l_uuid}'") == "1"


def column(db, l_uuid, col="fail_count"):
    v = db.value(f"SELECT {col} FROM uacreg WHERE l_uuid='{l_uuid}'")
    return None if v is None else int(v)


def assert_gone_from_memory(k, l_uuid):
    with pytest.raises(RpcError) as e:
        k.info(l_uuid)
    assert e.value.code == 404


def test_wrong_password_reaches_ceiling_and_is_deleted(db, kamailio, sipp):
    s = sipp(BOOK)
    db.add_line("good1", r_domain=s.addr, expires=4)
    db.add_line("good2", r_domain=s.addr, expires=4)
    db.add_line("bad", r_domain=s.addr, auth_password="wrong", fail_ceiling=3)
    k = kamailio()
    wait_for(lambda: not exists(db, "bad"), 40, what="the bad row deleted from SQL")

    assert ceiling_events(db, "bad") == [["bad_auth", "3"]]
    assert_gone_from_memory(k, "bad")
    assert "line [bad]: deleted after 3 failures (failure ceiling)" in k.log_text()
    # it stopped at once: exactly three wrong answers went out, then nothing
    wait_for(lambda: len(s.requests("bad", authorized=True)) == 3, 10,
             what="sipp's trace of the three answers")
    sent = len(s.registers("bad"))
    ok1, ok2 = s.oks("good1"), s.oks("good2")
    time.sleep(5)  # intentional: nothing more may go out for "bad" in 5 s
    assert len(s.registers("bad")) == sent
    assert len(s.requests("bad", authorized=True)) == 3
    # the good lines beside it kept registering and refreshing
    assert s.oks("good1") > ok1 and s.oks("good2") > ok2
    for l in ("good1", "good2"):
        assert exists(db, l) and column(db, l) == 0
        assert k.info(l)["expires_in"] > 0
        assert k.info(l)["fail_count"] == 0
    assert db.value("SELECT COUNT(*) FROM test_events WHERE kind='ceiling'") == "1"


def test_a_registrar_that_never_answers_never_counts(db, kamailio, sipp):
    """Timeouts are not the carrier's verdict: three times the ceiling's
    worth of them delete nothing and count nothing."""
    s = sipp("registrar-silent.xml")
    db.add_line("silent", r_domain=s.addr, fail_ceiling=2)
    k = kamailio(extra_params='modparam("tm", "fr_timer", 1000)\n'
                              'modparam("uacreg", "retry_max", 1)\n')
    # the 7th REGISTER is out: six have timed out
    wait_for(lambda: len(s.requests("silent")) >= 7, 40, what="seven REGISTERs to the silent registrar")
    info = k.info("silent")
    assert info["state"] != "ceiling", info
    assert info["fail_count"] == 0, info
    assert info["last_code"] == 408 and info["fail_class"] == "timeout", info
    assert exists(db, "silent") and column(db, "silent") == 0
    assert ceiling_events(db, "silent") == []
    assert all(not m.authorized for m in s.requests("silent"))


def test_restart_continues_the_count_from_the_column(db, kamailio, sipp):
    s = sipp(BOOK)
    db.add_line("bad", r_domain=s.addr, auth_password="wrong", fail_ceiling=4)
    db.add_line("good", r_domain=s.addr)
    k = kamailio()
    wait_for(lambda: (column(db, "bad") or 0) >= 2, 30, what="fail_count column at 2")
    k.stop()
    before = column(db, "bad")
    assert 1 <= before < 4, before
    assert ceiling_events(db, "bad") == []
    sent_before = wait_stable(lambda: len(s.requests("bad", authorized=True)),
                              what="sipp's trace of the first run")
    assert sent_before >= before

    k.start()
    wait_for(lambda: not exists(db, "bad"), 40, what="the bad row deleted after the restart")
    wait_for(lambda: len(s.requests("bad", authorized=True)) - sent_before >= 4 - before, 10,
             what="sipp's trace of the second run")
    # the ceiling came at 4 in total: only 4 - before wrong answers after
    # the restart, not 4
    after = len(s.requests("bad", authorized=True)) - sent_before
    assert after == 4 - before, (before, after)
    assert ceiling_events(db, "bad") == [["bad_auth", "4"]]
    assert_gone_from_memory(k, "bad")
    k.wait_state("good", "registered", 20)


def test_a_row_loaded_at_its_ceiling_never_sends(db, kamailio, sipp):
    """The count in the column already reached the ceiling (a restart after
    the delete could not be done): the line goes straight to the ceiling,
    sends nothing, the route runs once and the row is deleted."""
    s = sipp(BOOK)
    db.add_line("atceil", r_domain=s.addr, fail_count=3, fail_ceiling=3)
    db.add_line("below", r_domain=s.addr, fail_count=2, fail_ceiling=3)
    k = kamailio()
    wait_for(lambda: not exists(db, "atceil"), 20, what="atceil deleted")
    assert [e[1] for e in ceiling_events(db, "atceil")] == ["3"]
    assert_gone_from_memory(k, "atceil")
    k.wait_state("below", "registered", 20)
    time.sleep(1.5)  # intentional: atceil would have gone with below; it must not
    assert s.registers("atceil") == []


def test_ceiling_0_never_deletes_and_null_takes_the_modparam(db, kamailio, sipp):
    s = sipp(BOOK)
    db.add_line("never", r_domain=s.addr, auth_password="wrong", fail_ceiling=0)
    db.add_line("byparam", r_domain=s.addr, auth_password="wrong", fail_ceiling=None)
    db.add_line("good", r_domain=s.addr, fail_ceiling=None)
    k = kamailio(extra_params='modparam("uacreg", "fail_ceiling", 2)\n')
    wait_for(lambda: k.rpc("uacreg.count") == 3, 10, what="the lines loaded")
    assert k.info("byparam")["fail_ceiling"] == 2
    assert k.info("never")["fail_ceiling"] == 0

    # NULL column: the modparam's 2 applies
    wait_for(lambda: not exists(db, "byparam"), 30, what="byparam deleted at 2")
    assert ceiling_events(db, "byparam") == [["bad_auth", "2"]]
    assert_gone_from_memory(k, "byparam")

    # 0: counts on well past 2 and is never deleted
    wait_for(lambda: (column(db, "never") or 0) >= 4, 40, what="never's count past 4")
    n = len(s.requests("never"))
    assert exists(db, "never")
    info = k.info("never")
    assert info["state"] != "ceiling" and info["fail_count"] >= 4, info
    assert ceiling_events(db, "never") == []
    wait_for(lambda: len(s.requests("never")) > n, 15, what="never to keep trying")
    k.wait_state("good", "registered", 20)
    assert exists(db, "good")


def test_the_route_keeps_the_row_disabled(db, kamailio, sipp):
    s = sipp(BOOK)
    db.add_line("kept", r_domain=s.addr, auth_password="wrong", fail_ceiling=2, flags=4)
    k = kamailio(ceiling_extra="uacreg_keep();")
    wait_for(lambda: (column(db, "kept", "flags") or 0) & 1, 30, what="flags bit 0 set in SQL")
    assert column(db, "kept", "flags") == 5  # other bits untouched
    assert exists(db, "kept")
    k.wait_state("kept", "disabled", 10)
    assert k.info("kept")["flags"] & 1
    assert ceiling_events(db, "kept") == [["bad_auth", "2"]]
    wait_for(lambda: len(s.requests("kept", authorized=True)) == 2, 10,
             what="sipp's trace of the two answers")
    sent = len(s.registers("kept"))
    time.sleep(4)  # intentional: a kept line sends nothing more
    assert len(s.requests("kept", authorized=True)) == 2
    assert len(s.registers("kept")) == sent
    assert exists(db, "kept") and k.state("kept") == "disabled"
    assert len(ceiling_events(db, "kept")) == 1
    assert "deleted after" not in k.log_text()


def test_admin_fixes_the_password_and_reloads_before_the_ceiling(db, kamailio, sipp):
    s = sipp(BOOK)
    db.add_line("fixme", r_domain=s.addr, auth_password="wrong", fail_ceiling=5)
    k = kamailio()
    wait_for(lambda: (column(db, "fixme") or 0) >= 1, 20, what="a first counted failure")
    db.sql("UPDATE uacreg SET auth_password='secret' WHERE l_uuid='fixme'")
    res = k.rpc("uacreg.reload")
    assert res["changed"] == 1, res
    k.wait_state("fixme", "registered", 20)
    assert exists(db, "fixme")
    wait_for(lambda: column(db, "fixme") == 0, 10, what="fail_count column reset")
    assert k.info("fixme")["fail_count"] == 0
    assert ceiling_events(db, "fixme") == []


def test_admin_fixes_the_password_without_reload_ceiling_reloads_it(db, kamailio, sipp):
    """The ceiling hits with the old password still in memory, but the row in
    SQL is no longer the one that failed: it is reloaded, not deleted."""
    s = sipp(BOOK)
    db.add_line("fixed", r_domain=s.addr, auth_password="wrong", fail_ceiling=2)
    # a slow backoff leaves time to change the row between the two failures
    k = kamailio(extra_params='modparam("uacreg", "retry_min", 3)\n')
    wait_for(lambda: (column(db, "fixed") or 0) >= 1, 20, what="a first counted failure")
    db.sql("UPDATE uacreg SET auth_password='secret' WHERE l_uuid='fixed'")
    wait_for(lambda: len(ceiling_events(db, "fixed")) == 1, 20, what="the ceiling route")
    wait_for(lambda: k.state("fixed") == "registered", 20, what="the reloaded row registered")
    assert exists(db, "fixed")
    wait_for(lambda: column(db, "fixed") == 0, 10, what="fail_count column reset")
    assert k.info("fixed")["fail_count"] == 0
    assert "line [fixed]: row changed in SQL since it was loaded" in k.log_text()
    assert len(ceiling_events(db, "fixed")) == 1


def test_database_down_at_the_ceiling(procs, tmp_path, kamailio, db, sipp):
    """MariaDB is down when the ceiling hits. The order is always: the count
    in SQL, then the route, then the DELETE. So while MariaDB is down the
    line sends nothing and the route waits; once MariaDB is back the count
    is written, the route runs exactly once (its own INSERT succeeds) and
    the row is deleted."""
    own = MariaDB(tmp_path / "own-mariadb", free_port(socket.SOCK_STREAM))
    own.start()
    try:
        own.sql("CREATE DATABASE own")
        own.sql(SCHEMA.read_text(), "own")
        own.sql("CREATE TABLE test_events (id INT AUTO_INCREMENT PRIMARY KEY, "
                "l_uuid VARCHAR(64), kind VARCHAR(16), state VARCHAR(32), code INT, "
                "at TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP(3))", "own")
        odb = DB(own, "own")
        db.url = odb.url  # the kamailio fixture reads the url from `db`
        s = sipp(BOOK)
        # waits until it is told to start: by then MariaDB is down
        odb.add_line("dbout", r_domain=s.addr, auth_password="wrong", fail_ceiling=2,
                     reg_delay=600)
        odb.add_line("good", r_domain=s.addr, expires=4)
        k = kamailio()
        k.wait_state("good", "registered", 20)
        assert k.state("dbout") == "new"
        own.stop()
        # the row cannot be re-read: the line is refreshed as loaded
        assert k.rpc("uacreg.refresh", "dbout") == "ok: database unavailable, refreshed as loaded"

        k.wait_state("dbout", "ceiling", 30)
        route = "uacreg-ceiling: dbout "
        wait_for(lambda: "database writes fail (the fail_count write of line [dbout])"
                 in k.log_text(), 10, what="the count's write failing")
        wait_for(lambda: len(s.requests("dbout", authorized=True)) == 2, 10,
                 what="sipp's trace of the two answers")
        sent = len(s.registers("dbout"))
        time.sleep(4)  # intentional: several retries of the write, and no REGISTER
        assert len(s.requests("dbout", authorized=True)) == 2
        assert k.state("dbout") == "ceiling"
        assert len(s.registers("dbout")) == sent
        # the route waits for the count to be in SQL
        assert route not in k.log_text()
        assert k.state("good") in ("registered", "registering", "authenticating")

        own.start()
        wait_for(lambda: odb.value("SELECT COUNT(*) FROM uacreg WHERE l_uuid='dbout'") == "0",
                 30, what="the delete once MariaDB is back")
        assert_gone_from_memory(k, "dbout")
        time.sleep(2)  # intentional: the route must not run a second time
        assert k.log_text().count(route) == 1
        # the route ran with MariaDB up: its INSERT is there, once
        assert odb.sql("SELECT state, code FROM test_events WHERE kind='ceiling'") == \
            [["bad_auth", "2"]]
        assert odb.value("SELECT COUNT(*) FROM uacreg WHERE l_uuid='good'") == "1"
        assert len(s.registers("dbout")) == sent
    finally:
        own.stop()


def test_200_ok_resets_the_count(db, kamailio, sipp):
    s = sipp(BOOK)
    db.add_line("recovers", r_domain=s.addr, fail_count=2, fail_ceiling=3)
    k = kamailio()
    k.wait_state("recovers", "registered", 20)
    wait_for(lambda: column(db, "recovers") == 0, 10, what="fail_count column reset")
    assert k.info("recovers")["fail_count"] == 0
    assert ceiling_events(db, "recovers") == []
