#!/bin/sh
# check-src.sh - refuse banned C functions (STYLE.md, Memory and strings).
# Prints each offending line; exit status 1 when there is any.
cd "$(dirname "$0")/.." || exit 2
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|strtok|atoi|strncpy|alloca)\('
hits=$(grep -rnE "$banned" --include='*.c' --include='*.h' src tools | grep -v 'check-src: allow')
if [ -n "$hits" ]; then
	echo "$hits"
	echo "check-src: banned function used"
	exit 1
fi
exit 0
