"""SQL administration: admins edit rows with plain SQL and `uacreg.reload`
sends exactly the REGISTERs the edits call for; the migration from a stock
table is idempotent and stock uac still loads the result."""
import hashlib
import socket
import time

import pytest

from conftest import MariaDB, RpcError, free_port, wait_for, wait_stable

from conftest import ROOT, SCHEMA

STOCK_SCHEMA = sorted(
    (ROOT / "build").glob("kamailio-src-*/kamailio-*/utils/kamctl/mysql/uac-create.sql"))
MIGRATION = ROOT / "sql" / "migrate-from-uac.sql"


def registered(k, names):
    return all(k.state(n) == "registered" for n in names)


def test_reload_sends_only_for_added_changed_and_deleted_rows(db, kamailio, sipp):
    carrier = sipp("registrar.xml")
    names = [f"l{i:02d}" for i in range(12)]
    for n in names:
        db.add_line(n, r_domain=carrier.addr, expires=120)
    k = kamailio()
    wait_for(lambda: registered(k, names), 30, what="every line registered")
    before = wait_stable(lambda: {n: len(carrier.registers(n)) for n in names + ["new"]},
                         what="sipp's trace")

    db.add_line("new", r_domain=carrier.addr, expires=120)
    ha1 = hashlib.md5(b"l01:sipp.test:secret").hexdigest()
    db.sql(f"UPDATE uacreg SET auth_password='', auth_ha1='{ha1}' WHERE l_uuid='l01'")
    db.sql("UPDATE uacreg SET fail_ceiling=5 WHERE l_uuid='l02'")
    db.sql("DELETE FROM uacreg WHERE l_uuid='l03'")
    res = k.rpc("uacreg.reload")
    assert (res["added"], res["changed"], res["updated"], res["removed"],
            res["unchanged"], res["skipped"]) == (1, 1, 1, 1, 9, 0)

    wait_for(lambda: k.state("new") == "registered" and k.state("l01") == "registered",
             20, what="the new and the changed line registered")
    wait_for(lambda: any(m.expires == 0 for m in carrier.registers("l03")), 10,
             what="the deleted line unregistered")
    # sipp's trace complete, and a reload that sent for an unchanged row
    # would have done so by now (it sends at once)
    after = wait_stable(lambda: {n: len(carrier.registers(n)) for n in names + ["new"]},
                        quiet=2.0, what="sipp's trace")
    sent = {n: after[n] - before[n] for n in after}
    # challenged carrier: a new line costs 2 requests (REGISTER, answer); a
    # line whose credentials changed refreshes with its nonce: 1
    assert sent["new"] == 2
    assert sent["l01"] == 1
    assert 1 <= sent["l03"] <= 2  # Expires: 0, answered if challenged
    quiet = {n: c for n, c in sent.items() if n not in ("new", "l01", "l03")}
    assert all(c == 0 for c in quiet.values()), quiet
    assert k.info("l02")["fail_ceiling"] == 5
    with pytest.raises(RpcError) as e:
        k.info("l03")
    assert e.value.code == 404


def test_reload_reports_skipped_rows_and_loads_the_rest(db, kamailio):
    db.add_line("good", flags=1)
    k = kamailio()
    wait_for(lambda: k.rpc("uacreg.count") == 1, 10, what="one line")
    db.add_line("no-domain", r_domain="", flags=1)
    db.add_line("bad-ha1", auth_password="", auth_ha1="xyz", flags=1)
    db.add_line("good2", flags=1)
    res = k.rpc("uacreg.reload")
    assert res["added"] == 1 and res["skipped"] == 2
    reasons = {r["l_uuid"]: r["reason"] for r in res["skipped_rows"]}
    assert "r_domain" in reasons["no-domain"]
    assert "auth_ha1" in reasons["bad-ha1"]
    assert k.rpc("uacreg.count") == 2
    log = k.log_text()
    assert "l_uuid=[no-domain]" in log and "l_uuid=[bad-ha1]" in log


def test_reload_with_the_database_down_changes_nothing(procs, tmp_path, kamailio, db, sipp):
    # a MariaDB of this test's own, so stopping it disturbs no other test
    own = MariaDB(tmp_path / "own-mariadb", free_port(socket.SOCK_STREAM))
    own.start()
    try:
        own.sql("CREATE DATABASE own")
        own.sql(SCHEMA.read_text(), "own")
        carrier = sipp("registrar.xml")
        db.url = f"mysql://uacreg:uacreg@127.0.0.1:{own.port}/own"
        own.sql(f"INSERT INTO uacreg (l_uuid,l_username,l_domain,r_username,r_domain,"
                f"auth_username,auth_password,expires) VALUES "
                f"('a','a','d','a','{carrier.addr}','a','secret',3)", "own")
        k = kamailio()
        k.wait_state("a", "registered", 20)
        own.stop()
        with pytest.raises(RpcError) as e:
            k.rpc("uacreg.reload")
        assert e.value.code == 503
        # the line keeps refreshing while the database is down
        n = len(carrier.registers("a"))
        wait_for(lambda: len(carrier.registers("a")) > n, 10, what="a refresh")
        assert k.state("a") == "registered"
        assert k.rpc("uacreg.count") == 1
    finally:
        own.stop()


@pytest.mark.skipif(not STOCK_SCHEMA, reason="needs Debian's kamailio source (make module)")
def test_migration_is_idempotent_and_stock_uac_still_loads(mariadb, procs, tmp_path):
    name = "stock_" + str(int(time.time() * 1000))
    mariadb.sql(f"CREATE DATABASE {name}")
    mariadb.sql("CREATE TABLE version (table_name VARCHAR(32) NOT NULL, "
                "table_version INT UNSIGNED DEFAULT 0 NOT NULL)", name)
    mariadb.sql(STOCK_SCHEMA[-1].read_text(), name)
    rows = "".join(
        f"('s{i}','u{i}','d','r{i}','127.0.0.1','r{i}','pw{i}','','sip:127.0.0.1',60,1,0,'',''),"
        for i in range(3)).rstrip(",")
    mariadb.sql("INSERT INTO uacreg (l_uuid,l_username,l_domain,r_username,r_domain,"
                "auth_username,auth_password,auth_ha1,auth_proxy,expires,flags,reg_delay,"
                "contact_addr,socket) VALUES " + rows, name)
    stock_cols = ("id,l_uuid,l_username,l_domain,r_username,r_domain,realm,auth_username,"
                  "auth_password,auth_ha1,auth_proxy,expires,flags,reg_delay,contact_addr,socket")
    before = mariadb.sql(f"SELECT {stock_cols} FROM uacreg ORDER BY id", name)

    mariadb.sql(MIGRATION.read_text(), name)
    schema_once = mariadb.sql("SHOW CREATE TABLE uacreg", name)
    mariadb.sql(MIGRATION.read_text(), name)
    assert mariadb.sql("SHOW CREATE TABLE uacreg", name) == schema_once
    assert mariadb.sql(f"SELECT {stock_cols} FROM uacreg ORDER BY id", name) == before
    assert mariadb.sql("SELECT reauth_new_dialog, fail_ceiling, fail_count FROM uacreg", name) \
        == [["NULL", "NULL", "0"]] * 3

    # stock uac 5.6.3 loads the migrated table: the rollback path
    port = free_port()
    ctl = tmp_path / "stock-ctl.sock"
    cfg = tmp_path / "stock.cfg"
    cfg.write_text(f"""#!KAMAILIO
debug=2
log_stderror=yes
children=1
listen=udp:127.0.0.1:{port}
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "ctl.so"
loadmodule "kex.so"
loadmodule "db_mysql.so"
loadmodule "rr.so"
loadmodule "uac.so"
modparam("ctl", "binrpc", "unix:{ctl}")
modparam("uac", "reg_db_url", "mysql://uacreg:uacreg@127.0.0.1:{mariadb.port}/{name}")
modparam("uac", "reg_contact_addr", "127.0.0.1:{port}")
request_route {{ sl_send_reply("404", "no"); }}
""")
    log = tmp_path / "stock.log"
    p = procs.start(["kamailio", "-f", str(cfg), "-DD", "-E", "-w", str(tmp_path)],
                    stdout=open(log, "w"), stderr=__import__("subprocess").STDOUT)
    import subprocess

    def stock_sees_rows():
        out = subprocess.run(["kamcmd", "-s", f"unix:{ctl}", "uac.reg_info", "l_uuid", "s1"],
                             capture_output=True, text=True)
        return out.returncode == 0 and "r1" in out.stdout

    try:
        wait_for(stock_sees_rows, 20, what="stock uac to load the migrated table")
    finally:
        procs.stop(p)
    mariadb.sql(f"DROP DATABASE {name}")


def test_periodic_reload_picks_up_sql_edits(db, kamailio):
    db.add_line("first", flags=1)
    k = kamailio(extra_params='modparam("uacreg", "reload_interval", 1)\n')
    wait_for(lambda: k.rpc("uacreg.count") == 1, 10, what="one line")
    db.add_line("second", flags=1)
    wait_for(lambda: k.rpc("uacreg.count") == 2, 10, what="the periodic reload to add a line")
    db.sql("DELETE FROM uacreg WHERE l_uuid='first'")
    wait_for(lambda: k.state("first") is None, 10, what="the periodic reload to remove a line")
    # the removal was announced in event_route[uacreg:state]
    wait_for(lambda: db.value("SELECT COUNT(*) FROM test_events WHERE l_uuid='first' "
                              "AND state='removed'") == "1", 10, what="the removed event")
