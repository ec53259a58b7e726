#!/bin/sh
# The regression gate (make gate) and its baseline (make baseline).
#   tests/gate.sh BIN [BASELINE]            every scenario: expectations hold and every metric
#                                           equals BASELINE (default scenarios/baseline.tsv)
#   tests/gate.sh BIN [BASELINE] --update   rewrite BASELINE from this build, on purpose
# scenarios/check/*.scn are model-checking demonstrations: `bin/sim check` must reach the verdict
# each arm expects.
set -u
bin=${1:?usage: tests/gate.sh BIN [BASELINE] [--update]}
baseline=${2:-scenarios/baseline.tsv}
mode=${3:-}
fail=0 n=0
for f in scenarios/*.scn scenarios/check/*.scn; do
	[ -f "$f" ] || continue
	case $f in
	scenarios/check/*)
		# Model-checking demonstrations: the verdicts the scenario expects (no metrics).
		[ "$mode" = "--update" ] && continue
		n=$((n + 1))
		mkdir -p build/trails
		if "$bin" check --quiet --no-db --trail-dir build/trails "$f" >build/gate.out 2>build/gate.err; then
			echo "ok   $f (check)"
		else
			echo "FAIL $f (check, exit $?)"
			sed 's/^/     /' build/gate.err; grep -E '^arm|expected' build/gate.out | sed 's/^/     /'
			fail=$((fail + 1))
		fi
		continue
		;;
	esac
	n=$((n + 1))
	if [ "$mode" = "--update" ]; then
		"$bin" --quiet --no-db --write-baseline "$baseline" "$f" >/dev/null 2>build/gate.err
		rc=$?
		# Exit 1 (an expectation failed) still records the values; anything else is an error.
		if [ $rc -gt 1 ]; then
			echo "FAIL $f (exit $rc)"; cat build/gate.err; fail=$((fail + 1))
		else
			echo "recorded $f"
		fi
		continue
	fi
	"$bin" --quiet --no-db --baseline "$baseline" "$f" >/dev/null 2>build/gate.err
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "ok   $f"
	else
		echo "FAIL $f (exit $rc)"
		sed 's/^/     /' build/gate.err
		fail=$((fail + 1))
	fi
done
echo "gate: $((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
