#!/usr/bin/env bash
# Builds modules/uacreg/uacreg.so inside Debian's configured kamailio tree.
# The module's files are linked one by one into a real directory of the tree
# (src/modules/uacreg/), so that the tree's relative includes resolve; the
# sources themselves stay in modules/uacreg/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tree=$("$root/scripts/kamailio-src.sh")
dst="$tree/src/modules/uacreg"
mkdir -p "$dst"
# drop links to files that no longer exist, then link every current file
find "$dst" -maxdepth 1 -type l ! -exec test -e {} \; -delete
for f in "$root"/modules/uacreg/*.[ch] "$root"/modules/uacreg/Makefile; do
	ln -sfn "$f" "$dst/$(basename "$f")"
done
make -s -C "$dst" quiet=silent >&2
[ -f "$dst/uacreg.so" ] || { echo "build-module: uacreg.so was not built" >&2; exit 1; }
# a new file renamed over the old one: a running Kamailio keeps the copy it
# mapped (cp over it in place rewrites that mapping and crashes it)
cp -f "$dst/uacreg.so" "$root/modules/uacreg/.uacreg.so.$$"
mv -f "$root/modules/uacreg/.uacreg.so.$$" "$root/modules/uacreg/uacreg.so"
echo "$root/modules/uacreg/uacreg.so"
