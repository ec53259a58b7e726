/* Compiles, but exports no vtsim_reader. */
int not_the_entry_point;
