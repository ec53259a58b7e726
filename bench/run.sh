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
