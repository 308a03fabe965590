"""The HA phase of make bench (issue #17): two uacreg nodes on one table.

  steady    (--ha-steady N/S, default 200/600) two active nodes, n1 on
            127.0.0.11 and n2 on 127.0.0.12, N lines of expires 60 (S/3
            for a shorter S, at least 10) on our
            registrar (tests/integration/registrar.py, whose log has the source
            of every REGISTER); once ownership has settled, S seconds watched:
            AORs REGISTERed from two sources in the window (the goal: 0), AORs
            whose two nodes' spans overlap (a double registration), lines
            refreshed in the window, lines per node.
  takeover  (--ha-takeover N, default 10000) the same pair with N lines of
            expires 3600; once every line is registered and ownership has
            settled, n1 is killed (SIGKILL of its process group). Measured:
            the first claim of n2 in uacreg_owner, and the time until every
            line n1 owned has a 200 sent to n2 (p50, p95, max), against the
            bound lease_ttl + 5 s + lines / rate.

Both nodes use the module defaults lease_ttl 10 s and ha_interval_ms 2000,
and the bench's rate. Every process goes through the bench's Procs (stopped
by PID however the run ends).
"""
import contextlib
import os
import signal
import time

from engines import Kamailio, PyRegistrar, load_table, log, user_name

LEASE_TTL = 10
HOSTS = ("127.0.0.11", "127.0.0.12")


class Node(Kamailio):
    """The bench's Kamailio with uacreg in HA mode, named node_id, on an
    address of its own (host)."""

    def __init__(self, procs, pdir, db, node_id, host, params, shm_mb):
        up = dict(params["uacreg"])
        up.update({"ha_mode": '"active"', "node_id": f'"{node_id}"', "lease_ttl": LEASE_TTL})
        super().__init__(procs, pdir, "uacreg", db, None,
                         {"uacreg_so": params["uacreg_so"], "uacreg": up, "stock": {}},
                         shm_mb, name=node_id, host=host, pidfile=True)
        self.node_id = node_id
        self.host = host

    def kill(self):
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


def host_of(addr):
    return addr.rsplit(":", 1)[0] if addr else None


def owners(db):
    return {r[0]: (r[1], int(r[2])) for r in db.sql("SELECT l_uuid, node_id, epoch FROM uacreg_owner")}


def live(db):
    return {r[0] for r in db.sql("SELECT node_id FROM uacreg_node WHERE lease_until > NOW(3)")}


def last_ok_host(reg):
    out = {}
    for r in reg.poll():
        if r.get("dir") == "out" and r.get("code") == 200:
            out[r["user"]] = host_of(r["dst"])
    return out


def settle(db, reg, nodes, users, timeout):
    """Waits until both nodes are live, every line is owned by one of them,
    ownership has not moved for 5 s and every line's last 200 went to its
    owner; returns the owners (or raises)."""
    host = {n.node_id: n.host for n in nodes}
    end = time.time() + timeout
    last, since = None, time.time()
    while time.time() < end:
        o = owners(db)
        ok = live(db) >= set(host) and all(o.get(u, (None,))[0] in host for u in users)
        o = o if ok else None
        if o != last:
            last, since = o, time.time()
        elif o is not None and time.time() - since >= 5:
            got = last_ok_host(reg)
            if all(got.get(u) == host[o[u][0]] for u in users):
                return o
        time.sleep(1)
    raise RuntimeError(f"the pair did not settle within {timeout} s")


def spans(reg, t0, t1):
    """{AOR: {source host: [first, last]}} of REGISTERs in [t0, t1)."""
    out = {}
    for r in reg.poll():
        if r.get("dir") != "in" or r.get("method") != "REGISTER" or r.get("retransmission"):
            continue
        if not t0 <= r["t"] < t1:
            continue
        s = out.setdefault(r["user"], {}).setdefault(host_of(r["src"]), [r["t"], r["t"]])
        s[1] = r["t"]
    return out


def overlapping(sp):
    bad = 0
    for by_src in sp.values():
        iv = sorted(by_src.values())
        if any(b[0] <= a[1] for a, b in zip(iv, iv[1:])):
            bad += 1
    return bad


class Pair:
    """What both phases watch: the users, the registrar, the two nodes, and
    when the nodes were started."""

    def __init__(self, users, reg, nodes, t_start):
        self.users, self.reg, self.nodes, self.t_start = users, reg, nodes, t_start


@contextlib.contextmanager
def _pair_on_table(run_dir, phase, procs, db, n, expires, params, shm_mb):
    """The set-up both phases share: our registrar with N users, the owner
    and node tables emptied, the table loaded with N lines of expires, and
    the two nodes started; they are all stopped however the phase ends."""
    pdir = run_dir / f"ha-{phase}-{n}"
    pdir.mkdir(parents=True, exist_ok=True)
    users = [user_name(i) for i in range(1, n + 1)]
    reg = PyRegistrar(procs, pdir, {u: "secret" for u in users})
    reg.start()
    nodes = []
    try:
        db.sql("DELETE FROM uacreg_owner; DELETE FROM uacreg_node;")
        load_table(db, pdir / "rows.tsv", n, reg.addr, expires)
        nodes = [Node(procs, pdir, db, f"n{i + 1}", HOSTS[i], params, shm_mb) for i in range(2)]
        log(f"HA {phase} {n} lines: starting n1, n2")
        t_start = time.time()
        for node in nodes:
            node.start()
        yield Pair(users, reg, nodes, t_start)
    finally:
        for node in nodes:
            node.stop()
        reg.stop()


def steady_phase(args, run_dir, procs, db, n, secs, params, shm_mb):
    # several refreshes of every line in the window (60 s for 10 minutes)
    expires = max(10, min(60, secs // 3))
    res = {"phase": "steady", "lines": n, "secs": secs, "expires": expires,
           "lease_ttl": LEASE_TTL, "notes": []}
    with _pair_on_table(run_dir, "steady", procs, db, n, expires, params, shm_mb) as p:
        users, reg, nodes = p.users, p.reg, p.nodes
        own = settle(db, reg, nodes, users, 180)
        res["settle_s"] = round(time.time() - p.t_start, 1)
        t0 = time.time()
        log(f"HA steady {n} lines: settled in {res['settle_s']} s; watching {secs} s")
        time.sleep(secs)
        t1 = time.time()
        sp = spans(reg, t0, t1)
        res["aors_two_sources"] = sum(1 for v in sp.values() if len(v) > 1)
        res["double_registrations"] = overlapping(sp)
        res["refreshed"] = len(sp)
        oks = {r["user"] for r in reg.poll() if r.get("dir") == "out" and r.get("code") == 200
               and t0 <= r["t"] < t1}
        res["lines_ok_in_window"] = len(oks)
        res["per_node"] = {nd.node_id: sum(1 for u in users if own[u][0] == nd.node_id)
                           for nd in nodes}
        res["registers_in_window"] = reg.registers(t0, t1)[0]
        log(f"HA steady {n} lines: {res['aors_two_sources']} AORs from two sources, "
            f"{res['lines_ok_in_window']} of {n} lines refreshed, per node {res['per_node']}")
    return res


def takeover_phase(args, run_dir, procs, db, n, params, shm_mb):
    expires = 3600
    rate = int(params["uacreg"].get("rate", 100))
    res = {"phase": "takeover", "lines": n, "expires": expires, "lease_ttl": LEASE_TTL,
           "rate": rate, "notes": []}
    with _pair_on_table(run_dir, "takeover", procs, db, n, expires, params, shm_mb) as p:
        users, reg, nodes = p.users, p.reg, p.nodes
        own = settle(db, reg, nodes, users, 600)
        dead = [u for u in users if own[u][0] == "n1"]
        res["n1_lines"] = len(dead)
        t_kill = time.time()
        nodes[0].kill()
        log(f"HA takeover {n} lines: n1 killed ({len(dead)} lines)")
        bound = LEASE_TTL + 5 + len(dead) / rate
        first_claim = None
        end = t_kill + bound + 120
        left = set(dead)
        got = {}
        seen = 0
        while time.time() < end and left:
            if first_claim is None:
                o = owners(db)
                if any(o[u][0] == "n2" for u in dead):
                    first_claim = time.time() - t_kill
            recs = reg.poll()
            new, seen = recs[seen:], len(recs)
            for r in new:
                if (r.get("dir") == "out" and r.get("code") == 200 and r["t"] >= t_kill
                        and r["user"] in left and host_of(r["dst"]) == "127.0.0.12"):
                    got[r["user"]] = r["t"] - t_kill
                    left.discard(r["user"])
            time.sleep(0.5)
        res["first_claim_s"] = round(first_claim, 1) if first_claim is not None else None
        res["taken_over"] = len(got)
        res["bound_s"] = round(bound, 1)
        if got:
            ts = sorted(got.values())
            res["p50_s"] = round(ts[len(ts) // 2], 1)
            res["p95_s"] = round(ts[int(len(ts) * 0.95) - 1 if len(ts) > 1 else 0], 1)
            res["max_s"] = round(ts[-1], 1)
        if left:
            res["notes"].append(f"{len(left)} lines without a 200 from n2 after {end - t_kill:.0f} s")
        o = owners(db)
        res["epoch_plus_one"] = sum(1 for u in dead if o[u] == ("n2", own[u][1] + 1))
        sp = spans(reg, t_kill, time.time())
        res["double_registrations"] = overlapping(sp)
        res["registers_after_kill"] = reg.registers(t_kill, time.time())[0]
        log(f"HA takeover {n} lines: {len(got)} of {len(dead)} back in "
            f"{res.get('max_s')} s (bound {res['bound_s']} s)")
    return res


def ha_phase(args, run_dir, procs, db, params, shm_mb):
    out = {}
    if args.ha_steady:
        n, _, secs = args.ha_steady.partition("/")
        try:
            out["steady"] = steady_phase(args, run_dir, procs, db, int(n), int(secs or 600),
                                         params, shm_mb)
        except KeyboardInterrupt:
            raise
        except Exception as ex:
            log(f"HA steady: phase failed: {ex}")
            out["steady"] = {"phase": "steady", "notes": [f"phase failed: {ex}"], "failed": True}
    if args.ha_takeover:
        try:
            out["takeover"] = takeover_phase(args, run_dir, procs, db, int(args.ha_takeover),
                                             params, shm_mb)
        except KeyboardInterrupt:
            raise
        except Exception as ex:
            log(f"HA takeover: phase failed: {ex}")
            out["takeover"] = {"phase": "takeover", "notes": [f"phase failed: {ex}"],
                               "failed": True}
    return out


def ha_report(w, res):
    """The HA section of results.md (w: a function taking one line)."""
    w("### HA: two nodes on one table (issue #17)")
    w("")
    w(f"Two uacreg nodes, ha_mode active, lease_ttl {LEASE_TTL} s, ha_interval_ms 2000 "
      "(the defaults), n1 on 127.0.0.11 and n2 on 127.0.0.12, one Contact each, our registrar "
      "(tests/integration/registrar.py) counting REGISTERs by source.")
    w("")
    s = res.get("steady")
    if s:
        if s.get("failed"):
            w(f"- steady state: {'; '.join(s['notes'])}")
        else:
            verdict = "OK" if s["aors_two_sources"] == 0 and s["double_registrations"] == 0 else "MISS"
            w(f"- steady state, {s['lines']} lines (expires {s['expires']} s), "
              f"{s['secs']} s watched after the pair settled ({s['settle_s']} s): "
              f"**{s['aors_two_sources']} AORs REGISTERed from two sources** (goal 0: {verdict}), "
              f"{s['double_registrations']} double registrations; {s['lines_ok_in_window']} of "
              f"{s['lines']} lines answered 200 in the window; {s['registers_in_window']} REGISTERs; "
              f"lines per node {s['per_node']}.")
    t = res.get("takeover")
    if t:
        if t.get("failed"):
            w(f"- takeover: {'; '.join(t['notes'])}")
        else:
            ok = t.get("max_s") is not None and t["max_s"] <= t["bound_s"] and \
                t["taken_over"] == t["n1_lines"]
            # the rate counts every REGISTER: a challenging carrier costs two a line
            per_line = t["registers_after_kill"] / t["n1_lines"] if t["n1_lines"] else 0
            bound2 = LEASE_TTL + 5 + t["registers_after_kill"] / t["rate"]
            ok2 = t.get("max_s") is not None and t["max_s"] <= bound2 and \
                t["taken_over"] == t["n1_lines"]
            w(f"- takeover after SIGKILL, {t['lines']} lines (rate {t['rate']}): n1 owned "
              f"{t['n1_lines']}; n2's claims seen in SQL {t['first_claim_s']} s after the kill; "
              f"**every line of n1 answered 200 from n2 within {t.get('max_s')} s** "
              f"(p50 {t.get('p50_s')} s, p95 {t.get('p95_s')} s); {t['taken_over']} of "
              f"{t['n1_lines']} taken over; epoch + 1 for {t['epoch_plus_one']}; "
              f"{t['double_registrations']} double registrations; {t['registers_after_kill']} "
              f"REGISTERs after the kill ({per_line:.1f} a line: a first REGISTER and the "
              "answer to the challenge).")
            w(f"  - the issue's bound lease_ttl + 5 s + lines / rate = {t['bound_s']} s: "
              f"{'OK' if ok else 'MISS'}; counting the requests the rate paces, lease_ttl + 5 s "
              f"+ REGISTERs / rate = {bound2:.1f} s: {'OK' if ok2 else 'MISS'}.")
        for note in t.get("notes", []):
            w(f"  - {note}")
    w("")
