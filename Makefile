# uacreg — two commands for a newcomer on Debian 12:
#   make run    build, start a private MariaDB, a demo carrier and Kamailio
#   make test   build and run every test (unit, fuzz smoke, integration)
# Each installs what it needs first (scripts/deps.sh, apt).

SHELL := /bin/bash
ROOT := $(CURDIR)
PYTEST := /usr/bin/python3 -m pytest
# run an operator's own database: make run DB_URL=mysql://user:pass@host:port/db
DB_URL ?=

.PHONY: all deps module unit fuzz-smoke fuzz integration test run bench \
	bench-smoke format format-check clean

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

test: module
	@$(MAKE) -s unit
	@$(MAKE) -s fuzz-smoke
	@$(MAKE) -s format-check
	@$(MAKE) -s bench-smoke
	@$(MAKE) -s integration

run: module
	@bash scripts/run.sh "$(DB_URL)"

bench: module
	@bash bench/run.sh $(BENCH_ARGS)

# 1,000 lines, both engines, ~2-3 min: exit 0 when the bench itself works
bench-smoke: module
	@mkdir -p build && bash bench/run.sh --smoke --out build/bench-smoke.md $(BENCH_ARGS)

CFILES = $(wildcard modules/uacreg/*.[ch] tests/unit/*.[ch] tests/fuzz/*.c)

format:
	@clang-format -i $(CFILES)

format-check:
	@bad=0; for f in $(CFILES); do \
		clang-format --dry-run --Werror "$$f" >/dev/null 2>&1 || { echo "format: $$f"; bad=1; }; \
	done; \
	if [ $$bad -ne 0 ]; then echo "run: make format"; exit 1; fi; echo "format: clean"

clean:
	rm -rf build/unit build/fuzz build/test-* modules/uacreg/*.o modules/uacreg/*.so modules/uacreg/*.d
