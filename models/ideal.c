/*
 * ideal.c: the `ideal` TSC policy, the null arm: a perfect guest TSC.
 *
 * Every vCPU's TSC counts from 0 at guest boot (true time 0) at exactly the frequency the guest
 * was told, whatever host CPU it runs on, however long it was off-CPU: the clock a guest would
 * have on a dedicated, perfectly synchronized machine. No real hypervisor achieves this; it is the
 * yardstick the other arms are measured against (with the `tsc` reader its clock error is at most
 * the reader's own rounding).
 */
#include <stdlib.h>

#include "policy.h"

struct ideal {
	struct tsc_seg clock; /* guest TSC as a function of true time: t0 = 0, tsc0 = 0 */
};

static int ideal_init(struct policy *p, const struct opt_set *opts)
{
	struct ideal *s = p->state;

	(void)opts;
	s->clock.t0 = 0;
	s->clock.tsc0 = 0;
	/* cycles per ns = guest_tsc_hz / 1e9 in 64.64, floor: exact to 2^-64 cycles/ns. */
	tsc_rate(p->vm->guest_tsc_hz, 0, &s->clock.rate_int, &s->clock.rate_frac);
	return VT_OK;
}

static uint64_t ideal_guest_tsc(struct policy *p, const struct vcpu *v, sim_ns t)
{
	const struct ideal *s = p->state;

	(void)v;
	return tsc_seg_eval(&s->clock, t);
}

const struct policy_ops policy_ideal = {
	.version = POLICY_OPS_VERSION,
	.name = "ideal",
	.describe = "perfect guest TSC at the advertised frequency from guest boot (the null arm)",
	.state_size = sizeof(struct ideal),
	.promises = POLICY_MONOTONIC_VCPU | POLICY_ONE_GENERATION,
	.init = ideal_init,
	.guest_tsc = ideal_guest_tsc,
};
