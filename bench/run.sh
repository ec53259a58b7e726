#!/bin/sh
# make bench (bench/README.md): fixed workloads, each with its figures, medians of 5 runs:
#   read storm       events/s, guest reads/s, ns per simulated read, peak RSS, and the ratio of
#                    the simulator's cost per read to the same reader source built natively
#                    (real rdtsc, real page), measured in the same run (target: 20 M reads/s
#                    per core, within 3x native)
#   migration storm  the same figures with the page writer and the vCPU state machine hot
#   heavy-load       the main scenario, and the share of its run time spent writing SQLite
#                    (target: under 10%)
#   memory           peak RSS as the simulated duration grows tenfold (target: flat)
#   model checker    schedules/s on a fixed model, time to the torn-read counterexample (< 1 s)
#   bench/run.sh BIN [NATIVE_BENCH]
set -u
bin=${1:?usage: bench/run.sh BIN [NATIVE_BENCH]}
native=${2:-}
runs=5
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
field() { sed -n "s/.* $1 \([0-9.]*\).*/\1/p"; }
nodb() { "$bin" --quiet --stats --no-db "$@" 2>&1 >/dev/null | grep "^stats:"; }
mkdir -p build

# bench NAME SCENARIO: median events/s, reads/s, ns/read, RSS over $runs runs (no database).
bench() {
	: >build/bench.runs
	i=0
	while [ $i -lt $runs ]; do nodb "$2" >>build/bench.runs; i=$((i + 1)); done
	ev=$(field events_per_s <build/bench.runs | median)
	rd=$(field reads_per_s <build/bench.runs | median)
	rss=$(field maxrss_kb <build/bench.runs | median)
	ns=$(awk -v r="$rd" 'BEGIN { printf "%.1f", 1e9 / r }')
	echo "$1: events/s $ev   guest reads/s $rd   ns per simulated read $ns   peak RSS ${rss} kB"
}

echo "== read storm (bench/read-storm.scn: 8 vCPUs, linux-kvmclock on KVM's writer, $runs runs) =="
bench "read storm" bench/read-storm.scn
if [ -n "$native" ] && [ -x "$native" ]; then
	"$native" 2000000 >build/bench.native
	sed 's/^/  native: /' build/bench.native
	nat=$(sed -n 's/^ *linux-kvmclock *\([0-9.]*\) ns\/read.*/\1/p' build/bench.native)
	[ -n "$nat" ] && echo "simulated / native cost per linux-kvmclock read: $ns / $nat ns = $(awk -v a="$ns" -v b="$nat" 'BEGIN { printf "%.2f", a / b }')x"
fi

echo "== migration storm (bench/migration-storm.scn: 5,000 migrations per vCPU per second) =="
bench "migration storm" bench/migration-storm.scn

echo "== heavy-load.scn (60 s simulated, 2 arms) =="
nodb scenarios/heavy-load.scn | sed 's/^stats: /  /'

echo "== the results database's share of a run (bin/sim --stats) =="
# Target: under 10% of the run's time. waited: the time the run waits for the database (opening,
# the run row, what the writer thread had left when the simulation ended, completing) over that
# plus the simulation; work: all the database's work, overlapped with the simulation or not, over
# that plus the simulation (what a run costs on one core). Median of 5; a fresh database each
# time (the first run's schema creation included), then appending to one that holds 5 runs.
# share_runs SCENARIO [fresh]: "waited W%, work K%", medians of 5 runs into build/bench-share.db
# (deleted before each run when "fresh").
share_runs() {
	: >build/bench.share
	: >build/bench.work
	i=0
	while [ $i -lt 5 ]; do
		[ "${2:-}" = fresh ] &&
			rm -f build/bench-share.db build/bench-share.db-wal build/bench-share.db-shm
		"$bin" --quiet --stats --db build/bench-share.db "$1" 2>&1 >/dev/null |
			grep "stats: database" >build/bench.line
		field db_share_pct <build/bench.line >>build/bench.share
		field work_pct <build/bench.line >>build/bench.work
		i=$((i + 1))
	done
	echo "waited $(median <build/bench.share)%, work $(median <build/bench.work)%"
}
share() {
	fresh=$(share_runs "$1" fresh)
	echo "$1: fresh database: $fresh; existing database: $(share_runs "$1")"
}
share bench/read-storm.scn
share bench/migration-storm.scn
share scenarios/heavy-load.scn
# The size of a database holding one heavy-load and one migration-storm run (checkpointed).
rm -f build/bench-size.db build/bench-size.db-wal build/bench-size.db-shm
"$bin" --quiet --db build/bench-size.db scenarios/heavy-load.scn >/dev/null 2>&1
"$bin" --quiet --db build/bench-size.db bench/migration-storm.scn >/dev/null 2>&1
echo "database size, heavy-load + migration storm: $(wc -c <build/bench-size.db) bytes"

echo "== memory: peak RSS as the simulated duration grows 10x =="
r1=$(nodb --set duration=2s bench/read-storm.scn | field maxrss_kb)
r10=$(nodb --set duration=20s bench/read-storm.scn | field maxrss_kb)
echo "engine (--no-db): ${r1} kB at 2 s, ${r10} kB at 20 s (ratio $(awk -v a="$r1" -v b="$r10" 'BEGIN { printf "%.2f", b / a }'))"
dbs() { "$bin" --quiet --stats --db build/bench.db "$@" 2>&1 >/dev/null | grep "^stats:"; }
r1=$(dbs --set duration=2s bench/read-storm.scn | field maxrss_kb)
r10=$(dbs --set duration=20s bench/read-storm.scn | field maxrss_kb)
echo "with the results database: ${r1} kB at 2 s, ${r10} kB at 20 s (the recording grows to its caps, then stays)"

echo "== model checker (bin/sim check; median of $runs) =="
# A fixed model searched exhaustively: schedules per second (every schedule re-runs the arm's
# world from boot: world_init, the boot updates, the coroutines), and the time to the torn-read
# counterexample (issue 7's target: under one second), shrinking included.
chk() { "$bin" check --quiet --no-db --trail-dir build "$@" 2>/dev/null; }
: >build/bench.chk
i=0
while [ $i -lt $runs ]; do
	chk --arm linux-clamp scenarios/check/warp-per-vcpu.scn |
		sed -n 's/.* \([0-9]*\) schedules, .* \([0-9.]*\) s;.*/\1 \2/p' >>build/bench.chk
	i=$((i + 1))
done
rate=$(awk '$2 > 0 { print $1 / $2 }' build/bench.chk | median)
n=$(head -n 1 build/bench.chk | cut -d' ' -f1)
echo "warp-per-vcpu, arm linux-clamp (exhaustive, $n schedules): $(printf '%.0f' "$rate") schedules/s"
: >build/bench.chk
i=0
while [ $i -lt $runs ]; do
	s=$(date +%s.%N)
	chk --arm naive scenarios/check/torn-pvclock.scn >/dev/null
	e=$(date +%s.%N)
	awk -v s="$s" -v e="$e" 'BEGIN { printf "%.4f\n", e - s }' >>build/bench.chk
	i=$((i + 1))
done
echo "torn-pvclock, arm naive: counterexample found, shrunk and printed in $(median <build/bench.chk) s (whole process)"
