/*
 * check_migrate.c: tests of models/migrate.c: the old documented KVM_VCPU_TSC_OFFSET formula on
 * hand-worked numbers, its units (kHz against cycles per ns), seed 004's algorithm corrected
 * (continuity within REFERENCE 6's criterion on random migrations, with and without scaling) and
 * as printed (failing it by exactly 2 * raw_dst), KVM's TSC write matching rules and the
 * cloud-hypervisor double write, and KVM_SET_CLOCK with and without KVM_CLOCK_REALTIME.
 */
#include <check.h>

#include "migrate.h"
#include "timescale.h"

Suite *migrate_suite(void);

#define GHZ2_KHZ 2000000u    /* 2.0 GHz */
#define GHZ26_KHZ 2600000u   /* 2.6 GHz */
#define VMX_ONE (1ULL << VMX_TSC_FRAC_BITS)

/* splitmix64 (Steele, Lea, Flood): a small generator whose state the caller owns. */
static uint64_t next_u64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi] (the tiny modulo bias does not matter for a test). */
static uint64_t next_in(uint64_t *state, uint64_t lo, uint64_t hi)
{
	return lo + next_u64(state) % (hi - lo + 1);
}

/* ---- units ------------------------------------------------------------------------------------ */

/* floor(ns * khz / 10^6): 1 ns at 2.6 GHz is 2.6 cycles: +1 ns -> 2, -1 ns -> floor(-2.6) = -3. */
START_TEST(test_ns_to_cycles)
{
	ck_assert_uint_eq(migrate_ns_to_cycles(1, GHZ26_KHZ), 2);
	ck_assert_uint_eq(migrate_ns_to_cycles(-1, GHZ26_KHZ), (uint64_t)-3);
	ck_assert_uint_eq(migrate_ns_to_cycles(0, GHZ26_KHZ), 0);
	/* 1 s at 2.0 GHz = 2e9 cycles; 50 ms = 1e8. */
	ck_assert_uint_eq(migrate_ns_to_cycles(1000000000, GHZ2_KHZ), 2000000000u);
	ck_assert_uint_eq(migrate_ns_to_cycles(50000000, GHZ2_KHZ), 100000000u);
	/* The extremes stay exact: INT64_MAX ns at 4294967295 kHz, low 64 bits of the floor. */
	ck_assert_uint_eq(migrate_ns_to_cycles(INT64_MAX, UINT32_MAX),
			  (uint64_t)(((u128)INT64_MAX * UINT32_MAX) / 1000000u));
}
END_TEST

/* ---- the old documented formula --------------------------------------------------------------- */

/*
 * A 2.0 -> 2.0 GHz migration, no scaling (ratio 1.0), 50 ms downtime:
 *   source: host TSC 10,000,000,000 (5 s at 2 GHz), kvmclock 4,000,000,000 ns, ofs 1,000,000
 *           -> guest TSC 10,001,000,000
 *   dest:   host TSC 3,000,000,000 (booted 1.5 s ago), kvmclock 4,050,000,000 ns (KVM_SET_CLOCK
 *           advanced it by the 50 ms)
 *   ofs_dst = 1,000,000 - (4,000,000,000 - 4,050,000,000) * 2,000,000 / 10^6
 *             + (10,000,000,000 - 3,000,000,000)
 *           = 1,000,000 + 100,000,000 + 7,000,000,000 = 7,101,000,000
 *   guest TSC on dest = 3,000,000,000 + 7,101,000,000 = 10,101,000,000
 *                     = 10,001,000,000 + 50 ms * 2 GHz (1e8): continuity error 0.
 */
static const struct migrate_side old_src = { 10000000000u, 1700000000000000000u, 4000000000u,
					     GHZ2_KHZ };
static const struct migrate_side old_dst = { 3000000000u, 1700000000050000000u, 4050000000u,
					     GHZ2_KHZ };

START_TEST(test_old_doc_known)
{
	struct migrate_vcpu vs = { 1000000u, VMX_ONE, VMX_TSC_FRAC_BITS };
	struct migrate_vcpu vd = { 0, VMX_ONE, VMX_TSC_FRAC_BITS };
	uint64_t ofs = migrate_old_doc_offset(&old_src, &old_dst, vs.ofs);

	ck_assert_uint_eq(ofs, 7101000000u);
	vd.ofs = ofs;
	ck_assert_uint_eq(migrate_guest_tsc(&old_src, &vs), 10001000000u);
	ck_assert_uint_eq(migrate_guest_tsc(&old_dst, &vd), 10101000000u);
	ck_assert_int_eq(migrate_continuity_error(&old_src, &vs, &old_dst, &vd, ofs, 50000000), 0);
}
END_TEST

/*
 * kHz is not cycles per ns. Using freq = 2,000,000 (the kHz number) as if it were cycles per ns
 * turns the kvmclock term into 50,000,000 ns * 2,000,000 = 10^14 cycles instead of 10^8:
 * exactly 10^6 times too large. The guest TSC then lands 10^14 - 10^8 = 99,999,900,000,000
 * cycles (13.9 hours at 2 GHz) ahead of continuity.
 */
START_TEST(test_old_doc_units)
{
	struct migrate_vcpu vs = { 1000000u, VMX_ONE, VMX_TSC_FRAC_BITS };
	struct migrate_vcpu vd = { 0, VMX_ONE, VMX_TSC_FRAC_BITS };
	int64_t span_ns = (int64_t)(old_dst.kvmclock_ns - old_src.kvmclock_ns);
	uint64_t host_term = old_src.host_tsc - old_dst.host_tsc;
	uint64_t right = migrate_old_doc_offset(&old_src, &old_dst, vs.ofs);
	uint64_t wrong = vs.ofs + (uint64_t)span_ns * old_src.guest_khz + host_term;
	uint64_t right_term = right - vs.ofs - host_term;
	uint64_t wrong_term = wrong - vs.ofs - host_term;

	ck_assert_uint_eq(right_term, 100000000u);
	ck_assert_uint_eq(wrong_term, 100000000000000u);
	ck_assert_uint_eq(wrong_term, right_term * 1000000u);
	ck_assert_int_eq(migrate_continuity_error(&old_src, &vs, &old_dst, &vd, wrong, 50000000),
			 99999900000000);
	ck_assert(!migrate_continuity_ok(
		migrate_continuity_error(&old_src, &vs, &old_dst, &vd, wrong, 50000000), 0));
}
END_TEST

/* ---- seed 004 --------------------------------------------------------------------------------- */

/*
 * 2.0 -> 2.6 GHz with VMX scaling, guest at 2.0 GHz, 100 ms downtime:
 *   ratio_src = 2^48 (2.0 on 2.0), ratio_dst = floor(2^48 * 2,000,000 / 2,600,000)
 *             = floor(2814749767106560 / 13) = 216,519,212,854,350
 *   2c: tsc_src = 10,000,000,000 + 5,000 = 10,000,005,000
 *    7: dT = 100,000,000 ns;  8b: tsc_dst = 10,000,005,000 + 1e8 * 2e6 / 1e6 = 10,200,005,000
 *   8c: raw_dst = floor(13,000,000,000 * 216,519,212,854,350 / 2^48) = 9,999,999,999 (the exact
 *       10^10 less 13e9 * 0.77 / 2^48 = 3.6e-5 of the ratio's floor, floored once more)
 *   8d corrected: 10,200,005,000 - 9,999,999,999 = 200,005,001
 *   8d printed:   10,200,005,000 + 9,999,999,999 = 20,200,004,999
 * The printed offset reads 2 * raw_dst = 19,999,999,998 cycles (10 s at 2 GHz) ahead.
 */
START_TEST(test_seed004_known)
{
	struct migrate_side src = { 10000000000u, 1700000000000000000u, 0, GHZ2_KHZ };
	struct migrate_side dst = { 13000000000u, 1700000000100000000u, 0, GHZ2_KHZ };
	struct migrate_vcpu vs = { 5000u, 0, VMX_TSC_FRAC_BITS };
	struct migrate_vcpu vd = { 0, 0, VMX_TSC_FRAC_BITS };
	uint64_t raw = 0, ofs_ok, ofs_printed;

	ck_assert(tsc_ratio(GHZ2_KHZ, GHZ2_KHZ, VMX_TSC_FRAC_BITS, VMX_TSC_RATIO_MAX, &vs.ratio));
	ck_assert(tsc_ratio(GHZ2_KHZ, GHZ26_KHZ, VMX_TSC_FRAC_BITS, VMX_TSC_RATIO_MAX, &vd.ratio));
	ck_assert_uint_eq(vs.ratio, VMX_ONE);
	ck_assert_uint_eq(vd.ratio, 216519212854350u);

	ofs_ok = migrate_seed004_offset(&src, &vs, &dst, &vd, MIGRATE_SEED004_CORRECTED, &raw);
	ck_assert_uint_eq(raw, 9999999999u);
	ck_assert_uint_eq(ofs_ok, 200005001u);
	ofs_printed = migrate_seed004_offset(&src, &vs, &dst, &vd, MIGRATE_SEED004_PRINTED, NULL);
	ck_assert_uint_eq(ofs_printed, 20200004999u);

	ck_assert_int_eq(migrate_continuity_error(&src, &vs, &dst, &vd, ofs_ok, 100000000), 0);
	ck_assert_int_eq(migrate_continuity_error(&src, &vs, &dst, &vd, ofs_printed, 100000000),
			 19999999998);
}
END_TEST

/*
 * The destination's CLOCK_REALTIME 2 ms ahead of the source's: dT reads 102 ms for a true
 * 100 ms, and even the corrected algorithm puts the guest 2 ms * 2 GHz = 4,000,000 cycles ahead.
 * The algorithm is only as good as the hosts' realtime agreement (vcpu.rst's own caveat).
 */
START_TEST(test_seed004_realtime_skew)
{
	struct migrate_side src = { 10000000000u, 1700000000000000000u, 0, GHZ2_KHZ };
	struct migrate_side dst = { 13000000000u, 1700000000102000000u, 0, GHZ2_KHZ };
	struct migrate_vcpu vs = { 5000u, VMX_ONE, VMX_TSC_FRAC_BITS };
	struct migrate_vcpu vd = { 0, 216519212854350u, VMX_TSC_FRAC_BITS };
	uint64_t ofs = migrate_seed004_offset(&src, &vs, &dst, &vd, MIGRATE_SEED004_CORRECTED, NULL);

	ck_assert_int_eq(migrate_continuity_error(&src, &vs, &dst, &vd, ofs, 100000000), 4000000);
}
END_TEST

/*
 * Random migrations, guest frequency g, source host hs, destination host hd (kHz), VMX ratios
 * r = floor(2^48 g / h). The source pauses with a random host TSC and offset; after a true
 * downtime D (realtime in agreement, so dT = D) the destination reads host TSC Hd. Then:
 *  - at Tdst, corrected: the guest reads tsc_src + floor(D g / 10^6) exactly: error 0;
 *  - at Tdst + tau (tau whole ms, so the host advanced by exactly H = tau_ms * hd cycles):
 *      err = [floor((Hd + H) r / 2^48) - floor(Hd r / 2^48)] - [floor((D + tau) g / 10^6) -
 *            floor(D g / 10^6)]
 *    The first bracket is floor(H r / 2^48) or one more, and H r / 2^48 = H g / hd - H (rho - r)
 *    / 2^48 >= tau g / 10^6 - B with rho = 2^48 g / hd and B = migrate_ratio_rounding (an
 *    integer, at most ceil(H / 2^48), 0 when r = rho); the second is floor(tau g / 10^6) or one
 *    more. So -1 - B <= err <= 1: the criterion with ratio rounding B;
 *  - printed: the offset is larger by 2 * raw_dst, so the error at Tdst is exactly 2 * raw_dst
 *    mod 2^64, and it fails the criterion unless that lands within the bound of 0 mod 2^64.
 */
static void random_migrations(uint64_t seed, bool equal_freq, unsigned n)
{
	uint64_t rng = seed;
	unsigned printed_failed = 0, printed_exempt = 0;

	for (unsigned k = 0; k < n; k++) {
		uint32_t g = equal_freq ? (uint32_t)next_in(&rng, 1000000, 5000000) : GHZ2_KHZ;
		uint32_t hs = equal_freq ? g : GHZ2_KHZ;
		uint32_t hd = equal_freq ? g : GHZ26_KHZ;
		uint64_t downtime_ns = next_in(&rng, 0, 10 * NS_PER_SEC);
		uint64_t tau_ms = next_in(&rng, 0, 3600 * 1000);
		uint64_t H = tau_ms * hd;
		struct migrate_side src = { next_in(&rng, 0, 1ULL << 61), 0, 0, g };
		struct migrate_side dst = { next_in(&rng, 0, 1ULL << 60), 0, 0, g };
		struct migrate_side later;
		struct migrate_vcpu vs = { next_u64(&rng), 0, VMX_TSC_FRAC_BITS };
		struct migrate_vcpu vd = { 0, 0, VMX_TSC_FRAC_BITS };
		uint64_t ofs, ofs_printed, raw = 0, bound, two_raw;
		int64_t err;

		src.realtime_ns = next_in(&rng, 1ULL << 60, 1ULL << 61);
		dst.realtime_ns = src.realtime_ns + downtime_ns;
		ck_assert(tsc_ratio(g, hs, VMX_TSC_FRAC_BITS, VMX_TSC_RATIO_MAX, &vs.ratio));
		ck_assert(tsc_ratio(g, hd, VMX_TSC_FRAC_BITS, VMX_TSC_RATIO_MAX, &vd.ratio));
		if (equal_freq)
			ck_assert_uint_eq(vd.ratio, VMX_ONE);

		ofs = migrate_seed004_offset(&src, &vs, &dst, &vd, MIGRATE_SEED004_CORRECTED, &raw);
		ck_assert_int_eq(migrate_continuity_error(&src, &vs, &dst, &vd, ofs,
							  (int64_t)downtime_ns), 0);

		later = dst;
		later.host_tsc += H;
		bound = migrate_ratio_rounding(H, vd.ratio, VMX_TSC_FRAC_BITS, g, hd);
		ck_assert_uint_le(bound, (H >> VMX_TSC_FRAC_BITS) + 1); /* <= ceil(H / 2^48) */
		err = migrate_continuity_error(&src, &vs, &later, &vd, ofs,
					       (int64_t)(downtime_ns + tau_ms * NS_PER_MS));
		ck_assert_msg(migrate_continuity_ok(err, bound), "k=%u err=%lld bound=%llu", k,
			      (long long)err, (unsigned long long)bound);
		ck_assert_int_le(err, 1);
		if (equal_freq)
			ck_assert_uint_eq(bound, 0);   /* ratio 1.0: no rounding, |err| <= 1 */

		ofs_printed = migrate_seed004_offset(&src, &vs, &dst, &vd, MIGRATE_SEED004_PRINTED,
						     NULL);
		two_raw = 2 * raw;
		ck_assert_uint_eq(ofs_printed - ofs, two_raw);
		err = migrate_continuity_error(&src, &vs, &dst, &vd, ofs_printed,
					       (int64_t)downtime_ns);
		ck_assert_uint_eq((uint64_t)err, two_raw);
		if (two_raw <= 1 || two_raw >= (uint64_t)-1) {
			printed_exempt++;
		} else {
			ck_assert(!migrate_continuity_ok(err, 0));
			printed_failed++;
		}
	}
	/* raw_dst is random and huge: every printed migration fails. */
	ck_assert_uint_eq(printed_exempt, 0);
	ck_assert_uint_eq(printed_failed, n);
}

START_TEST(test_seed004_random_scaled)
{
	random_migrations(0x5eed004a, false, 100000);
}
END_TEST

START_TEST(test_seed004_random_equal)
{
	random_migrations(0x5eed004b, true, 100000);
}
END_TEST

/*
 * The criterion's arithmetic. Ratio 2^48 for 2.0 on 2.0 GHz is exact: no rounding. 2.0 on
 * 2.6 GHz: r = 216,519,212,854,350, 2^48 * 2e6 - r * 2.6e6 = 2,000,000 (r is short of
 * 2^48 * 10/13 by 2e6 / 2.6e6 = 0.769 ulp). Over one hour at 2.6 GHz, H = 9.36e12 host cycles:
 * ceil(9.36e12 * 2e6 / (2.6e6 * 2^48)) = ceil(0.0256) = 1 cycle. The same guest on AMD 8.32:
 * 2^32 * 10 = 42,949,672,960 = 13 * 3,303,820,996 + 12, so r = 3,303,820,996 and
 * 2^32 * 2e6 - r * 2.6e6 = 12 * 2e5 = 2,400,000; ceil(9.36e12 * 2.4e6 / (2.6e6 * 2^32)) =
 * ceil(2011.7) = 2012 cycles, about 1 us in an hour (REFERENCE 6: up to ~20 us a day on AMD).
 */
START_TEST(test_criterion)
{
	uint64_t r;

	ck_assert_uint_eq(migrate_ratio_rounding(9360000000000u, VMX_ONE, 48, GHZ2_KHZ, GHZ2_KHZ), 0);
	ck_assert_uint_eq(migrate_ratio_rounding(0, 216519212854350u, 48, GHZ2_KHZ, GHZ26_KHZ), 0);
	ck_assert_uint_eq(migrate_ratio_rounding(9360000000000u, 216519212854350u, 48, GHZ2_KHZ,
						 GHZ26_KHZ), 1);
	ck_assert(tsc_ratio(GHZ2_KHZ, GHZ26_KHZ, SVM_TSC_FRAC_BITS, SVM_TSC_RATIO_MAX, &r));
	ck_assert_uint_eq(r, 3303820996u);
	ck_assert_uint_eq(migrate_ratio_rounding(9360000000000u, r, 32, GHZ2_KHZ, GHZ26_KHZ), 2012);
	/* A ratio above the exact rate, or no host frequency: no shortfall. */
	ck_assert_uint_eq(migrate_ratio_rounding(1000, VMX_ONE + 1, 48, GHZ2_KHZ, GHZ2_KHZ), 0);
	ck_assert_uint_eq(migrate_ratio_rounding(1000, VMX_ONE, 48, GHZ2_KHZ, 0), 0);
	ck_assert(migrate_continuity_ok(1, 0));
	ck_assert(migrate_continuity_ok(-1, 0));
	ck_assert(!migrate_continuity_ok(2, 0));
	ck_assert(!migrate_continuity_ok(-2, 0));
	ck_assert(migrate_continuity_ok(-3, 2));
	ck_assert(!migrate_continuity_ok(INT64_MIN, 0));
	ck_assert(migrate_continuity_ok(INT64_MIN, UINT64_MAX));
}
END_TEST

/* ---- KVM TSC write matching ------------------------------------------------------------------- */

#define NV 4
#define T0_NS 5000000000u          /* host kvmclock base at the first write, ns */
#define RAW0 7000000000u           /* vCPU TSC before offset at T0, cycles (3.5 s at 2 GHz) */
#define SAVED 1000000000000u       /* a restored guest TSC, cycles (500 s at 2 GHz) */

/* The unscaled 2 GHz guest's raw TSC t ns after T0: RAW0 + 2t. */
static uint64_t raw_at(uint64_t t_ns)
{
	return RAW0 + 2 * t_ns;
}

/* KVM creates every vCPU with a write of 0 (not userspace's): one generation, offset -RAW0. */
static void create_vcpus(struct kvm_tsc_match *st, uint64_t *gen)
{
	uint64_t ofs;

	kvm_tsc_match_init(st, gen, NV);
	ck_assert(!kvm_all_one_generation(st, NV));
	for (unsigned i = 0; i < NV; i++) {
		bool m = kvm_tsc_write(st, i, 0, raw_at(i), T0_NS + i, GHZ2_KHZ, true, false, &ofs);

		ck_assert(m == (i != 0)); /* the first opens generation 1 (last_khz was 0) */
		ck_assert_uint_eq(ofs, (uint64_t)0 - RAW0);
	}
	ck_assert_uint_eq(st->cur_gen, 1);
	ck_assert(kvm_all_one_generation(st, NV));
	ck_assert(!st->user_set);
}

/* Userspace writes 0 to vCPU 1 after setting vCPU 0 far away: 0 always synchronizes. */
START_TEST(test_match_zero_syncs)
{
	struct kvm_tsc_match st;
	uint64_t gen[NV], ofs;

	create_vcpus(&st, gen);
	ck_assert(!kvm_tsc_write(&st, 0, SAVED, raw_at(10), T0_NS + 10, GHZ2_KHZ, true, true,
				 &ofs));
	ck_assert_uint_eq(ofs, SAVED - raw_at(10));
	ck_assert(kvm_tsc_write(&st, 1, 0, raw_at(20), T0_NS + 20, GHZ2_KHZ, true, true, &ofs));
	ck_assert_uint_eq(ofs, SAVED - raw_at(10)); /* the current offset, not 0 - raw */
	ck_assert_uint_eq(gen[0], gen[1]);
}
END_TEST

/*
 * Restore writes of SAVED 300 ms apart (2 GHz: tsc_exp = SAVED + 6e8, within hz = 2e9). The first
 * userspace write never matches (user_set_tsc was false); each later one does, and on a stable
 * host takes the exact current offset SAVED - RAW0: all four vCPUs in generation 2.
 */
START_TEST(test_match_within_1s)
{
	struct kvm_tsc_match st;
	uint64_t gen[NV], ofs;

	create_vcpus(&st, gen);
	for (unsigned i = 0; i < NV; i++) {
		uint64_t t = i * 300 * NS_PER_MS;
		bool m = kvm_tsc_write(&st, i, SAVED, raw_at(t), T0_NS + t, GHZ2_KHZ, true, true, &ofs);

		ck_assert(m == (i != 0));
		ck_assert_uint_eq(ofs, SAVED - RAW0);
	}
	ck_assert_uint_eq(st.cur_gen, 2);
	ck_assert(kvm_all_one_generation(&st, NV));
}
END_TEST

/*
 * The same on an unstable host: KVM adds the elapsed cycles to the value written, 300 ms =
 * 600,000,000 cycles, so vCPU 1's offset is SAVED + 6e8 - (RAW0 + 6e8) = SAVED - RAW0 again.
 */
START_TEST(test_match_unstable)
{
	struct kvm_tsc_match st;
	uint64_t gen[NV], ofs;
	uint64_t t = 300 * NS_PER_MS;

	create_vcpus(&st, gen);
	ck_assert(!kvm_tsc_write(&st, 0, SAVED, raw_at(0), T0_NS, GHZ2_KHZ, false, true, &ofs));
	ck_assert(kvm_tsc_write(&st, 1, SAVED, raw_at(t), T0_NS + t, GHZ2_KHZ, false, true, &ofs));
	ck_assert_uint_eq(ofs, SAVED - RAW0);
	ck_assert_uint_eq(st.last_write, SAVED + 600000000u);
}
END_TEST

/*
 * The window's edge: tsc_exp = SAVED + 2 * elapsed_ns, hz = 2e9, matched iff
 * SAVED + 2e9 > tsc_exp, i.e. elapsed < 1 s: 999,999,999 ns matches, 1,000,000,000 does not,
 * 1.2 s does not.
 */
START_TEST(test_match_beyond_1s)
{
	static const struct { uint64_t dt_ns; bool matched; } cases[] = {
		{ 999999999u, true }, { 1000000000u, false }, { 1200000000u, false },
	};

	for (unsigned c = 0; c < VT_ARRAY_SIZE(cases); c++) {
		struct kvm_tsc_match st;
		uint64_t gen[NV], ofs;
		uint64_t t = cases[c].dt_ns;

		create_vcpus(&st, gen);
		kvm_tsc_write(&st, 0, SAVED, raw_at(0), T0_NS, GHZ2_KHZ, true, true, &ofs);
		ck_assert(kvm_tsc_write(&st, 1, SAVED, raw_at(t), T0_NS + t, GHZ2_KHZ, true, true,
					&ofs) == cases[c].matched);
		ck_assert((gen[0] == gen[1]) == cases[c].matched);
		ck_assert_uint_eq(st.cur_gen, cases[c].matched ? 2 : 3);
	}
}
END_TEST

/* Within the window but at 2.6 GHz after a 2.0 GHz write: a new generation. */
START_TEST(test_match_other_freq)
{
	struct kvm_tsc_match st;
	uint64_t gen[NV], ofs;
	uint64_t t = 300 * NS_PER_MS;

	create_vcpus(&st, gen);
	kvm_tsc_write(&st, 0, SAVED, raw_at(0), T0_NS, GHZ2_KHZ, true, true, &ofs);
	ck_assert(!kvm_tsc_write(&st, 1, SAVED, raw_at(t), T0_NS + t, GHZ26_KHZ, true, true, &ofs));
	ck_assert_uint_ne(gen[0], gen[1]);
	/* Even a write of 0 needs the same frequency to match. */
	ck_assert(!kvm_tsc_write(&st, 2, 0, raw_at(t), T0_NS + t, GHZ2_KHZ, true, true, &ofs));
}
END_TEST

/*
 * Per-vCPU restore writes of the same SAVED 1.5 s apart: each opens its own generation with
 * offset SAVED - raw, so consecutive vCPUs' offsets differ by exactly 1.5 s * 2 GHz =
 * 3,000,000,000 cycles: their TSCs diverge by 1.5 s, and master-clock mode stays off.
 */
START_TEST(test_match_writes_diverge)
{
	struct kvm_tsc_match st;
	uint64_t gen[NV], ofs[NV];

	create_vcpus(&st, gen);
	for (unsigned i = 0; i < NV; i++) {
		uint64_t t = i * 1500 * NS_PER_MS;

		ck_assert(!kvm_tsc_write(&st, i, SAVED, raw_at(t), T0_NS + t, GHZ2_KHZ, true, true,
					 &ofs[i]));
	}
	for (unsigned i = 1; i < NV; i++)
		ck_assert_uint_eq(ofs[i - 1] - ofs[i], 3000000000u);
	ck_assert_uint_eq(st.cur_gen, 1 + NV);
	ck_assert(!kvm_all_one_generation(&st, NV));
}
END_TEST

/*
 * cloud-hypervisor (REFERENCE 10; its PR 8383 trace: "vcpu=0 0->A, A->B; vcpu=1 0->B, B->C"):
 * each vCPU is restored with an MSR_IA32_TSC write of SAVED and then its KVM_VCPU_TSC_OFFSET
 * written again with its saved offset, which differs per vCPU (here by 1000 cycles each). The
 * value write matches (within 1 s) and takes the previous vCPU's offset; the offset write is not
 * that exact offset, so it opens a new generation. Every vCPU ends alone in its own generation
 * and master-clock mode never engages. Writing the values once leaves one generation.
 */
START_TEST(test_match_written_twice)
{
	struct kvm_tsc_match st;
	uint64_t gen[NV], ofs;
	uint64_t a = SAVED - RAW0;                       /* A: vCPU 0's value write at T0 */
	uint64_t prev = 0;

	create_vcpus(&st, gen);
	for (unsigned i = 0; i < NV; i++) {
		uint64_t t = i * NS_PER_MS;                  /* 1 ms between vCPUs */
		uint64_t saved_ofs = a + 1000 * (i + 1);     /* B, C, D, E */

		ck_assert(kvm_tsc_write(&st, i, SAVED, raw_at(t), T0_NS + t, GHZ2_KHZ, true, true,
					&ofs) == (i != 0));
		ck_assert_uint_eq(ofs, i == 0 ? a : prev);   /* vcpu=i: 0 -> previous offset */
		ck_assert(!kvm_tsc_set_offset(&st, i, saved_ofs, raw_at(t), T0_NS + t, GHZ2_KHZ));
		prev = saved_ofs;
	}
	for (unsigned i = 1; i < NV; i++)
		ck_assert_uint_ne(gen[i - 1], gen[i]);
	ck_assert(!kvm_all_one_generation(&st, NV));

	/* The fix: one write per vCPU. */
	create_vcpus(&st, gen);
	for (unsigned i = 0; i < NV; i++)
		kvm_tsc_write(&st, i, SAVED, raw_at(i * NS_PER_MS), T0_NS + i * NS_PER_MS, GHZ2_KHZ,
			      true, true, &ofs);
	ck_assert(kvm_all_one_generation(&st, NV));
	/* And an offset write equal to the current one matches. */
	ck_assert(kvm_tsc_set_offset(&st, 0, a, raw_at(9 * NS_PER_MS), T0_NS + 9 * NS_PER_MS,
				     GHZ2_KHZ));
	ck_assert(kvm_all_one_generation(&st, NV));
}
END_TEST

/* ---- KVM_SET_CLOCK ---------------------------------------------------------------------------- */

/*
 * Saved at the pause: kvmclock 5,000,000,000 ns, realtime R. Restored 60 s later with the flag:
 * 5e9 + 6e10 = 65,000,000,000 ns; without it 5,000,000,000 (the guest lost 60 s). A destination
 * realtime 2 s behind R adds nothing (no backward step), neither does an equal one.
 */
START_TEST(test_set_clock)
{
	const uint64_t r = 1700000000000000000u;

	ck_assert_uint_eq(kvm_set_clock(5000000000u, r, r + 60 * NS_PER_SEC, true), 65000000000u);
	ck_assert_uint_eq(kvm_set_clock(5000000000u, r, r + 60 * NS_PER_SEC, false), 5000000000u);
	ck_assert_uint_eq(kvm_set_clock(5000000000u, r, r - 2 * NS_PER_SEC, true), 5000000000u);
	ck_assert_uint_eq(kvm_set_clock(5000000000u, r, r, true), 5000000000u);
	ck_assert_uint_eq(kvm_set_clock(5000000000u, r, r + 1, true), 5000000001u);
}
END_TEST

Suite *migrate_suite(void)
{
	Suite *s = suite_create("migrate");
	TCase *tu = tcase_create("formulas");
	TCase *tr = tcase_create("seed004_random");
	TCase *tm = tcase_create("matching");

	tcase_add_test(tu, test_ns_to_cycles);
	tcase_add_test(tu, test_old_doc_known);
	tcase_add_test(tu, test_old_doc_units);
	tcase_add_test(tu, test_seed004_known);
	tcase_add_test(tu, test_seed004_realtime_skew);
	tcase_add_test(tu, test_criterion);
	tcase_add_test(tu, test_set_clock);
	suite_add_tcase(s, tu);

	tcase_add_test(tr, test_seed004_random_scaled);
	tcase_add_test(tr, test_seed004_random_equal);
	tcase_set_timeout(tr, 60);
	suite_add_tcase(s, tr);

	tcase_add_test(tm, test_match_zero_syncs);
	tcase_add_test(tm, test_match_within_1s);
	tcase_add_test(tm, test_match_unstable);
	tcase_add_test(tm, test_match_beyond_1s);
	tcase_add_test(tm, test_match_other_freq);
	tcase_add_test(tm, test_match_writes_diverge);
	tcase_add_test(tm, test_match_written_twice);
	suite_add_tcase(s, tm);
	return s;
}
