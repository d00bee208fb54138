/* cmd_bench.c - placeholder until the bench subcommand lands (its issue replaces this file). */
#include <stdio.h>

#include "cmd.h"

int cmd_bench(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "herd: '%s' is not built yet\n", argv[0]);
	return 1;
}
