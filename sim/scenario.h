/*
 * scenario.h: the scenario language: lexer and parser.
 *
 * A scenario file (README "Scenario language") becomes a document: an ordered list of
 * assignments `path = value` (blocks and `arm NAME { }` only prefix the paths), the arms in the
 * order they were declared, and the `expect` clauses as expression trees. The parser knows no
 * keys: which paths exist, their types, units and defaults is the job of config.c, which walks
 * the document. Every node keeps its source location, so that any later error can still say
 * `file:line:col: message`.
 *
 * Numbers are exact: a literal with its unit becomes a rational num/den in the unit's base
 * (ns, Hz, ppm, cycles, events per second), e.g. `2.5GHz` = 2500000000/1 Hz, `2/min` = 1/30 per
 * second, `0.2ppm` = 1/5 ppm. No floating point is involved in parsing.
 */
#ifndef VT_SCENARIO_H
#define VT_SCENARIO_H

#include "vt.h"

struct scn_loc {
	const char *file; /* as given (scenario path, include path, or "--set") */
	unsigned line;    /* 1-based */
	unsigned col;     /* 1-based, in bytes */
};

/* The dimension of a number's unit; a bare number has SCN_DIM_NONE. */
enum scn_dim {
	SCN_DIM_NONE,   /* bare number; `%` also gives NONE (value / 100) */
	SCN_DIM_TIME,   /* base ns: ns us ms s min h */
	SCN_DIM_FREQ,   /* base Hz: Hz kHz MHz GHz */
	SCN_DIM_PPM,    /* base ppm: ppm ppb */
	SCN_DIM_CYCLES, /* base cycles: cycles */
	SCN_DIM_RATE,   /* base events per second: /s /ms /us /min /h */
};

/* An exact rational number in its dimension's base unit: num / den, den > 0, reduced. */
struct scn_num {
	s128 num;
	s128 den;
	enum scn_dim dim;
};

enum scn_vkind {
	SCN_V_NUM,   /* 2.5GHz, -31ppm, 86_000cycles, 0x10, 50% */
	SCN_V_STR,   /* "text" */
	SCN_V_IDENT, /* an identifier: gtsc-resume, auto, yes */
	SCN_V_LIST,  /* [ v, v, ... ] */
	SCN_V_CALL,  /* name(v, v, ...); a tuple (v, v) is a call with name "" */
};

struct scn_value {
	enum scn_vkind kind;
	struct scn_loc loc;
	struct scn_num num;            /* SCN_V_NUM */
	const char *str;               /* SCN_V_STR text, SCN_V_IDENT name, SCN_V_CALL name */
	unsigned n;                    /* SCN_V_LIST, SCN_V_CALL: number of items */
	struct scn_value **items;      /* SCN_V_LIST, SCN_V_CALL */
};

struct scn_assign {
	const char *path;              /* normalised: "host.cpu[2].skew_ppm", "arm.gtsc-resume.policy" */
	struct scn_value *value;
	struct scn_loc loc;            /* of the path's first character */
	struct scn_loc value_loc;
};

enum scn_eop { SCN_E_NUM, SCN_E_REF, SCN_E_ADD, SCN_E_SUB, SCN_E_MUL, SCN_E_DIV, SCN_E_NEG,
	       SCN_E_ABS };

struct scn_expr {
	enum scn_eop op;
	struct scn_loc loc;
	struct scn_num num;            /* SCN_E_NUM */
	const char *arm, *metric;      /* SCN_E_REF: `arm.metric` */
	struct scn_expr *a, *b;        /* operands (b unused for NEG and ABS) */
};

enum scn_cmp { SCN_LT, SCN_LE, SCN_GT, SCN_GE, SCN_EQ, SCN_NE };

struct scn_expect {
	const char *text;              /* the clause as written, whitespace folded: "a.x < b.x / 10" */
	struct scn_loc loc;
	struct scn_expr *lhs, *rhs;
	enum scn_cmp cmp;
};

struct scn_arm {
	const char *name;
	struct scn_loc loc;
};

struct scn_file {
	const char *path;
	const char *text;              /* the file's full text, NUL-terminated */
	size_t len;
};

/* A parsed scenario; every pointer in it is owned by the document (one arena). */
struct scn_doc {
	unsigned nassign, nexpect, narm, nfile;
	struct scn_assign *assign;     /* in source order (includes expanded in place), then --set */
	struct scn_expect *expect;
	struct scn_arm *arm;           /* declaration order; a repeated `arm X` block adds no entry */
	struct scn_file *file;         /* the main file first, then each include as first read */
	void *arena;                   /* private */
};

/* The first error found; message is "file:line:col: what was expected". */
struct scn_error {
	struct scn_loc loc;
	char msg[512];
};

/* Limits that keep hostile input bounded (a fuzzer's input, a runaway include). */
#define SCN_MAX_DEPTH 64          /* nesting of blocks, lists, calls and expressions */
#define SCN_MAX_INCLUDE_DEPTH 16
#define SCN_MAX_FILE_BYTES (4u << 20)
#define SCN_MAX_TOTAL_BYTES (16u << 20) /* all files of one parse call, includes expanded */
#define SCN_MAX_PATH 255                /* bytes of a normalised path, block prefix included */

/* Initialises an empty document. */
void scn_doc_init(struct scn_doc *doc);
/* Frees everything the document owns. Safe on a document that failed to parse. */
void scn_doc_free(struct scn_doc *doc);

/*
 * Parses the file at `path` (and its includes, resolved relative to the including file's
 * directory) into `doc`, appending. Returns VT_OK, VT_EINPUT (syntax, missing or unreadable file,
 * include cycle; `err` says where and what) or VT_ENOMEM.
 */
int scn_parse_file(struct scn_doc *doc, const char *path, struct scn_error *err);
/*
 * Parses `len` bytes of `text` named `name` (for messages). Includes are resolved relative to
 * `name`'s directory; with allow_include false an include is an error (the fuzzer's mode).
 */
int scn_parse_text(struct scn_doc *doc, const char *name, const char *text, size_t len,
		   bool allow_include, struct scn_error *err);
/*
 * Parses one command-line override `path=value` (the argument of --set) and appends it as an
 * assignment located at "--set:<index>:<col>". Returns VT_OK or VT_EINPUT.
 */
int scn_parse_override(struct scn_doc *doc, const char *arg, unsigned index,
		       struct scn_error *err);

/* Formats a value back as scenario text (for messages and the expanded scenario). */
void scn_value_format(const struct scn_value *v, char *buf, size_t len);
/* Formats a number with its dimension's base unit, e.g. "2500000000Hz", "1/30/s". */
void scn_num_format(const struct scn_num *n, char *buf, size_t len);
/* The name of a dimension for messages: "a time", "a frequency", ... */
const char *scn_dim_name(enum scn_dim dim);

/*
 * Test hook (SQLite's test_malloc.c idea): after `nallocs` more allocations succeed, every
 * allocation of this document fails, so that tests can drive each VT_ENOMEM path. Returns VT_OK,
 * or VT_ENOMEM when the document's private state cannot be allocated.
 */
int scn_doc_set_alloc_limit(struct scn_doc *doc, size_t nallocs);

#endif /* VT_SCENARIO_H */
