"""A real call end to end through the shipped kamailio.cfg: a PBX (sipp)
calls on a line (X-Line), the SBC sends the INVITE to the line's carrier
(sipp) with uacreg_request_to(), the carrier challenges with 407, uac_auth()
answers with the line's credentials, the call is answered and torn down."""
import hashlib
import re
import subprocess

import pytest

from conftest import SIPP_DIR, free_port, wait_for
from test_shipped_cfg import shipped

REALM = "carrier.test"


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def digest_ok(invite, user, password):
    """Checks the Proxy-Authorization of an INVITE against the password."""
    auth = invite.header("proxy-authorization")
    fields = dict(re.findall(r'(\w+)="?([^",]*)"?', auth))
    ha1 = md5(f"{user}:{REALM}:{password}")
    ha2 = md5(f"INVITE:{fields['uri']}")
    if "qop" in fields:
        want = md5(f"{ha1}:{fields['nonce']}:{fields['nc']}:{fields['cnonce']}:"
                   f"{fields['qop']}:{ha2}")
    else:
        want = md5(f"{ha1}:{fields['nonce']}:{ha2}")
    return fields["username"] == user and fields["realm"] == REALM and fields["response"] == want


def place_call(procs, k, tmp_path, line):
    port = free_port()
    p = procs.start(["sipp", "-sf", str(SIPP_DIR / "pbx-call.xml"), "-m", "1", "-key", "line", line,
                     "-s", "callee", "-i", "127.0.0.1", "-p", str(port), "-t", "u1", "-nostdin",
                     "-timeout", "20", "-timeout_error", "-trace_err",
                     "-error_file", str(tmp_path / f"pbx-{port}-errors.log"), k.addr],
                    cwd=str(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    stdin=subprocess.DEVNULL)
    return p.wait(30)


@pytest.mark.parametrize("secret", ["password", "ha1"])
def test_a_call_through_the_shipped_cfg_is_challenged_answered_and_torn_down(
        db, kamailio, sipp, procs, tmp_path, secret):
    carrier = sipp("carrier-call.xml")
    cols = {"auth_password": "callsecret", "auth_ha1": ""}
    if secret == "ha1":
        cols = {"auth_password": "", "auth_ha1": md5(f"call-line:{REALM}:callsecret")}
    db.add_line("call-line", r_username="call-line", auth_username="call-line",
                r_domain=carrier.addr, realm=REALM, expires=120, **cols)
    k = shipped(kamailio, db)
    k.wait_state("call-line", "registered", 20)

    assert place_call(procs, k, tmp_path, "call-line") == 0, k.log_text()[-3000:]

    invites = [m for m in carrier.messages()
               if m.direction == "received" and m.first_line.startswith("INVITE ")]
    assert len(invites) == 2
    assert invites[0].header("proxy-authorization") is None
    assert invites[0].first_line.startswith(f"INVITE sip:call-line@{carrier.addr}")
    assert invites[1].header("x-line") is None  # the SBC's own header stays home
    assert digest_ok(invites[1], "call-line", "callsecret")
    assert "callsecret" not in k.log_text()
    wait_for(lambda: any(m.direction == "received" and m.first_line.startswith("BYE ")
                         for m in carrier.messages()), 5, what="the BYE at the carrier")
