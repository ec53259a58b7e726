/*
 * explore.h: the model checker's explorer: exhaustive (bounded) and sampled exploration of a
 * model's choice points, counterexample shrinking and replay (issue 7).
 *
 * Stateless exploration by re-execution, as CHESS and rr-style replays do it: a model is a
 * deterministic program whose every nondeterministic decision is a call to chk_choose(); one
 * execution (a schedule) runs the model from its initial state to the end, and is identified by
 * the sequence of answers it got. The explorer decides the answers: it replays a prefix, then
 * answers 0 (the default: "no preemption", "no store lands yet") beyond it, and learns from each
 * execution how many options every later choice point had.
 *
 * The schedule space is searched as the tree of deviations: a schedule's deviations are its
 * non-zero answers. DFS walks that tree depth-first under a bound on deviations, deepening the
 * bound one by one (iterative deepening: the first counterexample found has the fewest
 * deviations seen so far); BFS visits all schedules with d deviations before any with d + 1,
 * so its first counterexample has the fewest deviations of all (the shortest); random walks
 * answer uniformly at random from a seeded generator; PCT (Burckhardt et al., ASPLOS 2010) gives
 * every thread a random priority, runs the highest-priority runnable thread at CHK_THREAD choices
 * and lowers the running thread's priority at d - 1 random change points.
 *
 * Nothing here knows vtsim's engine; sim/chkmodel.c is the model of a world, tests use toys.
 */
#ifndef VT_EXPLORE_H
#define VT_EXPLORE_H

#include "vt.h"

/* What a choice picks: a thread to run next (PCT ranks these), or any other value. */
enum chk_kind { CHK_THREAD, CHK_VALUE };

/* One execution's oracle (opaque to models). */
struct chk_exec;

/*
 * A model the explorer drives. run() resets the model to its initial state and runs one
 * execution to its end, calling chk_choose() at every nondeterministic point and
 * chk_violation() when a property fails (it may return early once chk_stopped()). Everything it
 * does must be a function of the answers it got: two runs given the same answers take the same
 * path. Returns VT_OK or a VT_* error (which stops the exploration).
 */
struct chk_model {
	void *ctx;
	int (*run)(void *ctx, struct chk_exec *x);
	/*
	 * Optional: a hash of the model's whole state at the current choice point, or 0 when the
	 * state cannot be hashed there (a reader coroutine is mid-read). With options.use_hash the
	 * explorer skips the rest of an execution reaching a state it already explored from with at
	 * least as many deviations left.
	 */
	uint64_t (*state_hash)(void *ctx);
	/* Optional: names of the properties (index -> name) for messages. */
	const char *const *prop_names;
};

/*
 * At a choice point: an answer in [0, n). n == 1 answers 0 and is not recorded (not a choice).
 * For CHK_THREAD, ids are the n runnable threads' stable identifiers (0..63), in the order the
 * answer indexes them; NULL otherwise.
 */
unsigned chk_choose(struct chk_exec *x, enum chk_kind kind, unsigned n, const unsigned *ids);
/* The model found property `prop` violated; the message says how (for the report). The first
 * violation of an execution is the one recorded. */
void chk_violation(struct chk_exec *x, unsigned prop, const char *fmt, ...) VT_PRINTF(3, 4);
/* True once this execution reported a violation or was cut by a bound or the state hash. */
bool chk_stopped(const struct chk_exec *x);
/* Choice points answered so far in this execution. */
unsigned chk_depth(const struct chk_exec *x);

enum chk_strategy { CHK_DFS, CHK_BFS, CHK_RANDOM, CHK_PCT };

struct chk_stats {
	uint64_t schedules;       /* executions run (excluding shrinking) */
	uint64_t states;          /* distinct hashed states seen (use_hash) */
	uint64_t pruned;          /* executions cut short at a visited state */
	uint64_t shrink_runs;     /* executions run while shrinking */
	unsigned max_depth;       /* most choice points in one execution */
	unsigned bound;           /* the deviation bound reached (DFS/BFS) */
	bool exhausted;           /* every schedule within the bounds was run: the verdict is a proof */
	double seconds;           /* wall-clock time of the search (outside the simulation) */
};

struct chk_options {
	enum chk_strategy strategy;
	unsigned max_deviations;  /* DFS/BFS: bound on non-zero answers; 0: no bound */
	unsigned max_depth;       /* choice points answered per execution; beyond, 0; 0: no bound */
	uint64_t max_schedules;   /* budget of executions; 0: none (random/PCT need one) */
	double max_seconds;       /* wall-clock budget; 0: none */
	uint64_t seed;            /* random walks and PCT */
	unsigned pct_depth;       /* PCT's d (>= 1) */
	bool use_hash;            /* prune visited states (needs model->state_hash) */
	bool shrink;              /* shrink a counterexample before returning it */
	bool stop_at_first;       /* stop at the first counterexample (else count them all) */
	/* Called about twice a second during the search (stats so far). */
	void (*progress)(const struct chk_stats *s, void *ctx);
	void *progress_ctx;
};

struct chk_result {
	bool violated;
	unsigned prop;            /* the violated property */
	char message[512];
	unsigned *choices;        /* the counterexample: every recorded answer, in order (malloc) */
	unsigned nchoices;
	uint64_t violations;      /* counterexamples found (stop_at_first: 0 or 1) */
	struct chk_stats stats;
};

/* Searches; res->violated tells the verdict. Returns VT_OK, VT_ENOMEM or the model's error. */
int chk_explore(const struct chk_model *m, const struct chk_options *o, struct chk_result *res);
/*
 * Runs one execution answering `choices` in order (0 beyond them; an answer out of range for
 * its choice point is clamped to n - 1); res tells whether and what it violated and receives
 * the answers actually given.
 */
int chk_replay(const struct chk_model *m, const unsigned *choices, unsigned n,
	       struct chk_result *res);
/*
 * Shrinks res's counterexample (res->violated must be set): removes chunks of answers (halves,
 * quarters ... single answers), lowers answers (to 0, then by halving, then by one), and drops
 * trailing zeros, re-running each candidate and keeping it only when it violates the same
 * property; repeats until nothing changes. The result is never longer, never a non-failing
 * sequence. Updates res (choices, message) and res->stats.shrink_runs.
 */
int chk_shrink(const struct chk_model *m, struct chk_result *res);
void chk_result_free(struct chk_result *res);

#endif /* VT_EXPLORE_H */
