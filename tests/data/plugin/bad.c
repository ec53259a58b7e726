/* Does not compile. */
int x = ;
