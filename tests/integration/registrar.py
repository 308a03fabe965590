#!/usr/bin/env python3
"""A small SIP registrar for the integration tests (Python 3, stdlib only).

It behaves like the carriers uacreg meets and logs everything on the wire,
one JSON object a line, so a test can assert on what was sent and answered:

    python3 registrar.py --config cfg.json

The config (JSON) is re-read whenever the file changes (the registrar checks
it every 50 ms and logs {"event": "config", "generation": N}), so a test can
make a carrier refuse, then accept again. Keys (all optional but host/port/log):

  host, port          UDP address (127.0.0.x, several registrars can run)
  log                 path of the JSON-lines log
  generation          any value; echoed in the "config" log line
  realm               registrar realm (default "registrar.test")
  users               {auth username: password} the registrar accepts
  challenges          the WWW-Authenticate headers of one 401, in order:
                      [{"algorithm": "SHA-256", "qop": "auth"}, ...];
                      algorithm MD5 / MD5-sess / SHA-256 / SHA-256-sess /
                      null (no algorithm parameter: MD5), qop "auth",
                      "auth-int", "auth,auth-int" or null (RFC 2069 style);
                      default [{"algorithm": "MD5", "qop": "auth"}]
  opaque              true: every challenge carries an opaque to echo
  proxy               null, or an authenticating proxy in front:
                      {"realm": "proxy.test", "users": {...} (default: users),
                       "challenges": [...] (default: challenges)}; a REGISTER
                      without valid Proxy-Authorization for that realm gets 407
  stale               true (default): credentials for a nonce we no longer
                      know (expired, forgotten) get a new challenge with
                      stale=true; false: a plain new challenge
  nonce_ttl           seconds a nonce stays valid (default 3600)
  nonce_single_use    true: a nonce is forgotten once it authorized a request
                      (a carrier that never lets a nonce be reused)
  forget_nonces       any new value makes the registrar forget every nonce
  strict_cseq         true: credentials sent in a Call-ID that we challenged
                      get 400 + P-Registrar-Error: Invalid CSeq number
  bad_credentials     code for wrong credentials (default: a new challenge,
                      401/407 as the layer); e.g. 403
  respond             null (normal), a code answered to every REGISTER (401
                      and 407 carry a challenge even after good credentials;
                      503 adds Retry-After when retry_after is set), or
                      "silent" (no answer at all)
  respond_after_auth  true: "respond" applies only after the credentials
                      were verified (an authenticated 403)
  user_respond        {To user: code or "silent"}: per-user "respond"
  retry_after         seconds for Retry-After in 503 (and other 5xx)
  min_expires         a REGISTER asking 0 < expires < this gets 423
  max_expires         the granted expiry is at most this
  grant_expires       the granted expiry is this (carrier's own choice)
  default_expires     when the REGISTER asks none (default 3600)
  expires_header      null (none), "granted" or an int: an Expires header in
                      the 200 OK
  extra_contacts      [{"uri": "sip:x@192.0.2.1", "expires": 300,
                        "user": "only for this To user (optional)"}]:
                      Contacts added to every 200 OK (other SBCs' bindings)
  contact_first       true (default false): our bindings after the extras

Log lines (one per request received and one per response sent):
  {"t", "dir": "in", "src", "method", "ruri", "call_id", "cseq", "user",
   "contact": [..], "contact_expires": [..], "expires", "auth": [{"header",
   "realm", "algorithm", "qop", "username", "nonce", "nc", "cnonce", "uri"}],
   "verify": "ok" / "none" / "bad_response" / ..., "layer", "code",
   "retransmission"}
  {"t", "dir": "out", "dst", "code", "call_id", "cseq", "user",
   "challenges": [{"header", "realm", "algorithm", "qop", "stale", "nonce"}],
   "contacts": [{"uri", "expires"}], "expires"}
"""
import argparse
import hashlib
import json
import os
import secrets
import socket
import sys
import time

HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
           "l": "content-length", "k": "supported", "c": "content-type"}


def hfunc(algorithm):
    """The hash of an algorithm name (None = MD5), or None if unknown."""
    alg = (algorithm or "MD5").upper()
    base = alg[:-5] if alg.endswith("-SESS") else alg
    return HASHES.get(base)


def digest_response(algorithm, username, realm, password, method, uri, nonce,
                    qop=None, nc=None, cnonce=None, body=b"", ha1=None):
    """RFC 2617 / RFC 7616 request-digest (hex). ha1 may be given instead of
    the password (then it is the H(user:realm:password) of the algorithm)."""
    h = hfunc(algorithm)
    if h is None:
        raise ValueError(f"unknown algorithm {algorithm}")

    def H(s):
        return h(s.encode() if isinstance(s, str) else s).hexdigest()

    a1 = ha1 if ha1 else H(f"{username}:{realm}:{password}")
    if (algorithm or "").upper().endswith("-SESS"):
        a1 = H(f"{a1}:{nonce}:{cnonce}")
    if qop == "auth-int":
        a2 = H(f"{method}:{uri}:{H(body)}")
    else:
        a2 = H(f"{method}:{uri}")
    if qop in ("auth", "auth-int"):
        return H(f"{a1}:{nonce}:{nc}:{cnonce}:{qop}:{a2}")
    return H(f"{a1}:{nonce}:{a2}")


def parse_digest(value):
    """'Digest k=v, k="v"' -> dict with lower-case keys; None if not Digest."""
    value = value.strip()
    if not value[:7].lower() == "digest ":
        return None
    s, i, out = value[7:], 0, {}
    n = len(s)
    while i < n:
        while i < n and s[i] in " \t,":
            i += 1
        j = i
        while j < n and s[j] not in "= \t":
            j += 1
        key = s[i:j].strip().lower()
        while j < n and s[j] in " \t":
            j += 1
        if j >= n or s[j] != "=":
            if key:
                out[key] = ""
            i = j + 1
            continue
        j += 1
        while j < n and s[j] in " \t":
            j += 1
        if j < n and s[j] == '"':
            j += 1
            val = []
            while j < n and s[j] != '"':
                if s[j] == "\\" and j + 1 < n:
                    j += 1
                val.append(s[j])
                j += 1
            j += 1
            out[key] = "".join(val)
        else:
            k = j
            while k < n and s[k] != ",":
                k += 1
            out[key] = s[j:k].strip()
            j = k
        i = j
    return out


def split_commas(value):
    """Splits a header value on commas outside quotes and angle brackets."""
    out, cur, q, a = [], [], False, False
    for ch in value:
        if ch == '"' and not a:
            q = not q
        elif ch == "<" and not q:
            a = True
        elif ch == ">" and not q:
            a = False
        if ch == "," and not q and not a:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def contact_uri_params(c):
    """'<sip:u@h>;expires=5' -> ('sip:u@h', {'expires': '5'})."""
    c = c.strip()
    if "<" in c:
        uri = c[c.index("<") + 1:c.index(">")]
        rest = c[c.index(">") + 1:]
    else:
        uri, _, rest = c.partition(";")
        rest = ";" + rest if rest else ""
    params = {}
    for p in rest.split(";"):
        p = p.strip()
        if p:
            k, _, v = p.partition("=")
            params[k.strip().lower()] = v.strip()
    return uri, params


def uri_user(s):
    if not s:
        return None
    i = s.find("sip:")
    if i < 0:
        i = s.find("sips:")
        if i < 0:
            return None
        i += 5
    else:
        i += 4
    rest = s[i:]
    if "@" not in rest.split(">")[0]:
        return None
    return rest.split("@")[0].split(";")[0]


class Message:
    def __init__(self, data):
        text = data.decode("utf-8", "replace")
        head, _, self.body = text.partition("\r\n\r\n")
        lines = head.split("\r\n")
        self.first = lines[0]
        self.headers = []  # (lower name, value) in order
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                n, v = self.headers[-1]
                self.headers[-1] = (n, v + " " + line.strip())
                continue
            name, _, value = line.partition(":")
            name = name.strip().lower()
            name = COMPACT.get(name, name)
            self.headers.append((name, value.strip()))
        parts = self.first.split(" ")
        self.method = parts[0] if len(parts) >= 3 and not parts[0].startswith("SIP/") else None
        self.ruri = parts[1] if self.method else None

    def all(self, name):
        return [v for n, v in self.headers if n == name]

    def one(self, name):
        v = self.all(name)
        return v[0] if v else None

    def raw_headers(self, name):
        return [(n, v) for n, v in self.headers if n == name]


class Registrar:
    def __init__(self, cfg_path):
        self.cfg_path = cfg_path
        self.cfg_stat = None
        self.cfg = {}
        self.load_config()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.cfg["host"], int(self.cfg["port"])))
        self.sock.settimeout(0.05)
        self.nonces = {}  # nonce -> {layer, realm, algorithm, qops, born, nc}
        self.challenged = set()  # Call-IDs we sent a 401/407 in
        self.bindings = {}  # AOR user -> {uri: expires_at}
        self.cache = {}  # (call_id, cseq, branch) -> (response bytes, code)
        self.log({"event": "start", "pid": os.getpid(),
                  "addr": f"{self.cfg['host']}:{self.cfg['port']}"})

    # --- config and log ---------------------------------------------------
    def load_config(self):
        try:
            st = os.stat(self.cfg_path)
        except OSError:
            return
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key == self.cfg_stat:
            return
        try:
            with open(self.cfg_path) as f:
                cfg = json.load(f)
        except (OSError, ValueError):
            return  # half written: try again at the next check
        old = self.cfg
        self.cfg_stat = key
        self.cfg = cfg
        if old and cfg.get("forget_nonces") != old.get("forget_nonces"):
            self.nonces.clear()
        if old:
            self.log({"event": "config", "generation": cfg.get("generation")})

    def log(self, rec):
        rec = {"t": round(time.time(), 4), **rec}
        with open(self.cfg["log"], "a") as f:
            f.write(json.dumps(rec) + "\n")

    # --- the wire ---------------------------------------------------------
    def run(self):
        while True:
            self.load_config()
            try:
                data, src = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            try:
                self.handle(data, src)
            except Exception as e:  # a test's odd input must not stop us
                self.log({"event": "error", "error": repr(e)})

    def response(self, req, code, reason, extra=(), to_tag=True):
        lines = [f"SIP/2.0 {code} {reason}"]
        for v in req.all("via"):
            lines.append(f"Via: {v}")
        lines.append(f"From: {req.one('from')}")
        to = req.one("to") or ""
        if to_tag and ";tag=" not in to.replace(" ", ""):
            to += ";tag=" + secrets.token_hex(4)
        lines.append(f"To: {to}")
        lines.append(f"Call-ID: {req.one('call-id')}")
        lines.append(f"CSeq: {req.one('cseq')}")
        lines += list(extra)
        lines.append("Server: uacreg-test-registrar")
        lines.append("Content-Length: 0")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def send(self, req, src, code, reason, extra=(), info=None):
        data = self.response(req, code, reason, extra)
        self.sock.sendto(data, src)
        rec = {"dir": "out", "dst": f"{src[0]}:{src[1]}", "code": code,
               "call_id": req.one("call-id"), "cseq": req.one("cseq"),
               "user": uri_user(req.one("to"))}
        rec.update(info or {})
        self.log(rec)
        return data

    def handle(self, data, src):
        req = Message(data)
        if req.method is None:
            return  # a response: nothing of ours to match
        call_id = req.one("call-id")
        cseq = req.one("cseq")
        via = req.one("via") or ""
        branch = ""
        for p in via.split(";"):
            if p.strip().lower().startswith("branch="):
                branch = p.strip()[7:]
        rec = {"dir": "in", "src": f"{src[0]}:{src[1]}", "method": req.method,
               "ruri": req.ruri, "call_id": call_id, "cseq": cseq,
               "user": uri_user(req.one("to"))}
        contacts = []
        for v in req.all("contact"):
            contacts += split_commas(v)
        rec["contact"] = [contact_uri_params(c)[0] if c != "*" else "*" for c in contacts]
        rec["contact_expires"] = [contact_uri_params(c)[1].get("expires") for c in contacts
                                  if c != "*"]
        exp = req.one("expires")
        rec["expires"] = int(exp) if exp is not None and exp.strip().isdigit() else exp
        rec["auth"] = []
        for n, v in req.headers:
            if n in ("authorization", "proxy-authorization"):
                d = parse_digest(v) or {}
                rec["auth"].append({"header": n, **{k: d.get(k) for k in (
                    "realm", "algorithm", "qop", "username", "nonce", "nc", "cnonce", "uri",
                    "response", "opaque")}})
        key = (call_id, cseq, branch)
        if key in self.cache:
            rec["retransmission"] = True
            cached, code = self.cache[key]
            rec["code"] = code
            self.log(rec)
            if cached is not None:
                self.sock.sendto(cached, src)
            return
        if req.method == "OPTIONS":
            rec["code"] = 200
            self.log(rec)
            self.cache[key] = (self.send(req, src, 200, "OK"), 200)
            return
        if req.method != "REGISTER":
            rec["code"] = 501
            self.log(rec)
            self.cache[key] = (self.send(req, src, 501, "Not Implemented"), 501)
            return
        code, reason, extra, info = self.register(req, rec)
        rec["code"] = code
        self.log(rec)
        if code is None:
            self.cache[key] = (None, None)
            return
        self.cache[key] = (self.send(req, src, code, reason, extra, info), code)
        if len(self.cache) > 20000:
            self.cache.clear()

    # --- REGISTER ---------------------------------------------------------
    def fixed(self, user):
        ur = self.cfg.get("user_respond") or {}
        if user in ur:
            return ur[user]
        return self.cfg.get("respond")

    def layers(self):
        out = []
        p = self.cfg.get("proxy")
        if p:
            out.append(("proxy", "proxy-authorization", "Proxy-Authenticate", 407,
                        "Proxy Authentication Required", p.get("realm", "proxy.test"),
                        p.get("users", self.cfg.get("users", {})),
                        p.get("challenges", self.cfg.get("challenges"))))
        out.append(("registrar", "authorization", "WWW-Authenticate", 401, "Unauthorized",
                    self.cfg.get("realm", "registrar.test"), self.cfg.get("users", {}),
                    self.cfg.get("challenges")))
        return out

    def challenge(self, layer, req, hname, code, reason, realm, chals, stale=False):
        chals = chals or [{"algorithm": "MD5", "qop": "auth"}]
        extra, info = [], []
        for c in chals:
            nonce = secrets.token_hex(16)
            alg = c.get("algorithm")
            qop = c.get("qop")
            self.nonces[nonce] = {"layer": layer, "realm": realm, "algorithm": alg,
                                  "qops": [q.strip() for q in qop.split(",")] if qop else [],
                                  "born": time.time(), "nc": 0}
            parts = [f'realm="{realm}"', f'nonce="{nonce}"']
            if self.cfg.get("opaque"):
                self.nonces[nonce]["opaque"] = secrets.token_hex(8)
                parts.append(f'opaque="{self.nonces[nonce]["opaque"]}"')
            if alg:
                parts.append(f"algorithm={alg}")
            if qop:
                parts.append(f'qop="{qop}"')
            if stale:
                parts.append("stale=true")
            extra.append(f"{hname}: Digest " + ", ".join(parts))
            info.append({"header": hname, "realm": realm, "algorithm": alg, "qop": qop,
                         "stale": stale, "nonce": nonce})
        self.challenged.add(req.one("call-id"))
        return code, reason, extra, {"challenges": info}

    def verify(self, req, hdr, realm, users):
        """Checks the credentials of one layer: 'none' (no header for our
        realm), 'ok', 'stale' (a nonce we do not know, or expired), or the
        reason they are wrong."""
        creds = [parse_digest(v) for v in req.all(hdr)]
        creds = [c for c in creds if c is not None and c.get("realm") == realm]
        if not creds:
            others = [parse_digest(v) for v in req.all(hdr)]
            return "none" if not [c for c in others if c] else "none_for_realm"
        c = creds[0]
        for k in ("username", "nonce", "uri", "response"):
            if k not in c:
                return f"missing_{k}"
        n = self.nonces.get(c["nonce"])
        ttl = self.cfg.get("nonce_ttl", 3600)
        if n is None or n["realm"] != realm or time.time() - n["born"] > ttl:
            if n is not None and time.time() - n["born"] > ttl:
                del self.nonces[c["nonce"]]
            return "stale"
        if c["username"] not in users:
            return "unknown_user"
        alg = c.get("algorithm")
        if (alg or "MD5").upper() != (n["algorithm"] or "MD5").upper():
            return "bad_algorithm"
        if c["uri"] != req.ruri:
            return "bad_uri"
        if n.get("opaque") and c.get("opaque") != n["opaque"]:
            return "bad_opaque"
        qop = c.get("qop")
        if n["qops"]:
            if qop not in n["qops"]:
                return "bad_qop"
            if not c.get("cnonce") or not c.get("nc"):
                return "missing_nc_cnonce"
            try:
                nc = int(c["nc"], 16)
            except ValueError:
                return "bad_nc"
            if len(c["nc"]) != 8 or nc <= n["nc"]:
                return "bad_nc"
        elif qop:
            return "bad_qop"
        else:
            nc = None
        body = req.body.encode()
        want = digest_response(alg, c["username"], realm, users[c["username"]], req.method,
                               c["uri"], c["nonce"], qop, c.get("nc"), c.get("cnonce"), body)
        if want != c.get("response", "").lower():
            return "bad_response"
        if nc is not None:
            n["nc"] = nc
        if self.cfg.get("nonce_single_use"):
            del self.nonces[c["nonce"]]
        return "ok"

    def register(self, req, rec):
        user = rec["user"]
        fixed = self.fixed(user)
        after = self.cfg.get("respond_after_auth")
        if fixed == "silent" and not after:
            rec["verify"] = "not_checked"
            return None, None, None, None
        if fixed is not None and not after and fixed not in (401, 407):
            rec["verify"] = "not_checked"
            return self.fixed_answer(fixed)
        results = []
        for (layer, hdr, hname, code, reason, realm, users, chals) in self.layers():
            v = self.verify(req, hdr, realm, users)
            results.append(f"{layer}:{v}")
            rec["verify"] = ",".join(results)
            rec["layer"] = layer
            has_creds = v not in ("none", "none_for_realm")
            if has_creds and self.cfg.get("strict_cseq") and req.one("call-id") in self.challenged:
                # such a registrar wants credentials in a new Call-ID, even right ones
                return 400, "Bad Request", ["P-Registrar-Error: Invalid CSeq number"], {}
            if v == "ok":
                continue
            if v == "stale":
                return self.challenge(layer, req, hname, code, reason, realm, chals,
                                      stale=bool(self.cfg.get("stale", True)))
            if has_creds and self.cfg.get("bad_credentials"):
                bc = int(self.cfg["bad_credentials"])
                return bc, reason_of(bc), [], {}
            return self.challenge(layer, req, hname, code, reason, realm, chals)
        rec["layer"] = None
        if fixed == "silent":
            return None, None, None, None
        if fixed in (401, 407):
            # a carrier that refuses even the right password with a challenge
            for (layer, hdr, hname, code, reason, realm, users, chals) in self.layers():
                if code == fixed:
                    return self.challenge(layer, req, hname, code, reason, realm, chals)
            return 401, "Unauthorized", [], {}
        if fixed is not None:
            return self.fixed_answer(fixed)
        return self.bind(req, rec)

    def fixed_answer(self, code):
        code = int(code)
        extra = []
        if 500 <= code < 600 and self.cfg.get("retry_after") is not None:
            extra.append(f"Retry-After: {int(self.cfg['retry_after'])}")
        if code == 423 and self.cfg.get("min_expires"):
            extra.append(f"Min-Expires: {int(self.cfg['min_expires'])}")
        return code, reason_of(code), extra, {}

    def bind(self, req, rec):
        aor = rec["user"]
        now = time.time()
        cur = self.bindings.setdefault(aor, {})
        for uri in [u for u, t in cur.items() if t <= now]:
            del cur[uri]
        exp_hdr = req.one("expires")
        contacts = []
        for v in req.all("contact"):
            contacts += split_commas(v)
        cfg = self.cfg
        default = int(exp_hdr) if exp_hdr and exp_hdr.strip().isdigit() else \
            int(cfg.get("default_expires", 3600))
        granted_any = None
        if contacts == ["*"]:
            if default == 0:
                cur.clear()
        else:
            asks = []
            for c in contacts:
                uri, params = contact_uri_params(c)
                e = params.get("expires")
                asks.append((uri, int(e) if e and e.isdigit() else default))
            me = cfg.get("min_expires")
            for uri, e in asks:
                if me and 0 < e < int(me):
                    return 423, "Interval Too Brief", [f"Min-Expires: {int(me)}"], {}
            for uri, e in asks:
                if e == 0:
                    cur.pop(uri, None)
                    continue
                if cfg.get("grant_expires") is not None:
                    e = int(cfg["grant_expires"])
                if cfg.get("max_expires") is not None:
                    e = min(e, int(cfg["max_expires"]))
                cur[uri] = now + e
                granted_any = e
        mine = [(u, max(0, int(round(t - now)))) for u, t in cur.items()]
        extras = [(x["uri"], int(x.get("expires", 3600))) for x in cfg.get("extra_contacts") or []
                  if x.get("user") in (None, aor)]
        listed = extras + mine if cfg.get("contact_first") else mine + extras
        extra = [f"Contact: <{u}>;expires={e}" for u, e in listed]
        eh = cfg.get("expires_header")
        expires = None
        if eh == "granted":
            expires = granted_any if granted_any is not None else 0
        elif eh is not None:
            expires = int(eh)
        if expires is not None:
            extra.append(f"Expires: {expires}")
        return 200, "OK", extra, {"contacts": [{"uri": u, "expires": e} for u, e in listed],
                                  "expires": expires}


REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 407: "Proxy Authentication Required", 408: "Request Timeout",
           423: "Interval Too Brief", 480: "Temporarily Unavailable", 500: "Server Internal Error",
           503: "Service Unavailable", 603: "Decline"}


def reason_of(code):
    return REASONS.get(int(code), "Whatever")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True)
    args = ap.parse_args()
    Registrar(args.config).run()


if __name__ == "__main__":
    sys.exit(main())
