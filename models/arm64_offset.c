/*
 * arm64_offset.c: the `arm64-offset` TSC policy: the arm64 virtual counter under KVM, and the
 * ways a VMM's pause/resume and a vCPU hot-add move it.
 *
 * The real system (REFERENCE 5; KVM arch/arm64/kvm/arch_timer.c, Linux 6.12; seed 002). The guest
 * reads CNTVCT_EL0 = CNTPCT_EL0 - CNTVOFF_EL2: the host's physical counter (here the host TSC of
 * the CPU the vCPU runs on; scenarios use a 1 GHz or 25 MHz counter) minus an offset, not trapped,
 * not scaled, no paravirtual page. The offset is one value for the whole VM
 * (kvm->arch.timer_data.voffset, which every vCPU's vtimer points to):
 *   - kvm_timer_vcpu_init() sets it to kvm_phys_timer_read() at every vCPU creation, so the guest
 *     counter reads 0 at that instant, unless userspace has used KVM_ARM_SET_COUNTER_OFFSET
 *     (KVM_ARCH_FLAG_VM_COUNTER_OFFSET). Hot-adding a vCPU therefore sends every running vCPU's
 *     counter back to ~0 (the gVisor incident).
 *   - KVM_SET_ONE_REG(KVM_REG_ARM_TIMER_CNT, value) through ANY vCPU sets the VM-wide offset to
 *     kvm_phys_timer_read() - value (ignored once the counter-offset API was used): last writer
 *     wins, and a write moves vCPUs that are already running.
 *   - KVM_ARM_SET_COUNTER_OFFSET (Linux 6.4+) is a VM ioctl setting the offset directly; it
 *     takes every vCPU's lock and fails with -EBUSY if one is running, so it lands while the VM
 *     is stopped.
 *
 * What a VMM does at resume after a pause (option `restore`): nothing (the counter kept running
 * through the pause: the guest sees the pause as a forward jump, wall time kept); restore by
 * value (QEMU: save CNT at stop, write it back at start); or the per-VM offset API. The
 * trade-off Marc Zyngier describes in seed 002: adding the pause time to the restored counter
 * keeps the guest's wall time, but since it is not advertised as stolen time, in-guest
 * watchdogs see it as a hang and fire; not adding it keeps continuity (QEMU's choice) and the
 * guest clock falls behind by the pause. The hazards of a restore by value: the VMM computes
 * the value, then is delayed before the write lands (`write_delay`), so the pause time is
 * under-counted by the delay, and the vCPUs that already run with the old offset (which counted
 * the whole pause) step back at the write. Seed 002's patch proposed exposing the offset register
 * per vCPU; the maintainer REJECTED the per-vCPU form and asked for today's per-VM API.
 * `per_vcpu = yes` models that rejected proposal only: one offset per vCPU, each restored by its
 * own thread with its own delay, so the vCPUs' counters diverge.
 *
 * Simplification: KVM loads CNTVOFF_EL2 into the hardware at vcpu_load (timer_restore_state),
 * so a vCPU that keeps running without being rescheduled or returning to userspace picks up a
 * new offset only at its next load; here every vCPU sees the new offset from the instant the
 * write lands (the earliest it can).
 *
 * Migration (policy.h): a VMM moves the counter with KVM_GET/SET_ONE_REG(KVM_REG_ARM_TIMER_CNT)
 * (on_tsc_write as a host write through a vCPU) or with KVM_ARM_SET_COUNTER_OFFSET
 * (set_tsc_offset); get_tsc_attr reports the offset in the x86 convention (guest = host +
 * offset, so 0 - CNTVOFF), unscaled (ratio 1.0 in 16.48), and on_migrate is the destination's
 * fresh VM: the counter restarts at 0 there, the offset API unused.
 *
 * Counter values are in host counter cycles, modulo 2^64 like the hardware.
 */
#include <stdlib.h>

#include "policy.h"

enum restore_mode { RESTORE_NONE, RESTORE_VALUE, RESTORE_OFFSET };

/* Timer arguments: 0..n-1 a per-vCPU write landing, these two the VM-wide ones. */
#define ARG_VM_WRITE 0xfffffffeu
#define ARG_HOTADD 0xffffffffu

/* A register write the VMM has computed and that lands later. */
struct pending_write {
	bool armed;
	sim_ns land_at;    /* when it lands (a stale timer for an older write is ignored) */
	bool is_offset;    /* the value is an offset (proposal's per-vCPU offset register) */
	uint64_t value;    /* a counter value (KVM_REG_ARM_TIMER_CNT) or an offset */
};

/* What the VMM saved at the pause, per restore target (a vCPU, or the VM: slot n). */
struct saved_counter {
	unsigned cpu;      /* the host CPU the VMM thread read on */
	uint64_t host_at_pause; /* CNTPCT there at the pause */
	uint64_t counter;  /* the guest counter it read */
};

struct arm64_offset {
	/* Options. */
	enum restore_mode restore;
	bool add_pause;
	bool per_vcpu;           /* seed 002's REJECTED proposal: one offset per vCPU */
	sim_ns write_delay_ns;
	sim_ns write_step_ns;
	sim_ns hotadd_at;        /* 0: never */

	uint64_t vm_off;         /* CNTVOFF for the whole VM: guest = host - vm_off (mod 2^64) */
	bool counter_offset_api; /* KVM_ARCH_FLAG_VM_COUNTER_OFFSET: writes of CNT ignored, no
				    reset at vCPU creation */
	unsigned n;              /* vCPUs at creation */
	uint64_t *vcpu_off;      /* per_vcpu: the rejected proposal's per-vCPU offsets */
	struct saved_counter *saved;   /* n + 1 slots: vCPU i, then the VM */
	struct pending_write *pending; /* n + 1 slots */
	sim_ns paused_at;
};

static const struct opt_desc arm64_options[] = {
	{ "restore", OPT_ENUM, "none", "none|value|offset",
	  "VMM at resume: nothing, write the saved counter value (QEMU), or the per-VM offset API" },
	{ "add_pause", OPT_BOOL, "no", NULL,
	  "the restored counter includes the pause time (wall time kept, watchdogs fire)" },
	{ "write_delay", OPT_TIME, "0ns", NULL,
	  "restore=value: from computing the value to the write landing (vCPUs run meanwhile)" },
	{ "write_delay_step", OPT_TIME, "1ms", NULL,
	  "per_vcpu=yes: vCPU i's write lands write_delay + i * step after resume" },
	{ "per_vcpu", OPT_BOOL, "no", NULL,
	  "seed 002's REJECTED proposal: one offset per vCPU, restored by per-vCPU threads" },
	{ "hotadd_at", OPT_TIME, "0ns", NULL,
	  "hot-add a vCPU then: KVM resets the VM's offset to now (0: never)" },
	{ 0 },
};

/* The slot a target's state lives in: vCPU i, or the VM (slot n). */
static unsigned vm_slot(const struct arm64_offset *s)
{
	return s->n;
}

/* The guest counter offset vCPU `id` runs with. */
static uint64_t offset_of(const struct arm64_offset *s, unsigned id)
{
	return s->per_vcpu && id < s->n ? s->vcpu_off[id] : s->vm_off;
}

/* Sets the offset of a target (vCPU slot, or the VM slot: every vCPU). */
static void set_offset(struct arm64_offset *s, unsigned slot, uint64_t off)
{
	if (slot == vm_slot(s)) {
		s->vm_off = off;
		if (s->per_vcpu)
			for (unsigned i = 0; i < s->n; i++)
				s->vcpu_off[i] = off;
	} else {
		s->vcpu_off[slot] = off;
	}
}

/* The host CPU the thread writing a target runs on: the vCPU's own thread, or (VM-wide) the
 * VMM's thread, taken to run where vCPU 0 last ran. */
static unsigned slot_cpu(struct policy *p, unsigned slot)
{
	const struct arm64_offset *s = p->state;

	return vm_vcpu(p->vm, slot == vm_slot(s) ? 0 : slot)->pcpu;
}

static int a64_init(struct policy *p, const struct opt_set *opts)
{
	struct arm64_offset *s = p->state;
	unsigned n = p->vm->nvcpus;

	s->restore = (enum restore_mode)opt_get(opts, "restore");
	s->add_pause = opt_get(opts, "add_pause") != 0;
	s->per_vcpu = opt_get(opts, "per_vcpu") != 0;
	s->write_delay_ns = (sim_ns)opt_get(opts, "write_delay");
	s->write_step_ns = (sim_ns)opt_get(opts, "write_delay_step");
	s->hotadd_at = (sim_ns)opt_get(opts, "hotadd_at");
	s->n = n;
	s->vcpu_off = calloc(n, sizeof(*s->vcpu_off));
	s->saved = calloc(n + 1, sizeof(*s->saved));
	s->pending = calloc(n + 1, sizeof(*s->pending));
	if (!s->vcpu_off || !s->saved || !s->pending)
		return VT_ENOMEM;
	/* VM creation at true time 0: kvm_timer_vcpu_init() sets the offset to the physical
	 * counter "now", so the guest counter starts at 0. */
	set_offset(s, vm_slot(s), host_tsc(p->vm->host, slot_cpu(p, vm_slot(s)), 0));
	if (s->hotadd_at > 0)
		vm_timer(p->vm, p, s->hotadd_at, ARG_HOTADD);
	return VT_OK;
}

static void a64_fini(struct policy *p)
{
	struct arm64_offset *s = p->state;

	free(s->vcpu_off);
	free(s->saved);
	free(s->pending);
}

static uint64_t a64_guest_tsc(struct policy *p, const struct vcpu *v, sim_ns t)
{
	const struct arm64_offset *s = p->state;

	return host_tsc(p->vm->host, v->pcpu, t) - offset_of(s, v->id);
}

/*
 * KVM_SET_ONE_REG(KVM_REG_ARM_TIMER_CNT, value) on a thread running on host CPU cpu at t
 * (kvm_arm_timer_set_reg, arch/arm64/kvm/arch_timer.c, Linux 6.12): unless the VM has
 * KVM_ARCH_FLAG_VM_COUNTER_OFFSET, timer_set_offset(vtimer, kvm_phys_timer_read() - value), and
 * the vtimer's offset is the VM-wide voffset, so the target's offset becomes CNTPCT(cpu, t) -
 * value (cycles, mod 2^64). Under the rejected per-vCPU proposal the target is one vCPU's own
 * offset, and the flag (which that proposal did not have) does not stop it.
 */
static void write_counter(struct policy *p, unsigned slot, unsigned cpu, uint64_t value, sim_ns t)
{
	struct arm64_offset *s = p->state;

	if (s->counter_offset_api && !s->per_vcpu)
		return;
	set_offset(s, slot, host_tsc(p->vm->host, cpu, t) - value);
}

/* A write lands: a counter value goes through KVM_SET_ONE_REG(KVM_REG_ARM_TIMER_CNT) on the
 * writing thread's CPU (write_counter); an offset (the proposal's register) is taken as is. */
static void land_write(struct policy *p, unsigned slot, sim_ns t)
{
	struct arm64_offset *s = p->state;
	struct pending_write *w = &s->pending[slot];

	w->armed = false;
	if (w->is_offset) {
		set_offset(s, slot, w->value);
		return;
	}
	write_counter(p, slot, slot_cpu(p, slot), w->value, t);
}

/* Queues (or, with no delay, performs) the write of `value` to a target. */
static void schedule_write(struct policy *p, unsigned slot, bool is_offset, uint64_t value,
			   sim_ns delay, sim_ns t)
{
	struct arm64_offset *s = p->state;
	struct pending_write *w = &s->pending[slot];

	*w = (struct pending_write){ true, t + delay, is_offset, value };
	if (delay == 0)
		land_write(p, slot, t);
	else
		vm_timer(p->vm, p, t + delay, slot == vm_slot(s) ? ARG_VM_WRITE : slot);
}

/* The VMM stops the VM: it reads the guest counter (KVM_GET_ONE_REG: CNTPCT - offset) through
 * each vCPU's thread (per_vcpu) or once for the VM, and notes CNTPCT to measure the pause. */
static void a64_on_pause(struct policy *p, sim_ns t)
{
	struct arm64_offset *s = p->state;
	unsigned first = s->per_vcpu ? 0 : vm_slot(s), end = s->per_vcpu ? s->n : s->n + 1;

	s->paused_at = t;
	if (s->restore == RESTORE_NONE)
		return;
	for (unsigned slot = first; slot < end; slot++) {
		struct saved_counter *c = &s->saved[slot];
		unsigned id = slot == vm_slot(s) ? 0 : slot;

		c->cpu = slot_cpu(p, slot);
		c->host_at_pause = host_tsc(p->vm->host, c->cpu, t);
		c->counter = c->host_at_pause - offset_of(s, id);
	}
}

/*
 * The VMM restarts the VM. It computes what to restore from what it saved: the counter value,
 * plus the pause as it measures it now (CNTPCT on the same CPU, now minus at the pause) when
 * add_pause; then:
 *   value, per-VM:   one KVM_REG_ARM_TIMER_CNT write, landing write_delay later (VM-wide);
 *   value, per-vCPU: vCPU i's own thread writes its counter, landing write_delay + i * step
 *                    later, moving vCPU i alone (the rejected proposal's semantics);
 *   offset, per-VM:  KVM_ARM_SET_COUNTER_OFFSET, offset = CNTPCT(now) - value, while every vCPU
 *                    is still stopped: no delay can apply;
 *   offset, per-vCPU: the proposal's per-vCPU offset register, computed now, landing with the
 *                    same per-thread delays (an offset does not go stale: no under-count).
 */
static void a64_on_resume(struct policy *p, sim_ns t)
{
	struct arm64_offset *s = p->state;
	unsigned first = s->per_vcpu ? 0 : vm_slot(s), end = s->per_vcpu ? s->n : s->n + 1;

	if (s->restore == RESTORE_NONE)
		return;
	for (unsigned slot = first; slot < end; slot++) {
		const struct saved_counter *c = &s->saved[slot];
		uint64_t host_now = host_tsc(p->vm->host, c->cpu, t);
		uint64_t value = c->counter + (s->add_pause ? host_now - c->host_at_pause : 0);
		sim_ns delay = 0;

		if (s->per_vcpu && slot != vm_slot(s))
			delay = s->write_delay_ns + (sim_ns)slot * s->write_step_ns;
		else if (s->restore == RESTORE_VALUE)
			delay = s->write_delay_ns;
		if (s->restore == RESTORE_VALUE) {
			schedule_write(p, slot, false, value, delay, t);
		} else {
			if (!s->per_vcpu)
				s->counter_offset_api = true;
			schedule_write(p, slot, true, host_now - value, delay, t);
		}
	}
}

/* A vCPU is created (hot-added): kvm_timer_vcpu_init() resets the VM-wide offset to the
 * physical counter now, so every vCPU's counter restarts at ~0, unless the per-VM offset API was
 * used. (The rejected proposal kept this reset, for every vCPU's offset.) */
static void hotadd_reset(struct policy *p, sim_ns t)
{
	struct arm64_offset *s = p->state;

	if (s->counter_offset_api)
		return;
	set_offset(s, vm_slot(s), host_tsc(p->vm->host, slot_cpu(p, vm_slot(s)), t));
}

static void a64_on_vcpu_add(struct policy *p, struct vcpu *v, sim_ns t)
{
	(void)v;
	hotadd_reset(p, t);
}

static void a64_on_timer(struct policy *p, uint32_t arg, sim_ns t)
{
	struct arm64_offset *s = p->state;
	unsigned slot;

	if (arg == ARG_HOTADD) {
		hotadd_reset(p, t);
		return;
	}
	slot = arg == ARG_VM_WRITE ? vm_slot(s) : arg;
	if (slot <= vm_slot(s) && s->pending[slot].armed && s->pending[slot].land_at == t)
		land_write(p, slot, t);
}

/*
 * A host write of the counter through vCPU v at t: KVM_SET_ONE_REG(KVM_REG_ARM_TIMER_CNT) on v's
 * thread, read against v's CPU (write_counter): VM-wide, every vCPU's counter reads `value` at t
 * on that CPU; per_vcpu (the rejected proposal), v's alone. The guest cannot write its counter
 * (CNTVCT_EL0 is read-only; CNTVOFF_EL2 belongs to EL2): a guest write changes nothing.
 */
static void a64_on_tsc_write(struct policy *p, struct vcpu *v, uint64_t value, enum tsc_writer who,
			     sim_ns t)
{
	struct arm64_offset *s = p->state;

	if (who == TSC_WRITE_GUEST || v->id >= s->n)
		return;
	write_counter(p, s->per_vcpu ? v->id : vm_slot(s), v->pcpu, value, t);
}

/* The counter frequency (CNTFRQ_EL0), kHz: the policy's guest_hz when it fixes one, else the
 * frequency the VM is told (vm.tsc_freq, the host counter's: arm64 does not scale). */
static uint32_t counter_khz(const struct policy *p)
{
	uint64_t hz = p->ops->guest_hz ? p->ops->guest_hz : p->vm->guest_tsc_hz;

	return (uint32_t)(hz / 1000u);
}

/* The offset as an x86-style attribute: guest = host + offset, so offset = 0 - CNTVOFF (cycles,
 * mod 2^64); unscaled: ratio 1.0 = 2^48 in 16.48; guest and host counters at one frequency. */
static void a64_get_tsc_attr(struct policy *p, const struct vcpu *v, sim_ns t, struct tsc_attr *a)
{
	const struct arm64_offset *s = p->state;

	(void)t;
	a->offset = 0 - offset_of(s, v->id);
	a->ratio = 1ULL << 48;
	a->frac_bits = 48;
	a->khz = counter_khz(p);
	a->host_khz = counter_khz(p);
}

/*
 * KVM_ARM_SET_COUNTER_OFFSET (kvm_vm_ioctl_set_counter_offset, arch/arm64/kvm/arch_timer.c,
 * Linux 6.4+, 6.12), with every vCPU stopped (it takes all vCPU locks, -EBUSY otherwise): the
 * VM-wide voffset becomes the given counter offset, here 0 - offset (x86 convention in, CNTVOFF
 * stored), through whichever vCPU the VMM names, and KVM_ARCH_FLAG_VM_COUNTER_OFFSET is set:
 * later TIMER_CNT writes and vCPU creations no longer move the offset.
 */
static void a64_set_tsc_offset(struct policy *p, struct vcpu *v, uint64_t offset, sim_ns t)
{
	struct arm64_offset *s = p->state;

	(void)v;
	(void)t;
	set_offset(s, vm_slot(s), 0 - offset);
	s->counter_offset_api = true;
}

/* One VM-wide offset: always one "generation". The rejected per-vCPU proposal: only while every
 * vCPU's offset is the same. */
static bool a64_one_generation(struct policy *p)
{
	const struct arm64_offset *s = p->state;

	if (!s->per_vcpu)
		return true;
	for (unsigned i = 1; i < s->n; i++)
		if (s->vcpu_off[i] != s->vcpu_off[0])
			return false;
	return true;
}

/*
 * The destination's fresh VM at t: no KVM_ARCH_FLAG_VM_COUNTER_OFFSET yet, and creating the
 * vCPUs runs kvm_timer_vcpu_init(), voffset = kvm_phys_timer_read() on vCPU 0's CPU, so the
 * counter reads 0 there at t. The source VMM's writes still in flight are dropped (they were
 * meant for the source's VM; their timers find them disarmed).
 */
static void a64_on_migrate(struct policy *p, sim_ns t)
{
	struct arm64_offset *s = p->state;

	for (unsigned slot = 0; slot <= vm_slot(s); slot++)
		s->pending[slot].armed = false;
	s->counter_offset_api = false;
	set_offset(s, vm_slot(s), host_tsc(p->vm->host, slot_cpu(p, vm_slot(s)), t));
}

const struct policy_ops policy_arm64_offset = {
	.version = POLICY_OPS_VERSION,
	.name = "arm64-offset",
	.describe = "KVM arm64 CNTVOFF: one VM-wide offset; VMM restore delays, hot-add reset; "
		    "per_vcpu = seed 002's rejected per-vCPU proposal",
	.state_size = sizeof(struct arm64_offset),
	.options = arm64_options,
	/* No promise: hot-add and late writes step the counter back, and per_vcpu splits the
	 * vCPUs; a promise is static, so none even for the options that would keep one. */
	.promises = 0,
	.init = a64_init,
	.fini = a64_fini,
	.guest_tsc = a64_guest_tsc,
	.on_pause = a64_on_pause,
	.on_resume = a64_on_resume,
	.on_vcpu_add = a64_on_vcpu_add,
	.on_timer = a64_on_timer,
	.on_tsc_write = a64_on_tsc_write,
	.get_tsc_attr = a64_get_tsc_attr,
	.set_tsc_offset = a64_set_tsc_offset,
	.one_generation = a64_one_generation,
	.on_migrate = a64_on_migrate,
};
