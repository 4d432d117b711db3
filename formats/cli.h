/* cli.h - command-line conventions shared by ktcap and ktana.
 *
 * Each subcommand lives in its own file (capture/cmd_*.c, analyze/cmd_*.c)
 * and defines one struct kt_cmd; each program lists them in one table and
 * hands it to kt_cli_main(), which parses the global options, dispatches,
 * prints help, and turns errors into messages and exit codes in one place.
 *
 * Exit codes, for every command:
 *   0  success
 *   1  a finding or a failed check, where that is the point (ktana verify, ktcap check)
 *   2  a usage error, or input that cannot be used (missing file, bad bundle)
 * With --json, results are JSON on stdout and errors are JSON on stderr:
 *   {"error": {"message": "...", "errno": "EPROTO", "exit": 2}}
 */
#ifndef KT_CLI_H
#define KT_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

enum { KT_EXIT_OK = 0, KT_EXIT_FINDING = 1, KT_EXIT_USAGE = 2 };

struct kt_cmd {
	const char *name;
	const char *summary;	/* one line, for the command list */
	const char *usage;	/* full help: synopsis, options, EXAMPLES */
	/* argv[0] is the command name; getopt state is reset before. */
	int (*run)(int argc, char **argv);
};

struct kt_cli {
	const char *prog;	/* "ktana" */
	const char *summary;	/* what the program does, one line */
	const char *examples;	/* EXAMPLES for the top-level help */
	const struct kt_cmd *const *cmds;	/* NULL-terminated */
	bool json;
	bool quiet;
};

extern struct kt_cli kt_cli;

/* Run the program: parse global options, dispatch, return the exit code. */
int kt_cli_main(int argc, char **argv);
/* The allocator settings both tools run with (kt_cli_main sets them first;
 * a benchmark of what a command does sets them too). */
void kt_cli_tune_malloc(void);

/* Options every command accepts; append to a command's getopt_long table
 * with KT_CLI_COMMON_LONG and call kt_cli_common() for unknown letters. */
#define KT_CLI_OPT_JSON 0x1001
#define KT_CLI_OPT_HELP 'h'
#define KT_CLI_COMMON_LONG \
	{ "json", no_argument, NULL, KT_CLI_OPT_JSON }, \
	{ "help", no_argument, NULL, KT_CLI_OPT_HELP }

/* Handle a common option or an unknown one: returns -1 when handled and the
 * command should go on, or an exit code to return (0 after --help, 2 after a
 * bad option, with the message printed). */
int kt_cli_common(const struct kt_cmd *cmd, int c);

/* Print an error (text, or JSON with --json) and return 'exit_code'. err is
 * a negative errno or 0; the message is printf-formatted. */
int kt_cli_fail(int exit_code, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The library's last error for err, printed as above: "what: message". */
int kt_cli_fail_err(int exit_code, int err, const char *what);

/* Usage error: message plus "see 'PROG CMD --help'". Returns 2. */
int kt_cli_usage(const struct kt_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Progress on stderr, only when stderr is a TTY and not --quiet. */
void kt_cli_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool kt_cli_tty(void);

/* Parse a size like 512M, 2G, 4096 (bytes). */
int kt_parse_size(const char *s, unsigned long long *out);
/* Parse a duration like 10m, 30s, 1h30m, 250ms into ns. */
int kt_parse_duration(const char *s, unsigned long long *out_ns);

#endif
