/*
 * check_results.c: expect clauses evaluated against arms' metrics and facts (values, units,
 * arithmetic, division by zero), and the vCPU state machine's invariants checked after every
 * event of a busy quantum-mode run.
 */
#include <check.h>
#include <stdlib.h>

#include "results.h"
#include "testutil.h"

/* Runs `text` and checks its expectations; returns how many failed. */
static unsigned eval_text(const char *text, struct results *res, struct tu_run *r)
{
	tu_run_text(r, text);
	memset(res, 0, sizeof(*res));
	res->cfg = &r->cfg;
	res->narms = r->cfg.narms;
	res->arms = calloc(res->narms, sizeof(*res->arms));
	res->nexpect = r->cfg.nexpect;
	res->expect = calloc(res->nexpect + 1, sizeof(*res->expect));
	for (unsigned i = 0; i < res->narms; i++) {
		res->arms[i].arm = &r->cfg.arms[i];
		memcpy(res->arms[i].m, r->m[i], sizeof(r->m[i]));
	}
	for (unsigned i = 0; i < res->nexpect; i++)
		res->expect[i].e = &r->cfg.expect[i];
	results_check(res);
	return res->failed;
}

START_TEST(test_expect_values)
{
	struct tu_run r;
	struct results res;
	const char *text =
		"duration = 1s\nhost.cpus = 2\nvm.vcpus = 2\n"
		"sched { mode = rate; migrate_rate = 20/s; migrate_gap = fixed(1ms) }\n"
		"arm ideal\narm nvmm { policy = gtsc-resume }\n"
		/* 0 */ "expect ideal.lost_time_ns == 0\n"
		/* 1 */ "expect nvmm.lost_time_ns > 1ms\n"
		/* 2 */ "expect nvmm.lost_time_ns > 10 * ideal.lost_time_ns + 1us\n"
		/* 3 */ "expect ideal.reads == nvmm.reads\n"
		/* 4 */ "expect nvmm.reads / 0 > 1\n"
		/* 5 */ "expect abs(nvmm.final_error_ns) == -nvmm.final_error_ns\n"
		/* 6 */ "expect nvmm.lost_time_ns < 1us\n"
		/* 7 */ "expect (nvmm.reads - ideal.reads) * 2 == 0\n";

	ck_assert_uint_eq(eval_text(text, &res, &r), 2);
	ck_assert(res.expect[0].held && res.expect[1].held && res.expect[2].held);
	ck_assert(res.expect[3].held && res.expect[5].held && res.expect[7].held);
	ck_assert(!res.expect[4].held && res.expect[4].undefined); /* division by zero fails */
	ck_assert(!res.expect[6].held);
	ck_assert(res.expect[1].lhs == (double)r.m[1][M_LOST_TIME_NS]);
	ck_assert(res.expect[1].rhs == 1e6);
	ck_assert(res.expect[6].rhs == 1e3);
	results_free(&res);
	tu_free(&r);
}
END_TEST

START_TEST(test_expect_drift_equals_printed)
{
	/* An expectation can state drift_ppm exactly as the table prints it. */
	struct tu_run r;
	struct results res;
	char text[512], buf[32];

	tu_run_text(&r, "duration = 1s\nhost { cpus = 1; cpu.skew_ppm = 12.345ppm }\n"
			"vm.tsc_freq = 2.5GHz\narm tsc-offset\n");
	metric_format(M_DRIFT_PPM, r.m[0][M_DRIFT_PPM], buf, sizeof(buf));
	ck_assert_int_gt(r.m[0][M_DRIFT_PPM], 12000); /* the oscillator's 12.345 ppm, give or take */
	ck_assert_int_lt(r.m[0][M_DRIFT_PPM], 12700);
	snprintf(text, sizeof(text),
		 "duration = 1s\nhost { cpus = 1; cpu.skew_ppm = 12.345ppm }\nvm.tsc_freq = 2.5GHz\n"
		 "arm tsc-offset\nexpect tsc-offset.drift_ppm == %s\n"
		 "expect tsc-offset.drift_ppm == %sppm\n", buf, buf);
	tu_free(&r);
	ck_assert_uint_eq(eval_text(text, &res, &r), 0);
	results_free(&res);
	tu_free(&r);
}
END_TEST

/* ---- state-machine invariants after every event ------------------------------------- */

struct inv {
	unsigned checked;
	const char *broken;
};

static void check_invariants(struct world *w, void *ctx)
{
	struct inv *in = ctx;
	const struct config *cfg = w->cfg;
	unsigned owners = 0, queued = 0, idle = 0;

	in->checked++;
	if (in->broken)
		return;
	for (unsigned c = 0; c < cfg->host.ncpus; c++) {
		int o = w->cpu_owner[c];

		if (o < 0) {
			idle++;
			continue;
		}
		owners++;
		/* A CPU's owner is on that CPU, running or in an I/O exit. */
		if (w->vcpus[o].pub.pcpu != c ||
		    (w->vcpus[o].pub.state != VCPU_RUNNING && w->vcpus[o].pub.state != VCPU_EXITED))
			in->broken = "a CPU's owner is not on it";
	}
	for (unsigned i = 0; i < cfg->vm.nvcpus; i++) {
		const struct vcpu_rt *v = &w->vcpus[i];
		unsigned holds = 0;

		for (unsigned c = 0; c < cfg->host.ncpus; c++)
			holds += w->cpu_owner[c] == (int)i;
		if ((v->pub.state == VCPU_RUNNING || v->pub.state == VCPU_EXITED) && holds != 1)
			in->broken = "a running vCPU holds no CPU, or two";
		if (v->pub.state != VCPU_RUNNING && v->pub.state != VCPU_EXITED && holds != 0)
			in->broken = "a vCPU off its CPU still holds it";
		if (v->in_runq) {
			queued++;
			if (v->pub.state != VCPU_DESCHEDULED)
				in->broken = "a queued vCPU is not descheduled";
		}
		if (w->paused && v->pub.state == VCPU_RUNNING)
			in->broken = "a vCPU runs while the VM is paused";
	}
	if (queued != w->runq_len)
		in->broken = "the run queue's length is wrong";
	/* Work conservation: no CPU idles while a thread waits (unless paused). */
	if (!w->paused && idle > 0 && w->runq_len > 0)
		in->broken = "a CPU idles while a vCPU waits";
}

START_TEST(test_quantum_invariants)
{
	struct tu_run r;
	struct inv in = { 0, NULL };

	ck_assert_int_eq(tu_build(&r, "duration = 3s\nseed = 77\n"
				      "host { cpus = 3; cpu.offset = [0, 86000, 300] }\n"
				      "vm { vcpus = 7; io.rate = 400/s; io.duration = exp(300us)\n"
				      "  paging.rate = 40/s; paging.duration = uniform(10us, 5ms)\n"
				      "  pauses = [(0.5s, 10ms), (1.5s, 1ms)] }\n"
				      "sched { mode = quantum; quantum = 1ms }\n"
				      "workload { read_rate = 2kHz; locked_rate = 500/s }\n"
				      "arm gtsc-resume\n"),
			 VT_OK);
	{
		struct world w;

		ck_assert_int_eq(world_init(&w, &r.cfg, &r.cfg.arms[0], NULL), VT_OK);
		w.after_event = check_invariants;
		w.after_ctx = &in;
		ck_assert_int_eq(world_run(&w), VT_OK);
		ck_assert_msg(in.broken == NULL, "%s", in.broken);
		ck_assert_uint_gt(in.checked, 50000);
		ck_assert_uint_gt(w.load.preemptions, 1000);
		ck_assert_uint_gt(w.load.migrations, 10);
		world_free(&w);
	}
	tu_free(&r);
}
END_TEST

Suite *results_suite(void)
{
	Suite *s = suite_create("results");
	TCase *tc = tcase_create("expect");

	tcase_add_test(tc, test_expect_values);
	tcase_add_test(tc, test_expect_drift_equals_printed);
	tcase_add_test(tc, test_quantum_invariants);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
