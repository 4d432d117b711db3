/* cmd_report.c - ktana report: the report a support engineer opens first
 * (analyze/report/, docs/report.md). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "cli.h"
#include "commands.h"
#include "error.h"
#include "manifest.h"
#include "report.h"

static const char usage[] =
	"Usage: ktana report BUNDLE [-o DIR] [--level LEVEL] [--window DUR] [--at TIME]...\n"
	"                    [-n NS] [--engine ENGINE] [--no-png] [--no-split]\n"
	"\n"
	"Writes a report of the bundle into DIR, for reading offline:\n"
	"  index.html     one self-contained page: the capture (node, window, sources,\n"
	"                 what was lost or denied), the topology drawn inline, the\n"
	"                 failing edges with what the Kubernetes objects say of why\n"
	"                 (a Service without ready endpoint, a NetworkPolicy), the\n"
	"                 DNS lookups that failed, a timeline (edges new and gone\n"
	"                 window by window, pods created and deleted, restarts,\n"
	"                 scaling, Warning events) and each edge's evidence, with\n"
	"                 the pcap fragments behind it copied into DIR/pcap/\n"
	"  report.md      the same in short, to paste into a ticket\n"
	"  topology.json  as 'ktana topo --json --window DUR' prints it\n"
	"  topology.svg, topology.png, topology.dot   the diagram: namespaces as\n"
	"                 clusters, services as ellipses, outside addresses as\n"
	"                 hexagons, failing edges red with count and cause, edges\n"
	"                 gone before the end dashed, nodes in trouble marked '!'\n"
	"More than 120 nodes: topology.* shows the namespaces, and ns-NNN-NAME.*\n"
	"each namespace with its neighbours (--no-split draws everything at once).\n"
	"The same bundle and options give the same files. Prints where the report is.\n"
	"\n"
	"OPTIONS\n"
	"  -o, --output DIR   where to write (default: BUNDLE's name + '-report')\n"
	"      --level LEVEL  pod, workload (default), service, namespace or node\n"
	"      --window DUR   compare windows of DUR and draw each one (default: about\n"
	"                     12 windows over the capture, not drawn one by one)\n"
	"      --at TIME      also draw the connections alive at TIME (repeatable)\n"
	"  -n, --namespace NS only edges with an end in namespace NS\n"
	"      --engine E     graphviz layout engine (dot up to 300 nodes and 1200\n"
	"                     edges, then sfdp)\n"
	"      --no-png       no topology.png\n"
	"      --no-split     one diagram, however many nodes\n"
	"TIME is RFC 3339 UTC, 'start', 'end', +DUR after the capture start or -DUR\n"
	"before its end; DUR is like 250ms, 30s, 10m, 1h30m.\n"
	"\n"
	"EXIT STATUS\n"
	"  0 the report was written; 2 usage error, a bundle that cannot be read or\n"
	"  a directory that cannot be written\n"
	"\n"
	"EXAMPLES\n"
	"  ktana report case-123.tar.zst\n"
	"  ktana report -o /tmp/case case-123.tar.zst && xdg-open /tmp/case/index.html\n"
	"  ktana report --level pod --window 1m --at +90s case-123.tar.zst\n"
	"  ktana report -n shop --no-png case-123.tar.zst\n";

static void progress(void *arg, const char *what)
{
	(void)arg;
	kt_cli_progress("report: %s", what);
}

/* "case.tar.zst" -> "case-report", beside the current directory. */
static void default_dir(const char *path, char *out, size_t len)
{
	static const char *const exts[] = { ".tar.zst", ".tzst", ".tar.gz", ".tgz", ".tar" };
	const char *base = strrchr(path, '/');
	size_t n;

	base = base && base[1] ? base + 1 : path;
	n = strlen(base);
	while (n > 1 && base[n - 1] == '/')
		n--;
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t l = strlen(exts[i]);

		if (n > l && !strncmp(base + n - l, exts[i], l)) {
			n -= l;
			break;
		}
	}
	snprintf(out, len, "%.*s-report", (int)n, base);
}

static int run(int argc, char **argv)
{
	enum { O_LEVEL = 0x100, O_AT, O_WINDOW, O_ENGINE, O_NOPNG, O_NOSPLIT };
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "level", required_argument, NULL, O_LEVEL },
		{ "at", required_argument, NULL, O_AT },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "namespace", required_argument, NULL, 'n' },
		{ "engine", required_argument, NULL, O_ENGINE },
		{ "no-png", no_argument, NULL, O_NOPNG },
		{ "no-split", no_argument, NULL, O_NOSPLIT },
		KT_CLI_COMMON_LONG, { 0 }
	};
	struct kt_report_opts ro = { .level = KT_LEVEL_WORKLOAD, .png = true, .progress = progress };
	const char *at[KT_REPORT_AT_MAX], *dir = NULL, *path;
	struct kt_bundle *b = NULL;
	char dbuf[4096];
	unsigned long long d;
	uint32_t nat = 0;
	int c, err;

	while ((c = getopt_long(argc, argv, "o:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': dir = optarg; break;
		case O_LEVEL:
			if (kt_level_parse(optarg, &ro.level))
				return kt_cli_usage(&kt_cmd_report, "%s", kt_err_msg(-EINVAL));
			break;
		case O_AT:
			if (nat == KT_REPORT_AT_MAX)
				return kt_cli_usage(&kt_cmd_report, "at most %d --at", KT_REPORT_AT_MAX);
			at[nat++] = optarg;
			break;
		case O_WINDOW:
			if (kt_parse_duration(optarg, &d) || !d)
				return kt_cli_usage(&kt_cmd_report, "bad --window '%s'", optarg);
			ro.window_ns = d;
			ro.per_window = true;
			break;
		case 'n': ro.ns = optarg; break;
		case O_ENGINE: ro.engine = optarg; break;
		case O_NOPNG: ro.png = false; break;
		case O_NOSPLIT: ro.no_split = true; break;
		default: {
			int r = kt_cli_common(&kt_cmd_report, c);

			if (r >= 0)
				return r;
		}
		}
	}
	if (optind + 1 != argc)
		return kt_cli_usage(&kt_cmd_report, "expected one BUNDLE");
	path = argv[optind];
	if (ro.engine) {
		static const char *const engines[] = { "dot", "sfdp", "neato", "fdp", "twopi", "circo" };
		bool known = false;

		for (size_t i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
			known |= !strcmp(ro.engine, engines[i]);
		if (!known)
			return kt_cli_usage(&kt_cmd_report, "unknown --engine '%s': dot, sfdp, neato, fdp, "
					    "twopi or circo", ro.engine);
	}
	if (!dir) {
		default_dir(path, dbuf, sizeof(dbuf));
		dir = dbuf;
	}
	/* the --at times are relative to the capture: read its manifest */
	if (nat) {
		if ((err = kt_bundle_open(&b, path)))
			return kt_cli_fail_err(KT_EXIT_USAGE, err, NULL);
		for (uint32_t i = 0; i < nat; i++) {
			if ((err = kt_manifest_time_arg(kt_bundle_manifest(b), at[i], &ro.at[i]))) {
				kt_bundle_close(b);
				return kt_cli_fail_err(KT_EXIT_USAGE, err, NULL);
			}
		}
		ro.nat = nat;
		kt_bundle_close(b);
	}
	err = kt_report_write(path, dir, &ro);
	if (kt_cli_tty())
		fputs("\r\033[K", stderr);
	if (err)	/* the messages name the bundle, the entry or the directory */
		return kt_cli_fail_err(KT_EXIT_USAGE, err, NULL);
	if (kt_cli.json) {
		json_t *o = json_pack("{s:s, s:s+, s:s+}", "dir", dir, "index", dir, "/index.html",
				      "markdown", dir, "/report.md");

		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		printf("report: %s/index.html (and report.md, topology.json, topology.svg)\n", dir);
	}
	return KT_EXIT_OK;
}

const struct kt_cmd kt_cmd_report = {
	"report", "diagrams, index.html and report.md: the report to open first", usage, run,
};
