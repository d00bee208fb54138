/*
 * cmd.h - the subcommands of the herd binary.
 *
 * Each cmd_X() takes the arguments after the subcommand name (argv[0] is the
 * subcommand's own name, as getopt expects) and returns the process exit
 * status: 0 success, 1 the work failed, 2 usage error (bad flag or value).
 * Commands print their own messages; library modules never print.
 */
#ifndef HERD_CMD_H
#define HERD_CMD_H

enum { EXIT_USAGE = 2 };

int cmd_hist(int argc, char **argv);
int cmd_serve(int argc, char **argv);
/* cmd_bench() behaves as benchhttp (--lines mode) when argv[0] is "benchhttp". */
int cmd_bench(int argc, char **argv);
int cmd_lab(int argc, char **argv);
int cmd_watch(int argc, char **argv);

#endif
