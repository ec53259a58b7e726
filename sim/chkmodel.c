/*
 * chkmodel.c: the world bin/sim check explores (the model is described in chkmodel.h).
 *
 * Every execution rebuilds the arm's world from the config (world_init: fresh layer state),
 * boots it (every vCPU registers its page, is loaded on its placement CPU and enters; the boot
 * updates land), and then lets the explorer pick, step by step, which thread moves. Readers are
 * coroutines (POSIX ucontext, one stack each, kept across executions): a reader runs the arm's
 * reader code through sim/genv.c's scripted environment, whose yield hook at every environment
 * call charges the call's cost to the global clock and switches back to the scheduler. genv's
 * current-read pointer is saved and restored around each switch. The engine's event loop does
 * not run here: layer timers (kvmclock's 100 ms and 300 s updates) do not fire within the model's
 * span, and host stores land only when the writer lands them, or at once when a vCPU's own
 * context wrote them before it enters (after a stall or a migration).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

/* AddressSanitizer must be told about stack switches (its fiber interface), or it mistakes the
 * coroutines' stacks for overflows of the main one. */
#if defined(__SANITIZE_ADDRESS__)
#define VT_ASAN_FIBERS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VT_ASAN_FIBERS 1
#endif
#endif
#ifdef VT_ASAN_FIBERS
#include <sanitizer/common_interface_defs.h>
#endif

#include "chkmodel.h"
#include "genv.h"
#include "layers.h"
#include "plugin.h"
#include "world.h"

#define CHK_STACK_BYTES (256u * 1024u)
#define CHK_MAX_READERS 62      /* + writer + environment <= 64 thread ids */
#define CHK_MAX_INSTANTS 8      /* unfenced rdtsc: instants remembered since the last fence */
/* Fairness: a reader that took this many steps in a row while another thread could run must let
 * one run (a spinning reader does not starve the writer it waits for; as CHESS's fairness). */
#define CHK_FAIR_STREAK 16
/* Costs charged to the clock per environment call (ns), as sim/genv.c charges them. */
#define COST_FENCE 1
#define COST_PAUSE 10
#define COST_RDTSC 10
#define COST_MSR 1000

const char *const chk_prop_names[CHKP_COUNT] = {
	"monotonic", "no_warp", "strict", "bound", "no_torn", "terminates", "continuity",
};

enum tkind { T_READER, T_WRITER, T_ENV };

struct thread {
	enum tkind kind;
	unsigned vcpu;              /* readers */
	struct chkmodel *m;
	ucontext_t uc;
	void *stack;
	bool done;
	bool mid_read;
	unsigned reads;             /* completed */
	bool has_last;
	uint64_t last_g;
	struct genv_read *cur;      /* genv's read while this coroutine is switched away */
	/* The read in progress. */
	bool floor_valid;
	uint64_t floor;             /* the largest value returned before it started (no_warp) */
	unsigned snap_first;        /* the consistent page current when it started */
	struct reader snap;         /* the reader as it was when the read started (no_torn) */
	bool tsc_read;
	uint64_t tsc;               /* its last rdtsc */
	sim_ns t_tsc;               /* the instant that TSC value is from */
	sim_ns instants[CHK_MAX_INSTANTS]; /* yield instants since its last fence */
	unsigned ninstants;
	struct genv_script script;
};

struct chkmodel {
	const struct config *cfg;   /* the arm's effective config */
	const struct arm_cfg *arm;
	struct world w;
	bool live;
	struct chk_exec *x;
	FILE *log;
	struct thread th[CHK_MAX_READERS + 2];
	unsigned nth, nreaders;
	unsigned current;
	unsigned streak;            /* steps the current thread took in a row */
	ucontext_t main_uc;
	const void *main_stack;     /* the scheduler's stack (ASan's fiber bookkeeping) */
	size_t main_stack_size;
	sim_ns now;
	bool any_done;
	uint64_t max_done;          /* the largest value any read returned so far */
	unsigned updates_left, stalls_left;
	bool migrate_left;
	uint64_t reads_total;
	uint32_t kvm_features;
	/*
	 * The page memory as it was after every change: nvcpus pvclock entries, the Hyper-V page,
	 * then one flag per structure (entry i, then the Hyper-V page): 1 when no store to it was
	 * in flight then (it held one version, not a half-written one).
	 */
	size_t snap_size;           /* bytes of memory + flags */
	size_t snap_mem;            /* bytes of memory */
	unsigned char *touched;     /* solo re-run: the structures the reader looked at */
	unsigned char *partial;     /* per structure: some of an update's stores landed, not all */
	unsigned char *snaps;
	unsigned nsnaps, cap_snaps;
	/* A scratch page and reader for no_torn's solo re-runs. */
	struct pvclock_vcpu_time_info *scratch_pvti;
	struct ms_hyperv_tsc_page *scratch_hv;
	struct reader scratch;      /* a reader instance for the solo re-runs */
	bool readers_ready;         /* snap and scratch initialized */
	uint64_t solo_tsc;
};

/* The model of the execution in progress (the coroutine entry gets only an int). */
static struct chkmodel *g_model;

static void logf_(struct chkmodel *m, const char *fmt, ...) VT_PRINTF(2, 3);
static void logf_(struct chkmodel *m, const char *fmt, ...)
{
	va_list ap;

	if (!m->log)
		return;
	fprintf(m->log, "  %12llu ns  ", (unsigned long long)m->now);
	va_start(ap, fmt);
	vfprintf(m->log, fmt, ap);
	va_end(ap);
	fputc('\n', m->log);
}

static bool has(const struct chkmodel *m, enum chk_prop p)
{
	return (m->cfg->check.props >> p) & 1u;
}

static void advance(struct chkmodel *m, sim_ns d)
{
	m->now += d;
	m->w.now = m->now;
}

/* ---- consistent page states ---------------------------------------------------------------- */

static void snap_copy_out(struct chkmodel *m, unsigned char *dst)
{
	struct page *pg = &m->w.page;
	size_t e = sizeof(struct pvclock_vcpu_time_info);

	for (unsigned i = 0; i < m->w.vm.nvcpus; i++) {
		struct pvclock_vcpu_time_info *p = pg->ops->pvti ? pg->ops->pvti(pg, i) : NULL;

		if (p)
			memcpy(dst + i * e, p, e);
		else
			memset(dst + i * e, 0, e);
	}
	if (pg->ops->hv_tsc_page && pg->ops->hv_tsc_page(pg))
		memcpy(dst + m->w.vm.nvcpus * e, pg->ops->hv_tsc_page(pg), sizeof(struct ms_hyperv_tsc_page));
	else
		memset(dst + m->w.vm.nvcpus * e, 0, sizeof(struct ms_hyperv_tsc_page));
}

/* Which structure a store writes: entry i (0..nvcpus-1), or the Hyper-V page (nvcpus). */
static unsigned structure_of(struct chkmodel *m, const void *dst)
{
	struct page *pg = &m->w.page;
	const unsigned char *d = dst;

	for (unsigned i = 0; pg->ops->pvti && i < m->w.vm.nvcpus; i++) {
		const unsigned char *b = (const unsigned char *)pg->ops->pvti(pg, i);

		if (b && d >= b && d < b + sizeof(struct pvclock_vcpu_time_info))
			return i;
	}
	return m->w.vm.nvcpus;
}

static int take_snapshot(struct chkmodel *m)
{
	if (m->nsnaps == m->cap_snaps) {
		unsigned cap = m->cap_snaps ? 2 * m->cap_snaps : 8;
		unsigned char *n = realloc(m->snaps, cap * m->snap_size);

		if (!n)
			return VT_ENOMEM;
		m->snaps = n;
		m->cap_snaps = cap;
	}
	{
		unsigned char *snap = m->snaps + (size_t)m->nsnaps++ * m->snap_size;
		unsigned char *ok = snap + m->snap_mem;

		snap_copy_out(m, snap);
		for (unsigned i = 0; i <= m->w.vm.nvcpus; i++)
			ok[i] = !m->partial[i];
	}
	return VT_OK;
}

/* ---- the solo re-run of no_torn ------------------------------------------------------------ */

static u64 solo_tsc(void *ctx)
{
	return ((struct chkmodel *)ctx)->solo_tsc;
}

static struct pvclock_vcpu_time_info *solo_pvti(void *ctx, unsigned vcpu)
{
	struct chkmodel *m = ctx;

	if (vcpu >= m->w.vm.nvcpus)
		return NULL;
	m->touched[vcpu] = 1;
	return &m->scratch_pvti[vcpu];
}

static struct ms_hyperv_tsc_page *solo_hv(void *ctx)
{
	struct chkmodel *m = ctx;

	if (!m->w.page.ops->hv_tsc_page)
		return NULL;
	m->touched[m->w.vm.nvcpus] = 1;
	return m->scratch_hv;
}

static u64 solo_msr(void *ctx, u32 msr)
{
	(void)ctx;
	(void)msr;
	return 0;
}

/* A reader's state copied into another instance (flat states byte for byte). */
static int reader_copy(struct reader *dst, const struct reader *src)
{
	if (src->ops->copy_state)
		return src->ops->copy_state(dst, src);
	if (src->ops->state_size)
		memcpy(dst->state, src->state, src->ops->state_size);
	return 0;
}

/*
 * Would the reader, alone, from its state at the read's start and with the same TSC, return g
 * against the page memory as it was at some moment during the read, every structure it looks at
 * holding one version then (none half-written)?
 */
static bool torn_ok(struct chkmodel *m, const struct thread *t, uint64_t g)
{
	size_t e = sizeof(struct pvclock_vcpu_time_info);
	struct genv_script s;

	memset(&s, 0, sizeof(s));
	s.ctx = m;
	s.vcpu = t->vcpu;
	s.kvm_features = m->kvm_features;
	s.read_tsc = solo_tsc;
	s.pvti = solo_pvti;
	s.hv_tsc_page = solo_hv;
	s.read_msr = solo_msr;
	/* Against a half-written structure a seqlock reader spins: give up soon (that page
	 * cannot justify the value anyway; a whole one needs few calls). */
	s.max_calls = 4u * m->cfg->check.max_calls;
	m->solo_tsc = t->tsc;
	for (unsigned k = t->snap_first; k < m->nsnaps; k++) {
		const unsigned char *snap = m->snaps + (size_t)k * m->snap_size;
		uint64_t ns = 0, calls;
		bool livelock;

		memcpy(m->scratch_pvti, snap, m->w.vm.nvcpus * e);
		memcpy(m->scratch_hv, snap + m->w.vm.nvcpus * e, sizeof(*m->scratch_hv));
		const unsigned char *ok = snap + m->snap_mem;
		bool whole = true;

		if (reader_copy(&m->scratch, &t->snap) != 0)
			return true; /* refused at construction; not reached */
		memset(m->touched, 0, m->w.vm.nvcpus + 1);
		genv_read_scripted(&m->scratch, &s, &ns, &calls, &livelock);
		for (unsigned i = 0; i <= m->w.vm.nvcpus; i++)
			whole &= !m->touched[i] || ok[i];
		if (!whole)
			continue;
		if (m->log)
			fprintf(m->log, "  %12s     no_torn: run alone against the page as of change "
					"#%u, the reader returns %llu ns\n", "", k, (unsigned long long)ns);
		if (!livelock && ns == g)
			return true;
	}
	return false;
}

/* ---- readers ------------------------------------------------------------------------------- */

/* Stack switches, annotated for ASan (no-ops otherwise). */
static void enter_thread(struct chkmodel *m, struct thread *t)
{
#ifdef VT_ASAN_FIBERS
	void *fake = NULL;

	__sanitizer_start_switch_fiber(&fake, t->stack, CHK_STACK_BYTES);
	swapcontext(&m->main_uc, &t->uc);
	__sanitizer_finish_switch_fiber(fake, NULL, NULL);
#else
	swapcontext(&m->main_uc, &t->uc);
#endif
}

/* Called first thing on a coroutine's stack, after every switch into it. */
static void arrived(struct chkmodel *m)
{
#ifdef VT_ASAN_FIBERS
	__sanitizer_finish_switch_fiber(NULL, &m->main_stack, &m->main_stack_size);
#else
	(void)m;
#endif
}

static void to_scheduler(struct thread *t)
{
	struct chkmodel *m = t->m;

	t->cur = genv_current();
#ifdef VT_ASAN_FIBERS
	{
		void *fake = NULL;

		__sanitizer_start_switch_fiber(&fake, m->main_stack, m->main_stack_size);
		swapcontext(&t->uc, &m->main_uc);
		__sanitizer_finish_switch_fiber(fake, &m->main_stack, &m->main_stack_size);
	}
#else
	swapcontext(&t->uc, &m->main_uc);
#endif
	genv_set_current(t->cur);
}

static const char *yield_name(enum vt_yield k)
{
	switch (k) {
	case VT_YIELD_FENCE:
		return "fence";
	case VT_YIELD_LOAD:
		return "load";
	case VT_YIELD_RMW:
		return "atomic";
	default:
		return "pause";
	}
}

static void on_yield(void *ctx, enum vt_yield kind)
{
	struct thread *t = ctx;
	struct chkmodel *m = t->m;

	advance(m, kind == VT_YIELD_PAUSE ? COST_PAUSE : COST_FENCE);
	if (kind == VT_YIELD_FENCE) {
		t->ninstants = 0;
	} else if (t->ninstants < CHK_MAX_INSTANTS) {
		t->instants[t->ninstants++] = m->now;
	} else {
		memmove(t->instants, t->instants + 1, (CHK_MAX_INSTANTS - 1) * sizeof(sim_ns));
		t->instants[CHK_MAX_INSTANTS - 1] = m->now;
	}
	logf_(m, "vCPU %u  %s", t->vcpu, yield_name(kind));
	to_scheduler(t);
}

static u64 on_rdtsc(void *ctx, int ordered)
{
	struct thread *t = ctx;
	struct chkmodel *m = t->m;
	struct vcpu *v = vm_vcpu(&m->w.vm, t->vcpu);
	struct policy *p = &m->w.policy;
	sim_ns at = m->now;
	uint64_t tsc;

	if (!ordered && m->cfg->check.unfenced && t->ninstants > 0) {
		/* Without a fence the TSC may be read early: at any instant since the last one. */
		unsigned c = chk_choose(m->x, CHK_VALUE, t->ninstants + 1, NULL);

		if (c > 0)
			at = t->instants[t->ninstants - c];
	}
	if (p->ops->on_rdtsc) {
		sim_ns cost = COST_MSR;

		tsc = p->ops->on_rdtsc(p, v, m->now, &cost);
		advance(m, cost);
	} else {
		tsc = policy_guest_tsc(p, v, at);
		advance(m, COST_RDTSC);
	}
	t->tsc = tsc;
	t->t_tsc = at;
	t->tsc_read = true;
	logf_(m, "vCPU %u  rdtsc%s = %llu (host CPU %u%s)", t->vcpu, ordered ? "_ordered" : "",
	      (unsigned long long)tsc, v->pcpu, at != m->now - COST_RDTSC && !p->ops->on_rdtsc
	      ? ", an earlier instant: unfenced" : "");
	return tsc;
}

static struct pvclock_vcpu_time_info *on_pvti(void *ctx, unsigned vcpu)
{
	struct thread *t = ctx;
	struct page *pg = &t->m->w.page;

	return pg->ops->pvti && vcpu < t->m->w.vm.nvcpus ? pg->ops->pvti(pg, vcpu) : NULL;
}

static struct ms_hyperv_tsc_page *on_hv(void *ctx)
{
	struct thread *t = ctx;
	struct page *pg = &t->m->w.page;

	return pg->ops->hv_tsc_page ? pg->ops->hv_tsc_page(pg) : NULL;
}

static u64 on_msr(void *ctx, u32 msr)
{
	struct thread *t = ctx;
	struct chkmodel *m = t->m;
	struct page *pg = &m->w.page;
	uint64_t val = 0;

	if (pg->ops->read_msr)
		pg->ops->read_msr(pg, t->vcpu, msr, m->now, &val);
	advance(m, COST_MSR);
	logf_(m, "vCPU %u  rdmsr 0x%x = %llu (a VM exit)", t->vcpu, (unsigned)msr,
	      (unsigned long long)val);
	return val;
}

static void read_start(struct chkmodel *m, struct thread *t)
{
	t->mid_read = true;
	t->floor_valid = m->any_done;
	t->floor = m->max_done;
	t->snap_first = m->nsnaps - 1;
	t->tsc_read = false;
	t->ninstants = 0;
	if (m->readers_ready)
		reader_copy(&t->snap, &m->w.reader);
	logf_(m, "vCPU %u  read #%u starts", t->vcpu, t->reads + 1);
}

static void read_end(struct chkmodel *m, struct thread *t, enum read_status st, uint64_t g,
		     bool livelock)
{
	sim_ns tt = t->tsc_read ? t->t_tsc : m->now;
	int64_t err = (int64_t)(g - tt);
	unsigned n = t->reads + 1;

	t->mid_read = false;
	t->reads = n;
	m->reads_total++;
	if (livelock) {
		logf_(m, "vCPU %u  read #%u abandoned after %u environment calls", t->vcpu, n,
		      m->cfg->check.max_calls);
		if (has(m, CHKP_TERMINATES))
			chk_violation(m->x, CHKP_TERMINATES, "vCPU %u's read #%u did not return within "
				      "%u environment calls", t->vcpu, n, m->cfg->check.max_calls);
		return;
	}
	logf_(m, "vCPU %u  read #%u returns %llu ns%s (true %llu ns, error %lld ns)", t->vcpu, n,
	      (unsigned long long)g, st == READ_FALLBACK ? " by its fallback" : "",
	      (unsigned long long)tt, (long long)err);
	if (has(m, CHKP_MONOTONIC) && t->has_last && g < t->last_g)
		chk_violation(m->x, CHKP_MONOTONIC, "vCPU %u's read #%u returned %llu ns, %llu ns "
			      "below its previous read", t->vcpu, n, (unsigned long long)g,
			      (unsigned long long)(t->last_g - g));
	else if (has(m, CHKP_NO_WARP) && t->floor_valid && g < t->floor)
		chk_violation(m->x, CHKP_NO_WARP, "vCPU %u's read #%u returned %llu ns, %llu ns "
			      "below a read that returned before it started (a warp)", t->vcpu, n,
			      (unsigned long long)g, (unsigned long long)(t->floor - g));
	else if (has(m, CHKP_STRICT) && ((t->has_last && g <= t->last_g) ||
					  (t->floor_valid && g <= t->floor)))
		chk_violation(m->x, CHKP_STRICT, "vCPU %u's read #%u returned %llu ns, not above "
			      "an earlier read", t->vcpu, n, (unsigned long long)g);
	else if (has(m, CHKP_BOUND) && (err < 0 ? 0 - (uint64_t)err : (uint64_t)err) >
					   m->cfg->check.bound)
		chk_violation(m->x, CHKP_BOUND, "vCPU %u's read #%u is %lld ns off true time "
			      "(bound %llu ns)", t->vcpu, n, (long long)err,
			      (unsigned long long)m->cfg->check.bound);
	else if (has(m, CHKP_NO_TORN) && st == READ_OK && t->tsc_read && !torn_ok(m, t, g))
		chk_violation(m->x, CHKP_NO_TORN, "vCPU %u's read #%u returned %llu ns: no "
			      "consistent page during the read gives that with TSC %llu (a torn read)",
			      t->vcpu, n, (unsigned long long)g, (unsigned long long)t->tsc);
	t->has_last = true;
	t->last_g = g;
	if (!m->any_done || g > m->max_done)
		m->max_done = g;
	m->any_done = true;
}

static void reader_main(int idx)
{
	struct chkmodel *m = g_model;
	struct thread *t = &m->th[idx];

	arrived(m);
	for (unsigned r = 0; r < m->cfg->check.reads && !chk_stopped(m->x); r++) {
		uint64_t ns = 0, calls = 0;
		bool livelock = false;
		enum read_status st;

		if (r > 0)
			to_scheduler(t); /* between two reads: another thread may run */
		read_start(m, t);
		st = genv_read_scripted(&m->w.reader, &t->script, &ns, &calls, &livelock);
		read_end(m, t, st, ns, livelock);
	}
	t->done = true;
#ifdef VT_ASAN_FIBERS
	/* This coroutine ends: NULL lets ASan free its fake stack. */
	__sanitizer_start_switch_fiber(NULL, m->main_stack, m->main_stack_size);
#endif
	setcontext(&m->main_uc);
}

/* ---- the host writer and the environment --------------------------------------------------- */

/* "vCPU 1 pvclock.system_time" for a store's destination. */
static void store_name(struct chkmodel *m, const void *dst, char *buf, size_t len)
{
	struct page *pg = &m->w.page;
	const unsigned char *d = dst;

	for (unsigned i = 0; pg->ops->pvti && i < m->w.vm.nvcpus; i++) {
		const unsigned char *b = (const unsigned char *)pg->ops->pvti(pg, i);
		static const char *const f[] = { "version", "version", "version", "version", "pad",
						  "pad", "pad", "pad", "tsc_timestamp" };

		if (b && d >= b && d < b + sizeof(struct pvclock_vcpu_time_info)) {
			size_t o = (size_t)(d - b);

			snprintf(buf, len, "vCPU %u pvclock.%s", i,
				 o < 9 ? f[o] : o < 16 ? "tsc_timestamp" : o < 24 ? "system_time" :
				 o < 28 ? "tsc_to_system_mul" : o < 29 ? "tsc_shift" : "flags");
			return;
		}
	}
	if (pg->ops->hv_tsc_page && pg->ops->hv_tsc_page(pg)) {
		const unsigned char *b = (const unsigned char *)pg->ops->hv_tsc_page(pg);
		size_t o = (size_t)(d - b);

		if (d >= b && o < 24) {
			snprintf(buf, len, "Hyper-V page.%s",
				 o < 8 ? "tsc_sequence" : o < 16 ? "tsc_scale" : "tsc_offset");
			return;
		}
	}
	snprintf(buf, len, "guest memory");
}

static int writer_step(struct chkmodel *m)
{
	struct pending_store s;

	if (genv_land_oldest(&m->w, &s)) {
		char name[64];

		store_name(m, s.dst, name, sizeof(name));
		unsigned st = structure_of(m, s.dst);
		bool more = false;

		/* Half-written while another store to the same structure is still in flight. */
		for (unsigned i = 0; i < m->w.stores.n && !more; i++)
			more = structure_of(m, m->w.stores.s[i].dst) == st;
		m->partial[st] = more;
		logf_(m, "host    store %s = %llu lands", name, (unsigned long long)s.value);
		return take_snapshot(m);
	}
	m->updates_left--;
	if (m->cfg->check.update_khz) {
		/* A recalibration first (as Hyper-V re-enlightenment makes the host re-read its
		 * tsc_khz): the layers recompute mul/shift and the Hyper-V scale. */
		struct host_change hc = { .kind = HOST_CHANGE_RECALIBRATED, .pcpu = 0 };

		m->w.host.raw.tsc_khz += m->cfg->check.update_khz;
		hc.before = hc.after = host_tsc(&m->w.host, 0, m->now);
		policy_on_host_change(&m->w.policy, &hc, m->now);
		page_on_host_change(&m->w.page, &hc, m->now);
		logf_(m, "host    tsc_khz recalibrated to %u kHz: every entry rewritten",
		      m->w.host.raw.tsc_khz);
	} else {
		logf_(m, "host    page update requested (new master snapshot, every entry "
			 "rewritten)");
		m->w.page.ops->on_update(&m->w.page, m->now);
	}
	return take_snapshot(m);
}

/* After the environment moved things, what a vCPU's own context wrote lands before it runs. */
static int settle(struct chkmodel *m)
{
	genv_land_due(&m->w, UINT64_MAX);
	for (unsigned i = 0; i < m->nth; i++)
		m->th[i].ninstants = 0;
	memset(m->partial, 0, m->w.vm.nvcpus + 1);
	return take_snapshot(m);
}

static int env_step(struct chkmodel *m)
{
	if (m->stalls_left) {
		unsigned nv = m->w.vm.nvcpus, nc = m->w.host.ncpus;
		unsigned vi = chk_choose(m->x, CHK_VALUE, nv, NULL);
		struct vcpu *v = vm_vcpu(&m->w.vm, vi);
		unsigned from = v->pcpu, to = (from + chk_choose(m->x, CHK_VALUE, nc, NULL)) % nc;

		m->stalls_left--;
		/* An EPT fault: the thread blocks in the host, then resumes (maybe elsewhere). */
		policy_on_exit(&m->w.policy, v, m->now);
		policy_on_put(&m->w.policy, v, m->now);
		v->state = VCPU_STALLED;
		advance(m, m->cfg->check.stall_length);
		v->pcpu = to;
		policy_on_load(&m->w.policy, v, to, m->now);
		page_on_load(&m->w.page, v, to, m->now);
		v->state = VCPU_RUNNING;
		policy_on_entry(&m->w.policy, v, to, m->now);
		page_on_entry(&m->w.page, v, to, m->now);
		logf_(m, "env     vCPU %u stalled %llu ns on host CPU %u, resumes on host CPU %u", vi,
		      (unsigned long long)m->cfg->check.stall_length, from, to);
		return settle(m);
	}
	m->migrate_left = false;
	logf_(m, "env     the VM stops for its migration");
	world_migrate_now(&m->w);
	m->now = m->w.now;
	logf_(m, "env     the VM resumes on the %s (TSC breaks %llu, worst %lld cycles)",
	      m->cfg->migration.same_host ? "same host" : "destination",
	      (unsigned long long)m->w.metrics.mig_tsc_breaks,
	      (long long)m->w.metrics.mig_tsc_error);
	if (has(m, CHKP_CONTINUITY) && m->w.metrics.mig_tsc_breaks > 0)
		chk_violation(m->x, CHKP_CONTINUITY, "after the migration a vCPU's TSC is %lld "
			      "cycles off its value at the stop plus the stopped time (REFERENCE 6)",
			      (long long)m->w.metrics.mig_tsc_error);
	return settle(m);
}

/* ---- one execution ------------------------------------------------------------------------- */

static bool runnable(const struct chkmodel *m, unsigned i)
{
	const struct thread *t = &m->th[i];

	switch (t->kind) {
	case T_READER:
		return !t->done;
	case T_WRITER:
		return m->w.stores.n > 0 || m->updates_left > 0;
	default:
		return m->stalls_left > 0 || m->migrate_left;
	}
}

/* The guest boots at true time 0: every vCPU registers its page, is loaded on its CPU, enters. */
static void boot(struct chkmodel *m)
{
	struct world *w = &m->w;

	for (unsigned i = 0; i < w->vm.nvcpus; i++)
		page_on_register(&w->page, vm_vcpu(&w->vm, i), 0);
	for (unsigned i = 0; i < w->vm.nvcpus; i++) {
		struct vcpu *v = vm_vcpu(&w->vm, i);

		policy_on_load(&w->policy, v, v->pcpu, 0);
		page_on_load(&w->page, v, v->pcpu, 0);
		v->state = VCPU_RUNNING;
		policy_on_entry(&w->policy, v, v->pcpu, 0);
		page_on_entry(&w->page, v, v->pcpu, 0);
	}
	genv_land_due(w, UINT64_MAX);
}

static int model_run(void *ctx, struct chk_exec *x)
{
	struct chkmodel *m = ctx;
	const struct check_cfg *c = &m->cfg->check;
	int rc;

	if (m->live)
		world_free(&m->w);
	m->live = false;
	rc = world_init(&m->w, m->cfg, m->arm, NULL);
	if (rc != VT_OK)
		return rc;
	m->live = true;
	g_model = m;
	m->x = x;
	m->now = 0;
	m->any_done = false;
	m->max_done = 0;
	m->updates_left = c->updates;
	m->stalls_left = c->stalls;
	m->migrate_left = c->migrate;
	m->reads_total = 0;
	m->nsnaps = 0;
	memset(m->partial, 0, m->w.vm.nvcpus + 1);
	m->current = 0;
	m->streak = 0;
	boot(m);
	m->kvm_features = m->w.page.ops->kvm_features ? m->w.page.ops->kvm_features(&m->w.page) : 0;
	if ((rc = take_snapshot(m)) != VT_OK)
		return rc;
	for (unsigned i = 0; i < m->nreaders; i++) {
		struct thread *t = &m->th[i];

		t->done = t->mid_read = t->has_last = false;
		t->reads = 0;
		t->cur = NULL;
		getcontext(&t->uc);
		t->uc.uc_stack.ss_sp = t->stack;
		t->uc.uc_stack.ss_size = CHK_STACK_BYTES;
		t->uc.uc_link = &m->main_uc;
		makecontext(&t->uc, (void (*)(void))reader_main, 1, (int)i);
	}
	logf_(m, "boot    %u vCPU(s) on host CPUs, pages written", m->w.vm.nvcpus);
	advance(m, c->start);

	while (!chk_stopped(x) && rc == VT_OK && !m->w.error) {
		unsigned ids[CHK_MAX_READERS + 3], n = 0, pick;
		bool readers_left = false;

		for (unsigned i = 0; i < m->nreaders; i++)
			readers_left |= !m->th[i].done;
		if (!readers_left && !(m->migrate_left && (c->props >> CHKP_CONTINUITY & 1u)))
			break;
		/* The current thread first: answer 0 lets it go on (no preemption); unless it has
		 * spun long enough while others wait (fairness). */
		for (unsigned i = 0; i < m->nth; i++)
			if (i != m->current && runnable(m, i))
				ids[1 + n++] = i;
		if (runnable(m, m->current) && (m->streak < CHK_FAIR_STREAK || n == 0)) {
			ids[0] = m->current;
			n++;
		} else if (n == 0) {
			break;
		} else {
			memmove(ids, ids + 1, n * sizeof(ids[0]));
		}
		pick = ids[chk_choose(x, CHK_THREAD, n, ids)];
		m->streak = pick == m->current ? m->streak + 1 : 1;
		m->current = pick;
		switch (m->th[pick].kind) {
		case T_READER:
			enter_thread(m, &m->th[pick]);
			break;
		case T_WRITER:
			rc = writer_step(m);
			break;
		case T_ENV:
			rc = env_step(m);
			break;
		}
	}
	genv_set_current(NULL);
	return rc != VT_OK ? rc : m->w.error;
}

/* FNV-1a over bytes. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The state between reads with no store in flight: what the rest of the execution depends on. */
static uint64_t model_hash(void *ctx)
{
	struct chkmodel *m = ctx;
	uint64_t h = 0xcbf29ce484222325ULL;
	unsigned char *page;

	if (m->w.stores.n != 0)
		return 0;
	for (unsigned i = 0; i < m->nreaders; i++)
		if (m->th[i].mid_read)
			return 0;
	page = malloc(m->snap_mem);
	if (!page)
		return 0;
	snap_copy_out(m, page);
	h = fnv(h, page, m->snap_mem);
	free(page);
	h = fnv(h, &m->now, sizeof(m->now));
	h = fnv(h, &m->current, sizeof(m->current));
	h = fnv(h, &m->max_done, sizeof(m->max_done));
	h = fnv(h, &m->any_done, sizeof(m->any_done));
	h = fnv(h, &m->updates_left, sizeof(m->updates_left));
	h = fnv(h, &m->stalls_left, sizeof(m->stalls_left));
	h = fnv(h, &m->migrate_left, sizeof(m->migrate_left));
	for (unsigned i = 0; i < m->nreaders; i++) {
		const struct thread *t = &m->th[i];

		h = fnv(h, &t->reads, sizeof(t->reads));
		h = fnv(h, &t->has_last, sizeof(t->has_last));
		h = fnv(h, &t->last_g, sizeof(t->last_g));
	}
	for (unsigned i = 0; i < m->w.vm.nvcpus; i++) {
		const struct vcpu *v = vm_vcpu(&m->w.vm, i);
		uint64_t g = policy_guest_tsc(&m->w.policy, v, m->now);

		h = fnv(h, &v->pcpu, sizeof(v->pcpu));
		h = fnv(h, &g, sizeof(g));
	}
	if (m->w.reader.ops->state_size)
		h = fnv(h, m->w.reader.state, m->w.reader.ops->state_size);
	return h ? h : 1;
}

/* ---- construction -------------------------------------------------------------------------- */

int chkmodel_new(struct chkmodel **out, const struct config *base, const struct arm_cfg *arm,
		 FILE *log, char *err, size_t errlen)
{
	const struct config *cfg = arm->cfg ? arm->cfg : base;
	const struct check_cfg *c = &cfg->check;
	struct chkmodel *m;
	size_t rs = arm->reader->state_size;

	*out = NULL;
	if (c->updates > 0 && !arm->page->on_update) {
		snprintf(err, errlen, "arm '%s': check.updates needs a page provider that updates on "
			 "request (kvmclock, hv-tsc-page); '%s' does not", arm->name, arm->page->name);
		return VT_EINPUT;
	}
	if (c->nreaders > CHK_MAX_READERS) {
		snprintf(err, errlen, "arm '%s': at most %u reading vCPUs", arm->name, CHK_MAX_READERS);
		return VT_EINPUT;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return VT_ENOMEM;
	m->cfg = cfg;
	m->arm = arm;
	m->log = log;
	m->nreaders = c->nreaders;
	m->nth = c->nreaders;
	m->snap_mem = cfg->vm.nvcpus * sizeof(struct pvclock_vcpu_time_info) +
		      sizeof(struct ms_hyperv_tsc_page);
	m->snap_size = m->snap_mem + cfg->vm.nvcpus + 1;
	m->touched = calloc(cfg->vm.nvcpus + 1, 1);
	m->partial = calloc(cfg->vm.nvcpus + 1, 1);
	m->scratch_pvti = calloc(cfg->vm.nvcpus, sizeof(*m->scratch_pvti));
	m->scratch_hv = calloc(1, sizeof(*m->scratch_hv));
	if (!m->scratch_pvti || !m->scratch_hv || !m->touched || !m->partial)
		goto nomem;
	for (unsigned i = 0; i < c->nreaders; i++) {
		struct thread *t = &m->th[i];

		t->kind = T_READER;
		t->vcpu = c->readers[i];
		t->m = m;
		t->stack = malloc(CHK_STACK_BYTES);
		if (!t->stack)
			goto nomem;
		t->script.ctx = t;
		t->script.vcpu = t->vcpu;
		t->script.rdtsc = on_rdtsc;
		t->script.yield = on_yield;
		t->script.pvti = on_pvti;
		t->script.hv_tsc_page = on_hv;
		t->script.read_msr = on_msr;
		t->script.max_calls = c->max_calls;
	}
	/* The writer and the environment follow the readers (thread ids are indices). */
	if (c->updates > 0) {
		m->th[m->nth].kind = T_WRITER;
		m->th[m->nth].m = m;
		m->nth++;
	}
	if (c->stalls > 0 || c->migrate) {
		m->th[m->nth].kind = T_ENV;
		m->th[m->nth].m = m;
		m->nth++;
	}
	if (c->props & (1u << CHKP_NO_TORN)) {
		/* no_torn re-runs the reader from its state at a read's start: instances to hold
		 * that state, initialized as the arm's reader is. */
		struct reader_ctx rctx = { cfg->vm.nvcpus, cfg->vm.tsc_hz,
					   arm->plugin ? arm->plugin->so_path : NULL };
		struct reader *inst[CHK_MAX_READERS + 1];
		unsigned ninst = 0;

		inst[ninst++] = &m->scratch;
		for (unsigned i = 0; i < c->nreaders; i++)
			inst[ninst++] = &m->th[i].snap;
		for (unsigned i = 0; i < ninst; i++) {
			inst[i]->ops = arm->reader;
			inst[i]->state = calloc(1, rs ? rs : 1);
			if (!inst[i]->state)
				goto nomem;
			if (arm->reader->init &&
			    arm->reader->init(inst[i], &rctx, &arm->reader_opts) != 0) {
				free(inst[i]->state);
				inst[i]->state = NULL;
				goto nomem;
			}
		}
		m->readers_ready = true;
		if (reader_copy(&m->scratch, &m->th[0].snap) != 0) {
			snprintf(err, errlen, "arm '%s': property no_torn re-runs the reader from a "
				 "copy of its state, and reader '%s' keeps its state where it cannot "
				 "be copied", arm->name, arm->reader_name);
			chkmodel_free(m);
			return VT_EINPUT;
		}
	}
	*out = m;
	return VT_OK;
nomem:
	chkmodel_free(m);
	return VT_ENOMEM;
}

void chkmodel_free(struct chkmodel *m)
{
	if (!m)
		return;
	if (m->live)
		world_free(&m->w);
	for (unsigned i = 0; i <= m->nreaders; i++) {
		struct reader *r = i < m->nreaders ? &m->th[i].snap : &m->scratch;

		if (r->state && r->ops && r->ops->fini)
			r->ops->fini(r);
		free(r->state);
	}
	for (unsigned i = 0; i < m->nreaders; i++)
		free(m->th[i].stack);
	free(m->snaps);
	free(m->scratch_pvti);
	free(m->scratch_hv);
	free(m->touched);
	free(m->partial);
	free(m);
}

void chkmodel_as_model(struct chkmodel *m, struct chk_model *out)
{
	memset(out, 0, sizeof(*out));
	out->ctx = m;
	out->run = model_run;
	out->state_hash = m->cfg->check.hash ? model_hash : NULL;
	out->prop_names = chk_prop_names;
}

void chkmodel_set_log(struct chkmodel *m, FILE *log)
{
	m->log = log;
}

uint64_t chkmodel_reads(const struct chkmodel *m)
{
	return m->reads_total;
}
