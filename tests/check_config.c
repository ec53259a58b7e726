/*
 * check_config.c: resolving a scenario into a config: defaults, per-CPU keys, overrides, and one
 * test per class of error the config layer reports (each with its exact file:line:col).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

static void expect_error(const char *text, const char *msg)
{
	struct tu_run r;
	int rc = tu_build(&r, text);

	ck_assert_int_eq(rc, VT_EINPUT);
	ck_assert_msg(strcmp(r.err.msg, msg) == 0, "got '%s', expected '%s'", r.err.msg, msg);
	tu_free(&r);
}

START_TEST(test_defaults)
{
	struct tu_run r;

	ck_assert_int_eq(tu_build(&r, "arm ideal\n"), VT_OK);
	ck_assert_str_eq(r.cfg.name, "t");
	ck_assert_uint_eq(r.cfg.seed, 1);
	ck_assert_uint_eq(r.cfg.duration, 10000000000ULL);
	ck_assert_uint_eq(r.cfg.host.ncpus, 4);
	ck_assert_uint_eq(r.cfg.cpus[3].freq_hz, 2500000000ULL);
	ck_assert_uint_eq(r.cfg.vm.nvcpus, 2);
	ck_assert_uint_eq(r.cfg.vm.tsc_hz, 2500000000ULL);
	ck_assert_uint_eq(r.cfg.vm.placement[1], 1);
	ck_assert_int_eq(r.cfg.sched.mode, SCHED_PINNED);
	ck_assert_uint_eq(r.cfg.workload.read_cost, 20);
	ck_assert(r.cfg.workload.read_rate == 1000.0);
	ck_assert(r.cfg.sched.migrate_rate == 2.0);
	ck_assert_int_eq(r.cfg.sched.migrate_gap->kind, DIST_EXP);
	ck_assert_uint_eq(r.cfg.sched.migrate_gap->a, 200000);
	ck_assert_int_eq(r.cfg.host.tsc_stable, -1);
	ck_assert_str_eq(r.cfg.arms[0].policy->name, "ideal");
	ck_assert_str_eq(r.cfg.arms[0].page->name, "none");
	ck_assert_str_eq(r.cfg.arms[0].reader->name, "tsc");
	tu_free(&r);
}
END_TEST

START_TEST(test_per_cpu_and_overrides)
{
	struct tu_run r;
	struct scn_error e;

	ck_assert_int_eq(tu_build(&r, "host { cpus = 3\n cpu.skew_ppm = [1ppm, -2.5ppm, 3ppb]\n"
				      "cpu.freq = 2GHz\n cpu[1].freq = 3.4GHz\n"
				      "cpu.rate_changes = [(1s, 1.2GHz)]\n"
				      "cpu[2].resets = [(5s, 0cycles), (2s, 7)] }\n"
				      "vm { placement = [2, 0]\n paging.duration = "
				      "bursts(0.25, fixed(13us), uniform(19ms, 49ms)) }\n"
				      "sched.migrate_rate = 3/min\n"
				      "arm a { policy = gtsc-resume; reader.freq = 2.4GHz }\n"),
			 VT_OK);
	ck_assert_int_eq(r.cfg.cpus[0].skew_ppb, 1000);
	ck_assert_int_eq(r.cfg.cpus[1].skew_ppb, -2500);
	ck_assert_int_eq(r.cfg.cpus[2].skew_ppb, 3);
	ck_assert_uint_eq(r.cfg.cpus[0].freq_hz, 2000000000ULL);
	ck_assert_uint_eq(r.cfg.cpus[1].freq_hz, 3400000000ULL);
	/* A broadcast list of pairs applies to every CPU; resets are sorted by time. */
	ck_assert_uint_eq(r.cfg.cpus[0].nevents, 1);
	ck_assert_uint_eq(r.cfg.cpus[0].events[0].value, 1200000000ULL);
	ck_assert_uint_eq(r.cfg.cpus[2].nevents, 3);
	ck_assert_uint_eq(r.cfg.cpus[2].events[0].at, 1000000000ULL);
	ck_assert_int_eq(r.cfg.cpus[2].events[1].kind, HOST_EV_RESET);
	ck_assert_uint_eq(r.cfg.cpus[2].events[1].at, 2000000000ULL);
	ck_assert_uint_eq(r.cfg.cpus[2].events[1].value, 7);
	ck_assert_uint_eq(r.cfg.vm.placement[0], 2);
	ck_assert(r.cfg.sched.migrate_rate == 0.05);
	ck_assert_int_eq(r.cfg.vm.paging.duration->kind, DIST_BURSTS);
	ck_assert(r.cfg.vm.paging.duration->p == 0.25);
	ck_assert_uint_eq(r.cfg.vm.paging.duration->sub[1]->b, 49000000);
	ck_assert_str_eq(r.cfg.arms[0].policy->name, "gtsc-resume");
	ck_assert_int_eq(opt_get(&r.cfg.arms[0].reader_opts, "freq"), 2400000000LL);
	ck_assert_int_eq(opt_is_set(&r.cfg.arms[0].reader_opts, "freq"), 1);
	config_free(&r.cfg);

	/* --set overrides win over the file, the last one over earlier ones. */
	ck_assert_int_eq(scn_parse_override(&r.doc, "host.cpu[2].skew_ppm=40ppm", 1, &e), VT_OK);
	ck_assert_int_eq(scn_parse_override(&r.doc, "host.cpu.freq=1GHz", 2, &e), VT_OK);
	ck_assert_int_eq(scn_parse_override(&r.doc, "seed=77", 3, &e), VT_OK);
	ck_assert_int_eq(config_build(&r.cfg, &r.doc, "t.scn", &e), VT_OK);
	ck_assert_int_eq(r.cfg.cpus[2].skew_ppb, 40000);
	ck_assert_int_eq(r.cfg.cpus[0].skew_ppb, 1000);
	ck_assert_uint_eq(r.cfg.cpus[1].freq_hz, 1000000000ULL);
	ck_assert_uint_eq(r.cfg.seed, 77);
	tu_free(&r);
}
END_TEST

/* One test per error class of the config layer. */
START_TEST(test_err_unknown_key)
{
	expect_error("arm ideal\nhost.cpu[1].skw_ppm = 3\n",
		     "t.scn:2:1: unknown key 'host.cpu[1].skw_ppm' (bin/sim keys lists them)");
}
END_TEST

START_TEST(test_err_wrong_unit)
{
	expect_error("arm ideal\nduration = 5GHz\n",
		     "t.scn:2:12: expected a time (ns, us, ms, s, min, h) for 'duration', got a frequency");
}
END_TEST

START_TEST(test_err_not_whole)
{
	expect_error("arm ideal\nhost.cpu.offset = 1.5cycles\n",
		     "t.scn:2:19: 'host.cpu[0].offset' must be a whole number of cycles");
}
END_TEST

START_TEST(test_err_negative)
{
	expect_error("arm ideal\nvm.io.rate = -3/s\n", "t.scn:2:14: 'vm.io.rate' must not be negative");
}
END_TEST

START_TEST(test_err_cpu_index)
{
	expect_error("arm ideal\nhost.cpus = 2\nhost.cpu[2].offset = 5\n",
		     "t.scn:3:1: 'host.cpu[2].offset': no such host CPU (host.cpus = 2)");
}
END_TEST

START_TEST(test_err_list_length)
{
	expect_error("arm ideal\nhost.cpus = 2\nhost.cpu.skew_ppm = [1, 2, 3]\n",
		     "t.scn:3:21: expected 2 values (one per host CPU) for 'host.cpu.skew_ppm', got 3");
}
END_TEST

START_TEST(test_err_enum)
{
	expect_error("arm ideal\nsched.mode = fast\n",
		     "t.scn:2:14: expected one of pinned|rate|quantum for 'sched.mode'");
}
END_TEST

START_TEST(test_err_distribution)
{
	expect_error("arm ideal\nvm.io.duration = gamma(3us)\n",
		     "t.scn:2:18: unknown distribution 'gamma' (expected fixed, uniform, exp, "
		     "lognormal or bursts)");
	expect_error("arm ideal\nvm.io.duration = uniform(3us)\n",
		     "t.scn:2:18: uniform() takes 2 arguments, got 1");
}
END_TEST

START_TEST(test_err_unknown_policy)
{
	expect_error("arm x { policy = kvm-magic }\n",
		     "t.scn:1:18: unknown TSC policy 'kvm-magic' (bin/sim list shows them)");
	expect_error("arm x { reader = linux-magic }\n",
		     "t.scn:1:5: arm 'x' needs `policy = NAME` (its name is not a policy)");
	expect_error("arm ideal { reader = nope }\n",
		     "t.scn:1:22: unknown guest reader 'nope' (bin/sim list shows them)");
	expect_error("arm ideal { page = nope }\n",
		     "t.scn:1:20: unknown clock-page provider 'nope' (bin/sim list shows them)");
}
END_TEST

START_TEST(test_err_unknown_option)
{
	expect_error("arm ideal { reader.frq = 1GHz }\n",
		     "t.scn:1:13: unknown reader option 'frq' (bin/sim list shows the options)");
}
END_TEST

START_TEST(test_err_undeclared_arm)
{
	struct tu_run r;
	struct scn_error e;

	ck_assert_int_eq(tu_build(&r, "arm ideal\n"), VT_OK);
	config_free(&r.cfg);
	ck_assert_int_eq(scn_parse_override(&r.doc, "arm.idael.policy=ideal", 1, &e), VT_OK);
	ck_assert_int_eq(config_build(&r.cfg, &r.doc, "t.scn", &e), VT_EINPUT);
	ck_assert_str_eq(e.msg, "--set:1:1: 'arm.idael.policy' names no declared arm");
	r.rc = VT_EINPUT;
	tu_free(&r);
}
END_TEST

START_TEST(test_err_expect_names)
{
	expect_error("arm ideal\nexpect idael.warps == 0\n", "t.scn:2:8: unknown arm 'idael' in expect");
	expect_error("arm ideal\nexpect ideal.wraps == 0\n",
		     "t.scn:2:8: unknown metric 'wraps' in expect (bin/sim list shows them)");
}
END_TEST

START_TEST(test_err_no_arm)
{
	expect_error("duration = 1s\n", "t.scn: no arm declared (e.g. `arm ideal { policy = ideal }`)");
}
END_TEST

START_TEST(test_err_range)
{
	expect_error("arm ideal\nhost.cpus = 0\n", "t.scn:2:13: host.cpus must be 1..4096");
	expect_error("arm ideal\nsched.wake_migrate = 1.5\n",
		     "t.scn:2:22: sched.wake_migrate is a probability (0..1)");
	expect_error("arm ideal\nvm.pauses = [(2s, 1s), (2.5s, 1s)]\n",
		     "t.scn:2:24: vm.pauses must be in time order and must not overlap");
}
END_TEST

START_TEST(test_arm_overrides)
{
	/* An arm may run on its own host: the override wins for that arm only. */
	struct tu_run r;

	ck_assert_int_eq(tu_build(&r, "host { cpus = 2; cpu.offset = [0, 86000] }\n"
				      "arm skewed { policy = tsc-offset }\n"
				      "arm synced { policy = tsc-offset; host.cpu.offset = 0 }\n"),
			 VT_OK);
	ck_assert_ptr_null(r.cfg.arms[0].cfg);
	ck_assert_ptr_nonnull(r.cfg.arms[1].cfg);
	ck_assert_uint_eq(r.cfg.cpus[1].offset, 86000);
	ck_assert_uint_eq(r.cfg.arms[1].cfg->cpus[1].offset, 0);
	ck_assert_uint_eq(r.cfg.arms[1].cfg->host.ncpus, 2);
	tu_free(&r);
	expect_error("arm ideal { duration = 5s }\n",
		     "t.scn:1:13: unknown arm key 'duration' (expected policy, page, reader, "
		     "migration, an option of one of them, or a host., host2., vm., sched., "
		     "workload., guest. or migration. key)");
	expect_error("arm ideal { host.cpu.skew = 5 }\n",
		     "t.scn:1:13: unknown arm key 'host.cpu.skew' (expected policy, page, reader, "
		     "migration, an option of one of them, or a host., host2., vm., sched., "
		     "workload., guest. or migration. key)");
	expect_error("arm ideal { host.cpus = 0 }\n", "t.scn:1:25: host.cpus must be 1..4096");
}
END_TEST

START_TEST(test_keys_reference)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	config_print_keys(f, true);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "| `host.cpu[].skew_ppm` | ppm | ppm ppb | `0` |"));
	ck_assert_ptr_nonnull(strstr(buf, "| `sched.mode` | choice |"));
	free(buf);
}
END_TEST

Suite *config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("resolve");
	TCase *te = tcase_create("errors");

	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_per_cpu_and_overrides);
	tcase_add_test(tc, test_keys_reference);
	tcase_add_test(tc, test_arm_overrides);
	tcase_add_test(te, test_err_unknown_key);
	tcase_add_test(te, test_err_wrong_unit);
	tcase_add_test(te, test_err_not_whole);
	tcase_add_test(te, test_err_negative);
	tcase_add_test(te, test_err_cpu_index);
	tcase_add_test(te, test_err_list_length);
	tcase_add_test(te, test_err_enum);
	tcase_add_test(te, test_err_distribution);
	tcase_add_test(te, test_err_unknown_policy);
	tcase_add_test(te, test_err_unknown_option);
	tcase_add_test(te, test_err_undeclared_arm);
	tcase_add_test(te, test_err_expect_names);
	tcase_add_test(te, test_err_no_arm);
	tcase_add_test(te, test_err_range);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, te);
	return s;
}
