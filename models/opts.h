/*
 * opts.h: options of a layer (TSC policy, clock-page provider, guest reader).
 *
 * A layer declares its options in a {0}-terminated table; a scenario sets them under the arm,
 * e.g. `arm nvmm { policy = gtsc-resume  reader = tsc  reader.freq = 2.4GHz }`. config.c checks
 * every option a scenario sets against the table (unknown names and wrong units are input
 * errors, exit 2) and hands the layer a resolved set; the layer reads it with the getters below,
 * which return the table's default for an option the scenario did not set.
 */
#ifndef VT_OPTS_H
#define VT_OPTS_H

#include <stdint.h>

enum opt_type {
	OPT_INT,    /* a count */
	OPT_TIME,   /* ns */
	OPT_FREQ,   /* Hz */
	OPT_PPM,    /* parts per billion internally, written in ppm */
	OPT_CYCLES, /* cycles */
	OPT_BOOL,   /* yes/no, on/off, true/false */
	OPT_ENUM,   /* one identifier of `choices` ("a|b|c") */
};

struct opt_desc {
	const char *name;
	enum opt_type type;
	const char *def;     /* default, as scenario text ("0", "auto", "1ms"); NULL: none */
	const char *choices; /* OPT_ENUM: "auto|on|off" */
	const char *doc;     /* one line for `bin/sim keys` and the README */
};

/* A resolved option: its integer value (enum: index into choices; bool: 0/1). */
struct opt_val {
	const struct opt_desc *desc;
	int64_t value;
	int set; /* 1 when the scenario set it, 0 when it is the default */
};

struct opt_set {
	unsigned n;
	struct opt_val *v; /* one per entry of the layer's table, in table order */
};

/*
 * A fact a layer reports about itself at the end of a run (kvmclock: whether master-clock mode
 * was on); shown beside the metrics and usable in expect clauses as ARM.NAME.
 */
struct layer_fact {
	const char *name;
	const char *doc;
};

#define LAYER_MAX_FACTS 8

/* The value of option `name` (it must be in the layer's table: a programming error otherwise). */
int64_t opt_get(const struct opt_set *s, const char *name);
/* True when the scenario set option `name` explicitly. */
int opt_is_set(const struct opt_set *s, const char *name);

#endif /* VT_OPTS_H */
