"""Self-tests of the test registrar (registrar.py): the digest it verifies
is the RFC's (known answers), and a raw UDP client sees the carrier
behaviours the other tests rely on. No Kamailio here."""
import hashlib
import re
import secrets
import socket

import pytest

from registrar import digest_response, parse_digest


# --- known answers ----------------------------------------------------------

def test_rfc2617_md5_known_answer():
    # RFC 2617 section 3.5
    assert digest_response("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life", "GET",
                           "/dir/index.html", "dcd98b7102dd2f0e8b11d0f600bfb0c093", "auth",
                           "00000001", "0a4f113b") == "6629fae49393a05397450978507c4ef1"


RFC7616 = dict(username="Mufasa", realm="http-auth@example.org", password="Circle of Life",
               method="GET", uri="/dir/index.html",
               nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", qop="auth", nc="00000001",
               cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ")


def test_rfc7616_md5_and_sha256_known_answers():
    # RFC 7616 section 3.9.1
    assert digest_response("MD5", **RFC7616) == "8ca523f5e9506fed4657c9700eebdbec"
    assert digest_response("SHA-256", **RFC7616) == \
        "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"


def test_sess_and_auth_int_formulas():
    """-sess and auth-int as RFC 7616 section 3.4.2/3.4.3 write them, spelt out
    here independently of registrar.py."""
    def H(h, s):
        return h(s.encode()).hexdigest()
    for alg, h in (("MD5-sess", hashlib.md5), ("SHA-256-sess", hashlib.sha256)):
        a1 = H(h, f"{H(h, 'u:r:p')}:n1:c1")
        a2 = H(h, f"REGISTER:sip:x:{H(h, '')}")
        want = H(h, f"{a1}:n1:00000002:c1:auth-int:{a2}")
        assert digest_response(alg, "u", "r", "p", "REGISTER", "sip:x", "n1", "auth-int",
                               "00000002", "c1") == want
    # RFC 2069 style (no qop) with an HA1 given instead of the password
    ha1 = H(hashlib.md5, "u:r:p")
    assert digest_response("MD5", "u", "r", None, "REGISTER", "sip:x", "n", ha1=ha1) == \
        H(hashlib.md5, f"{ha1}:n:{H(hashlib.md5, 'REGISTER:sip:x')}")


def test_parse_digest():
    d = parse_digest('Digest realm="a, b", nonce="x\\"y", algorithm=SHA-256, qop="auth,auth-int",stale=TRUE')
    assert d == {"realm": "a, b", "nonce": 'x"y', "algorithm": "SHA-256",
                 "qop": "auth,auth-int", "stale": "TRUE"}


# --- a raw UDP client ---------------------------------------------------------

class Client:
    def __init__(self, reg, user="l1", password="secret"):
        self.reg = reg
        self.user = user
        self.password = password
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(2)
        self.port = self.s.getsockname()[1]
        self.call_id = secrets.token_hex(8)
        self.cseq = 0
        self.ruri = f"sip:{reg.addr}"

    def new_dialog(self):
        self.call_id = secrets.token_hex(8)

    def register(self, expires=60, auth=(), contact=None):
        self.cseq += 1
        contact = contact or f"sip:{self.user}@127.0.0.1:{self.port}"
        lines = [f"REGISTER {self.ruri} SIP/2.0",
                 f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch=z9hG4bK{secrets.token_hex(6)}",
                 f"From: <sip:{self.user}@{self.reg.addr}>;tag={secrets.token_hex(4)}",
                 f"To: <sip:{self.user}@{self.reg.addr}>",
                 f"Call-ID: {self.call_id}", f"CSeq: {self.cseq} REGISTER",
                 f"Contact: <{contact}>", f"Expires: {expires}", *auth, "Content-Length: 0"]
        return self.send("\r\n".join(lines) + "\r\n\r\n")

    def send(self, text):
        self.s.sendto(text.encode(), (self.reg.host, self.reg.port))
        try:
            data, _ = self.s.recvfrom(65535)
        except socket.timeout:
            return None
        return Reply(data.decode())

    def answer(self, ch, hdr="Authorization", password=None, nc="00000001", qop=None,
               user=None):
        """Credentials for one parsed challenge."""
        alg = ch.get("algorithm")
        qops = [q.strip() for q in ch["qop"].split(",")] if ch.get("qop") else []
        qop = qop or (qops[0] if qops else None)
        cnonce = secrets.token_hex(4)
        user = user or self.user
        resp = digest_response(alg, user, ch["realm"], password or self.password, "REGISTER",
                               self.ruri, ch["nonce"], qop, nc if qop else None,
                               cnonce if qop else None)
        parts = [f'username="{user}"', f'realm="{ch["realm"]}"', f'nonce="{ch["nonce"]}"',
                 f'uri="{self.ruri}"', f'response="{resp}"']
        if alg:
            parts.append(f"algorithm={alg}")
        if qop:
            parts += [f"qop={qop}", f"nc={nc}", f'cnonce="{cnonce}"']
        return f"{hdr}: Digest " + ", ".join(parts)


class Reply:
    def __init__(self, text):
        self.text = text
        self.code = int(text.split(" ")[1])

    def headers(self, name):
        return [m.group(1).strip() for m in
                re.finditer(rf"^{name}:(.*)$", self.text, re.M | re.I)]

    def challenges(self, name="WWW-Authenticate"):
        return [parse_digest(v) for v in self.headers(name)]


def test_md5_right_password_registers_wrong_one_is_rejected(registrar):
    reg = registrar(users={"l1": "secret"})
    c = Client(reg)
    r = c.register()
    assert r.code == 401
    ch = r.challenges()[0]
    assert ch["algorithm"] == "MD5" and ch["qop"] == "auth" and ch["realm"] == "registrar.test"
    bad = c.register(auth=[c.answer(ch, password="wrong")])
    assert bad.code == 401
    ok = c.register(auth=[c.answer(ch, nc="00000002")])
    assert ok.code == 200
    assert ok.headers("Contact") == [f"<sip:l1@127.0.0.1:{c.port}>;expires=60"]
    verdicts = [r.get("verify") for r in reg.requests("l1")]
    assert verdicts == ["registrar:none", "registrar:bad_response", "registrar:ok"]
    assert [r["code"] for r in reg.requests("l1")] == [401, 401, 200]
    assert reg.requests("l1")[2]["auth"][0]["algorithm"] == "MD5"


@pytest.mark.parametrize("alg,qop", [("SHA-256", "auth"), ("SHA-256-sess", "auth"),
                                     ("SHA-256", "auth-int"), ("MD5-sess", "auth-int"),
                                     (None, None)])
def test_each_algorithm_and_qop_verified(registrar, alg, qop):
    reg = registrar(users={"l1": "secret"}, challenges=[{"algorithm": alg, "qop": qop}])
    c = Client(reg)
    ch = c.register().challenges()[0]
    assert ch.get("algorithm") == alg and ch.get("qop") == qop
    assert c.register(auth=[c.answer(ch, password="nope")]).code == 401
    assert c.register(auth=[c.answer(ch, nc="00000002")]).code == 200
    assert reg.requests("l1")[-1]["verify"] == "registrar:ok"


def test_nc_replay_and_wrong_uri_rejected(registrar):
    reg = registrar(users={"l1": "secret"})
    c = Client(reg)
    ch = c.register().challenges()[0]
    assert c.register(auth=[c.answer(ch, nc="00000001")]).code == 200
    assert c.register(auth=[c.answer(ch, nc="00000001")]).code == 401  # replayed nc
    assert reg.requests("l1")[-1]["verify"] == "registrar:bad_nc"
    ruri, c.ruri = c.ruri, "sip:elsewhere.test"
    creds = c.answer(ch, nc="00000005")  # right hash for another digest-uri
    c.ruri = ruri
    assert c.register(auth=[creds]).code == 401
    assert reg.requests("l1")[-1]["verify"] == "registrar:bad_uri"


def test_several_challenges_in_configured_order(registrar):
    reg = registrar(users={"l1": "secret"}, challenges=[
        {"algorithm": "SHA-256", "qop": "auth"}, {"algorithm": "MD5", "qop": "auth"}])
    c = Client(reg)
    chs = c.register().challenges()
    assert [x["algorithm"] for x in chs] == ["SHA-256", "MD5"]
    assert chs[0]["nonce"] != chs[1]["nonce"]
    reg.set(challenges=[{"algorithm": "MD5", "qop": "auth"}, {"algorithm": "SHA-256", "qop": "auth"}])
    chs = c.register().challenges()
    assert [x["algorithm"] for x in chs] == ["MD5", "SHA-256"]
    # either one is accepted, for its own algorithm only
    assert c.register(auth=[c.answer(chs[1])]).code == 200
    assert c.register(auth=[c.answer(chs[0])]).code == 200
    wrong = dict(chs[0], algorithm="SHA-256")
    assert c.register(auth=[c.answer(wrong, nc="00000002")]).code == 401
    assert reg.requests("l1")[-1]["verify"] == "registrar:bad_algorithm"


def test_proxy_then_registrar_two_realms(registrar):
    reg = registrar(users={"l1": "secret"}, proxy={"realm": "proxy.test", "users": {"l1": "psecret"}})
    c = Client(reg)
    r = c.register()
    assert r.code == 407 and r.challenges("Proxy-Authenticate")[0]["realm"] == "proxy.test"
    pch = r.challenges("Proxy-Authenticate")[0]
    r = c.register(auth=[c.answer(pch, "Proxy-Authorization", password="psecret")])
    assert r.code == 401 and r.challenges()[0]["realm"] == "registrar.test"
    assert r.headers("Proxy-Authenticate") == []
    pa2 = c.answer(pch, "Proxy-Authorization", password="psecret", nc="00000002")
    r = c.register(auth=[pa2, c.answer(r.challenges()[0])])
    assert r.code == 200
    assert [x["code"] for x in reg.requests("l1")] == [407, 401, 200]
    assert reg.requests("l1")[-1]["verify"] == "proxy:ok,registrar:ok"
    assert {a["realm"] for a in reg.requests("l1")[-1]["auth"]} == {"proxy.test", "registrar.test"}


def test_strict_cseq_wants_a_new_call_id(registrar):
    reg = registrar(users={"l1": "secret"}, strict_cseq=True)
    c = Client(reg)
    ch = c.register().challenges()[0]
    r = c.register(auth=[c.answer(ch)])
    assert r.code == 400 and r.headers("P-Registrar-Error") == ["Invalid CSeq number"]
    c.new_dialog()
    assert c.register(auth=[c.answer(ch, nc="00000002")]).code == 200


def test_stale_nonce_after_forgetting(registrar):
    reg = registrar(users={"l1": "secret"})
    c = Client(reg)
    ch = c.register().challenges()[0]
    reg.set(forget_nonces=1)
    r = c.register(auth=[c.answer(ch)])
    assert r.code == 401 and r.challenges()[0]["stale"] == "true"
    assert reg.requests("l1")[-1]["verify"] == "registrar:stale"


def test_bindings_extra_contacts_and_unregister(registrar):
    reg = registrar(users={"l1": "secret"}, challenges=[{"algorithm": "MD5", "qop": None}],
                    extra_contacts=[{"uri": "sip:other@192.0.2.9", "expires": 777}],
                    expires_header="granted", max_expires=50)
    c = Client(reg)
    ch = c.register().challenges()[0]
    r = c.register(expires=60, auth=[c.answer(ch)])
    assert r.code == 200
    mine = f"<sip:l1@127.0.0.1:{c.port}>;expires=50"
    assert r.headers("Contact") == [mine, "<sip:other@192.0.2.9>;expires=777"]
    assert r.headers("Expires") == ["50"]
    r = c.register(expires=60, auth=[c.answer(ch)], contact="sip:l1@198.51.100.1")
    assert len(r.headers("Contact")) == 3
    r = c.register(expires=0, auth=[c.answer(ch)], contact="sip:l1@198.51.100.1")
    assert r.headers("Contact") == [mine, "<sip:other@192.0.2.9>;expires=777"]
    assert reg.requests("l1")[-1]["expires"] == 0


def test_fixed_answers_switch_at_run_time(registrar):
    reg = registrar(users={"l1": "secret"}, respond=503, retry_after=7)
    c = Client(reg)
    r = c.register()
    assert r.code == 503 and r.headers("Retry-After") == ["7"]
    reg.set(respond="silent")
    assert c.register() is None
    assert reg.requests("l1")[-1]["code"] is None
    reg.set(respond=None, user_respond={"l1": 403})
    assert c.register().code == 403
    reg.set(user_respond={"l1": 401})
    ch = c.register().challenges()[0]
    assert c.register(auth=[c.answer(ch)]).code == 401  # even with the right password
    assert reg.requests("l1")[-1]["verify"] == "registrar:ok"
    reg.set(user_respond=None)
    ch = c.register().challenges()[0]
    assert c.register(auth=[c.answer(ch)]).code == 200
    o = c.send(f"OPTIONS {c.ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{c.port};branch=z9hG4bKo1\r\n"
               f"From: <sip:x@a>;tag=1\r\nTo: <sip:x@a>\r\nCall-ID: o1\r\nCSeq: 1 OPTIONS\r\n"
               "Content-Length: 0\r\n\r\n")
    assert o.code == 200


def test_retransmission_gets_the_same_answer(registrar):
    reg = registrar(users={"l1": "secret"})
    c = Client(reg)
    ch = c.register().challenges()[0]
    text = None
    c.cseq += 1
    lines = [f"REGISTER {c.ruri} SIP/2.0",
             f"Via: SIP/2.0/UDP 127.0.0.1:{c.port};branch=z9hG4bKrt",
             f"From: <sip:l1@{reg.addr}>;tag=a", f"To: <sip:l1@{reg.addr}>",
             f"Call-ID: {c.call_id}", f"CSeq: {c.cseq} REGISTER",
             f"Contact: <sip:l1@127.0.0.1:{c.port}>", "Expires: 60", c.answer(ch),
             "Content-Length: 0"]
    text = "\r\n".join(lines) + "\r\n\r\n"
    assert c.send(text).code == 200
    assert c.send(text).code == 200  # same nc: a retransmission, not a replay
    assert len(reg.requests("l1")) == 2
    assert len(reg.requests("l1", retransmissions=True)) == 3
