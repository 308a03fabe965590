#!/usr/bin/env bash
# make docs: generates modules/uacreg/README from the module's DocBook
# (modules/uacreg/doc/uacreg.xml, uacreg_admin.xml) the way Kamailio makes
# every module's README: doc/Makefile includes the tree's
# doc/docbook/Makefile.module, whose `readme` target runs xsltproc with
# readme.xsl (Debian's docbook-xsl) and lynx -dump on the HTML.
# make docs-check (--check): fails when README is not that output.
#
# Runs in the Debian 5.6.3 source tree (scripts/kamailio-src.sh), in a real
# src/modules/uacreg/doc directory whose files link to ours, so that the
# doc's relative entity path (../../../../doc/docbook/entities.xml) resolves
# as it will upstream.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
check=0
[ "${1:-}" = --check ] && check=1
tree=$("$root/scripts/kamailio-src.sh")
mod="$tree/src/modules/uacreg"
dst="$mod/doc"
# a real directory (a link to ours would make .. point outside the tree)
[ -L "$dst" ] && rm -f "$dst"
mkdir -p "$dst"
find "$dst" -maxdepth 1 -type l -delete
for f in "$root"/modules/uacreg/doc/*; do
	ln -s "$f" "$dst/$(basename "$f")"
done
rm -f "$mod/README"
# --nonet: the DTD and the stylesheets come from Debian's catalog, never the
# network; lynx keeps the listings' long lines whole (-dont_wrap_pre: a
# cfg line broken in the middle of a variable is wrong) and its output must
# not depend on the terminal or the locale
LC_ALL=C.UTF-8 TERM=dumb make -s -C "$dst" readme xsltproc_flags=--nonet \
	lynx_flags="-nolist -dont_wrap_pre" >/dev/null
[ -s "$mod/README" ] || { echo "docs: no README was generated" >&2; exit 1; }
if [ $check -eq 1 ]; then
	if ! diff -u "$root/modules/uacreg/README" "$mod/README" >"$mod/README.diff"; then
		head -40 "$mod/README.diff" >&2
		echo "docs: modules/uacreg/README is not the output of modules/uacreg/doc/*.xml:" \
			"edit the XML, then run make docs" >&2
		exit 1
	fi
	echo "docs: README is the output of doc/uacreg.xml"
else
	cp "$mod/README" "$root/modules/uacreg/README"
	echo "docs: modules/uacreg/README generated from doc/uacreg.xml"
fi
