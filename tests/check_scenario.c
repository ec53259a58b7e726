/*
 * check_scenario.c: tests of sim/scenario.c, the scenario language's lexer and parser: exact
 * number values for every unit and literal form, normalised paths and block prefixes, arms,
 * expect trees and their folded text, --set overrides, includes (in place, relative, recorded
 * once, cycles, depth, size), formatting back to text, one case per error class with its exact
 * "file:line:col: message", and every out-of-memory path through the document's allocation hook.
 *
 * Expected results are tables where the cases share a shape (numbers, formats, errors), each row
 * run as its own test by tcase_add_loop_test so that a failure names the row.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scenario.h"

Suite *scenario_suite(void);

/* ---- helpers ------------------------------------------------------------------------------ */

/* Decimal text of a 128-bit integer (Check has no assertion for them). */
static const char *s128_str(s128 v, char buf[48])
{
	u128 m = v < 0 ? (u128)0 - (u128)v : (u128)v;
	char tmp[48];
	size_t k = sizeof tmp, n = 0;

	do {
		tmp[--k] = (char)('0' + (int)(m % 10));
		m /= 10;
	} while (m != 0);
	if (v < 0)
		buf[n++] = '-';
	memcpy(buf + n, tmp + k, sizeof tmp - k);
	buf[n + sizeof tmp - k] = '\0';
	return buf;
}

static int parse(struct scn_doc *doc, const char *text, struct scn_error *err)
{
	scn_doc_init(doc);
	return scn_parse_text(doc, "x.scn", text, strlen(text), false, err);
}

/* Parses text that must be valid; fails the test with the parser's message otherwise. */
#define PARSE_OK(doc, text)                                                                  \
	do {                                                                                 \
		struct scn_error e_;                                                         \
		int rc_ = parse((doc), (text), &e_);                                         \
		ck_assert_msg(rc_ == VT_OK, "rc %d: %s", rc_, e_.msg);                       \
	} while (0)

static const char *fmt_value(const struct scn_value *v)
{
	static char buf[512]; /* tests only: one result in use at a time */

	scn_value_format(v, buf, sizeof buf);
	return buf;
}

/* ---- numbers ------------------------------------------------------------------------------ */

static const struct num_case {
	const char *text;
	const char *num, *den;
	enum scn_dim dim;
} num_cases[] = {
	{ "0", "0", "1", SCN_DIM_NONE },
	{ "-0", "0", "1", SCN_DIM_NONE },
	{ "42", "42", "1", SCN_DIM_NONE },
	{ "86_000cycles", "86000", "1", SCN_DIM_CYCLES },
	{ "1cycle", "1", "1", SCN_DIM_CYCLES },
	{ "2.5GHz", "2500000000", "1", SCN_DIM_FREQ },
	{ "3.14159", "314159", "100000", SCN_DIM_NONE },
	{ "1_000.000_1", "10000001", "10000", SCN_DIM_NONE },
	{ "1.500", "3", "2", SCN_DIM_NONE },
	{ "0.000", "0", "1", SCN_DIM_NONE },
	{ "-31ppm", "-31", "1", SCN_DIM_PPM },
	{ "0.2ppm", "1", "5", SCN_DIM_PPM },
	{ "12ppb", "3", "250", SCN_DIM_PPM },
	{ "1ns", "1", "1", SCN_DIM_TIME },
	{ "30us", "30000", "1", SCN_DIM_TIME },
	{ "1.5ms", "1500000", "1", SCN_DIM_TIME },
	{ "2s", "2000000000", "1", SCN_DIM_TIME },
	{ "1min", "60000000000", "1", SCN_DIM_TIME },
	{ "1h", "3600000000000", "1", SCN_DIM_TIME },
	{ "123e-2h", "4428000000000", "1", SCN_DIM_TIME },
	{ "0.000001ns", "1", "1000000", SCN_DIM_TIME },
	{ "1Hz", "1", "1", SCN_DIM_FREQ },
	{ "1kHz", "1000", "1", SCN_DIM_FREQ },
	{ "3MHz", "3000000", "1", SCN_DIM_FREQ },
	{ "10/s", "10", "1", SCN_DIM_RATE },
	{ "7/ms", "7000", "1", SCN_DIM_RATE },
	{ "5/us", "5000000", "1", SCN_DIM_RATE },
	{ "2/min", "1", "30", SCN_DIM_RATE },
	{ "3/h", "1", "1200", SCN_DIM_RATE },
	{ "50%", "1", "2", SCN_DIM_NONE },
	{ "0.5%", "1", "200", SCN_DIM_NONE },
	{ "1e6", "1000000", "1", SCN_DIM_NONE },
	{ "2.5e-3", "1", "400", SCN_DIM_NONE },
	{ "1E+3ns", "1000", "1", SCN_DIM_TIME },
	{ "0.1e1", "1", "1", SCN_DIM_NONE },
	{ "1e30", "1000000000000000000000000000000", "1", SCN_DIM_NONE },
	{ "1e-30", "1", "1000000000000000000000000000000", SCN_DIM_NONE },
	{ "1267650600228229401496703205376", "1267650600228229401496703205376", "1",
	  SCN_DIM_NONE }, /* 2^100, the largest numerator */
	{ "0x10", "16", "1", SCN_DIM_NONE },
	{ "0XfF", "255", "1", SCN_DIM_NONE },
	{ "0xffff_ffff_ffff_ffff", "18446744073709551615", "1", SCN_DIM_NONE },
	{ "0x10Hz", "16", "1", SCN_DIM_FREQ },
	{ "-2.5e-3ms", "-2500", "1", SCN_DIM_TIME },
};

START_TEST(test_number)
{
	const struct num_case *c = &num_cases[_i];
	char text[128], a[48], b[48];
	struct scn_doc doc;
	const struct scn_value *v;

	snprintf(text, sizeof text, "x = %s\n", c->text);
	PARSE_OK(&doc, text);
	ck_assert_uint_eq(doc.nassign, 1);
	v = doc.assign[0].value;
	ck_assert_int_eq(v->kind, SCN_V_NUM);
	ck_assert_str_eq(s128_str(v->num.num, a), c->num);
	ck_assert_str_eq(s128_str(v->num.den, b), c->den);
	ck_assert_int_eq(v->num.dim, c->dim);
	scn_doc_free(&doc);
}
END_TEST

/* ---- statements, paths, values -------------------------------------------------------------- */

START_TEST(test_assign_locations)
{
	struct scn_doc doc;

	PARSE_OK(&doc, "# a comment\n\n  host.cpu[2].skew_ppm = 12ppm   # trailing\n");
	ck_assert_uint_eq(doc.nassign, 1);
	ck_assert_str_eq(doc.assign[0].path, "host.cpu[2].skew_ppm");
	ck_assert_str_eq(doc.assign[0].loc.file, "x.scn");
	ck_assert_uint_eq(doc.assign[0].loc.line, 3);
	ck_assert_uint_eq(doc.assign[0].loc.col, 3);
	ck_assert_uint_eq(doc.assign[0].value_loc.line, 3);
	ck_assert_uint_eq(doc.assign[0].value_loc.col, 26);
	ck_assert_uint_eq(doc.assign[0].value->loc.col, 26);
	ck_assert_uint_eq(doc.nfile, 1);
	ck_assert_str_eq(doc.file[0].path, "x.scn");
	ck_assert_uint_eq(doc.file[0].len, 57);
	ck_assert_int_eq(doc.file[0].text[0], '#');
	scn_doc_free(&doc);
}
END_TEST

START_TEST(test_blocks)
{
	struct scn_doc doc;

	PARSE_OK(&doc,
		 "host {\n"
		 "  cpus = 4; freq = 2.5GHz\n"
		 "  cpu[1] { offset = 86000cycles }\n"
		 "  cpu[0x2] {\n"
		 "    skew { ppm = 1 }\n"
		 "  }\n"
		 "}\n"
		 "guest.x = 1\n");
	ck_assert_uint_eq(doc.nassign, 5);
	ck_assert_str_eq(doc.assign[0].path, "host.cpus");
	ck_assert_str_eq(doc.assign[1].path, "host.freq");
	ck_assert_uint_eq(doc.assign[1].loc.col, 13);
	ck_assert_str_eq(doc.assign[2].path, "host.cpu[1].offset");
	ck_assert_uint_eq(doc.assign[2].loc.line, 3);
	ck_assert_uint_eq(doc.assign[2].loc.col, 12);
	ck_assert_str_eq(doc.assign[3].path, "host.cpu[2].skew.ppm");
	ck_assert_str_eq(doc.assign[4].path, "guest.x");
	scn_doc_free(&doc);
}
END_TEST

START_TEST(test_path_forms)
{
	struct scn_doc doc;

	/* Blanks between path parts, keywords after the first word, names with '-', an index
	 * split over lines, separators and empty statements. */
	PARSE_OK(&doc, "host . cpu [\n 3\n ] . x = 1;;; y.arm = 2; z.include = 3; w.expect = 4\n"
		       "a-b.c-1.d_e = 5\r\n;\n");
	ck_assert_uint_eq(doc.nassign, 5);
	ck_assert_str_eq(doc.assign[0].path, "host.cpu[3].x");
	ck_assert_str_eq(doc.assign[1].path, "y.arm");
	ck_assert_str_eq(doc.assign[2].path, "z.include");
	ck_assert_str_eq(doc.assign[3].path, "w.expect");
	ck_assert_str_eq(doc.assign[4].path, "a-b.c-1.d_e");
	ck_assert_uint_eq(doc.assign[4].loc.line, 4);
	ck_assert_uint_eq(doc.narm, 0);
	scn_doc_free(&doc);
}
END_TEST

START_TEST(test_values)
{
	struct scn_doc doc;
	const struct scn_value *v;

	PARSE_OK(&doc,
		 "a = gtsc-resume\n"
		 "b = \"q\\\"b\\\\s\\n\\t é\"\n"
		 "c = [1, 2ms,\n"
		 "     # a comment inside a list\n"
		 "     [], [x,],\n"
		 "]\n"
		 "d = bursts(0.05, fixed(13us), uniform(19ms, 49ms))\n"
		 "e = (1, -2ns)\n"
		 "f = f()\n"
		 "g = lognormal (30us, 0.8)\n");
	ck_assert_uint_eq(doc.nassign, 7);

	v = doc.assign[0].value;
	ck_assert_int_eq(v->kind, SCN_V_IDENT);
	ck_assert_str_eq(v->str, "gtsc-resume");

	v = doc.assign[1].value;
	ck_assert_int_eq(v->kind, SCN_V_STR);
	ck_assert_str_eq(v->str, "q\"b\\s\n\t é");

	v = doc.assign[2].value;
	ck_assert_int_eq(v->kind, SCN_V_LIST);
	ck_assert_uint_eq(v->n, 4);
	ck_assert_int_eq(v->items[2]->kind, SCN_V_LIST);
	ck_assert_uint_eq(v->items[2]->n, 0);
	ck_assert_uint_eq(v->items[2]->loc.line, 5);
	ck_assert_uint_eq(v->items[2]->loc.col, 6);
	ck_assert_uint_eq(v->items[3]->n, 1);
	ck_assert_str_eq(v->items[3]->items[0]->str, "x");
	ck_assert_str_eq(fmt_value(v), "[1, 2000000ns, [], [x]]");

	v = doc.assign[3].value;
	ck_assert_int_eq(v->kind, SCN_V_CALL);
	ck_assert_str_eq(v->str, "bursts");
	ck_assert_uint_eq(v->n, 3);
	ck_assert_str_eq(v->items[1]->str, "fixed");
	ck_assert_str_eq(v->items[2]->str, "uniform");
	ck_assert_str_eq(fmt_value(v),
			 "bursts(0.05, fixed(13000ns), uniform(19000000ns, 49000000ns))");

	v = doc.assign[4].value;
	ck_assert_int_eq(v->kind, SCN_V_CALL);
	ck_assert_str_eq(v->str, "");
	ck_assert_uint_eq(v->n, 2);
	ck_assert_str_eq(fmt_value(v), "(1, -2ns)");

	v = doc.assign[5].value;
	ck_assert_int_eq(v->kind, SCN_V_CALL);
	ck_assert_uint_eq(v->n, 0);
	ck_assert_str_eq(fmt_value(v), "f()");

	ck_assert_str_eq(fmt_value(doc.assign[6].value), "lognormal(30000ns, 0.8)");
	scn_doc_free(&doc);
}
END_TEST

START_TEST(test_crlf_and_utf8_comments)
{
	struct scn_doc doc;

	PARSE_OK(&doc, "# caf\xc3\xa9 \xf0\x9f\x95\x91\r\na = 1\r\n\r\nb = [1,\r\n 2]\r\n");
	ck_assert_uint_eq(doc.nassign, 2);
	ck_assert_uint_eq(doc.assign[0].loc.line, 2);
	ck_assert_uint_eq(doc.assign[1].loc.line, 4);
	ck_assert_uint_eq(doc.assign[1].value_loc.col, 5);
	ck_assert_str_eq(fmt_value(doc.assign[1].value), "[1, 2]");
	scn_doc_free(&doc);
}
END_TEST

START_TEST(test_arms)
{
	struct scn_doc doc;

	PARSE_OK(&doc,
		 "arm kvm\n"
		 "arm nvmm-pvclock {\n"
		 "  policy = gtsc-resume\n"
		 "  page { kind = kvmclock }\n"
		 "}\n"
		 "arm kvm { reader = linux }; arm  nvmm-pvclock\n"
		 "arm ideal { }\n");
	ck_assert_uint_eq(doc.narm, 3);
	ck_assert_str_eq(doc.arm[0].name, "kvm");
	ck_assert_uint_eq(doc.arm[0].loc.line, 1);
	ck_assert_uint_eq(doc.arm[0].loc.col, 5);
	ck_assert_str_eq(doc.arm[1].name, "nvmm-pvclock");
	ck_assert_str_eq(doc.arm[2].name, "ideal");
	ck_assert_uint_eq(doc.arm[2].loc.line, 7);
	ck_assert_uint_eq(doc.nassign, 3);
	ck_assert_str_eq(doc.assign[0].path, "arm.nvmm-pvclock.policy");
	ck_assert_str_eq(doc.assign[1].path, "arm.nvmm-pvclock.page.kind");
	ck_assert_str_eq(doc.assign[2].path, "arm.kvm.reader");
	scn_doc_free(&doc);
}
END_TEST

/* Thousands of arms, each declared twice: the order is kept and no duplicate is added. */
START_TEST(test_many_arms)
{
	size_t cap = 4000 * 24, n = 0;
	char *text = malloc(cap);
	struct scn_doc doc;
	char name[16];
	int i;

	ck_assert_ptr_nonnull(text);
	for (i = 0; i < 2000; i++)
		n += (size_t)snprintf(text + n, cap - n, "arm a%d\n", i);
	for (i = 1999; i >= 0; i--)
		n += (size_t)snprintf(text + n, cap - n, "arm a%d { x = %d }\n", i, i);
	PARSE_OK(&doc, text);
	ck_assert_uint_eq(doc.narm, 2000);
	ck_assert_uint_eq(doc.nassign, 2000);
	for (i = 0; i < 2000; i++) {
		snprintf(name, sizeof name, "a%d", i);
		ck_assert_str_eq(doc.arm[i].name, name);
	}
	ck_assert_str_eq(doc.assign[0].path, "arm.a1999.x");
	scn_doc_free(&doc);
	free(text);
}
END_TEST

/* Appends s to the NUL-terminated text in buf (of len bytes), cutting what does not fit. */
static void cat(char *buf, size_t len, const char *s)
{
	size_t n = strlen(buf);

	while (*s != '\0' && n + 1 < len)
		buf[n++] = *s++;
	buf[n] = '\0';
}

/* Appends an expression tree in prefix form, to compare its shape. */
static void expr_cat(const struct scn_expr *e, char *buf, size_t len)
{
	char num[64];
	static const char *const ops[] = { [SCN_E_ADD] = "(+ ", [SCN_E_SUB] = "(- ",
					   [SCN_E_MUL] = "(* ", [SCN_E_DIV] = "(/ ",
					   [SCN_E_NEG] = "(neg ", [SCN_E_ABS] = "(abs " };

	switch (e->op) {
	case SCN_E_NUM:
		scn_num_format(&e->num, num, sizeof num);
		cat(buf, len, num);
		return;
	case SCN_E_REF:
		cat(buf, len, e->arm);
		cat(buf, len, ".");
		cat(buf, len, e->metric);
		return;
	default:
		cat(buf, len, ops[e->op]);
		expr_cat(e->a, buf, len);
		if (e->op != SCN_E_NEG && e->op != SCN_E_ABS) {
			cat(buf, len, " ");
			expr_cat(e->b, buf, len);
		}
		cat(buf, len, ")");
		return;
	}
}

static void expr_str(const struct scn_expr *e, char *buf, size_t len)
{
	buf[0] = '\0';
	expr_cat(e, buf, len);
}

START_TEST(test_expect)
{
	struct scn_doc doc;
	char buf[512];
	const struct scn_expect *x;

	PARSE_OK(&doc,
		 "expect  gtsc-resume.lost_time_ns   <  (kvm.x   # why\n"
		 "     - 2ms) * 3 / abs(-kvm.y) + 10us\n"
		 "expect a.x - b.x >= --5; expect a.x <= 1\n"
		 "expect a.x > 0x10; expect a.x == -a.y * 2; expect a.x != 1%\n");
	ck_assert_uint_eq(doc.nexpect, 6);
	x = &doc.expect[0];
	ck_assert_str_eq(x->text, "gtsc-resume.lost_time_ns < (kvm.x - 2ms) * 3 / abs(-kvm.y) + 10us");
	ck_assert_int_eq(x->cmp, SCN_LT);
	ck_assert_uint_eq(x->loc.line, 1);
	ck_assert_uint_eq(x->loc.col, 1);
	ck_assert_int_eq(x->lhs->op, SCN_E_REF);
	ck_assert_str_eq(x->lhs->arm, "gtsc-resume");
	ck_assert_str_eq(x->lhs->metric, "lost_time_ns");
	ck_assert_uint_eq(x->lhs->loc.col, 9);
	expr_str(x->rhs, buf, sizeof buf);
	ck_assert_str_eq(buf, "(+ (/ (* (- kvm.x 2000000ns) 3) (abs (neg kvm.y))) 10000ns)");

	x = &doc.expect[1];
	ck_assert_str_eq(x->text, "a.x - b.x >= --5");
	ck_assert_int_eq(x->cmp, SCN_GE);
	expr_str(x->lhs, buf, sizeof buf);
	ck_assert_str_eq(buf, "(- a.x b.x)");
	expr_str(x->rhs, buf, sizeof buf);
	ck_assert_str_eq(buf, "(neg (neg 5))");
	ck_assert_int_eq(doc.expect[2].cmp, SCN_LE);
	ck_assert_int_eq(doc.expect[3].cmp, SCN_GT);
	ck_assert_int_eq(doc.expect[4].cmp, SCN_EQ);
	expr_str(doc.expect[4].rhs, buf, sizeof buf);
	ck_assert_str_eq(buf, "(* (neg a.y) 2)");
	ck_assert_int_eq(doc.expect[5].cmp, SCN_NE);
	ck_assert_str_eq(doc.expect[5].text, "a.x != 1%");
	expr_str(doc.expect[5].rhs, buf, sizeof buf);
	ck_assert_str_eq(buf, "0.01");
	scn_doc_free(&doc);
}
END_TEST

/* Calls append: a second text, then --set overrides, land after what was there. */
START_TEST(test_append_and_override)
{
	struct scn_doc doc;
	struct scn_error err;
	int rc;

	PARSE_OK(&doc, "host.cpus = 4\narm a\n");
	rc = scn_parse_text(&doc, "y.scn", "arm b { p = q }\n", 16, false, &err);
	ck_assert_int_eq(rc, VT_OK);
	rc = scn_parse_override(&doc, "host.cpu[2].skew_ppm=40ppm", 1, &err);
	ck_assert_int_eq(rc, VT_OK);
	rc = scn_parse_override(&doc, " arm.b.list = [1, \"s\", f(2)] ", 2, &err);
	ck_assert_int_eq(rc, VT_OK);
	ck_assert_uint_eq(doc.nfile, 2);
	ck_assert_str_eq(doc.file[1].path, "y.scn");
	ck_assert_uint_eq(doc.narm, 2);
	ck_assert_uint_eq(doc.nassign, 4);
	ck_assert_str_eq(doc.assign[1].path, "arm.b.p");
	ck_assert_str_eq(doc.assign[1].loc.file, "y.scn");
	ck_assert_str_eq(doc.assign[2].path, "host.cpu[2].skew_ppm");
	ck_assert_str_eq(doc.assign[2].loc.file, "--set");
	ck_assert_uint_eq(doc.assign[2].loc.line, 1);
	ck_assert_uint_eq(doc.assign[2].loc.col, 1);
	ck_assert_uint_eq(doc.assign[2].value_loc.col, 22);
	ck_assert_str_eq(fmt_value(doc.assign[2].value), "40ppm");
	ck_assert_str_eq(doc.assign[3].path, "arm.b.list");
	ck_assert_uint_eq(doc.assign[3].loc.line, 2);
	ck_assert_uint_eq(doc.assign[3].loc.col, 2);
	ck_assert_uint_eq(doc.assign[3].value_loc.col, 15);
	ck_assert_str_eq(fmt_value(doc.assign[3].value), "[1, \"s\", f(2)]");
	scn_doc_free(&doc);
	scn_doc_free(&doc); /* freeing twice is harmless: free leaves an empty document */
}
END_TEST

START_TEST(test_empty_and_free_unparsed)
{
	struct scn_doc doc;
	struct scn_error err;

	scn_doc_init(&doc);
	scn_doc_free(&doc);
	ck_assert_int_eq(scn_parse_text(&doc, "e.scn", "", 0, false, &err), VT_OK);
	ck_assert_int_eq(scn_parse_text(&doc, "n.scn", NULL, 0, false, &err), VT_OK);
	ck_assert_uint_eq(doc.nassign, 0);
	ck_assert_uint_eq(doc.nfile, 2);
	scn_doc_free(&doc);
}
END_TEST

/* ---- formatting ---------------------------------------------------------------------------- */

static const struct fmt_case {
	const char *text, *want;
} fmt_cases[] = {
	{ "2.5GHz", "2500000000Hz" },
	{ "2/min", "1/30/s" },
	{ "-7/h", "-7/3600/s" },
	{ "0.2ppm", "0.2ppm" },
	{ "12ppb", "0.012ppm" },
	{ "-31ppm", "-31ppm" },
	{ "86_000cycles", "86000cycles" },
	{ "-2.5e-3", "-0.0025" },
	{ "1e-30", "0.000000000000000000000000000001" },
	{ "50%", "0.5" },
	{ "0x10", "16" },
	{ "1.5us", "1500ns" },
	{ "\"a\\\"b\\n\\t\\\\\"", "\"a\\\"b\\n\\t\\\\\"" },
	{ "[1, x-y, f(), (1, 2), [],]", "[1, x-y, f(), (1, 2), []]" },
};

START_TEST(test_format)
{
	const struct fmt_case *c = &fmt_cases[_i];
	char text[128];
	struct scn_doc doc;

	snprintf(text, sizeof text, "x = %s\n", c->text);
	PARSE_OK(&doc, text);
	ck_assert_str_eq(fmt_value(doc.assign[0].value), c->want);
	scn_doc_free(&doc);
}
END_TEST

START_TEST(test_format_edges)
{
	struct scn_num third = { 1, 3, SCN_DIM_TIME }, bad = { 1, 0, SCN_DIM_NONE };
	struct scn_num big = { -((s128)1 << 100), 1, SCN_DIM_FREQ };
	struct scn_doc doc;
	char buf[64], small[8];

	scn_num_format(&third, buf, sizeof buf);
	ck_assert_str_eq(buf, "1/3ns");
	scn_num_format(&bad, buf, sizeof buf);
	ck_assert_str_eq(buf, "1/0");
	scn_num_format(&big, buf, sizeof buf);
	ck_assert_str_eq(buf, "-1267650600228229401496703205376Hz");

	/* Truncation: what fits, NUL-terminated; a zero-length buffer is not touched. */
	PARSE_OK(&doc, "x = [12345, 67890]\n");
	memset(small, 'z', sizeof small);
	scn_value_format(doc.assign[0].value, small, sizeof small);
	ck_assert_str_eq(small, "[12345,");
	scn_value_format(doc.assign[0].value, small, 1);
	ck_assert_str_eq(small, "");
	small[0] = 'z';
	scn_value_format(doc.assign[0].value, small, 0);
	ck_assert_int_eq(small[0], 'z');
	scn_num_format(&third, small, 3);
	ck_assert_str_eq(small, "1/");
	scn_doc_free(&doc);

	ck_assert_str_eq(scn_dim_name(SCN_DIM_NONE), "a plain number");
	ck_assert_str_eq(scn_dim_name(SCN_DIM_TIME), "a time");
	ck_assert_str_eq(scn_dim_name(SCN_DIM_FREQ), "a frequency");
	ck_assert_str_eq(scn_dim_name(SCN_DIM_PPM), "a ppm value");
	ck_assert_str_eq(scn_dim_name(SCN_DIM_CYCLES), "a cycle count");
	ck_assert_str_eq(scn_dim_name(SCN_DIM_RATE), "a rate");
}
END_TEST

/* ---- errors: one row per class, with its exact location and message ------------------------ */

static const struct err_case {
	const char *what;     /* the class, for the failure message */
	const char *text;
	size_t len;           /* 0: strlen(text) */
	unsigned line, col;
	const char *msg;      /* after "x.scn:LINE:COL: " */
} err_cases[] = {
	{ "unterminated string at end of file", "a = 1\nb = \"abc", 0, 2, 5,
	  "unterminated string" },
	{ "unterminated string at end of line", "s = \"ab\r\ncd\"\n", 0, 1, 5,
	  "unterminated string" },
	{ "unknown escape", "s = \"a\\qb\"", 0, 1, 7,
	  "unknown escape '\\q' in string (expected \\\", \\\\, \\n or \\t)" },
	{ "bad number: 5.", "x = 5.\n", 0, 1, 5, "bad number '5.': expected a digit after '.'" },
	{ "bad number: .5", "x = .5", 0, 1, 5, "bad number '.5': a digit is needed before '.'" },
	{ "bad number: 1__000", "x = 1__000", 0, 1, 5,
	  "bad number '1__000': '_' must be between two digits" },
	{ "bad number: 0x", "x = 0x\n", 0, 1, 5, "bad number '0x': expected hex digits after '0x'" },
	{ "bad number: exponent sign", "x = 1e+\n", 0, 1, 5,
	  "bad number '1e+': expected a digit in the exponent" },
	{ "bad number: hex fraction", "x = 0x1.8", 0, 1, 5,
	  "bad number '0x1.8': a hex number has no fraction" },
	{ "bad number: two dots", "x = 1.5.3", 0, 1, 5, "bad number '1.5.3': unexpected '.'" },
	{ "exponent out of range", "x = [1, 1e31]", 0, 1, 9,
	  "number out of range (the exponent must be between -30 and 30)" },
	{ "number over 2^100", "x = 1267650600228229401496703205377", 0, 1, 5,
	  "number out of range" },
	{ "number over 2^100 after the exponent", "x = 2e30", 0, 1, 5, "number out of range" },
	{ "number over 2^100 after the unit", "x = 1e27h", 0, 1, 5, "number out of range" },
	{ "denominator over 2^100", "x = 1e-30ppb", 0, 1, 5, "number out of range" },
	{ "hex over 2^64-1", "x = 0x1_0000_0000_0000_0000", 0, 1, 5,
	  "number out of range (a hex number is at most 0xffffffffffffffff)" },
	{ "unknown unit", "x = 5mss", 0, 1, 6,
	  "unknown unit 'mss' (expected ns, us, ms, s, min, h, Hz, kHz, MHz, GHz, ppm, ppb, "
	  "cycles, /s, /ms, /us, /min, /h or %)" },
	{ "unknown rate unit", "x = 5/sec", 0, 1, 6,
	  "unknown unit '/sec' (expected ns, us, ms, s, min, h, Hz, kHz, MHz, GHz, ppm, ppb, "
	  "cycles, /s, /ms, /us, /min, /h or %)" },
	{ "unit on a string", "x = \"5\"ms", 0, 1, 8,
	  "unit 'ms' after a string (units go only on numbers)" },
	{ "unit on a call", "x = [f(1)%]", 0, 1, 10,
	  "unit '%' after a call (units go only on numbers)" },
	{ "unit on a name", "x = auto/s", 0, 1, 9,
	  "unit '/s' after a name (units go only on numbers)" },
	{ "unit after a blank", "x = 5 ms", 0, 1, 7,
	  "unit 'ms' must follow the number without a space" },
	{ "missing '='", "host {\n  cpus 4\n}\n", 0, 2, 8,
	  "expected '=' or '{' after 'host.cpus'" },
	{ "'{' on the next line", "host\n{\n}\n", 0, 1, 5, "expected '=' or '{' after 'host'" },
	{ "unexpected token at a statement's start", "x = 1\n) = 2\n", 0, 2, 1,
	  "unexpected ')' at the start of a statement (expected a setting path, 'arm', "
	  "'expect' or 'include')" },
	{ "unmatched '}'", "x = 1 }", 0, 1, 7, "expected end of line or ';' after the value of 'x'" },
	{ "unmatched '}' at a statement's start", "a { }\n}\n", 0, 2, 1,
	  "unexpected '}' (no block is open)" },
	{ "missing value", "x =\n", 0, 1, 4,
	  "expected a value after '=' (a number, string, name, list or call)" },
	{ "missing value in a list", "x = [1, , 2]", 0, 1, 9,
	  "expected a value in the list (a number, string, name, list or call)" },
	{ "'-' before a non-number", "x = -y", 0, 1, 6, "expected a number after '-'" },
	{ "junk after a value", "x = 1 2", 0, 1, 7,
	  "expected end of line or ';' after the value of 'x'" },
	{ "junk after a block", "a { b = 1 } c = 2", 0, 1, 13, "expected end of line or ';' after '}'" },
	{ "missing list separator", "x = [1 2]", 0, 1, 8, "expected ',' or ']' in the list" },
	{ "missing call separator", "x = g(1\n 2)", 0, 2, 2,
	  "expected ',' or ')' in the call to 'g'" },
	{ "';' inside a list", "x = [1; 2]", 0, 1, 7, "expected ',' or ']' in the list" },
	{ "unclosed block", "host {\n  cpus = 4\n", 0, 1, 6,
	  "unclosed '{' after 'host': expected '}' before the end of the file" },
	{ "unclosed nested block", "a {\n b { c = 1 }\n d {\n", 0, 3, 4,
	  "unclosed '{' after 'a.d': expected '}' before the end of the file" },
	{ "unclosed arm block", "arm a {\n", 0, 1, 7,
	  "unclosed '{' of arm 'a': expected '}' before the end of the file" },
	{ "unclosed list", "x = [1,\n 2\n", 0, 1, 5,
	  "unclosed '[': expected ']' before the end of the file" },
	{ "unclosed call", "x = f(1, (2, 3)", 0, 1, 6,
	  "unclosed '(': expected ')' before the end of the file" },
	{ "unclosed parenthesis in expect", "expect (a.x + 1\n", 0, 1, 8,
	  "unclosed '(': expected ')' before the end of the file" },
	{ "arm not at top level", "h { arm a }", 0, 1, 5, "'arm' is only allowed at top level" },
	{ "expect not at top level", "arm a { expect a.x < 1 }", 0, 1, 9,
	  "'expect' is only allowed at top level" },
	{ "include not at top level", "h { include \"a.scn\" }", 0, 1, 5,
	  "'include' is only allowed at top level" },
	{ "include not allowed", "x = 1\ninclude \"a.scn\"\n", 0, 2, 1,
	  "'include' is not allowed in this input" },
	{ "arm without a name", "arm = 1", 0, 1, 5, "expected an arm name after 'arm'" },
	{ "'arm' as a path", "arm.x = 1", 0, 1, 4, "expected an arm name after 'arm'" },
	{ "junk after an arm", "arm a b", 0, 1, 7, "expected '{', end of line or ';' after 'arm a'" },
	{ "expect without a clause", "expect\n", 0, 1, 7,
	  "expected a comparison after 'expect', such as 'a.x < b.x'" },
	{ "expect without a comparison", "expect a.x\n", 0, 1, 11,
	  "expected a comparison (<, <=, >, >=, == or !=) or an operator in the expect clause" },
	{ "expect with '='", "expect a.x = 2", 0, 1, 12,
	  "expected a comparison (<, <=, >, >=, == or !=) or an operator in the expect clause "
	  "(use '==' to test equality)" },
	{ "expect with two comparisons", "expect a.x < 2 < 3", 0, 1, 16,
	  "only one comparison is allowed in an expect clause" },
	{ "expect reference with three names", "expect a.x.y < 2", 0, 1, 11,
	  "a reference is ARM.METRIC, exactly two names ('a.x' is followed by '.')" },
	{ "expect subtraction without blanks", "expect a.x-b.y < 1", 0, 1, 13,
	  "a reference is ARM.METRIC, exactly two names ('a.x-b' is followed by '.'; to "
	  "subtract, put blanks around '-')" },
	{ "expect bare name", "expect a < 2", 0, 1, 10,
	  "expected '.' and a metric after 'a' (a reference is ARM.METRIC)" },
	{ "expect unknown function", "expect max(a.x, 1) < 2", 0, 1, 8,
	  "unknown function 'max' (only abs() is allowed in expect)" },
	{ "expect string operand", "expect a.x < \"s\"", 0, 1, 14,
	  "expected a number, ARM.METRIC, abs(...) or '(' in the expect clause" },
	{ "expect missing ')'", "expect (a.x ; 1) < 2", 0, 1, 13,
	  "expected ')' or an operator in the expect clause" },
	{ "lone '!'", "expect a.x ! 2", 0, 1, 12, "unexpected character '!' (expected '!=')" },
	{ "unexpected character", "x = @", 0, 1, 5, "unexpected character '@'" },
	{ "non-ASCII outside a string", "x = caf\xc3\xa9", 0, 1, 8,
	  "unexpected non-ASCII character (allowed only in strings and comments)" },
	{ "NUL byte", "x = 1\n\0y = 2", 12, 2, 1, "NUL byte in the input" },
	{ "NUL byte in a string", "x = \"a\0\"", 8, 1, 7, "NUL byte in the input" },
	{ "control character in a comment", "x = 1 # bell\a\n", 0, 1, 13,
	  "control character 0x07 in the input" },
	{ "DEL character", "x = \x7f", 0, 1, 5, "control character 0x7f in the input" },
	{ "invalid UTF-8 in a string", "x = \"\xff\"", 0, 1, 6, "invalid UTF-8 (byte 0xff)" },
	{ "truncated UTF-8 in a comment", "# \xe2\x82\n", 0, 1, 3, "invalid UTF-8 (byte 0xe2)" },
	{ "overlong UTF-8", "# \xc0\xaf\n", 0, 1, 3, "invalid UTF-8 (byte 0xc0)" },
	{ "UTF-16 surrogate", "# \xed\xa0\x80\n", 0, 1, 3, "invalid UTF-8 (byte 0xed)" },
	{ "negative index", "cpu[-1] = 1", 0, 1, 5, "expected an integer index after 'cpu['" },
	{ "fractional index", "cpu[1.0] = 1", 0, 1, 5, "expected an integer index after 'cpu['" },
	{ "index with unit", "cpu[1ns] = 1", 0, 1, 5, "expected an integer index after 'cpu['" },
	{ "index out of range", "cpu[4294967296] = 1", 0, 1, 5,
	  "index out of range after 'cpu[' (at most 4294967295)" },
	{ "missing ']'", "cpu[1 = 2", 0, 1, 7, "expected ']' after 'cpu[1'" },
	{ "missing name after '.'", "host. = 1", 0, 1, 7, "expected a name after 'host.'" },
};

START_TEST(test_error)
{
	const struct err_case *c = &err_cases[_i];
	struct scn_doc doc;
	struct scn_error err;
	char want[600];
	size_t len = c->len ? c->len : strlen(c->text);
	int rc;

	scn_doc_init(&doc);
	rc = scn_parse_text(&doc, "x.scn", c->text, len, false, &err);
	snprintf(want, sizeof want, "x.scn:%u:%u: %s", c->line, c->col, c->msg);
	ck_assert_msg(rc == VT_EINPUT, "%s: rc %d", c->what, rc);
	ck_assert_msg(strcmp(err.msg, want) == 0, "%s:\n got  %s\n want %s", c->what, err.msg,
		      want);
	ck_assert_str_eq(err.loc.file, "x.scn");
	ck_assert_uint_eq(err.loc.line, c->line);
	ck_assert_uint_eq(err.loc.col, c->col);
	scn_doc_free(&doc);
}
END_TEST

/* Builds `pre`, n openers, `mid`, n closers, `post` and checks the limit of 64 levels, of which
 * `pre` opens `base`: n = 64 - base parses, one more fails at column `col_of_65th`. */
static void check_depth(const char *open, const char *close, const char *pre, const char *mid,
			const char *post, unsigned base, unsigned col_of_65th)
{
	char text[2048];
	size_t n;
	unsigned levels, i;
	struct scn_doc doc;
	struct scn_error err;
	int rc;

	for (levels = 64 - base; levels <= 65 - base; levels++) {
		n = (size_t)snprintf(text, sizeof text, "%s", pre);
		for (i = 0; i < levels; i++)
			n += (size_t)snprintf(text + n, sizeof text - n, "%s", open);
		n += (size_t)snprintf(text + n, sizeof text - n, "%s", mid);
		for (i = 0; i < levels; i++)
			n += (size_t)snprintf(text + n, sizeof text - n, "%s", close);
		n += (size_t)snprintf(text + n, sizeof text - n, "%s", post);
		rc = parse(&doc, text, &err);
		if (levels == 64 - base) {
			ck_assert_msg(rc == VT_OK, "%s: %s", text, err.msg);
		} else {
			char want[64];

			snprintf(want, sizeof want, "x.scn:1:%u: nesting too deep (more than 64 "
				 "levels)", col_of_65th);
			ck_assert_int_eq(rc, VT_EINPUT);
			ck_assert_str_eq(err.msg, want);
		}
		scn_doc_free(&doc);
	}
}

START_TEST(test_too_deep)
{
	check_depth("[", "]", "x = ", "", "", 0, 4 + 65);
	check_depth("f(", ")", "x = ", "1", "", 0, 4 + 64 * 2 + 2);
	check_depth("(", ")", "x = ", "", "", 0, 4 + 65);
	check_depth("b{", "}", "", "x=1", "", 0, 64 * 2 + 2);
	check_depth("b{", "}", "arm a{", "x=1", "}", 1, 6 + 63 * 2 + 2); /* the arm's block counts */
	check_depth("[", "]", "a{b{x=", "", "}}", 2, 6 + 63); /* blocks and lists add up */
	check_depth("(", ")", "expect ", "a.b", " < 1", 0, 7 + 65);
	check_depth("-", "", "expect ", "1", " < 1", 0, 7 + 65);
	check_depth("abs(", ")", "expect 1 < ", "a.b", "", 0, 11 + 64 * 4 + 4);
}
END_TEST

/* Hostile shapes far past every limit (200 kB of one construct) fail cleanly; the two valid ones
 * (one very long zero, 50000 statements) parse. ASan and UBSan watch the stack and the heap. */
static const struct shape {
	const char *pre, *piece;
	int rc;
	unsigned nassign;
} shapes[] = {
	{ "x = ", "[", VT_EINPUT, 0 },
	{ "x = ", "f(", VT_EINPUT, 0 },
	{ "", "a{", VT_EINPUT, 0 },
	{ "", "arm a{", VT_EINPUT, 0 },
	{ "expect ", "-", VT_EINPUT, 0 },
	{ "expect ", "(", VT_EINPUT, 0 },
	{ "expect ", "abs(", VT_EINPUT, 0 },
	{ "x = ", "\"", VT_EINPUT, 0 },
	{ "", "x=[", VT_EINPUT, 0 },
	{ "x = ", "0x", VT_EINPUT, 0 },
	{ "x = ", "9", VT_EINPUT, 0 },
	{ "x = 0.", "1", VT_EINPUT, 0 },
	{ "x = 0.", "0", VT_OK, 1 },
	{ "x = [", "1,", VT_EINPUT, 0 },
	{ "", "a=1;", VT_OK, 50000 },
};

START_TEST(test_hostile)
{
	const struct shape *sh = &shapes[_i];
	size_t n = 200000, pos, len = strlen(sh->piece);
	char *text = malloc(n);
	struct scn_doc doc;
	struct scn_error err;
	int rc;

	ck_assert_ptr_nonnull(text);
	pos = (size_t)snprintf(text, n, "%s", sh->pre);
	for (; pos + len <= n; pos += len)
		memcpy(text + pos, sh->piece, len);
	scn_doc_init(&doc);
	rc = scn_parse_text(&doc, "x.scn", text, pos, false, &err);
	ck_assert_msg(rc == sh->rc, "%s%s...: rc %d: %s", sh->pre, sh->piece, rc, err.msg);
	if (rc == VT_OK)
		ck_assert_uint_eq(doc.nassign, sh->nassign);
	scn_doc_free(&doc);
	free(text);
}
END_TEST

START_TEST(test_path_too_long)
{
	char text[600];
	struct scn_doc doc;
	struct scn_error err;
	int rc;

	/* 255 bytes: fine. 256: too long, also when the block prefix makes it so. */
	memset(text, 'a', 255);
	strcpy(text + 255, " = 1\n");
	PARSE_OK(&doc, text);
	ck_assert_uint_eq(strlen(doc.assign[0].path), 255);
	scn_doc_free(&doc);

	memset(text, 'a', 256);
	strcpy(text + 256, " = 1\n");
	rc = parse(&doc, text, &err);
	ck_assert_int_eq(rc, VT_EINPUT);
	ck_assert_str_eq(err.msg, "x.scn:1:1: path too long (more than 255 bytes)");
	scn_doc_free(&doc);

	memcpy(text, "b {\n  ", 6);
	memset(text + 6, 'a', 254);
	strcpy(text + 260, " = 1 }\n");
	rc = parse(&doc, text, &err);
	ck_assert_int_eq(rc, VT_EINPUT);
	ck_assert_str_eq(err.msg, "x.scn:2:3: path too long (more than 255 bytes)");
	scn_doc_free(&doc);
}
END_TEST

/* ---- --set overrides ----------------------------------------------------------------------- */

static const struct set_case {
	const char *arg;
	unsigned index, col;
	const char *msg;
} set_cases[] = {
	{ "host.cpus", 3, 10, "expected '=' in override 'host.cpus'" },
	{ "host.cpus 4", 1, 11, "expected '=' in override 'host.cpus 4'" },
	{ "a{b=1}", 1, 2, "expected '=' in override 'a{b=1}'" },
	{ "=5", 2, 1, "expected a setting path at the start of override '=5'" },
	{ "", 1, 1, "expected a setting path at the start of override ''" },
	{ "host.cpus=", 1, 11, "expected a value after '=' (a number, string, name, list or call)" },
	{ "host.cpus=4 5", 1, 13, "expected the end of override 'host.cpus=4 5' after its value" },
	{ "host.cpus=4;", 1, 12, "expected the end of override 'host.cpus=4;' after its value" },
	{ "x=5mss", 1, 4,
	  "unknown unit 'mss' (expected ns, us, ms, s, min, h, Hz, kHz, MHz, GHz, ppm, ppb, "
	  "cycles, /s, /ms, /us, /min, /h or %)" },
	{ "x=\"open", 4, 3, "unterminated string" },
	{ "x=[1,", 1, 3, "unclosed '[': expected ']' before the end of the file" },
};

START_TEST(test_override_error)
{
	const struct set_case *c = &set_cases[_i];
	struct scn_doc doc;
	struct scn_error err;
	char want[600];
	int rc;

	scn_doc_init(&doc);
	rc = scn_parse_override(&doc, c->arg, c->index, &err);
	snprintf(want, sizeof want, "--set:%u:%u: %s", c->index, c->col, c->msg);
	ck_assert_int_eq(rc, VT_EINPUT);
	ck_assert_str_eq(err.msg, want);
	ck_assert_str_eq(err.loc.file, "--set");
	ck_assert_uint_eq(err.loc.line, c->index);
	ck_assert_uint_eq(err.loc.col, c->col);
	ck_assert_uint_eq(doc.nassign, 0);
	scn_doc_free(&doc);
}
END_TEST

/* ---- includes and files -------------------------------------------------------------------- */

/* A temporary directory per test (the fixture runs in the test's own process). */
struct tmpdir {
	char path[64];
};

static void write_file(const char *dir, const char *name, const char *text, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "wb");
	ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static void put(const char *dir, const char *name, const char *text)
{
	write_file(dir, name, text, strlen(text));
}

/* Removes dir and everything in it (files and one level of subdirectories). */
static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[512];
	struct stat st;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(path);
		else
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static struct tmpdir tmp; /* the fixture's directory; each test runs in its own process */

static void tmp_setup(void)
{
	snprintf(tmp.path, sizeof tmp.path, "/tmp/vtsim-scn-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp.path));
}

static void tmp_teardown(void)
{
	remove_tree(tmp.path);
}

/* "<tmp>/<name>", in a rotating set of buffers so that a call can use several. */
static const char *tp(const char *name)
{
	static char bufs[4][512];
	static unsigned k;
	char *b = bufs[k++ % 4];

	snprintf(b, sizeof bufs[0], "%s/%s", tmp.path, name);
	return b;
}

static int parse_file_at(struct scn_doc *doc, const char *name, struct scn_error *err)
{
	scn_doc_init(doc);
	return scn_parse_file(doc, tp(name), err);
}

START_TEST(test_include)
{
	struct scn_doc doc;
	struct scn_error err;
	int rc;

	ck_assert_int_eq(mkdir(tp("sub"), 0700), 0);
	put(tmp.path, "main.scn", "a = 1\ninclude \"sub/x.scn\"  # host\nb = 2\n"
		      "include \"sub/y.scn\"\nc = 3\n");
	put(tmp.path, "sub/x.scn", "arm ax { p = 1 }\ninclude \"common.scn\"\nx = 1\n");
	put(tmp.path, "sub/y.scn", "include \"common.scn\"; y = 1\nexpect ax.p < 2\n");
	put(tmp.path, "sub/common.scn", "common.z = [1,\n 2]\n");
	rc = parse_file_at(&doc, "main.scn", &err);
	ck_assert_msg(rc == VT_OK, "%s", err.msg);

	/* Each file once, the main file first, then in first-read order, with full text. */
	ck_assert_uint_eq(doc.nfile, 4);
	ck_assert_str_eq(doc.file[0].path, tp("main.scn"));
	ck_assert_str_eq(doc.file[1].path, tp("sub/x.scn"));
	ck_assert_str_eq(doc.file[2].path, tp("sub/common.scn"));
	ck_assert_str_eq(doc.file[3].path, tp("sub/y.scn"));
	ck_assert_str_eq(doc.file[2].text, "common.z = [1,\n 2]\n");
	ck_assert_uint_eq(doc.file[2].len, 19);

	/* Assignments in source order, includes expanded in place (common twice). */
	ck_assert_uint_eq(doc.nassign, 8);
	ck_assert_str_eq(doc.assign[0].path, "a");
	ck_assert_str_eq(doc.assign[1].path, "arm.ax.p");
	ck_assert_str_eq(doc.assign[2].path, "common.z");
	ck_assert_str_eq(doc.assign[2].loc.file, tp("sub/common.scn"));
	ck_assert_str_eq(doc.assign[3].path, "x");
	ck_assert_uint_eq(doc.assign[3].loc.line, 3);
	ck_assert_str_eq(doc.assign[4].path, "b");
	ck_assert_str_eq(doc.assign[4].loc.file, tp("main.scn"));
	ck_assert_str_eq(doc.assign[5].path, "common.z");
	ck_assert_str_eq(doc.assign[6].path, "y");
	ck_assert_uint_eq(doc.assign[6].loc.col, 23);
	ck_assert_str_eq(doc.assign[7].path, "c");
	ck_assert_uint_eq(doc.narm, 1);
	ck_assert_uint_eq(doc.nexpect, 1);
	ck_assert_str_eq(doc.expect[0].loc.file, tp("sub/y.scn"));
	scn_doc_free(&doc);

	/* scn_parse_text resolves relative to its name's directory when includes are allowed. */
	scn_doc_init(&doc);
	rc = scn_parse_text(&doc, tp("t.scn"), "include \"sub/common.scn\"\n", 25, true, &err);
	ck_assert_msg(rc == VT_OK, "%s", err.msg);
	ck_assert_uint_eq(doc.nassign, 1);
	ck_assert_uint_eq(doc.nfile, 2);
	scn_doc_free(&doc);
}
END_TEST

/* Parses main.scn in the temporary directory, expecting `msg` at file:line:col. */
static void check_file_error(const char *file, unsigned line, unsigned col, const char *msg)
{
	struct scn_doc doc;
	struct scn_error err;
	char want[1024];
	int rc;

	rc = parse_file_at(&doc, "main.scn", &err);
	snprintf(want, sizeof want, "%s:%u:%u: %s", file, line, col, msg);
	ck_assert_int_eq(rc, VT_EINPUT);
	ck_assert_str_eq(err.msg, want);
	ck_assert_uint_eq(err.loc.line, line);
	ck_assert_uint_eq(err.loc.col, col);
	scn_doc_free(&doc);
}

START_TEST(test_include_missing)
{
	char msg[600];

	put(tmp.path, "main.scn", "a = 1\n  include \"nope.scn\"\n");
	snprintf(msg, sizeof msg, "cannot open include file '%s': No such file or directory",
		 tp("nope.scn"));
	check_file_error(tp("main.scn"), 2, 11, msg);
}
END_TEST

START_TEST(test_include_cycle)
{
	char msg[600];

	put(tmp.path, "main.scn", "include \"b.scn\"\n");
	put(tmp.path, "b.scn", "x = 1\ninclude \"./main.scn\"\n");
	snprintf(msg, sizeof msg, "include cycle: '%s' is already being read", tp("./main.scn"));
	check_file_error(tp("b.scn"), 2, 9, msg);

	put(tmp.path, "main.scn", "include \"main.scn\"\n");
	snprintf(msg, sizeof msg, "include cycle: '%s' is already being read", tp("main.scn"));
	check_file_error(tp("main.scn"), 1, 9, msg);
}
END_TEST

START_TEST(test_include_depth)
{
	char name[32], text[64], prev[32];
	struct scn_doc doc;
	struct scn_error err;
	int i, rc;

	/* main -> i1 -> ... -> i16: 16 nested includes parse. */
	put(tmp.path, "main.scn", "include \"i1.scn\"\n");
	for (i = 1; i <= 16; i++) {
		snprintf(name, sizeof name, "i%d.scn", i);
		snprintf(text, sizeof text, "v%d = %d\ninclude \"i%d.scn\"\n", i, i, i + 1);
		put(tmp.path, name, i == 16 ? "v16 = 16\n" : text);
	}
	rc = parse_file_at(&doc, "main.scn", &err);
	ck_assert_msg(rc == VT_OK, "%s", err.msg);
	ck_assert_uint_eq(doc.nassign, 16);
	ck_assert_uint_eq(doc.nfile, 17);
	scn_doc_free(&doc);

	/* A 17th level fails at the include in i16.scn. */
	snprintf(text, sizeof text, "v16 = 16\ninclude \"i17.scn\"\n");
	put(tmp.path, "i16.scn", text);
	put(tmp.path, "i17.scn", "v17 = 17\n");
	snprintf(prev, sizeof prev, "i16.scn");
	check_file_error(tp(prev), 2, 9, "includes nested too deeply (more than 16 levels)");
}
END_TEST

START_TEST(test_include_errors_inside)
{
	char msg[600];

	/* An error in an included file names that file; a directory is not a file. */
	put(tmp.path, "main.scn", "include \"b.scn\"\n");
	put(tmp.path, "b.scn", "x = 1\ny = 5mss\n");
	snprintf(msg, sizeof msg, "unknown unit 'mss' (expected ns, us, ms, s, min, h, Hz, kHz, "
		 "MHz, GHz, ppm, ppb, cycles, /s, /ms, /us, /min, /h or %%)");
	check_file_error(tp("b.scn"), 2, 6, msg);

	ck_assert_int_eq(mkdir(tp("d"), 0700), 0);
	put(tmp.path, "main.scn", "include \"d\"\n");
	snprintf(msg, sizeof msg, "cannot read include file '%s': Is a directory", tp("d"));
	check_file_error(tp("main.scn"), 1, 9, msg);

	put(tmp.path, "main.scn", "include \"\"\n");
	check_file_error(tp("main.scn"), 1, 9,
			 "expected a file name after 'include', not an empty string");
	put(tmp.path, "main.scn", "include b.scn\n");
	check_file_error(tp("main.scn"), 1, 9, "expected a file name in quotes after 'include'");
	put(tmp.path, "main.scn", "include \"b.scn\" x\n");
	check_file_error(tp("main.scn"), 1, 17,
			 "expected end of line or ';' after the include file name");
}
END_TEST

START_TEST(test_file_size_limits)
{
	size_t n = (size_t)SCN_MAX_FILE_BYTES + 1, big = (size_t)3 << 20;
	char *text = malloc(n);
	char msg[600];
	struct scn_doc doc;
	struct scn_error err;
	int rc;

	ck_assert_ptr_nonnull(text);
	/* One byte over the per-file limit, as an include and as the main file. */
	memset(text, ' ', n);
	write_file(tmp.path, "big.scn", text, n);
	put(tmp.path, "main.scn", "include \"big.scn\"\n");
	snprintf(msg, sizeof msg, "include file '%s' is larger than 4194304 bytes", tp("big.scn"));
	check_file_error(tp("main.scn"), 1, 9, msg);
	rc = parse_file_at(&doc, "big.scn", &err);
	ck_assert_int_eq(rc, VT_EINPUT);
	snprintf(msg, sizeof msg, "%s: cannot read scenario: larger than 4194304 bytes",
		 tp("big.scn"));
	ck_assert_str_eq(err.msg, msg);
	ck_assert_uint_eq(err.loc.line, 0);
	scn_doc_free(&doc);

	/* A 3 MiB file included six times is 18 MiB to parse: over the total. */
	text[0] = '#';
	write_file(tmp.path, "c.scn", text, big);
	put(tmp.path, "main.scn", "include \"c.scn\"\ninclude \"c.scn\"\ninclude \"c.scn\"\n"
		      "include \"c.scn\"\ninclude \"c.scn\"\ninclude \"c.scn\"\n");
	check_file_error(tp("main.scn"), 6, 9,
			 "scenario too large: its includes add up to more than 16777216 bytes");
	free(text);
}
END_TEST

START_TEST(test_missing_main_file)
{
	struct scn_doc doc;
	struct scn_error err;
	char msg[600];
	int rc;

	rc = parse_file_at(&doc, "none.scn", &err);
	ck_assert_int_eq(rc, VT_EINPUT);
	snprintf(msg, sizeof msg, "%s: cannot read scenario: No such file or directory",
		 tp("none.scn"));
	ck_assert_str_eq(err.msg, msg);
	ck_assert_uint_eq(err.loc.line, 0);
	ck_assert_uint_eq(err.loc.col, 0);
	ck_assert_uint_eq(doc.nfile, 0);
	scn_doc_free(&doc);
}
END_TEST

/* ---- out of memory ------------------------------------------------------------------------- */

static const char rich_text[] =
	"arm a { p = gtsc-resume; q = [1, 2ms, \"s\", f(g(1), (2, 3))] }\n"
	"arm b\n"
	"host { cpus = 4; cpu[1] { offset = 86000cycles } }\n"
	"include \"inc.scn\"\n"
	"expect a.x - b.x < abs(-(a.y * 2) / 3) + 1us\n";

/*
 * Fails the n-th allocation for n = 0, 1, ... until the parse succeeds: every attempt must
 * report VT_ENOMEM (never crash or leak), and the last must give the full document.
 */
START_TEST(test_out_of_memory)
{
	struct scn_doc doc;
	struct scn_error err;
	size_t n;
	int rc = VT_ENOMEM;

	put(tmp.path, "main.scn", rich_text);
	put(tmp.path, "inc.scn", "inc.z = 1\n");
	for (n = 0; rc == VT_ENOMEM; n++) {
		scn_doc_init(&doc);
		ck_assert_int_eq(scn_doc_set_alloc_limit(&doc, n), VT_OK);
		rc = scn_parse_file(&doc, tp("main.scn"), &err);
		if (rc == VT_ENOMEM) {
			ck_assert_msg(strstr(err.msg, "out of memory") != NULL, "%s", err.msg);
		} else {
			ck_assert_msg(rc == VT_OK, "after %zu allocations: %s", n, err.msg);
			ck_assert_uint_eq(doc.nassign, 5);
			ck_assert_uint_eq(doc.nexpect, 1);
			ck_assert_uint_eq(doc.nfile, 2);
		}
		scn_doc_free(&doc);
	}
	ck_assert_uint_gt(n, 20);

	/* The same for overrides. */
	rc = VT_ENOMEM;
	for (n = 0; rc == VT_ENOMEM; n++) {
		scn_doc_init(&doc);
		ck_assert_int_eq(scn_doc_set_alloc_limit(&doc, n), VT_OK);
		rc = scn_parse_override(&doc, "a.b[1]=f([1, \"x\"], y)", 1, &err);
		ck_assert_msg(rc == VT_OK || rc == VT_ENOMEM, "rc %d", rc);
		scn_doc_free(&doc);
	}
	ck_assert_uint_gt(n, 5);
}
END_TEST

/* Growing arrays past many doublings under the same hook: an ENOMEM in the middle of growth
 * leaves a document that still frees cleanly and keeps what it had. */
START_TEST(test_out_of_memory_growth)
{
	struct scn_doc doc;
	struct scn_error err;
	size_t cap = 400000, n = 0, k;
	char *text = malloc(cap);
	int i, rc;

	ck_assert_ptr_nonnull(text);
	for (i = 0; i < 5000; i++)
		n += (size_t)snprintf(text + n, cap - n, "arm a%d { v = %d }\nexpect a%d.x < 1\n",
				      i, i, i);
	ck_assert_uint_lt(n, cap - 1);
	for (k = 100; k < 40000; k += 997) {
		scn_doc_init(&doc);
		ck_assert_int_eq(scn_doc_set_alloc_limit(&doc, k), VT_OK);
		rc = scn_parse_text(&doc, "g.scn", text, n, false, &err);
		ck_assert_msg(rc == VT_ENOMEM || rc == VT_OK, "rc %d", rc);
		ck_assert_uint_le(doc.nassign, 5000);
		scn_doc_free(&doc);
	}
	free(text);
}
END_TEST

/* ---- suite --------------------------------------------------------------------------------- */

Suite *scenario_suite(void)
{
	Suite *s = suite_create("scenario");
	TCase *tc;

	tc = tcase_create("numbers");
	tcase_add_loop_test(tc, test_number, 0, (int)VT_ARRAY_SIZE(num_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("statements");
	tcase_add_test(tc, test_assign_locations);
	tcase_add_test(tc, test_blocks);
	tcase_add_test(tc, test_path_forms);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_crlf_and_utf8_comments);
	tcase_add_test(tc, test_arms);
	tcase_add_test(tc, test_many_arms);
	tcase_add_test(tc, test_expect);
	tcase_add_test(tc, test_append_and_override);
	tcase_add_test(tc, test_empty_and_free_unparsed);
	suite_add_tcase(s, tc);

	tc = tcase_create("format");
	tcase_add_loop_test(tc, test_format, 0, (int)VT_ARRAY_SIZE(fmt_cases));
	tcase_add_test(tc, test_format_edges);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, test_error, 0, (int)VT_ARRAY_SIZE(err_cases));
	tcase_add_loop_test(tc, test_override_error, 0, (int)VT_ARRAY_SIZE(set_cases));
	tcase_add_test(tc, test_too_deep);
	tcase_add_loop_test(tc, test_hostile, 0, (int)VT_ARRAY_SIZE(shapes));
	tcase_add_test(tc, test_path_too_long);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_add_test(tc, test_include);
	tcase_add_test(tc, test_include_missing);
	tcase_add_test(tc, test_include_cycle);
	tcase_add_test(tc, test_include_depth);
	tcase_add_test(tc, test_include_errors_inside);
	tcase_add_test(tc, test_file_size_limits);
	tcase_add_test(tc, test_missing_main_file);
	tcase_add_test(tc, test_out_of_memory);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_add_test(tc, test_out_of_memory_growth);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
