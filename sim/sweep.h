/*
 * sweep.h: bin/sim sweep, parameter grids over local workers or emitted as jobs (sim/sweep.c,
 * issue 8).
 */
#ifndef VT_SWEEP_H
#define VT_SWEEP_H

#include <stdio.h>

/* bin/sim sweep SCENARIO --param PATH=A..B[:STEP] ... --seeds 1..N [-j JOBS] ...: argv[0] is
 * "sweep". Returns the exit code. */
int sweep_main(int argc, char **argv, FILE *out, FILE *err);

#endif /* VT_SWEEP_H */
