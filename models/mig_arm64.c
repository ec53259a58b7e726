/*
 * mig_arm64.c: two migration algorithms for the arm64 virtual counter (REFERENCE 5, seed 002),
 * where KVM keeps ONE counter offset for the whole VM (arch/arm64/kvm/arch_timer.c, Linux 6.12):
 *
 *   arm64-value   QEMU on arm64 (target/arm/kvm.c: kvm_arm_vm_state_change calls
 *                 kvm_arm_get_virtual_time at the stop and kvm_arm_put_virtual_time at the start,
 *                 per vCPU, into cpu->kvm_vtime): at the stop the VMM reads KVM_REG_ARM_TIMER_CNT,
 *                 the guest counter (KVM_GET_ONE_REG; every vCPU reads the one VM-wide counter, so
 *                 one read through vCPU 0 stands for all), and on the destination writes that value
 *                 back through every vCPU (KVM_SET_ONE_REG). Each write sets the VM-wide
 *                 offset to "now" minus the value: last writer wins, and since the vCPUs are
 *                 restored one after another the counter resumes at the saved value as of the last
 *                 write. The downtime is not counted: continuity kept, wall time lost (Marc
 *                 Zyngier in seed 002: "QEMU doesn't do that, and wants time continuity").
 *   arm64-offset  KVM_ARM_SET_COUNTER_OFFSET (Linux 6.4+, the per-VM form the maintainer asked
 *                 for in seed 002 instead of the per-vCPU register): a VM ioctl that takes every
 *                 vCPU's lock and fails with -EBUSY if one runs, so it is issued once, here at
 *                 vCPU 0's restore, with the VM stopped. The VMM computes the offset from the saved
 *                 counter, plus the downtime (realtime_dst - realtime_src at the counter
 *                 frequency) when option count_downtime = yes: wall time kept, but the jump is not
 *                 advertised as stolen time and in-guest watchdogs see it as a hang (seed 002).
 *                 count_downtime = no gives QEMU's continuity through the offset API.
 *
 * The policy's interface is in the x86 convention (policy.h: guest = host + offset, mod 2^64);
 * arm64's CNTVOFF_EL2 is subtracted (guest = host - cntvoff), so the offset passed to
 * set_tsc_offset is -CNTVOFF, which the arm64 policy converts. No scaling on arm64 (REFERENCE 5):
 * the guest counter runs at the host counter's rate.
 *
 * Units: counter values and offsets in counter cycles mod 2^64; times in ns; kHz.
 */
#include "migrate.h"
#include "migration.h"

struct mig_arm64 {
	bool count_downtime;   /* arm64-offset: add the realtime downtime to the counter */
	bool saved;            /* save() ran */
	uint64_t counter;      /* KVM_REG_ARM_TIMER_CNT read through vCPU 0 at the stop, cycles */
	uint64_t realtime_src; /* source CLOCK_REALTIME at the stop, ns since the epoch */
	uint32_t khz;          /* counter frequency (get_tsc_attr; arm64-offset only), kHz */
};

extern const struct migration_ops migration_arm64_offset;

static int arm64_init(struct migration *m, const struct opt_set *opts)
{
	struct mig_arm64 *s = m->state;

	/* arm64-value declares no options. */
	if (m->ops == &migration_arm64_offset)
		s->count_downtime = opt_get(opts, "count_downtime") != 0;
	return VT_OK;
}

/* The VM is stopped on the source: the guest counter through vCPU 0 (all vCPUs read the same). */
static void arm64_save(struct migration *m, sim_ns t)
{
	struct mig_arm64 *s = m->state;
	struct vcpu *v0 = vm_vcpu(m->vm, 0);

	s->counter = m->policy->ops->guest_tsc(m->policy, v0, t);
	s->realtime_src = host_realtime_ns(m->vm->host, t);
	if (m->ops == &migration_arm64_offset) {
		struct tsc_attr a = { 0 };

		m->policy->ops->get_tsc_attr(m->policy, v0, t, &a);
		s->khz = a.khz;
	}
	s->saved = true;
}

/* arm64-value: KVM_SET_ONE_REG(KVM_REG_ARM_TIMER_CNT, saved) through this vCPU, at t. */
static void arm64_value_restore_vcpu(struct migration *m, struct vcpu *v, sim_ns t)
{
	struct mig_arm64 *s = m->state;

	if (s->saved)
		m->policy->ops->on_tsc_write(m->policy, v, s->counter, TSC_WRITE_HOST, t);
}

/*
 * arm64-offset, at vCPU 0's restore only (one VM ioctl):
 *   target = counter + (count_downtime ? floor((realtime_dst - realtime_src) * khz / 10^6) : 0)
 *   offset = target - host counter of vCPU 0's CPU at t        (x86 convention, mod 2^64)
 * so that vCPU 0 reads target at t and every vCPU runs on from it.
 */
static void arm64_offset_restore_vcpu(struct migration *m, struct vcpu *v, sim_ns t)
{
	struct mig_arm64 *s = m->state;
	uint64_t target;

	if (!s->saved || v->id != 0)
		return;
	target = s->counter;
	if (s->count_downtime) {
		int64_t downtime_ns = (int64_t)(host_realtime_ns(m->vm->host, t) - s->realtime_src);

		target += migrate_ns_to_cycles(downtime_ns, s->khz);
	}
	m->policy->ops->set_tsc_offset(m->policy, v, target - host_tsc(m->vm->host, v->pcpu, t), t);
}

static const struct opt_desc arm64_offset_options[] = {
	{ "count_downtime", OPT_BOOL, "yes", NULL,
	  "add the realtime downtime to the counter (wall time kept, watchdogs fire), or not (QEMU)"
	},
	{ 0 },
};

const struct migration_ops migration_arm64_value = {
	.version = MIGRATION_OPS_VERSION,
	.name = "arm64-value",
	.describe = "QEMU on arm64: KVM_REG_ARM_TIMER_CNT saved at the stop, written back through "
		    "every vCPU (VM-wide, last writer wins)",
	.state_size = sizeof(struct mig_arm64),
	.needs = MIG_NEEDS_TSC_WRITE,
	.init = arm64_init,
	.save = arm64_save,
	.restore_vcpu = arm64_value_restore_vcpu,
};

const struct migration_ops migration_arm64_offset = {
	.version = MIGRATION_OPS_VERSION,
	.name = "arm64-offset",
	.describe = "KVM_ARM_SET_COUNTER_OFFSET (Linux 6.4+): one per-VM offset from the saved "
		    "counter, plus the downtime if counted",
	.state_size = sizeof(struct mig_arm64),
	.options = arm64_offset_options,
	.needs = MIG_NEEDS_TSC_ATTR,
	.init = arm64_init,
	.save = arm64_save,
	.restore_vcpu = arm64_offset_restore_vcpu,
};
