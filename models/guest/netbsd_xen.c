/*
 * netbsd_xen.c: the `netbsd` guest reader: NetBSD's Xen system-time timecounter, reading the
 * pvclock-format vcpu_time_info (Xen's layout is the pvclock ABI, REFERENCE 2).
 *
 * Source: NetBSD 10, sys/arch/xen/xen/xen_clock.c: xen_get_timecount() ->
 * xen_global_systime_ns() -> xen_vcputime_systime_ns(), with xen_vcputime_enter()/_exit() and
 * xen_tsc_to_ns_delta() (rev. 1.17; the same arithmetic as rev. 1.4 and as the 2018 Xen
 * clock.c it came from; REFERENCE 2.5).
 *
 * Around the common scaling (REFERENCE 2.4) the reader differs from Linux and FreeBSD:
 *  - it SPINS while the version is odd (SPINLOCK_BACKOFF_HOOK, a pause, between volatile
 *    re-reads) instead of retrying the whole read, then a compiler barrier
 *    (__insn_barrier: "we are racing only with interruption by the hypervisor"), copies
 *    system_time, tsc_timestamp, mul and shift, reads the TSC with a PLAIN rdtsc (no fence),
 *    a compiler barrier, and retries while the version changed;
 *  - a TSC below tsc_timestamp is NOT wrapped: the delta counts as 0 (event counter "cpu tsc
 *    ran backwards"); a scaled delta with bit 63 set is also taken as 0 ("tsc delta went
 *    negative"). The 64-bit scaling is d_hi * mul + (d_lo * mul >> 32), equal mod 2^64 to
 *    ((d * mul) >> 32);
 *  - per CPU: a value below that CPU's last becomes last + 1 (an equal value stays), and
 *    becomes the CPU's last;
 *  - globally: result = local + skew[cpu]; when that is below stamp + 1, result = stamp + 1
 *    and the shortfall is ADDED to skew[cpu] for good; a compare-and-swap publishes result as
 *    the stamp, and a failed one redoes everything, the vCPU read included (the skew already
 *    added stays). Results are strictly increasing across all CPUs, but a CPU that once lagged
 *    runs ahead of its own clock by its accumulated skew forever.
 * NetBSD keeps the stamp, the per-CPU last values and skews across a Xen suspend/resume
 * (xen_suspendclocks()/xen_resumeclocks() do not touch them), so this reader has no reset.
 * Without a clock page the read returns 0 as READ_FALLBACK.
 *
 * __insn_barrier() is a compiler barrier; here barrier(), a yield point like the barriers of
 * the other readers, where in-flight host stores can land between the version and the fields.
 */
#include <stdlib.h>

#include "guest/env.h"
#include "guest/reader.h"

#define READER_ENOMEM 4 /* VT_ENOMEM (sim/vt.h): an allocation failed */
#define __insn_barrier() barrier()

struct netbsd_xen {
	volatile u64 stamp; /* xen_global_systime_ns_stamp */
	u64 *last;          /* per CPU: ci_xen_last_systime_ns */
	u64 *skew;          /* per CPU: ci_xen_systime_ns_skew */
	unsigned ncpus;
};

static int netbsd_init(struct reader *r, const struct reader_ctx *ctx, const struct opt_set *opts)
{
	struct netbsd_xen *s = r->state;
	unsigned n = ctx->nvcpus ? ctx->nvcpus : 1;

	(void)opts;
	s->ncpus = n;
	s->last = calloc(n, sizeof(*s->last));
	s->skew = calloc(n, sizeof(*s->skew));
	if (!s->last || !s->skew)
		return READER_ENOMEM;
	return 0;
}

/* The stamp, and every CPU's last value and skew (dst was initialized for as many CPUs). */
static int netbsd_copy_state(struct reader *dst, const struct reader *src)
{
	struct netbsd_xen *d = dst->state;
	const struct netbsd_xen *s = src->state;

	if (d->ncpus != s->ncpus)
		return 1;
	d->stamp = s->stamp;
	for (unsigned i = 0; i < s->ncpus; i++) {
		d->last[i] = s->last[i];
		d->skew[i] = s->skew[i];
	}
	return 0;
}

static void netbsd_fini(struct reader *r)
{
	struct netbsd_xen *s = r->state;

	free(s->last);
	free(s->skew);
	s->last = s->skew = NULL;
}

/* xen_tsc_to_ns_delta(): shift, then d*m/2^32 = d_hi*m + (d_lo*m)/2^32 in 64-bit arithmetic.
 * `& 63` as the x86 shift instructions mask the count. */
static __always_inline u64 xen_tsc_to_ns_delta(u64 delta_tsc, u32 mul, s8 shift)
{
	u32 hi, lo;

	if (shift < 0)
		delta_tsc >>= (unsigned)-shift & 63u;
	else
		delta_tsc <<= (unsigned)shift & 63u;
	hi = (u32)(delta_tsc >> 32);
	lo = (u32)delta_tsc;
	return (u64)hi * mul + (((u64)lo * mul) >> 32);
}

/* xen_vcputime_systime_ns(): the vCPU's system time, never below its last one. */
static u64 xen_vcputime_systime_ns(struct netbsd_xen *s, unsigned cpu,
				   volatile struct pvclock_vcpu_time_info *vt)
{
	u64 ticket, raw_systime_ns, tsc_timestamp, tsc, delta_ns, systime_ns;
	u32 mul;
	s8 shift;

	do {
		/* xen_vcputime_enter() */
		while (unlikely(1 & (ticket = vt->version)))
			SPINLOCK_BACKOFF_HOOK;
		__insn_barrier();

		raw_systime_ns = vt->system_time;
		tsc_timestamp = vt->tsc_timestamp;
		mul = vt->tsc_to_system_mul;
		shift = vt->tsc_shift;
		tsc = rdtsc(); /* xen_rdtsc(): no fence */

		/* xen_vcputime_exit() */
		__insn_barrier();
	} while (ticket != vt->version);

	if (unlikely(tsc < tsc_timestamp))
		delta_ns = 0; /* "cpu tsc ran backwards": pretend it had not */
	else
		delta_ns = xen_tsc_to_ns_delta(tsc - tsc_timestamp, mul, shift);
	if (unlikely((s64)delta_ns < 0))
		delta_ns = 0; /* "tsc delta went negative" */
	systime_ns = raw_systime_ns + delta_ns;

	if (unlikely(s->last[cpu] > systime_ns))
		systime_ns = s->last[cpu] + 1; /* "raw systime went backwards" */
	s->last[cpu] = systime_ns;
	return systime_ns;
}

/* xen_global_systime_ns(). */
static enum read_status netbsd_read(struct reader *r, uint64_t *ns)
{
	struct netbsd_xen *s = r->state;
	volatile struct pvclock_vcpu_time_info *vt = this_cpu_pvti(); /* &curcpu()->ci_vcpu->time */
	unsigned cpu = cpu_index_curcpu();
	u64 local, skew, global, result;

	if (vt == NULL) {
		*ns = 0;
		return READ_FALLBACK;
	}
	do {
		local = xen_vcputime_systime_ns(s, cpu, vt);
		skew = s->skew[cpu];
		global = s->stamp;
		if (unlikely(local + skew < global + 1)) {
			result = global + 1; /* "timecounter went backwards" */
			s->skew[cpu] += global + 1 - (local + skew);
		} else {
			result = local + skew;
		}
	} while (atomic_cas_64(&s->stamp, global, result) != global);
	*ns = result;
	return READ_OK;
}

const struct reader_ops reader_netbsd = {
	.version = READER_OPS_VERSION,
	.name = "netbsd",
	.describe = "NetBSD 10 Xen timecounter: spins on an odd version, negative delta as 0, "
		    "per-CPU last+1, global stamp with a permanent per-CPU skew",
	.state_size = sizeof(struct netbsd_xen),
	.init = netbsd_init,
	.fini = netbsd_fini,
	.copy_state = netbsd_copy_state,
	.read = netbsd_read,
};
