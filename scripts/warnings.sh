#!/usr/bin/env bash
# make warnings: compiles uacreg with -Wall -Wextra (on top of the tree's own
# Debian flags) in the Kamailio tree of UACREG_KAMAILIO (5.6 or 6.0), in a
# scratch copy of the module directory so the real build's objects stay as
# they are. Fails on any warning in uacreg's own files. Warnings inside
# Kamailio's headers (tm/t_stats.h, core/ut.h, ... under -Wextra) are not
# ours to fix: they are counted and shown, not failed on.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
case "${UACREG_KAMAILIO:-5.6}" in
5.6) tree=$("$root/scripts/kamailio-src.sh") ;;
6.0) tree=$("$root/scripts/kamailio-6.0.sh") ;;
*) echo "warnings: UACREG_KAMAILIO must be 5.6 or 6.0" >&2; exit 2 ;;
esac
dst="$tree/src/modules/uacreg_wcheck"
rm -rf "$dst"
mkdir -p "$dst"
for f in "$root"/modules/uacreg/*.[ch] "$root"/modules/uacreg/Makefile \
	"$root"/modules/uacreg/uacreg.map; do
	ln -s "$f" "$dst/$(basename "$f")"
done
extra=$(sed -n 's/^CC_EXTRA_OPTS=//p' "$tree/src/config.mak")
log="$dst/build.log"
make -C "$dst" quiet=silent CC_EXTRA_OPTS="$extra -Wall -Wextra" >"$log" 2>&1 ||
	{ cat "$log" >&2; exit 1; }
ver=$(basename "$tree" | sed 's/^kamailio-//')
# ours: a warning located in a file of modules/uacreg (libsrdb1, built on
# 5.6 beside the module, has files in a bare name too)
ours=$(grep -E '^[a-z_0-9]+\.[ch]:[0-9]+:[0-9]+: warning:' "$log" |
	while IFS=: read -r f rest; do
		[ -e "$root/modules/uacreg/$f" ] && echo "$f:$rest"
	done || true)
theirs=$(grep -cE '^\.\./\.\./.*: warning:' "$log" || true)
rm -rf "$dst"
if [ -n "$ours" ]; then
	echo "warnings: uacreg with -Wall -Wextra on Kamailio $ver:" >&2
	echo "$ours" >&2
	exit 1
fi
echo "warnings: none in uacreg with -Wall -Wextra on Kamailio $ver ($theirs in Kamailio's own headers)"
