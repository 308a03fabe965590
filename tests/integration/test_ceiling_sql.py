"""The failure ceiling's SQL aftermath against an admin's changes: the
DELETE (or the disable of a kept line) happens only when the row in SQL is
still exactly the row the line was loaded from, checked in the statement
itself; an admin's change wins and the line starts anew from the row with
count 0. The uacreg process finds a line again by table id and generation,
never by l_uuid; a new row (new id) is a new line; uacreg.reset and
uacreg.remove work on a line whose ceiling is pending; what the module
believes about the table's columns comes from the table, never from a query
that failed; 64-bit row ids; retry_max bounded at start-up.

To hold a ceiling's DELETE pending with MariaDB up, a trigger refuses the
module's deletes (user uacreg) until the test drops it: the route has run,
the DELETE fails and is retried every second.
"""
import re
import time

import pytest

from conftest import RpcError, wait_for

BOOK = "registrar.xml"


def ceiling_events(db, l_uuid):
    return db.sql(f"SELECT state, code FROM test_events WHERE kind='ceiling' AND l_uuid='{l_uuid}'")


def exists(db, l_uuid):
    return db.value(f"SELECT COUNT(*) FROM uacreg WHERE l_uuid='{l_uuid}'") == "1"


def column(db, l_uuid, col="fail_count"):
    v = db.value(f"SELECT {col} FROM uacreg WHERE l_uuid='{l_uuid}'")
    return None if v is None or v == "NULL" else int(v)


def block_module_deletes(db):
    """The module's DELETEs (user uacreg) fail until unblock(); an admin's
    (root) go through."""
    db.sql("DELIMITER //\n"
           "CREATE TRIGGER test_block_delete BEFORE DELETE ON uacreg FOR EACH ROW "
           "BEGIN IF USER() LIKE 'uacreg@%' THEN "
           "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'test: delete refused'; "
           "END IF; END//\nDELIMITER ;\n")


def unblock(db):
    db.sql("DROP TRIGGER IF EXISTS test_block_delete")


def wait_delete_pending(k, db, l_uuid, count):
    """The route ran for l_uuid and its DELETE is failing."""
    wait_for(lambda: ceiling_events(db, l_uuid) == [["bad_auth", str(count)]], 30,
             what=f"the ceiling route of {l_uuid}")
    wait_for(lambda: "database writes fail" in k.log_text(), 10,
             what="the DELETEs refused")
    wait_for(lambda: k.info(l_uuid)["sql_owed"] == "ceiling delete", 10,
             what=f"the DELETE of {l_uuid} owed")
    assert k.state(l_uuid) == "ceiling"


# --- item 4: the row as loaded, every column, in the statement itself --------

ADMIN_CHANGES = {
    # l_uuid: (the admin's UPDATE while the DELETE is pending, the state the
    #          line starts anew in)
    "flagsoff": ("flags=1", "disabled"),
    "ceil0": ("fail_ceiling=0", None),
    "pwcase": ("auth_password='Wrong'", None),
    "count0": ("fail_count=0", None),
    "delay": ("reg_delay=7", None),
    "dialog": ("reauth_new_dialog=1", None),
    "ceilnull": ("fail_ceiling=NULL", None),
    "trail": ("auth_password='wrong '", None),
}


def test_an_admins_change_while_the_delete_is_pending_wins(db, kamailio, sipp):
    """Each line reaches its ceiling, the route runs, its DELETE is held
    back; then an admin changes one column of each row (flags, fail_ceiling,
    a password in case only, fail_count, reg_delay, reauth_new_dialog, a NULL,
    a trailing space). None of them is deleted: each starts anew from its
    row with count 0. The line nobody touched is deleted."""
    s = sipp(BOOK)
    for n in list(ADMIN_CHANGES) + ["control"]:
        db.add_line(n, r_domain=s.addr, auth_password="wrong", fail_ceiling=2, r_username=n)
    block_module_deletes(db)
    # nine wrong passwords and no good line at one carrier would be a
    # carrier refusing everyone (test_carrier.py): this test is about the
    # per-line ceiling's SQL, so the carrier rule is off
    k = kamailio(extra_params='modparam("uacreg", "carrier_window", 0)\n')
    for n in list(ADMIN_CHANGES) + ["control"]:
        wait_delete_pending(k, db, n, 2)
    # the carrier goes quiet: a line that starts anew times out (never
    # counted) and stays at count 0 for the test to see
    s.stop()
    for n, (change, _) in ADMIN_CHANGES.items():
        db.sql(f"UPDATE uacreg SET {change} WHERE l_uuid='{n}'")
    unblock(db)

    wait_for(lambda: not exists(db, "control"), 20, what="the untouched row deleted")
    for n, (change, state) in ADMIN_CHANGES.items():
        assert exists(db, n), (n, change)
        wait_for(lambda: k.state(n) not in (None, "ceiling"), 20,
                 what=f"{n} to start anew after {change}")
        if state:
            assert k.state(n) == state, (n, change)
        assert k.info(n)["fail_count"] == 0, (n, change)
        wait_for(lambda: column(db, n) == 0, 10, what=f"{n}'s count reset in SQL")
        assert f"line [{n}]: deleted after" not in k.log_text()
    assert k.info("ceil0")["fail_ceiling"] == 0
    assert "row changed in SQL since it was loaded: not deleted" in k.log_text()
    assert "line [control]: deleted after 2 failures" in k.log_text()


def test_the_kept_lines_disable_also_yields_to_the_admin(db, kamailio, sipp):
    """uacreg_keep(): the disable is the same conditional write. An admin who
    fixed the password while it was pending keeps an enabled row."""
    s = sipp(BOOK)
    db.add_line("kept", r_domain=s.addr, auth_password="wrong", fail_ceiling=2)
    # the route holds the line long enough for the admin's fix
    k = kamailio(ceiling_extra='uacreg_keep();\n\tsql_query("ca", "DO SLEEP(2)");')
    wait_for(lambda: ceiling_events(db, "kept") != [], 30, what="the ceiling route")
    db.sql("UPDATE uacreg SET auth_password='secret' WHERE l_uuid='kept'")
    k.wait_state("kept", "registered", 20)
    assert column(db, "kept", "flags") == 0
    wait_for(lambda: column(db, "kept") == 0, 10, what="the count reset in SQL")
    assert "line [kept]: row changed in SQL since it was loaded: not disabled" in k.log_text()


# --- item 5: by id and generation, never by l_uuid ----------------------------

def test_a_line_replaced_while_the_route_runs_inherits_nothing(db, kamailio, sipp):
    """The route (which keeps the line) is still running when an admin fixes
    the password and reloads: the new line must not get the keep flag, and
    the row must not be disabled."""
    s = sipp(BOOK)
    db.add_line("swap", r_domain=s.addr, auth_password="wrong", fail_ceiling=2)
    k = kamailio(ceiling_extra='sql_query("ca", "DO SLEEP(3)");\n\tuacreg_keep();')
    wait_for(lambda: "uacreg-ceiling: swap " in k.log_text(), 30, what="the ceiling route")
    db.sql("UPDATE uacreg SET auth_password='secret' WHERE l_uuid='swap'")
    res = k.rpc("uacreg.reload")
    assert res["changed"] == 1, res
    k.wait_state("swap", "registered", 20)
    wait_for(lambda: "line [swap]: reset or replaced while the ceiling route ran" in k.log_text(),
             10, what="the route's end")
    time.sleep(1)
    assert column(db, "swap", "flags") == 0
    assert k.state("swap") == "registered"
    assert k.info("swap")["flags"] == 0
    assert "kept by the ceiling route" not in k.log_text()


# --- item 6: a new row is a new line; reset at the ceiling -------------------

def test_a_row_put_back_with_the_same_values_is_a_new_line(db, kamailio, sipp):
    """At the ceiling, the admin deletes the row and inserts it again with
    the same values (a new id), as REPLACE INTO does. It is not the row that
    failed: it is not deleted by the old line's DELETE, and its line starts
    from count 0 (it sends again and fails its own way to the ceiling)."""
    s = sipp(BOOK)
    db.add_line("again", r_domain=s.addr, auth_password="wrong", fail_ceiling=2)
    block_module_deletes(db)
    k = kamailio()
    wait_delete_pending(k, db, "again", 2)
    old_id = db.value("SELECT id FROM uacreg WHERE l_uuid='again'")
    sent = len(s.requests("again", authorized=True))
    cols = ("l_uuid, l_username, l_domain, r_username, r_domain, realm, auth_username, "
            "auth_password, auth_ha1, auth_proxy, expires, flags, reg_delay, contact_addr, "
            "socket, reauth_new_dialog, fail_ceiling, fail_count")
    db.sql(f"CREATE TEMPORARY TABLE t AS SELECT {cols} FROM uacreg WHERE l_uuid='again'; "
           "DELETE FROM uacreg WHERE l_uuid='again'; "
           f"INSERT INTO uacreg ({cols}) SELECT {cols} FROM t")
    new_id = db.value("SELECT id FROM uacreg WHERE l_uuid='again'")
    assert new_id != old_id and column(db, "again") == 2
    k.rpc("uacreg.reload")
    # a new line: it sends again, and counts from 0
    wait_for(lambda: len(s.requests("again", authorized=True)) > sent, 20,
             what="the new row's line sending")
    unblock(db)
    wait_for(lambda: len(ceiling_events(db, "again")) == 2, 30, what="the new row's own ceiling")
    assert ceiling_events(db, "again")[1] == ["bad_auth", "2"]
    wait_for(lambda: not exists(db, "again"), 20, what="the new row deleted at its own ceiling")
    assert len(s.requests("again", authorized=True)) == sent + 2


def test_a_row_put_back_below_its_ceiling_counts_from_0(db, kamailio, sipp):
    """Below the ceiling, a re-imported row (same values, a new id) keeps
    its line running without a REGISTER, but its count is its own: 0."""
    s = sipp(BOOK)
    db.add_line("reimp", r_domain=s.addr, auth_password="wrong", fail_ceiling=9)
    k = kamailio(extra_params='modparam("uacreg", "retry_min", 60)\n'
                              'modparam("uacreg", "retry_max", 60)\n')
    wait_for(lambda: column(db, "reimp") == 1, 20, what="a first counted failure")
    cols = ("l_uuid, l_username, l_domain, r_username, r_domain, realm, auth_username, "
            "auth_password, auth_ha1, auth_proxy, expires, flags, reg_delay, contact_addr, "
            "socket, reauth_new_dialog, fail_ceiling, fail_count")
    db.sql(f"CREATE TEMPORARY TABLE t AS SELECT {cols} FROM uacreg WHERE l_uuid='reimp'; "
           "DELETE FROM uacreg WHERE l_uuid='reimp'; "
           f"INSERT INTO uacreg ({cols}) SELECT {cols} FROM t")
    assert column(db, "reimp") == 1
    res = k.rpc("uacreg.reload")
    assert res["updated"] == 1, res
    assert k.info("reimp")["fail_count"] == 0
    wait_for(lambda: column(db, "reimp") == 0, 10, what="the new row's count written as 0")
    assert k.state("reimp") == "retry_wait"


def test_reset_takes_a_line_back_from_its_ceiling(db, kamailio, sipp):
    """A row loaded at its ceiling (good password, count 3 of 3): the route
    runs, the DELETE is held back, the operator runs uacreg.reset. The line
    registers, the pending DELETE is dropped, the row stays with count 0."""
    s = sipp(BOOK)
    db.add_line("back", r_domain=s.addr, fail_count=3, fail_ceiling=3)
    block_module_deletes(db)
    k = kamailio()
    wait_for(lambda: ceiling_events(db, "back") == [["none", "3"]], 20, what="the ceiling route")
    wait_for(lambda: "database writes fail (the ceiling's delete of line [back])"
             in k.log_text(), 10, what="the DELETE refused")
    assert k.info("back")["sql_owed"] == "ceiling delete"
    assert k.rpc("uacreg.reset", "back") == "ok"
    k.wait_state("back", "registered", 20)
    unblock(db)
    wait_for(lambda: column(db, "back") == 0, 10, what="the count reset in SQL")
    time.sleep(2)  # the DELETE would have been retried by now
    assert exists(db, "back")
    assert k.state("back") == "registered"
    assert len(ceiling_events(db, "back")) == 1


# --- item 7: remove while the DELETE is pending ------------------------------

def test_remove_while_the_delete_is_pending_still_deletes(db, kamailio, sipp):
    """uacreg.remove of a line whose DELETE is pending: the row is still
    deleted when the database takes it, and a reload in between does not
    bring the line back nor run the route a second time."""
    s = sipp(BOOK)
    db.add_line("gone", r_domain=s.addr, auth_password="wrong", fail_ceiling=2)
    db.add_line("good", r_domain=s.addr)
    block_module_deletes(db)
    k = kamailio()
    wait_delete_pending(k, db, "gone", 2)
    assert k.rpc("uacreg.remove", "gone") == "ok"
    res = k.rpc("uacreg.reload")
    assert res["added"] == 0, res
    time.sleep(2)
    assert k.log_text().count("uacreg-ceiling: gone ") == 1
    unblock(db)
    wait_for(lambda: not exists(db, "gone"), 20, what="the row deleted after the remove")
    with pytest.raises(RpcError):
        k.info("gone")
    res = k.rpc("uacreg.reload")
    assert res["added"] == 0, res
    time.sleep(1)
    assert k.log_text().count("uacreg-ceiling: gone ") == 1
    assert len(ceiling_events(db, "gone")) == 1
    k.wait_state("good", "registered", 10)


# --- item 8: the columns are learnt from the table ---------------------------

def test_a_failed_query_does_not_drop_the_added_columns(db, kamailio, sipp):
    """A reload that cannot read the added columns (one is missing for a
    moment) fails and changes nothing: fail_ceiling=0 still means never, and
    fail_count is still written, once the column is back."""
    s = sipp(BOOK)
    db.add_line("never", r_domain=s.addr, auth_password="wrong", fail_ceiling=0)
    k = kamailio(extra_params='modparam("uacreg", "fail_ceiling", 2)\n')
    wait_for(lambda: (column(db, "never") or 0) >= 1, 20, what="a first count in the column")
    db.sql("ALTER TABLE uacreg RENAME COLUMN fail_ceiling TO fail_ceiling_moved")
    with pytest.raises(RpcError):
        k.rpc("uacreg.reload")
    db.sql("ALTER TABLE uacreg RENAME COLUMN fail_ceiling_moved TO fail_ceiling")
    k.rpc("uacreg.reload")
    assert k.info("never")["fail_ceiling"] == 0
    before = column(db, "never")
    wait_for(lambda: (column(db, "never") or 0) >= max(before + 2, 4), 40,
             what="the count still written to the column")
    assert exists(db, "never")
    assert ceiling_events(db, "never") == []
    assert k.info("never")["state"] != "ceiling"


def test_a_table_without_the_columns_is_learnt_from_the_table(db, kamailio, sipp):
    """A stock table (no added columns): the parameters apply; once the
    migration adds them, the next reload uses them."""
    s = sipp(BOOK)
    db.sql("ALTER TABLE uacreg DROP COLUMN reauth_new_dialog, DROP COLUMN fail_ceiling, "
           "DROP COLUMN fail_count")
    db.add_line("stock", r_domain=s.addr)
    k = kamailio(extra_params='modparam("uacreg", "fail_ceiling", 7)\n')
    k.wait_state("stock", "registered", 20)
    assert k.info("stock")["fail_ceiling"] == 7
    assert "has no reauth_new_dialog, fail_ceiling, fail_count columns" in k.log_text()
    k.rpc("uacreg.reload")  # every process that reloads reads the table itself
    db.sql("ALTER TABLE uacreg ADD COLUMN reauth_new_dialog TINYINT DEFAULT NULL, "
           "ADD COLUMN fail_ceiling INT DEFAULT NULL, ADD COLUMN fail_count INT DEFAULT 0 NOT NULL")
    db.sql("UPDATE uacreg SET fail_ceiling=0 WHERE l_uuid='stock'")
    k.rpc("uacreg.reload")
    assert k.info("stock")["fail_ceiling"] == 0


# --- item 12: 64-bit ids, retry_max bounded -----------------------------------

def test_a_row_id_above_32_bits_is_deleted_by_its_own_id(db, kamailio, sipp):
    """id is BIGINT and above 2^32: the ceiling deletes that row, not the row
    whose id is its lower 32 bits."""
    s = sipp(BOOK)
    db.sql("ALTER TABLE uacreg MODIFY id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT")
    low = 5000000000 % 2**32
    db.add_line("low", r_domain=s.addr, id=low)
    db.add_line("big", r_domain=s.addr, auth_password="wrong", fail_ceiling=2, id=5000000000)
    k = kamailio()
    wait_for(lambda: not exists(db, "big"), 30, what="the row with the big id deleted")
    assert exists(db, "low")
    assert "line [big]: deleted after 2 failures" in k.log_text()
    k.wait_state("low", "registered", 10)


def test_retry_max_above_a_day_stops_kamailio(db, kamailio):
    k = kamailio(start=False, extra_params='modparam("uacreg", "retry_max", 5000000)\n')
    with pytest.raises(AssertionError):
        k.start()
    assert "retry_max 5000000 is more than 86400 seconds (one day)" in k.log_text()


# --- item 9's help: routes get a reason phrase they can store ----------------

def test_a_reason_phrase_that_is_not_utf8_reaches_routes_as_valid_utf8(db, kamailio, sipp):
    """A carrier's reason phrase with an ISO-8859-1 byte and a TAB: the route
    reads '?' for each, so an archive INSERT into a utf8mb4 column (strict
    mode) or a JSON string cannot fail on it for ever."""
    s = sipp("registrar-latin1-reason.xml")
    db.add_line("latin", r_domain=s.addr, auth_password="wrong", fail_ceiling=1)
    k = kamailio(ceiling_extra='xlog("L_NOTICE", "reason-hex: '
                               '$(uacreg(last_reason){s.encode.hexa})\\n");')
    wait_for(lambda: "reason-hex: " in k.log_text(), 20, what="the ceiling route")
    got = re.search(r"reason-hex: ([0-9a-fA-F]*)", k.log_text()).group(1)
    assert bytes.fromhex(got) == b"Unauthoriz?d?now"
    wait_for(lambda: not exists(db, "latin"), 10, what="the row deleted")
