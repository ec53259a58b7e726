/*
 * check_main.c: the one test runner. Every tests/check_<module>.c exports
 * `Suite *<module>_suite(void)`; the Makefile lists them in suites.h. CK_RUN_SUITE and
 * CK_RUN_CASE (Check's own variables) select a subset; CK_FORK=no runs in one process (for gdb or
 * valgrind).
 */
#include <check.h>
#include <stdlib.h>

#define SUITE(name) Suite *name##_suite(void);
#include "suites.h"
#undef SUITE

int main(void)
{
	SRunner *sr = srunner_create(NULL);
	int failed;

#define SUITE(name) srunner_add_suite(sr, name##_suite());
#include "suites.h"
#undef SUITE
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
