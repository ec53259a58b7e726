/*
 * freebsd_pvclock.c: the `freebsd` guest reader: FreeBSD's kvmclock timecounter.
 *
 * Source: FreeBSD 14, sys/x86/x86/pvclock.c pvclock_read_time_info() and the clamp of
 * pvclock_getsystime() (the same in pvclock_get_timecount()), reached from
 * pvclock_tc_get_timecount() on pvc->timeinfos[curcpu] (sys/x86/x86/kvm_clock.c; REFERENCE 2.5).
 *
 * Around the common arithmetic (REFERENCE 2.4: the delta wraps, no clamp of a TSC below
 * tsc_timestamp) the reader:
 *  - reads the vCPU's own entry: version by an acquire load, ordered RDTSC, the fields, the
 *    flags, an acquire fence, then retries while the re-read version is odd OR differs (the
 *    two re-reads in the condition are plain loads after the fence);
 *  - returns the value as is when the ENTRY's PVCLOCK_TSC_STABLE_BIT is set: FreeBSD trusts the
 *    page flag alone, no CPUID check (unlike Linux's valid_flags);
 *  - otherwise clamps through one global pvclock_last_systime: `last > now` returns last, else
 *    a compare-and-set (fcmpset, which reloads last on failure) publishes now. So an equal
 *    value goes through the compare-and-set, unlike Linux's `ret <= last`.
 * pvclock_resume() (reset) stores 0 in pvclock_last_systime. The timecounter hands the low 32
 * bits to the kern_tc.c machinery; this reader returns the 64-bit nanoseconds it stands for.
 * Without a clock page the read returns 0 as READ_FALLBACK.
 */
#include "guest/env.h"
#include "guest/reader.h"

/* The ABI structures are packed only to pin their layout; every field is naturally aligned in
 * the page, so passing a field's address to the atomic loads is safe. */
#pragma GCC diagnostic ignored "-Waddress-of-packed-member"

struct freebsd_pvclock {
	volatile u64 last_systime; /* pvclock.c: static volatile uint64_t pvclock_last_systime */
};

/* pvclock_resume(): atomic_store_rel_64(&pvclock_last_systime, 0), outside any read. */
static void freebsd_reset(struct reader *r)
{
	struct freebsd_pvclock *s = r->state;

	s->last_systime = 0;
}

/* pvclock_scale_delta(): shift, then the 64x32 multiply keeping bits 32..95 (MULQ; SHRD $32).
 * `& 63` as the x86 shift instructions mask the count. */
static __always_inline u64 pvclock_scale_delta(u64 delta, u32 mul_frac, int shift)
{
	if (shift < 0)
		delta >>= (unsigned)-shift & 63u;
	else
		delta <<= (unsigned)shift & 63u;
	return mul_u64_u64_shr(delta, mul_frac, 32);
}

/* pvclock_read_time_info(). */
static void pvclock_read_time_info(struct pvclock_vcpu_time_info *ti, u64 *ns, u8 *flags)
{
	u64 delta;
	u32 version;

	do {
		version = atomic_load_acq_32(&ti->version);
		delta = rdtsc_ordered() - ti->tsc_timestamp;
		*ns = ti->system_time +
		      pvclock_scale_delta(delta, ti->tsc_to_system_mul, ti->tsc_shift);
		*flags = ti->flags;
		atomic_thread_fence_acq();
	} while ((ti->version & 1) != 0 || ti->version != version);
}

static enum read_status freebsd_read(struct reader *r, uint64_t *ns)
{
	struct freebsd_pvclock *s = r->state;
	struct pvclock_vcpu_time_info *ti = this_cpu_pvti(); /* critical_enter(); [curcpu] */
	u64 now, last, ret;
	u8 flags;

	if (ti == NULL) {
		*ns = 0;
		return READ_FALLBACK;
	}
	pvclock_read_time_info(ti, &now, &flags);
	ret = now;
	if ((flags & PVCLOCK_TSC_STABLE_BIT) == 0) {
		last = atomic_load_acq_64(&s->last_systime);
		do {
			if (last > now) {
				ret = last;
				break;
			}
		} while (!atomic_fcmpset_64(&s->last_systime, &last, now)); /* _rel_ in FreeBSD */
	}
	*ns = ret;
	return READ_OK;
}

const struct reader_ops reader_freebsd = {
	.version = READER_OPS_VERSION,
	.name = "freebsd",
	.describe = "FreeBSD 14 pvclock timecounter: odd/changed version retry, global clamp "
		    "(last > now) unless the entry's stable flag is set",
	.state_size = sizeof(struct freebsd_pvclock),
	.reset = freebsd_reset,
	.read = freebsd_read,
};
