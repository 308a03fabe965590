"""The registration engine against real sipp registrars on loopback: one test
per carrier behaviour, each asserting on the wire (sipp's message trace) and
on what uacreg.info says.

Timings are never asserted tightly: a test waits generously for what it
expects and compares intervals with wide margins (the machine is shared)."""
import hashlib
import re
import time
from datetime import datetime

from conftest import SippMessage, free_port, wait_for


# --- the wire, with times ----------------------------------------------------

_BLOCK = re.compile(
    r"-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\n"
    r"(?:UDP|TCP) message (received|sent)[^\n]*:\s*\n+(.*?)(?=\n-{20,} \d{4}-|\Z)",
    re.S)


def timed_messages(s):
    """Every message of sipp's trace as (time in seconds, SippMessage)."""
    if not s.trace.exists():
        return []
    text = s.trace.read_text(errors="replace")
    out = []
    for m in _BLOCK.finditer(text):
        t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        out.append((t, SippMessage(m.group(2), m.group(3))))
    return out


def requests(s, user):
    """REGISTERs of one r_username as (time first seen, message), one per
    transaction: UDP retransmissions (same Call-ID and CSeq) are folded."""
    seen = {}
    for t, m in timed_messages(s):
        if m.direction == "received" and m.is_register and m.user() == user:
            seen.setdefault((m.call_id, m.cseq), (t, m))
    return sorted(seen.values(), key=lambda tm: tm[0])


def replies(s, user):
    """Status codes sipp sent for one r_username, in order (retransmitted
    replies folded as well)."""
    seen = {}
    for t, m in timed_messages(s):
        if m.direction == "sent" and m.status is not None and m.user() == user:
            seen.setdefault((m.call_id, m.cseq, m.status), (t, m.status))
    return [code for _, code in sorted(seen.values())]


def gaps(reqs):
    return [b[0] - a[0] for a, b in zip(reqs, reqs[1:])]


def wait_requests(s, user, n, timeout):
    return wait_for(lambda: len(requests(s, user)) >= n and requests(s, user), timeout,
                    what=f"{n} REGISTERs of {user}")


def digest_params(value):
    """The parameters of a Digest credentials header value."""
    assert value.startswith("Digest "), value
    return {k.lower(): v1 if v1 else v2 for k, v1, v2 in
            re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', value[len("Digest "):])}


def digest_ok(value, password="secret", method="REGISTER"):
    """True when an MD5 qop=auth response is right for the password."""
    p = digest_params(value)
    md5 = lambda s: hashlib.md5(s.encode()).hexdigest()
    ha1 = md5(f"{p['username']}:{p['realm']}:{password}")
    ha2 = md5(f"{method}:{p['uri']}")
    want = md5(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:{p['qop']}:{ha2}")
    return p["response"] == want


def line(db, s, l_uuid, **cols):
    """A row whose carrier is sipp s."""
    cols.setdefault("r_domain", s.addr)
    db.add_line(l_uuid, **cols)


# --- successful registrations ------------------------------------------------

def test_open_registrar_one_register_200(db, kamailio, sipp):
    s = sipp("registrar-open.xml")
    line(db, s, "open1")
    k = kamailio()
    k.wait_state("open1", "registered")
    info = k.info("open1")
    assert info["last_code"] == 200 and info["fail_class"] == "none"
    assert info["granted"] == 60 and 50 <= info["expires_in"] <= 60
    reqs = requests(s, "open1")
    assert len(reqs) == 1
    r = reqs[0][1]
    assert not r.authorized and r.expires == 60 and r.cseq == 1
    assert r.first_line == f"REGISTER sip:{s.addr} SIP/2.0"
    assert f"<sip:open1@{k.addr}>" in r.header("contact")
    assert replies(s, "open1") == [200]


def test_401_then_200_same_call_id_cseq_plus_one(db, kamailio, sipp):
    s = sipp("registrar.xml")
    line(db, s, "www1")
    k = kamailio()
    k.wait_state("www1", "registered")
    reqs = [m for _, m in requests(s, "www1")]
    assert len(reqs) == 2
    assert not reqs[0].authorized and reqs[1].authorized
    assert reqs[1].header("authorization").startswith("Digest ")
    assert digest_params(reqs[1].header("authorization"))["username"] == "www1"
    assert reqs[1].header("proxy-authorization") is None
    assert reqs[1].call_id == reqs[0].call_id
    assert reqs[1].cseq == reqs[0].cseq + 1
    assert replies(s, "www1") == [401, 200]
    info = k.info("www1")
    assert info["call_id"] == reqs[0].call_id and info["cseq"] == reqs[1].cseq


def test_407_then_200_with_proxy_authorization(db, kamailio, sipp):
    s = sipp("registrar-proxy-auth.xml")
    line(db, s, "prx1")
    k = kamailio()
    k.wait_state("prx1", "registered")
    reqs = [m for _, m in requests(s, "prx1")]
    assert len(reqs) == 2
    assert not reqs[0].authorized
    pa = reqs[1].header("proxy-authorization")
    assert pa and digest_params(pa)["realm"] == "sipp.test"
    assert digest_params(pa)["username"] == "prx1"
    assert digest_ok(pa) and not digest_ok(pa, password="wrong")
    assert reqs[1].header("authorization") is None
    assert replies(s, "prx1") == [407, 200]


def test_423_then_register_again_at_once_with_min_expires(db, kamailio, sipp):
    # a backoff of 5 s or more if the 423 were taken as a failure
    s = sipp("registrar-interval-too-brief.xml")
    line(db, s, "brief1", expires=30)
    k = kamailio(extra_params='modparam("uacreg", "retry_min", 5)\n'
                              'modparam("uacreg", "retry_max", 10)')
    k.wait_state("brief1", "registered", timeout=20)
    reqs = requests(s, "brief1")
    assert replies(s, "brief1") == [423, 401, 200]
    assert len(reqs) == 3
    first, second = reqs[0][1], reqs[1][1]
    assert first.expires == 30
    assert second.expires >= 120 and reqs[2][1].expires >= 120
    # the same request again in the same dialog, not a retry from scratch
    assert second.call_id == first.call_id and second.cseq == first.cseq + 1
    assert not second.authorized
    assert gaps(reqs)[0] < 3.0
    assert k.info("brief1")["granted"] >= 120
    states = [r[0] for r in db.sql("SELECT state FROM test_events WHERE l_uuid='brief1'")]
    assert "retry_wait" not in states


def test_ha1_row_registers(db, kamailio, sipp):
    s = sipp("registrar.xml")
    ha1 = hashlib.md5(b"ha1user:sipp.test:secret").hexdigest()
    line(db, s, "ha1line", auth_username="ha1user", auth_password="", auth_ha1=ha1)
    k = kamailio()
    k.wait_state("ha1line", "registered")
    assert k.info("ha1line")["auth_secret"] == "ha1"
    reqs = [m for _, m in requests(s, "ha1line")]
    assert 'username="ha1user"' in reqs[-1].header("authorization")
    assert replies(s, "ha1line") == [401, 200]


# --- failures ----------------------------------------------------------------

def test_403_is_forbidden_counted_and_backs_off(db, kamailio, sipp):
    s = sipp("registrar-forbidden.xml")
    line(db, s, "forb1")
    # backoff 3 s, 6 s: room to read the state between attempts
    k = kamailio(extra_params='modparam("uacreg", "retry_min", 3)\n'
                              'modparam("uacreg", "retry_max", 12)')
    wait_requests(s, "forb1", 1, 10)
    k.wait_state("forb1", "retry_wait")
    info = k.info("forb1")
    assert len(requests(s, "forb1")) == 1  # read before the retry
    assert info["fail_class"] == "forbidden" and info["fail_count"] == 1
    assert info["last_code"] == 403 and info["last_reason"] == "Forbidden"
    reqs = wait_requests(s, "forb1", 3, 15)
    g = gaps(reqs)
    assert g[0] >= 2.5 and g[1] > g[0] + 1.5, g
    # every attempt is a new dialog, without credentials
    assert len({m.call_id for _, m in reqs}) == len(reqs)
    assert not any(m.authorized for _, m in reqs)
    wait_for(lambda: k.info("forb1")["fail_count"] >= 3, 5, what="fail_count 3")
    wait_for(lambda: db.value("SELECT fail_count FROM uacreg WHERE l_uuid='forb1'") not in (None, "0"),
             5, what="fail_count persisted")


def test_no_answer_is_timeout_not_counted_with_backoff(db, kamailio, sipp):
    s = sipp("registrar-silent.xml")
    line(db, s, "mute1")
    k = kamailio()
    wait_requests(s, "mute1", 1, 10)
    # tm gives up after fr_timer (2 s); then the line waits retry_min (1 s)
    wait_for(lambda: k.info("mute1")["last_code"] == 408, 8, what="local 408")
    info = k.info("mute1")
    assert info["fail_class"] == "timeout" and info["fail_count"] == 0
    reqs = wait_requests(s, "mute1", 3, 20)
    g = gaps(reqs)
    # 2 s timeout + 1 s, then 2 s + 2 s
    assert g[0] >= 2.5 and g[1] > g[0] + 0.5, g
    info = k.info("mute1")
    assert info["state"] in ("registering", "retry_wait")
    assert info["fail_class"] == "timeout" and info["fail_count"] == 0
    assert db.value("SELECT fail_count FROM uacreg WHERE l_uuid='mute1'") == "0"


def test_503_retry_after_is_honoured_and_not_counted(db, kamailio, sipp):
    s = sipp("registrar-unavailable.xml")
    line(db, s, "busy1")
    k = kamailio()  # retry_min 1 s: without Retry-After the retry is at 1 s
    wait_requests(s, "busy1", 1, 10)
    k.wait_state("busy1", "retry_wait")
    info = k.info("busy1")
    assert info["fail_class"] == "server" and info["fail_count"] == 0
    assert info["last_code"] == 503
    reqs = wait_requests(s, "busy1", 2, 10)
    assert gaps(reqs)[0] >= 2.7, gaps(reqs)
    assert k.info("busy1")["fail_count"] == 0


# --- refresh -----------------------------------------------------------------

def test_refresh_before_expiry_reuses_the_nonce(db, kamailio, sipp):
    s = sipp("registrar.xml")
    line(db, s, "fresh1", expires=4)
    k = kamailio()
    k.wait_state("fresh1", "registered")
    reqs = wait_requests(s, "fresh1", 3, 10)
    t200 = reqs[1][0]
    refresh = reqs[2]
    assert refresh[0] - t200 < 4.0, "refresh came after the binding expired"
    assert refresh[1].authorized and refresh[1].expires == 4
    assert refresh[1].call_id == reqs[1][1].call_id
    assert refresh[1].cseq == reqs[1][1].cseq + 1
    assert "nc=00000002" in refresh[1].header("authorization")
    wait_for(lambda: replies(s, "fresh1")[:3] == [401, 200, 200], 5,
             what="the refresh answered 200 without a new 401")
    assert k.state("fresh1") == "registered"


# --- where the request goes --------------------------------------------------

def test_row_socket_sends_from_that_address(db, kamailio, sipp):
    port2 = free_port(host="127.0.0.2")
    s = sipp("registrar-open.xml")
    line(db, s, "sock1", socket=f"udp:127.0.0.2:{port2}")
    k = kamailio(start=False, listen2=f"udp:127.0.0.2:{port2}")
    line(db, s, "sock0", socket=f"udp:{k.addr}")
    k.start()
    k.wait_state("sock1", "registered")
    k.wait_state("sock0", "registered")
    via1 = requests(s, "sock1")[0][1].header("via")
    via0 = requests(s, "sock0")[0][1].header("via")
    assert f"127.0.0.2:{port2}" in via1, via1
    assert k.addr in via0, via0


def test_auth_proxy_carries_the_request_to_the_carrier(db, kamailio, sipp):
    s = sipp("registrar.xml")
    line(db, s, "via1", r_domain="carrier.invalid", auth_proxy=f"sip:{s.addr}")
    k = kamailio()
    k.wait_state("via1", "registered")
    reqs = [m for _, m in requests(s, "via1")]
    assert len(reqs) == 2
    assert reqs[0].first_line == "REGISTER sip:carrier.invalid SIP/2.0"
    assert "sip:via1@carrier.invalid" in reqs[0].header("to")
    assert 'uri="sip:carrier.invalid"' in reqs[1].header("authorization")


# --- rows --------------------------------------------------------------------

def test_malformed_rows_are_skipped_and_logged_once(db, kamailio, sipp):
    s = sipp("registrar-open.xml")
    line(db, s, "good1")
    line(db, s, "nodomain", r_domain="")
    line(db, s, "badha1", auth_password="", auth_ha1="xyz")
    line(db, s, "zeroexp", expires=0)
    line(db, s, "good2")
    k = kamailio()
    k.wait_state("good1", "registered")
    k.wait_state("good2", "registered")
    assert k.rpc("uacreg.count") == 2
    log = k.log_text()
    for l_uuid, why in (("nodomain", "missing r_domain"),
                        ("badha1", "auth_ha1 is not 32 or 64 hex digits"),
                        ("zeroexp", "expires is less than 1")):
        lines = [ln for ln in log.splitlines() if f"[{l_uuid}]" in ln]
        assert len(lines) == 1, lines
        assert why in lines[0], lines[0]
    assert not requests(s, "nodomain") and not requests(s, "badha1")
    assert not requests(s, "zeroexp")


def test_disabled_row_sends_nothing(db, kamailio, sipp):
    s = sipp("registrar-open.xml")
    line(db, s, "off1", flags=1)
    line(db, s, "on1")
    k = kamailio()
    k.wait_state("on1", "registered")
    wait_for(lambda: len(requests(s, "on1")) == 1, 10, what="sipp's trace of on1")
    time.sleep(1)  # intentional: off1 would have gone with on1; it must not
    assert k.state("off1") == "disabled"
    assert requests(s, "off1") == []
    assert len(requests(s, "on1")) == 1


def test_disable_by_rpc_unregisters(db, kamailio, sipp):
    s = sipp("registrar-open.xml")
    line(db, s, "bye1")
    k = kamailio()
    k.wait_state("bye1", "registered")
    assert k.rpc("uacreg.disable", "bye1") == "ok"
    reqs = wait_requests(s, "bye1", 2, 10)
    last = reqs[-1][1]
    assert last.expires == 0
    assert f"<sip:bye1@{k.addr}>" in last.header("contact")
    k.wait_state("bye1", "disabled")
    assert replies(s, "bye1") == [200, 200]
    time.sleep(1.5)  # intentional: nothing after the unregister
    assert len(requests(s, "bye1")) == 2
