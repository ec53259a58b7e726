/*
 * linux_vdso.c: the `linux-vdso` guest reader: clock_gettime() in a Linux guest's user space,
 * through the vDSO's pvclock mode, with its fall back to the system call.
 *
 * Source: Linux 6.12, arch/x86/include/asm/vdso/gettimeofday.h vread_pvclock(), called from
 * __arch_get_hw_counter() for VDSO_CLOCKMODE_PVCLOCK; lib/vdso/gettimeofday.c falls back to the
 * clock_gettime system call when it returns U64_MAX (REFERENCE 2.5).
 *
 * Around the common arithmetic (REFERENCE 2.4, identical to the kernel's: the delta wraps) the
 * vDSO:
 *  - reads vCPU 0's entry (pvclock_page, the mapping of pvclock_get_pvti_cpu0_va()) from
 *    whichever vCPU it runs on: user space cannot know its CPU reliably, so the kernel offers
 *    this mode only when the host promises that every vCPU can use vCPU 0's entry, which is
 *    what PVCLOCK_TSC_STABLE_BIT means;
 *  - under the same seqlock as the kernel (v = version & ~1, read barrier ... read barrier,
 *    retry while version != v), checks the flags right after the first barrier and refuses
 *    (U64_MAX) when the stable bit is clear; otherwise ordered RDTSC and the scaling;
 *  - never clamps, and masks the result to 63 bits (ret & S64_MAX).
 * A refusal is the system call: the kernel's kvm-clock read on the reading vCPU's OWN entry
 * with the global last_value clamp, i.e. the `linux-kvmclock` reader, whose instance (and so
 * whose last_value) this reader embeds; its value is returned as READ_FALLBACK. Without a clock
 * page the kernel never enables the pvclock vDSO mode, so every read is the system call (which
 * then finds no page either: 0, READ_FALLBACK). The boot-time check of
 * kvm_setup_vsyscall_timeinfo() (the mode is enabled only if vCPU 0's entry had the stable bit
 * at boot) is not modelled: choosing this reader means the mode was enabled.
 * Options are the kernel clocksource's (`trust_stable_bit`), for the fallback.
 */
#include <stdlib.h>

#include "guest/env.h"
#include "guest/reader.h"

/* See linux_kvmclock.c: the packed ABI fields are naturally aligned. */
#pragma GCC diagnostic ignored "-Waddress-of-packed-member"

#define READER_ENOMEM 4 /* VT_ENOMEM (sim/vt.h): an allocation failed */
#define VDSO_S64_MAX 0x7fffffffffffffffull

extern const struct reader_ops reader_linux_kvmclock;
extern const struct opt_desc linux_kvmclock_options[];

struct linux_vdso {
	struct reader kernel; /* the kernel's kvm-clock, the system call's clocksource */
};

/* The kernel clocksource's state (flat: last_value and the flags). */
static int vdso_copy_state(struct reader *dst, const struct reader *src)
{
	const struct linux_vdso *s = src->state;
	struct linux_vdso *d = dst->state;
	const unsigned char *from = s->kernel.state;
	unsigned char *to = d->kernel.state;

	for (size_t i = 0; i < reader_linux_kvmclock.state_size; i++)
		to[i] = from[i];
	return 0;
}

static int vdso_init(struct reader *r, const struct reader_ctx *ctx, const struct opt_set *opts)
{
	struct linux_vdso *s = r->state;

	s->kernel.ops = &reader_linux_kvmclock;
	s->kernel.state = calloc(1, reader_linux_kvmclock.state_size);
	if (!s->kernel.state)
		return READER_ENOMEM;
	/* Same options table: the set resolved for this reader is valid for the kernel's. */
	return reader_linux_kvmclock.init(&s->kernel, ctx, opts);
}

static void vdso_fini(struct reader *r)
{
	struct linux_vdso *s = r->state;

	if (s->kernel.state && reader_linux_kvmclock.fini)
		reader_linux_kvmclock.fini(&s->kernel);
	free(s->kernel.state);
	s->kernel.state = NULL;
}

static void vdso_reset(struct reader *r)
{
	struct linux_vdso *s = r->state;

	reader_linux_kvmclock.reset(&s->kernel);
}

/* pvclock_scale_delta(), as in the kernel (linux_kvmclock.c). */
static __always_inline u64 pvclock_scale_delta(u64 delta, u32 mul_frac, int shift)
{
	if (shift < 0)
		delta >>= (unsigned)-shift & 63u;
	else
		delta <<= (unsigned)shift & 63u;
	return mul_u64_u64_shr(delta, mul_frac, 32);
}

/* vread_pvclock(): true with *ret set, false where the vDSO returns U64_MAX. */
static bool vread_pvclock(const struct pvclock_vcpu_time_info *pvti, u64 *ret)
{
	unsigned version;
	u64 tsc, v;

	do {
		version = READ_ONCE(pvti->version) & ~1u; /* pvclock_read_begin */
		virt_rmb();
		if (unlikely(!(pvti->flags & PVCLOCK_TSC_STABLE_BIT)))
			return false;
		tsc = rdtsc_ordered();
		v = pvti->system_time +
		    pvclock_scale_delta(tsc - pvti->tsc_timestamp, pvti->tsc_to_system_mul,
					pvti->tsc_shift);
		virt_rmb(); /* pvclock_read_retry */
	} while (unlikely(READ_ONCE(pvti->version) != version));
	*ret = v & VDSO_S64_MAX;
	return true;
}

static enum read_status vdso_read(struct reader *r, uint64_t *ns)
{
	struct linux_vdso *s = r->state;
	const struct pvclock_vcpu_time_info *pvti = pvclock_get_pvti_cpu0_va();

	if (likely(pvti != NULL) && vread_pvclock(pvti, ns))
		return READ_OK;
	/* clock_gettime_fallback(): the system call, served by kvm_clock_read() on this vCPU
	 * (whose own status is READ_FALLBACK too when it finds no page). */
	(void)reader_linux_kvmclock.read(&s->kernel, ns);
	return READ_FALLBACK;
}

const struct reader_ops reader_linux_vdso = {
	.version = READER_OPS_VERSION,
	.name = "linux-vdso",
	.describe = "Linux 6.12 vDSO vread_pvclock: vCPU 0's entry from every vCPU, no clamp; "
		    "without the stable bit, the system call (linux-kvmclock)",
	.state_size = sizeof(struct linux_vdso),
	.options = linux_kvmclock_options,
	.init = vdso_init,
	.fini = vdso_fini,
	.reset = vdso_reset,
	.read = vdso_read,
	.copy_state = vdso_copy_state,
};
