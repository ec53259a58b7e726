/*
 * scenario.c: the scenario language's lexer and recursive-descent parser (scenario.h), the
 * document's arena allocator, and the formatting of values back to text.
 *
 * The language, as this file accepts it:
 *
 *   Text       UTF-8. A NUL byte, a control character other than tab, CR and LF, or an invalid
 *              UTF-8 sequence is an error at its location, even in a comment. Non-ASCII
 *              characters are allowed only in strings and comments. CR is whitespace (CRLF line
 *              endings work), except inside a string, where it ends the line like LF.
 *   Comments   `#` to the end of the line.
 *   Statements end at a newline or `;`; blank lines and empty statements are ignored. Inside
 *              `[...]` and `(...)` newlines are ignored, so lists, calls, indices and expressions
 *              may span lines (a `;` there is an error).
 *
 *   doc        := { stmt? (NEWLINE | ';') } EOF
 *   stmt       := path '=' value
 *               | path '{' doc-in-block '}'          (the '{' on the path's line)
 *               | 'arm' NAME [ '{' doc-in-block '}' ] (top level only)
 *               | 'expect' expr cmp expr             (top level only)
 *               | 'include' STRING                   (top level only)
 *   path       := NAME { '.' NAME | '[' INTEGER ']' }  normalised "host.cpu[2].skew_ppm"
 *   value      := ['-'] NUMBER | STRING | NAME | NAME '(' items ')' | '(' items ')' | '[' items ']'
 *   items      := [ value { ',' value } [','] ]     (calls and tuples like lists: may be empty,
 *                                                    trailing comma allowed)
 *   expr       := term { ('+' | '-') term }
 *   term       := unary { ('*' | '/') unary }
 *   unary      := '-' unary | NUMBER | NAME '.' NAME | 'abs' '(' expr ')' | '(' expr ')'
 *   cmp        := '<' | '<=' | '>' | '>=' | '==' | '!='
 *
 *   A statement is followed by a newline, `;`, the end of the file or (inside a block) the
 *   block's `}`. Inside a block every path gets the block's path and a '.' in front; `arm NAME`
 *   declares NAME and its block prefixes "arm.NAME.". The words arm, expect and include are
 *   keywords only as the first word of a statement, and there always (`arm.x = 1` is an error;
 *   `host.arm = 1` is not). Path parts may be separated by blanks (`host . cpus`), never by a
 *   newline outside brackets; a normalised path is at most SCN_MAX_PATH bytes.
 *
 *   NAME       [A-Za-z_][A-Za-z0-9_]*, where a '-' directly followed by a letter or digit also
 *              continues the name: gtsc-resume, x-1. So `a.x-b.y` is one reference to metric
 *              "x-b" and then an error; subtraction of references needs `a.x - b.y`.
 *   INTEGER    (in an index) a decimal or hex NUMBER without fraction, exponent or unit, at most
 *              2^32-1; printed back in decimal ("cpu[0x2]" becomes "cpu[2]").
 *   STRING     "..." with escapes \" \\ \n \t; no raw newline.
 *   NUMBER     digits ['.' digits] [('e'|'E') ['+'|'-'] digits] [unit], or '0x' hexdigits [unit]
 *              (at most 2^64-1). A '_' may separate two digits (86_000). `.5` and `5.` are
 *              errors; |exponent| <= 30. The unit is glued to the number: a word, `%`, or '/'
 *              and a word (a '/' glued to a number and followed by a letter is a rate unit, so
 *              `10/s` is 10 per second; in an expect clause `10 / 2` and `10/2` divide). A
 *              word that does not name a unit is an error, and so is a unit glued to a string,
 *              list, call or name, or a unit written after a blank (`5 ms`). The unit words
 *              start no exponent: `2e` is the unknown unit 'e'; a hex number takes a unit too,
 *              but a unit starting with a hex digit is read as digits (`0x10cycles` is 0x10c
 *              with the unknown unit 'ycles').
 *   Units      ns us ms s min h (base ns), Hz kHz MHz GHz (base Hz), ppm ppb (base ppm),
 *              cycles cycle (base cycles), /s /ms /us /min /h (base per second), % (value/100).
 *   A '-' in a value applies to a number only; in an expression it is unary minus.
 *
 * Numbers are exact rationals num/den (den > 0, reduced), built from the digits by multiplying
 * by 10, 1/10 and the unit's factor one step at a time with cross-cancellation, so every
 * intermediate is reduced; a step whose numerator or denominator would exceed 2^100 makes the
 * literal "number out of range" (2^100 ~ 1.27e30, so 1e30 and 1e-30 fit, 2e30 and 1e-30ppb do
 * not).
 *
 * Errors: the first error ends the parse; the message is "FILE:LINE:COL: what was expected",
 * columns counted in bytes from 1. An unclosed '{', '[' or '(' is reported at the opening bracket.
 * Include errors (missing file, cycle, depth, size) are reported at the include's file name
 * string. A main file that cannot be read has no position: "FILE: cannot read scenario: why",
 * with loc.line and loc.col 0.
 *
 * Includes: `include "p"` parses p (relative to the including file's directory, unless
 * absolute) in place. Files are identified by realpath(), which detects cycles, and each file is
 * read and recorded in doc->file once (a second include of it reuses the recorded text). At most
 * SCN_MAX_INCLUDE_DEPTH nested includes; at most SCN_MAX_TOTAL_BYTES parsed per call, so that
 * files including each other many times over cannot make a parse take forever.
 *
 * Everything the document points to lives in one arena (struct arena below): chunks carved
 * upward and freed together by scn_doc_free. The doc's arrays grow by doubling inside the arena;
 * the abandoned copies add at most the final size again.
 */
#if !defined(_DEFAULT_SOURCE) && !defined(_XOPEN_SOURCE)
#define _XOPEN_SOURCE 700 /* realpath() when compiled without the Makefile's flags */
#endif

#include "scenario.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the arena ----------------------------------------------------------------------------- */

/* One block of the arena; allocations are carved from data[] upward. */
struct chunk {
	struct chunk *next;
	size_t used, cap;
	max_align_t data[];
};

#define ARENA_ALIGN ((size_t)_Alignof(max_align_t))
#define ARENA_CHUNK ((size_t)64 * 1024)

_Static_assert(_Alignof(max_align_t) >= _Alignof(s128), "arena alignment too small for s128");

/* The document's private state: the arena, and bookkeeping the public struct has no room for. */
struct arena {
	struct chunk *chunks;       /* newest (the one being carved) first */
	bool limited;               /* test hook armed: see scn_doc_set_alloc_limit */
	size_t allocs_left;
	unsigned cap_assign, cap_expect, cap_arm, cap_file; /* capacities of the doc's arrays */
	const char **file_id;       /* realpath of doc->file[i], or NULL; capacity cap_file */
	unsigned *arm_slot;         /* hash set of arm names: 0 empty, else index into doc->arm + 1 */
	unsigned narm_slot;         /* a power of two, or 0 */
};

/* Returns `size` zeroed bytes aligned for any type, or NULL. */
static void *arena_alloc(struct arena *a, size_t size)
{
	struct chunk *ch;
	size_t need, cap;
	void *mem;

	if (a->limited) {
		if (a->allocs_left == 0)
			return NULL;
		a->allocs_left--;
	}
	if (size == 0)
		size = 1;
	if (size > SIZE_MAX / 2)
		return NULL;
	need = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	ch = a->chunks;
	if (ch == NULL || ch->cap - ch->used < need) {
		/* A big block gets a chunk of exactly its size, linked behind the current chunk so that
		 * the current chunk's free space stays in use. */
		bool big = need > ARENA_CHUNK / 4;

		cap = big ? need : ARENA_CHUNK;
		ch = malloc(sizeof *ch + cap);
		if (ch == NULL)
			return NULL;
		ch->used = 0;
		ch->cap = cap;
		if (big && a->chunks != NULL) {
			ch->next = a->chunks->next;
			a->chunks->next = ch;
		} else {
			ch->next = a->chunks;
			a->chunks = ch;
		}
	}
	mem = (unsigned char *)ch->data + ch->used;
	ch->used += need;
	memset(mem, 0, size);
	return mem;
}

/* Copies n bytes and a NUL into the arena. */
static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *d;

	if (n == SIZE_MAX)
		return NULL;
	d = arena_alloc(a, n + 1);
	if (d == NULL)
		return NULL;
	if (n > 0)
		memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* Makes room for element n of an array of *cap elements, doubling it inside the arena. Returns
 * the (possibly moved) array, or NULL when out of memory (the old array is still valid). */
static void *grow_array(struct arena *a, void *arr, unsigned n, unsigned *cap, size_t elem)
{
	unsigned ncap;
	void *mem;

	if (n < *cap)
		return arr;
	if (*cap > UINT_MAX / 2)
		return NULL;
	ncap = *cap ? *cap * 2 : 16;
	if ((size_t)ncap > SIZE_MAX / elem)
		return NULL;
	mem = arena_alloc(a, (size_t)ncap * elem);
	if (mem == NULL)
		return NULL;
	if (n > 0)
		memcpy(mem, arr, (size_t)n * elem);
	*cap = ncap;
	return mem;
}

static struct arena *doc_arena(struct scn_doc *doc)
{
	if (doc->arena == NULL)
		doc->arena = calloc(1, sizeof(struct arena));
	return doc->arena;
}

void scn_doc_init(struct scn_doc *doc)
{
	memset(doc, 0, sizeof *doc);
}

void scn_doc_free(struct scn_doc *doc)
{
	struct arena *a = doc->arena;

	if (a != NULL) {
		struct chunk *ch = a->chunks;

		while (ch != NULL) {
			struct chunk *next = ch->next;

			free(ch);
			ch = next;
		}
		free(a);
	}
	memset(doc, 0, sizeof *doc);
}

int scn_doc_set_alloc_limit(struct scn_doc *doc, size_t nallocs)
{
	struct arena *a = doc_arena(doc);

	if (a == NULL)
		return VT_ENOMEM;
	a->limited = true;
	a->allocs_left = nallocs;
	return VT_OK;
}

/* ---- exact rationals ----------------------------------------------------------------------- */

/* The largest magnitude a numerator or denominator may reach: 2^100. */
#define NUM_LIMIT ((s128)1 << 100)

struct rat {
	s128 num, den;
};

static s128 abs128(s128 x)
{
	return x < 0 ? -x : x;
}

static s128 gcd128(s128 a, s128 b)
{
	a = abs128(a);
	b = abs128(b);
	while (b != 0) {
		s128 t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* |x * y| <= 2^100, for |x|, |y| <= 2^100 (so that the test itself cannot overflow). */
static bool mul_fits(s128 x, s128 y)
{
	if (x == 0 || y == 0)
		return true;
	return abs128(x) <= NUM_LIMIT / abs128(y);
}

/*
 * r *= n / d (d > 0, n/d reduced, r reduced): cancel gcd(r.num, d) and gcd(n, r.den) first, so
 * that the result is reduced too and no intermediate is larger than it. False, leaving r
 * unchanged, when the numerator or denominator would exceed 2^100.
 */
static bool rat_mul(struct rat *r, s128 n, s128 d)
{
	s128 g1 = gcd128(r->num, d), g2 = gcd128(n, r->den);
	s128 a, b, c, e;

	if (g1 == 0)
		g1 = 1;
	if (g2 == 0)
		g2 = 1;
	a = r->num / g1;
	e = d / g1;
	c = n / g2;
	b = r->den / g2;
	if (!mul_fits(a, c) || !mul_fits(b, e))
		return false;
	r->num = a * c;
	r->den = b * e;
	if (r->num == 0)
		r->den = 1;
	return true;
}

/* ---- units --------------------------------------------------------------------------------- */

/* A unit: its spelling, dimension, and value in the dimension's base unit (num/den, reduced). */
struct unit {
	const char *name;
	enum scn_dim dim;
	int64_t num, den;
};

static const struct unit units[] = {
	{ "ns", SCN_DIM_TIME, 1, 1 },
	{ "us", SCN_DIM_TIME, 1000, 1 },
	{ "ms", SCN_DIM_TIME, 1000000, 1 },
	{ "s", SCN_DIM_TIME, 1000000000, 1 },
	{ "min", SCN_DIM_TIME, 60000000000, 1 },
	{ "h", SCN_DIM_TIME, 3600000000000, 1 },
	{ "Hz", SCN_DIM_FREQ, 1, 1 },
	{ "kHz", SCN_DIM_FREQ, 1000, 1 },
	{ "MHz", SCN_DIM_FREQ, 1000000, 1 },
	{ "GHz", SCN_DIM_FREQ, 1000000000, 1 },
	{ "ppm", SCN_DIM_PPM, 1, 1 },
	{ "ppb", SCN_DIM_PPM, 1, 1000 },
	{ "cycles", SCN_DIM_CYCLES, 1, 1 },
	{ "cycle", SCN_DIM_CYCLES, 1, 1 },
	{ "/s", SCN_DIM_RATE, 1, 1 },
	{ "/ms", SCN_DIM_RATE, 1000, 1 },
	{ "/us", SCN_DIM_RATE, 1000000, 1 },
	{ "/min", SCN_DIM_RATE, 1, 60 },
	{ "/h", SCN_DIM_RATE, 1, 3600 },
	{ "%", SCN_DIM_NONE, 1, 100 },
};

#define UNIT_LIST "ns, us, ms, s, min, h, Hz, kHz, MHz, GHz, ppm, ppb, cycles, /s, /ms, /us, " \
	"/min, /h or %%"

static const struct unit *find_unit(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < VT_ARRAY_SIZE(units); i++)
		if (strlen(units[i].name) == n && memcmp(units[i].name, s, n) == 0)
			return &units[i];
	return NULL;
}

/* ---- parser state -------------------------------------------------------------------------- */

enum tkind {
	T_EOF, T_NL, T_SEMI, T_IDENT, T_NUM, T_STR,
	T_LBRACE, T_RBRACE, T_LBRACK, T_RBRACK, T_LPAREN, T_RPAREN, T_COMMA, T_DOT, T_ASSIGN,
	T_PLUS, T_MINUS, T_STAR, T_SLASH, T_PERCENT,
	T_LT, T_LE, T_GT, T_GE, T_EQ, T_NE,
};

struct tok {
	enum tkind kind;
	size_t start, end;          /* byte offsets in the text */
	unsigned line, col;
	bool glued;                 /* no blank or comment between the previous token and this one */
	bool plain_int;             /* T_NUM: an integer literal without fraction, exponent or unit */
	struct scn_num num;         /* T_NUM */
	const char *str;            /* T_STR: decoded, NUL-terminated, in the arena */
};

/* What one call of scn_parse_* shares across the files it reads. */
struct ctx {
	struct scn_doc *doc;
	struct arena *ar;
	struct scn_error *err;
	bool allow_include;
	const char *open_id[SCN_MAX_INCLUDE_DEPTH + 1]; /* files being parsed, outermost first */
	unsigned nopen;
	size_t total_bytes;         /* of every file parsed so far */
};

/* The lexer and parser of one file (or one --set argument). */
struct parser {
	struct ctx *c;
	const char *file;           /* for locations; lives as long as the document (or static) */
	const char *text;
	size_t len;
	size_t pos;                 /* next byte to lex */
	size_t line_start;          /* offset of the current line's first byte */
	unsigned line;
	size_t last_end;            /* end of the last token lexed */
	size_t prev_end;            /* end of the last token consumed */
	struct tok tok;             /* the lookahead */
	unsigned nest;              /* open '[' and '(': newlines are skipped while > 0 */
	unsigned depth;             /* nesting of blocks, lists, calls, expressions */
};

static struct scn_loc loc_at(const struct parser *p, size_t pos)
{
	struct scn_loc l = { p->file, p->line, (unsigned)(pos - p->line_start + 1) };

	return l;
}

static struct scn_loc tok_loc(const struct parser *p)
{
	struct scn_loc l = { p->file, p->tok.line, p->tok.col };

	return l;
}

static void set_error(struct scn_error *e, struct scn_loc loc, const char *fmt, va_list ap)
	VT_PRINTF(3, 0);

/* Writes "file:line:col: message" into e. */
static void set_error(struct scn_error *e, struct scn_loc loc, const char *fmt, va_list ap)
{
	int n;

	e->loc = loc;
	n = snprintf(e->msg, sizeof e->msg, "%s:%u:%u: ", loc.file, loc.line, loc.col);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof e->msg)
		vsnprintf(e->msg + n, sizeof e->msg - (size_t)n, fmt, ap);
}

static int fail(struct parser *p, struct scn_loc loc, const char *fmt, ...) VT_PRINTF(3, 4);

/* Records the (first) error at loc; returns VT_EINPUT for the caller to pass up. */
static int fail(struct parser *p, struct scn_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error(p->c->err, loc, fmt, ap);
	va_end(ap);
	return VT_EINPUT;
}

static int nomem(struct parser *p)
{
	fail(p, tok_loc(p), "out of memory");
	return VT_ENOMEM;
}

/* An error with no position (a main file that cannot be read): "file: message". */
static void fail_noloc(struct scn_error *e, const char *file, const char *fmt, ...) VT_PRINTF(3, 4);

static void fail_noloc(struct scn_error *e, const char *file, const char *fmt, ...)
{
	va_list ap;
	int n;

	e->loc.file = file;
	e->loc.line = 0;
	e->loc.col = 0;
	n = snprintf(e->msg, sizeof e->msg, "%s: ", file);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof e->msg) {
		va_start(ap, fmt);
		vsnprintf(e->msg + n, sizeof e->msg - (size_t)n, fmt, ap);
		va_end(ap);
	}
}

/* Copies s into out (at most outlen - 1 bytes and a NUL) with anything but printable ASCII
 * replaced by '?', and "..." when cut: for quoting user text in messages. */
static void quote_for_msg(char *out, size_t outlen, const char *s, size_t n)
{
	size_t i, k = 0;

	if (outlen < 4) {
		if (outlen > 0)
			out[0] = '\0';
		return;
	}
	for (i = 0; i < n && k + 4 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		out[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (i < n) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

/* ---- the lexer ----------------------------------------------------------------------------- */

/* The byte at i, or -1 past the end. */
static int at(const struct parser *p, size_t i)
{
	return i < p->len ? (unsigned char)p->text[i] : -1;
}

static bool is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident_char(int c)
{
	return is_alpha(c) || is_digit(c) || c == '_';
}

static int hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Checks the character starting at byte i (i < len): returns its length (1 for ASCII, 2 to 4 for
 * UTF-8), or 0 with the reason in why when it may not appear in the input at all: NUL, a control
 * character other than tab, CR, LF, or a byte that does not start a valid UTF-8 sequence
 * (overlong forms, surrogates and code points above U+10FFFF included).
 */
static size_t char_check(const struct parser *p, size_t i, char *why, size_t whylen)
{
	int c = at(p, i), lo = 0x80, hi = 0xbf;
	size_t need, k;

	if (c < 0x80) {
		if (c == 0) {
			snprintf(why, whylen, "NUL byte in the input");
			return 0;
		}
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
			snprintf(why, whylen, "control character 0x%02x in the input", (unsigned)c);
			return 0;
		}
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0; /* no overlong 3-byte forms */
		if (c == 0xed)
			hi = 0x9f; /* no surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90; /* no overlong 4-byte forms */
		if (c == 0xf4)
			hi = 0x8f; /* nothing above U+10FFFF */
	} else {
		goto bad;
	}
	for (k = 1; k <= need; k++) {
		int d = at(p, i + k);

		if (d < lo || d > hi)
			goto bad;
		lo = 0x80;
		hi = 0xbf;
	}
	return need + 1;
bad:
	snprintf(why, whylen, "invalid UTF-8 (byte 0x%02x)", (unsigned)c);
	return 0;
}

/* A bad-number error at the number's start quoting it: from start over the characters a number
 * could be made of, and at least through byte `bad` (the last byte the message is about). */
static int bad_number(struct parser *p, size_t start, size_t bad, const char *why)
{
	char shown[48];
	size_t end = start;

	while (end < p->len && (is_ident_char(at(p, end)) || at(p, end) == '.'))
		end++;
	if (end < bad + 1)
		end = bad + 1 < p->len ? bad + 1 : p->len;
	quote_for_msg(shown, sizeof shown, p->text + start, end - start);
	return fail(p, loc_at(p, start), "bad number '%s': %s", shown, why);
}

/* The unit spelled at byte i (a word, '%', or '/' and a word); *end is set past it. NULL when
 * there is no unit-like spelling or it names no unit (then *end is still past the spelling). */
static const struct unit *unit_at(const struct parser *p, size_t i, size_t *end)
{
	size_t e = i;
	int c = at(p, i);

	if (c == '%') {
		e = i + 1;
	} else {
		size_t w = c == '/' ? i + 1 : i;

		if (!is_alpha(at(p, w))) {
			*end = i;
			return NULL;
		}
		e = w;
		while (is_ident_char(at(p, e)))
			e++;
	}
	*end = e;
	return find_unit(p->text + i, e - i);
}

/* Lexes a number starting with a digit at p->pos into p->tok. */
static int lex_number(struct parser *p)
{
	struct tok *t = &p->tok;
	size_t start = p->pos, i = start, ue;
	struct scn_loc loc = loc_at(p, start);
	s128 m = 0;
	long long frac = 0, ex = 0, pw;
	bool plain = true, over = false;
	const struct unit *u = NULL;
	struct rat r;

	if (at(p, i) == '0' && (at(p, i + 1) == 'x' || at(p, i + 1) == 'X')) {
		u128 v = 0;
		bool any = false;

		for (i += 2;; i++) {
			int h = hex_val(at(p, i));

			if (h >= 0) {
				if (v <= UINT64_MAX)
					v = v * 16 + (unsigned)h;
				any = true;
			} else if (at(p, i) != '_' || !any || hex_val(at(p, i + 1)) < 0) {
				break;
			}
		}
		if (!any)
			return bad_number(p, start, i - 1, "expected hex digits after '0x'");
		if (at(p, i) == '_')
			return bad_number(p, start, i, "'_' must be between two digits");
		if (at(p, i) == '.')
			return bad_number(p, start, i, "a hex number has no fraction");
		if (v > UINT64_MAX)
			return fail(p, loc, "number out of range (a hex number is at most "
				    "0xffffffffffffffff)");
		m = (s128)v;
	} else {
		int d;

		/* Integer part. */
		for (;; i++) {
			d = at(p, i);
			if (is_digit(d)) {
				if (!over) {
					m = m * 10 + (d - '0');
					over = m > NUM_LIMIT;
				}
			} else if (d == '_') {
				if (!is_digit(at(p, i + 1)))
					return bad_number(p, start, i, "'_' must be between two digits");
			} else {
				break;
			}
		}
		/* Fraction: trailing zeros add nothing, so the digits up to the last non-zero one
		 * are accumulated and counted (frac), the rest only skipped. */
		if (at(p, i) == '.') {
			size_t fs = i + 1, fe, last = 0, j;
			bool nonzero = false;

			if (!is_digit(at(p, fs)))
				return bad_number(p, start, i, "expected a digit after '.'");
			plain = false;
			for (fe = fs;; fe++) {
				d = at(p, fe);
				if (is_digit(d)) {
					if (d != '0') {
						last = fe;
						nonzero = true;
					}
				} else if (d == '_') {
					if (!is_digit(at(p, fe + 1)))
						return bad_number(p, start, fe,
								  "'_' must be between two digits");
				} else {
					break;
				}
			}
			for (j = fs; nonzero && j <= last && !over; j++) {
				d = at(p, j);
				if (d == '_')
					continue;
				m = m * 10 + (d - '0');
				over = m > NUM_LIMIT;
				frac++;
			}
			i = fe;
		}
		/* Exponent: 'e' or 'E', an optional sign, digits. An 'e' followed by neither is
		 * the start of a unit word. */
		d = at(p, i);
		if (d == 'e' || d == 'E') {
			size_t j = i + 1;
			long long sign = 1, e = 0;

			if (at(p, j) == '+' || at(p, j) == '-') {
				sign = at(p, j) == '-' ? -1 : 1;
				j++;
				if (!is_digit(at(p, j)))
					return bad_number(p, start, j - 1,
							  "expected a digit in the exponent");
			}
			if (is_digit(at(p, j))) {
				for (; is_digit(at(p, j)); j++)
					if (e < 1000)
						e = e * 10 + (at(p, j) - '0');
				if (e > 30)
					return fail(p, loc, "number out of range (the exponent must be "
						    "between -30 and 30)");
				ex = sign * e;
				plain = false;
				i = j;
			}
		}
		if (at(p, i) == '.' || at(p, i) == '_')
			return bad_number(p, start, i, at(p, i) == '.' ? "unexpected '.'"
					  : "'_' must be between two digits");
	}
	if (over)
		return fail(p, loc, "number out of range");

	/* Unit. */
	u = unit_at(p, i, &ue);
	if (u == NULL && ue > i) {
		char shown[40];

		quote_for_msg(shown, sizeof shown, p->text + i, ue - i);
		return fail(p, loc_at(p, i), "unknown unit '%s' (expected " UNIT_LIST ")", shown);
	}

	/* Value: m * 10^(ex - frac) * unit, one exact step at a time. */
	r.num = m;
	r.den = 1;
	for (pw = ex - frac; pw > 0; pw--)
		if (!rat_mul(&r, 10, 1))
			return fail(p, loc, "number out of range");
	for (; pw < 0; pw++)
		if (!rat_mul(&r, 1, 10))
			return fail(p, loc, "number out of range");
	if (u != NULL) {
		if (!rat_mul(&r, u->num, u->den))
			return fail(p, loc, "number out of range");
		plain = false;
		i = ue;
	}
	t->kind = T_NUM;
	t->num.num = r.num;
	t->num.den = r.den;
	t->num.dim = u ? u->dim : SCN_DIM_NONE;
	t->plain_int = plain;
	p->pos = i;
	return VT_OK;
}

/* Lexes a string starting at the '"' at p->pos into p->tok. */
static int lex_string(struct parser *p)
{
	size_t start = p->pos, i = start + 1, n = 0, k, j;
	char why[64], *s;

	for (;;) {
		int c = at(p, i);

		if (c == -1 || c == '\n' || c == '\r')
			return fail(p, loc_at(p, start), "unterminated string");
		if (c == '"')
			break;
		if (c == '\\') {
			int e = at(p, i + 1);

			if (e == '"' || e == '\\' || e == 'n' || e == 't') {
				i += 2;
				n++;
				continue;
			}
			if (e == -1 || e == '\n' || e == '\r')
				return fail(p, loc_at(p, start), "unterminated string");
			if (e >= 0x20 && e < 0x7f)
				return fail(p, loc_at(p, i), "unknown escape '\\%c' in string "
					    "(expected \\\", \\\\, \\n or \\t)", e);
			if (char_check(p, i + 1, why, sizeof why) == 0)
				return fail(p, loc_at(p, i + 1), "%s", why);
			return fail(p, loc_at(p, i), "unknown escape in string "
				    "(expected \\\", \\\\, \\n or \\t)");
		}
		k = char_check(p, i, why, sizeof why);
		if (k == 0)
			return fail(p, loc_at(p, i), "%s", why);
		i += k;
		n += k;
	}
	s = arena_alloc(p->c->ar, n + 1);
	if (s == NULL)
		return nomem(p);
	for (j = start + 1, k = 0; j < i; j++) {
		char c = p->text[j];

		if (c == '\\') {
			c = p->text[++j];
			c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
		}
		s[k++] = c;
	}
	s[k] = '\0';
	p->tok.kind = T_STR;
	p->tok.str = s;
	p->pos = i + 1;
	return VT_OK;
}

/* Lexes the next token into p->tok, skipping blanks and comments. */
static int lex(struct parser *p)
{
	struct tok *t = &p->tok;
	char why[64];
	size_t start;
	int c, rc = VT_OK;

	for (;;) {
		c = at(p, p->pos);
		if (c == ' ' || c == '\t' || c == '\r') {
			p->pos++;
		} else if (c == '#') {
			while (p->pos < p->len && p->text[p->pos] != '\n') {
				size_t k = char_check(p, p->pos, why, sizeof why);

				if (k == 0)
					return fail(p, loc_at(p, p->pos), "%s", why);
				p->pos += k;
			}
		} else {
			break;
		}
	}
	start = p->pos;
	memset(t, 0, sizeof *t);
	t->start = start;
	t->line = p->line;
	t->col = (unsigned)(start - p->line_start + 1);
	t->glued = start == p->last_end;
	p->pos++; /* the one-byte tokens; the others set p->pos themselves */
	switch (c) {
	case -1: t->kind = T_EOF; p->pos = start; break;
	case '\n':
		t->kind = T_NL;
		p->line++;
		p->line_start = p->pos;
		break;
	case ';': t->kind = T_SEMI; break;
	case '{': t->kind = T_LBRACE; break;
	case '}': t->kind = T_RBRACE; break;
	case '[': t->kind = T_LBRACK; break;
	case ']': t->kind = T_RBRACK; break;
	case '(': t->kind = T_LPAREN; break;
	case ')': t->kind = T_RPAREN; break;
	case ',': t->kind = T_COMMA; break;
	case '+': t->kind = T_PLUS; break;
	case '-': t->kind = T_MINUS; break;
	case '*': t->kind = T_STAR; break;
	case '/': t->kind = T_SLASH; break;
	case '%': t->kind = T_PERCENT; break;
	case '.':
		if (is_digit(at(p, start + 1)))
			return bad_number(p, start, start, "a digit is needed before '.'");
		t->kind = T_DOT;
		break;
	case '=':
		t->kind = T_ASSIGN;
		if (at(p, p->pos) == '=') {
			t->kind = T_EQ;
			p->pos++;
		}
		break;
	case '<':
	case '>':
		t->kind = c == '<' ? T_LT : T_GT;
		if (at(p, p->pos) == '=') {
			t->kind = c == '<' ? T_LE : T_GE;
			p->pos++;
		}
		break;
	case '!':
		if (at(p, p->pos) != '=')
			return fail(p, loc_at(p, start), "unexpected character '!' (expected '!=')");
		t->kind = T_NE;
		p->pos++;
		break;
	case '"':
		p->pos = start;
		rc = lex_string(p);
		break;
	default:
		p->pos = start;
		if (is_digit(c)) {
			rc = lex_number(p);
		} else if (is_alpha(c) || c == '_') {
			size_t i = start + 1;

			for (;;) {
				if (is_ident_char(at(p, i)))
					i++;
				else if (at(p, i) == '-' && (is_alpha(at(p, i + 1)) ||
							      is_digit(at(p, i + 1))))
					i += 2;
				else
					break;
			}
			t->kind = T_IDENT;
			p->pos = i;
		} else if (char_check(p, start, why, sizeof why) == 0) {
			return fail(p, loc_at(p, start), "%s", why);
		} else if (c >= 0x80) {
			return fail(p, loc_at(p, start), "unexpected non-ASCII character (allowed "
				    "only in strings and comments)");
		} else {
			return fail(p, loc_at(p, start), "unexpected character '%c'", c);
		}
		break;
	}
	if (rc != VT_OK)
		return rc;
	t->end = p->pos;
	p->last_end = p->pos;
	return VT_OK;
}

/* Consumes the lookahead and lexes the next token (skipping newlines inside brackets). */
static int next(struct parser *p)
{
	int rc;

	bool skipped = false;

	p->prev_end = p->tok.end;
	for (;;) {
		rc = lex(p);
		if (rc != VT_OK)
			return rc;
		if (p->nest == 0 || p->tok.kind != T_NL)
			break;
		skipped = true;
	}
	if (skipped)
		p->tok.glued = false; /* a skipped newline separates like a blank */
	return VT_OK;
}

static bool tok_is_word(const struct parser *p, const char *w)
{
	size_t n = strlen(w);

	return p->tok.kind == T_IDENT && p->tok.end - p->tok.start == n &&
	       memcmp(p->text + p->tok.start, w, n) == 0;
}

static const char *tok_text(const struct parser *p)
{
	return p->text + p->tok.start;
}

static int tok_len(const struct parser *p)
{
	size_t n = p->tok.end - p->tok.start;

	return n > 64 ? 64 : (int)n; /* for "%.*s" in messages */
}

/* The lookahead as a message names it. */
static const char *tok_desc(enum tkind k)
{
	switch (k) {
	case T_EOF: return "end of file";
	case T_NL: return "end of line";
	case T_SEMI: return "';'";
	case T_IDENT: return "name";
	case T_NUM: return "number";
	case T_STR: return "string";
	case T_LBRACE: return "'{'";
	case T_RBRACE: return "'}'";
	case T_LBRACK: return "'['";
	case T_RBRACK: return "']'";
	case T_LPAREN: return "'('";
	case T_RPAREN: return "')'";
	case T_COMMA: return "','";
	case T_DOT: return "'.'";
	case T_ASSIGN: return "'='";
	case T_PLUS: return "'+'";
	case T_MINUS: return "'-'";
	case T_STAR: return "'*'";
	case T_SLASH: return "'/'";
	case T_PERCENT: return "'%'";
	case T_LT: return "'<'";
	case T_LE: return "'<='";
	case T_GT: return "'>'";
	case T_GE: return "'>='";
	case T_EQ: return "'=='";
	case T_NE: return "'!='";
	}
	return "token";
}

/* ---- the parser: paths and values ---------------------------------------------------------- */

/* A path being built (the block prefix, then the statement's own parts). */
struct pathbuf {
	char s[SCN_MAX_PATH + 1];
	size_t n;
};

static bool path_add(struct pathbuf *b, const char *s, size_t n)
{
	if (n > SCN_MAX_PATH - b->n)
		return false;
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
	return true;
}

static int path_too_long(struct parser *p, struct scn_loc loc)
{
	return fail(p, loc, "path too long (more than %d bytes)", SCN_MAX_PATH);
}

/* Parses `NAME { '.' NAME | '[' INTEGER ']' }` (the lookahead is the NAME) onto b. */
static int parse_path(struct parser *p, struct pathbuf *b, struct scn_loc start)
{
	int rc;

	if (!path_add(b, tok_text(p), p->tok.end - p->tok.start))
		return path_too_long(p, start);
	rc = next(p);
	while (rc == VT_OK) {
		if (p->tok.kind == T_DOT) {
			rc = next(p);
			if (rc != VT_OK)
				return rc;
			if (p->tok.kind != T_IDENT)
				return fail(p, tok_loc(p), "expected a name after '%s.'", b->s);
			if (!path_add(b, ".", 1) ||
			    !path_add(b, tok_text(p), p->tok.end - p->tok.start))
				return path_too_long(p, start);
			rc = next(p);
		} else if (p->tok.kind == T_LBRACK) {
			char idx[16];
			int n;

			p->nest++;
			rc = next(p);
			if (rc != VT_OK)
				return rc;
			if (p->tok.kind != T_NUM || !p->tok.plain_int)
				return fail(p, tok_loc(p), "expected an integer index after '%s['",
					    b->s);
			if (p->tok.num.num > UINT32_MAX)
				return fail(p, tok_loc(p), "index out of range after '%s[' "
					    "(at most 4294967295)", b->s);
			n = snprintf(idx, sizeof idx, "[%u]", (unsigned)p->tok.num.num);
			if (!path_add(b, idx, (size_t)n))
				return path_too_long(p, start);
			rc = next(p);
			if (rc != VT_OK)
				return rc;
			if (p->tok.kind != T_RBRACK)
				return fail(p, tok_loc(p), "expected ']' after '%.*s'",
					    (int)(b->n - 1), b->s);
			p->nest--;
			rc = next(p);
		} else {
			break;
		}
	}
	return rc;
}

static struct scn_value *new_value(struct parser *p, enum scn_vkind kind, struct scn_loc loc)
{
	struct scn_value *v = arena_alloc(p->c->ar, sizeof *v);

	if (v != NULL) {
		v->kind = kind;
		v->loc = loc;
	}
	return v;
}

/* After a string, list, call or name: a unit glued to it is an error (`"5"ms`, `[1]%`). */
static int check_no_unit(struct parser *p, const char *what)
{
	size_t e;

	if (!p->tok.glued || p->tok.kind == T_EOF || unit_at(p, p->tok.start, &e) == NULL)
		return VT_OK;
	return fail(p, tok_loc(p), "unit '%.*s' after %s (units go only on numbers)",
		    (int)(e - p->tok.start), tok_text(p), what);
}

/* After a number: a unit after a blank is an error (`5 ms`); `slash` also checks "/word". */
static int check_spaced_unit(struct parser *p, bool slash)
{
	size_t e;

	if (p->tok.glued || (p->tok.kind != T_IDENT && p->tok.kind != T_PERCENT &&
			     (!slash || p->tok.kind != T_SLASH)))
		return VT_OK;
	if (unit_at(p, p->tok.start, &e) == NULL)
		return VT_OK;
	return fail(p, tok_loc(p), "unit '%.*s' must follow the number without a space",
		    (int)(e - p->tok.start), tok_text(p));
}

static int parse_value(struct parser *p, struct scn_value **out, const char *where);

/*
 * Parses the items of a list, call or tuple into v; the lookahead is the opening bracket and
 * `close` the closing one. The items are collected in a malloc'd vector first and copied into the
 * arena once their number is known.
 */
static int parse_items(struct parser *p, struct scn_value *v, enum tkind close, const char *what)
{
	struct scn_loc open = tok_loc(p);
	struct scn_value **tmp = NULL, *item;
	size_t n = 0, cap = 0;
	char closech = close == T_RBRACK ? ']' : ')';
	char where[96];
	int rc;

	if (++p->depth > SCN_MAX_DEPTH)
		return fail(p, open, "nesting too deep (more than %d levels)", SCN_MAX_DEPTH);
	snprintf(where, sizeof where, "in %s", what);
	p->nest++;
	rc = next(p);
	while (rc == VT_OK && p->tok.kind != close) {
		if (p->tok.kind == T_EOF) {
			rc = fail(p, open, "unclosed '%c': expected '%c' before the end of the file",
				  closech == ']' ? '[' : '(', closech);
			break;
		}
		rc = parse_value(p, &item, where);
		if (rc != VT_OK)
			break;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct scn_value **t = realloc(tmp, ncap * sizeof *t);

			if (t == NULL) {
				rc = nomem(p);
				break;
			}
			tmp = t;
			cap = ncap;
		}
		tmp[n++] = item;
		if (p->tok.kind == T_COMMA)
			rc = next(p);
		else if (p->tok.kind != close && p->tok.kind != T_EOF)
			rc = fail(p, tok_loc(p), "expected ',' or '%c' %s", closech, where);
	}
	if (rc == VT_OK && n > 0) {
		v->items = arena_alloc(p->c->ar, n * sizeof *v->items);
		if (v->items == NULL)
			rc = nomem(p);
		else
			memcpy(v->items, tmp, n * sizeof *v->items);
	}
	free(tmp);
	if (rc != VT_OK)
		return rc;
	v->n = (unsigned)n;
	p->nest--;
	p->depth--;
	return next(p);
}

/* Parses one value; `where` completes "expected a value ..." ("after '='", "in the list"). */
static int parse_value(struct parser *p, struct scn_value **out, const char *where)
{
	struct scn_loc loc = tok_loc(p);
	struct scn_value *v;
	bool neg = false;
	int rc;

	switch (p->tok.kind) {
	case T_MINUS:
	case T_NUM:
		if (p->tok.kind == T_MINUS) {
			rc = next(p);
			if (rc != VT_OK)
				return rc;
			if (p->tok.kind != T_NUM)
				return fail(p, tok_loc(p), "expected a number after '-'");
			neg = true;
		}
		v = new_value(p, SCN_V_NUM, loc);
		if (v == NULL)
			return nomem(p);
		v->num = p->tok.num;
		if (neg)
			v->num.num = -v->num.num;
		*out = v;
		rc = next(p);
		return rc != VT_OK ? rc : check_spaced_unit(p, true);
	case T_STR:
		v = new_value(p, SCN_V_STR, loc);
		if (v == NULL)
			return nomem(p);
		v->str = p->tok.str;
		*out = v;
		rc = next(p);
		return rc != VT_OK ? rc : check_no_unit(p, "a string");
	case T_IDENT:
		v = new_value(p, SCN_V_IDENT, loc);
		if (v == NULL)
			return nomem(p);
		v->str = arena_strndup(p->c->ar, tok_text(p), p->tok.end - p->tok.start);
		if (v->str == NULL)
			return nomem(p);
		*out = v;
		rc = next(p);
		if (rc != VT_OK)
			return rc;
		if (p->tok.kind == T_LPAREN) {
			char what[96];

			v->kind = SCN_V_CALL;
			snprintf(what, sizeof what, "the call to '%.64s'", v->str);
			rc = parse_items(p, v, T_RPAREN, what);
			return rc != VT_OK ? rc : check_no_unit(p, "a call");
		}
		return check_no_unit(p, "a name");
	case T_LBRACK:
	case T_LPAREN:
		v = new_value(p, p->tok.kind == T_LBRACK ? SCN_V_LIST : SCN_V_CALL, loc);
		if (v == NULL)
			return nomem(p);
		*out = v;
		if (p->tok.kind == T_LBRACK) {
			rc = parse_items(p, v, T_RBRACK, "the list");
			return rc != VT_OK ? rc : check_no_unit(p, "a list");
		}
		v->str = "";
		rc = parse_items(p, v, T_RPAREN, "the tuple");
		return rc != VT_OK ? rc : check_no_unit(p, "a tuple");
	default:
		return fail(p, loc, "expected a value %s (a number, string, name, list or call)",
			    where);
	}
}

/* ---- the parser: expressions --------------------------------------------------------------- */

static struct scn_expr *new_expr(struct parser *p, enum scn_eop op, struct scn_loc loc)
{
	struct scn_expr *e = arena_alloc(p->c->ar, sizeof *e);

	if (e != NULL) {
		e->op = op;
		e->loc = loc;
	}
	return e;
}

static int parse_expr(struct parser *p, struct scn_expr **out);

/* Parses `'(' expr ')'` (the lookahead is the '('), for parentheses and abs(). */
static int parse_paren(struct parser *p, struct scn_expr **out)
{
	struct scn_loc open = tok_loc(p);
	int rc;

	if (++p->depth > SCN_MAX_DEPTH)
		return fail(p, open, "nesting too deep (more than %d levels)", SCN_MAX_DEPTH);
	p->nest++;
	rc = next(p);
	if (rc == VT_OK)
		rc = parse_expr(p, out);
	if (rc != VT_OK)
		return rc;
	if (p->tok.kind == T_EOF)
		return fail(p, open, "unclosed '(': expected ')' before the end of the file");
	if (p->tok.kind != T_RPAREN)
		return fail(p, tok_loc(p), "expected ')' or an operator in the expect clause");
	p->nest--;
	p->depth--;
	return next(p);
}

static int parse_unary(struct parser *p, struct scn_expr **out)
{
	struct scn_loc loc = tok_loc(p);
	struct scn_expr *e;
	int rc;

	switch (p->tok.kind) {
	case T_MINUS:
		if (++p->depth > SCN_MAX_DEPTH)
			return fail(p, loc, "nesting too deep (more than %d levels)", SCN_MAX_DEPTH);
		e = new_expr(p, SCN_E_NEG, loc);
		if (e == NULL)
			return nomem(p);
		rc = next(p);
		if (rc == VT_OK)
			rc = parse_unary(p, &e->a);
		p->depth--;
		*out = e;
		return rc;
	case T_NUM:
		e = new_expr(p, SCN_E_NUM, loc);
		if (e == NULL)
			return nomem(p);
		e->num = p->tok.num;
		*out = e;
		rc = next(p);
		return rc != VT_OK ? rc : check_spaced_unit(p, false);
	case T_LPAREN:
		return parse_paren(p, out);
	case T_IDENT:
		break;
	default:
		return fail(p, loc, "expected a number, ARM.METRIC, abs(...) or '(' in the expect "
			    "clause");
	}

	/* NAME: abs(...) or ARM.METRIC. */
	{
		const char *name = tok_text(p);
		int namelen = tok_len(p);
		size_t nlen = p->tok.end - p->tok.start;

		rc = next(p);
		if (rc != VT_OK)
			return rc;
		if (p->tok.kind == T_LPAREN) {
			if (nlen != 3 || memcmp(name, "abs", 3) != 0)
				return fail(p, loc, "unknown function '%.*s' (only abs() is "
					    "allowed in expect)", namelen, name);
			e = new_expr(p, SCN_E_ABS, loc);
			if (e == NULL)
				return nomem(p);
			*out = e;
			return parse_paren(p, &e->a);
		}
		if (p->tok.kind != T_DOT)
			return fail(p, tok_loc(p), "expected '.' and a metric after '%.*s' "
				    "(a reference is ARM.METRIC)", namelen, name);
		e = new_expr(p, SCN_E_REF, loc);
		if (e == NULL)
			return nomem(p);
		*out = e;
		e->arm = arena_strndup(p->c->ar, name, nlen);
		if (e->arm == NULL)
			return nomem(p);
		rc = next(p);
		if (rc != VT_OK)
			return rc;
		if (p->tok.kind != T_IDENT)
			return fail(p, tok_loc(p), "expected a metric name after '%s.'", e->arm);
		e->metric = arena_strndup(p->c->ar, tok_text(p), p->tok.end - p->tok.start);
		if (e->metric == NULL)
			return nomem(p);
		rc = next(p);
		if (rc == VT_OK && p->tok.kind == T_DOT)
			return fail(p, tok_loc(p), "a reference is ARM.METRIC, exactly two names "
				    "('%.64s.%.64s' is followed by '.'%s)", e->arm, e->metric,
				    strchr(e->metric, '-') ? "; to subtract, put blanks around '-'"
				    : "");
		return rc;
	}
}

/* term := unary { ('*' | '/') unary } */
static int parse_term(struct parser *p, struct scn_expr **out)
{
	int rc = parse_unary(p, out);

	while (rc == VT_OK && (p->tok.kind == T_STAR || p->tok.kind == T_SLASH)) {
		struct scn_expr *e = new_expr(p, p->tok.kind == T_STAR ? SCN_E_MUL : SCN_E_DIV,
					      tok_loc(p));

		if (e == NULL)
			return nomem(p);
		e->a = *out;
		*out = e;
		rc = next(p);
		if (rc == VT_OK)
			rc = parse_unary(p, &e->b);
	}
	return rc;
}

/* expr := term { ('+' | '-') term } */
static int parse_expr(struct parser *p, struct scn_expr **out)
{
	int rc = parse_term(p, out);

	while (rc == VT_OK && (p->tok.kind == T_PLUS || p->tok.kind == T_MINUS)) {
		struct scn_expr *e = new_expr(p, p->tok.kind == T_PLUS ? SCN_E_ADD : SCN_E_SUB,
					      tok_loc(p));

		if (e == NULL)
			return nomem(p);
		e->a = *out;
		*out = e;
		rc = next(p);
		if (rc == VT_OK)
			rc = parse_term(p, &e->b);
	}
	return rc;
}

/* The clause's source text with comments dropped and blank runs folded to one space. */
static char *fold_text(struct arena *a, const char *s, size_t n)
{
	char *out = arena_alloc(a, n + 1);
	size_t i, k = 0;
	bool blank = false;

	if (out == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '#') {
			while (i + 1 < n && s[i + 1] != '\n')
				i++;
			blank = true;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			blank = true;
		} else {
			if (blank && k > 0)
				out[k++] = ' ';
			blank = false;
			out[k++] = c;
		}
	}
	out[k] = '\0';
	return out;
}

/* ---- the parser: statements ---------------------------------------------------------------- */

/* A statement ends at a newline, ';', the end of the file, or its block's '}'. */
static int end_stmt(struct parser *p, bool in_block, const char *after)
{
	enum tkind k = p->tok.kind;

	if (k == T_NL || k == T_SEMI || k == T_EOF || (k == T_RBRACE && in_block))
		return VT_OK;
	return fail(p, tok_loc(p), "expected end of line or ';' after %s", after);
}

static int parse_stmts(struct parser *p, const char *prefix, bool top, const struct tok *open,
		       const char *what);

/* Records `name` as an arm unless declared already (a hash set keeps this linear). */
static int declare_arm(struct parser *p, struct scn_loc loc)
{
	struct scn_doc *doc = p->c->doc;
	struct arena *a = p->c->ar;
	const char *name = tok_text(p);
	size_t len = p->tok.end - p->tok.start, i;
	uint32_t h;
	struct scn_arm *arms;
	char *copy;

	/* Keep the table at most half full; rebuild it at twice the size when it would not be. */
	if ((size_t)(doc->narm + 1) * 2 > a->narm_slot) {
		unsigned nslot = a->narm_slot ? a->narm_slot * 2 : 64, j;
		unsigned *slot;

		if (a->narm_slot > UINT_MAX / 4)
			return nomem(p);
		slot = arena_alloc(a, (size_t)nslot * sizeof *slot);
		if (slot == NULL)
			return nomem(p);
		for (j = 0; j < doc->narm; j++) {
			const char *s = doc->arm[j].name;

			for (h = 2166136261u; *s != '\0'; s++)
				h = (h ^ (unsigned char)*s) * 16777619u;
			for (h &= nslot - 1; slot[h] != 0; h = (h + 1) & (nslot - 1))
				;
			slot[h] = j + 1;
		}
		a->arm_slot = slot;
		a->narm_slot = nslot;
	}
	/* FNV-1a, then linear probing. */
	for (h = 2166136261u, i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	for (h &= a->narm_slot - 1; a->arm_slot[h] != 0; h = (h + 1) & (a->narm_slot - 1)) {
		const char *s = doc->arm[a->arm_slot[h] - 1].name;

		if (strlen(s) == len && memcmp(s, name, len) == 0)
			return VT_OK;
	}
	arms = grow_array(a, doc->arm, doc->narm, &a->cap_arm, sizeof *arms);
	if (arms == NULL)
		return nomem(p);
	doc->arm = arms; /* at once: cap_arm already counts the new array */
	copy = arena_strndup(a, name, len);
	if (copy == NULL)
		return nomem(p);
	doc->arm[doc->narm].name = copy;
	doc->arm[doc->narm].loc = loc;
	doc->narm++;
	a->arm_slot[h] = doc->narm;
	return VT_OK;
}

static int add_assign(struct parser *p, const struct pathbuf *b, struct scn_value *v,
		      struct scn_loc loc)
{
	struct scn_doc *doc = p->c->doc;
	struct arena *a = p->c->ar;
	struct scn_assign *arr = grow_array(a, doc->assign, doc->nassign, &a->cap_assign,
					    sizeof *arr);
	char *path;

	if (arr == NULL)
		return nomem(p);
	doc->assign = arr; /* at once: cap_assign already counts the new array */
	path = arena_strndup(a, b->s, b->n);
	if (path == NULL)
		return nomem(p);
	arr[doc->nassign].path = path;
	arr[doc->nassign].value = v;
	arr[doc->nassign].loc = loc;
	arr[doc->nassign].value_loc = v->loc;
	doc->nassign++;
	return VT_OK;
}

/* Parses a block's body after its '{' (the lookahead), with paths prefixed by `prefix`. */
static int parse_block(struct parser *p, const struct pathbuf *b, const char *what)
{
	struct tok open = p->tok;
	char *prefix;
	int rc;

	if (++p->depth > SCN_MAX_DEPTH)
		return fail(p, tok_loc(p), "nesting too deep (more than %d levels)", SCN_MAX_DEPTH);
	prefix = arena_alloc(p->c->ar, b->n + 2);
	if (prefix == NULL)
		return nomem(p);
	memcpy(prefix, b->s, b->n);
	prefix[b->n] = '.';
	rc = next(p);
	if (rc == VT_OK)
		rc = parse_stmts(p, prefix, false, &open, what);
	p->depth--;
	return rc;
}

/* `path = value` or `path { ... }`; the lookahead is the path's first name. */
static int parse_setting(struct parser *p, const char *prefix, bool in_block)
{
	struct scn_loc loc = tok_loc(p);
	struct pathbuf b;
	struct scn_value *v;
	char after[SCN_MAX_PATH + 32];
	int rc;

	b.n = 0;
	b.s[0] = '\0';
	if (!path_add(&b, prefix, strlen(prefix)))
		return path_too_long(p, loc);
	rc = parse_path(p, &b, loc);
	if (rc != VT_OK)
		return rc;
	if (p->tok.kind == T_ASSIGN) {
		rc = next(p);
		if (rc == VT_OK)
			rc = parse_value(p, &v, "after '='");
		if (rc == VT_OK)
			rc = add_assign(p, &b, v, loc);
		if (rc != VT_OK)
			return rc;
		snprintf(after, sizeof after, "the value of '%s'", b.s);
		return end_stmt(p, in_block, after);
	}
	if (p->tok.kind == T_LBRACE) {
		snprintf(after, sizeof after, "after '%s'", b.s);
		rc = parse_block(p, &b, after);
		return rc != VT_OK ? rc : end_stmt(p, in_block, "'}'");
	}
	return fail(p, tok_loc(p), "expected '=' or '{' after '%s'", b.s);
}

/* `arm NAME [{ ... }]`; the lookahead is `arm`. */
static int parse_arm(struct parser *p, bool top, bool in_block)
{
	struct scn_loc loc = tok_loc(p);
	struct pathbuf b;
	char what[SCN_MAX_PATH + 32];
	int rc;

	if (!top)
		return fail(p, loc, "'arm' is only allowed at top level");
	rc = next(p);
	if (rc != VT_OK)
		return rc;
	if (p->tok.kind != T_IDENT)
		return fail(p, tok_loc(p), "expected an arm name after 'arm'");
	b.n = 0;
	if (!path_add(&b, "arm.", 4) || !path_add(&b, tok_text(p), p->tok.end - p->tok.start))
		return path_too_long(p, tok_loc(p));
	rc = declare_arm(p, tok_loc(p));
	if (rc == VT_OK)
		rc = next(p);
	if (rc != VT_OK)
		return rc;
	snprintf(what, sizeof what, "of arm '%s'", b.s + 4);
	if (p->tok.kind == T_LBRACE) {
		rc = parse_block(p, &b, what);
		return rc != VT_OK ? rc : end_stmt(p, in_block, "'}'");
	}
	if (p->tok.kind == T_NL || p->tok.kind == T_SEMI || p->tok.kind == T_EOF)
		return VT_OK;
	return fail(p, tok_loc(p), "expected '{', end of line or ';' after 'arm %s'", b.s + 4);
}

/* `expect EXPR CMP EXPR`; the lookahead is `expect`. */
static int parse_expect(struct parser *p, bool top, bool in_block)
{
	static const enum scn_cmp cmp_of[] = {
		[T_LT] = SCN_LT, [T_LE] = SCN_LE, [T_GT] = SCN_GT,
		[T_GE] = SCN_GE, [T_EQ] = SCN_EQ, [T_NE] = SCN_NE,
	};
	struct scn_doc *doc = p->c->doc;
	struct arena *a = p->c->ar;
	struct scn_expect x, *arr;
	size_t start;
	int rc;

	memset(&x, 0, sizeof x);
	x.loc = tok_loc(p);
	if (!top)
		return fail(p, x.loc, "'expect' is only allowed at top level");
	rc = next(p);
	if (rc != VT_OK)
		return rc;
	start = p->tok.start;
	if (p->tok.kind == T_NL || p->tok.kind == T_SEMI || p->tok.kind == T_EOF)
		return fail(p, tok_loc(p), "expected a comparison after 'expect', such as "
			    "'a.x < b.x'");
	rc = parse_expr(p, &x.lhs);
	if (rc != VT_OK)
		return rc;
	switch (p->tok.kind) {
	case T_LT: case T_LE: case T_GT: case T_GE: case T_EQ: case T_NE:
		x.cmp = cmp_of[p->tok.kind];
		break;
	default:
		return fail(p, tok_loc(p), "expected a comparison (<, <=, >, >=, == or !=) or an "
			    "operator in the expect clause%s",
			    p->tok.kind == T_ASSIGN ? " (use '==' to test equality)" : "");
	}
	rc = next(p);
	if (rc == VT_OK)
		rc = parse_expr(p, &x.rhs);
	if (rc != VT_OK)
		return rc;
	if (p->tok.kind >= T_LT && p->tok.kind <= T_NE)
		return fail(p, tok_loc(p), "only one comparison is allowed in an expect clause");
	rc = end_stmt(p, in_block, "the expect clause");
	if (rc != VT_OK)
		return rc;
	arr = grow_array(a, doc->expect, doc->nexpect, &a->cap_expect, sizeof *arr);
	if (arr == NULL)
		return nomem(p);
	doc->expect = arr; /* at once: cap_expect already counts the new array */
	x.text = fold_text(a, p->text + start, p->prev_end - start);
	if (x.text == NULL)
		return nomem(p);
	arr[doc->nexpect++] = x;
	return VT_OK;
}

static int parse_unit_text(struct ctx *c, const char *file, const char *text, size_t len,
			   const char *id);

/* Finds the doc->file entry of the file with realpath id, or -1. */
static long find_file(struct ctx *c, const char *id)
{
	unsigned i;

	for (i = 0; i < c->doc->nfile; i++)
		if (c->ar->file_id[i] != NULL && strcmp(c->ar->file_id[i], id) == 0)
			return (long)i;
	return -1;
}

/* Records a file's path and full text in doc->file (copies both into the arena). */
static int add_file(struct ctx *c, const char *path, const char *text, size_t len,
		    const char *id, unsigned *index)
{
	struct scn_doc *doc = c->doc;
	struct arena *a = c->ar;
	unsigned cap = a->cap_file;
	const char **ids;
	struct scn_file *files;
	char *pcopy, *tcopy, *icopy = NULL;

	/* file_id and file share cap_file: grow file_id with a copy of it first, then file. */
	ids = grow_array(a, a->file_id, doc->nfile, &cap, sizeof *ids);
	if (ids == NULL)
		return VT_ENOMEM;
	files = grow_array(a, doc->file, doc->nfile, &a->cap_file, sizeof *files);
	if (files == NULL)
		return VT_ENOMEM;
	a->file_id = ids;
	doc->file = files;
	pcopy = arena_strndup(a, path, strlen(path));
	tcopy = arena_strndup(a, text, len);
	if (id != NULL)
		icopy = arena_strndup(a, id, strlen(id));
	if (pcopy == NULL || tcopy == NULL || (id != NULL && icopy == NULL))
		return VT_ENOMEM;
	files[doc->nfile].path = pcopy;
	files[doc->nfile].text = tcopy;
	files[doc->nfile].len = len;
	ids[doc->nfile] = icopy;
	*index = doc->nfile++;
	return VT_OK;
}

/* Reads a whole file into a malloc'd buffer. Returns 0, or an errno value (EFBIG when it is
 * larger than SCN_MAX_FILE_BYTES). */
static int read_whole(const char *path, char **out, size_t *outlen)
{
	FILE *f;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	int e = 0;

	errno = 0;
	f = fopen(path, "rb");
	if (f == NULL)
		return errno ? errno : EIO;
	for (;;) {
		size_t got;

		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			char *t;

			if (ncap > (size_t)SCN_MAX_FILE_BYTES + 1)
				ncap = (size_t)SCN_MAX_FILE_BYTES + 1;
			t = realloc(buf, ncap);
			if (t == NULL) {
				e = ENOMEM;
				break;
			}
			buf = t;
			cap = ncap;
		}
		errno = 0;
		got = fread(buf + n, 1, cap - n, f);
		n += got;
		if (n > SCN_MAX_FILE_BYTES) {
			e = EFBIG;
			break;
		}
		if (got == 0) {
			if (ferror(f))
				e = errno ? errno : EIO;
			break;
		}
	}
	fclose(f);
	if (e != 0) {
		free(buf);
		return e;
	}
	*out = buf;
	*outlen = n;
	return 0;
}

/* `include "path"`; the lookahead is `include`. */
static int parse_include(struct parser *p, bool top, bool in_block)
{
	struct ctx *c = p->c;
	struct scn_loc loc = tok_loc(p), sloc;
	const char *rel, *slash;
	char *full = NULL, *id = NULL, *text = NULL;
	size_t dirlen, len;
	long found;
	unsigned idx, i;
	int rc, e;

	if (!top)
		return fail(p, loc, "'include' is only allowed at top level");
	if (!c->allow_include)
		return fail(p, loc, "'include' is not allowed in this input");
	rc = next(p);
	if (rc != VT_OK)
		return rc;
	if (p->tok.kind != T_STR)
		return fail(p, tok_loc(p), "expected a file name in quotes after 'include'");
	sloc = tok_loc(p);
	rel = p->tok.str;
	if (rel[0] == '\0')
		return fail(p, sloc, "expected a file name after 'include', not an empty string");
	rc = next(p);
	if (rc == VT_OK)
		rc = end_stmt(p, in_block, "the include file name");
	if (rc != VT_OK)
		return rc;
	if (c->nopen > SCN_MAX_INCLUDE_DEPTH)
		return fail(p, sloc, "includes nested too deeply (more than %d levels)",
			    SCN_MAX_INCLUDE_DEPTH);

	/* The path relative to the including file's directory, unless absolute. */
	slash = strrchr(p->file, '/');
	dirlen = rel[0] == '/' || slash == NULL ? 0 : (size_t)(slash - p->file) + 1;
	full = malloc(dirlen + strlen(rel) + 1);
	if (full == NULL)
		return nomem(p);
	memcpy(full, p->file, dirlen);
	strcpy(full + dirlen, rel);

	errno = 0;
	id = realpath(full, NULL);
	if (id == NULL) {
		rc = fail(p, sloc, "cannot open include file '%s': %s", full, strerror(errno));
		goto out;
	}
	for (i = 0; i < c->nopen; i++) {
		if (c->open_id[i] != NULL && strcmp(c->open_id[i], id) == 0) {
			rc = fail(p, sloc, "include cycle: '%s' is already being read", full);
			goto out;
		}
	}
	found = find_file(c, id);
	if (found >= 0) {
		idx = (unsigned)found;
	} else {
		e = read_whole(full, &text, &len);
		if (e == EFBIG)
			rc = fail(p, sloc, "include file '%s' is larger than %u bytes", full,
				  SCN_MAX_FILE_BYTES);
		else if (e != 0)
			rc = fail(p, sloc, "cannot read include file '%s': %s", full, strerror(e));
		else if (add_file(c, full, text, len, id, &idx) != VT_OK)
			rc = nomem(p);
		if (rc != VT_OK)
			goto out;
	}
	len = c->doc->file[idx].len;
	if (len > SCN_MAX_TOTAL_BYTES - c->total_bytes) {
		rc = fail(p, sloc, "scenario too large: its includes add up to more than %u bytes",
			  SCN_MAX_TOTAL_BYTES);
		goto out;
	}
	c->total_bytes += len;
	rc = parse_unit_text(c, c->doc->file[idx].path, c->doc->file[idx].text, len,
			     c->ar->file_id[idx]);
out:
	free(text);
	free(id);
	free(full);
	return rc;
}

static int parse_stmt(struct parser *p, const char *prefix, bool top, bool in_block)
{
	if (p->tok.kind == T_IDENT) {
		if (tok_is_word(p, "arm"))
			return parse_arm(p, top, in_block);
		if (tok_is_word(p, "expect"))
			return parse_expect(p, top, in_block);
		if (tok_is_word(p, "include"))
			return parse_include(p, top, in_block);
		return parse_setting(p, prefix, in_block);
	}
	if (p->tok.kind == T_LBRACE)
		return fail(p, tok_loc(p), "unexpected '{' at the start of a statement (a block's "
			    "'{' goes on the same line as its path)");
	return fail(p, tok_loc(p), "unexpected %s at the start of a statement (expected a setting "
		    "path, 'arm', 'expect' or 'include')", tok_desc(p->tok.kind));
}

/*
 * Parses statements up to the end of the file (open == NULL) or the '}' closing the block opened
 * by `open` (then consumed). `what` names the block for the unclosed-block error.
 */
static int parse_stmts(struct parser *p, const char *prefix, bool top, const struct tok *open,
		       const char *what)
{
	int rc = VT_OK;

	while (rc == VT_OK) {
		switch (p->tok.kind) {
		case T_NL:
		case T_SEMI:
			rc = next(p);
			break;
		case T_EOF:
			if (open != NULL) {
				struct scn_loc l = { p->file, open->line, open->col };

				return fail(p, l, "unclosed '{' %s: expected '}' before the end of "
					    "the file", what);
			}
			return VT_OK;
		case T_RBRACE:
			if (open != NULL)
				return next(p);
			return fail(p, tok_loc(p), "unexpected '}' (no block is open)");
		default:
			rc = parse_stmt(p, prefix, top, open != NULL);
			break;
		}
	}
	return rc;
}

/* Parses one file's text (the main file or an include) into the document. */
static int parse_unit_text(struct ctx *c, const char *file, const char *text, size_t len,
			   const char *id)
{
	struct parser p;
	int rc;

	memset(&p, 0, sizeof p);
	p.c = c;
	p.file = file;
	p.text = text;
	p.len = len;
	p.line = 1;
	c->open_id[c->nopen++] = id;
	rc = next(&p);
	if (rc == VT_OK)
		rc = parse_stmts(&p, "", true, NULL, "");
	c->nopen--;
	return rc;
}

/* ---- entry points -------------------------------------------------------------------------- */

static bool ctx_init(struct ctx *c, struct scn_doc *doc, struct scn_error *err, bool allow)
{
	memset(c, 0, sizeof *c);
	c->doc = doc;
	c->err = err;
	c->allow_include = allow;
	c->ar = doc_arena(doc);
	return c->ar != NULL;
}

int scn_parse_file(struct scn_doc *doc, const char *path, struct scn_error *err)
{
	struct ctx c;
	char *id, *text = NULL;
	size_t len = 0;
	long found;
	unsigned idx;
	int e, rc = VT_OK;

	memset(err, 0, sizeof *err);
	if (!ctx_init(&c, doc, err, true)) {
		fail_noloc(err, path, "out of memory");
		return VT_ENOMEM;
	}
	errno = 0;
	id = realpath(path, NULL);
	if (id == NULL) {
		fail_noloc(err, path, "cannot read scenario: %s", strerror(errno));
		return VT_EINPUT;
	}
	found = find_file(&c, id);
	if (found >= 0) {
		idx = (unsigned)found;
	} else {
		e = read_whole(path, &text, &len);
		if (e == EFBIG) {
			fail_noloc(err, path, "cannot read scenario: larger than %u bytes",
				   SCN_MAX_FILE_BYTES);
			rc = VT_EINPUT;
		} else if (e != 0) {
			fail_noloc(err, path, "cannot read scenario: %s", strerror(e));
			rc = e == ENOMEM ? VT_ENOMEM : VT_EINPUT;
		} else if (add_file(&c, path, text, len, id, &idx) != VT_OK) {
			fail_noloc(err, path, "out of memory");
			rc = VT_ENOMEM;
		}
	}
	free(text);
	free(id);
	if (rc != VT_OK)
		return rc;
	c.total_bytes = doc->file[idx].len;
	return parse_unit_text(&c, doc->file[idx].path, doc->file[idx].text, doc->file[idx].len,
			       c.ar->file_id[idx]);
}

int scn_parse_text(struct scn_doc *doc, const char *name, const char *text, size_t len,
		   bool allow_include, struct scn_error *err)
{
	struct ctx c;
	char *id = NULL;
	unsigned idx;
	int rc;

	memset(err, 0, sizeof *err);
	if (name == NULL)
		name = "<text>";
	if (text == NULL)
		len = 0;
	if (!ctx_init(&c, doc, err, allow_include)) {
		fail_noloc(err, name, "out of memory");
		return VT_ENOMEM;
	}
	if (len > SCN_MAX_FILE_BYTES) {
		fail_noloc(err, name, "scenario larger than %u bytes", SCN_MAX_FILE_BYTES);
		return VT_EINPUT;
	}
	/* Only includes need the file's identity (to find cycles through it). */
	if (allow_include)
		id = realpath(name, NULL);
	rc = add_file(&c, name, text ? text : "", len, id, &idx);
	free(id);
	if (rc != VT_OK) {
		fail_noloc(err, name, "out of memory");
		return rc;
	}
	c.total_bytes = len;
	return parse_unit_text(&c, doc->file[idx].path, doc->file[idx].text, len,
			       c.ar->file_id[idx]);
}

int scn_parse_override(struct scn_doc *doc, const char *arg, unsigned index,
		       struct scn_error *err)
{
	struct ctx c;
	struct parser p;
	struct pathbuf b;
	struct scn_value *v;
	struct scn_loc loc;
	char shown[80];
	int rc;

	memset(err, 0, sizeof *err);
	if (arg == NULL)
		arg = "";
	if (!ctx_init(&c, doc, err, false)) {
		fail_noloc(err, "--set", "out of memory");
		return VT_ENOMEM;
	}
	memset(&p, 0, sizeof p);
	p.c = &c;
	p.file = "--set";
	p.text = arg;
	p.len = strlen(arg);
	p.line = index;
	quote_for_msg(shown, sizeof shown, arg, p.len);
	rc = next(&p);
	if (rc != VT_OK)
		return rc;
	loc = tok_loc(&p);
	if (p.tok.kind != T_IDENT)
		return fail(&p, loc, "expected a setting path at the start of override '%s'",
			    shown);
	b.n = 0;
	b.s[0] = '\0';
	rc = parse_path(&p, &b, loc);
	if (rc != VT_OK)
		return rc;
	if (p.tok.kind != T_ASSIGN)
		return fail(&p, tok_loc(&p), "expected '=' in override '%s'", shown);
	rc = next(&p);
	if (rc == VT_OK)
		rc = parse_value(&p, &v, "after '='");
	if (rc != VT_OK)
		return rc;
	if (p.tok.kind != T_EOF)
		return fail(&p, tok_loc(&p), "expected the end of override '%s' after its value",
			    shown);
	return add_assign(&p, &b, v, loc);
}

/* ---- formatting ---------------------------------------------------------------------------- */

/* A bounded output buffer: writes what fits, always NUL-terminated when len > 0. */
struct out {
	char *buf;
	size_t len, pos;
};

static void out_mem(struct out *o, const char *s, size_t n)
{
	size_t room;

	if (o->len == 0)
		return;
	room = o->len - 1 - o->pos;
	if (n > room)
		n = room;
	memcpy(o->buf + o->pos, s, n);
	o->pos += n;
	o->buf[o->pos] = '\0';
}

static void out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

static void out_u128(struct out *o, u128 v)
{
	char d[48];
	size_t k = sizeof d;

	do {
		d[--k] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v != 0);
	out_mem(o, d + k, sizeof d - k);
}

static u128 mag128(s128 x)
{
	return x < 0 ? (u128)0 - (u128)x : (u128)x;
}

/*
 * num/den as an exact decimal when den has no prime factors but 2 and 5 (then the expansion
 * ends, after at most 127 digits), else as "num/den". Digits come by long division: the
 * remainder stays below den, so rem * 10 cannot overflow when den < 2^124.
 */
static void out_rat(struct out *o, s128 num, s128 den)
{
	u128 m = mag128(num), d, q, rem, dd;

	if (den <= 0) {
		/* Not a valid scn_num; show it raw rather than guess. */
		if (num < 0)
			out_str(o, "-");
		out_u128(o, m);
		out_str(o, "/");
		if (den < 0)
			out_str(o, "-");
		out_u128(o, mag128(den));
		return;
	}
	d = (u128)den;
	if (num < 0)
		out_str(o, "-");
	q = m / d;
	rem = m % d;
	for (dd = d; dd % 2 == 0; dd /= 2)
		;
	for (; dd % 5 == 0; dd /= 5)
		;
	if (rem != 0 && (dd != 1 || d >= ((u128)1 << 124))) {
		out_u128(o, m);
		out_str(o, "/");
		out_u128(o, d);
		return;
	}
	out_u128(o, q);
	if (rem != 0) {
		out_str(o, ".");
		while (rem != 0) {
			char c;

			rem *= 10;
			c = (char)('0' + (int)(rem / d));
			rem %= d;
			out_mem(o, &c, 1);
		}
	}
}

static const char *dim_unit(enum scn_dim dim)
{
	switch (dim) {
	case SCN_DIM_NONE: return "";
	case SCN_DIM_TIME: return "ns";
	case SCN_DIM_FREQ: return "Hz";
	case SCN_DIM_PPM: return "ppm";
	case SCN_DIM_CYCLES: return "cycles";
	case SCN_DIM_RATE: return "/s";
	}
	return "?";
}

static void out_num(struct out *o, const struct scn_num *n)
{
	out_rat(o, n->num, n->den);
	out_str(o, dim_unit(n->dim));
}

static void out_value(struct out *o, const struct scn_value *v)
{
	unsigned i;
	const char *s;

	if (v == NULL) {
		out_str(o, "?");
		return;
	}
	switch (v->kind) {
	case SCN_V_NUM:
		out_num(o, &v->num);
		return;
	case SCN_V_STR:
		out_str(o, "\"");
		for (s = v->str ? v->str : ""; *s != '\0'; s++) {
			if (*s == '"')
				out_str(o, "\\\"");
			else if (*s == '\\')
				out_str(o, "\\\\");
			else if (*s == '\n')
				out_str(o, "\\n");
			else if (*s == '\t')
				out_str(o, "\\t");
			else
				out_mem(o, s, 1);
		}
		out_str(o, "\"");
		return;
	case SCN_V_IDENT:
		out_str(o, v->str ? v->str : "");
		return;
	case SCN_V_LIST:
	case SCN_V_CALL:
		if (v->kind == SCN_V_CALL)
			out_str(o, v->str ? v->str : "");
		out_str(o, v->kind == SCN_V_LIST ? "[" : "(");
		for (i = 0; i < v->n && v->items != NULL; i++) {
			if (i > 0)
				out_str(o, ", ");
			out_value(o, v->items[i]);
		}
		out_str(o, v->kind == SCN_V_LIST ? "]" : ")");
		return;
	}
	out_str(o, "?");
}

void scn_value_format(const struct scn_value *v, char *buf, size_t len)
{
	struct out o = { buf, len, 0 };

	if (len > 0)
		buf[0] = '\0';
	out_value(&o, v);
}

void scn_num_format(const struct scn_num *n, char *buf, size_t len)
{
	struct out o = { buf, len, 0 };

	if (len > 0)
		buf[0] = '\0';
	out_num(&o, n);
}

const char *scn_dim_name(enum scn_dim dim)
{
	switch (dim) {
	case SCN_DIM_NONE: return "a plain number";
	case SCN_DIM_TIME: return "a time";
	case SCN_DIM_FREQ: return "a frequency";
	case SCN_DIM_PPM: return "a ppm value";
	case SCN_DIM_CYCLES: return "a cycle count";
	case SCN_DIM_RATE: return "a rate";
	}
	return "an unknown dimension";
}
