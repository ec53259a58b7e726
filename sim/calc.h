/*
 * calc.h: `bin/sim calc`, a calculator of the hypervisor time-scale arithmetic of
 * models/timescale.h for given TSC frequencies (REFERENCE 1, 2.3, 3).
 */
#ifndef VT_CALC_H
#define VT_CALC_H

#include <stdio.h>

/*
 * Runs `calc` with argv[0] the command name ("calc") and argv[1..] its arguments:
 *   FREQ... [--guest FREQ] [--json]
 * Results go to `out`, messages to `err`. Returns 0 (EXIT_HELD) on success, 2 (EXIT_BADINPUT)
 * on bad input or usage, 3 (EXIT_IOERR) when writing `out` failed.
 */
int calc_main(int argc, char **argv, FILE *out, FILE *err);

#endif /* VT_CALC_H */
