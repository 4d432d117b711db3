/* cmd_topo.c - ktana topo: the timed topology of a bundle (analyze/model/).
 * The JSON is docs/topology-schema.md; text and DOT are drawn from it. */
#include <errno.h>
#include <graphviz/cgraph.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "cli.h"
#include "commands.h"
#include "error.h"
#include "manifest.h"
#include "model.h"

static const char usage[] =
	"Usage: ktana topo BUNDLE [--level LEVEL] [--at TIME] [--window DUR]\n"
	"                  [--since TIME] [--until TIME] [-n NS] [--format FMT]\n"
	"\n"
	"Rebuilds who talked to whom from a bundle: each end of each connection is\n"
	"attributed at the time of the connection (pod IP valid then, cgroup to pod\n"
	"UID or container, host process, ClusterIP to Service and the backend that\n"
	"served it through conntrack or the server's half, node, external named by\n"
	"DNS answers); what nothing in the bundle explains is shown as\n"
	"'unattributed' with the reason. A connection seen by both its client and\n"
	"its server counts once. Edges carry connections, failures by cause\n"
	"(refused, timeout, unreachable, reset, error), bytes each way,\n"
	"retransmits, a connect latency histogram, first and last seen, and for\n"
	"failures what the Kubernetes objects say of why (a Service without ready\n"
	"endpoint, a NetworkPolicy admitting no such connection). DNS\n"
	"lookups that failed (NXDOMAIN, SERVFAIL, no answer...) are listed by\n"
	"client, name and answer; an NXDOMAIN for a search domain's try of a name\n"
	"the client resolved otherwise is marked as such.\n"
	"\n"
	"OPTIONS\n"
	"      --level LEVEL  pod (default), workload, service, namespace or node\n"
	"      --at TIME      only connections alive at TIME (DNS lookups: all)\n"
	"      --window DUR   also split each edge's figures into windows of DUR\n"
	"      --since TIME   only connections that started at or after TIME\n"
	"      --until TIME   only connections that started before TIME\n"
	"  -n, --namespace NS only edges with an end in namespace NS\n"
	"      --format FMT   json (docs/topology-schema.md), text (default) or dot\n"
	"      --json         same as --format json\n"
	"TIME is RFC 3339 UTC, 'start', 'end', +DUR after the capture start or -DUR\n"
	"before its end; DUR is like 250ms, 30s, 10m, 1h30m.\n"
	"\n"
	"EXIT STATUS\n"
	"  0 the topology was printed; 2 usage error or a bundle that cannot be read\n"
	"\n"
	"EXAMPLES\n"
	"  ktana topo case.tar.zst\n"
	"  ktana topo --level workload --format dot case.tar.zst | dot -Tsvg >t.svg\n"
	"  ktana topo --json --window 1m case.tar.zst | jq '.edges[] | select(.failed != {})'\n"
	"  ktana topo --at +90s -n shop case.tar.zst\n"
	"  ktana topo --json case.tar.zst | jq '.dns_failures[] | select(.search_expansion | not)'\n";

static const char *failed_str(const json_t *failed, char *buf, size_t len)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	buf[0] = '\0';
	json_object_foreach((json_t *)failed, k, v) {
		int w = snprintf(buf + n, len - n, "%s%s %" JSON_INTEGER_FORMAT, n ? ", " : "",
				 k, json_integer_value(v));

		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
	return buf;
}

static void print_text(const json_t *topo)
{
	const json_t *e, *n;
	size_t i, j;
	char fb[256];

	printf("%zu nodes, %zu edges (level %s)\n", json_array_size(json_object_get(topo, "nodes")),
	       json_array_size(json_object_get(topo, "edges")),
	       json_string_value(json_object_get(topo, "level")));
	json_array_foreach(json_object_get(topo, "nodes"), i, n) {
		const char *r = json_string_value(json_object_get(n, "reason"));

		printf("  %-13s %s%s%s%s\n", json_string_value(json_object_get(n, "kind")),
		       json_string_value(json_object_get(n, "id")), r ? "  (" : "", r ? r : "",
		       r ? ")" : "");
	}
	json_array_foreach(json_object_get(topo, "edges"), i, e) {
		const json_t *b;

		printf("%s -> %s %s/%" JSON_INTEGER_FORMAT ": %" JSON_INTEGER_FORMAT " conn",
		       json_string_value(json_object_get(e, "src")),
		       json_string_value(json_object_get(e, "dst")),
		       json_string_value(json_object_get(e, "protocol")),
		       json_integer_value(json_object_get(e, "port")),
		       json_integer_value(json_object_get(e, "connections")));
		if (json_object_size(json_object_get(e, "failed")))
			printf(", failed: %s", failed_str(json_object_get(e, "failed"), fb, sizeof(fb)));
		printf(", %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT " bytes",
		       json_integer_value(json_object_get(e, "bytes_sent")),
		       json_integer_value(json_object_get(e, "bytes_received")));
		if (json_integer_value(json_object_get(e, "retransmits")))
			printf(", %" JSON_INTEGER_FORMAT " retransmits",
			       json_integer_value(json_object_get(e, "retransmits")));
		putchar('\n');
		json_array_foreach(json_object_get(e, "backends"), j, b)
			printf("    served by %s:%" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT ")\n",
			       json_string_value(json_object_get(b, "id")),
			       json_integer_value(json_object_get(b, "port")),
			       json_integer_value(json_object_get(b, "connections")));
		if (json_integer_value(json_object_get(e, "unknown_backend")))
			printf("    backend unknown (%" JSON_INTEGER_FORMAT ")\n",
			       json_integer_value(json_object_get(e, "unknown_backend")));
		json_array_foreach(json_object_get(e, "explanations"), j, b)
			printf("    why: %s\n", json_string_value(b));
	}
	json_array_foreach(json_object_get(topo, "dns_failures"), i, e)
		printf("%s asked %s %s: %s x%" JSON_INTEGER_FORMAT "%s\n",
		       json_string_value(json_object_get(e, "client")),
		       json_string_value(json_object_get(e, "qname")),
		       json_string_value(json_object_get(e, "qtype")),
		       json_string_value(json_object_get(e, "rcode")),
		       json_integer_value(json_object_get(e, "count")),
		       json_is_true(json_object_get(e, "search_expansion")) ?
		       " (a search domain's try)" : "");
}

/* DOT through cgraph: namespaces as clusters, failing edges red. */
static int print_dot(const json_t *topo)
{
	Agraph_t *g = agopen("topology", Agdirected, NULL);
	const json_t *n, *e;
	size_t i;
	int err = 0;

	if (!g)
		return kt_err_set(-ENOMEM, "cannot create the graph");
	agattr(g, AGRAPH, "rankdir", "LR");
	agattr(g, AGNODE, "shape", "box");
	agattr(g, AGNODE, "label", "");
	agattr(g, AGEDGE, "label", "");
	agattr(g, AGEDGE, "color", "black");
	agattr(g, AGRAPH, "label", "");
	json_array_foreach(json_object_get(topo, "nodes"), i, n) {
		const char *id = json_string_value(json_object_get(n, "id"));
		const char *ns = json_string_value(json_object_get(n, "namespace"));
		const char *kind = json_string_value(json_object_get(n, "kind"));
		char label[512];
		Agraph_t *sub = g;
		Agnode_t *v;

		if (ns && *ns && strcmp(kind, "namespace")) {
			char cname[300];

			snprintf(cname, sizeof(cname), "cluster_%s", ns);
			sub = agsubg(g, cname, 1);
			agsafeset(sub, "label", (char *)ns, "");
		}
		if (!(v = agnode(sub, (char *)id, 1))) {
			err = kt_err_set(-ENOMEM, "cannot add node '%s'", id);
			goto out;
		}
		snprintf(label, sizeof(label), "%s\\n%s", json_string_value(json_object_get(n, "name")),
			 kind);
		agsafeset(v, "label", label, "");
		if (!strcmp(kind, "service"))
			agsafeset(v, "shape", "ellipse", "box");
		else if (!strcmp(kind, "external") || !strcmp(kind, "unattributed"))
			agsafeset(v, "shape", "hexagon", "box");
		else if (!strcmp(kind, "host-process"))
			agsafeset(v, "shape", "component", "box");
	}
	json_array_foreach(json_object_get(topo, "edges"), i, e) {
		Agnode_t *s = agnode(g, (char *)json_string_value(json_object_get(e, "src")), 0);
		Agnode_t *d = agnode(g, (char *)json_string_value(json_object_get(e, "dst")), 0);
		const json_t *failed = json_object_get(e, "failed");
		char label[400], fb[256];
		Agedge_t *ed;

		if (!s || !d)
			continue;
		if (!(ed = agedge(g, s, d, NULL, 1))) {
			err = kt_err_set(-ENOMEM, "cannot add an edge");
			goto out;
		}
		snprintf(label, sizeof(label), "%s:%" JSON_INTEGER_FORMAT " x%" JSON_INTEGER_FORMAT "%s%s",
			 json_string_value(json_object_get(e, "protocol")),
			 json_integer_value(json_object_get(e, "port")),
			 json_integer_value(json_object_get(e, "connections")),
			 json_object_size(failed) ? "\\nfailed: " : "",
			 json_object_size(failed) ? failed_str(failed, fb, sizeof(fb)) : "");
		agsafeset(ed, "label", label, "");
		if (json_object_size(failed))
			agsafeset(ed, "color", "red", "black");
	}
	if (agwrite(g, stdout) == EOF)
		err = kt_err_set(-EIO, "cannot write the graph");
out:
	agclose(g);
	return err;
}

static int run(int argc, char **argv)
{
	enum { O_LEVEL = 0x100, O_AT, O_WINDOW, O_SINCE, O_UNTIL, O_FORMAT };
	static const struct option opts[] = {
		{ "level", required_argument, NULL, O_LEVEL },
		{ "at", required_argument, NULL, O_AT },
		{ "window", required_argument, NULL, O_WINDOW },
		{ "since", required_argument, NULL, O_SINCE },
		{ "until", required_argument, NULL, O_UNTIL },
		{ "namespace", required_argument, NULL, 'n' },
		{ "format", required_argument, NULL, O_FORMAT },
		KT_CLI_COMMON_LONG, { 0 }
	};
	const char *at = NULL, *since = NULL, *until = NULL, *format = NULL, *path;
	struct kt_view_opts vo = { .level = KT_LEVEL_POD };
	struct kt_model_opts mo = { 0 };
	struct kt_model *m = NULL;
	struct kt_bundle *b = NULL;
	json_t *topo = NULL;
	unsigned long long d;
	int c, err = 0, rc = KT_EXIT_OK;

	while ((c = getopt_long(argc, argv, "n:h", opts, NULL)) != -1) {
		switch (c) {
		case O_LEVEL:
			if (kt_level_parse(optarg, &vo.level))
				return kt_cli_usage(&kt_cmd_topo, "%s", kt_err_msg(-EINVAL));
			break;
		case O_AT: at = optarg; break;
		case O_SINCE: since = optarg; break;
		case O_UNTIL: until = optarg; break;
		case O_WINDOW:
			if (kt_parse_duration(optarg, &d) || !d)
				return kt_cli_usage(&kt_cmd_topo, "bad --window '%s'", optarg);
			mo.window_ns = d;
			break;
		case 'n': vo.ns = optarg; break;
		case O_FORMAT: format = optarg; break;
		default: {
			int r = kt_cli_common(&kt_cmd_topo, c);

			if (r >= 0)
				return r;
		}
		}
	}
	if (optind + 1 != argc)
		return kt_cli_usage(&kt_cmd_topo, "expected one BUNDLE");
	if (!format)
		format = kt_cli.json ? "json" : "text";
	if (strcmp(format, "json") && strcmp(format, "text") && strcmp(format, "dot"))
		return kt_cli_usage(&kt_cmd_topo, "bad --format '%s': json, text or dot", format);
	if (at && (since || until))
		return kt_cli_usage(&kt_cmd_topo, "--at and --since/--until do not go together");
	path = argv[optind];
	if ((err = kt_bundle_open(&b, path)))
		return kt_cli_fail_err(KT_EXIT_USAGE, err, NULL);
	if ((at && (err = kt_manifest_time_arg(kt_bundle_manifest(b), at, &mo.at))) ||
	    (since && (err = kt_manifest_time_arg(kt_bundle_manifest(b), since, &mo.since))) ||
	    (until && (err = kt_manifest_time_arg(kt_bundle_manifest(b), until, &mo.until)))) {
		rc = kt_cli_fail_err(KT_EXIT_USAGE, err, NULL);
		goto out;
	}
	if ((err = kt_model_new(&m, &mo)) || (err = kt_model_feed_bundle(m, b)) ||
	    (err = kt_model_view(m, &vo, &topo))) {
		rc = kt_cli_fail_err(KT_EXIT_USAGE, err, path);
		goto out;
	}
	if (!strcmp(format, "json")) {
		json_dumpf(topo, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else if (!strcmp(format, "dot")) {
		if ((err = print_dot(topo)))
			rc = kt_cli_fail_err(KT_EXIT_USAGE, err, NULL);
	} else {
		print_text(topo);
	}
	fflush(stdout);
out:
	json_decref(topo);
	kt_model_free(m);
	kt_bundle_close(b);
	return rc;
}

const struct kt_cmd kt_cmd_topo = {
	"topo", "the timed topology: who talked to whom, and how it went", usage, run,
};
