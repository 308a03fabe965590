"""What an operator coming from stock uac meets in the first hour: script
mistakes caught at start-up, kamcmd habits, the database going away."""
import pytest

from conftest import RpcError, wait_for


def test_an_unknown_uacreg_field_stops_kamailio_at_start_up(db, kamailio):
    k = kamailio(start=False, request_extra='\txlog("L_INFO", "$uacreg(fail_cnt)\\n");')
    with pytest.raises(AssertionError) as e:
        k.start()
    assert "kamailio exited" in str(e.value)
    assert "unknown $uacreg field [fail_cnt]" in k.log_text()


def test_every_documented_uacreg_field_is_accepted(db, kamailio):
    fields = ["l_uuid", "l_username", "l_domain", "r_username", "r_domain", "auth_username",
              "auth_proxy", "state", "fail_class", "last_reason", "last_code", "fail_count",
              "fail_ceiling", "new_dialog_in_use", "reload_removing", "reload_lines", "reload_guard"]
    line = " ".join(f"$uacreg({f})" for f in fields)
    k = kamailio(request_extra=f'\txlog("L_INFO", "{line}\\n");')
    assert k.rpc("core.version")


@pytest.fixture
def named(db, kamailio):
    """Disabled lines (nothing on the wire) named the ways operators name them."""
    db.add_line("0123", flags=1)
    db.add_line("a1", r_username="shared", l_username="pbx-a1", flags=1)
    db.add_line("a2", r_username="shared", flags=1)
    db.add_line("solo", auth_username="auth-solo", r_domain="carrier-b.test", flags=1)
    k = kamailio()
    wait_for(lambda: k.rpc("uacreg.count") == 4, 10, what="four lines")
    return k


def test_an_l_uuid_of_digits_is_found_as_kamcmd_sends_it(named):
    k = named
    assert k.rpc("uacreg.info", "0123")["l_uuid"] == "0123"
    # kamcmd sends 0123 as the integer 123
    rc, out = k.kamcmd("uacreg.info", "0123")
    assert "l_uuid: 0123" in out, out
    assert k.rpc("uacreg.info", 123)["l_uuid"] == "0123"
    rc, out = k.kamcmd("uacreg.enable", "s:0123")
    assert "ok" in out, out


def test_lines_are_found_by_the_fields_stock_uac_accepts(named):
    k = named
    assert k.rpc("uacreg.info", "auth_username", "auth-solo")["l_uuid"] == "solo"
    assert k.rpc("uacreg.info", "l_username", "pbx-a1")["l_uuid"] == "a1"
    assert k.rpc("uacreg.info", "l_uuid", "a2")["l_uuid"] == "a2"
    rc, out = k.kamcmd("uacreg.info", "l_username", "pbx-a1")
    assert "l_uuid: a1" in out, out
    with pytest.raises(RpcError) as e:
        k.rpc("uacreg.info", "r_username", "shared")
    assert e.value.code == 409
    assert "2 lines have r_username shared: a1, a2" in e.value.message
    with pytest.raises(RpcError) as e:
        k.rpc("uacreg.disable", "r_username", "nobody")
    assert e.value.code == 404 and "no line with r_username nobody" in e.value.message
    with pytest.raises(RpcError) as e:
        k.rpc("uacreg.info", "auth_password", "x")
    assert e.value.code == 400
    assert k.rpc("uacreg.enable", "auth_username", "auth-solo") == "ok"
    wait_for(lambda: k.state("solo") != "disabled", 5, what="solo enabled")


def test_list_filters_and_rejects_words_where_numbers_belong(named):
    k = named
    for args in [("registered",), ("0", "x"), ("0", "10", "color=red")]:
        with pytest.raises(RpcError) as e:
            k.rpc("uacreg.list", *args)
        assert e.value.code == 400, args
        rc, out = k.kamcmd("uacreg.list", *args)
        assert "400" in out, (args, out)

    def uuids(*args):
        return sorted(l["l_uuid"] for l in k.rpc("uacreg.list", 0, 10, *args)["lines"])
    assert uuids("match=shar") == ["a1", "a2"]
    assert uuids("match=a") == ["a1", "a2", "solo"]  # l_uuid, l_username, auth_username
    assert uuids("r_domain=carrier-b.test") == ["solo"]
    # the carrier: r_domain with its default port (no auth_proxy here)
    assert uuids("carrier=carrier-b.test:5060") == ["solo"]
    assert uuids("carrier=sbc.test:5060") == []
    assert uuids("state=disabled", "match=012") == ["0123"]
    assert uuids("disabled") == ["0123", "a1", "a2", "solo"]
    res = k.rpc("uacreg.list", 1, 1, "match=a")
    assert res["total"] == 3 and len(res["lines"]) == 1


def test_refresh_reads_the_row_again_first(db, kamailio, sipp):
    carrier = sipp("registrar-open.xml")
    db.add_line("ed", r_domain=carrier.addr, expires=120)
    k = kamailio()
    k.wait_state("ed", "registered", 20)
    db.sql("UPDATE uacreg SET expires=300 WHERE l_uuid='ed'")
    assert k.rpc("uacreg.refresh", "ed").startswith("ok")
    wait_for(lambda: any(m.expires == 300 for m in carrier.registers("ed")), 10,
             what="a REGISTER with the edited expires")
    wait_for(lambda: k.info("ed")["expires"] == 300 and k.state("ed") == "registered", 10,
             what="the line registered with 300")
    # an unchanged row: a plain refresh, one more REGISTER
    n = len(carrier.requests("ed"))
    assert k.rpc("uacreg.refresh", "ed") == "ok"
    wait_for(lambda: len(carrier.requests("ed")) == n + 1, 10, what="one more REGISTER")
    # the row gone: the refresh says so and the line runs on
    db.sql("DELETE FROM uacreg WHERE l_uuid='ed'")
    with pytest.raises(RpcError) as e:
        k.rpc("uacreg.refresh", "ed")
    assert e.value.code == 404 and "no row with l_uuid ed" in e.value.message
    assert k.state("ed") == "registered"


REQUEST_TO_ROUTE = r'''
	if (is_method("MESSAGE")) {
		if ($hdr(X-Mode) == "2") {
			uacreg_request_to("$hdr(X-Line)", "2");
		} else {
			uacreg_request_to("$hdr(X-Line)", "0");
		}
		$var(rc) = $rc;
		append_to_reply("X-RC: $var(rc)\r\nX-Secret: $avp(ap)\r\n");
		sl_send_reply("200", "OK");
		exit;
	}
'''


def test_request_to_gives_the_secret_the_row_has_and_says_which(db, kamailio):
    from test_operator import SCRIPT_PARAMS, sip_request
    ha1 = "0123456789abcdef0123456789abcdef"
    db.add_line("ha1only", auth_password="", auth_ha1=ha1, flags=1)
    db.add_line("pwonly", auth_password="pw", flags=1)
    db.add_line("both", auth_password="pw2", auth_ha1=ha1.upper(), flags=1)
    k = kamailio(request_extra=REQUEST_TO_ROUTE, extra_params=SCRIPT_PARAMS)
    wait_for(lambda: k.rpc("uacreg.count") == 3, 10, what="three lines")

    def ask(line, mode):
        r = sip_request(k, headers={"X-Line": line, "X-Mode": mode})
        return r.header("x-rc"), r.header("x-secret")
    # an HA1-only row never hands out an empty password: it gives its HA1
    # and returns 2, for uac_auth("1")
    assert ask("ha1only", "0") == ("2", ha1)
    assert ask("ha1only", "2") == ("2", ha1)
    assert ask("pwonly", "0") == ("1", "pw")
    assert ask("pwonly", "2") == ("1", "pw")
    assert ask("both", "0") == ("1", "pw2")
    assert ask("both", "2") == ("2", ha1.upper())
    assert ask("nosuch", "0")[0] == "-1"


def test_start_up_with_the_database_down_says_what_is_true_once(procs, tmp_path, kamailio, db,
                                                              sipp):
    import socket
    import time
    from conftest import MariaDB, SCHEMA, free_port
    own = MariaDB(tmp_path / "own-mariadb", free_port(socket.SOCK_STREAM))
    own.start()
    try:
        own.sql("CREATE DATABASE own")
        own.sql(SCHEMA.read_text(), "own")
        carrier = sipp("registrar-open.xml")
        own.sql(f"INSERT INTO uacreg (l_uuid,l_username,l_domain,r_username,r_domain,"
                f"auth_username,auth_password,expires) VALUES "
                f"('a','a','d','a','{carrier.addr}','a','secret',60)", "own")
        own.stop()
        good_url = db.url
        db.url = f"mysql://uacreg:uacreg@127.0.0.1:{own.port}/own"
        k = kamailio(start=False)
        # the test cfg's sqlops stays on the running MariaDB: only uacreg's
        # database is down
        k.cfg.write_text(k.cfg.read_text().replace(f"ca=>{db.url}", f"ca=>{good_url}"))
        k.start()
        time.sleep(3.5)  # on purpose: the first load fails about three times
        log = k.log_text()
        assert log.count("cannot read table uacreg: 0 lines loaded; retrying every "
                         "1000 ms until the database answers") == 1, log[-2000:]
        assert "every line keeps running" not in log
        assert k.rpc("uacreg.count") == 0
        own.start()
        k.wait_state("a", "registered", 20)
        assert "table uacreg readable again after" in k.log_text()
    finally:
        own.stop()
