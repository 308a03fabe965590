#!/usr/bin/env bash
# Builds uacreg.so inside a configured Kamailio tree and prints where it is:
#   UACREG_KAMAILIO unset or 5.6: Debian 12's kamailio source (the installed
#     5.6.3) -> modules/uacreg/uacreg.so
#   UACREG_KAMAILIO=6.0: Debian 13's 6.0 built by scripts/kamailio-6.0.sh
#     -> build/kamailio-6.0/lib/kamailio/modules/uacreg.so
# The module's files are linked one by one into a real directory of the tree
# (src/modules/uacreg/), so that the tree's relative includes resolve; the
# sources themselves stay in modules/uacreg/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
case "${UACREG_KAMAILIO:-5.6}" in
5.6)
	tree=$("$root/scripts/kamailio-src.sh")
	out="$root/modules/uacreg/uacreg.so"
	;;
6.0)
	tree=$("$root/scripts/kamailio-6.0.sh")
	out="$root/build/kamailio-6.0/lib/kamailio/modules/uacreg.so"
	;;
*) echo "build-module: UACREG_KAMAILIO must be 5.6 or 6.0, not '$UACREG_KAMAILIO'" >&2; exit 2 ;;
esac
dst="$tree/src/modules/uacreg"
mkdir -p "$dst"
# drop links to files that no longer exist, then link every current file
find "$dst" -maxdepth 1 -type l ! -exec test -e {} \; -delete
for f in "$root"/modules/uacreg/*.[ch] "$root"/modules/uacreg/Makefile \
	"$root"/modules/uacreg/uacreg.map; do
	ln -sfn "$f" "$dst/$(basename "$f")"
done
make -s -C "$dst" quiet=silent >&2
[ -f "$dst/uacreg.so" ] || { echo "build-module: uacreg.so was not built" >&2; exit 1; }
# a new file renamed over the old one: a running Kamailio keeps the copy it
# mapped (cp over it in place rewrites that mapping and crashes it)
cp -f "$dst/uacreg.so" "$(dirname "$out")/.uacreg.so.$$"
mv -f "$(dirname "$out")/.uacreg.so.$$" "$out"
echo "$out"
