"""(A) New dialog on re-authentication, end to end: Kamailio with uacreg,
MariaDB and a sipp carrier on loopback.

registrar-cseq-strict.xml refuses credentials sent in the challenged dialog
(400 Bad Request, P-Registrar-Error: Invalid CSeq number) and takes them in a
new one; registrar.xml takes them either way. The wire (sipp's trace) is the
judge: which Call-ID, From tag and CSeq each REGISTER carried.
"""
import re
import time

from conftest import RpcError, wait_for

STRICT = "registrar-cseq-strict.xml"
BY_THE_BOOK = "registrar.xml"
SWITCH_LOG = "400 to credentials in the same dialog: switching to a new dialog"


def from_tag(m):
    v = m.header("from") or m.header("f") or ""
    t = re.search(r";\s*tag=([^;>\s]+)", v)
    return t.group(1) if t else None




def codes(s, user):
    """Final replies sent to one line, retransmissions folded, in order."""
    seen, out = set(), []
    for m in s.replies_sent(user):
        key = (m.call_id, m.cseq, m.status)
        if m.status < 200 or key in seen:
            continue
        seen.add(key)
        out.append(m.status)
    return out


def rows(db, l_uuid):
    return db.sql(f"SELECT reauth_new_dialog, fail_count FROM uacreg WHERE l_uuid='{l_uuid}'")


def assert_new_dialogs_for_credentials(reqs, l_uuid):
    """Every REGISTER with credentials opens a dialog never used before:
    fresh Call-ID and From tag, CSeq 1."""
    call_ids, tags = set(), set()
    for m in reqs:
        if m.authorized:
            assert m.call_id not in call_ids, (
                f"{l_uuid}: credentials sent in an old dialog {m.call_id} CSeq {m.cseq}")
            assert from_tag(m) not in tags, f"{l_uuid}: credentials reuse a From tag"
            assert m.cseq == 1, f"{l_uuid}: CSeq must restart in a new dialog, got {m.cseq}"
        call_ids.add(m.call_id)
        tags.add(from_tag(m))


def test_strict_carrier_each_mode_in_one_run(db, kamailio, sipp):
    """modparam reauth_new_dialog left at its default 0. One Kamailio, one
    carrier, lines with 0, 1, 2, NULL and 2 with a ceiling of 1, side by
    side: each behaves as its own setting says."""
    s = sipp(STRICT)
    common = dict(r_domain=s.addr)
    db.add_line("nd0", reauth_new_dialog=0, **common)
    db.add_line("nd1", reauth_new_dialog=1, expires=4, **common)
    db.add_line("nd2", reauth_new_dialog=2, expires=4, **common)
    db.add_line("ndnull", reauth_new_dialog=None, **common)
    # if the auto switch counted as a failure, a ceiling of 1 would delete it
    db.add_line("nd2c1", reauth_new_dialog=2, fail_ceiling=1, **common)
    k = kamailio()

    # 1 registers: the credentials leave in a new dialog
    k.wait_state("nd1", "registered", 20)
    r1 = s.requests("nd1")
    assert not r1[0].authorized
    first_auth = next(m for m in r1 if m.authorized)
    assert first_auth.call_id != r1[0].call_id
    assert from_tag(first_auth) != from_tag(r1[0])
    assert first_auth.cseq == 1
    i1 = k.info("nd1")
    assert i1["new_dialog_in_use"] == 1 and i1["new_dialog_learnt"] == 0
    assert 400 not in codes(s, "nd1")

    # 2 registers after exactly one 400; the switch is in info and the log
    k.wait_state("nd2", "registered", 20)
    k.wait_state("nd2c1", "registered", 20)
    for l in ("nd2", "nd2c1"):
        c = codes(s, l)
        assert c.count(400) == 1, (l, c)
        assert c.index(400) < c.index(200), (l, c)
        info = k.info(l)
        assert info["new_dialog_in_use"] == 1, info
        assert info["new_dialog_learnt"] == 1, info
        assert info["reauth_new_dialog"] == 2, info
        assert info["fail_count"] == 0, info
        assert f"line [{l}]: {SWITCH_LOG}" in k.log_text()
        # the 400 answered credentials in the challenged dialog; the new
        # dialog went out at once, without credentials (the old dialog's
        # nonce is not reused: a fresh challenge), then the answer in a
        # dialog of its own
        r = s.requests(l)
        assert [m.authorized for m in r[:4]] == [False, True, False, True], \
            [(m.call_id, m.cseq, m.authorized) for m in r]
        assert r[1].call_id == r[0].call_id and r[1].cseq == r[0].cseq + 1
        assert r[2].call_id != r[0].call_id and r[2].cseq == 1
        assert r[3].call_id not in (r[0].call_id, r[2].call_id) and r[3].cseq == 1
    # counted once per line that learnt it, under the concept's one name
    # (new_dialog_retries and auto_detected_new_dialog before)
    stats = {a.strip(): b.strip() for a, _, b in
             (x.partition("=") for x in k.rpc("stats.get_statistics", "uacreg:"))}
    assert stats.get("uacreg:new_dialog_learnt") == "2", stats
    assert not any("new_dialog_retries" in x for x in stats), stats
    assert "auto_detected_new_dialog" not in k.info("nd2")
    # the switch is no failure: no retry_wait on the way to registered
    assert db.sql("SELECT COUNT(*) FROM test_events WHERE kind='state' AND state='retry_wait' "
                  "AND l_uuid IN ('nd2', 'nd2c1')") == [["0"]]
    # the ceiling of 1 was never reached: no route run, row still there
    assert db.value("SELECT COUNT(*) FROM test_events WHERE kind='ceiling'") == "0"
    assert rows(db, "nd2c1") == [["2", "0"]]
    # the detection is remembered in memory only: the column keeps 2
    assert rows(db, "nd2") == [["2", "0"]]

    # 0 and NULL (modparam 0) never register: 400, backoff, 400 again
    for l in ("nd0", "ndnull"):
        wait_for(lambda: codes(s, l).count(400) >= 2, 20, what=f"{l} to get two 400s")
        c = codes(s, l)
        assert 200 not in c, (l, c)
        info = k.info(l)
        assert info["state"] != "registered", info
        assert info["new_dialog_in_use"] == 0 and info["new_dialog_learnt"] == 0, info
        # credentials always in the challenged dialog, CSeq+1
        r = s.requests(l)
        challenged = {(m.call_id, m.cseq) for m in r if not m.authorized}
        for m in r:
            if m.authorized:
                assert (m.call_id, m.cseq - 1) in challenged, (l, m.call_id, m.cseq)
        assert f"line [{l}]: {SWITCH_LOG}" not in k.log_text()
    assert k.info("ndnull")["reauth_new_dialog"] == -1
    # between the 400s it waits (retry_wait), it does not hammer
    wait_for(lambda: k.state("nd0") == "retry_wait", 15, step=0.05, what="nd0 in retry_wait")

    # refreshes (expires 4) keep 2 registered, credentials always in a new
    # dialog, and no second 400
    n200 = codes(s, "nd2").count(200)
    wait_for(lambda: codes(s, "nd2").count(200) >= n200 + 3, 20, what="three refreshes of nd2")
    wait_for(lambda: codes(s, "nd1").count(200) >= 3, 20, what="refreshes of nd1")
    assert codes(s, "nd2").count(400) == 1
    assert codes(s, "nd1").count(400) == 0
    assert_new_dialogs_for_credentials(s.requests("nd1"), "nd1")
    assert_new_dialogs_for_credentials(s.requests("nd2")[2:], "nd2")
    for l in ("nd1", "nd2"):
        assert k.state(l) in ("registered", "registering", "authenticating"), k.info(l)
        assert k.info(l)["expires_in"] > 0
    assert k.info("nd2")["new_dialog_learnt"] == 1
    assert rows(db, "nd2") == [["2", "0"]]


def test_strict_carrier_null_follows_modparam_1(db, kamailio, sipp):
    """modparam reauth_new_dialog 1: a NULL row registers with credentials
    in a new dialog; a row with 0 beside it still refuses to."""
    s = sipp(STRICT)
    db.add_line("pnull", reauth_new_dialog=None, r_domain=s.addr)
    db.add_line("p0", reauth_new_dialog=0, r_domain=s.addr)
    k = kamailio(extra_params='modparam("uacreg", "reauth_new_dialog", 1)\n')
    k.wait_state("pnull", "registered", 20)
    r = s.requests("pnull")
    first_auth = next(m for m in r if m.authorized)
    assert first_auth.call_id != r[0].call_id and first_auth.cseq == 1
    info = k.info("pnull")
    assert info["reauth_new_dialog"] == -1 and info["new_dialog_in_use"] == 1
    assert 400 not in codes(s, "pnull")

    wait_for(lambda: 400 in codes(s, "p0"), 20, what="p0 to get its 400")
    assert 200 not in codes(s, "p0")
    assert k.info("p0")["new_dialog_in_use"] == 0
    assert k.state("pnull") != "retry_wait"


def test_by_the_book_carrier_modes_1_and_2_register(db, kamailio, sipp):
    """A carrier that takes credentials in either dialog: 1 registers with a
    new dialog, 2 stays in the same dialog (nothing to detect), 0 too."""
    s = sipp(BY_THE_BOOK)
    for mode in (0, 1, 2):
        db.add_line(f"b{mode}", reauth_new_dialog=mode, r_domain=s.addr)
    k = kamailio()
    for mode in (0, 1, 2):
        k.wait_state(f"b{mode}", "registered", 20)
    for mode in (0, 1, 2):
        l = f"b{mode}"
        r = s.requests(l)
        assert not r[0].authorized and r[1].authorized, l
        if mode == 1:
            assert r[1].call_id != r[0].call_id and r[1].cseq == 1
        else:
            assert r[1].call_id == r[0].call_id and r[1].cseq == r[0].cseq + 1
        assert 400 not in codes(s, l)
        info = k.info(l)
        assert info["new_dialog_learnt"] == 0
        assert info["new_dialog_in_use"] == (1 if mode == 1 else 0)
        assert info["fail_count"] == 0
