#!/bin/sh
# bin/sim's command line: exit codes (0 held, 1 failed, 2 bad input, 3 I/O error), messages
# with file:line:col, --json, --set, --seed, --arm, --trace.
#   tests/cli.sh BIN
set -u
bin=${1:?usage: tests/cli.sh BIN}
d=tests/data/cli
out=build/cli.out err=build/cli.err
export VTSIM_DB=build/cli.db
pass=0 fail=0

# check NAME EXPECTED_EXIT [grep pattern for stderr|stdout] -- command...
check() {
	name=$1 want=$2 pat=$3
	shift 3
	"$@" >"$out" 2>"$err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL $name: exit $got, expected $want"; sed 's/^/     /' "$err" | head -n 5
		fail=$((fail + 1)); return
	fi
	if [ -n "$pat" ] && ! grep -q -- "$pat" "$out" "$err"; then
		echo "FAIL $name: output lacks '$pat'"; head -n 5 "$out" "$err"
		fail=$((fail + 1)); return
	fi
	echo "ok   $name"
	pass=$((pass + 1))
}

check "expectations hold" 0 "2 of 2 expectations held" "$bin" --quiet $d/small.scn
check "expectation fails" 1 "small.scn:9:1: expectation failed: gtsc-resume.lost_time_ns > 0" \
	"$bin" --quiet --set sched.migrate_rate=0 $d/small.scn
check "missing file" 2 "no-such.scn" "$bin" $d/no-such.scn
check "syntax error" 2 "syntax-error.scn:5:21: unit 'ppm' must follow" "$bin" $d/syntax-error.scn
check "unknown key in --set" 2 "unknown key 'host.cpu\\[1\\].skw_ppm'" \
	"$bin" --set host.cpu[1].skw_ppm=3 $d/small.scn
check "bad --set syntax" 2 "^--set:1:" "$bin" --set host.cpus $d/small.scn
check "unknown option" 2 "unknown option '--jsn'" "$bin" --jsn $d/small.scn
check "no scenario" 2 "usage:" "$bin"
check "a layer refuses its configuration" 2 "xen-freq.scn:5:5: arm xe: xen-emulate's TSC runs at 1 GHz" \
	"$bin" --quiet $d/xen-freq.scn
check "unknown --arm" 2 "no such arm" "$bin" --arm nope $d/small.scn
check "help" 0 "usage:" "$bin" --help
check "keys" 0 "host.cpu\[\].skew_ppm" "$bin" keys
check "list" 0 "gtsc-resume" "$bin" list
check "--arm filters" 0 "1 of 1 expectations held" "$bin" --quiet --arm ideal $d/small.scn
check "trace to a bad path" 3 "cannot write trace" "$bin" --trace /nonexistent/dir/t $d/small.scn
if [ -w /dev/full ]; then
	check "stdout full" 3 "writing the results failed" sh -c "'$bin' --quiet $d/small.scn >/dev/full"
fi

# Reader plugins: built against env.h, cached, a private copy per arm; clear errors (exit 2).
export VTSIM_CACHE="$PWD/build/plugin-cache"
rm -rf "$VTSIM_CACHE"
p=tests/data/plugin
check "plugin builds and runs, statics per arm" 0 "4 of 4 expectations held" "$bin" --quiet $p/two-arms.scn
if ls "$VTSIM_CACHE"/reader-*.so >/dev/null 2>&1; then
	echo "ok   plugin cached by hash"; pass=$((pass + 1)); else echo "FAIL plugin not cached"; fail=$((fail + 1)); fi
check "plugin from the cache" 0 "4 of 4 expectations held" "$bin" --quiet $p/two-arms.scn
check "plugin does not compile" 2 "load-bad.scn:5:38: reader plugin 'bad.c' failed to compile" \
	"$bin" --quiet $p/load-bad.scn
check "plugin compiler message shown" 2 "expected expression" "$bin" --quiet $p/load-bad.scn
check "plugin lacks the entry point" 2 "does not export the entry point" "$bin" --quiet $p/load-noentry.scn
check "plugin crashes at load" 2 "crashed while loading (signal 6" "$bin" --quiet $p/load-crash.scn
check "plugin file missing" 2 "cannot read" "$bin" --quiet --set 'arm.first.reader="nope.c"' $p/two-arms.scn

# A results database that cannot be used: the summary is still printed, exit 3.
check "database cannot be opened" 3 "2 of 2 expectations held" \
	"$bin" --quiet --db /nonexistent/dir/r.db $d/small.scn
check "database error is named" 3 "results database: /nonexistent/dir/r.db" \
	"$bin" --quiet --db /nonexistent/dir/r.db $d/small.scn
check "run stored" 0 "results: run [0-9a-f]* in build/cli.db" "$bin" $d/small.scn

# The regression gate: the committed baseline passes; a deliberately changed one fails and
# names the metric; a missing baseline is bad input.
check "gate passes on the baseline" 0 "" "$bin" --quiet --no-db --baseline scenarios/baseline.tsv \
	scenarios/heavy-load.scn
sed 's/^\(heavy-load	gtsc-resume	lost_time_ns	\).*/\11/' scenarios/baseline.tsv >build/cli.baseline
check "gate fails on a changed baseline" 1 "gtsc-resume  *lost_time_ns  *1 " \
	"$bin" --quiet --no-db --baseline build/cli.baseline scenarios/heavy-load.scn
check "gate with a missing baseline" 2 "cannot read the baseline" \
	"$bin" --quiet --no-db --baseline build/none.tsv scenarios/heavy-load.scn
"$bin" --quiet --no-db --write-baseline build/cli.new.tsv tests/data/cli/small.scn >/dev/null 2>&1
if grep -q "^small	gtsc-resume	lost_time_ns	[1-9]" build/cli.new.tsv; then
	echo "ok   --write-baseline"; pass=$((pass + 1)); else echo "FAIL --write-baseline"; fail=$((fail + 1)); fi

# --json is one valid object with the documented shape, and --seed changes only what it should.
"$bin" --quiet --json $d/small.scn >"$out" 2>"$err"
if ! command -v python3 >/dev/null 2>&1; then
	echo "skip --json shape (no python3)"
elif python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["scenario"] == "small" and d["seed"] == 1, d
a = {x["name"]: x for x in d["arms"]}
assert a["gtsc-resume"]["policy"] == "gtsc-resume" and a["ideal"]["reader"] == "tsc"
assert a["gtsc-resume"]["metrics"]["lost_time_ns"] > 0
assert a["ideal"]["expectations"] == [{"text": "ideal.lost_time_ns == 0", "held": True}]
assert d["failed"] == 0
' "$out"; then echo "ok   --json shape"; pass=$((pass + 1)); else echo "FAIL --json shape"; fail=$((fail + 1)); fi
"$bin" --quiet --json --seed 2 $d/small.scn >build/cli.seed2
if grep -q '"seed": 2' build/cli.seed2 && ! cmp -s "$out" build/cli.seed2; then
	echo "ok   --seed"; pass=$((pass + 1)); else echo "FAIL --seed"; fail=$((fail + 1)); fi

# --trace writes every event with true time, host CPU, vCPU, host and guest TSC.
"$bin" --quiet --trace build/cli.trace --set duration=5ms $d/small.scn >/dev/null
if grep -q '^[0-9]* guest-read cpu=[0-9] vcpu=[0-9] host_tsc=[0-9]* guest_tsc=[0-9]* chain=none ns=' build/cli.trace &&
   grep -q ' migrate-out ' build/cli.trace; then
	echo "ok   --trace"; pass=$((pass + 1)); else echo "FAIL --trace"; fail=$((fail + 1)); fi

# Model checking: verdicts as expected (0), an unexpected counterexample (1), replay, bad trails.
mkdir -p build/cli-trails
rm -f build/cli-trails/*.trail
check "check: verdicts as expected" 0 "4 of 4 arm(s) as expected" \
	"$bin" check --quiet --trail-dir build/cli-trails scenarios/check/torn-pvclock.scn
check "check: the counterexample is printed" 0 "vCPU 1's read #1 returned" \
	"$bin" check --quiet --no-db --trail-dir build/cli-trails --arm naive scenarios/check/torn-pvclock.scn
check "replay reproduces it" 0 "reproduced: no_torn violated" \
	"$bin" replay build/cli-trails/torn-pvclock.naive.trail
check "check: an unexpected counterexample" 1 "(expected: holds)" \
	"$bin" check --quiet --no-db --trail-dir build/cli-trails --arm naive \
	--set arm.naive.check.expect=holds scenarios/check/torn-pvclock.scn
check "replay of a trail whose scenario expected none" 1 "reproduced" \
	"$bin" replay build/cli-trails/torn-pvclock.naive.trail
check "check: BFS" 0 "bfs," "$bin" check --quiet --no-db --strategy bfs --arm naive \
	--trail-dir build/cli-trails scenarios/check/torn-pvclock.scn
check "check: PCT" 0 "pct," "$bin" check --quiet --no-db --strategy pct --schedules 2000 \
	--arm naive --trail-dir build/cli-trails scenarios/check/torn-pvclock.scn
check "check: bad strategy" 2 "expected dfs, bfs, random or pct" \
	"$bin" check --strategy dfz scenarios/check/torn-pvclock.scn
check "check: bad property" 2 "expected a property" \
	"$bin" check --no-db --set 'check.properties=[speed]' scenarios/check/torn-pvclock.scn
check "replay: missing trail" 2 "cannot read trail" "$bin" replay build/no-such.trail
printf 'not a trail\n' >build/cli-trails/bad.trail
check "replay: not a trail" 2 "not a vtsim trail" "$bin" replay build/cli-trails/bad.trail

# The README's key reference is the key table itself.
sed -n '/<!-- keys:begin -->/,/<!-- keys:end -->/p' README.md | grep '^|' >build/readme.keys
"$bin" keys --markdown >build/keys.md
if cmp -s build/readme.keys build/keys.md; then
	echo "ok   README key reference matches bin/sim keys"; pass=$((pass + 1))
else
	echo "FAIL README key reference differs from bin/sim keys --markdown:"
	diff build/readme.keys build/keys.md | head -n 10; fail=$((fail + 1))
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
