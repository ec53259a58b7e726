/*
 * report.h: `bin/sim report`, the policy-comparison report of runs kept in the results database
 * (sim/report.c; a sweep's report in sim/report_sweep.c). For each selected run it writes, into DIR/<scenario>-<first 8 hex digits of the
 * run id>/, the plot data read back from the database, gnuplot scripts made from the templates in
 * reports/<name>.gp, the plots (PNG and SVG, when gnuplot is installed), report.md and a self-contained
 * index.html. For a sweep (--sweep) it writes the same kinds of files into DIR/<sweep id>/: per
 * metric a plot against the swept parameter, one line per arm, and a table of every point.
 */
#ifndef VT_REPORT_H
#define VT_REPORT_H

#include <stddef.h>
#include <stdio.h>

/*
 * Runs `report` with argv[0] the command name ("report") and argv[1..] its arguments:
 *   [DB] [-o DIR] [--run ID | --scenario NAME | --sweep ID|latest]
 * DB defaults to $VTSIM_DB, else results.db (where bin/sim writes), DIR to reports/out. One line per report written goes to `out`
 * (the report's directory and its index.html), messages to `err`. Returns 0 (EXIT_HELD) when
 * every report was written, with or without plots (a missing or failing gnuplot is reported on
 * `err` but is not an error); 2 (EXIT_BADINPUT) on usage errors, a missing or non-vtsim
 * database, an unknown run, scenario or sweep, or a sweep without a complete run; 3
 * (EXIT_IOERR) when reading the database or writing DIR failed.
 */
int report_main(int argc, char **argv, FILE *out, FILE *err);

/*
 * The built-in copy of the gnuplot template NAME ("error", "divergence", "warps", "cdf",
 * "timeline", "sweep"), used when reports/NAME.gp cannot be found at run time; NULL for another
 * name.
 * It is the same text as the file (the report suite checks that).
 */
const char *report_template_builtin(const char *name);

/*
 * Base64 (RFC 4648 section 4, the standard alphabet, with '=' padding) of the n bytes at in,
 * written to out, which must have room for 4 * ((n + 2) / 3) + 1 bytes. Returns the number of
 * characters written, not counting the terminating NUL.
 */
size_t report_base64(const void *in, size_t n, char *out);

#endif /* VT_REPORT_H */
