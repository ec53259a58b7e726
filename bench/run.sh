#!/bin/sh
# make bench: simulated events/s and guest reads/s on the read-heavy workload (median of 5 runs),
# and peak RSS as the simulated duration grows tenfold (it must stay flat).
#   bench/run.sh BIN
set -u
bin=${1:?usage: bench/run.sh BIN [NATIVE_BENCH]}
native=${2:-}
runs=5
stats() { "$bin" --quiet --stats --db build/bench.db "$@" 2>&1 >/dev/null | grep "^stats:"; }
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
field() { sed -n "s/.* $1 \([0-9.]*\).*/\1/p"; }

echo "== read storm (bench/read-storm.scn, $runs runs, median) =="
: >build/bench.runs
i=0
while [ $i -lt $runs ]; do stats bench/read-storm.scn >>build/bench.runs; i=$((i + 1)); done
ev=$(field events_per_s <build/bench.runs | median)
rd=$(field reads_per_s <build/bench.runs | median)
ns=$(awk -v r="$rd" 'BEGIN { printf "%.1f", 1e9 / r }')
echo "events/s: $ev    guest reads/s: $rd    ns per simulated read: $ns"

if [ -n "$native" ] && [ -x "$native" ]; then
	echo "== the same reader sources built natively (real rdtsc, real page) =="
	"$native" 2000000 | sed 's/^/  /'
fi

echo "== heavy-load.scn (60 s simulated, 2 arms) =="
stats scenarios/heavy-load.scn | sed 's/^stats: /  /'

echo "== memory: peak RSS as the simulated duration grows 10x =="
nodb() { "$bin" --quiet --stats --no-db "$@" 2>&1 >/dev/null | grep "^stats:"; }
r1=$(nodb --set duration=10s bench/read-storm.scn | field maxrss_kb)
r10=$(nodb --set duration=100s bench/read-storm.scn | field maxrss_kb)
echo "engine (--no-db): ${r1} kB at 10 s, ${r10} kB at 100 s (ratio $(awk -v a="$r1" -v b="$r10" 'BEGIN { printf "%.2f", b / a }'))"
r1=$(stats --set duration=10s bench/read-storm.scn | field maxrss_kb)
r10=$(stats --set duration=100s bench/read-storm.scn | field maxrss_kb)
echo "with the results database: ${r1} kB at 10 s, ${r10} kB at 100 s (the recording grows to its caps, then stays)"

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
