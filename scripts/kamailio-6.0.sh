#!/usr/bin/env bash
# Kamailio 6.0 from Debian 13's (trixie) source package, built on Debian 12
# and installed into build/kamailio-6.0/ (sbin/kamailio, sbin/kamcmd,
# lib/kamailio/modules/). Prints the path of the configured source tree, in
# which scripts/build-module.sh then builds uacreg.
#
# Debian 12's own apt state is not touched: trixie's deb-src index lives in a
# private apt folder (build/apt-trixie/), on the Debian mirror this machine
# already uses. The .orig.tar.gz.asc is not served by the mirror; apt checks
# every file it downloads against the signed Sources index, and this script
# checks them again against the .dsc, so the upstream signature is not needed.
#
# Idempotent: once built, it only prints the tree's path (no network).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
prefix="$build/kamailio-6.0"
aptdir="$build/apt-trixie"
stamp="$prefix/.uacreg-built"

# Every module kamailio.cfg, tests/integration (kamailio-test.cfg and the
# cfgs the tests write) and `make run` load. Changing this list rebuilds.
MODS="tm tmx sl pv xlog textops textopsx siputils rr maxfwd sanity ctl kex
corex counters cfgutils htable rtimer jsonrpcs sqlops db_mysql uac app_lua
http_client jansson"
MODS=$(echo $MODS)

say() { echo "kamailio-6.0: $*" >&2; }

if [ -f "$stamp" ] && [ "$(sed -n 2p "$stamp")" = "$MODS" ]; then
	tree=$(sed -n 1p "$stamp")
	if [ -x "$prefix/sbin/kamailio" ] && [ -f "$tree/.uacreg-configured" ]; then
		echo "$tree"
		exit 0
	fi
fi

# the Debian mirror this machine uses for its own release, else deb.debian.org
mirror() {
	local codename f=/etc/apt/sources.list.d/debian.sources m=""
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	if [ -f "$f" ]; then
		m=$(awk -v s="$codename" 'BEGIN { RS = ""; FS = "\n" } {
			u = ""; ok = 0
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) { u = $i; sub(/^URIs:[ \t]*/, "", u); split(u, a, /[ \t]+/); u = a[1] }
				if ($i ~ /^Suites:/ && (" " $i " ") ~ ("[ \t]" s "[ \t]")) ok = 1
			}
			if (ok && u != "") { print u; exit }
		}' "$f")
	fi
	if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
		m=$(grep -E '^deb(-src)?[[:space:]]' /etc/apt/sources.list | sed -E 's/\[[^]]*\][[:space:]]*//' |
			awk -v s="$codename" '$3 == s { print $2; exit }' || true)
	fi
	echo "${m:-http://deb.debian.org/debian}"
}

APT_OPTS=(-o "Dir::Etc::sourcelist=$aptdir/sources.list" -o "Dir::Etc::sourceparts=-"
	-o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache"
	-o "APT::Sandbox::User=$(id -un)")

fetch() {
	mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
	local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	echo "deb-src [signed-by=$keyring] $(mirror) trixie main" >"$aptdir/sources.list"
	say "reading Debian 13's source index from $(mirror)"
	apt-get "${APT_OPTS[@]}" -qq update >&2
	ver=$(apt-cache "${APT_OPTS[@]}" showsrc kamailio | awk '/^Version:/ { print $2 }' |
		grep '^6\.0\.' | sort -V | tail -1)
	[ -n "$ver" ] || { say "no kamailio 6.0.x in trixie's Sources"; exit 1; }
}

# the tree: reuse one already unpacked, else download and unpack it
tree=$(ls -d "$build"/kamailio-src-6.0.*/kamailio-6.0.* 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$tree" ]; then
	fetch
	dir="$build/kamailio-src-$ver"
	mkdir -p "$dir"
	(
		cd "$dir"
		say "downloading kamailio $ver (source)"
		# exits non-zero for the missing .orig.tar.gz.asc; the files are checked below
		apt-get "${APT_OPTS[@]}" -qq source --download-only "kamailio=$ver" >&2 2>/dev/null || true
		dsc="kamailio_$ver.dsc"
		[ -f "$dsc" ] || { say "apt-get source did not fetch $dsc"; exit 1; }
		# the .dsc came with the signed Sources index's hashes; check the rest against it
		awk '/^Checksums-Sha256:/ { on = 1; next } /^[^ ]/ { on = 0 } on && NF == 3 { print $1 "  " $3 }' "$dsc" |
			grep -v '\.asc$' | sha256sum -c --quiet >&2 ||
			{ say "checksums of the downloaded files do not match $dsc"; exit 1; }
		dpkg-source -q -x --no-check "$dsc" >&2
	)
	tree=$(ls -d "$dir"/kamailio-6.0.* | sort -V | tail -1)
fi

say "building the core and $(echo "$MODS" | wc -w) modules in $tree (2-3 minutes, once)"
cd "$tree"
rm -f .uacreg-configured "$stamp"
# Debian's flags, as debian/rules sets them; prefix = our private install
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
cc_extra="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS) -DVERSION_NODATE"
ld_extra="$(dpkg-buildflags --get LDFLAGS)"
# group_include with a group of our own: exactly the modules in MODS
make cfg prefix="$prefix/" cfg_target="$prefix/etc/kamailio/" FLAVOUR=kamailio LIBDIR=lib \
	CC_EXTRA_OPTS="$cc_extra" LD_EXTRA_OPTS="$ld_extra" \
	group_include=kuacreg module_group_kuacreg="$MODS" >"$tree/uacreg-cfg.log" 2>&1 ||
	{ tail -30 "$tree/uacreg-cfg.log" >&2; exit 1; }
touch .uacreg-configured
make -j"$(nproc)" all quiet=silent >"$tree/uacreg-build.log" 2>&1 ||
	{ grep -B2 -A8 -m5 'error' "$tree/uacreg-build.log" >&2 || tail -30 "$tree/uacreg-build.log" >&2; exit 1; }
make install quiet=silent >"$tree/uacreg-install.log" 2>&1 ||
	{ tail -30 "$tree/uacreg-install.log" >&2; exit 1; }
for m in $MODS; do
	[ -f "$prefix/lib/kamailio/modules/$m.so" ] || { say "module $m.so was not built"; exit 1; }
done
"$prefix/sbin/kamailio" -v | head -1 >&2
printf '%s\n%s\n' "$tree" "$MODS" >"$stamp"
echo "$tree"
