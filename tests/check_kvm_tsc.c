/*
 * check_kvm_tsc.c: the migration methods of the KVM-style policies (policy.h: get_tsc_attr,
 * set_tsc_offset, one_generation, on_migrate, and on_tsc_write as a host write) on tsc-offset,
 * kvm-scaled and arm64-offset, stepped by hand with exact numbers.
 *
 * Each test builds a world from a scenario without running it (policy initialised at true time
 * 0, vCPU i on host CPU i) and calls the policy's methods at chosen instants; a migration swaps
 * vm->host for a destination host built by hand. Clocks are exact where they can be: TSCs at 1
 * or 2 GHz with no frequency error and whole boot offsets, so host_tsc(cpu, t) = offset + t * GHz
 * and the raw clock (the TSC through the kernel's mult/shift) is t ns exactly. At 2.6 GHz the
 * host's 64.64 rate is 2 + floor(0.6 * 2^64) / 2^64 cycles per ns, a hair short of 2.6, so the
 * counter is one cycle below offset + 2.6 t wherever 2.6 t is a whole number (host.h: floor):
 * at 10 s it reads offset + 25999999999, and 1 ms later offset + 26002599999.
 * KVM's ns -> cycles conversion (nsec_to_cycles, kvm_get_time_scale(khz * 1000, 10^9)) is exact
 * at 2 GHz (shift 2, mul 2^31: ns * 4 * 2^31 / 2^32 = 2 ns) and slow at 2.6 GHz (shift 2, mul
 * floor(0.65 * 2^32) = 2791728742: 1 ms -> floor(4e6 * 2791728742 / 2^32) = 2599999 cycles).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "host.h"
#include "policy.h"
#include "testutil.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
#define RATIO_ONE_48 (1ULL << 48) /* 1.0 in VMX 16.48: 281474976710656 */

/* A world built from `text` (its first arm), not run: policy initialised, time 0. */
struct rig {
	struct tu_run r;
	struct world w;
	struct host dst;      /* the destination of a migration, when built */
	bool has_dst;
};

static struct rig *rig_up(const char *text)
{
	struct rig *g = calloc(1, sizeof(*g));

	ck_assert_ptr_nonnull(g);
	ck_assert_msg(tu_build(&g->r, text) == VT_OK, "scenario failed to build: %s", g->r.err.msg);
	ck_assert_int_eq(world_init(&g->w, &g->r.cfg, &g->r.cfg.arms[0], NULL), VT_OK);
	return g;
}

static void rig_down(struct rig *g)
{
	world_free(&g->w);
	tu_free(&g->r);
	if (g->has_dst)
		host_free(&g->dst);
	free(g);
}

static struct policy *pol(struct rig *g)
{
	return &g->w.policy;
}

static struct vcpu *vc(struct rig *g, unsigned i)
{
	return &g->w.vcpus[i].pub;
}

static uint64_t gtsc(struct rig *g, unsigned i, sim_ns t)
{
	return pol(g)->ops->guest_tsc(pol(g), vc(g, i), t);
}

static struct tsc_attr attr(struct rig *g, unsigned i, sim_ns t)
{
	struct tsc_attr a;

	pol(g)->ops->get_tsc_attr(pol(g), vc(g, i), t, &a);
	return a;
}

static void host_write(struct rig *g, unsigned i, uint64_t value, sim_ns t)
{
	pol(g)->ops->on_tsc_write(pol(g), vc(g, i), value, TSC_WRITE_HOST, t);
}

static bool one_gen(struct rig *g)
{
	return pol(g)->ops->one_generation(pol(g));
}

/*
 * Moves the VM at t to a destination host built here: `ncpus` synchronized CPUs at exactly hz,
 * booted at true time 0 with counter `offset`, TSC trusted; then the policy's on_migrate(t).
 */
static void migrate_to(struct rig *g, unsigned ncpus, uint64_t hz, uint64_t offset, sim_ns t)
{
	struct host_cpu_cfg cpus[4];
	struct host_cfg cfg = {
		.ncpus = ncpus,
		.cpu = cpus,
		.wander_interval = SEC,
		.clocksource = CS_AUTO,
		.tsc_stable = 1,
		.tsc_sync_tolerance = 300,
		.hz = 1000,
	};

	ck_assert_uint_le(ncpus, 4);
	for (unsigned c = 0; c < 4; c++)
		cpus[c] = (struct host_cpu_cfg){ .freq_hz = hz, .offset = offset };
	ck_assert_int_eq(host_init(&g->dst, &cfg), VT_OK);
	g->has_dst = true;
	g->w.vm.host = &g->dst;
	pol(g)->ops->on_migrate(pol(g), t);
}

/* Two vCPUs on two synchronized 2 GHz CPUs whose counters read 1000 at true time 0. */
#define X86_HOST "duration = 1s\nhost { cpus = 2\n cpu.freq = 2GHz\n cpu.offset = 1000cycles\n" \
		 " tsc_stable = yes }\nvm.vcpus = 2\n"

/* ---- tsc-offset ------------------------------------------------------------------------ */

START_TEST(test_tsco_creation_as_before)
{
	/*
	 * CPU 1 leads CPU 0 by 200 cycles (within the 300-cycle sync tolerance: trusted). KVM's
	 * creation writes take vCPU 0's CPU for every vCPU: offset = 0 - host_tsc(cpu 0, 0) =
	 * 2^64 - 1000 = 18446744073709550616 for both, and vCPU 1 reads CPU 1's lead: 200 at 0,
	 * 200 + 2 GHz * 1 ms = 2000200 at 1 ms. One generation. Attributes: unscaled 1.0 = 2^48,
	 * 16.48, 2 GHz guest (vm.tsc_freq defaults to CPU 0's) on a host calibrated at 2000000 kHz.
	 */
	struct rig *g = rig_up("duration = 1s\nhost { cpus = 2\n cpu.freq = 2GHz\n"
			       " cpu.offset = [1000, 1200]\n tsc_stable = yes }\nvm.vcpus = 2\n"
			       "arm a { policy = tsc-offset }\n");
	struct tsc_attr a;

	for (unsigned i = 0; i < 2; i++) {
		a = attr(g, i, 0);
		ck_assert_uint_eq(a.offset, 18446744073709550616ULL);
		ck_assert_uint_eq(a.ratio, RATIO_ONE_48);
		ck_assert_uint_eq(a.frac_bits, 48);
		ck_assert_uint_eq(a.khz, 2000000);
		ck_assert_uint_eq(a.host_khz, 2000000);
	}
	ck_assert_uint_eq(gtsc(g, 0, 0), 0);
	ck_assert_uint_eq(gtsc(g, 1, 0), 200);
	ck_assert_uint_eq(gtsc(g, 1, 1 * MS), 2000200);
	ck_assert(one_gen(g));
	rig_down(g);
}
END_TEST

START_TEST(test_tsco_writes_1ms_apart_match)
{
	/*
	 * t = 1 s, vCPU 0 writes 5000000000: raw = 1000 + 2e9 = 2000001000. Userspace had never set
	 * the TSC, so a non-zero value does not synchronize: a new generation, offset 5e9 -
	 * 2000001000 = 2999999000; vCPU 1 is left in the creation generation: not one generation.
	 * t = 1.001 s, vCPU 1 writes 5002000777: expected = last write + nsec_to_cycles(1 ms) =
	 * 5e9 + 2000000 = 5002000000, 777 cycles off, within 1 s (2e9 cycles): matched, and on a
	 * stable host KVM reuses the generation's offset 2999999000 exactly (the 777 are dropped):
	 * vCPU 1 reads 1000 + 2002000000 + 2999999000 = 5002000000, as vCPU 0 does.
	 */
	struct rig *g = rig_up(X86_HOST "arm a { policy = tsc-offset }\n");

	host_write(g, 0, 5000000000ULL, 1 * SEC);
	ck_assert_uint_eq(attr(g, 0, SEC).offset, 2999999000ULL);
	ck_assert_uint_eq(gtsc(g, 0, 1 * SEC), 5000000000ULL);
	ck_assert(!one_gen(g));
	host_write(g, 1, 5002000777ULL, 1 * SEC + 1 * MS);
	ck_assert_uint_eq(attr(g, 1, SEC + MS).offset, 2999999000ULL);
	ck_assert_uint_eq(gtsc(g, 1, 1 * SEC + 1 * MS), 5002000000ULL);
	ck_assert_uint_eq(gtsc(g, 0, 1 * SEC + 1 * MS), 5002000000ULL);
	ck_assert(one_gen(g));
	rig_down(g);
}
END_TEST

START_TEST(test_tsco_writes_2s_apart_do_not_match)
{
	/*
	 * vCPU 0 writes 5e9 at 1 s (offset 2999999000, as above); vCPU 1 writes the same 5e9 at
	 * 3 s: expected 5e9 + nsec_to_cycles(2 s) = 9e9, 4e9 cycles off, outside the 2e9 window: a
	 * new generation, offset 5e9 - (1000 + 6e9) = -1000001000 = 2^64 - 1000001000 =
	 * 18446744072709550616. The offsets differ by 2999999000 + 1000001000 = 4e9 = the 2 s at
	 * 2 GHz: vCPU 0 reads 6000001000 + 2999999000 = 9e9 at 3 s, vCPU 1 reads 5e9.
	 */
	struct rig *g = rig_up(X86_HOST "arm a { policy = tsc-offset }\n");
	uint64_t o0, o1;

	host_write(g, 0, 5000000000ULL, 1 * SEC);
	host_write(g, 1, 5000000000ULL, 3 * SEC);
	o0 = attr(g, 0, 3 * SEC).offset;
	o1 = attr(g, 1, 3 * SEC).offset;
	ck_assert_uint_eq(o0, 2999999000ULL);
	ck_assert_uint_eq(o1, 18446744072709550616ULL);
	ck_assert_uint_eq(o0 - o1, 4000000000ULL);
	ck_assert_uint_eq(gtsc(g, 0, 3 * SEC), 9000000000ULL);
	ck_assert_uint_eq(gtsc(g, 1, 3 * SEC), 5000000000ULL);
	ck_assert(!one_gen(g));
	rig_down(g);
}
END_TEST

START_TEST(test_tsco_guest_write_moves_one_vcpu)
{
	/*
	 * The guest writes 0 through vCPU 1 at 1 s: only vCPU 1's offset moves (to 0 - 2000001000),
	 * vCPU 0 still reads 2e9; KVM's matching is not involved, so both still count as one
	 * generation.
	 */
	struct rig *g = rig_up(X86_HOST "arm a { policy = tsc-offset }\n");

	pol(g)->ops->on_tsc_write(pol(g), vc(g, 1), 0, TSC_WRITE_GUEST, 1 * SEC);
	ck_assert_uint_eq(gtsc(g, 1, 1 * SEC), 0);
	ck_assert_uint_eq(gtsc(g, 0, 1 * SEC), 2000000000ULL);
	ck_assert(one_gen(g));
	rig_down(g);
}
END_TEST

START_TEST(test_tsco_set_offset_matching)
{
	/*
	 * At 2 s, KVM_VCPU_TSC_OFFSET writes: vCPU 0 gets the current offset 2^64 - 1000: exact
	 * match with last_tsc_offset, same generation, still one; vCPU 1 gets 12345: another
	 * offset, a new generation: vCPU 1 reads 1000 + 4e9 + 12345 = 4000013345, vCPU 0 4e9, not
	 * one generation; vCPU 0 then gets 12345 too: it matches the new last offset and joins.
	 */
	struct rig *g = rig_up(X86_HOST "arm a { policy = tsc-offset }\n");
	struct policy *p = pol(g);

	p->ops->set_tsc_offset(p, vc(g, 0), 18446744073709550616ULL, 2 * SEC);
	ck_assert(one_gen(g));
	ck_assert_uint_eq(gtsc(g, 0, 2 * SEC), 4000000000ULL);
	p->ops->set_tsc_offset(p, vc(g, 1), 12345, 2 * SEC);
	ck_assert(!one_gen(g));
	ck_assert_uint_eq(attr(g, 1, 2 * SEC).offset, 12345);
	ck_assert_uint_eq(gtsc(g, 1, 2 * SEC), 4000013345ULL);
	ck_assert_uint_eq(gtsc(g, 0, 2 * SEC), 4000000000ULL);
	p->ops->set_tsc_offset(p, vc(g, 0), 12345, 2 * SEC);
	ck_assert(one_gen(g));
	ck_assert_uint_eq(gtsc(g, 0, 2 * SEC), 4000013345ULL);
	rig_down(g);
}
END_TEST

START_TEST(test_tsco_migrate_fresh_vm)
{
	/*
	 * A host write splits the vCPUs on the source (vCPU 0 reads 123 at 5 s: two generations),
	 * then at 10 s the VM lands on a 2.6 GHz host whose counters read 7000 at 0, so 7000 +
	 * 25999999999 = 26000006999 at 10 s (see the top): the fresh VM's creation writes give
	 * every vCPU 2^64 - 26000006999 = 18446744047709544617, the guest reads 0 at 10 s on vCPU
	 * 0's CPU (and on CPU 1, synchronized), one generation again. It now runs at the
	 * destination's 2.6 GHz (no scaling here): 26002606999 - 26000006999 = 2600000 at
	 * 10 s + 1 ms. KVM_GET_TSC_KHZ still says 2000000 kHz, against a
	 * host tsc_khz of 2600000.
	 */
	struct rig *g = rig_up(X86_HOST "arm a { policy = tsc-offset }\n");
	struct tsc_attr a;

	host_write(g, 0, 123, 5 * SEC);
	ck_assert_uint_eq(gtsc(g, 0, 5 * SEC), 123);
	ck_assert(!one_gen(g));
	migrate_to(g, 2, 2600000000ULL, 7000, 10 * SEC);
	ck_assert_uint_eq(gtsc(g, 0, 10 * SEC), 0);
	ck_assert_uint_eq(gtsc(g, 1, 10 * SEC), 0);
	ck_assert_uint_eq(gtsc(g, 0, 10 * SEC + 1 * MS), 2600000);
	ck_assert(one_gen(g));
	a = attr(g, 1, 10 * SEC);
	ck_assert_uint_eq(a.offset, 18446744047709544617ULL);
	ck_assert_uint_eq(a.ratio, RATIO_ONE_48);
	ck_assert_uint_eq(a.frac_bits, 48);
	ck_assert_uint_eq(a.khz, 2000000);
	ck_assert_uint_eq(a.host_khz, 2600000);
	rig_down(g);
}
END_TEST

/* ---- kvm-scaled ------------------------------------------------------------------------ */

START_TEST(test_ks_attr_svm_scaled)
{
	/*
	 * A 2.6 GHz guest on the 2 GHz host, AMD: ratio = floor(2^32 * 2600000 / 2000000) =
	 * floor(1.3 * 2^32) = floor(5583457484.8) = 5583457484 in 8.32. The creation offset is
	 * 0 - floor(1000 * 5583457484 / 2^32) = 0 - floor(1299.99999995) = 2^64 - 1299 =
	 * 18446744073709550317 for both vCPUs; the guest reads 0 at 0, and at 1 ms (host 1000 +
	 * 2000000) floor(2001000 * 5583457484 / 2^32) - 1299 = floor(2601299.99963) - 1299 =
	 * 2600000.
	 */
	struct rig *g = rig_up(X86_HOST "vm.tsc_freq = 2.6GHz\n"
			       "arm a { policy = kvm-scaled; policy.hw = svm }\n");
	struct tsc_attr a;

	for (unsigned i = 0; i < 2; i++) {
		a = attr(g, i, 0);
		ck_assert_uint_eq(a.offset, 18446744073709550317ULL);
		ck_assert_uint_eq(a.ratio, 5583457484ULL);
		ck_assert_uint_eq(a.frac_bits, 32);
		ck_assert_uint_eq(a.khz, 2600000);
		ck_assert_uint_eq(a.host_khz, 2000000);
	}
	ck_assert_uint_eq(gtsc(g, 0, 0), 0);
	ck_assert_uint_eq(gtsc(g, 0, 1 * MS), 2600000);
	ck_assert(one_gen(g));
	rig_down(g);
}
END_TEST

START_TEST(test_ks_migrate_rescales)
{
	/*
	 * A 2 GHz guest on the 2 GHz source: within 250 ppm, unscaled (1.0 in the option's format:
	 * 2^48 for VMX, 2^32 for SVM). At 10 s it moves to a 2.6 GHz host (counters 7000 at 0):
	 * KVM_SET_TSC_KHZ there scales by
	 *   VMX: floor(2^48 * 2000000 / 2600000) = floor(216519212854350.78) = 216519212854350
	 *   SVM: floor(2^32 * 2000000 / 2600000) = floor(3303820996.92)      = 3303820996
	 * and the creation writes make vCPU 0 read 0 at 10 s: offset = 0 - floor(H * ratio /
	 * 2^frac) with H = 7000 + 25999999999 = 26000006999 (see the top), i.e. 0 - 20000005383
	 * (VMX: floor(20000005383.85)) or 0 - 20000005378 (SVM: floor(20000005378.26)). 1 ms
	 * later (H + 2600000) it reads 20002005383 - 20000005383 = 2000000 (VMX) and 20002005378 -
	 * 20000005378 = 2000000 (SVM): the guest's 2 GHz.
	 */
	static const struct {
		const char *hw;
		unsigned frac;
		uint64_t ratio, scaled_h;
	} cases[] = {
		{ "vmx", 48, 216519212854350ULL, 20000005383ULL },
		{ "svm", 32, 3303820996ULL, 20000005378ULL },
	};

	for (unsigned c = 0; c < 2; c++) {
		char text[512];
		struct rig *g;
		struct tsc_attr a;

		snprintf(text, sizeof(text), X86_HOST "arm a { policy = kvm-scaled; policy.hw = %s }\n",
			 cases[c].hw);
		g = rig_up(text);
		a = attr(g, 0, 0);
		ck_assert_uint_eq(a.ratio, 1ULL << cases[c].frac);
		ck_assert_uint_eq(a.frac_bits, cases[c].frac);
		migrate_to(g, 2, 2600000000ULL, 7000, 10 * SEC);
		a = attr(g, 0, 10 * SEC);
		ck_assert_uint_eq(a.ratio, cases[c].ratio);
		ck_assert_uint_eq(a.frac_bits, cases[c].frac);
		ck_assert_uint_eq(a.khz, 2000000);
		ck_assert_uint_eq(a.host_khz, 2600000);
		ck_assert_uint_eq(a.offset, 0 - cases[c].scaled_h);
		ck_assert_uint_eq(gtsc(g, 0, 10 * SEC), 0);
		ck_assert_uint_eq(gtsc(g, 1, 10 * SEC), 0);
		ck_assert_uint_eq(gtsc(g, 0, 10 * SEC + 1 * MS), 2000000);
		ck_assert(one_gen(g));
		rig_down(g);
	}
}
END_TEST

START_TEST(test_ks_migrate_none_slower_refused)
{
	/*
	 * hw = none: the 2 GHz guest cannot be slowed down on the 2.6 GHz destination (KVM refuses
	 * "user requested TSC rate below hardware speed"): host rate, ratio 1.0 = 2^48 in 16.48.
	 * The guest reads 0 at 10 s and 2600000 at 10 s + 1 ms, and an entry there catches nothing
	 * up (no tsc_always_catchup).
	 */
	struct rig *g = rig_up(X86_HOST "arm a { policy = kvm-scaled; policy.hw = none }\n");
	struct tsc_attr a;

	migrate_to(g, 2, 2600000000ULL, 7000, 10 * SEC);
	a = attr(g, 0, 10 * SEC);
	ck_assert_uint_eq(a.ratio, RATIO_ONE_48);
	ck_assert_uint_eq(a.frac_bits, 48);
	ck_assert_uint_eq(gtsc(g, 0, 10 * SEC), 0);
	pol(g)->ops->on_entry(pol(g), vc(g, 0), 0, 10 * SEC + 1 * MS);
	ck_assert_uint_eq(gtsc(g, 0, 10 * SEC + 1 * MS), 2600000);
	rig_down(g);
}
END_TEST

START_TEST(test_ks_catchup_follows_generation)
{
	/*
	 * hw = none, a 2.6 GHz guest on a 2.6 GHz source (host rate), moved at 10 s to a 2 GHz host
	 * (counters 1000 at 0, raw clock = t exactly): slower host, no scaling: software catch-up.
	 * Creation writes at 10 s: offset 0 - (1000 + 20e9), catch-up reference (10e9 ns, 0).
	 *  - 10.001 s: the TSC ran at 2 GHz: 2000000; the entry catches up to nsec_to_cycles(1 ms)
	 *    = 2599999 (kvm_get_time_scale(2.6e9, 1e9) is slow, see the top).
	 *  - 10.002 s: host write through vCPU 0 of V = 1e9: a new generation opened at (10002000000
	 *    ns, 1e9): vCPU 0's reference.
	 *  - 10.0025 s: host write through vCPU 1 of 1501300000: expected V + nsec_to_cycles(0.5 ms)
	 *    = 1e9 + 1299999 = 1001299999, 500000001 cycles off, within 1 s (2.6e9 cycles): matched,
	 *    offset = the generation's (1e9 - 20004001000), and its reference becomes the
	 *    generation's first write (10002000000 ns, 1e9), not its own value.
	 *  - 10.003 s: vCPU 1 ran at 2 GHz since the generation: 1e9 + 2000000 = 1002000000; its
	 *    entry catches up to 1e9 + nsec_to_cycles(1 ms) = 1002599999. (Had the reference stayed
	 *    at the creation's (10e9 ns, 0), the target 7799999 would be behind and nothing would
	 *    move; with its own write's, the target would be 1501300000 + 1299999.)
	 */
	struct rig *g = rig_up("duration = 1s\nhost { cpus = 2\n cpu.freq = 2.6GHz\n"
			       " tsc_stable = yes }\nvm.vcpus = 2\n"
			       "arm a { policy = kvm-scaled; policy.hw = none }\n");
	struct policy *p = pol(g);
	const sim_ns t0 = 10 * SEC;

	migrate_to(g, 2, 2000000000ULL, 1000, t0);
	ck_assert_uint_eq(gtsc(g, 0, t0), 0);
	ck_assert_uint_eq(gtsc(g, 0, t0 + 1 * MS), 2000000);
	p->ops->on_entry(p, vc(g, 0), 0, t0 + 1 * MS);
	ck_assert_uint_eq(gtsc(g, 0, t0 + 1 * MS), 2599999);
	host_write(g, 0, 1000000000ULL, t0 + 2 * MS);
	ck_assert_uint_eq(gtsc(g, 0, t0 + 2 * MS), 1000000000ULL);
	host_write(g, 1, 1501300000ULL, t0 + 2 * MS + 500000);
	ck_assert_uint_eq(attr(g, 1, t0).offset, attr(g, 0, t0).offset);
	ck_assert_uint_eq(attr(g, 1, t0).offset, 1000000000ULL - 20004001000ULL);
	ck_assert(one_gen(g));
	ck_assert_uint_eq(gtsc(g, 1, t0 + 3 * MS), 1002000000ULL);
	p->ops->on_entry(p, vc(g, 1), 1, t0 + 3 * MS);
	ck_assert_uint_eq(gtsc(g, 1, t0 + 3 * MS), 1002599999ULL);
	rig_down(g);
}
END_TEST

/* ---- arm64-offset ---------------------------------------------------------------------- */

/* Three vCPUs on four synchronized 1 GHz counters reading 987654321 at true time 0. */
#define ARM_HOST "duration = 1s\nhost { cpus = 4\n cpu.freq = 1GHz\n cpu.offset = 987654321cycles }\n" \
		 "vm.vcpus = 3\n"

START_TEST(test_a64_attr_and_value_write)
{
	/*
	 * Creation: CNTVOFF = CNTPCT at 0 = 987654321, so the x86-style offset is 2^64 - 987654321
	 * = 18446744072721897295, unscaled (2^48, 16.48), 1000000 kHz both sides.
	 * A KVM_REG_ARM_TIMER_CNT write of 42 through vCPU 2 at 0.5 s: CNTVOFF = 987654321 + 5e8 -
	 * 42 = 1487654279 for the whole VM: all three vCPUs read 42 there (one generation, always).
	 * A guest write changes nothing.
	 */
	struct rig *g = rig_up(ARM_HOST "arm a { policy = arm64-offset }\n");
	struct tsc_attr a = attr(g, 1, 0);

	ck_assert_uint_eq(a.offset, 18446744072721897295ULL);
	ck_assert_uint_eq(a.ratio, RATIO_ONE_48);
	ck_assert_uint_eq(a.frac_bits, 48);
	ck_assert_uint_eq(a.khz, 1000000);
	ck_assert_uint_eq(a.host_khz, 1000000);
	ck_assert(one_gen(g));
	host_write(g, 2, 42, 500 * MS);
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_uint_eq(gtsc(g, i, 500 * MS), 42);
		ck_assert_uint_eq(attr(g, i, 500 * MS).offset, 0 - 1487654279ULL);
	}
	ck_assert(one_gen(g));
	pol(g)->ops->on_tsc_write(pol(g), vc(g, 0), 0, TSC_WRITE_GUEST, 500 * MS);
	ck_assert_uint_eq(gtsc(g, 0, 500 * MS), 42);
	rig_down(g);
}
END_TEST

START_TEST(test_a64_offset_api_pins_then_migrate_clears)
{
	/*
	 * 0.5 s: value write of 42 (CNTVOFF 1487654279, as above), then KVM_ARM_SET_COUNTER_OFFSET
	 * with the x86-style offset 2^64 - 1000: CNTVOFF = 1000, every vCPU reads 1487654321 - 1000
	 * = 1487653321 at 0.5 s. 0.6 s: a value write of 7 through vCPU 1 is ignored (the VM has
	 * KVM_ARCH_FLAG_VM_COUNTER_OFFSET): 1587653321.
	 * 1 s: migration to a 1 GHz host whose counters read 5555 at 0: fresh VM, CNTVOFF =
	 * 5555 + 1e9 = 1000005555, all read 0, flag cleared: a value write of 99 through vCPU 1 at
	 * 1 s moves the VM again: all read 99.
	 */
	struct rig *g = rig_up(ARM_HOST "arm a { policy = arm64-offset }\n");
	struct policy *p = pol(g);

	host_write(g, 2, 42, 500 * MS);
	p->ops->set_tsc_offset(p, vc(g, 0), 0 - 1000ULL, 500 * MS);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_uint_eq(gtsc(g, i, 500 * MS), 1487653321ULL);
	host_write(g, 1, 7, 600 * MS);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_uint_eq(gtsc(g, i, 600 * MS), 1587653321ULL);
	migrate_to(g, 4, 1000000000ULL, 5555, 1 * SEC);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_uint_eq(gtsc(g, i, 1 * SEC), 0);
	ck_assert_uint_eq(attr(g, 0, SEC).offset, 0 - 1000005555ULL);
	host_write(g, 1, 99, 1 * SEC);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_uint_eq(gtsc(g, i, 1 * SEC), 99);
	rig_down(g);
}
END_TEST

START_TEST(test_a64_per_vcpu_generation)
{
	/*
	 * Seed 002's rejected per-vCPU proposal: a value write of 42 through vCPU 1 at 0.5 s moves
	 * vCPU 1 alone (CNTVOFF_1 = 1487654279): vCPU 1 reads 42, vCPU 0 5e8, offsets differ: not
	 * one generation. The per-VM offset API (2^64 - 1000) sets every offset to 1000: one again,
	 * all read 1487653321.
	 */
	struct rig *g = rig_up(ARM_HOST "arm a { policy = arm64-offset; policy.per_vcpu = yes }\n");
	struct policy *p = pol(g);

	host_write(g, 1, 42, 500 * MS);
	ck_assert_uint_eq(gtsc(g, 1, 500 * MS), 42);
	ck_assert_uint_eq(gtsc(g, 0, 500 * MS), 500000000ULL);
	ck_assert_uint_eq(gtsc(g, 2, 500 * MS), 500000000ULL);
	ck_assert(!one_gen(g));
	p->ops->set_tsc_offset(p, vc(g, 0), 0 - 1000ULL, 500 * MS);
	ck_assert(one_gen(g));
	for (unsigned i = 0; i < 3; i++)
		ck_assert_uint_eq(gtsc(g, i, 500 * MS), 1487653321ULL);
	rig_down(g);
}
END_TEST

Suite *kvm_tsc_suite(void)
{
	Suite *s = suite_create("kvm_tsc");
	TCase *tc = tcase_create("migration-methods");

	tcase_add_test(tc, test_tsco_creation_as_before);
	tcase_add_test(tc, test_tsco_writes_1ms_apart_match);
	tcase_add_test(tc, test_tsco_writes_2s_apart_do_not_match);
	tcase_add_test(tc, test_tsco_guest_write_moves_one_vcpu);
	tcase_add_test(tc, test_tsco_set_offset_matching);
	tcase_add_test(tc, test_tsco_migrate_fresh_vm);
	tcase_add_test(tc, test_ks_attr_svm_scaled);
	tcase_add_test(tc, test_ks_migrate_rescales);
	tcase_add_test(tc, test_ks_migrate_none_slower_refused);
	tcase_add_test(tc, test_ks_catchup_follows_generation);
	tcase_add_test(tc, test_a64_attr_and_value_write);
	tcase_add_test(tc, test_a64_offset_api_pins_then_migrate_clears);
	tcase_add_test(tc, test_a64_per_vcpu_generation);
	suite_add_tcase(s, tc);
	return s;
}
