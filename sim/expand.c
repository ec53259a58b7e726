/*
 * expand.c: the fully expanded text of a parsed scenario: the main file with every `include`
 * line replaced by the included file's own (expanded) text, between marker comments. This is
 * what the results database stores, so a run can be read and re-run without its include files.
 */
#include <stdlib.h>
#include <string.h>

#include "expand.h"

struct buf {
	char *s;
	size_t n, cap;
	bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *ns;

		while (cap < b->n + n + 1)
			cap *= 2;
		ns = realloc(b->s, cap);
		if (!ns) {
			b->oom = true;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static const struct scn_file *find(const struct scn_doc *doc, const char *path, size_t n)
{
	for (unsigned i = 0; i < doc->nfile; i++)
		if (strlen(doc->file[i].path) == n && strncmp(doc->file[i].path, path, n) == 0)
			return &doc->file[i];
	return NULL;
}

/* If `line` is `include "rel"` (blanks and a trailing comment allowed), the rel path. */
static bool include_line(const char *line, size_t len, const char **rel, size_t *rlen)
{
	const char *p = line, *end = line + len, *q;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(end - p) < 8 || strncmp(p, "include", 7) != 0 || (p[7] != ' ' && p[7] != '\t'))
		return false;
	p += 7;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p >= end || *p != '"')
		return false;
	q = ++p;
	while (q < end && *q != '"')
		q++;
	if (q >= end)
		return false;
	*rel = p;
	*rlen = (size_t)(q - p);
	return true;
}

static void expand(const struct scn_doc *doc, const struct scn_file *f, struct buf *b, int depth)
{
	const char *s = f->text, *end = f->text + f->len;
	const char *slash = strrchr(f->path, '/');
	size_t dirlen = slash ? (size_t)(slash - f->path) + 1 : 0;

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
		const char *rel;
		size_t rlen;
		const struct scn_file *inc = NULL;

		if (depth < SCN_MAX_INCLUDE_DEPTH && include_line(s, len, &rel, &rlen)) {
			char *full = malloc(dirlen + rlen + 1);

			if (full) {
				size_t n = rel[0] == '/' ? 0 : dirlen;

				memcpy(full, f->path, n);
				memcpy(full + n, rel, rlen);
				full[n + rlen] = '\0';
				inc = find(doc, full, n + rlen);
				free(full);
			}
		}
		if (inc) {
			puts_(b, "# ---- ");
			put(b, s, len);
			puts_(b, " (expanded) ----\n");
			expand(doc, inc, b, depth + 1);
			if (b->n && b->s[b->n - 1] != '\n')
				puts_(b, "\n");
			puts_(b, "# ---- end of ");
			put(b, rel, rlen);
			puts_(b, " ----\n");
		} else {
			put(b, s, len);
			if (nl)
				puts_(b, "\n");
		}
		s = nl ? nl + 1 : end;
	}
}

char *scenario_expand(const struct scn_doc *doc)
{
	struct buf b = { NULL, 0, 0, false };

	puts_(&b, "");
	if (doc->nfile > 0)
		expand(doc, &doc->file[0], &b, 0);
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}
