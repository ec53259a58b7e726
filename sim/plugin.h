/*
 * plugin.h: readers supplied by the user as C source or shared objects (sim/plugin.c).
 */
#ifndef VT_PLUGIN_H
#define VT_PLUGIN_H

#include <limits.h>

#include "guest/reader.h"
#include "vt.h"

struct plugin_info {
	char so_path[PATH_MAX + 64]; /* the object to load (the cached build, or the user's .so) */
	uint64_t hash;               /* FNV-1a of the source, headers and compiler */
};

/* Does a reader name in a scenario name a file (ends in .c or .so, or contains '/')? */
bool plugin_is_path(const char *name);
/*
 * Builds (or finds in the cache) and test-loads the plugin `name`, relative to the scenario's
 * directory. Returns VT_OK, VT_EINPUT (msg says why: does not compile, cannot load, no entry
 * point, crashed while loading) or VT_EIO (the cache cannot be written).
 */
int plugin_prepare(const char *name, const char *scenario_path, struct plugin_info *out,
		   char *msg, size_t msglen);

/* The adapter through which the engine runs a plugin; reader_ctx.plugin_so says which. */
extern const struct reader_ops reader_plugin;

#endif /* VT_PLUGIN_H */
