#!/bin/sh
# `bin/sim calc`: the kvmclock shift/mul and "1 s of ticks reads" of REFERENCE 2.3 for every
# frequency of its table, ns->tsc, the Hyper-V scale and its overflow, the VMX and SVM ratios and
# KVM's tolerance, --json, and the exit codes and messages of bad input.
#   tests/calc.sh BIN
set -u
bin=${1:?usage: tests/calc.sh BIN}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/calc-test.XXXXXX") || exit 3
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out err=$tmp/err
pass=0 fail=0

ok() { echo "ok   $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

# run EXPECTED_EXIT ARGS...: runs bin/sim calc ARGS into $out/$err; 0 if the exit code matches.
run() {
	want=$1
	shift
	"$bin" calc "$@" >"$out" 2>"$err"
	got=$?
	[ "$got" -eq "$want" ] && return 0
	echo "     'calc $*' exited $got, expected $want"; sed 's/^/     /' "$err" | head -n 3
	return 1
}

# section TITLE: the lines of the block that starts at TITLE, up to its "error" line.
section() {
	sed -n "/$1/,/^    error/p" "$out"
}

# table KHZ SHIFT MUL ONE_SECOND: REFERENCE 2.3, tsc->ns, printed exactly.
table() {
	name="table ${1} kHz: shift $2 mul $3, 1 s reads $4 ns"
	if ! run 0 "${1}kHz"; then bad "$name"; return; fi
	s=$(section 'kvmclock tsc->ns')
	m=$(printf '%d' "$3")
	if printf '%s\n' "$s" | grep -qxF "    shift, mul           $2, $3 ($m)" &&
	   printf '%s\n' "$s" | grep -qxF "    1 s of ticks reads   $4 ns (exact 1000000000)"; then
		ok "$name"
	else
		bad "$name"; printf '%s\n' "$s" | sed 's/^/     /'
	fi
}

table 1000000 1 0x80000000 1000000000
table 2345678 -1 0xda461657 999999999
table 2500000 -1 0xcccccccc 999999999
table 3000000 -1 0xaaaaaaaa 999999999
table 3400000 -1 0x96969696 999999999
table 100000 4 0xa0000000 1000000000
table 10000000 -3 0xcccccccc 999999999

# expect NAME PATTERN ARGS...: exit 0 and a line of stdout equal to PATTERN.
expect() {
	name=$1 pat=$2
	shift 2
	if run 0 "$@" && grep -qxF -- "$pat" "$out"; then ok "$name"; else
		bad "$name"; echo "     wanted: $pat"; head -n 40 "$out" | sed 's/^/     /'
	fi
}

# Units: the same frequency written four ways gives the same block.
"$bin" calc 2500000000 >"$tmp/a" 2>/dev/null
same=yes
[ -s "$tmp/a" ] || same=no
for f in 2.5GHz 2500MHz 2500000kHz 2500000000Hz 02.500GHz; do
	"$bin" calc "$f" 2>/dev/null | sed 1d >"$tmp/b"
	sed 1d "$tmp/a" | cmp -s - "$tmp/b" || same=no
done
name="units: 2.5GHz = 2500MHz = 2500000kHz = 2500000000Hz = 02.500GHz"
if [ "$same" = yes ]; then ok "$name"; else bad "$name"; fi

expect "header names the frequency in Hz" "host TSC 2.5GHz = 2500000000 Hz" 2.5GHz
expect "ns->tsc at 2.5 GHz: shift 2, mul 0.625" \
	"    shift, mul           2, 0xa0000000 (2684354560)" 2.5GHz
expect "ns->tsc at 3.4 GHz reads one cycle short" \
	"    1 s of ns reads      3399999999 ticks (exact 3400000000)" 3.4GHz
expect "kvmclock error at 2.5 GHz: slow by 0.23 ppb" \
	"    error                -0.000232831 ppm, -20116.6 ns/day (slow)" 2.5GHz
expect "exact conversion at 1 GHz" "    error                exact" 1GHz
expect "1 kHz: the reading's truncation, opposite to the scale's error, is said" \
	"    1 s reading          -1000 ppm: the input is floored by the shift (-19) before the multiply, which the error above leaves out" 1kHz
expect "Hyper-V scale at 2.5 GHz" \
	"    scale                0x010624dd2e147ae1 (73786976277658337)" 2.5GHz
expect "Hyper-V scale at 1 GHz: 2^64 / 100" \
	"    scale                0x028f5c28f5c28f5c (184467440737095516)" 1GHz
expect "Hyper-V page invalid at 10 MHz (mul = 100 << 25)" \
	"    scale                invalid (sequence stays 0): mul >= 100 << (32 - shift)" 10MHz
expect "Hyper-V page valid 1 Hz above" \
	"    scale                0xfffffe51eb851eb8 (18446742226530016952)" 10000001Hz

# Guest ratios: 2.6 GHz on 2.0 GHz is 1.3 = 1.0100110011...b.
expect "VMX 16.48 ratio, 2.6 GHz guest on 2.0 GHz" \
	"    VMX 16.48 ratio      0x00014ccccccccccc (365917469723852)" 2GHz --guest 2.6GHz
expect "SVM 8.32 ratio, 2.6 GHz guest on 2.0 GHz" \
	"    SVM 8.32 ratio       0x000000014ccccccc (5583457484)" 2GHz --guest=2.6GHz
expect "scaling outside the tolerance" \
	"    KVM                  scales: outside its 250 ppm tolerance" 2GHz --guest 2.6GHz
expect "identity ratio" "    VMX 16.48 ratio      0x0001000000000000 (281474976710656)" \
	2345678kHz --guest 2345678kHz
expect "no scaling at +250 ppm (2000500 kHz on 2000000 kHz)" \
	"    KVM                  no scaling: within KVM's 250 ppm tolerance" 2GHz --guest 2000500kHz
expect "scaling at +250.5 ppm (2000501 kHz on 2000000 kHz)" \
	"    KVM                  scales: outside its 250 ppm tolerance" 2GHz --guest 2000501kHz
expect "no scaling at -250 ppm" \
	"    KVM                  no scaling: within KVM's 250 ppm tolerance" 2GHz --guest 1999500kHz
expect "host-rate error when not scaled" \
	"    at host rate, error  -249.938 ppm, -21594601350 ns/day (slow)" 2GHz --guest 2000500kHz
expect "SVM ratio refused at 256x" \
	"    SVM 8.32 ratio       invalid: at or above the maximum 0xffffffffff (KVM refuses)" \
	1GHz --guest 256GHz
expect "VMX ratio still valid at 256x" \
	"    VMX 16.48 ratio      0x0100000000000000 (72057594037927936)" 1GHz --guest 256GHz
expect "smallest SVM ratio: 1 kHz on 4294967295 kHz is 1 ulp" \
	"    SVM 8.32 ratio       0x0000000000000001 (1)" 4294967295kHz --guest 1kHz
expect "kvmclock runs fast when base_hz loses bits in step 1" \
	"    error                +0.000499591 ppm, +43164.7 ns/day (fast)" 4294967295kHz

# Several hosts: one block each, in order.
if run 0 1GHz 2GHz 3GHz && [ "$(grep -c '^host TSC' "$out")" -eq 3 ] &&
   [ "$(grep '^host TSC' "$out" | sed -n 3p)" = "host TSC 3GHz = 3000000000 Hz" ]; then
	ok "three hosts, three blocks in order"
else
	bad "three hosts, three blocks in order"
fi

# --json: one valid object with the table's values.
if ! command -v python3 >/dev/null 2>&1; then
	echo "skip --json (no python3)"
elif run 0 --json 2345678kHz 10MHz --guest 2.6GHz && python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["tolerance_ppm"] == 250, d
h, l = d["hosts"]
assert h["hz"] == 2345678000 and h["arg"] == "2345678kHz", h
t = h["tsc_to_ns"]
assert (t["shift"], t["mul"], t["mul_hex"], t["one_second"]) == (-1, 0xda461657, "0xda461657", 999999999), t
assert t["error_ppm"] < 0 and t["error_ns_per_day"] < 0
assert h["ns_to_tsc"]["one_second"] == 2345677999
assert h["hyperv"]["valid"] and h["hyperv"]["scale"] == 0x11763f3a28f5c28
g = h["guest"]
assert g["khz"] == 2600000 and g["host_khz"] == 2345678 and not g["within_tolerance"], g
assert g["vmx"]["valid"] and g["svm"]["valid"] and g["svm"]["ratio"] == 4760634225, g
assert l["hyperv"] == {"valid": False}, l
assert l["guest"]["svm"] == {"valid": False, "refused": "maximum"}, l
assert l["guest"]["vmx"]["ratio"] == 0x104000000000000 and l["guest"]["vmx"]["error_ppm"] == 0
' "$out"; then ok "--json shape and values"; else bad "--json shape and values"; fi

# Bad input: exit 2 and a message naming the problem; nothing on stdout.
# err_case NAME PATTERN ARGS...
err_case() {
	name=$1 pat=$2
	shift 2
	if run 2 "$@" && grep -qF -- "$pat" "$err" && [ ! -s "$out" ]; then ok "$name"; else
		bad "$name"; echo "     wanted on stderr: $pat"; sed 's/^/     /' "$err" | head -n 3
	fi
}
err_case "no frequency" "calc: no host TSC frequency given" 
err_case "junk" "calc: bad frequency 'fast': expected a decimal number" fast
err_case "unknown unit" "calc: bad frequency '2.5ghz': expected" 2.5ghz
err_case "space before the unit" "bad frequency '2.5 GHz'" "2.5 GHz"
err_case "exponent" "bad frequency '1e9'" 1e9
err_case "negative" "bad frequency '-2GHz'" -2GHz
err_case "no digit after the point" "bad frequency '5.GHz'" 5.GHz
err_case "fraction of a Hz" "calc: bad frequency '1.5Hz': not a whole number of Hz" 1.5Hz
err_case "fraction of a Hz, no unit" "'2.5': not a whole number of Hz" 2.5
err_case "zero" "calc: bad frequency '0': out of range" 0
err_case "below 1 kHz" "'999Hz': out of range" 999Hz
err_case "above KVM's 32-bit kHz" "'4294967296kHz': out of range" 4294967296kHz
err_case "huge" "out of range" 99999999999999999999999999999GHz
err_case "bad guest" "calc: bad guest frequency 'x': expected" 2GHz --guest x
err_case "--guest without a value" "calc: --guest needs a frequency" 2GHz --guest
err_case "--guest twice" "calc: --guest given twice" 2GHz --guest 1GHz --guest 3GHz
err_case "unknown option" "calc: unknown option '--jsn'" --jsn 2GHz
err_case "a bad frequency after good ones" "'2x'" 1GHz 2GHz 2x
if run 0 --help && grep -q '^usage: bin/sim calc' "$out"; then ok "--help"; else bad "--help"; fi
if [ -w /dev/full ]; then
	"$bin" calc 2GHz >/dev/full 2>"$err"
	if [ $? -eq 3 ] && grep -q "writing the results failed" "$err"; then
		ok "stdout full: exit 3"
	else
		bad "stdout full: exit 3"
	fi
fi

echo "calc: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
