/* cmd_serve.c - placeholder until the serve subcommand lands (its issue replaces this file). */
#include <stdio.h>

#include "cmd.h"

int cmd_serve(int argc, char **argv)
{
	(void)argc;
	fprintf(stderr, "herd: '%s' is not built yet\n", argv[0]);
	return 1;
}
