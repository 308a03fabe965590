"""The foundation: the installed Kamailio loads our module built against
Debian's source, reads rows an admin inserted with plain SQL, and kamcmd
sees them."""
from conftest import wait_for


def test_module_loads_and_kamcmd_counts_rows_inserted_with_sql(db, kamailio):
    for i in range(3):
        db.add_line(f"line{i}", flags=1)  # disabled: this test sends nothing
    k = kamailio()

    def count():
        rc, out = k.kamcmd("uacreg.count")
        return rc == 0 and out.strip() == "3"

    wait_for(count, 10, what="kamcmd uacreg.count to answer 3")
    assert "module compile flags mismatch" not in k.log_text()


def test_rows_added_later_appear_after_reload(db, kamailio):
    db.add_line("first", flags=1)
    k = kamailio()
    wait_for(lambda: k.rpc("uacreg.count") == 1, 10, what="one line")
    db.add_line("second", flags=1)
    res = k.rpc("uacreg.reload")
    assert res["added"] == 1 and res["unchanged"] == 1
    assert k.rpc("uacreg.count") == 2
