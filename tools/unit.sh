#!/bin/sh
# unit.sh BUILD - run every unit-test program and fuzz-corpus replay of a
# build. Prints each program's summary line; last line "unit: N passed, N failed".
BUILD=${1:-build}
cd "$(dirname "$0")/.." || exit 2
pass=0
fail=0
for t in $(find "$BUILD" -type f -name 'test-*' ! -name '*.o' ! -name '*.d' | sort); do
	out=$("$t" 2>&1)
	line=$(printf '%s\n' "$out" | tail -n 1)
	p=$(printf '%s\n' "$line" | sed -n 's/^[^:]*: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(printf '%s\n' "$line" | sed -n 's/^[^:]*: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	if [ -z "$p" ]; then
		printf '%s\n' "$out" | tail -n 20
		echo "$t: crashed or printed no summary"
		fail=$((fail + 1))
		continue
	fi
	[ "$f" -ne 0 ] && printf '%s\n' "$out" | grep -E 'FAIL' | head -n 40
	echo "$line"
	pass=$((pass + p))
	fail=$((fail + f))
done
for r in $(find "$BUILD" -type f -name 'fuzz-*-replay' | sort); do
	name=$(basename "$r" -replay)
	corpus="fuzz/corpus/${name#fuzz-}"
	if [ ! -d "$corpus" ]; then
		echo "$r: no corpus at $corpus"
		fail=$((fail + 1))
		continue
	fi
	if out=$("$r" "$corpus" 2>&1); then
		echo "$out" | tail -n 1
		pass=$((pass + 1))
	else
		printf '%s\n' "$out" | tail -n 20
		echo "$name: corpus replay FAILED"
		fail=$((fail + 1))
	fi
done
echo "unit: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
