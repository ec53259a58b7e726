/*
 * check_explore.c: tests of sim/explore.c, the model checker's explorer, on toy models written
 * here: exact schedule counts of the deviation tree (exhaustive and bounded), a lost-update race
 * found by every strategy with replayable and shrinkable counterexamples, a safe model proved
 * safe, state hashing pruning commuting interleavings, budgets, determinism of the seeded
 * strategies, and a violation with no choice at all.
 *
 * The toys are threads taking a fixed number of steps. At every step the runnable threads (steps
 * left), in id order, are offered as one CHK_THREAD choice; answer 0 is the lowest id, so the
 * default schedule runs thread 0 to its end, then thread 1, and so on. A schedule is written as
 * the thread of each step: "ABAB" is thread 0, 1, 0, 1. A choice point exists only while two or
 * more threads can run; its answer indexes the runnable list.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "explore.h"

Suite *explore_suite(void);

#define TOY_MAX 4

enum toy_kind {
	TOY_PLAIN,       /* steps do nothing; no property */
	TOY_LOST_UPDATE, /* step 0: local = x; step 1: x = local + 1; at the end x == threads */
	TOY_ATOMIC,      /* each step x++; at the end x == total steps */
	TOY_COUNTERS,    /* each thread counts its own steps; optional property below */
	TOY_DEPTH0,      /* a violation before any choice */
};

struct toy {
	enum toy_kind kind;
	unsigned nthreads;
	unsigned steps[TOY_MAX];
	bool counters_prop;   /* TOY_COUNTERS: thread 1 must not finish 3 steps before thread 0 starts */
	unsigned fail_at_run; /* return VT_EIO from this run (1-based); 0: never */
	long sleep_ms;        /* each execution sleeps this long first (wall-clock budgets) */
	/* State of the current execution. */
	unsigned done[TOY_MAX];
	unsigned x, local[TOY_MAX];
	/* Observations across executions. */
	unsigned runs;
	unsigned answers[16], nanswers;   /* the answers of the last execution */
	unsigned pct_bad;                 /* PCT d = 1 executions that switched threads midway */
	bool stopped_after_violation;     /* TOY_DEPTH0: chk_stopped held after the violation */
	unsigned choose_after_violation;  /* TOY_DEPTH0: what a choice answered after it */
	unsigned depth_after_violation;   /* TOY_DEPTH0: chk_depth after it */
};

static void toy_init(struct toy *t, enum toy_kind kind, unsigned nthreads, const unsigned *steps)
{
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->nthreads = nthreads;
	for (unsigned i = 0; i < nthreads; i++)
		t->steps[i] = steps[i];
}

static void toy_step(struct toy *t, unsigned th)
{
	switch (t->kind) {
	case TOY_LOST_UPDATE:
		if (t->done[th] == 0)
			t->local[th] = t->x;
		else
			t->x = t->local[th] + 1;
		break;
	case TOY_ATOMIC:
		t->x++;
		break;
	case TOY_PLAIN:
	case TOY_COUNTERS:
	case TOY_DEPTH0:
		break;
	}
	t->done[th]++;
}

static int toy_run(void *ctx, struct chk_exec *x)
{
	struct toy *t = ctx;
	unsigned total = 0;

	memset(t->done, 0, sizeof(t->done));
	memset(t->local, 0, sizeof(t->local));
	t->x = 0;
	t->nanswers = 0;
	t->runs++;
	if (t->fail_at_run == t->runs)
		return VT_EIO;
	if (t->sleep_ms) {
		struct timespec d = { .tv_sec = 0, .tv_nsec = t->sleep_ms * 1000000L };

		nanosleep(&d, NULL);
	}
	if (t->kind == TOY_DEPTH0) {
		unsigned two[2] = { 0, 1 };

		chk_violation(x, 1, "wrong from the start");
		t->stopped_after_violation = chk_stopped(x);
		t->choose_after_violation = chk_choose(x, CHK_THREAD, 2, two);
		t->depth_after_violation = chk_depth(x);
		return VT_OK;
	}
	for (;;) {
		unsigned ids[TOY_MAX], n = 0, a;

		for (unsigned i = 0; i < t->nthreads; i++)
			if (t->done[i] < t->steps[i])
				ids[n++] = i;
		if (!n)
			break;
		a = chk_choose(x, CHK_THREAD, n, ids);
		ck_assert_uint_lt(a, n);
		if (n > 1 && t->nanswers < VT_ARRAY_SIZE(t->answers))
			t->answers[t->nanswers++] = a;
		toy_step(t, ids[a]);
		if (t->kind == TOY_COUNTERS && t->counters_prop && t->done[0] == 0 &&
		    t->done[1] == 3)
			chk_violation(x, 2, "thread 1 finished before thread 0 started");
		if (chk_stopped(x))
			return VT_OK;
	}
	for (unsigned i = 0; i < t->nthreads; i++)
		total += t->steps[i];
	if (t->kind == TOY_LOST_UPDATE && t->x != t->nthreads)
		chk_violation(x, 0, "lost update: x = %u, expected %u", t->x, t->nthreads);
	if (t->kind == TOY_ATOMIC && t->x != total)
		chk_violation(x, 0, "x = %u, expected %u", t->x, total);
	return VT_OK;
}

/* The whole state of TOY_COUNTERS: each thread's count (non-zero: 0 means "cannot hash"). */
static uint64_t toy_hash(void *ctx)
{
	const struct toy *t = ctx;

	return (uint64_t)t->done[0] * 16 + t->done[1] + 1;
}

static struct chk_model toy_model(struct toy *t)
{
	return (struct chk_model){ .ctx = t, .run = toy_run, .state_hash = toy_hash };
}

static struct chk_options opts(enum chk_strategy s)
{
	struct chk_options o;

	memset(&o, 0, sizeof(o));
	o.strategy = s;
	o.seed = 1;
	o.pct_depth = 2;
	o.stop_at_first = true;
	return o;
}

static unsigned deviations(const struct chk_result *r)
{
	unsigned d = 0;

	for (unsigned i = 0; i < r->nchoices; i++)
		d += r->choices[i] != 0;
	return d;
}

/* Replays r's counterexample: it violates the same property and records the same answers. */
static void assert_replays(const struct chk_model *m, const struct chk_result *r)
{
	struct chk_result again;

	ck_assert_int_eq(chk_replay(m, r->choices, r->nchoices, &again), VT_OK);
	ck_assert(again.violated);
	ck_assert_uint_eq(again.prop, r->prop);
	ck_assert_str_eq(again.message, r->message);
	ck_assert_uint_eq(again.nchoices, r->nchoices);
	if (r->nchoices)
		ck_assert_mem_eq(again.choices, r->choices, r->nchoices * sizeof(unsigned));
	chk_result_free(&again);
}

static const unsigned TWO_TWO[] = { 2, 2 };

/* ---- 1. the deviation tree of two threads taking two steps each ------------------------------ */

/*
 * The C(4,2) = 6 interleavings and their recorded answers (a choice point while both threads
 * can run): AABB [0,0] (0 deviations); BAAB [1,0,0] and ABAB [0,1,0] (1); BBAA [1,1],
 * BABA [1,0,1] and ABBA [0,1,1] (2). Unbounded DFS runs each exactly once: levels 0, 1, 2.
 */
START_TEST(test_tree_exhaustive)
{
	static const enum chk_strategy strategies[] = { CHK_DFS, CHK_BFS };

	for (size_t i = 0; i < VT_ARRAY_SIZE(strategies); i++) {
		struct toy t;
		struct chk_model m;
		struct chk_options o = opts(strategies[i]);
		struct chk_result r;

		toy_init(&t, TOY_PLAIN, 2, TWO_TWO);
		m = toy_model(&t);
		ck_assert_int_eq(chk_explore(&m, &o, &r), VT_OK);
		ck_assert(!r.violated);
		ck_assert_uint_eq(r.violations, 0);
		ck_assert_uint_eq(r.stats.schedules, 6);
		ck_assert_uint_eq(t.runs, 6); /* the model agrees: no hidden re-runs */
		ck_assert(r.stats.exhausted);
		ck_assert_uint_eq(r.stats.bound, 2);     /* the deepest level run */
		ck_assert_uint_eq(r.stats.max_depth, 3); /* BAAB, ABAB, BABA, ABBA: 3 choices */
		ck_assert_uint_eq(r.stats.pruned, 0);
		chk_result_free(&r);
	}
}
END_TEST

/* max_deviations = 1: AABB, BAAB and ABAB (the list above), 3 schedules, and that is every
 * schedule within the bound: exhausted. */
START_TEST(test_tree_bounded)
{
	static const enum chk_strategy strategies[] = { CHK_DFS, CHK_BFS };

	for (size_t i = 0; i < VT_ARRAY_SIZE(strategies); i++) {
		struct toy t;
		struct chk_model m;
		struct chk_options o = opts(strategies[i]);
		struct chk_result r;

		toy_init(&t, TOY_PLAIN, 2, TWO_TWO);
		m = toy_model(&t);
		o.max_deviations = 1;
		ck_assert_int_eq(chk_explore(&m, &o, &r), VT_OK);
		ck_assert_uint_eq(r.stats.schedules, 3);
		ck_assert(r.stats.exhausted);
		ck_assert_uint_eq(r.stats.bound, 1);
		chk_result_free(&r);
	}
}
END_TEST

/*
 * max_depth = 1: only the first choice is recorded (later ones answer 0), so the tree is the
 * root [0] (AABB) and its one child [1] (B, then A, A, B: BAAB): 2 schedules, exhausted.
 */
START_TEST(test_tree_max_depth)
{
	struct toy t;
	struct chk_model m;
	struct chk_options o = opts(CHK_DFS);
	struct chk_result r;

	toy_init(&t, TOY_PLAIN, 2, TWO_TWO);
	m = toy_model(&t);
	o.max_depth = 1;
	ck_assert_int_eq(chk_explore(&m, &o, &r), VT_OK);
	ck_assert_uint_eq(r.stats.schedules, 2);
	ck_assert_uint_eq(r.stats.max_depth, 1);
	ck_assert(r.stats.exhausted);
	chk_result_free(&r);
}
END_TEST

/* ---- 2. the lost update ---------------------------------------------------------------------- */

/*
 * Both threads read x before either writes: ABAB, ABBA, BAAB, BABA end with x = 1. DFS and BFS
 * run AABB (safe), then the first child of the root, [1] = BAAB (recorded [1,0,0]): a
 * counterexample with 1 deviation (0 fail: AABB is the only such schedule) after 2 schedules.
 */
START_TEST(test_lost_update_exhaustive)
{
	static const enum chk_strategy strategies[] = { CHK_DFS, CHK_BFS };
	static const unsigned expect[] = { 1, 0, 0 };

	for (size_t i = 0; i < VT_ARRAY_SIZE(strategies); i++) {
		struct toy t;
		struct chk_model m;
		struct chk_options o = opts(strategies[i]);
		struct chk_result r;
		unsigned before;

		toy_init(&t, TOY_LOST_UPDATE, 2, TWO_TWO);
		m = toy_model(&t);
		ck_assert_int_eq(chk_explore(&m, &o, &r), VT_OK);
		ck_assert(r.violated);
		ck_assert_uint_eq(r.prop, 0);
		ck_assert_str_eq(r.message, "lost update: x = 1, expected 2");
		ck_assert_uint_eq(r.violations, 1);
		ck_assert_uint_eq(r.stats.schedules, 2);
		ck_assert(!r.stats.exhausted); /* stopped at the first */
		ck_assert_uint_eq(deviations(&r), 1);
		ck_assert_uint_eq(r.nchoices, 3);
		ck_assert_mem_eq(r.choices, expect, sizeof(expect));
		assert_replays(&m, &r);
		/* Already minimal: shrinking keeps it (2 runs of it at least: the check of the
		 * input and one candidate). */
		before = r.nchoices;
		ck_assert_int_eq(chk_shrink(&m, &r), VT_OK);
		ck_assert_uint_le(r.nchoices, before);
		ck_assert_mem_eq(r.choices, expect, sizeof(expect));
		ck_assert_uint_gt(r.stats.shrink_runs, 1);
		assert_replays(&m, &r);
		chk_result_free(&r);
	}
}
END_TEST

/* Not stopping at the first: all 6 schedules run, 4 of them fail (the list above); the one
 * returned is the first found, BAAB. */
START_TEST(test_lost_update_count_all)
{
	struct toy t;
	struct chk_model m;
	struct chk_options o = opts(CHK_DFS);
	struct chk_result r;
	static const unsigned expect[] = { 1, 0, 0 };

	toy_init(&t, TOY_LOST_UPDATE, 2, TWO_TWO);
	m = toy_model(&t);
	o.stop_at_first = false;
	ck_assert_int_eq(chk_explore(&m, &o, &r), VT_OK);
	ck_assert(r.violated);
	ck_assert_uint_eq(r.violations, 4);
	ck_assert_uint_eq(r.stats.schedules, 6);
	ck_assert(r.stats.exhausted);
	ck_assert_uint_eq(r.nchoices, 3);
	ck_assert_mem_eq(r.choices, expect, sizeof(expect));
	chk_result_free(&r);
}
END_TEST

/*
 * Random walks and PCT (d = 2) find it too. A random walk fails with probability 1/2 (the second
 * step goes to the other thread); PCT's first execution has no change point (no depth estimate
 * yet) and runs one thread to its end, later ones put the one change point on either of the 2
 * choices, the first of which fails: within 100 schedules a miss has probability 2^-99 (and the
 * seed fixes the outcome). Every counterexample replays; shrinking keeps it failing, no longer.
 */
START_TEST(test_lost_update_sampled)
{
	static const enum chk_strategy strategies[] = { CHK_RANDOM, CHK_PCT };

	for (size_t i = 0; i < VT_ARRAY_SIZE(strategies); i++) {
		struct toy t;
		struct chk_model m;
		struct chk_options o = opts(strategies[i]);
		struct chk_result r;
		unsigned before;

		toy_init(&t, TOY_LOST_UPDATE, 2, TWO_TWO);
		m = toy_model(&t);
		o.max_schedules = 100;
		ck_assert_int_eq(chk_explore(&m, &o, &r), VT_OK);
		ck_assert_msg(r.violated, "strategy %zu found nothing", i);
		ck_assert_uint_eq(r.violations, 1);
		ck_assert_uint_le(r.stats.schedules, 100);
		ck_assert(!r.stats.exhausted); /* a sample proves nothing */
		ck_assert_uint_eq(r.nchoices, 3); /* every failing schedule has 3 choice points */
		assert_replays(&m, &r);
		before = r.nchoices;
		ck_assert_int_eq(chk_shrink(&m, &r), VT_OK);
		ck_assert_uint_le(r.nchoices, before);
		assert_replays(&m, &r);
		/* The search's own shrink option gives the same kind of result. */
		chk_result_free(&r);
		o.shrink = true;
		ck_assert_int_eq(chk_explore(&m, &o, &r), VT_OK);
		ck_assert(r.violated);
		ck_assert_uint_gt(r.stats.shrink_runs, 0);
		ck_assert_uint_eq(deviations(&r), 1); /* no failing schedule has fewer */
		assert_replays(&m, &r);
		chk_result_free(&r);
	}
}
END_TEST

/*
 * A padded counterexample: [1, 0, 3, 0, 2, 0] runs B, A, then 3 clamped to 1 (B writes 1), then
 * A alone (writes 1): x = 1, recorded [1, 0, 1]; the last three answers are never used (trailing
 * padding) and the third is an interior deviation nothing needs. Shrinking starts from the
 * record [1, 0, 1]; removing its first half [1, 0] leaves [1], which replays as BAAB, recorded
 * [1, 0, 0]: same length, one deviation fewer, kept. Nothing smaller fails ([] and [0, 0, 0] are
 * AABB). The result is BFS's counterexample exactly.
 */
START_TEST(test_shrink_padded)
{
	struct toy t;
	struct chk_model m;
	struct chk_result r;
	static const unsigned padded[] = { 1, 0, 3, 0, 2, 0 };
	static const unsigned recorded[] = { 1, 0, 1 };
	static const unsigned minimal[] = { 1, 0, 0 };

	toy_init(&t, TOY_LOST_UPDATE, 2, TWO_TWO);
	m = toy_model(&t);
	ck_assert_int_eq(chk_replay(&m, padded, VT_ARRAY_SIZE(padded), &r), VT_OK);
	ck_assert(r.violated);
	ck_assert_uint_eq(r.nchoices, 3);
	ck_assert_mem_eq(r.choices, recorded, sizeof(recorded));
	chk_result_free(&r);

	/* Shrink the padded sequence itself (as read from a trail, say). */
	memset(&r, 0, sizeof(r));
	r.violated = true;
	r.prop = 0;
	r.choices = malloc(sizeof(padded));
	ck_assert_ptr_nonnull(r.choices);
	memcpy(r.choices, padded, sizeof(padded));
	r.nchoices = VT_ARRAY_SIZE(padded);
	ck_assert_int_eq(chk_shrink(&m, &r), VT_OK);
	ck_assert_uint_eq(r.nchoices, 3);
	ck_assert_mem_eq(r.choices, minimal, sizeof(minimal));
	ck_assert_str_eq(r.message, "lost update: x = 1, expected 2");
	assert_replays(&m, &r);
	chk_result_free(&r);

	/* A hand-made input shorter than its record: [1] records [1, 0, 0] (BAAB); shrinking
	 * starts from that record and returns it (nothing smaller fails). */
	memset(&r, 0, sizeof(r));
	r.violated = true;
	r.choices = malloc(sizeof(unsigned));
	ck_assert_ptr_nonnull(r.choices);
	r.choices[0] = 1;
	r.nchoices = 1;
	ck_assert_int_eq(chk_shrink(&m, &r), VT_OK);
	ck_assert_uint_eq(r.nchoices, 3);
	ck_assert_mem_eq(r.choices, minimal, sizeof(minimal));
	chk_result_free(&r);

	/* A sequence that does not fail cannot be shrunk: refused, left as it was. */
	memset(&r, 0, sizeof(r));
	r.violated = true;
	r.choices = calloc(2, sizeof(unsigned)); /* [0, 0]: AABB */
	ck_assert_ptr_nonnull(r.choices);
	r.nchoices = 2;
	ck_assert_int_eq(chk_shrink(&m, &r), VT_EINPUT);
	ck_assert_uint_eq(r.nchoices, 2);
	chk_result_free(&r);
}
END_TEST

/* ---- 3. a safe model ------------------------------------------------------------------------- */

/* Atomic increments by threads taking 2, 1 and 1 steps: 4! / (2! 1! 1!) = 12 interleavings,
 * each x = 4: zero violations, every schedule run once, exhausted. */
START_TEST(test_safe_exhaustive)
{
	static const unsigned steps[] = { 2, 1, 1 };
	static const enum chk_strategy strategies[] = { CHK_DFS, CHK_BFS };

	for (size_t i = 0; i < VT_ARRAY_SIZE(strategies); i++) {
		struct toy t;
		struct chk_model m;
		struct chk_options o = opts(strategies[i]);
		struct chk_result r;

		toy_init(&t, TOY_ATOMIC, 3, steps);
		m = toy_model(&t);
		o.stop_at_first = false;
		ck_assert_int_eq(chk_explore(&m, &o, &r), VT_OK);
		ck_assert(!r.violated);
		ck_assert_uint_eq(r.violations, 0);
		ck_assert_uint_eq(r.stats.schedules, 12);
		ck_assert(r.stats.exhausted);
		ck_assert_str_eq(r.message, "");
		chk_result_free(&r);
	}
}
END_TEST

/* ---- 4. state hashing ------------------------------------------------------------------------ */

/*
 * Two threads counting their own 3 steps: C(6,3) = 20 interleavings but only the 9 states
 * (a, b) with a, b < 3 have a choice. With hashing (counted against an unbounded budget, each
 * state kept by its first visitor, which has the fewest deviations):
 *   level 0: AAABBB records (0,0) (1,0) (2,0);
 *   level 1: [1] BAAABB records (0,1) (1,1) (2,1); [0,1] reaches (1,1), [0,0,1] reaches (2,1),
 *            both with 1 deviation: pruned;
 *   level 2: children of [1]: [1,1] records (0,2) (1,2) (2,2); [1,0,1] reaches (1,2) and
 *            [1,0,0,1] reaches (2,2) with 2 deviations: pruned;
 *   level 3: children of [1,1] at its last 3 positions: 3 schedules with no choice left.
 * 1 + 3 + 3 + 3 = 10 schedules, 4 pruned, 9 states; the same (empty) verdict.
 */
START_TEST(test_hash_prunes)
{
	static const unsigned steps[] = { 3, 3 };
	static const enum chk_strategy strategies[] = { CHK_DFS, CHK_BFS };

	for (size_t i = 0; i < VT_ARRAY_SIZE(strategies); i++) {
		struct toy t;
		struct chk_model m;
		struct chk_options o = opts(strategies[i]);
		struct chk_result plain, hashed;

		toy_init(&t, TOY_COUNTERS, 2, steps);
		m = toy_model(&t);
		ck_assert_int_eq(chk_explore(&m, &o, &plain), VT_OK);
		ck_assert(!plain.violated);
		ck_assert_uint_eq(plain.stats.schedules, 20);
		ck_assert_uint_eq(plain.stats.states, 0);
		o.use_hash = true;
		ck_assert_int_eq(chk_explore(&m, &o, &hashed), VT_OK);
		ck_assert(!hashed.violated);
		ck_assert(hashed.stats.exhausted);
		ck_assert_uint_eq(hashed.stats.schedules, 10);
		ck_assert_uint_eq(hashed.stats.pruned, 4);
		ck_assert_uint_eq(hashed.stats.states, 9);
		chk_result_free(&plain);
		chk_result_free(&hashed);
	}
}
END_TEST

/* The property "thread 1 does not finish before thread 0 starts" fails only on BBBAAA, [1,1,1]
 * (3 deviations): with or without hashing it is found, the same counterexample. Without: 1 + 3
 * (level 1) + 6 (level 2: the 3 + 2 + 1 children of [1], [0,1], [0,0,1] by position) + 1
 * ([1,1,1], the first level-3 child of [1,1]) = 11 schedules; with: 1 + 3 + 3 + 1 = 8. */
START_TEST(test_hash_same_verdict)
{
	static const unsigned steps[] = { 3, 3 };
	static const unsigned expect[] = { 1, 1, 1 };
	struct toy t;
	struct chk_model m;
	struct chk_options o = opts(CHK_DFS);
	struct chk_result plain, hashed;

	toy_init(&t, TOY_COUNTERS, 2, steps);
	t.counters_prop = true;
	m = toy_model(&t);
	ck_assert_int_eq(chk_explore(&m, &o, &plain), VT_OK);
	o.use_hash = true;
	ck_assert_int_eq(chk_explore(&m, &o, &hashed), VT_OK);
	ck_assert(plain.violated);
	ck_assert(hashed.violated);
	ck_assert_uint_eq(plain.prop, 2);
	ck_assert_uint_eq(hashed.prop, 2);
	ck_assert_uint_eq(plain.nchoices, 3);
	ck_assert_mem_eq(plain.choices, expect, sizeof(expect));
	ck_assert_uint_eq(hashed.nchoices, 3);
	ck_assert_mem_eq(hashed.choices, expect, sizeof(expect));
	ck_assert_uint_eq(plain.stats.schedules, 11);
	ck_assert_uint_eq(hashed.stats.schedules, 8);
	chk_result_free(&plain);
	chk_result_free(&hashed);
}
END_TEST

/* Hashing asked of a model without state_hash is an input error. */
START_TEST(test_hash_needs_state_hash)
{
	struct toy t;
	struct chk_model m;
	struct chk_options o = opts(CHK_DFS);
	struct chk_result r;

	toy_init(&t, TOY_PLAIN, 2, TWO_TWO);
	m = toy_model(&t);
	m.state_hash = NULL;
	o.use_hash = true;
	ck_assert_int_eq(chk_explore(&m, &o, &r), VT_EINPUT);
	ck_assert_uint_eq(t.runs, 0);
	chk_result_free(&r);
}
END_TEST

/* ---- 5. budgets and errors ------------------------------------------------------------------- */

/* max_schedules = 2 of the 6: stops, not exhausted. max_schedules = 6 exactly: the search ends
 * with its sixth schedule, nothing left unrun: exhausted. */
START_TEST(test_budget_schedules)
{
	struct toy t;
	struct chk_model m;
	struct chk_options o = opts(CHK_DFS);
	struct chk_result r;

	toy_init(&t, TOY_PLAIN, 2, TWO_TWO);
	m = toy_model(&t);
	o.max_schedules = 2;
	ck_assert_int_eq(chk_explore(&m, &o, &r), VT_OK);
	ck_assert_uint_eq(r.stats.schedules, 2);
	ck_assert(!r.stats.exhausted);
	chk_result_free(&r);

	o.max_schedules = 6;
	ck_assert_int_eq(chk_explore(&m, &o, &r), VT_OK);
	ck_assert_uint_eq(r.stats.schedules, 6);
	ck_assert(r.stats.exhausted);
	chk_result_free(&r);

	/* Sampling runs exactly its budget when nothing fails. */
	o = opts(CHK_RANDOM);
	o.max_schedules = 25;
	ck_assert_int_eq(chk_explore(&m, &o, &r), VT_OK);
	ck_assert_uint_eq(r.stats.schedules, 25);
	ck_assert(!r.stats.exhausted);
	chk_result_free(&r);
}
END_TEST

/* Random walks and PCT without a budget of schedules are refused before running anything. */
START_TEST(test_budget_required)
{
	static const enum chk_strategy strategies[] = { CHK_RANDOM, CHK_PCT };

	for (size_t i = 0; i < VT_ARRAY_SIZE(strategies); i++) {
		struct toy t;
		struct chk_model m;
		struct chk_options o = opts(strategies[i]);
		struct chk_result r;

		toy_init(&t, TOY_PLAIN, 2, TWO_TWO);
		m = toy_model(&t);
		ck_assert_int_eq(chk_explore(&m, &o, &r), VT_EINPUT);
		ck_assert_uint_eq(t.runs, 0);
		ck_assert_uint_eq(r.stats.schedules, 0);
		chk_result_free(&r);
	}
}
END_TEST

/* Progress callback: counts its calls and checks the stats it is shown. */
struct progress_log {
	unsigned calls;
	uint64_t last_schedules;
	double last_seconds;
};

static void on_progress(const struct chk_stats *st, void *ctx)
{
	struct progress_log *p = ctx;

	p->calls++;
	p->last_schedules = st->schedules;
	p->last_seconds = st->seconds;
}

/*
 * Wall-clock budget: 6 schedules of at least 150 ms each against a 0.7 s budget. The budget is
 * checked before each execution, so the sixth (starting at >= 5 x 150 ms = 0.75 s) never runs:
 * at most 5 schedules (fewer on a slow machine), not exhausted. The progress callback, due
 * every 0.5 s, is called at least once: the search only stops at an execution's end past 0.7 s
 * (it cannot finish first: 6 x 150 ms = 0.9 s), and the first execution ending past 0.5 s calls
 * it, showing the schedules run so far.
 */
START_TEST(test_budget_seconds)
{
	struct toy t;
	struct chk_model m;
	struct chk_options o = opts(CHK_DFS);
	struct chk_result r;
	struct progress_log p = { 0 };

	toy_init(&t, TOY_PLAIN, 2, TWO_TWO);
	t.sleep_ms = 150;
	m = toy_model(&t);
	o.max_seconds = 0.7;
	o.progress = on_progress;
	o.progress_ctx = &p;
	ck_assert_int_eq(chk_explore(&m, &o, &r), VT_OK);
	ck_assert_uint_le(r.stats.schedules, 5);
	ck_assert_uint_ge(r.stats.schedules, 1);
	ck_assert(!r.stats.exhausted);
	ck_assert_double_ge(r.stats.seconds, 0.7);
	ck_assert_uint_ge(p.calls, 1);
	ck_assert_uint_ge(p.last_schedules, 1);
	ck_assert_uint_le(p.last_schedules, r.stats.schedules);
	ck_assert_double_ge(p.last_seconds, 0.5);
	chk_result_free(&r);
}
END_TEST

/* A model error stops the search and is returned: the second execution fails. */
START_TEST(test_model_error)
{
	struct toy t;
	struct chk_model m;
	struct chk_options o = opts(CHK_BFS);
	struct chk_result r;

	toy_init(&t, TOY_PLAIN, 2, TWO_TWO);
	t.fail_at_run = 2;
	m = toy_model(&t);
	ck_assert_int_eq(chk_explore(&m, &o, &r), VT_EIO);
	ck_assert_uint_eq(r.stats.schedules, 2);
	ck_assert(!r.stats.exhausted);
	chk_result_free(&r);
}
END_TEST

/* ---- 6. determinism -------------------------------------------------------------------------- */

/* The same seed gives the same search: the same counterexample after the same number of
 * schedules (random walks and PCT over the lost update, not stopping at the first, so each
 * search draws its whole budget). */
START_TEST(test_seeded_deterministic)
{
	static const enum chk_strategy strategies[] = { CHK_RANDOM, CHK_PCT };

	for (size_t i = 0; i < VT_ARRAY_SIZE(strategies); i++) {
		struct toy t;
		struct chk_model m;
		struct chk_options o = opts(strategies[i]);
		struct chk_result a, b;

		toy_init(&t, TOY_LOST_UPDATE, 2, TWO_TWO);
		m = toy_model(&t);
		o.seed = 0x5eed;
		o.max_schedules = 40;
		o.stop_at_first = false;
		ck_assert_int_eq(chk_explore(&m, &o, &a), VT_OK);
		ck_assert_int_eq(chk_explore(&m, &o, &b), VT_OK);
		ck_assert(a.violated);
		ck_assert(b.violated);
		ck_assert_uint_eq(a.violations, b.violations);
		ck_assert_uint_eq(a.stats.schedules, 40);
		ck_assert_uint_eq(b.stats.schedules, 40);
		ck_assert_uint_eq(a.nchoices, b.nchoices);
		ck_assert_mem_eq(a.choices, b.choices, a.nchoices * sizeof(unsigned));
		/* And the last executions agree answer for answer. */
		chk_result_free(&a);
		chk_result_free(&b);
	}
}
END_TEST

/*
 * PCT with d = 1 has no change point: every execution runs the higher-priority thread to its
 * end, then the other, so its answers are [0, 0] (AABB) or [1, 1] (BBAA), nothing else.
 */
static int pct_d1_run(void *ctx, struct chk_exec *x)
{
	struct toy *t = ctx;
	int rc = toy_run(ctx, x);

	if (!(t->nanswers == 2 && t->answers[0] == t->answers[1]))
		t->pct_bad++;
	return rc;
}

START_TEST(test_pct_no_change_point)
{
	struct toy t;
	struct chk_model m;
	struct chk_options o = opts(CHK_PCT);
	struct chk_result r;

	toy_init(&t, TOY_PLAIN, 2, TWO_TWO);
	m = toy_model(&t);
	m.run = pct_d1_run;
	o.pct_depth = 1;
	o.max_schedules = 50;
	ck_assert_int_eq(chk_explore(&m, &o, &r), VT_OK);
	ck_assert_uint_eq(r.stats.schedules, 50);
	ck_assert_uint_eq(t.pct_bad, 0);
	chk_result_free(&r);
}
END_TEST

/* ---- 7. a violation before any choice -------------------------------------------------------- */

/* Every strategy finds it in its first execution, with the empty choice sequence; after the
 * violation the execution is stopped: a choice answers 0 and is not recorded. */
START_TEST(test_depth0_violation)
{
	static const enum chk_strategy strategies[] = { CHK_DFS, CHK_BFS, CHK_RANDOM, CHK_PCT };

	for (size_t i = 0; i < VT_ARRAY_SIZE(strategies); i++) {
		struct toy t;
		struct chk_model m;
		struct chk_options o = opts(strategies[i]);
		struct chk_result r;

		toy_init(&t, TOY_DEPTH0, 0, NULL);
		m = toy_model(&t);
		o.max_schedules = 10;
		o.shrink = true;
		ck_assert_int_eq(chk_explore(&m, &o, &r), VT_OK);
		ck_assert(r.violated);
		ck_assert_uint_eq(r.prop, 1);
		ck_assert_str_eq(r.message, "wrong from the start");
		ck_assert_uint_eq(r.nchoices, 0);
		ck_assert_uint_eq(r.stats.schedules, 1);
		ck_assert(t.stopped_after_violation);
		ck_assert_uint_eq(t.choose_after_violation, 0);
		ck_assert_uint_eq(t.depth_after_violation, 0);
		assert_replays(&m, &r);
		chk_result_free(&r);
	}
}
END_TEST

Suite *explore_suite(void)
{
	Suite *s = suite_create("explore");
	TCase *tree = tcase_create("tree");
	TCase *race = tcase_create("race");
	TCase *safe = tcase_create("safe");
	TCase *budget = tcase_create("budget");
	TCase *seeded = tcase_create("seeded");

	tcase_add_test(tree, test_tree_exhaustive);
	tcase_add_test(tree, test_tree_bounded);
	tcase_add_test(tree, test_tree_max_depth);
	tcase_add_test(tree, test_depth0_violation);
	suite_add_tcase(s, tree);

	tcase_add_test(race, test_lost_update_exhaustive);
	tcase_add_test(race, test_lost_update_count_all);
	tcase_add_test(race, test_lost_update_sampled);
	tcase_add_test(race, test_shrink_padded);
	suite_add_tcase(s, race);

	tcase_add_test(safe, test_safe_exhaustive);
	tcase_add_test(safe, test_hash_prunes);
	tcase_add_test(safe, test_hash_same_verdict);
	tcase_add_test(safe, test_hash_needs_state_hash);
	suite_add_tcase(s, safe);

	tcase_set_timeout(budget, 20); /* test_budget_seconds sleeps about 0.75 s */
	tcase_add_test(budget, test_budget_schedules);
	tcase_add_test(budget, test_budget_required);
	tcase_add_test(budget, test_budget_seconds);
	tcase_add_test(budget, test_model_error);
	suite_add_tcase(s, budget);

	tcase_add_test(seeded, test_seeded_deterministic);
	tcase_add_test(seeded, test_pct_no_change_point);
	suite_add_tcase(s, seeded);
	return s;
}
