#!/bin/sh
# Runs every scenario in scenarios/ (not the included base files) and checks that its
# expectations hold (bin/sim exit 0). --long also runs heavy-load ten times longer.
#   tests/run-scenarios.sh BIN [--long]
set -u
bin=${1:?usage: tests/run-scenarios.sh BIN [--long]}
long=${2:-}
fail=0 n=0
for f in scenarios/*.scn scenarios/check/*.scn; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	cmd=""
	case $f in scenarios/check/*) cmd=check ;; esac
	mkdir -p build/trails
	if "$bin" $cmd --quiet --db build/scenarios.db ${cmd:+--trail-dir build/trails} "$f" >/dev/null 2>build/scenario.err; then
		echo "ok   $f"
	else
		rc=$?
		echo "FAIL $f (exit $rc)"
		sed 's/^/     /' build/scenario.err
		fail=$((fail + 1))
	fi
done
if [ "$long" = "--long" ]; then
	n=$((n + 1))
	if "$bin" --quiet --no-db --set duration=600s scenarios/heavy-load.scn >/dev/null; then
		echo "ok   scenarios/heavy-load.scn (600 s)"
	else
		echo "FAIL scenarios/heavy-load.scn (600 s)"; fail=$((fail + 1))
	fi
fi
echo "scenarios: $((n - fail)) passed, $fail failed"
[ "$fail" -eq 0 ]
