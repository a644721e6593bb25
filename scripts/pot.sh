#!/bin/sh
# Writes luci-app-vwrp/po/templates/vwrp.pot, the translation template a
# LuCI app carries, the way LuCI's build/i18n-scan.pl makes one: xgettext
# over the views (_() and N_() calls) and over the "title" and
# "description" strings of menu.d and acl.d, flags dropped, merged and
# sorted by msguniq. Run it after changing a translatable string;
# tests/feed.rs fails while the template is stale.
#
#   scripts/pot.sh [OUT]    default: luci-app-vwrp/po/templates/vwrp.pot
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$top/luci-app-vwrp/po/templates/vwrp.pot}
cd "$top"
export LC_ALL=C

keywords="--keyword=_:1 --keyword=_:1,2c --keyword=N_:2,3 --keyword=N_:2,3,4c"

# One source file's catalogue, on stdout, its locations named after $1.
scan() {
	case $1 in
	*.json)
		# Translatable JSON values become _() calls for xgettext.
		sed -E 's/("(title|description)")[[:space:]]*:[[:space:]]*("([^"\\]|\\.)*")/\1: _(\3)/g' "$1" ;;
	*) cat "$1" ;;
	esac | {
		# shellcheck disable=SC2086 # one word per keyword option
		xgettext --from-code=UTF-8 --no-wrap --language=JavaScript $keywords -o - -
	} | sed -e "s|standard input:|$1:|g" -e '/^#, /d'
}

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT INT TERM
printf 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8"\n' > "$tmp"
find luci-app-vwrp -type f \( -name '*.js' -o -path '*/menu.d/*.json' -o -path '*/acl.d/*.json' \) | sort |
	while read -r f; do
		# Each catalogue without its header (everything up to the first location).
		scan "$f" | sed -n '/^#: /,$p' | sed '1i\
'
	done >> "$tmp"
mkdir -p "$(dirname "$out")"
# One location per line, in order, as LuCI's templates have them.
msguniq -s --no-wrap "$tmp" | awk '
	/^#: / { for (i = 2; i <= NF; i++) print "#: " $i | "sort -t: -k2,2 -k3,3n"; next }
	{ close("sort -t: -k2,2 -k3,3n"); print }
' > "$out"
