/*
 * fuzz_scenario.c: the libFuzzer target for the scenario parser (sim/scenario.c).
 *
 * Each input is parsed as a scenario text with includes disabled, then every value is formatted
 * back with scn_value_format (into a full buffer and into one whose size the input picks, to
 * exercise truncation), and the input's first line is also parsed as a --set argument. Crashes,
 * hangs and leaks are found by the sanitizers; on top of that the target aborts when the parser
 * breaks one of its promises: an error message without its "file:line:col: " prefix, a number
 * that is not reduced or is out of range, nesting deeper than SCN_MAX_DEPTH.
 *
 * Built by tests/fuzz.sh, with libFuzzer's main or with tests/fuzz_driver.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LIMIT ((s128)1 << 100)

static s128 gcd(s128 a, s128 b)
{
	if (a < 0)
		a = -a;
	while (b != 0) {
		s128 t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* A parsed number: den > 0, reduced, both parts within 2^100, a known dimension. */
static void check_num(const struct scn_num *n)
{
	if (n->den <= 0 || n->den > LIMIT || n->num > LIMIT || n->num < -LIMIT)
		abort();
	if (gcd(n->num, n->den) != 1)
		abort();
	if (n->dim > SCN_DIM_RATE)
		abort();
}

static void check_value(const struct scn_value *v, unsigned depth, char *small, size_t smalllen)
{
	char buf[256];
	unsigned i;

	if (v == NULL || depth > SCN_MAX_DEPTH + 1)
		abort();
	scn_value_format(v, buf, sizeof buf);
	if (strlen(buf) >= sizeof buf)
		abort();
	scn_value_format(v, small, smalllen);
	switch (v->kind) {
	case SCN_V_NUM:
		check_num(&v->num);
		break;
	case SCN_V_STR:
	case SCN_V_IDENT:
		if (v->str == NULL)
			abort();
		break;
	case SCN_V_LIST:
	case SCN_V_CALL:
		if (v->n > 0 && v->items == NULL)
			abort();
		for (i = 0; i < v->n; i++)
			check_value(v->items[i], depth + 1, small, smalllen);
		break;
	}
}

static void check_expr(const struct scn_expr *e, unsigned depth)
{
	char buf[128];

	if (e == NULL || depth > 4 * SCN_MAX_DEPTH + 4)
		abort();
	switch (e->op) {
	case SCN_E_NUM:
		check_num(&e->num);
		scn_num_format(&e->num, buf, sizeof buf);
		break;
	case SCN_E_REF:
		if (e->arm == NULL || e->metric == NULL)
			abort();
		break;
	case SCN_E_NEG:
	case SCN_E_ABS:
		check_expr(e->a, depth + 1);
		break;
	default:
		check_expr(e->a, depth + 1);
		check_expr(e->b, depth + 1);
		break;
	}
}

/* Walks everything the document holds, even after a failed parse (it keeps what came first). */
static void check_doc(const struct scn_doc *doc, size_t smalllen)
{
	char small[32];
	unsigned i;

	for (i = 0; i < doc->nassign; i++) {
		if (doc->assign[i].path == NULL || strlen(doc->assign[i].path) > SCN_MAX_PATH)
			abort();
		check_value(doc->assign[i].value, 0, small, smalllen);
	}
	for (i = 0; i < doc->nexpect; i++) {
		if (doc->expect[i].text == NULL)
			abort();
		check_expr(doc->expect[i].lhs, 0);
		check_expr(doc->expect[i].rhs, 0);
	}
	for (i = 0; i < doc->narm; i++)
		if (doc->arm[i].name == NULL)
			abort();
}

/* An error's message starts with its own location, "file:line:col: ". */
static void check_error(const struct scn_error *err, const char *file)
{
	char prefix[64];

	if (err->loc.line == 0 || err->loc.col == 0)
		abort();
	snprintf(prefix, sizeof prefix, "%s:%u:%u: ", file, err->loc.line, err->loc.col);
	if (strncmp(err->msg, prefix, strlen(prefix)) != 0 || strlen(err->msg) >= sizeof err->msg)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scn_doc doc;
	struct scn_error err;
	size_t smalllen = size > 0 ? data[0] % 32 : 0, n;
	char arg[512];
	int rc;

	scn_doc_init(&doc);
	rc = scn_parse_text(&doc, "fuzz.scn", (const char *)data, size, false, &err);
	if (rc == VT_EINPUT)
		check_error(&err, "fuzz.scn");
	else if (rc != VT_OK)
		abort();
	check_doc(&doc, smalllen);
	scn_doc_free(&doc);

	/* The first line (up to a NUL) as a --set argument. */
	for (n = 0; n < size && n + 1 < sizeof arg && data[n] != '\n' && data[n] != '\0'; n++)
		arg[n] = (char)data[n];
	arg[n] = '\0';
	scn_doc_init(&doc);
	rc = scn_parse_override(&doc, arg, 7, &err);
	if (rc == VT_EINPUT)
		check_error(&err, "--set");
	else if (rc != VT_OK || doc.nassign != 1)
		abort();
	check_doc(&doc, smalllen);
	scn_doc_free(&doc);
	return 0;
}
