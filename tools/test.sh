#!/bin/sh
# test.sh - the whole test run (README: "make test"; CI: .ci/run).
#   1. install missing Debian packages
#   2. source checks (banned functions, layering)
#   3. normal build: unit tests, fuzz corpus replay, protocol tests
#   4. ASan+UBSan build: the same again
# Last line: "tests: N passed, N failed".
cd "$(dirname "$0")/.." || exit 2
sh tools/deps.sh test || { echo "tests: 0 passed, 1 failed"; exit 1; }
JOBS=$(nproc 2>/dev/null || echo 2)
pass=0
fail=0
add() { # add "N passed, M failed" from a summary line
	p=$(printf '%s\n' "$1" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p')
	f=$(printf '%s\n' "$1" | sed -n 's/.*: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p')
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-1}))
}
pytest_run() { # BUILD-DIR LABEL
	out=$(POSTHORN_BIN="$PWD/$1/posthorn" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/proto 2>&1)
	printf '%s\n' "$out" | tail -n 40
	summary=$(printf '%s\n' "$out" | tail -n 1)
	p=$(printf '%s\n' "$summary" | grep -o '[0-9]* passed' | grep -o '[0-9]*')
	f=$(printf '%s\n' "$summary" | grep -o '[0-9]* failed' | grep -o '[0-9]*')
	e=$(printf '%s\n' "$summary" | grep -o '[0-9]* error' | grep -o '[0-9]*')
	s=$(printf '%s\n' "$summary" | grep -o '[0-9]* skipped' | grep -o '[0-9]*')
	[ -z "$p$f$e" ] && f=1
	# a skipped test is not a passed one
	echo "proto-$2: ${p:-0} passed, $(( ${f:-0} + ${e:-0} + ${s:-0} )) failed"
	add "proto-$2: ${p:-0} passed, $(( ${f:-0} + ${e:-0} + ${s:-0} )) failed"
}

if sh tools/check-src.sh && sh tools/check-layers.sh; then add "check: 1 passed, 0 failed"
else add "check: 0 passed, 1 failed"; fi

for variant in normal asan; do
	if [ $variant = normal ]; then
		build=build
		flags=""
	else
		build=build-asan
		flags="SAN=-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
	fi
	echo "== $variant build"
	# objects of another compiler or flag set must not mix in
	[ $variant = asan ] && rm -rf build-asan
	if ! make -s -j"$JOBS" BUILD=$build ${flags:+"$flags"} all >"/tmp/posthorn-build-$$.log" 2>&1; then
		tail -n 40 "/tmp/posthorn-build-$$.log"
		add "build-$variant: 0 passed, 1 failed"
		continue
	fi
	add "build-$variant: 1 passed, 0 failed"
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
	out=$(sh tools/unit.sh $build 2>&1)
	printf '%s\n' "$out"
	add "$(printf '%s\n' "$out" | tail -n 1)"
	pytest_run $build $variant
done
rm -f "/tmp/posthorn-build-$$.log"
echo "tests: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
