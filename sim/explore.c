/*
 * explore.c: the model checker's explorer (explore.h): one execution's oracle (struct chk_exec,
 * chk_choose), the searches (DFS and BFS over the tree of deviations, random walks, PCT), the
 * visited-state set, counterexample replay and shrinking.
 *
 * The tree of deviations. An execution is named by its recorded answers a[0..k); its deviations
 * are its non-zero answers. Its parent is the same schedule with the last deviation set to 0, so
 * the children of a schedule whose last deviation is at position p (p = -1 for the all-zeros
 * root) are, for every recorded position j > p and every value c in 1..n_j - 1, the prefix
 * a[0..j) followed by c (answers beyond a prefix are 0). Every schedule has exactly one parent,
 * so walking the tree generates every schedule exactly once. Generating a child needs only its
 * parent's recorded n_j (the choice point counts), never a re-run of the parent.
 *
 * DFS (iterative deepening, every schedule run exactly once). Level b runs exactly the schedules
 * with b deviations, in the depth-first (pre)order of the tree: level 0 is the root, and level
 * b is generated from the schedules of level b - 1, which were run just before. A textbook
 * iterative deepening re-walks levels 0..b - 1 to reach level b (re-running each schedule once
 * per level above its own); instead each schedule of level b - 1 that has children (a recorded
 * choice point after its last deviation) is carried to level b with what generating them needs:
 * its deviations (position, value) and the n of every choice point after its last deviation.
 * So no schedule runs twice, neither within a level nor across levels, and stats.schedules is
 * the number of distinct schedules run. The first counterexample found has the fewest
 * deviations of all (no schedule with fewer failed: they all ran at earlier levels). The price
 * is memory: the carried level holds one entry per parent (2d + 2 + t words for d deviations
 * and t later choice points) where a re-walking DFS holds one path.
 *
 * BFS keeps a FIFO of prefixes (deviation lists), level by level: all schedules with d
 * deviations run before any with d + 1. A schedule runs when it leaves the queue; its children's
 * prefixes (2d + 3 words each) join the next level. It visits the same schedules in the same
 * order as DFS; the two differ in what they store (BFS one entry per child, DFS one per parent
 * with its choice counts, which is smaller when choice points have many options).
 *
 * Memory bound (both): a level's store may hold at most LEVEL_MAX_WORDS words (256 MiB). A level
 * that would grow past it stops the search there: the verdict so far is returned with
 * stats.exhausted = false (a budget ran out, as with max_schedules), never a wrong "proof".
 *
 * stats.exhausted is true only when every schedule within the bounds ran: never for random walks
 * and PCT (samples), and not when the search stopped early (a budget, the memory bound, or
 * stop_at_first at a counterexample, whether or not schedules were left).
 *
 * State hashing (DFS and BFS, options.use_hash). At every choice point beyond an execution's
 * replayed prefix, the model's state hash h is looked up in an open-addressing set of
 * (h -> deviations still allowed). Found with at least as many remaining: the execution stops
 * there (pruned) and answers 0 from then on. Otherwise (h, remaining) is recorded. This is
 * sound because the recording execution's descendants (children at or after that position,
 * recursively) cover every continuation from the state within its remaining deviations, and are
 * all run unless a budget stops the search. Remaining deviations are counted against the final
 * bound (max_deviations, unbounded otherwise), not the current level: a recording execution's
 * later-level descendants do get run. Prefix positions are never looked up (the parent recorded
 * them: looking them up would prune every child). When max_depth is set, the depth is mixed into
 * the key, because the same state with fewer choice points left has fewer continuations. The
 * hash must identify the whole state that the rest of the execution and its properties depend
 * on; a 64-bit collision would prune wrongly (the usual hash-compaction trade-off). Random walks
 * and PCT ignore use_hash: nothing explores a state's continuations for them, so a hit would
 * only truncate a sample.
 *
 * Random walks answer every choice uniformly from one generator seeded by (options.seed,
 * EXPLORE_STREAM), so a search is a function of the seed. PCT (Burckhardt, Kothari, Musuvathi,
 * Nagarakatte, ASPLOS 2010), per execution: the 64 thread ids get distinct random priorities
 * 1..64; d - 1 change points are drawn uniformly among the first K CHK_THREAD choice points,
 * K the most such choice points any earlier execution of the search had (PCT's k, estimated; 0
 * for the first execution, which then has none). K never exceeds max_depth (no execution records
 * more), but max_depth itself is not used as K: it is usually a safety cap far above the real
 * depth, and change points drawn past an execution's end never fire. At each CHK_THREAD choice
 * the runnable thread of highest priority is answered, and when that choice is a change point
 * its priority then drops below every other (0, -1, -2, ... in order). CHK_VALUE choices are
 * uniform. Only choice points (n >= 2) count as steps: a step where one thread can run is no
 * decision.
 */
#include "explore.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rng.h"

/* The explorer's PRNG stream (rng_seed's stream id): "explore" in ASCII, distinct from the
 * simulation's streams so a checker search never shares numbers with a world's draws. */
#define EXPLORE_STREAM 0x6578706c6f7265ULL
/* Most words one level of the DFS or BFS store may hold (256 MiB of unsigned). */
#define LEVEL_MAX_WORDS ((size_t)1 << 26)
/* Internal return code: a level store is full (the search stops, not exhausted). */
#define LEVEL_FULL (-1)
/* Initial capacity of the visited-state set (a power of two). */
#define SEEN_MIN_CAP 1024
/* Period of the progress callback, seconds of wall-clock time. */
#define PROGRESS_PERIOD_S 0.5
/* Thread ids PCT ranks (explore.h: ids are 0..63). */
#define PCT_THREADS 64

/* ---- the visited-state set ------------------------------------------------------------------- */

/*
 * Open addressing with linear probing: key 0 marks an empty slot (state_hash returns 0 for
 * "cannot hash", so real keys are non-zero; a key that becomes 0 after mixing in the depth is
 * remapped to 1). The table doubles when half full, so a probe sequence stays short.
 */
struct seen {
	uint64_t *key;
	unsigned *remaining; /* deviations still allowed when the state was last recorded */
	size_t cap, n;
};

/* splitmix64's finalizer: spreads any key over the table's low bits. */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int seen_grow(struct seen *h)
{
	size_t cap = h->cap ? h->cap * 2 : SEEN_MIN_CAP;
	uint64_t *key = calloc(cap, sizeof(*key));
	unsigned *remaining = malloc(cap * sizeof(*remaining));

	if (!key || !remaining) {
		free(key);
		free(remaining);
		return VT_ENOMEM;
	}
	for (size_t i = 0; i < h->cap; i++) {
		size_t j;

		if (!h->key[i])
			continue;
		j = (size_t)mix64(h->key[i]) & (cap - 1);
		while (key[j])
			j = (j + 1) & (cap - 1);
		key[j] = h->key[i];
		remaining[j] = h->remaining[i];
	}
	free(h->key);
	free(h->remaining);
	h->key = key;
	h->remaining = remaining;
	h->cap = cap;
	return VT_OK;
}

/*
 * *visited = true when `key` was recorded with at least `remaining` deviations left; otherwise
 * records (key, remaining), raising a smaller stored budget. VT_OK or VT_ENOMEM.
 */
static int seen_visit(struct seen *h, uint64_t key, unsigned remaining, bool *visited)
{
	size_t i;

	*visited = false;
	if ((h->n + 1) * 2 > h->cap && seen_grow(h) != VT_OK)
		return VT_ENOMEM;
	i = (size_t)mix64(key) & (h->cap - 1);
	while (h->key[i] && h->key[i] != key)
		i = (i + 1) & (h->cap - 1);
	if (h->key[i] == key) {
		if (h->remaining[i] >= remaining)
			*visited = true;
		else
			h->remaining[i] = remaining;
		return VT_OK;
	}
	h->key[i] = key;
	h->remaining[i] = remaining;
	h->n++;
	return VT_OK;
}

static void seen_free(struct seen *h)
{
	free(h->key);
	free(h->remaining);
	memset(h, 0, sizeof(*h));
}

/* ---- one execution's oracle ------------------------------------------------------------------ */

/* One recorded choice point: the answer given, how many options it had, and what it chose. */
struct chk_point {
	unsigned answer;
	unsigned n;
	enum chk_kind kind;
};

/* How answers beyond the replayed prefix are chosen. */
enum exec_mode {
	MODE_ZERO,   /* 0 (DFS, BFS, replay) */
	MODE_RANDOM, /* uniform */
	MODE_PCT,    /* PCT priorities for CHK_THREAD, uniform for CHK_VALUE */
};

/* PCT's per-execution state (see the top of the file). */
struct pct {
	int prio[PCT_THREADS]; /* higher runs first; distinct */
	int low;               /* the last priority given at a change point (then lower) */
	unsigned *change;      /* d - 1 change points: indices of CHK_THREAD choice points */
	unsigned nchange;
	unsigned steps;        /* CHK_THREAD choice points answered in this execution */
	unsigned horizon;      /* K: change points are drawn in [0, K) */
};

struct chk_exec {
	const struct chk_model *m;
	/* The answers to replay: prefix[i] answers choice point i (clamped to n - 1). */
	const unsigned *prefix;
	unsigned nprefix;
	/* The answers given so far, with each choice point's n and kind. */
	struct chk_point *rec;
	unsigned nrec, cap;
	unsigned deviations;   /* non-zero answers in rec */
	/* Bounds. */
	unsigned max_depth;    /* choice points recorded at most; beyond, 0 (0: no bound) */
	unsigned dev_bound;    /* the search's deviation bound (UINT_MAX: none), for hashing */
	struct seen *seen;     /* the visited-state set, NULL when not hashing */
	/* Strategy. */
	enum exec_mode mode;
	struct rng *rng;
	struct pct *pct;
	/* Outcome: the first violation wins; stopped after it, a prune, or a failed allocation. */
	bool violated;
	unsigned prop;
	char msg[sizeof(((struct chk_result *)0)->message)];
	bool stopped;
	bool pruned;
	bool oom;
};

static void exec_init(struct chk_exec *x, const struct chk_model *m)
{
	memset(x, 0, sizeof(*x));
	x->m = m;
	x->dev_bound = UINT_MAX;
	x->mode = MODE_ZERO;
}

/* Ready for a new execution replaying prefix[0..nprefix) (the arrays are kept). */
static void exec_reset(struct chk_exec *x, const unsigned *prefix, unsigned nprefix)
{
	x->prefix = prefix;
	x->nprefix = prefix ? nprefix : 0;
	x->nrec = 0;
	x->deviations = 0;
	x->violated = false;
	x->prop = 0;
	x->msg[0] = '\0';
	x->stopped = false;
	x->pruned = false;
	x->oom = false;
}

static void exec_free(struct chk_exec *x)
{
	free(x->rec);
	x->rec = NULL;
	x->nrec = x->cap = 0;
}

/* Appends a recorded choice point; false (execution stopped, oom set) when memory runs out. */
static bool exec_record(struct chk_exec *x, unsigned answer, unsigned n, enum chk_kind kind)
{
	if (x->nrec == x->cap) {
		unsigned cap = x->cap ? x->cap * 2 : 64;
		struct chk_point *rec;

		if (cap < x->cap || (rec = realloc(x->rec, cap * sizeof(*rec))) == NULL) {
			x->oom = x->stopped = true;
			return false;
		}
		x->rec = rec;
		x->cap = cap;
	}
	x->rec[x->nrec++] = (struct chk_point){ .answer = answer, .n = n, .kind = kind };
	if (answer)
		x->deviations++;
	return true;
}

/*
 * The state-hash check at a choice point beyond the prefix: true when the execution must stop
 * here (the state was explored with at least as many deviations left, or memory ran out).
 */
static bool exec_prune(struct chk_exec *x)
{
	uint64_t h = x->m->state_hash(x->m->ctx);
	unsigned remaining;
	bool visited;

	if (!h)
		return false;
	if (x->max_depth) {
		/* (state, depth) is the key: the same state nearer the depth bound has fewer
		 * continuations explored from it. */
		h ^= mix64((uint64_t)x->nrec + 1);
		if (!h)
			h = 1;
	}
	remaining = x->dev_bound > x->deviations ? x->dev_bound - x->deviations : 0;
	if (seen_visit(x->seen, h, remaining, &visited) != VT_OK) {
		x->oom = x->stopped = true;
		return true;
	}
	if (visited) {
		x->pruned = x->stopped = true;
		return true;
	}
	return false;
}

/* PCT's answer at a CHK_THREAD choice among ids[0..n): the highest priority runnable thread;
 * at a change point, that thread's priority then drops below all others. */
static unsigned pct_answer(struct pct *p, unsigned n, const unsigned *ids)
{
	unsigned best = 0;

	for (unsigned i = 1; i < n; i++)
		if (p->prio[ids[i] % PCT_THREADS] > p->prio[ids[best] % PCT_THREADS])
			best = i;
	for (unsigned k = 0; k < p->nchange; k++)
		if (p->change[k] == p->steps)
			p->prio[ids[best] % PCT_THREADS] = --p->low;
	p->steps++;
	return best;
}

/* The strategy's answer beyond the prefix (n >= 2). */
static unsigned exec_answer(struct chk_exec *x, enum chk_kind kind, unsigned n, const unsigned *ids)
{
	switch (x->mode) {
	case MODE_RANDOM:
		return (unsigned)rng_below(x->rng, n);
	case MODE_PCT:
		if (kind == CHK_THREAD && ids)
			return pct_answer(x->pct, n, ids);
		return (unsigned)rng_below(x->rng, n);
	case MODE_ZERO:
		break;
	}
	return 0;
}

unsigned chk_choose(struct chk_exec *x, enum chk_kind kind, unsigned n, const unsigned *ids)
{
	unsigned a;

	/* Not a choice (n <= 1), or the execution is over for the explorer, or past max_depth:
	 * 0, not recorded. */
	if (n <= 1 || x->stopped)
		return 0;
	if (x->max_depth && x->nrec >= x->max_depth)
		return 0;
	if (x->nrec < x->nprefix) {
		a = x->prefix[x->nrec];
		if (a >= n)
			a = n - 1;
	} else {
		if (x->seen && x->m->state_hash && exec_prune(x))
			return 0;
		a = exec_answer(x, kind, n, ids);
	}
	if (!exec_record(x, a, n, kind))
		return 0;
	return a;
}

void chk_violation(struct chk_exec *x, unsigned prop, const char *fmt, ...)
{
	va_list ap;

	if (x->violated || x->stopped)
		return;
	x->violated = true;
	x->stopped = true;
	x->prop = prop;
	va_start(ap, fmt);
	vsnprintf(x->msg, sizeof(x->msg), fmt, ap);
	va_end(ap);
}

bool chk_stopped(const struct chk_exec *x)
{
	return x->stopped;
}

unsigned chk_depth(const struct chk_exec *x)
{
	return x->nrec;
}

/* ---- results --------------------------------------------------------------------------------- */

/* res's counterexample becomes x's violation and every answer x recorded. */
static int keep_counterexample(struct chk_result *res, const struct chk_exec *x)
{
	unsigned *c = NULL;

	if (x->nrec) {
		c = malloc(x->nrec * sizeof(*c));
		if (!c)
			return VT_ENOMEM;
		for (unsigned i = 0; i < x->nrec; i++)
			c[i] = x->rec[i].answer;
	}
	free(res->choices);
	res->choices = c;
	res->nchoices = x->nrec;
	res->violated = true;
	res->prop = x->prop;
	snprintf(res->message, sizeof(res->message), "%s", x->msg);
	return VT_OK;
}

void chk_result_free(struct chk_result *res)
{
	if (!res)
		return;
	free(res->choices);
	res->choices = NULL;
	res->nchoices = 0;
}

/* ---- the search ------------------------------------------------------------------------------ */

/* A growable array of words: one level of the DFS or BFS store. */
struct words {
	unsigned *w;
	size_t n, cap;
};

/* Room for k more words: VT_OK, VT_ENOMEM, or LEVEL_FULL past LEVEL_MAX_WORDS. */
static int words_reserve(struct words *v, size_t k)
{
	size_t cap;
	unsigned *w;

	if (v->n + k <= v->cap)
		return VT_OK;
	if (v->n + k > LEVEL_MAX_WORDS)
		return LEVEL_FULL;
	cap = v->cap ? v->cap : 1024;
	while (cap < v->n + k)
		cap *= 2;
	if (cap > LEVEL_MAX_WORDS)
		cap = LEVEL_MAX_WORDS;
	w = realloc(v->w, cap * sizeof(*w));
	if (!w)
		return VT_ENOMEM;
	v->w = w;
	v->cap = cap;
	return VT_OK;
}

struct search {
	const struct chk_model *m;
	const struct chk_options *o;
	struct chk_result *res;
	struct chk_exec x;
	struct seen seen;
	struct rng rng;
	struct pct pct;
	unsigned pct_max_steps;  /* most CHK_THREAD choice points of one execution so far */
	unsigned *pbuf;          /* a dense prefix being replayed */
	unsigned pcap;
	unsigned *dbuf;          /* a deviation list (position, value pairs) being built */
	unsigned dcap;
	double t0, next_progress;
	bool stop;               /* no more executions */
	bool cut;                /* stopped with schedules left unrun: not exhausted */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Grows an unsigned buffer to hold at least `need` values. */
static int grow_buf(unsigned **buf, unsigned *cap, unsigned need)
{
	unsigned c = *cap ? *cap : 64;
	unsigned *b;

	if (need <= *cap)
		return VT_OK;
	while (c < need) {
		if (c > UINT_MAX / 2)
			return VT_ENOMEM;
		c *= 2;
	}
	b = realloc(*buf, c * sizeof(*b));
	if (!b)
		return VT_ENOMEM;
	*buf = b;
	*cap = c;
	return VT_OK;
}

/* True (and the search marked stopped, not exhausted) when a budget is spent. */
static bool over_budget(struct search *s)
{
	const struct chk_options *o = s->o;

	if (o->max_schedules && s->res->stats.schedules >= o->max_schedules)
		s->stop = s->cut = true;
	else if (o->max_seconds > 0 && now_s() - s->t0 >= o->max_seconds)
		s->stop = s->cut = true;
	return s->stop;
}

/* Starts a PCT execution: fresh priorities and change points (see the top of the file). */
static void pct_start(struct search *s)
{
	struct pct *p = &s->pct;
	int perm[PCT_THREADS];

	for (int i = 0; i < PCT_THREADS; i++)
		perm[i] = i + 1;
	/* Fisher-Yates: a uniform permutation of the priorities 1..64. */
	for (unsigned i = PCT_THREADS - 1; i > 0; i--) {
		unsigned j = (unsigned)rng_below(&s->rng, (uint64_t)i + 1);
		int t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	memcpy(p->prio, perm, sizeof(perm));
	p->low = 1;
	p->steps = 0;
	p->horizon = s->pct_max_steps;
	for (unsigned k = 0; k < p->nchange; k++)
		p->change[k] = p->horizon ? (unsigned)rng_below(&s->rng, p->horizon) : UINT_MAX;
}

/*
 * Runs one execution replaying prefix[0..nprefix) and accounts for it: statistics, the first
 * counterexample, the violation count, stop_at_first, progress. Returns the model's error,
 * VT_ENOMEM, or VT_OK.
 */
static int run_one(struct search *s, const unsigned *prefix, unsigned nprefix)
{
	struct chk_exec *x = &s->x;
	struct chk_stats *st = &s->res->stats;
	int rc;

	exec_reset(x, prefix, nprefix);
	if (x->mode == MODE_PCT)
		pct_start(s);
	rc = s->m->run(s->m->ctx, x);
	st->schedules++;
	if (x->nrec > st->max_depth)
		st->max_depth = x->nrec;
	if (x->pruned)
		st->pruned++;
	if (x->mode == MODE_PCT && s->pct.steps > s->pct_max_steps)
		s->pct_max_steps = s->pct.steps;
	if (rc == VT_OK && x->oom)
		rc = VT_ENOMEM;
	if (rc != VT_OK) {
		s->stop = s->cut = true;
		return rc;
	}
	if (x->violated) {
		s->res->violations++;
		if (!s->res->violated && (rc = keep_counterexample(s->res, x)) != VT_OK)
			return rc;
		if (s->o->stop_at_first)
			s->stop = s->cut = true;
	}
	if (s->o->progress) {
		double t = now_s();

		if (t >= s->next_progress) {
			st->seconds = t - s->t0;
			st->states = s->seen.n;
			s->o->progress(st, s->o->progress_ctx);
			s->next_progress = t + PROGRESS_PERIOD_S;
		}
	}
	return VT_OK;
}

/* The dense prefix of a deviation list dev[0..2d) (position, value pairs, positions
 * increasing), len answers long, in s->pbuf. */
static int dense_prefix(struct search *s, const unsigned *dev, unsigned d, unsigned len)
{
	int rc = grow_buf(&s->pbuf, &s->pcap, len);

	if (rc != VT_OK)
		return rc;
	memset(s->pbuf, 0, len * sizeof(*s->pbuf));
	for (unsigned i = 0; i < d; i++)
		s->pbuf[dev[2 * i]] = dev[2 * i + 1];
	return VT_OK;
}

/* The deviation list dev[0..2d) followed by (j, c), in s->dbuf. */
static int extend_devs(struct search *s, const unsigned *dev, unsigned d, unsigned j, unsigned c)
{
	int rc = grow_buf(&s->dbuf, &s->dcap, 2 * d + 2);

	if (rc != VT_OK)
		return rc;
	if (d)
		memcpy(s->dbuf, dev, 2 * d * sizeof(*dev));
	s->dbuf[2 * d] = j;
	s->dbuf[2 * d + 1] = c;
	return VT_OK;
}

/*
 * DFS: carries the execution just run (deviations dev[0..2d), replayed prefix ending at
 * `start`) to the next level when it has children: the entry is
 * [d, pos_1, val_1, ..., pos_d, val_d, t, n_start, ..., n_start+t-1].
 */
static int dfs_carry(struct search *s, struct words *next, const unsigned *dev, unsigned d,
		     unsigned start)
{
	const struct chk_exec *x = &s->x;
	unsigned t = x->nrec > start ? x->nrec - start : 0;
	unsigned *w;
	int rc;

	if (!t)
		return VT_OK;
	rc = words_reserve(next, (size_t)2 * d + 2 + t);
	if (rc != VT_OK)
		return rc;
	w = next->w + next->n;
	*w++ = d;
	if (d)
		memcpy(w, dev, 2 * d * sizeof(*dev));
	w += 2 * d;
	*w++ = t;
	for (unsigned i = 0; i < t; i++)
		*w++ = x->rec[start + i].n;
	next->n += (size_t)2 * d + 2 + t;
	return VT_OK;
}

/* Runs every child of a carried entry (level `level`), carrying each to the next level while
 * the bound allows; advances *at past the entry. */
static int dfs_children(struct search *s, const struct words *cur, size_t *at, struct words *next,
			unsigned level, unsigned bound)
{
	const unsigned *e = cur->w + *at;
	unsigned d = e[0];
	const unsigned *dev = e + 1;
	unsigned t = e[1 + 2 * d];
	const unsigned *nopt = e + 2 + 2 * d;
	unsigned start = d ? dev[2 * d - 2] + 1 : 0;
	int rc = VT_OK;

	*at += (size_t)2 * d + 2 + t;
	for (unsigned i = 0; i < t; i++) {
		unsigned j = start + i;

		for (unsigned c = 1; c < nopt[i]; c++) {
			if (over_budget(s))
				return VT_OK;
			if ((rc = extend_devs(s, dev, d, j, c)) != VT_OK ||
			    (rc = dense_prefix(s, s->dbuf, d + 1, j + 1)) != VT_OK ||
			    (rc = run_one(s, s->pbuf, j + 1)) != VT_OK)
				return rc;
			if (level < bound && (rc = dfs_carry(s, next, s->dbuf, d + 1, j + 1)) != VT_OK)
				return rc;
			if (s->stop)
				return VT_OK;
		}
	}
	return rc;
}

/* BFS: queues the prefix of every child of the execution just run (deviations dev[0..2d),
 * replayed prefix ending at `start`): entries [d + 1, pos_1, val_1, ..., j, c]. */
static int bfs_enqueue(struct search *s, struct words *next, const unsigned *dev, unsigned d,
		       unsigned start)
{
	const struct chk_exec *x = &s->x;

	for (unsigned j = start; j < x->nrec; j++) {
		for (unsigned c = 1; c < x->rec[j].n; c++) {
			unsigned *w;
			int rc = words_reserve(next, (size_t)2 * d + 3);

			if (rc != VT_OK)
				return rc;
			w = next->w + next->n;
			*w++ = d + 1;
			if (d)
				memcpy(w, dev, 2 * d * sizeof(*dev));
			w += 2 * d;
			w[0] = j;
			w[1] = c;
			next->n += (size_t)2 * d + 3;
		}
	}
	return VT_OK;
}

/* Runs one queued prefix (level `level`) and queues its children while the bound allows;
 * advances *at past the entry. */
static int bfs_step(struct search *s, const struct words *cur, size_t *at, struct words *next,
		    unsigned level, unsigned bound)
{
	const unsigned *e = cur->w + *at;
	unsigned d = e[0];
	const unsigned *dev = e + 1;
	unsigned len = dev[2 * d - 2] + 1; /* d >= 1: the root is run before the queue */
	int rc;

	*at += (size_t)2 * d + 1;
	if (over_budget(s))
		return VT_OK;
	if ((rc = dense_prefix(s, dev, d, len)) != VT_OK || (rc = run_one(s, s->pbuf, len)) != VT_OK)
		return rc;
	if (level < bound && !s->stop)
		rc = bfs_enqueue(s, next, dev, d, len);
	return rc;
}

/* DFS and BFS: the root, then level after level until a level is empty, the bound is
 * reached, or the search stops. */
static int search_levels(struct search *s)
{
	unsigned bound = s->o->max_deviations ? s->o->max_deviations : UINT_MAX;
	bool dfs = s->o->strategy == CHK_DFS;
	struct words cur = { 0 }, next = { 0 };
	int rc;

	if (over_budget(s))
		return VT_OK;
	rc = run_one(s, NULL, 0);
	if (rc == VT_OK && !s->stop && bound > 0)
		rc = dfs ? dfs_carry(s, &cur, NULL, 0, 0) : bfs_enqueue(s, &cur, NULL, 0, 0);
	for (unsigned level = 1; rc == VT_OK && !s->stop && cur.n; level++) {
		struct words t;

		s->res->stats.bound = level;
		for (size_t at = 0; rc == VT_OK && !s->stop && at < cur.n;)
			rc = dfs ? dfs_children(s, &cur, &at, &next, level, bound)
				 : bfs_step(s, &cur, &at, &next, level, bound);
		t = cur;
		cur = next;
		next = t;
		next.n = 0;
	}
	if (rc == LEVEL_FULL) {
		s->stop = s->cut = true;
		rc = VT_OK;
	}
	free(cur.w);
	free(next.w);
	return rc;
}

/* Random walks and PCT: max_schedules executions (or fewer when time runs out). */
static int search_samples(struct search *s)
{
	int rc = VT_OK;

	while (rc == VT_OK && !over_budget(s) && !s->stop)
		rc = run_one(s, NULL, 0);
	/* A sample never proves anything. */
	s->cut = true;
	return rc;
}

int chk_explore(const struct chk_model *m, const struct chk_options *o, struct chk_result *res)
{
	struct search s;
	int rc = VT_OK;

	if (!res)
		return VT_EINPUT;
	memset(res, 0, sizeof(*res));
	if (!m || !m->run || !o || o->strategy > CHK_PCT) {
		snprintf(res->message, sizeof(res->message), "check: no model or no options");
		return VT_EINPUT;
	}
	if ((o->strategy == CHK_RANDOM || o->strategy == CHK_PCT) && !o->max_schedules) {
		snprintf(res->message, sizeof(res->message),
			 "check: random and pct searches need a budget of schedules (max_schedules > 0)");
		return VT_EINPUT;
	}
	if (o->use_hash && !m->state_hash) {
		snprintf(res->message, sizeof(res->message),
			 "check: state hashing asked for, but the model has no state_hash");
		return VT_EINPUT;
	}

	memset(&s, 0, sizeof(s));
	s.m = m;
	s.o = o;
	s.res = res;
	s.t0 = now_s();
	s.next_progress = s.t0 + PROGRESS_PERIOD_S;
	exec_init(&s.x, m);
	s.x.max_depth = o->max_depth;
	s.x.rng = &s.rng;
	s.x.pct = &s.pct;
	rng_seed(&s.rng, o->seed, EXPLORE_STREAM);
	switch (o->strategy) {
	case CHK_DFS:
	case CHK_BFS:
		s.x.mode = MODE_ZERO;
		s.x.dev_bound = o->max_deviations ? o->max_deviations : UINT_MAX;
		if (o->use_hash)
			s.x.seen = &s.seen;
		rc = search_levels(&s);
		break;
	case CHK_RANDOM:
		s.x.mode = MODE_RANDOM;
		rc = search_samples(&s);
		break;
	case CHK_PCT:
		s.x.mode = MODE_PCT;
		/* d = 0 is read as d = 1 (no change points: one random priority order). */
		s.pct.nchange = o->pct_depth > 1 ? o->pct_depth - 1 : 0;
		if (s.pct.nchange &&
		    !(s.pct.change = malloc(s.pct.nchange * sizeof(*s.pct.change)))) {
			rc = VT_ENOMEM;
			break;
		}
		rc = search_samples(&s);
		break;
	}
	res->stats.states = s.seen.n;
	res->stats.exhausted = rc == VT_OK && !s.cut;
	res->stats.seconds = now_s() - s.t0;
	if (!res->violated)
		res->message[0] = '\0';
	exec_free(&s.x);
	seen_free(&s.seen);
	free(s.pct.change);
	free(s.pbuf);
	free(s.dbuf);
	if (rc == VT_OK && res->violated && o->shrink)
		rc = chk_shrink(m, res);
	return rc;
}

/* ---- replay ---------------------------------------------------------------------------------- */

int chk_replay(const struct chk_model *m, const unsigned *choices, unsigned n,
	       struct chk_result *res)
{
	struct chk_exec x;
	int rc;

	if (!res)
		return VT_EINPUT;
	memset(res, 0, sizeof(*res));
	if (!m || !m->run || (n && !choices))
		return VT_EINPUT;
	exec_init(&x, m);
	exec_reset(&x, choices, n);
	rc = m->run(m->ctx, &x);
	if (rc == VT_OK && x.oom)
		rc = VT_ENOMEM;
	res->stats.schedules = 1;
	res->stats.max_depth = x.nrec;
	if (rc == VT_OK && x.nrec) {
		res->choices = malloc(x.nrec * sizeof(*res->choices));
		if (!res->choices)
			rc = VT_ENOMEM;
	}
	if (rc == VT_OK) {
		for (unsigned i = 0; i < x.nrec; i++)
			res->choices[i] = x.rec[i].answer;
		res->nchoices = x.nrec;
		res->violated = x.violated;
		res->prop = x.prop;
		res->violations = x.violated;
		snprintf(res->message, sizeof(res->message), "%s", x.msg);
	}
	exec_free(&x);
	return rc;
}

/* ---- shrinking ------------------------------------------------------------------------------- */

/*
 * The current sequence is always the full record of an execution violating `prop`: the answers
 * up to the violation, the zeros among them included, exactly what chk_replay records for it,
 * so replaying the result reproduces it answer for answer (as a counterexample from chk_explore
 * does). "Never longer" is measured on these records: the result is never longer than the
 * input's own record (which is the input itself when it came from chk_explore or chk_replay).
 * Dropping trailing zeros: every candidate is tried without them (answers beyond a sequence are
 * 0 anyway), and zeros after the violation are never recorded; zeros before it stay, since they
 * are answers the execution was given. A candidate is kept when its execution violates `prop`
 * and its record is smaller in the order (length, deviations, sum of answers). A replay answers
 * at most the candidate's values (clamped), so every kept record strictly decreases that order:
 * shrinking terminates.
 */
struct shrinker {
	const struct chk_model *m;
	struct chk_result *res;
	struct chk_exec x;
	unsigned prop;
	unsigned *cur, len;    /* the current counterexample (a full record) */
	unsigned *cand;        /* a candidate being built (at most len answers) */
	char msg[sizeof(((struct chk_result *)0)->message)];
};

static bool smaller(const struct chk_point *a, unsigned na, const unsigned *b, unsigned nb)
{
	uint64_t deva = 0, devb = 0, suma = 0, sumb = 0;

	if (na != nb)
		return na < nb;
	for (unsigned i = 0; i < na; i++) {
		deva += a[i].answer != 0;
		devb += b[i] != 0;
		suma += a[i].answer;
		sumb += b[i];
	}
	return deva != devb ? deva < devb : suma < sumb;
}

/* Tries cand[0..n); *kept tells whether it replaced the current counterexample. */
static int shrink_try(struct shrinker *k, unsigned n, bool *kept)
{
	struct chk_exec *x = &k->x;
	int rc;

	*kept = false;
	while (n && k->cand[n - 1] == 0)
		n--;
	exec_reset(x, k->cand, n);
	rc = k->m->run(k->m->ctx, x);
	k->res->stats.shrink_runs++;
	if (rc == VT_OK && x->oom)
		rc = VT_ENOMEM;
	if (rc != VT_OK || !x->violated || x->prop != k->prop || !smaller(x->rec, x->nrec, k->cur, k->len))
		return rc;
	for (unsigned i = 0; i < x->nrec; i++)
		k->cur[i] = x->rec[i].answer;
	k->len = x->nrec;
	memcpy(k->msg, x->msg, sizeof(k->msg));
	*kept = true;
	return VT_OK;
}

/* One pass of chunk removal: sizes len, then halves, quarters ... 1 (rounded up). */
static int shrink_chunks(struct shrinker *k, bool *changed)
{
	for (unsigned size = k->len; size > 0; size = size > 1 ? (size + 1) / 2 : 0) {
		for (unsigned at = 0; at + size <= k->len;) {
			unsigned n = 0;
			bool kept;
			int rc;

			for (unsigned i = 0; i < k->len; i++)
				if (i < at || i >= at + size)
					k->cand[n++] = k->cur[i];
			if ((rc = shrink_try(k, n, &kept)) != VT_OK)
				return rc;
			if (kept)
				*changed = true; /* retry the same place in the shorter sequence */
			else
				at += size;
		}
	}
	return VT_OK;
}

/* One pass lowering each answer: to 0, else to half, else by one. */
static int shrink_values(struct shrinker *k, bool *changed)
{
	for (unsigned i = 0; i < k->len; i++) {
		bool kept = true;

		while (kept && i < k->len && k->cur[i] > 0) {
			unsigned v = k->cur[i];
			unsigned tries[3] = { 0, v / 2, v - 1 };

			kept = false;
			for (unsigned t = 0; t < 3 && !kept; t++) {
				int rc;

				if (t > 0 && (tries[t] == 0 || tries[t] == tries[t - 1]))
					continue;
				memcpy(k->cand, k->cur, k->len * sizeof(*k->cand));
				k->cand[i] = tries[t];
				if ((rc = shrink_try(k, k->len, &kept)) != VT_OK)
					return rc;
			}
			if (kept)
				*changed = true;
		}
	}
	return VT_OK;
}

int chk_shrink(const struct chk_model *m, struct chk_result *res)
{
	struct shrinker k;
	bool changed = true;
	int rc;

	if (!m || !m->run || !res || !res->violated || (res->nchoices && !res->choices))
		return VT_EINPUT;
	memset(&k, 0, sizeof(k));
	k.m = m;
	k.res = res;
	k.prop = res->prop;
	exec_init(&k.x, m);
	/* The first run replays the input itself: it must fail as res says, and its record is
	 * where shrinking starts (the input when it came from chk_explore or chk_replay; a shorter
	 * hand-made input records its implied trailing zeros up to the violation). */
	exec_reset(&k.x, res->choices, res->nchoices);
	rc = m->run(m->ctx, &k.x);
	res->stats.shrink_runs++;
	if (rc == VT_OK && k.x.oom)
		rc = VT_ENOMEM;
	if (rc == VT_OK && (!k.x.violated || k.x.prop != k.prop))
		rc = VT_EINPUT; /* the input does not fail (a model that is not deterministic?) */
	if (rc != VT_OK)
		goto out;
	/* Every kept record is at most this long: both buffers have room for any of them. */
	k.len = k.x.nrec;
	k.cur = malloc((k.len ? k.len : 1) * sizeof(*k.cur));
	k.cand = malloc((k.len ? k.len : 1) * sizeof(*k.cand));
	if (!k.cur || !k.cand) {
		rc = VT_ENOMEM;
		goto out;
	}
	for (unsigned i = 0; i < k.len; i++)
		k.cur[i] = k.x.rec[i].answer;
	memcpy(k.msg, k.x.msg, sizeof(k.msg));
	while (changed) {
		changed = false;
		if ((rc = shrink_chunks(&k, &changed)) != VT_OK ||
		    (rc = shrink_values(&k, &changed)) != VT_OK)
			goto out;
	}
	free(res->choices);
	res->choices = k.cur;
	res->nchoices = k.len;
	k.cur = NULL;
	snprintf(res->message, sizeof(res->message), "%s", k.msg);
out:
	free(k.cur);
	free(k.cand);
	exec_free(&k.x);
	return rc;
}
