#!/bin/sh
# tests/fuzz.sh SECONDS: fuzzes the scenario parser (sim/scenario.c) for SECONDS seconds.
#
# With clang and a working libFuzzer, builds tests/fuzz_scenario.c with
# -fsanitize=fuzzer,address,undefined into build/fuzz/fuzz_scenario and runs libFuzzer on
# build/fuzz/corpus: a copy of the seeds in tests/corpus/scenario/ plus every input found by
# earlier runs (kept there, outside git). Otherwise (gcc only) builds the same target with
# -fsanitize=address,undefined and tests/fuzz_driver.c, which replays the corpus, then mutates
# it at random for SECONDS.
#
# VTSIM_FUZZ_DRIVER=1 forces the built-in driver (to test that path where libFuzzer works).
#
# Exits non-zero on any crash, sanitizer report, leak or hang; the input that did it is left in
# build/fuzz/ (libFuzzer: crash-*, leak-*, timeout-*; the driver: crash-input).
set -eu

secs=${1:-20}
case $secs in
'' | *[!0-9]*)
	echo "usage: $0 SECONDS" >&2
	exit 2
	;;
esac

cd "$(dirname "$0")/.."
out=build/fuzz
mkdir -p "$out/corpus"
cp tests/corpus/scenario/* "$out/corpus/"

STD="-std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE"
WARN="-Wall -Wextra -Wshadow -Wconversion -Wno-sign-conversion"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
SRC="sim/scenario.c tests/fuzz_scenario.c"

# True when clang can build and run a trivial libFuzzer target (the runtime is optional).
have_libfuzzer() {
	command -v clang >/dev/null 2>&1 || return 1
	cat >"$out/probe.c" <<'EOF'
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }
EOF
	clang -fsanitize=fuzzer,address,undefined "$out/probe.c" -o "$out/probe" >/dev/null 2>&1 ||
		return 1
	"$out/probe" -runs=1 >/dev/null 2>&1
}

if [ "${VTSIM_FUZZ_DRIVER:-0}" != 1 ] && have_libfuzzer; then
	echo "fuzz.sh: libFuzzer (clang) for ${secs}s on $out/corpus"
	# shellcheck disable=SC2086 # the flag lists are meant to split
	clang $STD $WARN -g -O1 -Isim $SAN -fsanitize=fuzzer $SRC -o "$out/fuzz_scenario"
	"$out/fuzz_scenario" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 \
		-artifact_prefix="$out/" -print_final_stats=1 "$out/corpus" 2>"$out/fuzz.log" || {
		rc=$?
		tail -n 60 "$out/fuzz.log" >&2
		echo "fuzz.sh: FAILED (exit $rc); the input is in $out/ (full log: $out/fuzz.log)" >&2
		exit 1
	}
	grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$out/fuzz.log" || true
else
	cc=gcc
	command -v gcc >/dev/null 2>&1 || cc=cc
	echo "fuzz.sh: no libFuzzer; built-in driver ($cc) for ${secs}s on $out/corpus"
	# shellcheck disable=SC2086 # the flag lists are meant to split
	$cc $STD $WARN -g -O1 -Isim $SAN $SRC tests/fuzz_driver.c -o "$out/fuzz_scenario_driver"
	timeout $((secs + 120)) "$out/fuzz_scenario_driver" -seconds="$secs" \
		-artifact="$out/crash-input" "$out/corpus" || {
		rc=$?
		echo "fuzz.sh: FAILED (exit $rc); the input is $out/crash-input" >&2
		exit 1
	}
fi
echo "fuzz.sh: no crash in ${secs}s"
