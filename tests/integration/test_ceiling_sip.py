"""What counts toward the failure ceiling, and SIP correctness around it
(issue 14, items 1, 3, 10, 11, 12), on the wire against our own registrar
(registrar.py): an authenticating proxy in front of the registrar (407 then
401, two realms), a carrier that turns strict about CSeq mid-life, a 200 OK
that lists another binding with our user part first, a hostile Min-Expires.

The rule (README, the ceiling section): a 401/407 counts as bad_auth only
when it challenges again, in the same realm and header kind, credentials
that answered a challenge for the first time, without stale=true."""
import pytest

from conftest import RpcError, wait_for


def exists(db, l_uuid):
    return db.value(f"SELECT COUNT(*) FROM uacreg WHERE l_uuid='{l_uuid}'") == "1"


def sql_count(db, l_uuid):
    v = db.value(f"SELECT fail_count FROM uacreg WHERE l_uuid='{l_uuid}'")
    return None if v is None else int(v)


def ceiling_events(db, l_uuid):
    return db.sql(f"SELECT state, code FROM test_events WHERE kind='ceiling' AND l_uuid='{l_uuid}'")


def registered(k, name):
    try:
        i = k.info(name)
    except RpcError:
        return False
    return i["state"] == "registered" and i["expires_in"] > 0


# --- item 1: two challenges for one REGISTER (RFC 3261 22.3) ------------------

PROXY = {"realm": "proxy.test"}


def test_proxy_and_registrar_challenges_never_count(db, kamailio, registrar):
    """Every nonce is single use and never called stale: each refresh is
    challenged by the proxy (407, realm proxy.test) and then, with
    Proxy-Authorization, by the registrar (401, realm registrar.test). The
    right password registers every time and is never counted, across
    refreshes and a carrier outage, with a ceiling of 1."""
    reg = registrar(users={"pr": "secret"}, proxy=PROXY, nonce_single_use=True, stale=False)
    db.add_line("pr", r_domain=reg.addr, expires=5, fail_ceiling=1)
    k = kamailio()
    wait_for(lambda: reg.oks("pr") >= 3, 30, what="three registrations of pr")
    # an outage in between: the attempt after it starts from scratch
    reg.set(respond=503)
    wait_for(lambda: reg.responses("pr", 503), 20, what="a 503")
    reg.set(respond=None)
    oks = reg.oks("pr")
    wait_for(lambda: reg.oks("pr") >= oks + 2, 30, what="two more registrations of pr")

    info = k.info("pr")
    assert info["fail_count"] == 0 and info["fail_class"] != "bad_auth", info
    assert exists(db, "pr") and sql_count(db, "pr") == 0
    assert ceiling_events(db, "pr") == []
    # both challenges were met, and answered together in one request
    assert reg.responses("pr", 407) and reg.responses("pr", 401)
    both = [r for r in reg.requests("pr")
            if {a["header"].lower() for a in r["auth"]} == {"authorization", "proxy-authorization"}]
    assert both, reg.requests("pr")
    assert {a["realm"] for a in both[0]["auth"]} == {"proxy.test", "registrar.test"}
    assert any(r["verify"] == "proxy:ok,registrar:ok" and r["code"] == 200 for r in both)
    # and every 200 was to such a request
    assert all(len(r["auth"]) == 2 for r in reg.requests("pr") if r["code"] == 200)


def test_wrong_registrar_password_behind_proxy_reaches_ceiling(db, kamailio, registrar):
    """The proxy takes the row's password, the registrar does not: its 401 to
    our first answer in its realm is a wrong password, counted up to the
    ceiling, and the row is deleted."""
    reg = registrar(users={"prbad": "secret"}, proxy={"realm": "proxy.test",
                                                      "users": {"prbad": "wrong"}})
    db.add_line("prbad", r_domain=reg.addr, auth_password="wrong", fail_ceiling=2)
    k = kamailio()
    wait_for(lambda: not exists(db, "prbad"), 40, what="prbad deleted by the ceiling")
    assert ceiling_events(db, "prbad") == [["bad_auth", "2"]]
    refused = [r for r in reg.requests("prbad") if r["code"] == 401
               and r["verify"] == "proxy:ok,registrar:bad_response"]
    assert len(refused) == 2, reg.requests("prbad")
    assert "line [prbad]: deleted after 2 failures (failure ceiling)" in k.log_text()


def test_wrong_proxy_password_counts(db, kamailio, registrar):
    """The proxy refuses our first answer to its challenge in its realm:
    bad_auth, counted."""
    reg = registrar(users={"pxbad": "secret"}, proxy={"realm": "proxy.test",
                                                      "users": {"pxbad": "other"}})
    db.add_line("pxbad", r_domain=reg.addr, fail_ceiling=0)
    k = kamailio()
    wait_for(lambda: sql_count(db, "pxbad") == 2, 30, what="two counted failures")
    info = k.info("pxbad")
    assert info["fail_class"] == "bad_auth", info
    assert not reg.responses("pxbad", 401)  # the registrar never saw it


def test_row_realm_pins_the_registrar_and_a_named_proxy_may_differ(db, kamailio, registrar):
    """The row's realm is the registrar's. A proxy challenging in its own
    realm is answered only when the row names it (auth_proxy); otherwise the
    challenge is refused as bad_challenge and nothing counts."""
    reg = registrar(users={"rp1": "secret", "rp2": "secret"}, proxy=PROXY)
    db.add_line("rp1", r_domain=reg.addr, realm="registrar.test", auth_proxy=f"sip:{reg.addr}")
    db.add_line("rp2", r_domain=reg.addr, realm="registrar.test", fail_ceiling=1)
    k = kamailio()
    wait_for(lambda: registered(k, "rp1"), 20, what="rp1 registered")
    wait_for(lambda: registered(k, "rp1") and k.info("rp2")["fail_class"] == "bad_challenge", 20,
             what="rp2 refused the proxy")
    assert k.info("rp2")["fail_count"] == 0
    assert not [r for r in reg.requests("rp2") if r["auth"]]  # no credentials for proxy.test
    assert "the proxy challenge is for realm [proxy.test], not the row's [registrar.test]" \
        in k.log_text()


# --- item 3: mode 2 switches after a refresh ----------------------------------

def test_new_dialog_learnt_after_a_refresh_is_never_counted(db, kamailio, registrar):
    """Registered in the same dialog, then the carrier turns strict: the
    refresh with the reused nonce gets 400 Invalid CSeq. The line switches
    and starts the new dialog without credentials: the registrar's 401 to it
    is a challenge, not a refused answer (nonces are single use, never
    stale), and the line registers again with a ceiling of 1."""
    reg = registrar(users={"auto": "secret"}, nonce_single_use=True, stale=False)
    db.add_line("auto", r_domain=reg.addr, expires=5, reauth_new_dialog=2, fail_ceiling=1)
    k = kamailio()
    wait_for(lambda: reg.oks("auto") >= 1, 20, what="auto registered")
    reg.set(strict_cseq=True)
    wait_for(lambda: reg.responses("auto", 400), 20, what="the 400 to the refresh")
    oks = reg.oks("auto")
    wait_for(lambda: reg.oks("auto") >= oks + 2, 30, what="auto registered again, twice")
    assert exists(db, "auto") and sql_count(db, "auto") == 0
    info = k.info("auto")
    assert info["fail_count"] == 0, info
    assert "switching to a new dialog" in k.log_text()
    # after the 400: a REGISTER without credentials in a new Call-ID
    reqs = reg.requests("auto")
    i = next(n for n, r in enumerate(reqs) if r["code"] == 400)
    assert reqs[i + 1]["auth"] == [] and reqs[i + 1]["call_id"] != reqs[i]["call_id"]


# --- item 10: our binding among several Contacts ------------------------------

def test_granted_expiry_is_our_uris_not_our_users(db, kamailio, registrar):
    """The 200 OK lists first two bindings with our user part, an old
    contact address of ours and another SBC's, with long expiries; ours
    (same URI as sent) has 20 s. The line refreshes by its own 20 s."""
    reg = registrar(users={"same": "secret"}, grant_expires=20, contact_first=True,
                    extra_contacts=[{"uri": "sip:same@127.0.0.1:1", "expires": 3000, "user": "same"},
                                    {"uri": "sip:same@192.0.2.7", "expires": 2000, "user": "same"}])
    db.add_line("same", r_domain=reg.addr, expires=3600)
    k = kamailio()
    wait_for(lambda: registered(k, "same"), 20, what="same registered")
    ok = reg.responses("same", 200)[0]
    assert [c["expires"] for c in ok["contacts"]] == [3000, 2000, 20], ok
    info = k.info("same")
    assert info["granted"] == 20, info
    assert 0 < info["expires_in"] <= 20, info
    assert "does not list our Contact" not in k.log_text()


# --- item 12: a hostile Min-Expires -------------------------------------------

def test_hostile_min_expires_is_capped(db, kamailio, registrar):
    """423 with Min-Expires: 4294967295. The line asks at most
    min_expires_max (here 7200), says so in the log, and when that is
    refused too it fails (not counted) instead of asking for ever."""
    reg = registrar(users={"me": "secret"}, min_expires=4294967295)
    db.add_line("me", r_domain=reg.addr, expires=60, fail_ceiling=1)
    k = kamailio(extra_params='modparam("uacreg", "min_expires_max", 7200)\n')
    wait_for(lambda: k.state("me") == "retry_wait", 20, what="me failed")
    asked = [r["expires"] for r in reg.requests("me")]
    assert sorted(set(asked)) == [60, 7200], asked
    info = k.info("me")
    assert info["fail_class"] == "other" and info["fail_count"] == 0, info
    assert "423 asks Min-Expires 4294967295, above min_expires_max 7200" in k.log_text()


def test_min_expires_max_is_checked_at_start(db, kamailio):
    k = kamailio(start=False, extra_params='modparam("uacreg", "min_expires_max", 0)\n')
    with pytest.raises(AssertionError):
        k.start()
    assert "min_expires_max must be at least 1" in k.log_text()
