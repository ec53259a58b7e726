/*
 * reader.h: the guest clock reader ops table: the guest's clocksource read function.
 *
 * A reader runs inside the guest: it may only reach the machine through the guest environment
 * (env.h: rdtsc, the clock page, barriers). It returns guest nanoseconds since the guest booted.
 * Per-VM state (a global clamp such as Linux's last_value) lives in the instance and is reset
 * between arms and on a guest resume.
 */
#ifndef VT_READER_H
#define VT_READER_H

#include <stddef.h>

#include "envcore.h"
#include "opts.h"

#define READER_OPS_VERSION 1

/* What a read returned. */
enum read_status {
	READ_OK,       /* *ns is the clock value */
	READ_FALLBACK, /* the reader refused (vDSO without the stable bit): the guest would fall back
			  to a system call; *ns is still what that fallback returned */
};

/* Static facts a reader may use at init (what the guest learned at boot). */
struct reader_ctx {
	unsigned nvcpus;
	uint64_t tsc_hz; /* the TSC frequency the guest was told */
	const char *plugin_so; /* the `plugin` adapter only: the shared object to load */
};

struct reader;

struct reader_ops {
	int version;
	const char *name;
	const char *describe;
	size_t state_size;
	const struct opt_desc *options;

	int (*init)(struct reader *r, const struct reader_ctx *ctx, const struct opt_set *opts);
	void (*fini)(struct reader *r);
	/* Guest resume (pvclock_resume): forget cross-read state such as a clamp. */
	void (*reset)(struct reader *r);
	/* One clock read by the current vCPU (env.h reaches the machine). The hot path. */
	enum read_status (*read)(struct reader *r, uint64_t *ns);
	/*
	 * Optional: copy src's state into dst, an instance initialized with the same context
	 * (the model checker snapshots a reader at a read's start to judge no_torn). NULL: the
	 * state is flat (state_size bytes, no pointers) and is copied byte for byte. Returns 0, or
	 * non-zero when the state cannot be copied (a plugin's lives in its shared object).
	 */
	int (*copy_state)(struct reader *dst, const struct reader *src);
};

struct reader {
	const struct reader_ops *ops;
	void *state;
};

#endif /* VT_READER_H */
