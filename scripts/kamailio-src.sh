#!/usr/bin/env bash
# Fetches Debian's source of the installed kamailio into build/ and configures it
# the way debian/rules does, so modules built there carry the same module_flags
# as the installed core (otherwise: "module compile flags mismatch").
# Prints the path of the configured tree on stdout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build"
ver=$(dpkg-query -W -f='${Version}' kamailio)
upstream=${ver#*:}
upstream=${upstream%-*}
dir="$build/kamailio-src-$ver"
tree="$dir/kamailio-$upstream"
mkdir -p "$dir"
if [ ! -f "$tree/.uacreg-configured" ]; then
	(
		cd "$dir"
		[ -d "$tree" ] || apt-get source -qq "kamailio=$ver" >&2 2>/dev/null ||
			apt-get source "kamailio=$ver" >&2
		cd "$tree"
		export DEB_BUILD_MAINT_OPTIONS=hardening=+all
		cc_extra="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS) -DVERSION_NODATE"
		ld_extra="$(dpkg-buildflags --get LDFLAGS)"
		make cfg prefix=/usr cfg_target=/etc/kamailio/ FLAVOUR=kamailio \
			LIBDIR="lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)" \
			CC_EXTRA_OPTS="$cc_extra" LD_EXTRA_OPTS="$ld_extra" \
			group_include=kstandard >&2
		touch .uacreg-configured
	)
fi
echo "$tree"
