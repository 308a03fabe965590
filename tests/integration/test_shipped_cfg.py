"""The shipped kamailio.cfg, run as an operator would: its ceiling route
archives the line without secrets and POSTs one report to the admin URL,
the row is deleted, and the good lines beside it stay registered."""
import json
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
    import time
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
