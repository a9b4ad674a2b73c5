/* The program of critest's nonewprivs image: installed setuid root and run
 * as uid 1000, it says which user the kernel made it. With no_new_privs set
 * the setuid bit is ignored and it stays 1000; without, it becomes 0. */
#include <stdio.h>
#include <unistd.h>

int main(void) {
  if (printf("Effective uid: %u\n", (unsigned)geteuid()) < 0) return 1;
  return fflush(stdout) == 0 ? 0 : 1;
}
