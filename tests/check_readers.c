/*
 * check_readers.c: tests of the guest clock readers of models/guest/, in a scripted guest
 * environment (sim/genv.h genv_read_scripted): the test owns the pvclock entries and the Hyper-V
 * page, scripts the TSC values the reader reads, and lands scripted host stores at chosen yield
 * points (every environment call of a reader is one; the yield maps are spelled out per reader
 * below). Covered: the arithmetic bit for bit against an independent 128-bit reference on
 * millions of random inputs; odd versions, half-written entries, versions that change during a
 * read and entries that stay odd forever; each clamp with exact sequences; the vDSO's vCPU 0
 * entry and its fall back to the kernel; the Hyper-V page and its MSR fall back.
 */
#include <check.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "genv.h"
#include "guest/reader.h"
#include "opts.h"

Suite *readers_suite(void);

extern const struct reader_ops reader_linux_kvmclock;
extern const struct reader_ops reader_linux_vdso;
extern const struct reader_ops reader_freebsd;
extern const struct reader_ops reader_netbsd;
extern const struct reader_ops reader_kvm_unit_tests;
extern const struct reader_ops reader_hyperv_tsc;

/* ---- the scripted environment ------------------------------------------------------------ */

#define NV 8          /* vCPUs (pvclock entries) */
#define MAX_STORES 16 /* scripted host stores per read */
#define MAX_TSC 8     /* scripted TSC values per read */
#define STABLE PVCLOCK_TSC_STABLE_BIT
#define STOPPED PVCLOCK_GUEST_STOPPED
#define FEAT_STABLE (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT)

/* A host store that lands at yield number `at` (1-based, counted per read). */
struct hstore {
	unsigned at;
	void *base;
	size_t off;
	unsigned size;
	uint64_t value;
};

struct tenv {
	struct pvclock_vcpu_time_info pv[NV];
	struct ms_hyperv_tsc_page hv;
	bool no_pv, no_hv;
	bool hv_churn;          /* bump the Hyper-V sequence at every yield */
	uint32_t features;      /* CPUID 0x40000001.EAX */
	uint64_t msr;           /* HV_X64_MSR_TIME_REF_COUNT */
	uint64_t tsc[MAX_TSC];  /* the TSC values of this read, in order; the last one repeats */
	unsigned ntsc;
	struct hstore st[MAX_STORES];
	unsigned nst;
	/* What the read did. */
	unsigned yields, pauses, tsc_reads, msr_reads;
	int pvti_asked[4]; /* the first entries looked up (-1: none) */
	unsigned npvti;
};

static u64 t_read_tsc(void *ctx)
{
	struct tenv *e = ctx;
	unsigned i = e->tsc_reads++;

	ck_assert_uint_gt(e->ntsc, 0);
	return e->tsc[i < e->ntsc ? i : e->ntsc - 1];
}

static void store_apply(const struct hstore *s)
{
	unsigned char *dst = (unsigned char *)s->base + s->off;

	switch (s->size) {
	case 1: {
		uint8_t v = (uint8_t)s->value;

		memcpy(dst, &v, 1);
		break;
	}
	case 4: {
		uint32_t v = (uint32_t)s->value;

		memcpy(dst, &v, 4);
		break;
	}
	default:
		memcpy(dst, &s->value, 8);
		break;
	}
}

static void t_yield(void *ctx, enum vt_yield kind)
{
	struct tenv *e = ctx;

	e->yields++;
	if (kind == VT_YIELD_PAUSE)
		e->pauses++;
	for (unsigned i = 0; i < e->nst; i++)
		if (e->st[i].at == e->yields)
			store_apply(&e->st[i]);
	if (e->hv_churn) {
		e->hv.tsc_sequence++;
		if (e->hv.tsc_sequence == 0)
			e->hv.tsc_sequence = 1;
	}
}

static struct pvclock_vcpu_time_info *t_pvti(void *ctx, unsigned vcpu)
{
	struct tenv *e = ctx;

	if (e->npvti < VT_ARRAY_SIZE(e->pvti_asked))
		e->pvti_asked[e->npvti++] = (int)vcpu;
	return e->no_pv || vcpu >= NV ? NULL : &e->pv[vcpu];
}

static struct ms_hyperv_tsc_page *t_hv(void *ctx)
{
	struct tenv *e = ctx;

	return e->no_hv ? NULL : &e->hv;
}

static u64 t_msr(void *ctx, u32 msr)
{
	struct tenv *e = ctx;

	e->msr_reads++;
	return msr == HV_X64_MSR_TIME_REF_COUNT ? e->msr : 0;
}

static void tenv_init(struct tenv *e)
{
	memset(e, 0, sizeof(*e));
}

static void tenv_store(struct tenv *e, unsigned at, void *base, size_t off, unsigned size,
		       uint64_t value)
{
	ck_assert_uint_lt(e->nst, MAX_STORES);
	e->st[e->nst++] = (struct hstore){ at, base, off, size, value };
}

/* A host store into field `f` of vCPU `c`'s entry, landing at yield `at`. */
#define PV_STORE(e, at, c, f, v)                                                           \
	tenv_store((e), (at), &(e)->pv[c], offsetof(struct pvclock_vcpu_time_info, f),    \
		   (unsigned)sizeof((e)->pv[c].f), (uint64_t)(v))
#define HV_STORE(e, at, f, v)                                                              \
	tenv_store((e), (at), &(e)->hv, offsetof(struct ms_hyperv_tsc_page, f),           \
		   (unsigned)sizeof((e)->hv.f), (uint64_t)(v))

/* Sets the TSC values the next read will see. */
static void tenv_tsc(struct tenv *e, unsigned n, const uint64_t *v)
{
	ck_assert_uint_le(n, MAX_TSC);
	memcpy(e->tsc, v, n * sizeof(*v));
	e->ntsc = n;
}

static void pv_set(struct pvclock_vcpu_time_info *p, uint32_t version, uint64_t tsc_timestamp,
		   uint64_t system_time, uint32_t mul, int8_t shift, uint8_t flags)
{
	p->version = version;
	p->tsc_timestamp = tsc_timestamp;
	p->system_time = system_time;
	p->tsc_to_system_mul = mul;
	p->tsc_shift = shift;
	p->flags = flags;
}

/* ---- reader instances ------------------------------------------------------------------- */

struct tread {
	struct reader r;
	struct opt_set opts;
	struct opt_val vals[8];
};

/* An option's scenario text as config.c resolves it (enum: index; bool: 0/1; else a number). */
static int64_t opt_parse(const struct opt_desc *d, const char *text)
{
	switch (d->type) {
	case OPT_BOOL:
		return strcmp(text, "yes") == 0 || strcmp(text, "on") == 0 ||
		       strcmp(text, "true") == 0;
	case OPT_ENUM: {
		size_t n = strlen(text);
		int64_t i = 0;

		for (const char *c = d->choices; c && *c; i++) {
			const char *bar = strchr(c, '|');
			size_t len = bar ? (size_t)(bar - c) : strlen(c);

			if (len == n && strncmp(c, text, n) == 0)
				return i;
			c = bar ? bar + 1 : c + len;
		}
		ck_abort_msg("option %s: '%s' is not one of %s", d->name, text, d->choices);
		return -1;
	}
	default:
		return strtoll(text, NULL, 0);
	}
}

/* Instantiates `ops` for `nvcpus` vCPUs with its default options, then the NULL-terminated
 * name, value pairs that follow. */
static void tread_open(struct tread *t, const struct reader_ops *ops, unsigned nvcpus, ...)
{
	struct reader_ctx ctx = { .nvcpus = nvcpus, .tsc_hz = 2500000000ull };
	const char *name;
	unsigned n = 0;
	va_list ap;

	memset(t, 0, sizeof(*t));
	for (const struct opt_desc *d = ops->options; d && d->name; d++) {
		ck_assert_uint_lt(n, VT_ARRAY_SIZE(t->vals));
		t->vals[n].desc = d;
		t->vals[n].value = opt_parse(d, d->def);
		n++;
	}
	t->opts.n = n;
	t->opts.v = t->vals;
	va_start(ap, nvcpus);
	while ((name = va_arg(ap, const char *)) != NULL) {
		const char *value = va_arg(ap, const char *);
		bool found = false;

		for (unsigned i = 0; i < n; i++) {
			if (strcmp(t->vals[i].desc->name, name) == 0) {
				t->vals[i].value = opt_parse(t->vals[i].desc, value);
				t->vals[i].set = 1;
				found = true;
			}
		}
		ck_assert_msg(found, "%s has no option %s", ops->name, name);
	}
	va_end(ap);
	t->r.ops = ops;
	t->r.state = calloc(1, ops->state_size ? ops->state_size : 1);
	ck_assert_ptr_nonnull(t->r.state);
	if (ops->init)
		ck_assert_int_eq(ops->init(&t->r, &ctx, &t->opts), 0);
}

static void tread_close(struct tread *t)
{
	if (t->r.ops->fini)
		t->r.ops->fini(&t->r);
	free(t->r.state);
	t->r.state = NULL;
}

struct rres {
	enum read_status st;
	uint64_t ns;
	uint64_t calls;
	bool livelock;
};

/* One read on vCPU `vcpu`; the scripted stores are consumed. */
static struct rres tread_run(struct tread *t, struct tenv *e, unsigned vcpu)
{
	struct genv_script gs = {
		.ctx = e,
		.vcpu = vcpu,
		.kvm_features = e->features,
		.read_tsc = t_read_tsc,
		.yield = t_yield,
		.pvti = t_pvti,
		.hv_tsc_page = t_hv,
		.read_msr = t_msr,
	};
	struct rres res;

	e->yields = e->pauses = e->tsc_reads = e->msr_reads = 0;
	e->npvti = 0;
	for (unsigned i = 0; i < VT_ARRAY_SIZE(e->pvti_asked); i++)
		e->pvti_asked[i] = -1;
	res.ns = ~0ull;
	res.st = genv_read_scripted(&t->r, &gs, &res.ns, &res.calls, &res.livelock);
	e->nst = 0;
	return res;
}

/* ---- references ------------------------------------------------------------------------- */

/* splitmix64 (Steele, Lea, Flood): a small generator whose state the caller owns. */
static uint64_t next_u64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* REFERENCE 2.4 in 128-bit arithmetic: the shift applied to the 128-bit value and truncated to
 * 64 bits (a left shift loses the bits above 63, as the 64-bit shift does), then the full
 * 96-bit product, bits 32..95 kept modulo 2^64. */
static uint64_t ref_scale(uint64_t delta, uint32_t mul, int shift)
{
	u128 d = delta;

	if (shift >= 0)
		d = (d << shift) & UINT64_MAX;
	else
		d >>= -shift;
	return (uint64_t)((d * mul) >> 32);
}

/* Linux, FreeBSD, kvm-unit-tests: the delta wraps modulo 2^64. */
static uint64_t ref_wrap(const struct pvclock_vcpu_time_info *p, uint64_t tsc)
{
	return p->system_time + ref_scale(tsc - p->tsc_timestamp, p->tsc_to_system_mul, p->tsc_shift);
}

/* NetBSD: a TSC below tsc_timestamp counts as delta 0, a scaled delta >= 2^63 as 0. */
static uint64_t ref_netbsd(const struct pvclock_vcpu_time_info *p, uint64_t tsc)
{
	uint64_t d = 0;

	if (tsc >= p->tsc_timestamp)
		d = ref_scale(tsc - p->tsc_timestamp, p->tsc_to_system_mul, p->tsc_shift);
	if (d >> 63)
		d = 0;
	return p->system_time + d;
}

/* ---- arithmetic ------------------------------------------------------------------------- */

enum arith { A_WRAP, A_VDSO, A_NETBSD };

#define ARITH_N 1000000u

/* ARITH_N random entries and TSC values (a quarter of them below tsc_timestamp, a quarter
 * anywhere) read on a random vCPU with the stable bit set and trusted: no clamp interferes (for
 * NetBSD a fresh instance per read, whose stamp and last values are 0). */
static void arith_check(const struct reader_ops *ops, enum arith kind, uint64_t seed, ...)
{
	struct tenv *e = malloc(sizeof(*e));
	struct tread t;
	const char *o1, *v1;
	va_list ap;

	va_start(ap, seed);
	o1 = va_arg(ap, const char *);
	v1 = o1 ? va_arg(ap, const char *) : NULL;
	va_end(ap);

	ck_assert_ptr_nonnull(e);
	tenv_init(e);
	tread_open(&t, ops, NV, o1, v1, NULL);
	for (unsigned i = 0; i < ARITH_N; i++) {
		unsigned vcpu = (unsigned)(next_u64(&seed) % NV);
		struct pvclock_vcpu_time_info *p = &e->pv[kind == A_VDSO ? 0 : vcpu];
		uint64_t r = next_u64(&seed), tsc, want;
		struct rres res;

		pv_set(p, (uint32_t)next_u64(&seed) & ~1u, next_u64(&seed), next_u64(&seed),
		       (uint32_t)next_u64(&seed), (int8_t)((int)(r % 17) - 8), STABLE);
		if (r & (1u << 8))
			p->system_time >>= 8; /* also plenty of sums that do not wrap */
		switch ((r >> 5) & 3) {
		case 0: /* a little after the timestamp */
			tsc = p->tsc_timestamp + (next_u64(&seed) >> 24);
			break;
		case 1: /* before it: a "negative" delta */
			tsc = p->tsc_timestamp - 1 - (next_u64(&seed) >> 24);
			break;
		case 2: /* anywhere */
			tsc = next_u64(&seed);
			break;
		default: /* exactly at it */
			tsc = p->tsc_timestamp;
			break;
		}
		if (kind == A_VDSO) /* the reading vCPU's own entry must not matter */
			pv_set(&e->pv[vcpu ? vcpu : 1], 2, 1, 1, 1, 0, 0);
		tenv_tsc(e, 1, &tsc);
		if (kind == A_NETBSD) {
			tread_close(&t);
			tread_open(&t, ops, NV, NULL);
		}
		res = tread_run(&t, e, vcpu);
		switch (kind) {
		case A_WRAP:
			want = ref_wrap(p, tsc);
			break;
		case A_VDSO:
			want = ref_wrap(p, tsc) & INT64_MAX;
			break;
		default:
			want = ref_netbsd(p, tsc);
			if (want == 0)
				want = 1; /* the first global result is at least stamp + 1 */
			break;
		}
		if (res.st != READ_OK || res.livelock || res.ns != want)
			ck_abort_msg("%s #%u: tsc %#llx ts %#llx sys %#llx mul %#x shift %d: got %#llx "
				     "(st %d) want %#llx",
				     ops->name, i, (unsigned long long)tsc,
				     (unsigned long long)p->tsc_timestamp,
				     (unsigned long long)p->system_time, p->tsc_to_system_mul,
				     p->tsc_shift, (unsigned long long)res.ns, (int)res.st,
				     (unsigned long long)want);
	}
	tread_close(&t);
	free(e);
}

START_TEST(test_arith_linux)
{
	arith_check(&reader_linux_kvmclock, A_WRAP, 1, "trust_stable_bit", "yes", NULL);
}
END_TEST

START_TEST(test_arith_vdso)
{
	arith_check(&reader_linux_vdso, A_VDSO, 2, NULL);
}
END_TEST

START_TEST(test_arith_freebsd)
{
	arith_check(&reader_freebsd, A_WRAP, 3, NULL);
}
END_TEST

START_TEST(test_arith_kvm_unit_tests)
{
	arith_check(&reader_kvm_unit_tests, A_WRAP, 4, NULL); /* raw = yes by default */
	arith_check(&reader_kvm_unit_tests, A_WRAP, 5, "raw", "no", NULL); /* stable, trusted */
}
END_TEST

START_TEST(test_arith_netbsd)
{
	arith_check(&reader_netbsd, A_NETBSD, 6, NULL);
}
END_TEST

/* The two behaviours for a TSC below tsc_timestamp, and NetBSD's "negative" scaled delta. */
START_TEST(test_arith_negative_delta)
{
	const struct reader_ops *wrapping[] = { &reader_linux_kvmclock, &reader_freebsd,
						&reader_kvm_unit_tests, &reader_linux_vdso };
	struct tenv e;
	struct tread t;
	struct rres res;
	uint64_t tsc = 999000; /* 1000 cycles before the timestamp */

	tenv_init(&e);
	/* 1 GHz: mul 2^31, shift 1 (ns = cycles). */
	pv_set(&e.pv[0], 2, 1000000, 5000000000ull, 0x80000000u, 1, STABLE);
	tenv_tsc(&e, 1, &tsc);
	for (unsigned i = 0; i < VT_ARRAY_SIZE(wrapping); i++) {
		/* Default options: a fresh clamp (last 0) lets the first value through. */
		tread_open(&t, wrapping[i], NV, NULL);
		res = tread_run(&t, &e, 0);
		/* d = 2^64 - 1000; d << 1 loses bit 64: 2^64 - 2000; * 2^31 >> 32: 2^63 - 1000.
		 * Not 1000 ns back but 2^63 - 1000 ns ahead; the vDSO's & S64_MAX happens to turn
		 * that into exactly 1000 ns back. */
		ck_assert_uint_eq(res.ns, i == 3 ? 5000000000ull - 1000
						 : 5000000000ull - 1000 + (1ull << 63));
		ck_assert_uint_eq(res.ns, ref_wrap(&e.pv[0], tsc) & (i == 3 ? INT64_MAX : UINT64_MAX));
		tread_close(&t);
	}
	/* With mul 0xcccccccc, shift -1 (2.5 GHz): d >> 1 = 2^63 - 500 cycles-halves, scaled by
	 * 0.8: about 2^62.7 ns ahead. */
	e.pv[0].tsc_to_system_mul = 0xccccccccu;
	e.pv[0].tsc_shift = -1;
	tread_open(&t, &reader_linux_kvmclock, NV, "trust_stable_bit", "yes", NULL);
	res = tread_run(&t, &e, 0);
	ck_assert_uint_eq(res.ns, ref_wrap(&e.pv[0], tsc));
	ck_assert_uint_gt(res.ns, 1ull << 62);
	tread_close(&t);

	/* NetBSD: delta 0, the entry's system_time. */
	tread_open(&t, &reader_netbsd, NV, NULL);
	res = tread_run(&t, &e, 0);
	ck_assert_uint_eq(res.ns, 5000000000ull);
	tread_close(&t);

	/* NetBSD: a forward delta whose scaled value has bit 63 set counts as 0 too. */
	tsc = 1000000 + (1ull << 63) + (1ull << 33);
	tenv_tsc(&e, 1, &tsc);
	e.pv[0].tsc_to_system_mul = 0xffffffffu;
	e.pv[0].tsc_shift = 0;
	ck_assert_uint_ge(ref_scale(tsc - 1000000, 0xffffffffu, 0), 1ull << 63);
	tread_open(&t, &reader_netbsd, NV, NULL);
	res = tread_run(&t, &e, 0);
	ck_assert_uint_eq(res.ns, 5000000000ull);
	tread_close(&t);
	tread_open(&t, &reader_freebsd, NV, NULL);
	res = tread_run(&t, &e, 0);
	ck_assert_uint_eq(res.ns, 5000000000ull + ref_scale(tsc - 1000000, 0xffffffffu, 0));
	tread_close(&t);
}
END_TEST

/* ---- concurrent host updates ------------------------------------------------------------ */

/*
 * Yield maps (the n-th environment call of a read; stores scripted "at n" land just before
 * that call's load or TSC read):
 *   linux-kvmclock (trust_stable_bit = yes, so no CPUID call) and kvm-unit-tests:
 *     1 this_cpu_pvti, 2 READ_ONCE(version), 3 rmb, 4 fence of the ordered RDTSC (mb() in
 *     kvm-unit-tests), 5 RDTSC, [fields, flags], 6 rmb, 7 READ_ONCE(version); a retry: 8..13.
 *   linux-vdso: 1 pvclock_get_pvti_cpu0_va, 2 READ_ONCE(version), 3 rmb, [flags], 4-5 RDTSC,
 *     [fields], 6 rmb, 7 READ_ONCE(version).
 *   freebsd: 1 this_cpu_pvti, 2 atomic_load_acq_32(version), 3-4 RDTSC, [fields, flags],
 *     5 atomic_thread_fence_acq, [version twice]; a retry: 6..9.
 *   netbsd: 1 this_cpu_pvti, [version; a pause per odd one], barrier, [fields], RDTSC,
 *     barrier, [version]; with an even version: 2, 3, 4; a retry: 5, 6, 7.
 *   hyperv-tsc: 1 hv_get_tsc_page, 2 READ_ONCE(sequence), 3 rmb, 4 READ_ONCE(scale),
 *     5 READ_ONCE(offset), 6-7 RDTSC, 8 rmb, 9 READ_ONCE(sequence).
 */

/* The old and the new contents of the entry an update rewrites (2.5 GHz scale, as KVM's). */
#define OLD_TS 1000000ull
#define OLD_SYS 400000000ull
#define NEW_TS 3500000ull
#define NEW_SYS 401000000ull
#define MUL_2G5 0xccccccccu
#define SHIFT_2G5 (-1)
#define T1 4000000ull /* the first TSC read */
#define T2 4000250ull /* the second (after a retry) */

static uint64_t new_value(uint64_t tsc)
{
	return NEW_SYS + ref_scale(tsc - NEW_TS, MUL_2G5, SHIFT_2G5);
}

/* A seqlock reader with a whole-read retry: the update script is per reader. */
struct seq_reader {
	const struct reader_ops *ops;
	const char *opt, *val;
	unsigned fields_done; /* the yield after the fields are read (the closing barrier) */
	unsigned retry_begin; /* the first version load of the retry */
	unsigned after_begin; /* the barrier right after the first version load */
};

static const struct seq_reader seq_readers[] = {
	{ &reader_linux_kvmclock, "trust_stable_bit", "yes", 6, 8, 3 },
	{ &reader_kvm_unit_tests, "raw", "yes", 6, 8, 3 },
	{ &reader_freebsd, NULL, NULL, 5, 6, 3 },
	{ &reader_linux_vdso, NULL, NULL, 6, 8, 3 },
};

/* The entry being updated: vCPU 0's (the vDSO reads it from vCPU 2, the others on vCPU 0). */
static unsigned seq_vcpu(const struct seq_reader *s)
{
	return s->ops == &reader_linux_vdso ? 2 : 0;
}

/* An odd version: the host is mid-update (tsc_timestamp already new, system_time still old);
 * it stays odd through the whole first pass and completes at the retry's version load. Every
 * reader retries and returns the new entry's value at the second TSC read. */
START_TEST(test_odd_version_retries)
{
	const struct seq_reader *s = &seq_readers[_i];
	const uint64_t tsc[] = { T1, T2 };
	struct tenv e;
	struct tread t;
	struct rres res;

	tenv_init(&e);
	pv_set(&e.pv[0], 3, NEW_TS, OLD_SYS, MUL_2G5, SHIFT_2G5, STABLE);
	tenv_tsc(&e, 2, tsc);
	PV_STORE(&e, s->retry_begin, 0, system_time, NEW_SYS);
	PV_STORE(&e, s->retry_begin, 0, version, 4);
	tread_open(&t, s->ops, NV, s->opt, s->val, NULL);
	res = tread_run(&t, &e, seq_vcpu(s));
	ck_assert_int_eq(res.st, READ_OK);
	ck_assert(!res.livelock);
	ck_assert_uint_eq(e.tsc_reads, 2);
	ck_assert_uint_eq(e.pauses, 0);
	ck_assert_uint_eq(res.ns, new_value(T2));
	ck_assert_uint_ne(res.ns, OLD_SYS + ref_scale(T1 - NEW_TS, MUL_2G5, SHIFT_2G5));
	tread_close(&t);
}
END_TEST

/* A half-written entry: the version was even and old when read; the host then made it odd and
 * wrote tsc_timestamp before the fields were read, system_time after. The torn combination
 * (new tsc_timestamp, old system_time) is never returned: the re-read version differs. */
START_TEST(test_torn_fields_retry)
{
	const struct seq_reader *s = &seq_readers[_i];
	const uint64_t tsc[] = { T1, T2 };
	struct tenv e;
	struct tread t;
	struct rres res;

	tenv_init(&e);
	pv_set(&e.pv[0], 2, OLD_TS, OLD_SYS, MUL_2G5, SHIFT_2G5, STABLE);
	tenv_tsc(&e, 2, tsc);
	PV_STORE(&e, s->after_begin, 0, version, 3);
	PV_STORE(&e, s->after_begin, 0, tsc_timestamp, NEW_TS);
	PV_STORE(&e, s->fields_done, 0, system_time, NEW_SYS);
	PV_STORE(&e, s->fields_done, 0, version, 4);
	tread_open(&t, s->ops, NV, s->opt, s->val, NULL);
	res = tread_run(&t, &e, seq_vcpu(s));
	ck_assert_int_eq(res.st, READ_OK);
	ck_assert_uint_eq(e.tsc_reads, 2);
	ck_assert_uint_eq(res.ns, new_value(T2));
	ck_assert_uint_ne(res.ns, OLD_SYS + ref_scale(T1 - NEW_TS, MUL_2G5, SHIFT_2G5));
	ck_assert_uint_ne(res.ns, OLD_SYS + ref_scale(T2 - NEW_TS, MUL_2G5, SHIFT_2G5));
	tread_close(&t);
}
END_TEST

/* A whole update lands between the version load and the fields: the fields read are
 * consistent (all new) but the version changed, so the reader retries anyway: the value is at
 * the second TSC read, not the first. */
START_TEST(test_version_changed_retries)
{
	const struct seq_reader *s = &seq_readers[_i];
	const uint64_t tsc[] = { T1, T2 };
	struct tenv e;
	struct tread t;
	struct rres res;

	tenv_init(&e);
	pv_set(&e.pv[0], 2, OLD_TS, OLD_SYS, MUL_2G5, SHIFT_2G5, STABLE);
	tenv_tsc(&e, 2, tsc);
	PV_STORE(&e, s->after_begin, 0, version, 3);
	PV_STORE(&e, s->after_begin, 0, tsc_timestamp, NEW_TS);
	PV_STORE(&e, s->after_begin, 0, system_time, NEW_SYS);
	PV_STORE(&e, s->after_begin, 0, version, 4);
	tread_open(&t, s->ops, NV, s->opt, s->val, NULL);
	res = tread_run(&t, &e, seq_vcpu(s));
	ck_assert_int_eq(res.st, READ_OK);
	ck_assert_uint_eq(e.tsc_reads, 2);
	ck_assert_uint_eq(res.ns, new_value(T2));
	tread_close(&t);
}
END_TEST

/* NetBSD spins on an odd version (a pause per re-read) instead of reading on: the host
 * completes the update at the third pause; the TSC is read once, after the spin. */
START_TEST(test_netbsd_spins_on_odd)
{
	const uint64_t tsc[] = { T1, T2 };
	struct tenv e;
	struct tread t;
	struct rres res;

	tenv_init(&e);
	pv_set(&e.pv[0], 3, NEW_TS, OLD_SYS, MUL_2G5, SHIFT_2G5, 0);
	tenv_tsc(&e, 2, tsc);
	/* 1 this_cpu_pvti, 2-4 pauses; the store lands in the third, before the re-read. */
	PV_STORE(&e, 4, 0, system_time, NEW_SYS);
	PV_STORE(&e, 4, 0, version, 4);
	tread_open(&t, &reader_netbsd, NV, NULL);
	res = tread_run(&t, &e, 0);
	ck_assert_int_eq(res.st, READ_OK);
	ck_assert_uint_eq(e.pauses, 3);
	ck_assert_uint_eq(e.tsc_reads, 1);
	ck_assert_uint_eq(res.ns, new_value(T1));
	tread_close(&t);
}
END_TEST

/* NetBSD against a half-written entry and against a whole update during the read. */
START_TEST(test_netbsd_torn_and_changed)
{
	const uint64_t tsc[] = { T1, T2 };
	struct tenv e;
	struct tread t;
	struct rres res;

	tenv_init(&e);
	pv_set(&e.pv[0], 2, OLD_TS, OLD_SYS, MUL_2G5, SHIFT_2G5, 0);
	tenv_tsc(&e, 2, tsc);
	PV_STORE(&e, 2, 0, version, 3); /* the barrier after the version load */
	PV_STORE(&e, 2, 0, tsc_timestamp, NEW_TS);
	PV_STORE(&e, 4, 0, system_time, NEW_SYS); /* the barrier after the RDTSC */
	PV_STORE(&e, 4, 0, version, 4);
	tread_open(&t, &reader_netbsd, NV, NULL);
	res = tread_run(&t, &e, 0);
	ck_assert_uint_eq(e.pauses, 0);
	ck_assert_uint_eq(e.tsc_reads, 2);
	ck_assert_uint_eq(res.ns, new_value(T2));
	tread_close(&t);

	pv_set(&e.pv[0], 2, OLD_TS, OLD_SYS, MUL_2G5, SHIFT_2G5, 0);
	PV_STORE(&e, 2, 0, version, 3);
	PV_STORE(&e, 2, 0, tsc_timestamp, NEW_TS);
	PV_STORE(&e, 2, 0, system_time, NEW_SYS);
	PV_STORE(&e, 2, 0, version, 4);
	tread_open(&t, &reader_netbsd, NV, NULL);
	res = tread_run(&t, &e, 0);
	ck_assert_uint_eq(e.tsc_reads, 2);
	ck_assert_uint_eq(res.ns, new_value(T2));
	tread_close(&t);
}
END_TEST

/* An entry that stays odd forever: the read is abandoned as a livelock, never a hang. */
static const struct reader_ops *const pv_readers[] = {
	&reader_linux_kvmclock, &reader_linux_vdso, &reader_freebsd, &reader_netbsd,
	&reader_kvm_unit_tests,
};

START_TEST(test_odd_forever_livelock)
{
	const struct reader_ops *ops = pv_readers[_i];
	const uint64_t tsc = T1;
	struct tenv e;
	struct tread t;
	struct rres res;

	tenv_init(&e);
	for (unsigned c = 0; c < NV; c++)
		pv_set(&e.pv[c], 7, OLD_TS, OLD_SYS, MUL_2G5, SHIFT_2G5, STABLE);
	tenv_tsc(&e, 1, &tsc);
	tread_open(&t, ops, NV, NULL);
	res = tread_run(&t, &e, 1);
	ck_assert(res.livelock);
	ck_assert_uint_eq(res.ns, 0);
	ck_assert_uint_eq(res.calls, GENV_MAX_CALLS + 1);
	if (ops == &reader_netbsd) {
		ck_assert_uint_eq(e.pauses, GENV_MAX_CALLS - 1); /* all but this_cpu_pvti */
		ck_assert_uint_eq(e.tsc_reads, 0);
	} else {
		ck_assert_uint_eq(e.pauses, 0);
		ck_assert_uint_gt(e.tsc_reads, 1000);
	}
	tread_close(&t);
}
END_TEST

/* No clock page: 0 as READ_FALLBACK, for every pvclock reader. */
START_TEST(test_no_page_falls_back)
{
	const struct reader_ops *ops = pv_readers[_i];
	const uint64_t tsc = T1;
	struct tenv e;
	struct tread t;
	struct rres res;

	tenv_init(&e);
	e.no_pv = true;
	tenv_tsc(&e, 1, &tsc);
	tread_open(&t, ops, NV, NULL);
	for (int i = 0; i < 2; i++) {
		res = tread_run(&t, &e, 3);
		ck_assert_int_eq(res.st, READ_FALLBACK);
		ck_assert_uint_eq(res.ns, 0);
		ck_assert(!res.livelock);
		ck_assert_uint_eq(e.tsc_reads, 0);
	}
	tread_close(&t);
}
END_TEST

/* ---- clamps ----------------------------------------------------------------------------- */

/* Reads on `vcpu` an entry whose value at the scripted TSC is exactly `sys` (1 GHz scale, the
 * TSC at tsc_timestamp). */
static struct rres read_value(struct tread *t, struct tenv *e, unsigned vcpu, uint64_t sys,
			      uint8_t flags)
{
	const uint64_t tsc = 777777;

	pv_set(&e->pv[vcpu], 2, tsc, sys, 0x80000000u, 1, flags);
	tenv_tsc(e, 1, &tsc);
	return tread_run(t, e, vcpu);
}

/* Reads the sequence `in` on vCPUs alternating 0, 1, ... and checks the sequence `out`. */
static void expect_sequence(struct tread *t, struct tenv *e, uint8_t flags, unsigned n,
			    const uint64_t *in, const uint64_t *out)
{
	for (unsigned i = 0; i < n; i++) {
		struct rres res = read_value(t, e, i % 2, in[i], flags);

		ck_assert_int_eq(res.st, READ_OK);
		ck_assert_msg(res.ns == out[i], "%s read %u of %llu: got %llu want %llu",
			      t->r.ops->name, i, (unsigned long long)in[i],
			      (unsigned long long)res.ns, (unsigned long long)out[i]);
	}
}

START_TEST(test_linux_clamp)
{
	const uint64_t in[] = { 1000, 900, 1000, 1500, 1499 };
	const uint64_t clamped[] = { 1000, 1000, 1000, 1500, 1500 };
	struct tenv e;
	struct tread t;
	struct rres lt, eq, gt;

	tenv_init(&e);
	/* Not trusted: the clamp applies even to a stable entry; ret <= last returns last. */
	tread_open(&t, &reader_linux_kvmclock, NV, "trust_stable_bit", "no", NULL);
	expect_sequence(&t, &e, STABLE, 5, in, clamped);
	/* ret < last and ret == last both return last without a cmpxchg: the same calls. */
	lt = read_value(&t, &e, 0, 1400, STABLE);
	eq = read_value(&t, &e, 0, 1500, STABLE);
	gt = read_value(&t, &e, 0, 1600, STABLE);
	ck_assert_uint_eq(lt.ns, 1500);
	ck_assert_uint_eq(eq.ns, 1500);
	ck_assert_uint_eq(gt.ns, 1600);
	ck_assert_uint_eq(eq.calls, lt.calls);
	ck_assert_uint_eq(gt.calls, lt.calls + 1);
	/* reset (pvclock_resume) forgets last_value. */
	t.r.ops->reset(&t.r);
	ck_assert_uint_eq(read_value(&t, &e, 1, 900, STABLE).ns, 900);
	tread_close(&t);

	/* Trusted but the entry is not stable: clamped. */
	tread_open(&t, &reader_linux_kvmclock, NV, "trust_stable_bit", "yes", NULL);
	expect_sequence(&t, &e, 0, 5, in, clamped);
	/* Trusted and stable: bypassed (it goes back). */
	ck_assert_uint_eq(read_value(&t, &e, 0, 700, STABLE).ns, 700);
	tread_close(&t);
}
END_TEST

/* trust_stable_bit = auto: CPUID bit 24 at the first read, kept afterwards. */
START_TEST(test_linux_trust_auto)
{
	const uint64_t in[] = { 2000, 1900, 1800 };
	const uint64_t trusted[] = { 2000, 1900, 1800 };
	const uint64_t clamped[] = { 2000, 2000, 2000 };
	struct tenv e;
	struct tread t;
	struct rres res;

	tenv_init(&e);
	e.features = FEAT_STABLE;
	tread_open(&t, &reader_linux_kvmclock, NV, NULL);
	res = read_value(&t, &e, 0, 2000, STABLE);
	ck_assert_uint_eq(res.ns, 2000);
	e.features = 0; /* too late: valid_flags was set at "boot" */
	expect_sequence(&t, &e, STABLE, 3, in, trusted);
	tread_close(&t);

	tenv_init(&e);
	tread_open(&t, &reader_linux_kvmclock, NV, NULL);
	expect_sequence(&t, &e, STABLE, 3, in, clamped);
	tread_close(&t);
}
END_TEST

/* GUEST_STOPPED: cleared in the entry, the value unaffected. */
START_TEST(test_linux_guest_stopped)
{
	struct tenv e;
	struct tread t;
	struct rres res;

	tenv_init(&e);
	tread_open(&t, &reader_linux_kvmclock, NV, "trust_stable_bit", "yes", NULL);
	res = read_value(&t, &e, 2, 123456789, STABLE | STOPPED);
	ck_assert_int_eq(res.st, READ_OK);
	ck_assert_uint_eq(res.ns, 123456789);
	ck_assert_uint_eq(e.pv[2].flags, STABLE);
	tread_close(&t);
}
END_TEST

START_TEST(test_freebsd_clamp)
{
	const uint64_t in[] = { 1000, 900, 1000, 1500, 1499 };
	const uint64_t clamped[] = { 1000, 1000, 1000, 1500, 1500 };
	struct tenv e;
	struct tread t;
	struct rres lt, eq, gt;

	tenv_init(&e);
	tread_open(&t, &reader_freebsd, NV, NULL);
	expect_sequence(&t, &e, 0, 5, in, clamped);
	/* last > now returns last at once; an equal value goes through the fcmpset. */
	lt = read_value(&t, &e, 0, 1400, 0);
	eq = read_value(&t, &e, 0, 1500, 0);
	gt = read_value(&t, &e, 0, 1600, 0);
	ck_assert_uint_eq(lt.ns, 1500);
	ck_assert_uint_eq(eq.ns, 1500);
	ck_assert_uint_eq(gt.ns, 1600);
	ck_assert_uint_eq(eq.calls, lt.calls + 1);
	ck_assert_uint_eq(gt.calls, lt.calls + 1);
	/* The entry's stable flag alone bypasses the clamp: no CPUID bit needed. */
	ck_assert_uint_eq(e.features, 0);
	ck_assert_uint_eq(read_value(&t, &e, 1, 900, STABLE).ns, 900);
	/* ... and leaves last_systime alone. */
	ck_assert_uint_eq(read_value(&t, &e, 1, 1550, 0).ns, 1600);
	/* reset (pvclock_resume) zeroes it. */
	t.r.ops->reset(&t.r);
	ck_assert_uint_eq(read_value(&t, &e, 0, 800, 0).ns, 800);
	tread_close(&t);
}
END_TEST

START_TEST(test_kut_clamp)
{
	const uint64_t in[] = { 1000, 900, 1000, 1500, 1499 };
	const uint64_t raw[] = { 1000, 900, 1000, 1500, 1499 };
	const uint64_t clamped[] = { 1000, 1000, 1000, 1500, 1500 };
	struct tenv e;
	struct tread t;
	struct rres lt, eq, gt;

	tenv_init(&e);
	/* raw = yes (the default): no clamp, stable or not. */
	tread_open(&t, &reader_kvm_unit_tests, NV, NULL);
	expect_sequence(&t, &e, 0, 5, in, raw);
	tread_close(&t);

	/* raw = no: an unstable entry is clamped with ret < last. */
	tread_open(&t, &reader_kvm_unit_tests, NV, "raw", "no", NULL);
	expect_sequence(&t, &e, 0, 5, in, clamped);
	lt = read_value(&t, &e, 0, 1400, 0);
	eq = read_value(&t, &e, 0, 1500, 0);
	gt = read_value(&t, &e, 0, 1600, 0);
	ck_assert_uint_eq(lt.ns, 1500);
	ck_assert_uint_eq(eq.ns, 1500);
	ck_assert_uint_eq(gt.ns, 1600);
	/* Equal: one cmpxchg (it returns last == ret). Greater: the exchange returns the old
	 * value, so a second, failing cmpxchg follows before the loop sees last == ret. */
	ck_assert_uint_eq(eq.calls, lt.calls + 1);
	ck_assert_uint_eq(gt.calls, lt.calls + 2);
	/* A stable entry bypasses it: kvmclock_test sets valid_flags without CPUID. */
	ck_assert_uint_eq(e.features, 0);
	ck_assert_uint_eq(read_value(&t, &e, 1, 900, STABLE).ns, 900);
	t.r.ops->reset(&t.r);
	ck_assert_uint_eq(read_value(&t, &e, 1, 800, 0).ns, 800);
	tread_close(&t);

	/* raw = no, trust_stable_bit = no: a stable entry is clamped too. */
	tread_open(&t, &reader_kvm_unit_tests, NV, "raw", "no", "trust_stable_bit", "no", NULL);
	expect_sequence(&t, &e, STABLE, 5, in, clamped);
	tread_close(&t);
}
END_TEST

/*
 * NetBSD's two clamps on two vCPUs, vCPU 1 lagging:
 *   read  vCPU  entry  local  skew before  stamp before  result  skew after
 *   A     0     1000   1000   0            0             1000    0
 *   B     0      900   1001   0            1000          1001    0     (below last: last + 1)
 *   C     0     1001   1001   0            1001          1002    1     (equal to last: stays)
 *   D     0     1500   1500   1            1002          1501    1     (1 ahead of its entry)
 *   E     1      500    500   0            1501          1502    1002
 *   F     1      600    600   1002         1502          1602    1002  (ahead of its entry)
 *   G     0     1550   1550   1            1602          1603    53
 *   H     1     2000   2000   1002         1603          3002    1002  (caught up, still ahead)
 *   I     0     2000   2000   53           3002          3003    1003
 */
START_TEST(test_netbsd_clamps_and_skew)
{
	static const struct {
		unsigned vcpu;
		uint64_t entry, result;
	} seq[] = {
		{ 0, 1000, 1000 }, { 0, 900, 1001 },  { 0, 1001, 1002 },
		{ 0, 1500, 1501 }, { 1, 500, 1502 },  { 1, 600, 1602 },
		{ 0, 1550, 1603 }, { 1, 2000, 3002 }, { 0, 2000, 3003 },
	};
	struct tenv e;
	struct tread t;

	tenv_init(&e);
	tread_open(&t, &reader_netbsd, 2, NULL);
	for (unsigned i = 0; i < VT_ARRAY_SIZE(seq); i++) {
		struct rres res = read_value(&t, &e, seq[i].vcpu, seq[i].entry, STABLE);

		ck_assert_int_eq(res.st, READ_OK);
		ck_assert_msg(res.ns == seq[i].result, "read %c: got %llu want %llu", 'A' + i,
			      (unsigned long long)res.ns, (unsigned long long)seq[i].result);
	}
	ck_assert_ptr_null(t.r.ops->reset); /* NetBSD keeps all of it across a resume */
	tread_close(&t);
}
END_TEST

/* ---- vDSO ------------------------------------------------------------------------------- */

START_TEST(test_vdso_reads_vcpu0)
{
	struct tenv e;
	struct tread t;
	struct rres res;
	const uint64_t tsc = 777777;

	tenv_init(&e);
	tread_open(&t, &reader_linux_vdso, NV, NULL);
	pv_set(&e.pv[0], 2, tsc, 5000, 0x80000000u, 1, STABLE);
	pv_set(&e.pv[3], 2, tsc, 7000, 0x80000000u, 1, STABLE);
	tenv_tsc(&e, 1, &tsc);
	res = tread_run(&t, &e, 3);
	ck_assert_int_eq(res.st, READ_OK);
	ck_assert_uint_eq(res.ns, 5000);
	ck_assert_uint_eq(e.npvti, 1);
	ck_assert_int_eq(e.pvti_asked[0], 0);
	/* No clamp: it goes back freely. */
	e.pv[0].system_time = 4000;
	res = tread_run(&t, &e, 3);
	ck_assert_uint_eq(res.ns, 4000);
	/* ret & S64_MAX. */
	e.pv[0].system_time = (1ull << 63) + 5;
	res = tread_run(&t, &e, 3);
	ck_assert_int_eq(res.st, READ_OK);
	ck_assert_uint_eq(res.ns, 5);
	tread_close(&t);
}
END_TEST

/* vCPU 0's entry without the stable bit: the system call, i.e. the kernel's kvm-clock on the
 * reading vCPU's own entry, with the one global clamp shared by all vCPUs. */
START_TEST(test_vdso_fallback)
{
	struct tenv e;
	struct tread t;
	struct rres res;
	const uint64_t tsc = 777777;

	tenv_init(&e);
	tread_open(&t, &reader_linux_vdso, NV, NULL);
	pv_set(&e.pv[0], 2, tsc, 5000, 0x80000000u, 1, 0);
	tenv_tsc(&e, 1, &tsc);
	pv_set(&e.pv[3], 2, tsc, 7000, 0x80000000u, 1, 0);
	res = tread_run(&t, &e, 3);
	ck_assert_int_eq(res.st, READ_FALLBACK);
	ck_assert_uint_eq(res.ns, 7000);
	ck_assert_uint_eq(e.npvti, 2);
	ck_assert_int_eq(e.pvti_asked[0], 0);
	ck_assert_int_eq(e.pvti_asked[1], 3);
	ck_assert_uint_eq(e.tsc_reads, 1); /* the vDSO refused before its RDTSC */
	/* The kernel clamps: vCPU 3's entry went back. */
	e.pv[3].system_time = 6000;
	res = tread_run(&t, &e, 3);
	ck_assert_int_eq(res.st, READ_FALLBACK);
	ck_assert_uint_eq(res.ns, 7000);
	/* One last_value for every vCPU. */
	pv_set(&e.pv[1], 2, tsc, 6500, 0x80000000u, 1, 0);
	res = tread_run(&t, &e, 1);
	ck_assert_int_eq(res.st, READ_FALLBACK);
	ck_assert_uint_eq(res.ns, 7000);
	/* The stable bit back on vCPU 0's entry: the vDSO again, unclamped, behind the syscall. */
	e.pv[0].flags = STABLE;
	res = tread_run(&t, &e, 1);
	ck_assert_int_eq(res.st, READ_OK);
	ck_assert_uint_eq(res.ns, 5000);
	/* reset clears the kernel's last_value. */
	e.pv[0].flags = 0;
	t.r.ops->reset(&t.r);
	res = tread_run(&t, &e, 3);
	ck_assert_int_eq(res.st, READ_FALLBACK);
	ck_assert_uint_eq(res.ns, 6000);
	tread_close(&t);
}
END_TEST

/* ---- Hyper-V ---------------------------------------------------------------------------- */

static uint64_t hv_ref(uint64_t tsc, uint64_t scale, int64_t offset)
{
	return ((uint64_t)(((u128)tsc * scale) >> 64) + (uint64_t)offset) * 100u;
}

START_TEST(test_hv_fallback)
{
	struct tenv e;
	struct tread t;
	struct rres res;
	const uint64_t tsc = 123;

	tenv_init(&e);
	e.msr = 987654321;
	tenv_tsc(&e, 1, &tsc);
	tread_open(&t, &reader_hyperv_tsc, NV, NULL);
	/* Sequence 0: invalid page. */
	e.hv.tsc_sequence = 0;
	e.hv.tsc_scale = 1ull << 62;
	res = tread_run(&t, &e, 0);
	ck_assert_int_eq(res.st, READ_FALLBACK);
	ck_assert_uint_eq(res.ns, 98765432100ull);
	ck_assert_uint_eq(e.msr_reads, 1);
	ck_assert_uint_eq(e.tsc_reads, 0);
	/* No page at all. */
	e.no_hv = true;
	res = tread_run(&t, &e, 0);
	ck_assert_int_eq(res.st, READ_FALLBACK);
	ck_assert_uint_eq(res.ns, 98765432100ull);
	tread_close(&t);
}
END_TEST

START_TEST(test_hv_exact)
{
	uint64_t seed = 42;
	struct tenv e;
	struct tread t;

	tenv_init(&e);
	tread_open(&t, &reader_hyperv_tsc, NV, NULL);
	for (unsigned i = 0; i < 200000; i++) {
		uint64_t tsc = next_u64(&seed), scale = next_u64(&seed);
		int64_t offset = (int64_t)next_u64(&seed) >> (i % 40);
		struct rres res;

		e.hv.tsc_sequence = (uint32_t)next_u64(&seed) | 1u;
		e.hv.tsc_scale = scale;
		e.hv.tsc_offset = offset;
		tenv_tsc(&e, 1, &tsc);
		res = tread_run(&t, &e, (unsigned)(i % NV));
		if (res.st != READ_OK || res.ns != hv_ref(tsc, scale, offset))
			ck_abort_msg("#%u: tsc %#llx scale %#llx offset %lld: got %#llx want %#llx", i,
				     (unsigned long long)tsc, (unsigned long long)scale,
				     (long long)offset, (unsigned long long)res.ns,
				     (unsigned long long)hv_ref(tsc, scale, offset));
	}
	/* A worked value: 2.5 GHz, scale = 2^64 / 250 rounded up (100 ns per 250 cycles), offset
	 * -10 units. */
	e.hv.tsc_scale = 0x010624dd2f1a9fbfull;
	e.hv.tsc_offset = -10;
	{
		const uint64_t tsc = 2500000000ull; /* one second of cycles */
		struct rres res;

		tenv_tsc(&e, 1, &tsc);
		res = tread_run(&t, &e, 0);
		/* floor(2.5e9 * scale / 2^64) = 10,000,000 (scale rounds up) -> 9,999,990 units. */
		ck_assert_uint_eq(res.ns, 999999000ull);
	}
	tread_close(&t);
}
END_TEST

/* The host rewrites the page during the read: sequence 0, the scale (the offset still old),
 * then the offset and a new sequence. The torn (new scale, old offset) pair is discarded. */
START_TEST(test_hv_sequence_retry)
{
	const uint64_t tsc[] = { 2500000000ull, 2500000500ull };
	struct tenv e;
	struct tread t;
	struct rres res;

	tenv_init(&e);
	e.hv.tsc_sequence = 5;
	e.hv.tsc_scale = 0x010624dd2f1a9fbfull;
	e.hv.tsc_offset = 1000;
	tenv_tsc(&e, 2, tsc);
	HV_STORE(&e, 4, tsc_sequence, 0);
	HV_STORE(&e, 4, tsc_scale, 0x0100000000000000ull);
	HV_STORE(&e, 8, tsc_offset, (uint64_t)-2000);
	HV_STORE(&e, 8, tsc_sequence, 6);
	tread_open(&t, &reader_hyperv_tsc, NV, NULL);
	res = tread_run(&t, &e, 0);
	ck_assert_int_eq(res.st, READ_OK);
	ck_assert_uint_eq(e.tsc_reads, 2);
	ck_assert_uint_eq(res.ns, hv_ref(tsc[1], 0x0100000000000000ull, -2000));
	ck_assert_uint_ne(res.ns, hv_ref(tsc[0], 0x0100000000000000ull, 1000));

	/* Invalidated during the read and left so: the retry finds 0 and takes the MSR. */
	e.hv.tsc_sequence = 7;
	e.msr = 4242;
	HV_STORE(&e, 5, tsc_sequence, 0);
	res = tread_run(&t, &e, 0);
	ck_assert_int_eq(res.st, READ_FALLBACK);
	ck_assert_uint_eq(res.ns, 424200);
	ck_assert_uint_eq(e.msr_reads, 1);

	/* A sequence that changes at every yield: abandoned as a livelock. */
	e.hv.tsc_sequence = 9;
	e.hv_churn = true;
	res = tread_run(&t, &e, 0);
	ck_assert(res.livelock);
	ck_assert_uint_eq(res.calls, GENV_MAX_CALLS + 1);
	tread_close(&t);
}
END_TEST

Suite *readers_suite(void)
{
	Suite *s = suite_create("readers");
	TCase *arith = tcase_create("arithmetic");
	TCase *conc = tcase_create("concurrency");
	TCase *clamp = tcase_create("clamps");
	TCase *other = tcase_create("vdso-hyperv");

	tcase_add_test(arith, test_arith_linux);
	tcase_add_test(arith, test_arith_vdso);
	tcase_add_test(arith, test_arith_freebsd);
	tcase_add_test(arith, test_arith_kvm_unit_tests);
	tcase_add_test(arith, test_arith_netbsd);
	tcase_add_test(arith, test_arith_negative_delta);
	tcase_set_timeout(arith, 300);
	suite_add_tcase(s, arith);

	tcase_add_loop_test(conc, test_odd_version_retries, 0, (int)VT_ARRAY_SIZE(seq_readers));
	tcase_add_loop_test(conc, test_torn_fields_retry, 0, (int)VT_ARRAY_SIZE(seq_readers));
	tcase_add_loop_test(conc, test_version_changed_retries, 0,
			    (int)VT_ARRAY_SIZE(seq_readers));
	tcase_add_test(conc, test_netbsd_spins_on_odd);
	tcase_add_test(conc, test_netbsd_torn_and_changed);
	tcase_add_loop_test(conc, test_odd_forever_livelock, 0, (int)VT_ARRAY_SIZE(pv_readers));
	tcase_add_loop_test(conc, test_no_page_falls_back, 0, (int)VT_ARRAY_SIZE(pv_readers));
	tcase_set_timeout(conc, 60);
	suite_add_tcase(s, conc);

	tcase_add_test(clamp, test_linux_clamp);
	tcase_add_test(clamp, test_linux_trust_auto);
	tcase_add_test(clamp, test_linux_guest_stopped);
	tcase_add_test(clamp, test_freebsd_clamp);
	tcase_add_test(clamp, test_kut_clamp);
	tcase_add_test(clamp, test_netbsd_clamps_and_skew);
	suite_add_tcase(s, clamp);

	tcase_add_test(other, test_vdso_reads_vcpu0);
	tcase_add_test(other, test_vdso_fallback);
	tcase_add_test(other, test_hv_fallback);
	tcase_add_test(other, test_hv_exact);
	tcase_add_test(other, test_hv_sequence_retry);
	tcase_set_timeout(other, 60);
	suite_add_tcase(s, other);
	return s;
}
