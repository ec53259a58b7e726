/*
 * linux_kvmclock.c: the `linux-kvmclock` guest reader: Linux's kvm-clock clocksource, the read
 * every in-kernel clock (and clock_gettime when the vDSO cannot serve it) goes through.
 *
 * Source: Linux 6.12, arch/x86/kernel/kvmclock.c kvm_clock_read() ->
 * arch/x86/kernel/pvclock.c __pvclock_clocksource_read() on this_cpu_pvti(), with the seqlock
 * helpers pvclock_read_begin()/pvclock_read_retry() and __pvclock_read_cycles() of
 * arch/x86/include/asm/pvclock.h (REFERENCE 2.4, 2.5).
 *
 * Around the common arithmetic (REFERENCE 2.4: d = (tsc - tsc_timestamp) mod 2^64, shifted by
 * tsc_shift, ns = system_time + (d * mul) >> 32; a TSC below tsc_timestamp wraps to a huge delta,
 * Linux does not clamp it) the reader:
 *  - reads the vCPU's own entry under its seqlock: v = version & ~1, read barrier, ordered RDTSC,
 *    the fields, the flags, read barrier, retry while version != v (so an odd version, being
 *    != v, always retries);
 *  - clears a GUEST_STOPPED flag it sees, in the page (see the note at pvclock_read below);
 *  - returns the value as is when the guest trusts the stable bit (valid_flags: CPUID
 *    0x40000001.EAX bit 24, KVM_FEATURE_CLOCKSOURCE_STABLE_BIT, which kvmclock_init() turns into
 *    pvclock_set_flags(PVCLOCK_TSC_STABLE_BIT) at boot) AND the entry has PVCLOCK_TSC_STABLE_BIT;
 *  - otherwise clamps through ONE global last_value shared by every vCPU: a value <= last
 *    returns last, else a compare-and-swap publishes it (retried against a concurrent update).
 * pvclock_resume() (reset) zeroes last_value. Option `trust_stable_bit` forces valid_flags.
 * Without a clock page (kvmclock not registered) the read returns 0 as READ_FALLBACK.
 *
 * The seqlock's version loads are plain in Linux; here they are READ_ONCE, i.e. yield points,
 * which only adds interleavings a real machine also allows (a host store landing just before
 * the load).
 */
#include <stdlib.h>

#include "guest/env.h"
#include "guest/reader.h"

/* The ABI structures are packed only to pin their layout: every field sits at its natural
 * alignment in a page-aligned array, so taking a field's address for READ_ONCE is safe. Linux
 * builds with -Wno-address-of-packed-member for the same reason. */
#pragma GCC diagnostic ignored "-Waddress-of-packed-member"

/* Options, shared with linux-vdso, whose fallback is this very clocksource. */
extern const struct opt_desc linux_kvmclock_options[];
const struct opt_desc linux_kvmclock_options[] = {
	{ "trust_stable_bit", OPT_ENUM, "auto", "auto|yes|no",
	  "valid_flags: auto = CPUID KVM_FEATURE_CLOCKSOURCE_STABLE_BIT at the first read" },
	{ 0 },
};

enum { TRUST_AUTO, TRUST_YES, TRUST_NO }; /* index into "auto|yes|no" */

struct linux_kvmclock {
	atomic64_t last_value;  /* pvclock.c: static atomic64_t last_value, one per guest */
	u8 valid_flags;         /* pvclock.c: valid_flags, set once at boot */
	bool valid_flags_set;   /* CPUID consulted (the first read stands for boot) */
	int trust;              /* TRUST_* */
	u64 guest_stopped_seen; /* reads that found (and cleared) PVCLOCK_GUEST_STOPPED */
};

static int kvmclock_init(struct reader *r, const struct reader_ctx *ctx,
			 const struct opt_set *opts)
{
	struct linux_kvmclock *s = r->state;

	(void)ctx;
	s->trust = (int)opt_get(opts, "trust_stable_bit");
	if (s->trust != TRUST_AUTO) {
		s->valid_flags = s->trust == TRUST_YES ? PVCLOCK_TSC_STABLE_BIT : 0;
		s->valid_flags_set = true;
	}
	return 0;
}

/* pvclock_resume(): atomic64_set(&last_value, 0). Called outside any read, where there is no
 * guest environment to yield to: a plain store. */
static void kvmclock_reset(struct reader *r)
{
	struct linux_kvmclock *s = r->state;

	s->last_value.counter = 0;
}

/* pvclock_scale_delta(): delta shifted by tsc_shift, times the 32.32 fraction mul_frac, >> 32
 * (mul_u64_u32_shr). Exact: the 96-bit product is formed in 128 bits, then truncated to 64 bits
 * as the kernel's MUL/SHRD pair does. `& 63` is what the x86 shift instructions do with the
 * count; kvm_get_time_scale's shifts lie well within [-32, 32]. */
static __always_inline u64 pvclock_scale_delta(u64 delta, u32 mul_frac, int shift)
{
	if (shift < 0)
		delta >>= (unsigned)-shift & 63u;
	else
		delta <<= (unsigned)shift & 63u;
	return mul_u64_u64_shr(delta, mul_frac, 32);
}

/* __pvclock_read_cycles(): system_time + scaled (tsc - tsc_timestamp), mod 2^64. */
static __always_inline u64 pvclock_read_cycles(const struct pvclock_vcpu_time_info *src, u64 tsc)
{
	u64 delta = tsc - src->tsc_timestamp;

	return src->system_time + pvclock_scale_delta(delta, src->tsc_to_system_mul, src->tsc_shift);
}

/*
 * __pvclock_clocksource_read(src, dowd = true).
 *
 * GUEST_STOPPED: in 6.12 kvm_clock_read() calls the _nowd variant and the flag is cleared by
 * kvm_check_and_clear_guest_paused() from the lockup watchdogs; Xen's clocksource and the
 * dowd variant clear it in the read, as here. The value returned is the same either way; the
 * page's flag is cleared at the first read that sees it instead of at the next watchdog tick.
 */
static u64 pvclock_read(struct linux_kvmclock *s, struct pvclock_vcpu_time_info *src)
{
	unsigned version;
	u64 ret, tsc;
	s64 last;
	u8 flags;

	do {
		version = READ_ONCE(src->version) & ~1u; /* pvclock_read_begin */
		virt_rmb();
		tsc = rdtsc_ordered();
		ret = pvclock_read_cycles(src, tsc);
		flags = src->flags;
		virt_rmb(); /* pvclock_read_retry */
	} while (unlikely(READ_ONCE(src->version) != version));

	if (unlikely((flags & PVCLOCK_GUEST_STOPPED) != 0)) {
		src->flags &= (u8)~PVCLOCK_GUEST_STOPPED;
		s->guest_stopped_seen++; /* pvclock_touch_watchdogs() */
	}

	if ((s->valid_flags & PVCLOCK_TSC_STABLE_BIT) && (flags & PVCLOCK_TSC_STABLE_BIT))
		return ret;

	/* One global accumulator: never return less than any vCPU returned before. */
	last = raw_atomic64_read(&s->last_value);
	do {
		if (ret <= (u64)last)
			return (u64)last;
	} while (!raw_atomic64_try_cmpxchg(&s->last_value, &last, (s64)ret));
	return ret;
}

static enum read_status kvmclock_read(struct reader *r, uint64_t *ns)
{
	struct linux_kvmclock *s = r->state;
	struct pvclock_vcpu_time_info *src;

	/* kvmclock_init() at boot: pvclock_set_flags() from CPUID, once. */
	if (unlikely(!s->valid_flags_set)) {
		s->valid_flags = kvm_para_has_feature(KVM_FEATURE_CLOCKSOURCE_STABLE_BIT)
					 ? PVCLOCK_TSC_STABLE_BIT
					 : 0;
		s->valid_flags_set = true;
	}
	src = this_cpu_pvti(); /* kvm_clock_read(): preempt_disable_notrace(), this CPU's entry */
	if (unlikely(!src)) {
		*ns = 0;
		return READ_FALLBACK;
	}
	*ns = pvclock_read(s, src);
	return READ_OK;
}

const struct reader_ops reader_linux_kvmclock = {
	.version = READER_OPS_VERSION,
	.name = "linux-kvmclock",
	.describe = "Linux 6.12 kvm-clock: pvclock seqlock read, global last_value clamp unless "
		    "the stable bit is trusted and set",
	.state_size = sizeof(struct linux_kvmclock),
	.options = linux_kvmclock_options,
	.init = kvmclock_init,
	.reset = kvmclock_reset,
	.read = kvmclock_read,
};
