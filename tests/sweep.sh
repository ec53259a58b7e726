#!/bin/sh
# bin/sim sweep (issue 8): a grid run by local workers and merged gives the same results as its
# points run one by one, with -j 1 as with -j 4; a failing point is listed with its parameters
# and seed (exit 1); bad input is exit 2 before anything runs; a killed worker is reported
# (exit 3) and its run merged as incomplete; --emit-jobs writes commands that, run with sh and
# merged with bin/sim merge, give the same results again.
#   sh tests/sweep.sh BIN
#
# How results are compared, with no tool beyond sh, grep, sed, sort and cmp (sqlite3 and python3
# may be missing): bin/sim sweep --json prints one line per point with every arm's metrics and
# facts READ BACK FROM THE MERGED DATABASE, formatted as bin/sim run --json formats them, and
# bin/sim sweep --show ID --json does the same for any database (e.g. after bin/sim merge).
# canon reduces such lines to "POINT|arm tokens" (each arm's name, metrics and facts, in order);
# singles does the same for bin/sim run --json of each point on its own. Two result sets are equal
# when their sorted lines are.
#
# The killed worker uses the test hook VTSIM_SWEEP_TEST_KILL=K[:MS] (sim/sweep.c): the sweep
# SIGKILLs the K-th child it starts, MS milliseconds after starting it.
set -u
bin=${1:?usage: tests/sweep.sh BIN}
scn=tests/data/sweep/tiny.scn
w=build/sweep-test
out=$w/out err=$w/err
unset VTSIM_SWEEP_TEST_KILL
export VTSIM_DB="$w/default.db"
pass=0 fail=0
rm -rf "$w"
mkdir -p "$w"

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# A time limit for what could hang if the sweep lost a child (coreutils' timeout, when present).
if command -v timeout >/dev/null 2>&1; then limit="timeout 300"; else limit=; fi

# check NAME EXPECTED_EXIT [grep pattern for stdout or stderr] -- command...
check() {
	name=$1 want=$2 pat=$3
	shift 3
	$limit "$@" >"$out" 2>"$err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		bad "$name: exit $got, expected $want"; sed 's/^/     /' "$err" | head -n 5
		return
	fi
	if [ -n "$pat" ] && ! grep -q -- "$pat" "$out" "$err"; then
		bad "$name: output lacks '$pat'"; head -n 8 "$out" "$err"
		return
	fi
	ok "$name"
}

# same NAME FILE1 FILE2: the two result sets are equal (and not empty).
same() {
	if [ -s "$2" ] && cmp -s "$2" "$3"; then
		ok "$1"
	else
		bad "$1"; diff "$2" "$3" | head -n 6 | cut -c1-200
	fi
}

# Each arm's name, metrics and facts of one JSON object, space-separated, in order.
arms_of() { grep -oE '"name": "[^"]*"|"metrics": \{[^}]*\}|"facts": \{[^}]*\}' | tr '\n' ' '; }

# canon < JSON lines of a sweep (--json or --show --json): "POINT|arm tokens" per point, sorted.
canon() {
	while IFS= read -r line; do
		case $line in *'"point": '*) ;; *) continue ;; esac
		point=$(printf '%s\n' "$line" | sed 's/.*"point": "\([^"]*\)".*/\1/')
		printf '%s|%s\n' "$point" "$(printf '%s\n' "$line" | sed 's/.*"arms": //' | arms_of)"
	done | sort
}

# singles OUT SEEDS PATH1 "VALUES1" [PATH2 "VALUES2"] [-- --set ...]: every point of the grid
# run on its own with bin/sim run --json, as canon lines (the grid's --param paths and values as
# the sweep names them; values space-separated).
singles() {
	file=$1 seeds=$2 p1=$3 v1=$4 p2= v2=x
	shift 4
	if [ $# -ge 2 ] && [ "$1" != -- ]; then
		p2=$1 v2=$2
		shift 2
	fi
	[ "${1:-}" = -- ] && shift
	: >"$file.tmp"
	for a in $v1; do
		for b in $v2; do
			for seed in $seeds; do
				if [ -n "$p2" ]; then
					point="$p1=$a $p2=$b seed=$seed"
					set2="--set $p2=$b"
				else
					point="$p1=$a seed=$seed"
					set2=
				fi
				# $set2 unquoted on purpose: two words, or none.
				"$bin" run --quiet --no-db --json "$@" --set "$p1=$a" $set2 --seed "$seed" \
					"$scn" >"$w/single.json" 2>/dev/null
				{ printf '%s|' "$point"; arms_of <"$w/single.json"; echo; } >>"$file.tmp"
			done
		done
	done
	sort "$file.tmp" >"$file"
	rm -f "$file.tmp"
}

no_shards_left() {
	if ls -a "$w" | grep -q '^\.vtsim-'; then bad "$1: shard directory left behind"; else ok "$1"; fi
}

# 1. The sweep equals its points run one by one; -j 1 and -j 4 merge the same results.
grid="--param host.cpu.skew_ppm=0ppm..100ppm:50ppm --param sched.migrate_rate=50/s,80/s --seeds 1..2"
singles "$w/single" "1 2" host.cpu.skew_ppm "0ppm 50ppm 100ppm" sched.migrate_rate "50/s 80/s"
if [ "$(cut -d'|' -f2 "$w/single" | sort -u | wc -l)" -ge 6 ]; then
	ok "the grid's points differ (a meaningful comparison)"
else
	bad "the grid's points give the same metrics: the comparison would prove nothing"
fi
# $grid unquoted on purpose: it is several words.
check "sweep -j 2 --json" 0 '"runs_added": 12' "$bin" sweep "$scn" $grid -j 2 --json --db "$w/j2.db"
canon <"$out" >"$w/j2"
same "sweep results (read back from the merged database) = the points run one by one" \
	"$w/single" "$w/j2"
check "sweep -j 1" 0 '"held": 12' "$bin" sweep "$scn" $grid -j 1 --json --db "$w/j1.db"
canon <"$out" >"$w/j1"
check "sweep -j 4" 0 '"held": 12' "$bin" sweep "$scn" $grid -j 4 --json --db "$w/j4.db"
canon <"$out" >"$w/j4"
same "-j 1 and -j 4 give the same merged results" "$w/j1" "$w/j4"
same "-j 1 gives the results of the points run one by one" "$w/single" "$w/j1"
no_shards_left "shards deleted after the merge"

# 2. The summary: the sweep's ID, the points, how many held, how to rerun one; --show agrees.
check "summary" 0 "^12 held, 0 failed an expectation, 0 errored" \
	"$bin" sweep "$scn" $grid --quiet --db "$w/sum.db"
if grep -q "^sweep sweep-[0-9a-f]\{16\}: 12 points (3 values of host.cpu.skew_ppm x 2 values of sched.migrate_rate x 2 seeds)" "$out" &&
   grep -q "^rerun a point (the first): .* run $scn --set host.cpu.skew_ppm=0ppm --set sched.migrate_rate=50/s --seed 1$" "$out"; then
	ok "summary names the sweep, the grid and a rerun command"
else
	bad "summary"; cat "$out"
fi
id=$(sed -n 's/^sweep \(sweep-[0-9a-f]*\):.*/\1/p' "$out")
check "--show of a stored sweep" 0 "$id in $w/sum.db: 12 runs, 12 held" \
	"$bin" sweep --show "$id" --db "$w/sum.db"
check "--show of an unknown sweep" 2 "holds no run of sweep-0" \
	"$bin" sweep --show sweep-0000000000000000 --db "$w/sum.db"
check "without --seeds: the scenario's seed" 0 '"point": "duration=30ms seed=1"' \
	"$bin" sweep "$scn" --param duration=20ms,30ms --json --db "$w/noseeds.db"

# 3. Failing points are listed with their parameters and seed, and can be rerun as printed.
check "a failing point: exit 1" 1 "^failed an expectation (3):" \
	"$bin" sweep "$scn" --param sched.migrate_rate=0,50/s --seeds 1..3 -j 2 --db "$w/fail.db"
if grep -q "^  sched.migrate_rate=0 seed=2$" "$out" &&
   grep -q "expectation failed: gtsc-resume.lost_time_ns > 0" "$out" &&
   grep -q "^3 held, 3 failed an expectation, 0 errored" "$out"; then
	ok "failing points listed with their seeds and expectations"
else
	bad "failing points listing"; cat "$out"
fi
id=$(sed -n 's/^sweep \(sweep-[0-9a-f]*\):.*/\1/p' "$out")
sed -n 's/^      rerun: //p' "$out" | head -n 1 >"$w/rerun.sh"
check "the printed rerun command reproduces the failure" 1 "expectation failed" sh "$w/rerun.sh"
check "--show of the failing sweep: exit 1" 1 "3 failed an expectation" \
	"$bin" sweep --show "$id" --db "$w/fail.db"

# 4. Bad input: exit 2 with a clear message, before any worker starts (no database, no shards).
bad_input() {
	name=$1 pat=$2
	shift 2
	check "bad input: $name" 2 "$pat" "$bin" sweep "$scn" "$@" --db "$w/bad.db"
}
bad_input "empty range" "is empty" --param host.cpu.skew_ppm=100ppm..0ppm
bad_input "zero step" "step must be positive" --param host.cpu.skew_ppm=0ppm..100ppm:0ppm
bad_input "mixed units" "share one unit" --param host.cpu.skew_ppm=0ppm..1ms:1ppm
bad_input "not a number" "is not a number" --param duration=1s..x
bad_input "unknown key" "unknown key 'host.cpu.skw_ppm'" --param host.cpu.skw_ppm=1ppm,2ppm
bad_input "bad unit in a list" "the value '2xs': unknown unit 'xs'" --param duration=1s,2xs
bad_input "no PATH=" "expected PATH=VALUES" --param duration
bad_input "a value twice" "appears twice" --param duration=1s,1s
bad_input "empty seed range" "is empty" --seeds 3..1
bad_input "unknown --arm" "no such arm" --arm nope --param duration=1s,2s
bad_input "unknown option" "unknown option" --paramz duration=1s
bad_input "-j 0" "number of jobs" -j 0
if [ ! -e "$w/bad.db" ]; then ok "bad input writes no database"; else bad "bad input wrote $w/bad.db"; fi
no_shards_left "bad input leaves no shards"

# 5. A killed worker is reported as errored (exit 3); its 'running' run is merged as incomplete.
check "a worker killed mid-run: exit 3" 3 "^  duration=1000h seed=1: killed by signal 9" \
	env VTSIM_SWEEP_TEST_KILL=2:500 "$bin" sweep "$scn" --param duration=50ms,1000h,60ms -j 1 --db "$w/kill.db"
if grep -q "^2 held, 0 failed an expectation, 1 errored" "$out" &&
   grep -q "merged into $w/kill.db (1 incomplete" "$out"; then
	ok "the killed point's incomplete run is merged, the others held"
else
	bad "killed worker summary"; cat "$out"
fi
id=$(sed -n 's/^sweep \(sweep-[0-9a-f]*\):.*/\1/p' "$out")
check "--show lists the killed point as incomplete" 3 "^  duration=1000h seed=1  (run " \
	"$bin" sweep --show "$id" --db "$w/kill.db"
check "a worker killed at once (--json)" 3 '"status": "error", "exit": null, "signal": 9' \
	env VTSIM_SWEEP_TEST_KILL=1 "$bin" sweep "$scn" --param duration=20ms,30ms -j 2 --json --db "$w/kill2.db"
no_shards_left "a killed worker leaves no shards"

# 6. --emit-jobs: one command per point; run with sh, merged with bin/sim merge: the same results.
# A --set with blanks and a --param with brackets check the shell quoting.
check "--emit-jobs" 0 "then merge: .* merge $w/emit.db $w/shards/\*.db" \
	"$bin" sweep "$scn" --param 'host.cpu[1].skew_ppm=0ppm,25ppm' --set 'sched.migrate_rate = 80/s' \
	--seeds 1..2 --emit-jobs "$w/jobs.txt" --shard-dir "$w/shards" --db "$w/emit.db"
id=$(sed -n 's/^sweep \(sweep-[0-9a-f]*\):.*/\1/p' "$out")
if [ "$(wc -l <"$w/jobs.txt")" -eq 4 ]; then ok "--emit-jobs: one line per point"; else
	bad "--emit-jobs: $(wc -l <"$w/jobs.txt") lines for 4 points"; fi
check "the emitted jobs run with sh" 0 "" sh "$w/jobs.txt"
check "bin/sim merge of the jobs' databases" 0 "" sh -c "'$bin' merge '$w/emit.db' '$w/shards'/*.db"
check "--show of the merged jobs" 0 "" "$bin" sweep --show "$id" --db "$w/emit.db" --json
canon <"$out" >"$w/emitted"
singles "$w/emit-single" "1 2" 'host.cpu[1].skew_ppm' "0ppm 25ppm" -- --set 'sched.migrate_rate = 80/s'
same "emitted jobs + merge = the points run one by one" "$w/emit-single" "$w/emitted"
check "the same grid swept locally" 0 "" "$bin" sweep "$scn" --param 'host.cpu[1].skew_ppm=0ppm,25ppm' \
	--set 'sched.migrate_rate = 80/s' --seeds 1..2 --json --db "$w/local.db"
canon <"$out" >"$w/local"
same "emitted jobs + merge = the local sweep" "$w/local" "$w/emitted"

check "--emit-jobs --format slurm" 0 "sbatch" "$bin" sweep "$scn" --param duration=20ms,30ms \
	--seeds 1..2 --emit-jobs "$w/jobs.sh" --format slurm --shard-dir "$w/slurm"
if grep -q '^#SBATCH --array=0-3$' "$w/jobs.sh" && grep -q '^3) exec ' "$w/jobs.sh"; then
	ok "slurm script: an array of 4 tasks, one case each"
else
	bad "slurm script"; cat "$w/jobs.sh"
fi
check "a slurm task runs its point" 0 "" env SLURM_ARRAY_TASK_ID=2 sh "$w/jobs.sh"
if [ -s "$w/slurm/point-00002.db" ]; then ok "the slurm task wrote its database"; else
	bad "no $w/slurm/point-00002.db"; fi
check "a slurm task beyond the grid" 2 "no point 7" env SLURM_ARRAY_TASK_ID=7 sh "$w/jobs.sh"
check "--emit-jobs -: decimal ranges keep their unit" 0 "" "$bin" sweep "$scn" \
	--param duration=0.5ms..1.5ms:0.25ms,3ms --emit-jobs - --shard-dir "$w/shards2"
if [ "$(wc -l <"$out")" -eq 6 ] && grep -q "duration=0.75ms seed=1" "$out" &&
   grep -q " --set duration=1ms " "$out" && grep -q " --set duration=3ms " "$out"; then
	ok "range 0.5ms..1.5ms:0.25ms,3ms: 0.5ms 0.75ms 1ms 1.25ms 1.5ms 3ms"
else
	bad "decimal range"; cat "$out"
fi

# 7. A merge that fails keeps the shards and names them (exit 3), the points' results intact.
printf 'not a database\n' >"$w/garbage.db"
check "a failed merge: exit 3" 3 "^results: NOT merged into $w/garbage.db" \
	"$bin" sweep "$scn" --param duration=20ms,30ms --db "$w/garbage.db"
kept=$(sed -n 's/^  the shards are kept: .* merge .* \(.*\)\/\*\.db$/\1/p' "$out")
if [ -n "$kept" ] && ls "$kept"/shard-*.db >/dev/null 2>&1 && grep -q "^2 held" "$out"; then
	ok "a failed merge keeps the shards: $kept"
	rm -rf "$kept"
else
	bad "a failed merge: shards not named or not kept"; cat "$out"
fi

echo "sweep: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
