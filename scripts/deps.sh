#!/usr/bin/env bash
# Installs, with Debian's apt, everything uacreg needs to build, run and test.
# Idempotent: packages already present are skipped, and apt is only called when
# something is missing. Enables deb-src so `apt-get source kamailio` works.
# With UACREG_KAMAILIO=6.0 (make KAMAILIO=6.0 ...) also what building
# Kamailio 6.0 needs.
set -euo pipefail

PKGS=(
	kamailio kamailio-mysql-modules kamailio-lua-modules kamailio-utils-modules
	# jansson.so (JSON of the shipped kamailio.cfg's ceiling report)
	kamailio-extra-modules
	mariadb-server mariadb-client sip-tester
	# the HA tests' MariaDB Galera cluster (tests/integration/galera.py):
	# libgalera_smm.so, and rsync for its state transfer
	galera-4 rsync
	build-essential dpkg-dev bison flex pkg-config
	libcmocka-dev python3-pytest clang libclang-rt-14-dev clang-format
	procps iproute2 netcat-openbsd
	# make docs / docs-check: the README from doc/uacreg.xml, as Kamailio's
	# doc/docbook/Makefile makes every module's (DocBook 4.4 DTD, docbook-xsl,
	# lynx for the text)
	xsltproc docbook-xsl docbook-xml lynx
)
# Kamailio 6.0, built from Debian 13's source (scripts/kamailio-6.0.sh): the
# libraries of the modules it builds (db_mysql, app_lua, http_client, jansson)
if [ "${UACREG_KAMAILIO:-5.6}" = 6.0 ]; then
	PKGS+=(libmariadb-dev-compat liblua5.1-0-dev libcurl4-openssl-dev libjansson-dev xz-utils)
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

enable_deb_src() {
	local f=/etc/apt/sources.list.d/debian.sources
	if [ -f "$f" ]; then
		grep -q '^Types:.*deb-src' "$f" && return 1
		$SUDO sed -i 's/^Types: deb$/Types: deb deb-src/' "$f"
		return 0
	fi
	# one-line style sources.list
	grep -q '^deb-src ' /etc/apt/sources.list 2>/dev/null && return 1
	grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
		$SUDO tee /etc/apt/sources.list.d/uacreg-deb-src.list >/dev/null
	return 0
}

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

need_update=0
enable_deb_src && need_update=1
# deb-src indexes exist only after an update with deb-src enabled
ls /var/lib/apt/lists/*_source_Sources* >/dev/null 2>&1 || need_update=1
[ ${#missing[@]} -eq 0 ] || need_update=1

if [ "$need_update" -eq 1 ]; then
	$SUDO apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts the packaged daemons on install; ours are private, so stop theirs.
if [ ${#missing[@]} -gt 0 ]; then
	for svc in kamailio mariadb; do
		if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q "$svc" 2>/dev/null; then
			$SUDO systemctl stop "$svc" || true
		fi
	done
fi
exit 0
