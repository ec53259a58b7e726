/*
 * expand.h: the fully expanded text of a parsed scenario (sim/expand.c).
 */
#ifndef VT_EXPAND_H
#define VT_EXPAND_H

#include "scenario.h"

/* The main file with its includes inlined (malloc'd, NUL-terminated); NULL when out of memory. */
char *scenario_expand(const struct scn_doc *doc);

#endif /* VT_EXPAND_H */
