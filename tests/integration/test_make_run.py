"""`make run` as a newcomer uses it: one run at a time per run folder, the
PIDs it started in pidfiles, a banner that says only what is true, and the
wire log of every run kept."""
import os
import signal
import socket
import subprocess
import time

from conftest import ROOT, free_port, wait_for


def start_run(procs, run_dir, ports, out):
    env = {**os.environ, "UACREG_RUN_DIR": str(run_dir),
           "UACREG_SIP_PORT": str(ports[0]), "UACREG_DB_PORT": str(ports[1]),
           "UACREG_CARRIER_PORT": str(ports[2])}
    return procs.start(["bash", str(ROOT / "scripts" / "run.sh")], env=env,
                       stdout=open(out, "w"), stderr=subprocess.STDOUT,
                       stdin=subprocess.DEVNULL)


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def pidfile(path):
    return int(path.read_text().strip())


def kamcmd(run_dir, *args):
    out = subprocess.run(["kamcmd", "-s", f"unix:{run_dir}/kamailio_ctl", *args],
                         capture_output=True, text=True, timeout=10)
    return out.stdout + out.stderr


def sql(run_dir, query):
    out = subprocess.run(["mariadb", "--no-defaults", "-S", str(run_dir / "mariadb" / "mysqld.sock"),
                          "-uroot", "-N", "-B", "uacreg", "-e", query],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def stop_run(procs, p):
    os.killpg(p.pid, signal.SIGINT)
    p.wait(30)


def test_make_run_refuses_a_second_run_and_keeps_each_runs_logs(procs, tmp_path):
    run_dir = tmp_path / "run"
    ports = (free_port(), free_port(socket.SOCK_STREAM), free_port())
    first = start_run(procs, run_dir, ports, tmp_path / "first.out")
    wait_for(lambda: "demo-good" in kamcmd(run_dir, "uacreg.list") and
             "registered" in kamcmd(run_dir, "uacreg.info", "demo-good"), 60,
             what="make run to register demo-good")
    banner = (tmp_path / "first.out").read_text()
    pids = {name: pidfile(run_dir / f) for name, f in
            [("db", "mariadb/mysqld.pid"), ("carrier", "carrier.pid"), ("kamailio", "kamailio.pid")]}
    for name, pid in pids.items():
        assert alive(pid), name
        assert f"pid {pid}" in banner, (name, banner)
    assert "demo-wrong-password reaches its failure ceiling (3)" in banner
    wire = list(run_dir.glob("logs/*/carrier-messages.log"))
    assert len(wire) == 1
    size = wire[0].stat().st_size
    assert size > 0

    second = start_run(procs, run_dir, ports, tmp_path / "second.out")
    assert second.wait(20) == 1
    msg = (tmp_path / "second.out").read_text()
    assert "make run: already running" in msg and str(first.pid) in msg, msg
    # nothing of the first run was touched
    for name, pid in pids.items():
        assert alive(pid), name
    assert wire[0].stat().st_size >= size
    assert "registered" in kamcmd(run_dir, "uacreg.info", "demo-good")

    # the operator deletes the demo's bad line; the next run does not
    # promise its ceiling any more, and the first run's wire log stays
    sql(run_dir, "DELETE FROM uacreg WHERE l_uuid='demo-wrong-password'")
    stop_run(procs, first)
    for name, pid in pids.items():
        wait_for(lambda: not alive(pid), 10, what=f"{name} stopped")
    time.sleep(1.1)  # on purpose: the next run's log folder has another second
    third = start_run(procs, run_dir, ports, tmp_path / "third.out")
    wait_for(lambda: "registered" in kamcmd(run_dir, "uacreg.info", "demo-good"), 60,
             what="the third run to register demo-good")
    banner3 = (tmp_path / "third.out").read_text()
    assert "demo-wrong-password" not in banner3, banner3
    assert len(list(run_dir.glob("logs/*/carrier-messages.log"))) == 2
    assert wire[0].exists() and wire[0].stat().st_size >= size
    stop_run(procs, third)
