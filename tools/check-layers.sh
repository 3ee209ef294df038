#!/bin/sh
# check-layers.sh - each folder under src/ may include only headers of itself
# and of the folders in its LAYER_ line in the Makefile (DESIGN.md 1).
cd "$(dirname "$0")/.." || exit 2
bad=0
for dir in src/*/; do
	f=$(basename "$dir")
	[ "$f" = bin ] && continue
	allowed=$(sed -n "s/^LAYER_$f *:= *//p" Makefile)
	for inc in $(grep -ho '#include "[a-z0-9_-]*/' "$dir"*.c "$dir"*.h 2>/dev/null |
		sed 's/#include "//; s/\///' | sort -u); do
		ok=0
		for a in "$f" $allowed; do
			[ "$inc" = "$a" ] && ok=1
		done
		if [ $ok -eq 0 ]; then
			grep -ln "#include \"$inc/" "$dir"*.c "$dir"*.h 2>/dev/null | sed "s|$| includes $inc/ (not below $f)|"
			bad=1
		fi
	done
done
[ $bad -eq 0 ] && exit 0
echo "check-layers: layering violated"
exit 1
