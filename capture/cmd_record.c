/* cmd_record.c - ktcap record: record this node into a bundle. */
#include "cli.h"
#include "commands.h"
#include "error.h"
#include "pack.h"
#include "recorder.h"
#include "sources.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
	"Usage: ktcap record -o BUNDLE [--duration D] [--max-size S]\n"
	"                    [--sources LIST] [--node NAME] [SOURCE OPTIONS]\n"
	"\n"
	"Records what this node does into one bundle: TCP connections and their\n"
	"failures from eBPF tracepoints, packets around trouble, Kubernetes\n"
	"objects over time through kubectl, and host facts (processes, cgroups,\n"
	"network namespaces, sockets, conntrack). A source that cannot run here\n"
	"(no BPF, no kubectl, RBAC denied) is recorded in the manifest with the\n"
	"reason and the others go on; 'ktcap check' says in advance.\n"
	"\n"
	"While recording, everything goes to a spool directory (BUNDLE.spool),\n"
	"flushed every second. Recording stops at --duration, at --max-size, or\n"
	"at SIGINT/SIGTERM, and the spool is then packed into BUNDLE. A second\n"
	"Ctrl-C stops at once and keeps the spool: 'ktcap pack' turns it into a\n"
	"bundle later, as it does for a recorder that was killed.\n"
	"\n"
	"OPTIONS\n"
	"  -o, --output BUNDLE   the bundle: .tar.zst (default), .tar.gz or .tar\n"
	"  -d, --duration D      stop after D (30s, 10m, 1h); default: until stopped\n"
	"  -s, --max-size S      stop when the spool reaches S (512M, 2G); the\n"
	"                        bundle ends within one second of data of it\n"
	"      --sources LIST    comma-separated sources to run (default: all)\n"
	"      --spool DIR       where to spool (default: BUNDLE.spool)\n"
	"      --node NAME       node name to record (default: $NODE_NAME, host name)\n"
	"  Kubernetes source:\n"
	"      --kubectl PATH    kubectl to run (default: kubectl on PATH)\n"
	"      --kubeconfig F    --context C   -n, --namespace NS (default: all)\n"
	"      --k8s-interval D  time between full snapshots (default 60s)\n"
	"      --k8s-from PATH   import existing dumps (repeatable)\n"
	"      --no-redact       keep ConfigMap data and env values (never Secrets;\n"
	"                        kubectl error messages are still scrubbed)\n"
	"  Packet source (pcap; see docs/pcap.md):\n"
	"      --iface NAME      capture on NAME (repeatable; 'any' for all at once);\n"
	"                        default: every interface up but loopback and\n"
	"                        bridges with ports (pods' veths, the uplink)\n"
	"      --pcap-filter F   a BPF filter expression (tcpdump syntax)\n"
	"      --snaplen N       bytes kept per packet (default 256: headers and\n"
	"                        the first bytes of payload)\n"
	"      --pcap-max-size S bytes of pcapng written at most (default 256M);\n"
	"                        past it fragments are dropped and the manifest\n"
	"                        says the capture was truncated\n"
	"      --pcap-ring S     memory for recent packets, all interfaces (64M)\n"
	"      --pcap-ring-time D  ... holding at most D of them (default 30s)\n"
	"      --pcap-around D   a fragment keeps D before and after trouble (5s)\n"
	"      --pcap-all        keep every packet (pcap/all.pcapng), not just\n"
	"                        the fragments around trouble\n"
	"  eBPF source:\n"
	"      --stats-interval D  report open connections every D (default 10s)\n"
	"\n"
	"EXAMPLES\n"
	"  ktcap record -o case-123.tar.zst --duration 10m\n"
	"  ktcap record -o node1.tar.zst --max-size 1G --node \"$NODE_NAME\"\n"
	"  ktcap record -o e2e.tar.zst --sources bpf,host,k8s -n shop\n"
	"  ktcap record -o dns.tar.zst --sources host,bpf,pcap --iface eth0 \\\n"
	"        --pcap-filter 'port 53 or tcp' --snaplen 512 --pcap-max-size 100M\n"
	"  ktcap pack case-123.tar.zst.spool -o case-123.tar.zst   (after a kill)\n";

enum {
	O_SOURCES = 0x3000, O_SPOOL, O_NODE, O_KUBECTL, O_KUBECONFIG, O_CONTEXT,
	O_K8S_INTERVAL, O_K8S_FROM, O_NO_REDACT, O_IFACE, O_PCAP_FILTER, O_SNAPLEN,
	O_PCAP_MAX, O_PCAP_ALL, O_STATS, O_PCAP_RING, O_PCAP_RING_TIME, O_PCAP_AROUND,
};

#define MAX_LIST 32

static int add_list(const char **list, int *n, const char *v)
{
	if (*n == MAX_LIST - 1)
		return -1;
	list[(*n)++] = v;
	list[*n] = NULL;
	return 0;
}

#define SEC 1000000000ull

/* An option that takes a duration or a size, and the range it must be in. */
struct number_opt {
	int c;
	const char *name;	/* for the message, with its dashes */
	int (*parse)(const char *s, unsigned long long *out);	/* kt_parse_duration or _size */
	unsigned long long min, max;
	const char *range;	/* said after a bad value ("" when min is 1) */
	uint64_t *out;
};

/* Option c parsed into its place when the table t (ended by c == 0) has it:
 * 0, or the exit code of the usage error (printed) when its value is bad;
 * -1 when c is not in t. */
static int number_arg(const struct number_opt *t, int c, const char *arg)
{
	unsigned long long v;

	for (; t->c; t++) {
		if (t->c != c)
			continue;
		if (t->parse(arg, &v) || v < t->min || v > t->max)
			return kt_cli_usage(&kt_cmd_record, "bad %s '%s'%s", t->name, arg, t->range);
		*t->out = v;
		return 0;
	}
	return -1;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "duration", required_argument, NULL, 'd' },
		{ "max-size", required_argument, NULL, 's' },
		{ "sources", required_argument, NULL, O_SOURCES },
		{ "spool", required_argument, NULL, O_SPOOL },
		{ "node", required_argument, NULL, O_NODE },
		{ "kubectl", required_argument, NULL, O_KUBECTL },
		{ "kubeconfig", required_argument, NULL, O_KUBECONFIG },
		{ "context", required_argument, NULL, O_CONTEXT },
		{ "namespace", required_argument, NULL, 'n' },
		{ "k8s-interval", required_argument, NULL, O_K8S_INTERVAL },
		{ "k8s-from", required_argument, NULL, O_K8S_FROM },
		{ "no-redact", no_argument, NULL, O_NO_REDACT },
		{ "iface", required_argument, NULL, O_IFACE },
		{ "pcap-filter", required_argument, NULL, O_PCAP_FILTER },
		{ "snaplen", required_argument, NULL, O_SNAPLEN },
		{ "pcap-max-size", required_argument, NULL, O_PCAP_MAX },
		{ "pcap-all", no_argument, NULL, O_PCAP_ALL },
		{ "pcap-ring", required_argument, NULL, O_PCAP_RING },
		{ "pcap-ring-time", required_argument, NULL, O_PCAP_RING_TIME },
		{ "pcap-around", required_argument, NULL, O_PCAP_AROUND },
		{ "stats-interval", required_argument, NULL, O_STATS },
		KT_CLI_COMMON_LONG, { 0 },
	};
	static const char *k8s_from[MAX_LIST], *ifaces[MAX_LIST], *names[MAX_LIST];
	int nk8s = 0, nif = 0, nnames = 0, c, r, err;
	struct kt_record_opts o = {
		.k8s_interval_ns = 60 * SEC, .snaplen = 256,
		.stats_interval_ns = 10 * SEC,
	};
	const struct number_opt numbers[] = {
		{ 'd', "--duration", kt_parse_duration, 1, ULLONG_MAX, "", &o.duration_ns },
		{ 's', "--max-size", kt_parse_size, 1, ULLONG_MAX, "", &o.max_size },
		{ O_K8S_INTERVAL, "--k8s-interval", kt_parse_duration, SEC, ULLONG_MAX, " (at least 1s)",
		  &o.k8s_interval_ns },
		{ O_PCAP_MAX, "--pcap-max-size", kt_parse_size, 1, ULLONG_MAX, "", &o.pcap_max_size },
		{ O_PCAP_RING, "--pcap-ring", kt_parse_size, 1u << 20, ULLONG_MAX, " (at least 1M)",
		  &o.pcap_ring_size },
		{ O_PCAP_RING_TIME, "--pcap-ring-time", kt_parse_duration, SEC, ULLONG_MAX,
		  " (at least 1s)", &o.pcap_ring_ns },
		{ O_PCAP_AROUND, "--pcap-around", kt_parse_duration, SEC / 10, 600 * SEC,
		  " (100ms to 10m)", &o.pcap_around_ns },
		{ O_STATS, "--stats-interval", kt_parse_duration, SEC, ULLONG_MAX, " (at least 1s)",
		  &o.stats_interval_ns },
		{ 0 },
	};
	struct kt_record_result res;
	char *sources_arg = NULL, spool[4096];
	const char *spool_dir = NULL;
	json_t *options;
	struct stat st;

	while ((c = getopt_long(argc, argv, "o:d:s:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': o.output = optarg; break;
		case O_SOURCES: sources_arg = optarg; break;
		case O_SPOOL: spool_dir = optarg; break;
		case O_NODE: o.node_name = optarg; break;
		case O_KUBECTL: o.kubectl = optarg; break;
		case O_KUBECONFIG: o.kubeconfig = optarg; break;
		case O_CONTEXT: o.context = optarg; break;
		case 'n': o.namespace = optarg; break;
		case O_K8S_FROM:
			if (add_list(k8s_from, &nk8s, optarg))
				return kt_cli_usage(&kt_cmd_record, "too many --k8s-from");
			o.k8s_from = k8s_from;
			break;
		case O_NO_REDACT: o.k8s_no_redact = true; break;
		case O_IFACE:
			if (add_list(ifaces, &nif, optarg))
				return kt_cli_usage(&kt_cmd_record, "too many --iface");
			o.ifaces = ifaces;
			break;
		case O_PCAP_FILTER: o.pcap_filter = optarg; break;
		case O_SNAPLEN: {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);

			if (*end || n < 64 || n > 262144)
				return kt_cli_usage(&kt_cmd_record, "bad --snaplen '%s' (64 to 262144)", optarg);
			o.snaplen = (uint32_t)n;
			break;
		}
		case O_PCAP_ALL: o.pcap_all = true; break;
		default:
			if ((r = number_arg(numbers, c, optarg)) > 0)
				return r;
			if (r < 0 && (r = kt_cli_common(&kt_cmd_record, c)) >= 0)
				return r;
		}
	}
	if (optind != argc)
		return kt_cli_usage(&kt_cmd_record, "unexpected argument '%s'", argv[optind]);
	if (!o.output)
		return kt_cli_usage(&kt_cmd_record, "missing -o BUNDLE");
	{
		enum kt_compress cmp;

		if ((err = kt_compress_from_name(o.output, &cmp)))
			return kt_cli_usage(&kt_cmd_record, "%s", kt_err_msg(err));
	}
	if (sources_arg) {
		for (char *tok = strtok(sources_arg, ","); tok; tok = strtok(NULL, ",")) {
			if (!kt_source_find(tok)) {
				char avail[256] = "";

				for (int i = 0; kt_sources[i]; i++)
					snprintf(avail + strlen(avail), sizeof(avail) - strlen(avail),
						 "%s%s", i ? ", " : "", kt_sources[i]->name);
				return kt_cli_usage(&kt_cmd_record, "unknown source '%s' (this ktcap has: %s)",
						    tok, *avail ? avail : "none");
			}
			if (add_list(names, &nnames, tok))
				return kt_cli_usage(&kt_cmd_record, "too many sources");
		}
	} else {
		for (int i = 0; kt_sources[i]; i++)
			add_list(names, &nnames, kt_sources[i]->name);
	}
	if (!spool_dir) {
		snprintf(spool, sizeof(spool), "%s.spool", o.output);
		spool_dir = spool;
	}
	if (!stat(spool_dir, &st))
		return kt_cli_fail(KT_EXIT_USAGE, -EEXIST, "spool '%s' exists: pack it with "
				   "'ktcap pack %s -o BUNDLE', or remove it", spool_dir, spool_dir);

	options = json_object();
	{
		json_t *srcs = json_array();

		for (int i = 0; names[i]; i++)
			json_array_append_new(srcs, json_string(names[i]));
		json_object_set_new(options, "sources", srcs);
		json_object_set_new(options, "duration_ns", json_integer((json_int_t)o.duration_ns));
		json_object_set_new(options, "max_size", json_integer((json_int_t)o.max_size));
		json_object_set_new(options, "snaplen", json_integer(o.snaplen));
		json_object_set_new(options, "k8s_interval_ns", json_integer((json_int_t)o.k8s_interval_ns));
		json_object_set_new(options, "redact", json_boolean(!o.k8s_no_redact));
		if (o.namespace)
			json_object_set_new(options, "namespace", json_string(o.namespace));
		if (o.pcap_filter)
			json_object_set_new(options, "pcap_filter", json_string(o.pcap_filter));
		if (o.ifaces) {
			json_t *ifs = json_array();

			for (int i = 0; o.ifaces[i]; i++)
				json_array_append_new(ifs, json_string(o.ifaces[i]));
			json_object_set_new(options, "ifaces", ifs);
		}
		json_object_set_new(options, "pcap_all", json_boolean(o.pcap_all));
		if (o.pcap_max_size)
			json_object_set_new(options, "pcap_max_size", json_integer((json_int_t)o.pcap_max_size));
	}
	err = kt_record_run(&o, names, spool_dir, options, &res);
	json_decref(options);
	if (err)
		return kt_cli_fail_err(KT_EXIT_USAGE, err, "recording failed");
	if (kt_cli.json) {
		json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:i, s:i}", "bundle", o.output,
				      "stop_reason", res.stop_reason, "records", (json_int_t)res.records,
				      "bytes", (json_int_t)res.bytes_out, "lost", (json_int_t)res.lost,
				      "sources_ok", res.sources_ok, "sources_failed", res.sources_failed);

		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	} else if (!kt_cli.quiet) {
		fprintf(stderr, "ktcap: stopped (%s): wrote %s, %" PRIu64 " records, %" PRIu64
			" bytes, %" PRIu64 " events lost, %u source(s) ok, %u failed\n",
			res.stop_reason, o.output, res.records, res.bytes_out, res.lost,
			res.sources_ok, res.sources_failed);
	}
	if (!res.sources_ok)
		return kt_cli_fail(KT_EXIT_USAGE, 0, "no source could record: see 'ktana info %s' "
				   "and 'ktcap check'", o.output);
	return KT_EXIT_OK;
}

const struct kt_cmd kt_cmd_record = {
	"record", "record this node (flows, packets, Kubernetes objects, host facts)", usage, run,
};
