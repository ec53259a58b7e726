/*
 * tsc_trap.c: the `tsc-trap` TSC policy: every guest RDTSC exits and is emulated from a host
 * clock.
 *
 * The hypervisor sets RDTSC exiting (VMX "RDTSC exiting", SVM's RDTSC intercept), so each guest
 * RDTSC is a VM exit, and the exit handler returns a value computed from a host clock. This is
 * what KVM's TSC-trapping patches of 2010 proposed for unstable host TSCs (Zachary Amsden's "KVM
 * timekeeping" series, kvm_update_tsc_trapping, quoted in seed 001), and what Xen does when it
 * emulates (REFERENCE 7; xen_emulate.c models Xen's own variant). REFERENCE 7 and seed 001 name
 * its two costs:
 *  - resolution: the value can be no finer than the host clock it comes from. With the host's
 *    tick clock at HZ=100 every read within one 10 ms tick returns the same value, and guest code
 *    such as `count / (tsc2 - tsc1)` divides by zero (Marcelo Tosatti: "What about emulating
 *    rdtsc with low res clock?"; Zachary Amsden: "it may be better to bump the counter by at
 *    least one for each call"). Option `bump` does that: each read returns at least the previous
 *    value this vCPU read + 1, so reads are strictly increasing per vCPU (but the bumped value
 *    runs ahead of the clock by one cycle per read within a tick, and vCPUs are bumped
 *    independently: across vCPUs equal or even decreasing values remain possible);
 *  - cost: a trapped read is a VM exit, not a ~10 ns instruction (Xen's documentation: 15-20x a
 *    native RDTSC; with a ~0.8 us exit plus emulation nearer 80-100x). Option `exit_ns`.
 *
 * The emulated value, in guest TSC cycles at the advertised frequency f = vm.tsc_freq:
 *     ns     = clock(t) - clock(guest boot)   (0 if the clock reads less: raw on a skewed CPU)
 *     cycles = floor(ns * f / 1e9) + adj      (exact in 128 bits; at most 1 cycle low)
 * with clock `tick` = the host's coarse tick clock (host_coarse_ns: CLOCK_MONOTONIC_RAW as of the
 * last tick at host.hz, resolution 1/host.hz) or `raw` = CLOCK_MONOTONIC_RAW read on the vCPU's
 * host CPU (host_raw_ns: resolution of its clocksource, a few ns for a TSC, 70 ns for HPET), and
 * adj a per-vCPU adjustment set by a write of the TSC MSR. The guest TSC is 0 at guest boot.
 * guest_tsc() (what page providers and the trace see) is that value without the bump.
 *
 * Trade-off: the guest TSC follows the host's notion of real time whatever the host TSCs do
 * (skew, drift, migrations and stalls cost nothing), at the price of an exit per read and of the
 * host clock's resolution; without the bump a coarse clock shows as equal consecutive reads
 * (`stalls` in the metrics). No promise is declared: with bump = no and clock = raw on a host whose
 * clocksource is a TSC that differs between CPUs, a migrating vCPU can read a smaller value.
 */
#include <stdlib.h>

#include "policy.h"

enum trap_clock { TRAP_TICK, TRAP_RAW };

struct trap_vcpu {
	uint64_t next_min; /* bump: the least value the next read may return (previous read + 1) */
	uint64_t adj;      /* cycles added after conversion (a TSC MSR write), modulo 2^64 */
};

struct tsc_trap {
	enum trap_clock clock;
	bool bump;
	sim_ns exit_ns;
	uint64_t boot_ns;  /* the clock at guest boot (true time 0) */
	struct trap_vcpu *v;
};

static const struct opt_desc trap_options[] = {
	{ "clock", OPT_ENUM, "tick", "tick|raw",
	  "clock RDTSC is emulated from: tick = coarse clock at host.hz, raw = MONOTONIC_RAW" },
	{ "bump", OPT_BOOL, "yes", NULL,
	  "each read returns at least the vCPU's previous value + 1 (strictly increasing)" },
	{ "exit_ns", OPT_TIME, "1000ns", NULL, "cost of one trapped RDTSC (VM exit + emulation)" },
	{ 0 },
};

/* The host clock at t as the exit handler on host CPU pcpu reads it (ns since host boot). */
static uint64_t clock_ns(const struct tsc_trap *s, const struct host *h, unsigned pcpu, sim_ns t)
{
	return s->clock == TRAP_TICK ? host_coarse_ns(h, t) : host_raw_ns(h, pcpu, t);
}

/* The clock since guest boot in guest cycles at t: floor((clock - boot) * f / 1e9). The product
 * is below 2^64 * 2^37 (f <= 1e11), exact in 128 bits. */
static uint64_t clock_cycles(const struct policy *p, const struct vcpu *v, sim_ns t)
{
	const struct tsc_trap *s = p->state;
	uint64_t now = clock_ns(s, p->vm->host, v->pcpu, t);
	uint64_t ns = now > s->boot_ns ? now - s->boot_ns : 0;

	return (uint64_t)((u128)ns * p->vm->guest_tsc_hz / NS_PER_SEC);
}

/* The emulated TSC of v at t without the bump. */
static uint64_t emulate(const struct policy *p, const struct vcpu *v, sim_ns t)
{
	const struct tsc_trap *s = p->state;

	return clock_cycles(p, v, t) + s->v[v->id].adj;
}

static int trap_init(struct policy *p, const struct opt_set *opts)
{
	struct tsc_trap *s = p->state;

	s->clock = opt_get(opts, "clock") == 0 ? TRAP_TICK : TRAP_RAW;
	s->bump = opt_get(opts, "bump") != 0;
	s->exit_ns = (sim_ns)opt_get(opts, "exit_ns");
	s->boot_ns = clock_ns(s, p->vm->host, vm_vcpu(p->vm, 0)->pcpu, 0);
	s->v = calloc(p->vm->nvcpus, sizeof(*s->v));
	if (!s->v)
		return VT_ENOMEM;
	return VT_OK;
}

static void trap_fini(struct policy *p)
{
	struct tsc_trap *s = p->state;

	free(s->v);
}

static uint64_t trap_guest_tsc(struct policy *p, const struct vcpu *v, sim_ns t)
{
	return emulate(p, v, t);
}

/* The exit handler: emulate, bump, and charge the exit to the reader. */
static uint64_t trap_on_rdtsc(struct policy *p, struct vcpu *v, sim_ns t, sim_ns *cost_ns)
{
	struct tsc_trap *s = p->state;
	struct trap_vcpu *tv = &s->v[v->id];
	uint64_t val = emulate(p, v, t);

	if (s->bump) {
		if (val < tv->next_min)
			val = tv->next_min;
		tv->next_min = val + 1;
	}
	*cost_ns = s->exit_ns;
	return val;
}

/* A write of the TSC MSR: the emulated value of this vCPU continues from `value` (the clock's
 * progress is added from here), and the bump restarts from it. */
static void trap_on_tsc_write(struct policy *p, struct vcpu *v, uint64_t value, enum tsc_writer who,
			      sim_ns t)
{
	struct tsc_trap *s = p->state;
	struct trap_vcpu *tv = &s->v[v->id];

	(void)who;
	tv->adj = value - clock_cycles(p, v, t);
	tv->next_min = value;
}

const struct policy_ops policy_tsc_trap = {
	.version = POLICY_OPS_VERSION,
	.name = "tsc-trap",
	.describe = "RDTSC trapped and emulated from a host clock (tick or raw), optional +1 bump "
		    "(seed 001)",
	.state_size = sizeof(struct tsc_trap),
	.options = trap_options,
	.promises = 0,
	.init = trap_init,
	.fini = trap_fini,
	.guest_tsc = trap_guest_tsc,
	.on_rdtsc = trap_on_rdtsc,
	.on_tsc_write = trap_on_tsc_write,
};
