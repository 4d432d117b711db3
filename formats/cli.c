/* cli.c - dispatch, help and error reporting for both programs (cli.h). */
#include "cli.h"
#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct kt_cli kt_cli;

static const char *errno_name(int err)
{
	switch (err < 0 ? -err : err) {
	case 0: return "";
	case EPROTO: return "EPROTO";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOMEM: return "ENOMEM";
	case E2BIG: return "E2BIG";
	case EIO: return "EIO";
	case ENODATA: return "ENODATA";
	case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
	case EEXIST: return "EEXIST";
	case ENOTDIR: return "ENOTDIR";
	case ENOSPC: return "ENOSPC";
	default: return "EOTHER";
	}
}

static int vfail(int exit_code, int err, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
static int vfail(int exit_code, int err, const char *fmt, va_list ap)
{
	char msg[2048];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (kt_cli.json) {
		json_t *o = json_pack("{s:{s:s, s:s, s:i}}", "error", "message", msg,
				      "errno", errno_name(err), "exit", exit_code);

		json_dumpf(o, stderr, JSON_COMPACT);
		fputc('\n', stderr);
		json_decref(o);
	} else {
		fprintf(stderr, "%s: %s\n", kt_cli.prog, msg);
	}
	return exit_code;
}

int kt_cli_fail(int exit_code, int err, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(exit_code, err, fmt, ap);
	va_end(ap);
	return r;
}

int kt_cli_fail_err(int exit_code, int err, const char *what)
{
	if (what && *what)
		return kt_cli_fail(exit_code, err, "%s: %s", what, kt_err_msg(err));
	return kt_cli_fail(exit_code, err, "%s", kt_err_msg(err));
}

int kt_cli_usage(const struct kt_cmd *cmd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return kt_cli_fail(KT_EXIT_USAGE, -EINVAL, "%s (see '%s %s%s--help')", msg, kt_cli.prog,
			   cmd ? cmd->name : "", cmd ? " " : "");
}

bool kt_cli_tty(void)
{
	return !kt_cli.quiet && isatty(STDERR_FILENO);
}

void kt_cli_progress(const char *fmt, ...)
{
	va_list ap;

	if (!kt_cli_tty())
		return;
	va_start(ap, fmt);
	fputs("\r\033[K", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

static const char exit_help[] =
	"EXIT STATUS\n"
	"  0  success\n"
	"  1  a finding or failed check, where that is the point (ktana verify, ktcap check)\n"
	"  2  usage error, or input that cannot be used\n";

static void print_cmd_help(const struct kt_cmd *cmd, FILE *f)
{
	fprintf(f, "%s %s - %s\n\n%s\n", kt_cli.prog, cmd->name, cmd->summary, cmd->usage);
	fprintf(f, "COMMON OPTIONS\n"
		"  --json   results as JSON on stdout, errors as JSON on stderr\n"
		"  -h, --help  this help\n\n%s", exit_help);
}

static void print_help(FILE *f)
{
	fprintf(f, "%s - %s\n\nUsage: %s [--json] [-q] COMMAND [ARGS...]\n\nCOMMANDS\n",
		kt_cli.prog, kt_cli.summary, kt_cli.prog);
	for (const struct kt_cmd *const *c = kt_cli.cmds; *c; c++)
		fprintf(f, "  %-10s %s\n", (*c)->name, (*c)->summary);
	fprintf(f, "\nGLOBAL OPTIONS\n"
		"  --json       results as JSON on stdout, errors as JSON on stderr\n"
		"  -q, --quiet  no progress output\n"
		"  -V, --version\n"
		"  -h, --help   this help; '%s COMMAND --help' for a command\n\n"
		"EXAMPLES\n%s\n%s", kt_cli.prog, kt_cli.examples, exit_help);
}

/* roff for the man page, built from the same texts as --help. */
static void print_man(FILE *f)
{
	fprintf(f, ".TH %s 1 \"\" \"ktcap %s\" \"User Commands\"\n.SH NAME\n%s \\- %s\n"
		".SH SYNOPSIS\n.B %s\n[\\-\\-json] [\\-q] COMMAND [ARGS...]\n.SH COMMANDS\n",
		kt_cli.prog, KT_VERSION, kt_cli.prog, kt_cli.summary, kt_cli.prog);
	for (const struct kt_cmd *const *c = kt_cli.cmds; *c; c++) {
		fprintf(f, ".SS %s %s\n%s\n.PP\n.nf\n", kt_cli.prog, (*c)->name, (*c)->summary);
		for (const char *p = (*c)->usage; *p; p++) {
			if (*p == '\\')
				fputs("\\e", f);
			else if (*p == '-' )
				fputs("\\-", f);
			else if ((p == (*c)->usage || p[-1] == '\n') && (*p == '.' || *p == '\''))
				fprintf(f, "\\&%c", *p);
			else
				fputc(*p, f);
		}
		fputs(".fi\n", f);
	}
	fputs(".SH OPTIONS\n.TP\n.B \\-\\-json\nresults as JSON on stdout, errors as JSON "
	      "on stderr\n.TP\n.B \\-q, \\-\\-quiet\nno progress output\n"
	      ".SH EXIT STATUS\n.TP\n0\nsuccess\n.TP\n1\na finding or failed check, where "
	      "that is the point (ktana verify, ktcap check)\n"
	      ".TP\n2\nusage error, or input that cannot be used\n", f);
	fputs(".SH EXAMPLES\n.nf\n", f);
	for (const char *p = kt_cli.examples; *p; p++)
		*p == '-' ? fputs("\\-", f) : fputc(*p, f);
	fputs(".fi\n.SH SEE ALSO\n.BR ktcap (1),\n.BR ktana (1)\n", f);
}

int kt_cli_common(const struct kt_cmd *cmd, int c)
{
	switch (c) {
	case KT_CLI_OPT_JSON:
		kt_cli.json = true;
		return -1;
	case KT_CLI_OPT_HELP:
		print_cmd_help(cmd, stdout);
		return KT_EXIT_OK;
	default:
		/* getopt printed what was wrong */
		return kt_cli_usage(cmd, "bad option");
	}
}

static const struct kt_cmd *find_cmd(const char *name)
{
	for (const struct kt_cmd *const *c = kt_cli.cmds; *c; c++)
		if (!strcmp((*c)->name, name))
			return *c;
	return NULL;
}

void kt_cli_tune_malloc(void)
{
#ifdef M_MXFAST
	/* Both tools read Kubernetes lists with jansson, which makes one of
	 * hundreds of thousands of small nodes and frees them all at once.
	 * glibc keeps such frees unmerged in its fast bins, then walks them
	 * all at the next large request (malloc_consolidate): without fast
	 * bins, loading a bundle's objects and importing dumps each took 15
	 * to 20% less CPU (bench/k8s_load.sh), a report about as much less. */
	mallopt(M_MXFAST, 0);
#endif
}

int kt_cli_main(int argc, char **argv)
{
	const struct kt_cmd *cmd;
	int i;

	kt_cli_tune_malloc();
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json")) {
			kt_cli.json = true;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			kt_cli.quiet = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			print_help(stdout);
			return KT_EXIT_OK;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("%s %s\n", kt_cli.prog, KT_VERSION);
			return KT_EXIT_OK;
		} else if (!strcmp(a, "--man")) {
			print_man(stdout);	/* the build makes the man page with it */
			return KT_EXIT_OK;
		} else if (!strcmp(a, "--list-commands")) {
			for (const struct kt_cmd *const *c = kt_cli.cmds; *c; c++)
				printf("%s\n", (*c)->name);	/* for shell completion */
			return KT_EXIT_OK;
		} else {
			return kt_cli_usage(NULL, "unknown option '%s'", a);
		}
	}
	if (i == argc) {
		print_help(stderr);
		return KT_EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		if (i + 1 == argc) {
			print_help(stdout);
			return KT_EXIT_OK;
		}
		if (!(cmd = find_cmd(argv[i + 1])))
			return kt_cli_usage(NULL, "unknown command '%s'", argv[i + 1]);
		print_cmd_help(cmd, stdout);
		return KT_EXIT_OK;
	}
	if (!(cmd = find_cmd(argv[i])))
		return kt_cli_usage(NULL, "unknown command '%s'", argv[i]);
	optind = 0;	/* glibc: full reset of getopt for the command */
	return cmd->run(argc - i, argv + i);
}

int kt_parse_size(const char *s, unsigned long long *out)
{
	char *end;
	unsigned long long v, mul = 1;

	errno = 0;
	if (!s || !isdigit((unsigned char)*s))
		return kt_err_set(-EINVAL, "bad size '%s': expected a number like 512M or 2G", s ? s : "");
	v = strtoull(s, &end, 10);
	switch (toupper((unsigned char)*end)) {
	case '\0': break;
	case 'K': mul = 1ull << 10; end++; break;
	case 'M': mul = 1ull << 20; end++; break;
	case 'G': mul = 1ull << 30; end++; break;
	case 'T': mul = 1ull << 40; end++; break;
	default: return kt_err_set(-EINVAL, "bad size '%s': unknown unit", s);
	}
	if (*end == 'i' || *end == 'I')
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || errno || v > ~0ull / mul)
		return kt_err_set(-EINVAL, "bad size '%s'", s);
	*out = v * mul;
	return 0;
}

int kt_parse_duration(const char *s, unsigned long long *out_ns)
{
	unsigned long long total = 0;
	const char *p = s;

	if (!s || !*s)
		return kt_err_set(-EINVAL, "empty duration");
	while (*p) {
		char *end;
		unsigned long long v, mul;

		if (!isdigit((unsigned char)*p))
			return kt_err_set(-EINVAL, "bad duration '%s': expected e.g. 30s, 10m, 1h30m", s);
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno)
			return kt_err_set(-EINVAL, "bad duration '%s'", s);
		if (!strncmp(end, "ms", 2)) { mul = 1000000ull; end += 2; }
		else if (!strncmp(end, "us", 2)) { mul = 1000ull; end += 2; }
		else if (!strncmp(end, "ns", 2)) { mul = 1ull; end += 2; }
		else if (*end == 's') { mul = 1000000000ull; end++; }
		else if (*end == 'm') { mul = 60000000000ull; end++; }
		else if (*end == 'h') { mul = 3600000000000ull; end++; }
		else if (*end == 'd') { mul = 86400000000000ull; end++; }
		else if (!*end && p == s) { mul = 1000000000ull; }	/* bare seconds */
		else return kt_err_set(-EINVAL, "bad duration '%s': unknown unit", s);
		if (v > (~0ull - total) / mul)
			return kt_err_set(-EINVAL, "duration '%s' too long", s);
		total += v * mul;
		p = end;
	}
	*out_ns = total;
	return 0;
}
