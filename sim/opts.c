/*
 * opts.c: reading a layer's resolved options (models/opts.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opts.h"

static const struct opt_val *find(const struct opt_set *s, const char *name)
{
	for (unsigned i = 0; s && i < s->n; i++)
		if (strcmp(s->v[i].desc->name, name) == 0)
			return &s->v[i];
	/* A layer asking for an option it did not declare is a bug in that layer. */
	fprintf(stderr, "vtsim: internal error: undeclared option '%s'\n", name);
	abort();
}

int64_t opt_get(const struct opt_set *s, const char *name)
{
	return find(s, name)->value;
}

int opt_is_set(const struct opt_set *s, const char *name)
{
	return find(s, name)->set;
}
