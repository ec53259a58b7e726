/*
 * kvm_unit_tests.c: the `kvm-unit-tests` guest reader: the kvmclock read of kvm-unit-tests'
 * kvmclock_test, which keeps the old (pre-2017) Linux clamp and a test-only raw mode.
 *
 * Source: kvm-unit-tests x86/kvmclock.c pvclock_clocksource_read() and kvm_clock_read() on
 * hv_clock[smp_id()], driven by x86/kvmclock_test.c main() (REFERENCE 2.5, 8).
 *
 * Around the common arithmetic (REFERENCE 2.4: the delta wraps, as in Linux) the reader:
 *  - reads the vCPU's own entry under the seqlock: v = version & ~1, smp_rmb(), then
 *    kvm-unit-tests' rdtsc_ordered() (a full mb() and a plain rdtsc), the fields, the flags,
 *    smp_rmb(), retry while version != v (an odd version always retries);
 *  - returns the value as is in raw mode (valid_flags has PVCLOCK_RAW_CYCLE_BIT, bit 7: the
 *    "raw cycle" passes of kvmclock_test, which report warps without failing), or when
 *    valid_flags has PVCLOCK_TSC_STABLE_BIT and the entry has it too;
 *  - otherwise clamps with the old Linux loop: last = atomic64_read(&last_value); do { if
 *    (ret < last) return last; last = atomic64_cmpxchg(&last_value, last, ret); } while
 *    (last != ret). An EQUAL value goes through the cmpxchg (unlike today's `ret <= last`), and
 *    a successful exchange returns the old value, so the loop runs one more (failing) cmpxchg
 *    before it sees last == ret.
 * Options: `raw` (default yes, the first pass of kvmclock_test); `trust_stable_bit`: auto is
 * what kvmclock_test does, pvclock_set_flags(PVCLOCK_TSC_STABLE_BIT) without any CPUID check,
 * i.e. trusted; yes/no force it. reset zeroes last_value (a fresh test run: kvm-unit-tests has
 * no resume path). Without a clock page the read returns 0 as READ_FALLBACK.
 *
 * The seqlock's version loads are plain in kvm-unit-tests; here they are READ_ONCE (yield
 * points), which only adds interleavings a real machine also allows.
 */
#include "guest/env.h"
#include "guest/reader.h"

/* The ABI structures are packed only to pin their layout; every field is naturally aligned. */
#pragma GCC diagnostic ignored "-Waddress-of-packed-member"

#define PVCLOCK_RAW_CYCLE_BIT (1u << 7) /* kvm-unit-tests x86/kvmclock.h: "Get raw cycle" */

static const struct opt_desc kut_options[] = {
	{ "raw", OPT_BOOL, "yes", NULL,
	  "PVCLOCK_RAW_CYCLE_BIT: no clamp at all, to expose raw warps (kvmclock_test's raw pass)" },
	{ "trust_stable_bit", OPT_ENUM, "auto", "auto|yes|no",
	  "valid_flags stable bit: auto = as kvmclock_test, set without a CPUID check" },
	{ 0 },
};

enum { TRUST_AUTO, TRUST_YES, TRUST_NO }; /* index into "auto|yes|no" */

struct kut_kvmclock {
	atomic64_t last_value; /* x86/kvmclock.c: static atomic64_t last_value */
	u8 valid_flags;        /* x86/kvmclock.c: valid_flags, from pvclock_set_flags() */
};

static int kut_init(struct reader *r, const struct reader_ctx *ctx, const struct opt_set *opts)
{
	struct kut_kvmclock *s = r->state;

	(void)ctx;
	s->valid_flags = 0;
	if (opt_get(opts, "trust_stable_bit") != TRUST_NO)
		s->valid_flags |= PVCLOCK_TSC_STABLE_BIT;
	if (opt_get(opts, "raw"))
		s->valid_flags |= PVCLOCK_RAW_CYCLE_BIT;
	return 0;
}

/* A fresh last_value, outside any read: a plain store. */
static void kut_reset(struct reader *r)
{
	struct kut_kvmclock *s = r->state;

	s->last_value.counter = 0;
}

/* scale_delta(): shift, then MUL; SHRD $32 (bits 32..95 of the 96-bit product). `& 63` as the
 * x86 shift instructions mask the count. */
static __always_inline u64 scale_delta(u64 delta, u32 mul_frac, int shift)
{
	if (shift < 0)
		delta >>= (unsigned)-shift & 63u;
	else
		delta <<= (unsigned)shift & 63u;
	return mul_u64_u64_shr(delta, mul_frac, 32);
}

/* pvclock_clocksource_read(). */
static u64 kut_clocksource_read(struct kut_kvmclock *s, const struct pvclock_vcpu_time_info *src)
{
	unsigned version;
	u64 ret, tsc, last;
	u8 flags;

	do {
		version = READ_ONCE(src->version) & ~1u; /* pvclock_read_begin */
		smp_rmb();
		mb(); /* kvm-unit-tests' rdtsc_ordered(): mb(); rdtsc() */
		tsc = rdtsc();
		ret = src->system_time +
		      scale_delta(tsc - src->tsc_timestamp, src->tsc_to_system_mul, src->tsc_shift);
		flags = src->flags;
		smp_rmb(); /* pvclock_read_retry */
	} while (version != READ_ONCE(src->version));

	if ((s->valid_flags & PVCLOCK_RAW_CYCLE_BIT) ||
	    ((s->valid_flags & PVCLOCK_TSC_STABLE_BIT) && (flags & PVCLOCK_TSC_STABLE_BIT)))
		return ret;

	last = (u64)atomic64_read(&s->last_value);
	do {
		if (ret < last)
			return last;
		last = (u64)atomic64_cmpxchg(&s->last_value, (s64)last, (s64)ret);
	} while (unlikely(last != ret));
	return ret;
}

/* kvm_clock_read(): this vCPU's hv_clock entry. */
static enum read_status kut_read(struct reader *r, uint64_t *ns)
{
	const struct pvclock_vcpu_time_info *src = this_cpu_pvti();

	if (src == NULL) {
		*ns = 0;
		return READ_FALLBACK;
	}
	*ns = kut_clocksource_read(r->state, src);
	return READ_OK;
}

const struct reader_ops reader_kvm_unit_tests = {
	.version = READER_OPS_VERSION,
	.name = "kvm-unit-tests",
	.describe = "kvm-unit-tests kvmclock_test read: old Linux clamp (ret < last, cmpxchg "
		    "loop), raw mode without clamp by default",
	.state_size = sizeof(struct kut_kvmclock),
	.options = kut_options,
	.init = kut_init,
	.reset = kut_reset,
	.read = kut_read,
};
