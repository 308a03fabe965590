"""The harness runs the Kamailio `make` named (make KAMAILIO=6.0 ... sets
UACREG_KAMAILIO): that version answers, with its own modules and the
uacreg.so built for it — a 6.0 run can never test 5.6.3 by mistake."""
from conftest import KAMAILIO_VERSION, MODDIR, MODULE


def test_the_kamailio_under_test_is_the_one_make_named(db, kamailio):
    k = kamailio()
    version = k.rpc("core.version")
    assert f"kamailio {KAMAILIO_VERSION}." in version, version
    maps = open(f"/proc/{k.proc.pid}/maps").read()
    assert str(MODULE) in maps
    assert f"{MODDIR}/tm.so" in maps
    rc, out = k.kamcmd("core.version")
    assert rc == 0 and f"kamailio {KAMAILIO_VERSION}." in out, out
