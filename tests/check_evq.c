/*
 * check_evq.c: the pending-event set pops in (time, seq) order: earliest time first, and events
 * at the same time in the order they were pushed, whatever the interleaving.
 */
#include <check.h>
#include <string.h>
#include <stdlib.h>

#include "evq.h"
#include "rng.h"

START_TEST(test_order_random)
{
	struct evq q;
	struct rng r;
	struct event e, prev;
	enum { N = 200000 };
	unsigned popped = 0;

	evq_init(&q);
	rng_seed(&r, 7, 0);
	/* Many ties: times in a small range. Push order is recorded in `arg`. */
	for (uint32_t i = 0; i < N; i++)
		ck_assert_int_eq(evq_push(&q, rng_below(&r, 1000), i % 7, 0, i), VT_OK);
	ck_assert(evq_pop(&q, &prev));
	popped = 1;
	while (evq_pop(&q, &e)) {
		ck_assert_uint_ge(e.time, prev.time);
		if (e.time == prev.time)
			ck_assert_uint_gt(e.arg, prev.arg); /* FIFO among equal times */
		prev = e;
		popped++;
	}
	ck_assert_uint_eq(popped, N);
	ck_assert(evq_empty(&q));
	evq_free(&q);
}
END_TEST

START_TEST(test_interleaved)
{
	/* Push and pop interleaved, as the simulation does: the popped sequence never goes back. */
	struct evq q;
	struct rng r;
	struct event e;
	sim_ns now = 0;
	uint64_t n = 0;

	evq_init(&q);
	rng_seed(&r, 11, 0);
	for (int i = 0; i < 64; i++)
		evq_push(&q, rng_below(&r, 100), 1, (uint32_t)i, 0);
	while (n < 1000000 && evq_pop(&q, &e)) {
		ck_assert_uint_ge(e.time, now);
		now = e.time;
		ck_assert_uint_eq(event_kind(&e), 1);
		evq_push(&q, now + rng_below(&r, 50), 1, e.who, 0);
		n++;
	}
	ck_assert_uint_eq(n, 1000000);
	ck_assert_uint_eq(q.n, 64);
	evq_free(&q);
}
END_TEST

/*
 * The hole a pop leaves: closed by a push, a peek or another pop, whichever comes first, and the
 * order of pops is (time, seq) whatever the mix. Against a reference: a sorted array.
 */
START_TEST(test_pop_hole)
{
	struct evq q;
	struct rng r;
	struct event e;
	uint64_t ref_t[4096], ref_s[4096];
	unsigned nref = 0;
	uint64_t seq = 0;

	evq_init(&q);
	rng_seed(&r, 5, 0);
	ck_assert(!evq_pop(&q, &e));
	evq_push(&q, 7, 1, 0, 0);
	ck_assert(evq_pop(&q, &e));
	ck_assert(evq_empty(&q)); /* only the hole left */
	ck_assert(!evq_pop(&q, &e));
	seq = 1;
	for (int step = 0; step < 200000; step++) {
		unsigned op = (unsigned)rng_below(&r, 4);

		if ((op == 0 || nref == 0) && nref < 4096) {
			sim_ns t = rng_below(&r, 1000);
			unsigned k = nref;

			evq_push(&q, t, 2, 0, 0);
			/* Insert into the reference, ordered by (time, seq). */
			while (k > 0 && (ref_t[k - 1] > t)) {
				ref_t[k] = ref_t[k - 1];
				ref_s[k] = ref_s[k - 1];
				k--;
			}
			ref_t[k] = t;
			ref_s[k] = seq++;
			nref++;
		} else if (op == 1) {
			ck_assert_uint_eq(evq_peek_time(&q), ref_t[0]);
		} else {
			ck_assert(evq_pop(&q, &e));
			ck_assert_uint_eq(e.time, ref_t[0]);
			ck_assert_uint_eq(e.seq_kind >> EV_KIND_BITS, ref_s[0]);
			memmove(ref_t, ref_t + 1, (nref - 1) * sizeof(ref_t[0]));
			memmove(ref_s, ref_s + 1, (nref - 1) * sizeof(ref_s[0]));
			nref--;
		}
		ck_assert_int_eq(evq_empty(&q), nref == 0);
	}
	evq_free(&q);
}
END_TEST

START_TEST(test_kind_and_fields)
{
	struct evq q;
	struct event e;

	evq_init(&q);
	evq_push(&q, 5, 17, 3, 99);
	evq_push(&q, 5, 2, 4, 100);
	evq_push(&q, 1, 9, 5, 101);
	ck_assert_uint_eq(evq_peek_time(&q), 1);
	ck_assert(evq_pop(&q, &e));
	ck_assert_uint_eq(e.time, 1);
	ck_assert_uint_eq(event_kind(&e), 9);
	ck_assert_uint_eq(e.who, 5);
	ck_assert(evq_pop(&q, &e));
	ck_assert_uint_eq(event_kind(&e), 17);
	ck_assert_uint_eq(e.arg, 99);
	ck_assert(evq_pop(&q, &e));
	ck_assert_uint_eq(event_kind(&e), 2);
	ck_assert(!evq_pop(&q, &e));
	evq_free(&q);
}
END_TEST

Suite *evq_suite(void)
{
	Suite *s = suite_create("evq");
	TCase *tc = tcase_create("order");

	tcase_add_test(tc, test_order_random);
	tcase_add_test(tc, test_interleaved);
	tcase_add_test(tc, test_kind_and_fields);
	tcase_add_test(tc, test_pop_hole);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
