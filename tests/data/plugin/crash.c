/* Crashes in its constructor, while being loaded. */
#include <stdlib.h>
__attribute__((constructor)) static void boom(void) { abort(); }
int vtsim_reader(unsigned long *ns) { *ns = 0; return 0; }
