# uacreg — two commands for a newcomer on Debian 12:
#   make run    build, start a private MariaDB, a demo carrier and Kamailio
#   make test   build and run every test (unit, fuzz smoke, integration on
#               Kamailio 5.6.3 and on 6.0)
# Each installs what it needs first (scripts/deps.sh, apt).
#
# KAMAILIO picks the Kamailio to build, run and test against:
#   (unset) or 5.6  Debian 12's packaged 5.6.3 (/usr/sbin/kamailio)
#   6.0             Debian 13's 6.0, built from its source package into
#                   build/kamailio-6.0/ (scripts/kamailio-6.0.sh, once)
# e.g. make KAMAILIO=6.0 run, make KAMAILIO=6.0 test

SHELL := /bin/bash
ROOT := $(CURDIR)
PYTEST := /usr/bin/python3 -m pytest
# run an operator's own database: make run DB_URL=mysql://user:pass@host:port/db
DB_URL ?=
KAMAILIO ?=
KVER := $(or $(KAMAILIO),5.6)
ifeq ($(filter 5.6 6.0,$(KVER)),)
$(error KAMAILIO=$(KAMAILIO): supported are 5.6 (the default) and 6.0)
endif
# read by scripts/*.sh and tests/integration/conftest.py
export UACREG_KAMAILIO := $(KVER)

.PHONY: all deps module unit fuzz-smoke fuzz integration test run bench \
	bench-smoke format format-check docs docs-check warnings clean

all: module

deps:
	@bash scripts/deps.sh

# Debian's kamailio source, configured as debian/rules does; prints its path
KSRC = $(shell bash scripts/kamailio-src.sh)

module: deps
	@bash scripts/build-module.sh >/dev/null

unit: deps
	@$(MAKE) -s -C tests/unit KSRC="$(KSRC)" run

fuzz-smoke: deps
	@$(MAKE) -s -C tests/fuzz KSRC="$(KSRC)" run RUNS=20000

# the long run: make fuzz RUNS=5000000
fuzz: deps
	@$(MAKE) -s -C tests/fuzz KSRC="$(KSRC)" run RUNS=$(or $(RUNS),2000000)

integration: module
	@cd tests/integration && $(PYTEST) -q -p no:cacheprovider $(PYTEST_ARGS)

# uacreg's own files with -Wall -Wextra, in the tree of $(KAMAILIO)
warnings: module
	@bash scripts/warnings.sh

# Unit tests, fuzz smoke, format and the bench smoke run once (on 5.6.3);
# the -Wextra build and the integration suite run on each version. Both
# suites run even when the first fails; either failing fails `make test`.
test: module
	@$(MAKE) -s unit
	@$(MAKE) -s fuzz-smoke
	@$(MAKE) -s format-check
	@$(MAKE) -s docs-check
ifeq ($(KVER),5.6)
	@$(MAKE) -s warnings
	@t=$$SECONDS; $(MAKE) -s bench-smoke && echo "bench-smoke: $$((SECONDS - t)) s"
	@rc=0; \
	t=$$SECONDS; echo "== integration on Kamailio 5.6.3"; \
	$(MAKE) -s integration || { rc=1; echo "== integration on Kamailio 5.6.3: FAILED"; }; \
	echo "== integration on Kamailio 5.6.3: $$((SECONDS - t)) s"; \
	t=$$SECONDS; echo "== integration on Kamailio 6.0"; \
	$(MAKE) -s KAMAILIO=6.0 warnings integration || { rc=1; echo "== integration on Kamailio 6.0: FAILED"; }; \
	echo "== integration on Kamailio 6.0 (with its build): $$((SECONDS - t)) s"; \
	exit $$rc
else
	@$(MAKE) -s warnings
	@$(MAKE) -s integration
endif

run: module
	@bash scripts/run.sh "$(DB_URL)"

# the bench compares with Debian 12's stock uac: 5.6.3 only
bench: module
	@[ "$(KVER)" = 5.6 ] || { echo "bench: runs on Debian 12's 5.6.3 only (without KAMAILIO)"; exit 2; }
	@bash bench/run.sh $(BENCH_ARGS)

# 1,000 lines, both engines, ~2-3 min: exit 0 when the bench itself works
bench-smoke: module
	@[ "$(KVER)" = 5.6 ] || { echo "bench-smoke: runs on Debian 12's 5.6.3 only (without KAMAILIO)"; exit 2; }
	@mkdir -p build && bash bench/run.sh --smoke --out build/bench-smoke.md $(BENCH_ARGS)

CFILES = $(wildcard modules/uacreg/*.[ch] tests/unit/*.[ch] tests/fuzz/*.c)

# the GPL block at the top of each module file too (scripts/gpl-header.py)
format:
	@clang-format -i $(CFILES)
	@python3 scripts/gpl-header.py

format-check:
	@bad=0; for f in $(CFILES); do \
		clang-format --dry-run --Werror "$$f" >/dev/null 2>&1 || { echo "format: $$f"; bad=1; }; \
	done; \
	if [ $$bad -ne 0 ]; then echo "run: make format"; exit 1; fi; echo "format: clean"
	@python3 scripts/gpl-header.py --check

# modules/uacreg/README is generated from the module's DocBook
# (modules/uacreg/doc/uacreg.xml, uacreg_admin.xml) by Kamailio's own doc
# Makefile (xsltproc, docbook-xsl, lynx): edit the XML, then make docs.
# docs-check fails when README is not that output.
docs: deps
	@bash scripts/docs.sh

docs-check: deps
	@bash scripts/docs.sh --check

clean:
	rm -rf build/unit build/fuzz build/test-* modules/uacreg/*.o modules/uacreg/*.so modules/uacreg/*.d
