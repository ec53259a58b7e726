/*
 * calc.c: `bin/sim calc FREQ... [--guest FREQ] [--json]`, which shows what the time-scale
 * arithmetic of real hypervisors (models/timescale.c) makes of given TSC frequencies: kvmclock's
 * (shift, mul) both ways, the Hyper-V reference TSC page scale KVM derives from it, and for a
 * guest frequency the VMX and SVM hardware scaling ratios and KVM's tolerance decision, each with
 * its error against exact arithmetic, as an aligned text block per host or as one JSON object.
 *
 * Frequencies are parsed exactly (decimal digits, no floating point) and must be a whole number
 * of Hz. Every value shown is computed in integers; each error is an exact rational number
 * (num / den, 128-bit) that only the final printing turns into a double (ppm and ns per day).
 */
#include "calc.h"

#include <math.h>
#include <string.h>

#include "timescale.h"

#define KHZ 1000ULL
/* KVM keeps TSC frequencies as u32 kHz (tsc_khz, virtual_tsc_khz; 0 means unknown). */
#define CALC_MAX_HZ (((uint64_t)UINT32_MAX + 1) * KHZ - 1)
#define NS_PER_DAY (86400.0 * 1e9)
#define HV_UNITS_PER_SEC 10000000ULL /* Hyper-V reference time counts 100 ns units */

/* An exact relative error num / den (den > 0): the conversion's rate over the exact rate, - 1. */
struct rel_err {
	s128 num;
	u128 den;
};

/* One pvclock (shift, mul) pair and what it makes of one second. */
struct conv {
	int8_t shift;
	uint32_t mul;
	uint64_t one_second; /* scaled units for 1 s of base ticks */
	struct rel_err err;
};

struct ratio {
	bool valid;
	bool zero;        /* refused because it rounds to 0 (else: at or above the maximum) */
	uint64_t ratio;
	struct rel_err err; /* of the guest clock rate host_hz * ratio / 2^N against guest_hz */
};

struct host_calc {
	const char *arg;
	uint64_t hz;
	struct conv tsc_ns; /* kvm_get_time_scale(1e9, hz): kvmclock's tsc_to_system_mul */
	struct conv ns_tsc; /* kvm_get_time_scale(hz, 1e9): KVM's virtual_tsc_mult */
	bool hv_valid;
	uint64_t hv_scale;
	uint64_t hv_one_second; /* 100 ns units for 1 s of ticks */
	struct rel_err hv_err;
	/* with --guest */
	bool guest;
	const char *guest_arg;
	uint64_t guest_hz, guest_khz, host_khz;
	bool within_tolerance;
	struct rel_err unscaled_err; /* the guest TSC at host rate, against guest_hz */
	struct ratio vmx, svm;
};

#define CALC_USAGE "usage: bin/sim calc FREQ... [--guest FREQ] [--json]\n"

/* A usage error: the one-line usage and where to find more. */
static int usage_error(FILE *err)
{
	fputs(CALC_USAGE "  (bin/sim calc --help for more)\n", err);
	return EXIT_BADINPUT;
}

static void usage(FILE *f)
{
	fputs(CALC_USAGE
	      "  For each host TSC frequency: kvmclock's shift and mul both ways (KVM's\n"
	      "  kvm_get_time_scale), the Hyper-V reference TSC page scale KVM derives from them,\n"
	      "  and with --guest the VMX 16.48 and SVM 8.32 TSC scaling ratios for a guest TSC of\n"
	      "  that frequency and whether KVM scales at all (250 ppm tolerance). Each comes with\n"
	      "  its error against exact arithmetic, in ppm and ns per day (negative: slow).\n"
	      "  FREQ: a decimal number with unit Hz, kHz, MHz or GHz (none: Hz), a whole number of\n"
	      "  Hz from 1kHz to 4294967295kHz, e.g. 2.5GHz, 2345678kHz, 3000000000. kvmclock and\n"
	      "  Hyper-V use it exactly; where KVM takes kHz (ratios, tolerance) it is floored.\n"
	      "  --json  print one JSON object instead\n",
	      f);
}

/* ---- frequencies -------------------------------------------------------------------------- */

static const struct {
	const char *name;
	unsigned exp10;
} freq_units[] = {
	{ "Hz", 0 },
	{ "kHz", 3 },
	{ "MHz", 6 },
	{ "GHz", 9 },
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Parses DIGITS[.DIGITS][UNIT] exactly into Hz: first the syntax, then the value
 * mantissa * 10^(unit exponent - fraction digits), where the mantissa is the digits without the
 * point and the fraction's trailing zeros. It must be an integer within [1 kHz, CALC_MAX_HZ].
 * At most 20 integer digits (after leading zeros) and 9 fraction digits can give such a value,
 * so the mantissa and the scaled value stay below 10^29 and u128 never wraps.
 * Returns VT_OK, or VT_EINPUT after a message on err naming the argument.
 */
static int parse_freq(const char *text, const char *what, uint64_t *hz, FILE *err)
{
	const char *p = text, *int_start = text, *int_end, *frac_start = NULL, *frac_end = NULL;
	unsigned exp10 = 0, nfrac = 0;
	u128 v = 0;
	size_t i;

	while (is_digit(*p))
		p++;
	int_end = p;
	if (int_end == int_start)
		goto junk;
	if (*p == '.') {
		frac_start = ++p;
		while (is_digit(*p))
			p++;
		frac_end = p;
		if (frac_end == frac_start)
			goto junk;
	}
	if (*p != '\0') {
		for (i = 0; i < VT_ARRAY_SIZE(freq_units); i++)
			if (strcmp(p, freq_units[i].name) == 0)
				break;
		if (i == VT_ARRAY_SIZE(freq_units))
			goto junk;
		exp10 = freq_units[i].exp10;
	}

	while (int_start < int_end - 1 && *int_start == '0')
		int_start++;
	if (int_end - int_start > 20)
		goto range;
	while (frac_end != NULL && frac_end > frac_start && frac_end[-1] == '0')
		frac_end--;
	if (frac_end != NULL)
		nfrac = (unsigned)(frac_end - frac_start);
	if (nfrac > exp10)
		goto fraction; /* a nonzero digit below 1 Hz */
	for (p = int_start; p < int_end; p++)
		v = v * 10 + (unsigned)(*p - '0');
	for (p = frac_start; p != NULL && p < frac_end; p++)
		v = v * 10 + (unsigned)(*p - '0');
	for (; nfrac < exp10; nfrac++)
		v *= 10;
	if (v < KHZ || v > CALC_MAX_HZ)
		goto range;
	*hz = (uint64_t)v;
	return VT_OK;

junk:
	fprintf(err, "calc: bad %s '%s': expected a decimal number with an optional unit Hz, kHz, "
		"MHz or GHz, e.g. 2.5GHz\n", what, text);
	return VT_EINPUT;
fraction:
	fprintf(err, "calc: bad %s '%s': not a whole number of Hz\n", what, text);
	return VT_EINPUT;
range:
	fprintf(err, "calc: bad %s '%s': out of range (1kHz to 4294967295kHz, KVM's 32-bit kHz)\n",
		what, text);
	return VT_EINPUT;
}

/* ---- the arithmetic ------------------------------------------------------------------------- */

/*
 * The rate error of (shift, mul) from kvm_get_time_scale(scaled_hz, base_hz): the conversion
 * multiplies by F = mul * 2^shift / 2^32 where scaled_hz / base_hz is exact, so
 *   F / exact - 1 = (mul * 2^shift * base - 2^32 * scaled) / (2^32 * scaled),
 * with both terms multiplied by 2^-shift when shift < 0 to stay integer. For frequencies up to
 * CALC_MAX_HZ (< 2^42) and 1e9 the terms stay below 2^100: mul * 2^shift * base is within a
 * factor 2 of 2^32 * scaled, and 2^-shift is at most about base / scaled.
 */
static struct rel_err conv_error(uint64_t scaled_hz, uint64_t base_hz, int8_t shift, uint32_t mul)
{
	struct rel_err e;
	u128 got = (u128)mul * base_hz;
	u128 want = (u128)scaled_hz << 32;

	if (shift >= 0)
		got <<= shift;
	else
		want <<= -shift;
	e.num = (s128)got - (s128)want;
	e.den = want;
	return e;
}

static void calc_conv(struct conv *c, uint64_t scaled_hz, uint64_t base_hz)
{
	kvm_get_time_scale(scaled_hz, base_hz, &c->shift, &c->mul);
	c->one_second = pvclock_scale_delta(base_hz, c->mul, c->shift);
	c->err = conv_error(scaled_hz, base_hz, c->shift, c->mul);
}

/*
 * The guest TSC rate host_hz * ratio / 2^frac_bits against guest_hz:
 *   (host_hz * ratio - guest_hz * 2^frac_bits) / (guest_hz * 2^frac_bits),
 * below 2^42 * 2^64 and 2^42 * 2^48: exact in 128 bits.
 */
static void calc_ratio(struct ratio *r, const struct host_calc *h, unsigned frac_bits,
		       uint64_t max_ratio)
{
	r->valid = tsc_ratio(h->guest_khz, h->host_khz, frac_bits, max_ratio, &r->ratio);
	r->zero = ((u128)h->guest_khz << frac_bits) / h->host_khz == 0;
	r->err.den = (u128)h->guest_hz << frac_bits;
	r->err.num = (s128)((u128)h->hz * r->ratio) - (s128)r->err.den;
}

static void calc_host(struct host_calc *h, const char *arg, uint64_t hz, const char *guest_arg,
		      uint64_t guest_hz)
{
	memset(h, 0, sizeof(*h));
	h->arg = arg;
	h->hz = hz;
	calc_conv(&h->tsc_ns, NS_PER_SEC, hz);
	calc_conv(&h->ns_tsc, hz, NS_PER_SEC);
	/* Hyper-V: 100 ns units per cycle, scale / 2^64 against exact 1e7 / hz. */
	h->hv_valid = hv_tsc_scale(h->tsc_ns.mul, h->tsc_ns.shift, &h->hv_scale);
	if (h->hv_valid) {
		h->hv_one_second = (uint64_t)(((u128)hz * h->hv_scale) >> 64); /* < hz * 2^64 >> 64 */
		h->hv_err.den = (u128)HV_UNITS_PER_SEC << 64;
		h->hv_err.num = (s128)((u128)hz * h->hv_scale) - (s128)h->hv_err.den;
	}
	if (guest_arg == NULL)
		return;
	/* KVM works in kHz (KVM_SET_TSC_KHZ, tsc_khz): floor. */
	h->guest = true;
	h->guest_arg = guest_arg;
	h->guest_hz = guest_hz;
	h->guest_khz = guest_hz / KHZ;
	h->host_khz = hz / KHZ;
	h->within_tolerance = kvm_tsc_within_tolerance(h->guest_khz, h->host_khz,
						       KVM_TSC_TOLERANCE_PPM);
	h->unscaled_err.num = (s128)hz - (s128)guest_hz;
	h->unscaled_err.den = guest_hz;
	calc_ratio(&h->vmx, h, VMX_TSC_FRAC_BITS, VMX_TSC_RATIO_MAX);
	calc_ratio(&h->svm, h, SVM_TSC_FRAC_BITS, SVM_TSC_RATIO_MAX);
}

/* ---- printing ------------------------------------------------------------------------------- */

/* The relative error as ppm and as ns per day (one IEEE division, then one multiply). The text
 * prints ppm with 6 significant digits (they range from 1e-13 to 1e4), ns per day with 3
 * significant digits below 1, one decimal below 1e6, none above. */
static double err_ppm(struct rel_err e)
{
	return (double)e.num / (double)e.den * 1e6;
}

static double err_ns_per_day(struct rel_err e)
{
	return (double)e.num / (double)e.den * NS_PER_DAY;
}

#define LABEL "%-21s"

static void print_err(FILE *out, const char *label, struct rel_err e)
{
	if (e.num == 0) {
		fprintf(out, "    " LABEL "exact\n", label);
		return;
	}
	double day = err_ns_per_day(e);

	fprintf(out, "    " LABEL "%+.6g ppm, ", label, err_ppm(e));
	if (fabs(day) < 1)
		fprintf(out, "%+.3g", day);
	else if (fabs(day) < 1e6)
		fprintf(out, "%+.1f", day);
	else
		fprintf(out, "%+.0f", day);
	fprintf(out, " ns/day (%s)\n", e.num < 0 ? "slow" : "fast");
}

static void print_conv(FILE *out, const char *title, const struct conv *c, const char *what,
		       const char *unit, uint64_t exact)
{
	fprintf(out, "  %s\n", title);
	fprintf(out, "    " LABEL "%d, 0x%08x (%u)\n", "shift, mul", c->shift, c->mul, c->mul);
	fprintf(out, "    " LABEL "%llu %s (exact %llu)\n", what,
		(unsigned long long)c->one_second, unit, (unsigned long long)exact);
	print_err(out, "error", c->err);
	/* The error above is the multiplier's (mul and shift as an exact rate). A negative shift
	 * also floors the input before the multiply; at very low rates that truncation dominates
	 * the reading and can even point the other way: say so rather than leave the two lines at
	 * odds. */
	if (c->one_second != exact &&
	    ((c->one_second < exact) != (c->err.num < 0) || c->err.num == 0)) {
		double ppm = ((double)c->one_second - (double)exact) / (double)exact * 1e6;

		fprintf(out, "    " LABEL "%+.6g ppm: the input is floored by the shift (%d) before "
			"the multiply, which the error above leaves out\n", "1 s reading",
			ppm, c->shift);
	}
}

static void print_ratio(FILE *out, const char *name, const struct ratio *r, uint64_t max_ratio)
{
	char label[40];

	if (!r->valid) {
		if (r->zero)
			fprintf(out, "    " LABEL "invalid: rounds to 0 (KVM refuses)\n", name);
		else
			fprintf(out, "    " LABEL "invalid: at or above the maximum 0x%llx (KVM refuses)\n",
				name, (unsigned long long)max_ratio);
		return;
	}
	fprintf(out, "    " LABEL "0x%016llx (%llu)\n", name, (unsigned long long)r->ratio,
		(unsigned long long)r->ratio);
	snprintf(label, sizeof(label), "%.*s error", (int)(strchr(name, ' ') - name), name);
	print_err(out, label, r->err);
}

static void print_text(FILE *out, const struct host_calc *h)
{
	fprintf(out, "host TSC %s = %llu Hz\n", h->arg, (unsigned long long)h->hz);
	print_conv(out, "kvmclock tsc->ns (kvm_get_time_scale(1e9, hz))", &h->tsc_ns,
		   "1 s of ticks reads", "ns", NS_PER_SEC);
	print_conv(out, "ns->tsc (kvm_get_time_scale(hz, 1e9), KVM's virtual_tsc_mult)", &h->ns_tsc,
		   "1 s of ns reads", "ticks", h->hz);
	fprintf(out, "  Hyper-V reference TSC page (from the tsc->ns mul, shift)\n");
	if (h->hv_valid) {
		fprintf(out, "    " LABEL "0x%016llx (%llu)\n", "scale",
			(unsigned long long)h->hv_scale, (unsigned long long)h->hv_scale);
		fprintf(out, "    " LABEL "%llu x 100 ns (exact %llu)\n", "1 s of ticks reads",
			(unsigned long long)h->hv_one_second, HV_UNITS_PER_SEC);
		print_err(out, "error", h->hv_err);
	} else {
		fprintf(out, "    " LABEL "invalid (sequence stays 0): mul >= 100 << (32 - shift)\n",
			"scale");
	}
	if (h->guest) {
		fprintf(out, "  guest TSC %s = %llu Hz (KVM: %llu kHz on a %llu kHz host)\n",
			h->guest_arg, (unsigned long long)h->guest_hz,
			(unsigned long long)h->guest_khz, (unsigned long long)h->host_khz);
		if (h->within_tolerance) {
			fprintf(out, "    " LABEL "no scaling: within KVM's %u ppm tolerance\n", "KVM",
				KVM_TSC_TOLERANCE_PPM);
			print_err(out, "at host rate, error", h->unscaled_err);
		} else {
			fprintf(out, "    " LABEL "scales: outside its %u ppm tolerance\n", "KVM",
				KVM_TSC_TOLERANCE_PPM);
		}
		print_ratio(out, "VMX 16.48 ratio", &h->vmx, VMX_TSC_RATIO_MAX);
		print_ratio(out, "SVM 8.32 ratio", &h->svm, SVM_TSC_RATIO_MAX);
	}
}

/* JSON numbers: %.10g keeps ten significant digits of tiny errors; exact zero prints 0. */
static void json_err(FILE *out, struct rel_err e)
{
	if (e.num == 0)
		fputs("\"error_ppm\": 0, \"error_ns_per_day\": 0", out);
	else
		fprintf(out, "\"error_ppm\": %.10g, \"error_ns_per_day\": %.10g", err_ppm(e),
			err_ns_per_day(e));
}

static void json_conv(FILE *out, const char *key, const struct conv *c)
{
	fprintf(out, "\"%s\": {\"shift\": %d, \"mul\": %u, \"mul_hex\": \"0x%08x\", "
		"\"one_second\": %llu, ", key, c->shift, c->mul, c->mul,
		(unsigned long long)c->one_second);
	json_err(out, c->err);
	fputs("}", out);
}

static void json_ratio(FILE *out, const char *key, const struct ratio *r)
{
	fprintf(out, "\"%s\": {\"valid\": %s", key, r->valid ? "true" : "false");
	if (!r->valid)
		fprintf(out, ", \"refused\": \"%s\"", r->zero ? "zero" : "maximum");
	if (r->valid) {
		fprintf(out, ", \"ratio\": %llu, \"ratio_hex\": \"0x%016llx\", ",
			(unsigned long long)r->ratio, (unsigned long long)r->ratio);
		json_err(out, r->err);
	}
	fputs("}", out);
}

/* Arguments were validated by parse_freq (digits, '.', a unit): nothing to escape. */
static void print_json(FILE *out, const struct host_calc *h, bool first)
{
	fprintf(out, "%s\n    {\"arg\": \"%s\", \"hz\": %llu,\n     ", first ? "" : ",", h->arg,
		(unsigned long long)h->hz);
	json_conv(out, "tsc_to_ns", &h->tsc_ns);
	fputs(",\n     ", out);
	json_conv(out, "ns_to_tsc", &h->ns_tsc);
	fprintf(out, ",\n     \"hyperv\": {\"valid\": %s", h->hv_valid ? "true" : "false");
	if (h->hv_valid) {
		fprintf(out, ", \"scale\": %llu, \"scale_hex\": \"0x%016llx\", "
			"\"one_second_100ns\": %llu, ", (unsigned long long)h->hv_scale,
			(unsigned long long)h->hv_scale, (unsigned long long)h->hv_one_second);
		json_err(out, h->hv_err);
	}
	fputs("}", out);
	if (h->guest) {
		fprintf(out, ",\n     \"guest\": {\"arg\": \"%s\", \"hz\": %llu, \"khz\": %llu, "
			"\"host_khz\": %llu, \"within_tolerance\": %s, \"unscaled\": {",
			h->guest_arg, (unsigned long long)h->guest_hz,
			(unsigned long long)h->guest_khz, (unsigned long long)h->host_khz,
			h->within_tolerance ? "true" : "false");
		json_err(out, h->unscaled_err);
		fputs("},\n       ", out);
		json_ratio(out, "vmx", &h->vmx);
		fputs(", ", out);
		json_ratio(out, "svm", &h->svm);
		fputs("}", out);
	}
	fputs("}", out);
}

/* ---- the command ---------------------------------------------------------------------------- */

/*
 * Two passes over the arguments: the first validates everything (so nothing is printed before a
 * usage error) and finds --guest and --json; the second prints one block per host frequency.
 */
int calc_main(int argc, char **argv, FILE *out, FILE *err)
{
	const char *guest_arg = NULL;
	uint64_t guest_hz = 0, hz;
	bool json = false, first = true;
	int nhosts = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(out);
			return fflush(out) == 0 && !ferror(out) ? EXIT_HELD : EXIT_IOERR;
		} else if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--guest") == 0 || strncmp(a, "--guest=", 8) == 0) {
			if (guest_arg != NULL) {
				fprintf(err, "calc: --guest given twice\n");
				return EXIT_BADINPUT;
			}
			if (a[7] == '=') {
				guest_arg = a + 8;
			} else if (i + 1 < argc) {
				guest_arg = argv[++i];
			} else {
				fprintf(err, "calc: --guest needs a frequency\n");
				return usage_error(err);
			}
			if (parse_freq(guest_arg, "guest frequency", &guest_hz, err) != VT_OK)
				return EXIT_BADINPUT;
		} else if (a[0] == '-' && !is_digit(a[1])) {
			fprintf(err, "calc: unknown option '%s'\n", a);
			return usage_error(err);
		} else {
			if (parse_freq(a, "frequency", &hz, err) != VT_OK)
				return EXIT_BADINPUT;
			nhosts++;
		}
	}
	if (nhosts == 0) {
		fprintf(err, "calc: no host TSC frequency given\n");
		return usage_error(err);
	}

	if (json)
		fprintf(out, "{\"tolerance_ppm\": %u, \"hosts\": [", KVM_TSC_TOLERANCE_PPM);
	for (int i = 1; i < argc; i++) {
		struct host_calc h;

		if (strcmp(argv[i], "--guest") == 0) {
			i++;
			continue;
		}
		if ((argv[i][0] == '-' && !is_digit(argv[i][1])) || parse_freq(argv[i], "frequency", &hz, err) != VT_OK)
			continue; /* options; the frequencies parsed in the first pass */
		calc_host(&h, argv[i], hz, guest_arg, guest_hz);
		if (json) {
			print_json(out, &h, first);
		} else {
			if (!first)
				fputc('\n', out);
			print_text(out, &h);
		}
		first = false;
	}
	if (json)
		fputs("\n]}\n", out);
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(err, "calc: writing the results failed\n");
		return EXIT_IOERR;
	}
	return EXIT_HELD;
}
