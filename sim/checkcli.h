/*
 * checkcli.h: the `check` and `replay` commands of bin/sim (sim/checkcli.c).
 */
#ifndef VT_CHECKCLI_H
#define VT_CHECKCLI_H

#include <stdio.h>

/* bin/sim check SCENARIO [options]: argv[0] is "check". Returns the exit code. */
int check_main(int argc, char **argv, FILE *out, FILE *err);
/* bin/sim replay TRAIL: argv[0] is "replay". Returns the exit code the check had. */
int replay_main(int argc, char **argv, FILE *out, FILE *err);

#endif /* VT_CHECKCLI_H */
