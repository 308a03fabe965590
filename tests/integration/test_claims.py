"""Claims of the module README, each proven on the wire against real
Kamailio + uacreg and our own registrar (registrar.py), which verifies every
digest algorithm and qop, unlike sipp (MD5 only).

README sections: 11.4 (digest: several challenges, HA1 rows, SHA-256,
-sess, auth-int), 11.2 (granted expiry from our Contact), 3.21 / 11.11
(unregister_on_shutdown), 9.1 (a table without the added columns), 3.7 /
11.10 (start_spread), 6.1 (the event queue and its overflow)."""
import hashlib
import json
import os
import re
import socket
import time
import uuid

import pytest

from conftest import CFG_TEMPLATE, ROOT, DB, RpcError, wait_for

MODULE_DIR = ROOT / "modules" / "uacreg"


def line_registered(k, name):
    try:
        i = k.info(name)
    except RpcError:
        return False
    return i["state"] == "registered" and i["expires_in"] > 0


def authorized(reg, user):
    """REGISTERs of one line that carried credentials."""
    return [r for r in reg.requests(user) if r["auth"]]


# --- 1. the choice among several challenges (README 11.4) ----------------------

@pytest.mark.parametrize("order", [("MD5", "SHA-256"), ("SHA-256", "MD5")])
def test_strongest_of_several_challenges_is_answered(db, kamailio, registrar, order):
    """Both challenges in one 401, in either order: SHA-256 is answered."""
    reg = registrar(users={"strong": "secret"},
                    challenges=[{"algorithm": a, "qop": "auth"} for a in order])
    db.add_line("strong", r_domain=reg.addr)
    k = kamailio()
    wait_for(lambda: line_registered(k, "strong"), 20, what="strong registered")
    creds = authorized(reg, "strong")
    assert creds and all(c["auth"][0]["algorithm"] == "SHA-256" for c in creds), creds
    assert creds[0]["verify"] == "registrar:ok" and creds[0]["code"] == 200
    # one 401 with both headers was all it took
    chal = [r for r in reg.responses("strong") if r["code"] == 401]
    assert [c["algorithm"] for c in chal[0]["challenges"]] == list(order)


def test_md5_ha1_row_answers_the_md5_challenge(db, kamailio, registrar):
    """A row with only a 32-digit (MD5) HA1 cannot answer SHA-256: of the two
    challenges it answers the MD5 one, and registers."""
    realm = "registrar.test"
    reg = registrar(users={"ha1line": "s3cret"}, realm=realm,
                    challenges=[{"algorithm": "SHA-256", "qop": "auth"},
                                {"algorithm": "MD5", "qop": "auth"}])
    ha1 = hashlib.md5(f"ha1line:{realm}:s3cret".encode()).hexdigest()
    db.add_line("ha1line", r_domain=reg.addr, auth_password="", auth_ha1=ha1)
    k = kamailio()
    wait_for(lambda: line_registered(k, "ha1line"), 20, what="ha1line registered")
    assert k.info("ha1line")["auth_secret"] == "ha1"
    creds = authorized(reg, "ha1line")
    assert creds and all(c["auth"][0]["algorithm"] == "MD5" for c in creds), creds
    assert creds[0]["verify"] == "registrar:ok" and creds[0]["code"] == 200


def test_sha256_ha1_row_answers_the_sha256_challenge(db, kamailio, registrar):
    """The mirror case: a 64-digit HA1 takes SHA-256, whatever the order."""
    realm = "registrar.test"
    reg = registrar(users={"ha1256": "s3cret"}, realm=realm,
                    challenges=[{"algorithm": "MD5", "qop": "auth"},
                                {"algorithm": "SHA-256", "qop": "auth"}])
    ha1 = hashlib.sha256(f"ha1256:{realm}:s3cret".encode()).hexdigest()
    db.add_line("ha1256", r_domain=reg.addr, auth_password="", auth_ha1=ha1)
    k = kamailio()
    wait_for(lambda: line_registered(k, "ha1256"), 20, what="ha1256 registered")
    creds = authorized(reg, "ha1256")
    assert creds and all(c["auth"][0]["algorithm"] == "SHA-256" for c in creds), creds


# --- 7. SHA-256, SHA-256-sess and auth-int, verified (README 11.4) ---------------

@pytest.mark.parametrize("alg,qop", [("SHA-256", "auth"), ("SHA-256-sess", "auth"),
                                     ("MD5", "auth-int"), ("SHA-256", "auth-int"),
                                     ("SHA-256-sess", "auth-int"), ("MD5-sess", "auth")])
def test_algorithm_and_qop_end_to_end(db, kamailio, registrar, alg, qop):
    """The registrar verifies the response (a wrong password is refused by
    it, so the verification is real) and the right one registers."""
    reg = registrar(users={"good": "secret", "bad": "secret"},
                    challenges=[{"algorithm": alg, "qop": qop}])
    db.add_line("good", r_domain=reg.addr)
    db.add_line("bad", r_domain=reg.addr, auth_password="wrong", fail_ceiling=0)
    k = kamailio()
    wait_for(lambda: line_registered(k, "good"), 20, what="good registered")
    good = authorized(reg, "good")
    assert good[0]["auth"][0]["algorithm"] == alg and good[0]["auth"][0]["qop"] == qop
    assert good[0]["verify"] == "registrar:ok" and good[0]["code"] == 200
    wait_for(lambda: k.info("bad")["fail_class"] == "bad_auth", 20, what="bad refused")
    bad = authorized(reg, "bad")
    assert bad[0]["auth"][0]["algorithm"] == alg and bad[0]["auth"][0]["qop"] == qop
    assert bad[0]["verify"] == "registrar:bad_response" and bad[0]["code"] == 401
    assert reg.oks("bad") == 0


# --- 2. our Contact's expiry among several Contacts (README 11.2) -------------------

def test_granted_expiry_is_our_contacts(db, kamailio, registrar):
    """The 200 OK lists other users' bindings first, each with its own
    expires, and an Expires header; the granted expiry is our Contact's."""
    reg = registrar(users={"mine": "secret"}, grant_expires=120, contact_first=True,
                    expires_header=1800,
                    extra_contacts=[{"uri": "sip:other@192.0.2.1:5060", "expires": 3000},
                                    {"uri": "sip:third@192.0.2.2", "expires": 900}])
    db.add_line("mine", r_domain=reg.addr, expires=300)
    k = kamailio()
    wait_for(lambda: line_registered(k, "mine"), 20, what="mine registered")
    ok = reg.responses("mine", 200)[0]
    assert [c["expires"] for c in ok["contacts"]] == [3000, 900, 120]
    assert ok["contacts"][2]["uri"] == f"sip:mine@{k.addr}"
    info = k.info("mine")
    assert info["granted"] == 120, info
    assert 100 <= info["expires_in"] <= 120, info


# --- 3. Expires: 0 at shutdown (README 3.21, 11.11) ---------------------------------

@pytest.mark.parametrize("on", [1, 0])
def test_unregister_on_shutdown_on_the_wire(db, kamailio, registrar, on):
    reg = registrar(users={"s1": "secret", "s2": "secret"})
    db.add_line("s1", r_domain=reg.addr)
    db.add_line("s2", r_domain=reg.addr)
    db.add_line("off", r_domain=reg.addr, flags=1)
    k = kamailio(extra_params=f'modparam("uacreg", "unregister_on_shutdown", {on})\n')
    wait_for(lambda: line_registered(k, "s1") and line_registered(k, "s2"), 20,
             what="both registered")
    n_before = len(reg.requests())
    k.stop()
    assert k.proc.returncode is not None
    if on:
        for u in ("s1", "s2"):
            un = wait_for(lambda: [r for r in reg.requests(u) if r["expires"] == 0], 10,
                          what=f"the Expires: 0 of {u}")
            assert len(un) == 1, un
            assert un[0]["contact"] == [f"sip:{u}@{k.addr}"]
            # the kept nonce went with it: the registrar removed the binding
            assert un[0]["verify"] == "registrar:ok" and un[0]["code"] == 200, un
        assert "unregistered 2 lines at shutdown" in k.log_text()
        assert reg.requests("off") == []
    else:
        # Kamailio has exited: whatever it sent is in the log now (the
        # registrar writes each request as it receives it); give a straggler
        # in flight a moment, then nothing may have come.
        time.sleep(1)
        assert len(reg.requests()) == n_before
        assert all(r["expires"] != 0 for r in reg.requests())


# --- 4. a stock table without the added columns (README 9.1) ------------------------

ADDED_COLUMNS = ("reauth_new_dialog", "fail_ceiling", "fail_count")


def stock_uac_schema():
    """A stock uac table (version 5): our schema's version and uacreg tables
    without the columns uacreg adds. Checked against Kamailio 5.6.3's own
    uac-create.sql when its source tree is in build/."""
    text = (ROOT / "sql" / "uacreg-create.sql").read_text()
    text = text[:text.index("CREATE TABLE IF NOT EXISTS `uacreg_archive`")]
    keep = [ln for ln in text.splitlines()
            if not ln.lstrip().startswith("--") and not any(f"`{c}`" in ln for c in ADDED_COLUMNS)]
    schema = "\n".join(keep) + "\n"
    for p in (ROOT / "build").glob("kamailio-src-*/kamailio-*/utils/kamctl/mysql/uac-create.sql"):
        stock = p.read_text()
        stock = stock[stock.index("CREATE TABLE `uacreg`"):]
        assert re.findall(r"^\s+`(\w+)`", stock, re.M) == \
            re.findall(r"^\s+`(\w+)`", schema[schema.index("CREATE TABLE IF NOT EXISTS `uacreg`"):],
                       re.M)
    return schema


@pytest.fixture
def stock_db(mariadb):
    name = "t_" + uuid.uuid4().hex[:12]
    mariadb.sql(f"CREATE DATABASE {name}")
    mariadb.sql(stock_uac_schema(), name)
    mariadb.sql("CREATE TABLE test_events (id INT AUTO_INCREMENT PRIMARY KEY, "
                "l_uuid VARCHAR(64), kind VARCHAR(16), state VARCHAR(32), code INT, "
                "at TIMESTAMP(3) DEFAULT CURRENT_TIMESTAMP(3))", name)
    d = DB(mariadb, name)
    yield d
    mariadb.sql(f"DROP DATABASE IF EXISTS {name}")


def test_stock_table_loads_and_registers_with_the_defaults(stock_db, procs, tmp_path, registrar):
    from conftest import Kamailio
    cols = [r[0] for r in stock_db.sql("SELECT column_name FROM information_schema.columns "
                                       f"WHERE table_schema='{stock_db.name}' AND "
                                       "table_name='uacreg' ORDER BY ordinal_position")]
    assert cols[-3:] == ["reg_delay", "contact_addr", "socket"]
    assert not set(ADDED_COLUMNS) & set(cols)
    reg = registrar(users={"st1": "secret", "st2": "secret", "stbad": "secret"})
    stock_db.add_line("st1", r_domain=reg.addr)
    stock_db.add_line("st2", r_domain=reg.addr, expires=90)
    stock_db.add_line("stbad", r_domain=reg.addr, auth_password="wrong")
    k = Kamailio(procs, tmp_path / "kstock", stock_db,
                 extra_params='modparam("uacreg", "fail_ceiling", 3)\n'
                              'modparam("uacreg", "reauth_new_dialog", 1)\n').start()
    try:
        wait_for(lambda: line_registered(k, "st1") and line_registered(k, "st2"), 20,
                 what="the stock rows registered")
        for u in ("st1", "st2"):
            i = k.info(u)
            assert i["fail_ceiling"] == 3 and i["reauth_new_dialog"] == -1, i
            assert i["new_dialog_in_use"] == 1, i
        assert k.info("st2")["expires"] == 90
        # the modparam reauth_new_dialog=1: credentials in a new Call-ID
        reqs = reg.requests("st1")
        assert reqs[0]["call_id"] != authorized(reg, "st1")[0]["call_id"]
        # the modparam fail_ceiling applies, counted in memory: the bad row goes
        wait_for(lambda: stock_db.value("SELECT COUNT(*) FROM uacreg WHERE l_uuid='stbad'") == "0",
                 40, what="stbad deleted at the modparam's ceiling")
        assert len(authorized(reg, "stbad")) == 3
        assert line_registered(k, "st1") and line_registered(k, "st2")
    finally:
        k.stop()


# --- 5. start_spread (README 3.7, 11.10) ------------------------------------------

def test_start_spread_spreads_the_first_registers(db, kamailio, registrar):
    n, spread, delay = 24, 6, 2
    reg = registrar(users={f"sp{i}": "secret" for i in range(n)})
    for i in range(n):
        db.add_line(f"sp{i}", r_domain=reg.addr, reg_delay=delay)
    t0 = time.time()
    k = kamailio(extra_params=f'modparam("uacreg", "start_spread", {spread})\n'
                              'modparam("uacreg", "rate", 1000)\n')
    t1 = time.time()  # RPC answers: the table is loaded within a tick of this
    wait_for(lambda: all(reg.requests(f"sp{i}") for i in range(n)), delay + spread + 15,
             what="every line's first REGISTER")
    firsts = sorted(reg.requests(f"sp{i}")[0]["t"] for i in range(n))
    # none before its reg_delay, none after reg_delay + start_spread
    assert firsts[0] >= t0 + delay - 0.2, (firsts[0] - t0)
    assert firsts[-1] <= t1 + delay + spread + 1.5, (firsts[-1] - t1)
    # spread over the window, not all at once: 24 uniform draws over 6 s
    # span less than 3 s with a probability below 1e-5
    assert firsts[-1] - firsts[0] >= spread / 2, firsts
    per_second = {}
    for t in firsts:
        per_second[int(t - firsts[0])] = per_second.get(int(t - firsts[0]), 0) + 1
    assert max(per_second.values()) < n / 2, per_second
    wait_for(lambda: all(line_registered(k, f"sp{i}") for i in range(n)), 20,
             what="all registered")


def test_start_spread_0_sends_all_at_once(db, kamailio, registrar):
    """The control: without start_spread the same lines go within a second."""
    n = 24
    reg = registrar(users={f"sp{i}": "secret" for i in range(n)})
    for i in range(n):
        db.add_line(f"sp{i}", r_domain=reg.addr)
    kamailio(extra_params='modparam("uacreg", "rate", 1000)\n')
    wait_for(lambda: all(reg.requests(f"sp{i}") for i in range(n)), 15,
             what="every line's first REGISTER")
    firsts = sorted(reg.requests(f"sp{i}")[0]["t"] for i in range(n))
    assert firsts[-1] - firsts[0] < 1.0, firsts


# --- 6. the event queue overflow (README 6.1, UL_EVENT_RING) -------------------------

def ring_size():
    text = (MODULE_DIR / "uacreg_store.h").read_text()
    return int(re.search(r"#define UL_EVENT_RING (\d+)", text).group(1))


def held_state_route_cfg():
    """The test cfg whose state route holds the uacreg process while
    $shv(hold) is 1 for the line "slowpoke" (at most 60 s), so the test can
    queue more state events than the ring holds."""
    text = CFG_TEMPLATE.read_text()
    text = text.replace('loadmodule "counters.so"\n',
                        'loadmodule "counters.so"\nloadmodule "cfgutils.so"\n', 1)
    text = text.replace('modparam("uacreg", "db_url"',
                        'modparam("pv", "shvset", "hold=i:1")\nmodparam("uacreg", "db_url"', 1)
    hold = ('event_route[uacreg:state] {\n'
            '\tif($uacreg(l_uuid) == "slowpoke") {\n'
            '\t\txlog("L_NOTICE", "uacreg-hold: begin\\n");\n'
            '\t\t$var(i) = 0;\n'
            '\t\twhile($shv(hold) == 1 && $var(i) < 600) {\n'
            '\t\t\tusleep(100000);\n'
            '\t\t\t$var(i) = $var(i) + 1;\n'
            '\t\t}\n'
            '\t\txlog("L_NOTICE", "uacreg-hold: end\\n");\n'
            '\t}\n')
    assert "event_route[uacreg:state] {\n" in text
    return text.replace("event_route[uacreg:state] {\n", hold, 1)


class RpcPipe:
    """Many JSON-RPC calls over one datagram socket (Kamailio.rpc binds a new
    socket per call: too slow to outrun the ring)."""

    def __init__(self, k):
        self.k = k
        self.path = k.dir / f"rpc-pipe-{os.getpid()}.sock"
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(str(self.path))
        self.s.settimeout(10)

    def call(self, method, *params):
        req = {"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1}
        self.s.sendto(json.dumps(req).encode(), str(self.k.rpcsock))
        reply = json.loads(self.s.recvfrom(65536)[0].decode())
        assert "error" not in reply, reply
        return reply.get("result")

    def close(self):
        self.s.close()
        self.path.unlink()


def test_event_queue_overflow_drops_with_a_warning(db, kamailio, registrar):
    ring = ring_size()
    assert ring == 4096, "README 6.1 says the events are queued up to 4096"
    lines = [f"ev{i}" for i in range(8)]
    reg = registrar(users={u: "secret" for u in lines + ["slowpoke"]})
    for u in lines:
        db.add_line(u, r_domain=reg.addr, flags=1)
    # slowpoke waits an hour to register: its disable is an event without
    # a request (a request could end in a timeout: an event more in the ring)
    db.add_line("slowpoke", r_domain=reg.addr, reg_delay=3600)
    k = kamailio(cfg_text=held_state_route_cfg())
    wait_for(lambda: k.rpc("uacreg.count") == len(lines) + 1, 10, what="lines loaded")
    k.rpc("uacreg.disable", "slowpoke")
    wait_for(lambda: "uacreg-hold: begin" in k.log_text(), 10, what="the route to hold")
    # The uacreg process is inside the route: every event now waits in the
    # ring. Each enable/disable of a line with nothing at the carrier is two
    # state events (new, disabled) and no request.
    pipe = RpcPipe(k)
    made = 0
    try:
        while made < ring + 500:
            for u in lines:
                pipe.call("uacreg.enable", u)
                pipe.call("uacreg.disable", u)
                made += 2
    finally:
        pipe.close()
    assert "uacreg-hold: end" not in k.log_text(), "the hold ended early: counts are off"
    assert reg.requests() == []
    k.rpc("pv.shvSet", "hold", "int", 0)
    warns = wait_for(lambda: re.findall(r"(\d+) state events dropped", k.log_text()), 20,
                     what="the dropped-events warning")
    # everything beyond the ring was dropped, nothing more
    def dropped():
        return sum(map(int, re.findall(r"(\d+) state events dropped", k.log_text())))
    wait_for(lambda: dropped() >= made - ring, 30, what=f"{made - ring} events dropped")
    assert dropped() == made - ring, (dropped(), made, ring)
    # the ring's events all ran
    wait_for(lambda: db.value("SELECT COUNT(*) FROM test_events WHERE kind='state' "
                              "AND l_uuid LIKE 'ev%'") == str(ring), 60,
             what="the queued events to run")
    assert warns
    # nothing crashed, and the lines register
    for u in lines:
        k.rpc("uacreg.enable", u)
    wait_for(lambda: all(line_registered(k, u) for u in lines), 30,
             what="every line registered")
    assert k.proc.poll() is None
