"""uacreg.so exports only what Kamailio's module loader looks up with dlsym()
(src/core/sr_module.c): the version and compile flags of MODULE_VERSION,
mod_register() and the exports table. The pure core's functions (line_*,
table_*, sched_*, pool_* ...) stay local to the module (uacreg.map), so they
can clash with no other module's or the core's names."""
import subprocess

from conftest import MODULE

LOADER_SYMBOLS = {"module_version", "module_flags", "mod_register", "exports"}


def exported(path):
    out = subprocess.run(["nm", "-D", "--defined-only", str(path)], check=True,
                         capture_output=True, text=True).stdout
    # "<address> <type> <name>"
    return {line.split()[-1] for line in out.splitlines() if line.strip()}


def test_module_exports_only_what_the_loader_looks_up():
    syms = exported(MODULE)
    assert syms == LOADER_SYMBOLS, f"unexpected exports: {sorted(syms - LOADER_SYMBOLS)}"
