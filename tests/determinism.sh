#!/bin/sh
# Same scenario and seed => bit-identical results: twice with one binary, and between the
# default (gcc) build and a clang build of the same sources.
#   tests/determinism.sh BIN
set -u
bin=${1:?usage: tests/determinism.sh BIN}
other_cc=clang
case "$("${CC:-cc}" --version 2>/dev/null | head -n 1)" in *clang*) other_cc=gcc ;; esac
if ! command -v "$other_cc" >/dev/null 2>&1; then
	echo "determinism: $other_cc is not installed (.ci/deps installs it)" >&2
	exit 1
fi
make --no-print-directory -s CC="$other_cc" BUILD=build/"$other_cc" BIN=build/"$other_cc"/bin/sim \
	build/"$other_cc"/bin/sim >/dev/null || exit 1
other=build/"$other_cc"/bin/sim
fail=0 n=0
for f in scenarios/*.scn tests/data/determinism/*.scn; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	"$bin" --quiet --no-db --json "$f" >build/det.a 2>/dev/null
	"$bin" --quiet --no-db --json "$f" >build/det.b 2>/dev/null
	"$other" --quiet --no-db --json "$f" >build/det.c 2>/dev/null
	if ! [ -s build/det.a ]; then
		echo "FAIL $f: no output"; fail=$((fail + 1))
	elif ! cmp -s build/det.a build/det.b; then
		echo "FAIL $f: two runs differ"; fail=$((fail + 1))
	elif ! cmp -s build/det.a build/det.c; then
		echo "FAIL $f: the $other_cc build differs:"; diff build/det.a build/det.c | head -n 5
		fail=$((fail + 1))
	else
		echo "ok   $f (identical across runs and with $other_cc)"
	fi
done
# The model checker: the same schedules, counterexamples and timelines from both builds (the
# wall-clock seconds on the statistics line are the only thing allowed to differ).
mkdir -p build/det-trails
for f in scenarios/check/*.scn; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	"$bin" check --quiet --no-db --trail-dir build/det-trails "$f" 2>/dev/null |
		sed 's/, [0-9.]* s;/, - s;/' >build/det.a
	"$other" check --quiet --no-db --trail-dir build/det-trails "$f" 2>/dev/null |
		sed 's/, [0-9.]* s;/, - s;/' >build/det.c
	if ! [ -s build/det.a ]; then
		echo "FAIL $f (check): no output"; fail=$((fail + 1))
	elif ! cmp -s build/det.a build/det.c; then
		echo "FAIL $f (check): the $other_cc build differs:"; diff build/det.a build/det.c | head -n 5
		fail=$((fail + 1))
	else
		echo "ok   $f (check: identical with $other_cc)"
	fi
done
echo "determinism: $((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$n" -gt 0 ]
