"""The operator surface: kamcmd RPC (paging, summary, commands, errors),
statistics that always equal the summary, script functions, and KEMI with
app_lua."""
import socket
import uuid

import pytest

from conftest import RpcError, SippMessage, free_port, wait_for

COUNTERS = ("lines", "registered", "failing", "disabled")


def counters(k):
    got = k.rpc("cnt.grp_get_all", "uacreg")
    return {name: int(got[name]) for name in got}


def assert_counters_match_summary(k):
    s = k.rpc("uacreg.summary")
    c = counters(k)
    st = s["states"]
    assert c["lines"] == s["lines"] == k.rpc("uacreg.count")
    assert c["registered"] == st["registered"]
    assert c["disabled"] == st["disabled"]
    assert c["failing"] == st["retry_wait"] + st["ceiling"]
    assert sum(st.values()) == s["lines"]


def sip_request(k, method="MESSAGE", headers=None, timeout=5):
    """Sends one request to Kamailio over UDP and returns its reply."""
    port = free_port()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(timeout)
    branch = "z9hG4bK" + uuid.uuid4().hex
    extra = "".join(f"{n}: {v}\r\n" for n, v in (headers or {}).items())
    msg = (f"{method} sip:test@{k.addr} SIP/2.0\r\n"
           f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch={branch}\r\n"
           f"From: <sip:tester@127.0.0.1>;tag={uuid.uuid4().hex[:8]}\r\n"
           f"To: <sip:test@{k.addr}>\r\n"
           f"Call-ID: {uuid.uuid4().hex}\r\nCSeq: 1 {method}\r\nMax-Forwards: 70\r\n"
           f"{extra}Content-Length: 0\r\n\r\n")
    try:
        s.sendto(msg.encode(), ("127.0.0.1", k.port))
        data, _ = s.recvfrom(65535)
    finally:
        s.close()
    return SippMessage("received", data.decode().replace("\r\n", "\n"))


def test_list_pages_filters_and_summary_counts(db, kamailio):
    for i in range(25):
        db.add_line(f"p{i:02d}", flags=1, r_domain="a.example" if i < 20 else "b.example")
    db.add_line("live", r_domain="127.0.0.1:9")  # nobody there: it will fail
    k = kamailio()
    wait_for(lambda: k.rpc("uacreg.count") == 26, 10, what="26 lines")
    page1 = k.rpc("uacreg.list", 0, 10)
    page2 = k.rpc("uacreg.list", 10, 10)
    page3 = k.rpc("uacreg.list", 20, 10)
    ids = [l["l_uuid"] for p in (page1, page2, page3) for l in p["lines"]]
    assert len(page1["lines"]) == 10 and len(page3["lines"]) == 6
    assert sorted(ids) == sorted([f"p{i:02d}" for i in range(25)] + ["live"])
    disabled = k.rpc("uacreg.list", 0, 100, "disabled")
    assert disabled["total"] == 25 and len(disabled["lines"]) == 25
    s = k.rpc("uacreg.summary")
    assert s["lines"] == 26 and s["states"]["disabled"] == 25
    assert s["domains"]["a.example"] == 20 and s["domains"]["b.example"] == 5
    # paging keeps each answer small however many lines there are
    with pytest.raises(RpcError) as e:
        k.rpc("uacreg.list", 0, 100000)
    assert e.value.code == 400


def test_commands_act_on_the_wire_and_in_sql(db, kamailio, sipp):
    carrier = sipp("registrar.xml")
    db.add_line("a", r_domain=carrier.addr, expires=60)
    db.add_line("b", r_domain=carrier.addr, expires=60, fail_count=2)
    k = kamailio()
    k.wait_state("a", "registered")
    k.wait_state("b", "registered")
    # a 200 reset b's persisted count
    wait_for(lambda: db.value("SELECT fail_count FROM uacreg WHERE l_uuid='b'") == "0", 10,
             what="fail_count reset in SQL by the 200")

    n = len(carrier.registers("a"))
    assert k.rpc("uacreg.refresh", "a") == "ok"
    wait_for(lambda: len(carrier.registers("a")) > n, 10, what="a refresh on the wire")

    assert k.rpc("uacreg.disable", "a") == "ok"
    wait_for(lambda: any(m.expires == 0 for m in carrier.registers("a")), 10,
             what="Expires: 0 for the disabled line")
    k.wait_state("a", "disabled")
    assert k.rpc("uacreg.enable", "a") == "ok"
    k.wait_state("a", "registered")

    assert k.rpc("uacreg.remove", "b") == "ok"
    wait_for(lambda: any(m.expires == 0 for m in carrier.registers("b")), 10,
             what="Expires: 0 for the removed line")
    wait_for(lambda: k.state("b") is None, 10, what="b forgotten")
    assert db.value("SELECT COUNT(*) FROM uacreg WHERE l_uuid='b'") == "1"  # SQL is the admin's
    assert_counters_match_summary(k)


def test_reset_zeroes_the_count_in_memory_and_sql(db, kamailio, sipp):
    carrier = sipp("registrar.xml")
    db.add_line("w", r_domain=carrier.addr, auth_password="wrong", fail_ceiling=50)
    k = kamailio()
    wait_for(lambda: int(db.value("SELECT fail_count FROM uacreg WHERE l_uuid='w'")) >= 1, 15,
             what="a counted failure in SQL")
    assert k.rpc("uacreg.reset", "w") == "ok"
    assert k.info("w")["fail_count"] in (0, 1)  # a retry may already be under way
    wait_for(lambda: db.value("SELECT fail_count FROM uacreg WHERE l_uuid='w'") in ("0", "1"),
             10, what="count reset in SQL")


def test_statistics_equal_the_summary_after_reloads_removals_and_ceilings(db, kamailio, sipp):
    carrier = sipp("registrar.xml")
    for i in range(6):
        db.add_line(f"s{i}", r_domain=carrier.addr)
    db.add_line("bad", r_domain=carrier.addr, auth_password="wrong", fail_ceiling=1)
    db.add_line("off", flags=1)
    k = kamailio()
    for i in range(6):
        k.wait_state(f"s{i}", "registered")
    wait_for(lambda: db.value("SELECT COUNT(*) FROM uacreg WHERE l_uuid='bad'") == "0", 20,
             what="the ceiling to delete 'bad'")
    assert_counters_match_summary(k)
    db.sql("DELETE FROM uacreg WHERE l_uuid IN ('s0','s1')")
    db.add_line("s9", flags=1)
    k.rpc("uacreg.reload")
    wait_for(lambda: k.rpc("uacreg.count") == 6, 10, what="the removed lines forgotten")
    k.rpc("uacreg.remove", "s2")
    wait_for(lambda: k.rpc("uacreg.count") == 5, 10, what="s2 forgotten")
    assert_counters_match_summary(k)
    c = counters(k)
    assert c["ceiling_removals"] == 1
    assert c["requests_sent"] >= 12 and c["auth_challenges"] >= 6
    assert all(v >= 0 and v < 2**31 for v in c.values())  # nothing underflows


def test_rpc_rejects_bad_arguments_and_changes_nothing(db, kamailio):
    db.add_line("x", flags=1)
    k = kamailio()
    wait_for(lambda: k.rpc("uacreg.count") == 1, 10, what="one line")
    before = k.rpc("uacreg.summary")
    for method, params, code in [
            ("uacreg.info", [], 400), ("uacreg.info", ["nope"], 404),
            ("uacreg.info", ["y" * 10000], 400), ("uacreg.disable", [], 400),
            ("uacreg.enable", ["nope"], 404), ("uacreg.list", [-1, 10], 400),
            ("uacreg.list", [0, 0], 400), ("uacreg.list", [0, 10, "bogus"], 400)]:
        with pytest.raises(RpcError) as e:
            k.rpc(method, *params)
        assert e.value.code == code, (method, params, e.value)
        assert e.value.message
    rc, out = k.kamcmd("uacreg.info", "nope")
    assert "404" in out and "no line" in out
    assert k.rpc("uacreg.summary") == before


SCRIPT_ROUTE = r'''
	if (is_method("MESSAGE")) {
		uacreg_status("$hdr(X-Line)");
		$var(status) = $rc;
		$var(found) = "none";
		if (uacreg_lookup("l_username", "$hdr(X-User)", "$var(found)")) {
			xlog("L_INFO", "found $var(found)\n");
		}
		$var(to) = "no";
		if (uacreg_request_to("$hdr(X-Line)", "0")) {
			$var(to) = "yes";
		}
		append_to_reply("X-Status: $var(status)\r\nX-Found: $var(found)\r\nX-To: $var(to)\r\nX-RU: $ru\r\nX-DU: $du\r\nX-Auth: $avp(au)/$avp(ar)/$avp(ap)\r\n");
		sl_send_reply("200", "OK");
		exit;
	}
'''
SCRIPT_PARAMS = '''modparam("uacreg", "auth_username_avp", "$avp(au)")
modparam("uacreg", "auth_realm_avp", "$avp(ar)")
modparam("uacreg", "auth_password_avp", "$avp(ap)")
'''


def test_script_functions(db, kamailio, sipp):
    carrier = sipp("registrar.xml")
    db.add_line("reg", l_username="pbx-7", r_username="carrier-user", r_domain=carrier.addr,
                auth_username="au7", realm="sipp.test", auth_proxy=f"sip:{carrier.addr}")
    db.add_line("off", flags=1)
    k = kamailio(request_extra=SCRIPT_ROUTE, extra_params=SCRIPT_PARAMS)
    k.wait_state("reg", "registered")
    r = sip_request(k, headers={"X-Line": "reg", "X-User": "pbx-7"})
    assert r.header("x-status") == "1"
    assert r.header("x-found") == "reg"
    assert r.header("x-to") == "yes"
    assert r.header("x-ru") == f"sip:carrier-user@{carrier.addr}"
    assert r.header("x-du") == f"sip:{carrier.addr}"
    assert r.header("x-auth") == "au7/sipp.test/secret"
    r = sip_request(k, headers={"X-Line": "off", "X-User": "nobody"})
    assert r.header("x-status") == "-2" and r.header("x-found") == "none"
    r = sip_request(k, headers={"X-Line": "missing", "X-User": "nobody"})
    assert r.header("x-status") == "-3" and r.header("x-to") == "no"


LUA = r'''
function ksr_request_route()
	if KSR.is_MESSAGE() then
		local line = KSR.hdr.get("X-Line")
		local rc = KSR.uacreg.uacreg_status(line)
		KSR.hdr.append_to_reply("X-Status: " .. rc .. "\r\n")
		KSR.sl.send_reply(200, "OK")
		return
	end
	KSR.sl.send_reply(404, "Not here")
end

function ksr_uacreg_event(evname)
	local l = KSR.pv.get("$uacreg(l_uuid)")
	KSR.sqlops.sql_query("ca", "INSERT INTO test_events (l_uuid, kind, state, code) VALUES ('"
		.. l .. "', '" .. evname .. "', '" .. KSR.pv.get("$uacreg(state)") .. "', "
		.. KSR.pv.get("$uacreg(fail_count)") .. ")", "ev")
	if evname == "uacreg:ceiling" then
		KSR.uacreg.uacreg_keep()
	end
end
'''


def test_kemi_with_app_lua(db, kamailio, sipp, tmp_path):
    carrier = sipp("registrar.xml")
    db.add_line("good", r_domain=carrier.addr)
    db.add_line("bad", r_domain=carrier.addr, auth_password="wrong", fail_ceiling=1)
    script = tmp_path / "uacreg-test.lua"
    script.write_text(LUA)
    params = (f'loadmodule "app_lua.so"\nmodparam("app_lua", "load", "{script}")\n'
              'modparam("uacreg", "event_callback", "ksr_uacreg_event")\n'
              'cfgengine "lua"\n')
    k = kamailio(start=False, extra_params=params)
    # with a KEMI engine the native event routes must not exist
    text = k.cfg.read_text()
    k.cfg.write_text(text[:text.index("request_route {")])
    k.start()
    k.wait_state("good", "registered")
    # the ceiling callback kept the line: disabled in memory and SQL
    k.wait_state("bad", "disabled", 20)
    assert int(db.value("SELECT flags FROM uacreg WHERE l_uuid='bad'")) & 1 == 1
    events = db.sql("SELECT l_uuid, kind FROM test_events ORDER BY id")
    assert ["bad", "uacreg:ceiling"] in events
    assert ["good", "uacreg:state"] in events
    r = sip_request(k, headers={"X-Line": "good"})
    assert r.header("x-status") == "1"
