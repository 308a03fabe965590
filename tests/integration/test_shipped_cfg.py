"""The shipped kamailio.cfg, run as an operator would: its ceiling route
archives the line without secrets and POSTs one report to the admin URL,
the row is deleted, and the good lines beside it stay registered."""
import json
import time
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from conftest import MODULE, ROOT, RpcError, free_port, wait_for

SHIPPED = ROOT / "kamailio.cfg"


class AdminSystem:
    """A small HTTP server on loopback that records the reports it gets."""

    def __init__(self):
        self.reports = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.reports.append((self.headers.get("Content-Type"), body.decode()))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", free_port(socket.SOCK_STREAM)), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/uacreg/report"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def admin():
    a = AdminSystem()
    yield a
    a.close()


def shipped(kamailio, db, admin=None, **cfg_changes):
    """Starts the shipped kamailio.cfg with this test's addresses; only the
    retry timers are shortened so a test sees the ceiling in seconds."""
    text = SHIPPED.read_text()
    for old, new in {'"retry_min", 30': '"retry_min", 1', '"retry_max", 3600': '"retry_max", 2',
                     '"start_spread", 10': '"start_spread", 0',
                     '"fr_timer", 5000': '"fr_timer", 2000'}.items():
        assert old in text, old
        text = text.replace(old, new)
    k = kamailio(start=False, cfg_text=text)
    k.env = {
        "UACREG_LISTEN": f"udp:{k.addr}", "UACREG_CONTACT": k.addr,
        "UACREG_DB_URL": db.url, "UACREG_SQLCON": f"cb=>{db.url}",
        "UACREG_CTL": f"unix:{k.ctl}", "UACREG_RPC_SOCK": str(k.rpcsock),
        "UACREG_MODULE": str(MODULE),
    }
    if admin:
        k.env["UACREG_ADMIN_URL"] = admin.url
    return k.start()


def test_ceiling_route_archives_reports_once_and_deletes(db, kamailio, sipp, admin):
    carrier = sipp("registrar.xml")
    db.add_line("good1", r_domain=carrier.addr)
    db.add_line("good2", r_domain=carrier.addr)
    db.add_line("bad", r_domain=carrier.addr, auth_password="Wr0ngPassw0rd", fail_ceiling=2,
                r_username="bad-user")
    k = shipped(kamailio, db, admin)

    wait_for(lambda: db.value("SELECT COUNT(*) FROM uacreg WHERE l_uuid='bad'") == "0", 40,
             what="the row deleted by the ceiling")
    with pytest.raises(RpcError):
        k.info("bad")
    archive = db.sql("SELECT l_uuid, r_username, fail_count, fail_class, last_code "
                     "FROM uacreg_archive")
    assert archive == [["bad", "bad-user", "2", "bad_auth", "401"]]
    wait_for(lambda: len(admin.reports) >= 1, 10, what="the admin report")
    ctype, body = admin.reports[0]
    assert ctype == "application/json"
    report = json.loads(body)
    assert report["l_uuid"] == "bad" and report["fail_count"] == 2
    assert "Wr0ngPassw0rd" not in body
    for l in ("good1", "good2"):
        assert k.state(l) == "registered"
    n = len(carrier.registers("bad-user"))
    time.sleep(4)  # intentional: nothing may be sent after the ceiling
    assert len(carrier.registers("bad-user")) == n, "REGISTERs after the ceiling"
    assert len(admin.reports) == 1
    assert "Wr0ngPassw0rd" not in k.log_text()


def test_shipped_cfg_runs_without_an_admin_url(db, kamailio, sipp):
    carrier = sipp("registrar.xml")
    db.add_line("bad", r_domain=carrier.addr, auth_password="nope", fail_ceiling=1)
    k = shipped(kamailio, db)
    wait_for(lambda: db.value("SELECT COUNT(*) FROM uacreg_archive WHERE l_uuid='bad'") == "1",
             30, what="the archive row")
    wait_for(lambda: db.value("SELECT COUNT(*) FROM uacreg WHERE l_uuid='bad'") == "0", 10,
             what="the row deleted")
    assert "admin report failed" not in k.log_text()


def test_a_second_event_of_the_same_line_is_archived_too(db, kamailio, sipp):
    """The row is deleted at its ceiling, an admin adds it again, it fails
    again: two events, two archive rows (each with its row's id)."""
    carrier = sipp("registrar.xml")
    db.add_line("twice", r_domain=carrier.addr, auth_password="nope", fail_ceiling=1)
    k = shipped(kamailio, db)
    wait_for(lambda: db.value("SELECT COUNT(*) FROM uacreg WHERE l_uuid='twice'") == "0", 30,
             what="the first delete")
    first_id = db.value("SELECT row_id FROM uacreg_archive WHERE l_uuid='twice'")
    db.add_line("twice", r_domain=carrier.addr, auth_password="nope", fail_ceiling=1)
    k.rpc("uacreg.reload")
    wait_for(lambda: db.value("SELECT COUNT(*) FROM uacreg WHERE l_uuid='twice'") == "0", 30,
             what="the second delete")
    rows = db.sql("SELECT row_id, fail_count, fail_class FROM uacreg_archive "
                  "WHERE l_uuid='twice' ORDER BY id")
    assert len(rows) == 2, rows
    assert rows[0] == [first_id, "1", "bad_auth"]
    assert rows[1][1:] == ["1", "bad_auth"] and rows[1][0] != first_id


def test_the_delete_waits_for_the_archive(db, kamailio, sipp):
    """The archive cannot be written when the ceiling comes (its table is
    gone for a while): the route defers, the row stays and the line sends
    nothing; once the table is back the event is archived once and only then
    the row is deleted."""
    carrier = sipp("registrar.xml")
    db.add_line("late", r_domain=carrier.addr, auth_password="nope", fail_ceiling=2,
                r_username="late-user")
    db.sql("RENAME TABLE uacreg_archive TO uacreg_archive_away")
    k = shipped(kamailio, db)
    wait_for(lambda: k.log_text().count("uacreg line late: the archive cannot be written") >= 2,
             30, what="the route deferring twice")
    assert k.state("late") == "ceiling"
    assert db.value("SELECT COUNT(*) FROM uacreg WHERE l_uuid='late'") == "1"
    time.sleep(1.5)  # let sipp write its trace
    sent = len(carrier.registers("late-user"))
    db.sql("RENAME TABLE uacreg_archive_away TO uacreg_archive")
    wait_for(lambda: db.value("SELECT COUNT(*) FROM uacreg WHERE l_uuid='late'") == "0", 20,
             what="the delete after the archive")
    assert db.sql("SELECT l_uuid, fail_count, fail_class FROM uacreg_archive") == \
        [["late", "2", "bad_auth"]]
    assert len(carrier.registers("late-user")) == sent
    assert "line [late]: deleted after 2 failures" in k.log_text()


def test_quotes_and_backslashes_are_archived_and_reported_verbatim(db, kamailio, sipp, admin):
    """Values with quotes, backslashes and SQL in them reach the archive and
    the JSON report exactly as they are in the row."""
    carrier = sipp("registrar.xml")
    l_uuid = "o'bad"
    l_username = "x\"y\\z'); DELETE FROM uacreg; --"
    r_username = "o'brien"
    db.add_line(l_uuid, r_username=r_username, auth_username="ob",
                r_domain=carrier.addr, auth_password="nope", fail_ceiling=1)
    # the harness quotes for SQL by doubling quotes only: the backslash goes in as hex
    db.sql(f"UPDATE uacreg SET l_username=UNHEX('{l_username.encode().hex()}') "
           "WHERE l_uuid='o''bad'")
    db.add_line("good", r_domain=carrier.addr)
    k = shipped(kamailio, db, admin)
    wait_for(lambda: db.value("SELECT COUNT(*) FROM uacreg WHERE l_uuid='o''bad'") == "0", 30,
             what="the row deleted")
    rows = db.sql("SELECT HEX(l_uuid), HEX(l_username), HEX(r_username), last_reason "
                  "FROM uacreg_archive")
    assert rows == [[l_uuid.encode().hex().upper(), l_username.encode().hex().upper(),
                     r_username.encode().hex().upper(), "Unauthorized"]], rows
    wait_for(lambda: len(admin.reports) >= 1, 10, what="the admin report")
    report = json.loads(admin.reports[0][1])
    assert report["l_uuid"] == l_uuid and report["r_username"] == r_username
    assert report["fail_count"] == 1 and report["last_code"] == 401
    assert report["last_reason"] == "Unauthorized"
    assert db.value("SELECT COUNT(*) FROM uacreg WHERE l_uuid='good'") == "1"
