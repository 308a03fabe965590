"""Rows an admin gets wrong: a row that would put malformed SIP on the wire
is skipped with its column and reason; a typo in the row of a working line
does not take the line down."""
import time

import pytest

from conftest import wait_for

BAD_ROWS = {
    "bad-ruser": ({"r_username": "u>;tag=x"}, "r_username is not a SIP user part"),
    "bad-dom-space": ({"r_domain": "bad domain"}, "r_domain is not host[:port]"),
    "bad-dom-port": ({"r_domain": "127.0.0.1:70000"},
                     "r_domain port is not a number from 1 to 65535"),
    "bad-dom-inject": ({"r_domain": "x>;evil=1"}, "r_domain is not host[:port]"),
    "bad-proxy": ({"auth_proxy": "sip:not a host::::"},
                  "auth_proxy is not sip:[user@]host[:port][;params]"),
    "bad-contact": ({"contact_addr": "x y>;;<"}, "contact_addr is not host[:port][;params]"),
    "bad-contact-sip": ({"contact_addr": "sip:127.0.0.1:5060"},
                        "contact_addr is host[:port][;params], without sip:"),
}


def test_rows_that_break_sip_grammar_are_skipped_with_column_and_reason(db, kamailio, sipp):
    carrier = sipp("registrar-open.xml")
    db.add_line("good", r_domain=carrier.addr)
    for name, (cols, _) in BAD_ROWS.items():
        row = {"r_domain": carrier.addr, **cols}
        db.add_line(name, **row)
    k = kamailio()
    k.wait_state("good", "registered", 20)
    res = k.rpc("uacreg.reload")
    reasons = {r["l_uuid"]: r["reason"] for r in res["skipped_rows"]}
    for name, (_, reason) in BAD_ROWS.items():
        assert reason in reasons.get(name, ""), (name, reasons.get(name))
        assert f"l_uuid=[{name}] skipped: {reason}" in k.log_text()
        assert k.state(name) is None
    assert res["skipped"] == len(BAD_ROWS)
    assert all(r["line"] == "not loaded" for r in res["skipped_rows"])
    time.sleep(1)  # on purpose: nothing of the bad rows may reach the wire
    users = {m.user() for m in carrier.registers()}
    assert users == {"good"}, users


def test_a_typo_in_a_working_row_keeps_the_line_running(db, kamailio, sipp):
    carrier = sipp("registrar-open.xml")
    db.add_line("work", r_domain=carrier.addr, expires=120)
    db.add_line("other", r_domain=carrier.addr, expires=120)
    k = kamailio(extra_params='modparam("uacreg", "reload_interval", 1)\n')
    k.wait_state("work", "registered", 20)
    k.wait_state("other", "registered", 20)
    assert k.info("work")["row_invalid"] == ""

    db.sql("UPDATE uacreg SET expires=-5 WHERE l_uuid='work'")
    res = k.rpc("uacreg.reload")
    assert res["removed"] == 0 and res["skipped"] == 1, res
    assert res["skipped_rows"] == [{"l_uuid": "work", "reason": "expires is less than 1",
                                    "line": "runs on as last loaded"}]
    info = k.info("work")
    assert info["state"] == "registered" and info["expires"] == 120
    assert info["row_invalid"].startswith("row invalid since ")
    assert info["row_invalid"].endswith(": expires is less than 1")
    assert k.rpc("uacreg.summary")["rows_invalid"] == 1
    # the periodic reload keeps it too, and the WARN is said once
    wait_for(lambda: k.log_text().count("uacreg reload:") >= 3, 10, what="periodic reloads")
    assert k.log_text().count("l_uuid=[work] is invalid (expires is less than 1)") == 1
    assert k.state("work") == "registered"
    assert not any(m.expires == 0 for m in carrier.registers("work"))

    # fixed: the row is back to what was loaded, the line is "valid again"
    db.sql("UPDATE uacreg SET expires=120 WHERE l_uuid='work'")
    wait_for(lambda: k.info("work")["row_invalid"] == "", 10, what="the row valid again")
    assert "uacreg row l_uuid=[work] is valid again" in k.log_text()
    assert k.rpc("uacreg.summary")["rows_invalid"] == 0

    # invalid and flags=1: the admin's disable is heeded
    db.sql("UPDATE uacreg SET r_domain='bad domain', flags=1 WHERE l_uuid='work'")
    wait_for(lambda: k.state("work") == "disabled", 10, what="the line disabled")
    wait_for(lambda: any(m.expires == 0 for m in carrier.registers("work")), 10,
             what="its unregister")
    assert k.state("other") == "registered"
