/* cmd_import.c - ktana import: a bundle from third-party packet captures.
 *
 * Each capture is read through libpcap, decoded and tracked (formats/packet);
 * connections go to the "conn" stream, DNS transactions to "dns", into a
 * spool beside the output that kt_pack() turns into the bundle. Each file
 * has its own tracker, flushed at its end: kt_conn.capture names the file
 * (its index in the manifest's "captures"). With several files, connections
 * are merged (merge.h): each file's clock offset against the first file is
 * estimated from the connections both saw and recorded in "captures", every
 * connection is put on the first file's clock, and one seen in two files
 * is written once; DNS records alike.
 */
#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"
#include "cli.h"
#include "k8scap.h"
#include "commands.h"
#include "error.h"
#include "manifest.h"
#include "merge.h"
#include "pack.h"
#include "records.h"
#include "spool.h"
#include "tracker.h"

static const char usage[] =
	"Usage: ktana import --pcap FILE [--pcap FILE]... [--k8s PATH]... -o BUNDLE [OPTIONS]\n"
	"\n"
	"Turns packet captures taken by other tools (tcpdump, ksniff, Retina,\n"
	"Wireshark: pcap or pcapng) into a bundle every ktana command reads. TCP\n"
	"connections are rebuilt from the packets (handshake, refused, unanswered,\n"
	"reset, retransmissions, bytes each way, RTT), UDP flows counted, DNS\n"
	"queries matched with their answers, and the first HTTP/1 request line\n"
	"kept where the snap length allows. Link types: Ethernet, 802.1Q/802.1ad,\n"
	"Linux cooked v1 and v2, raw IP, loopback, NFLOG; tunnels: VXLAN (4789,\n"
	"8472), Geneve, GRE, IP-in-IP. A capture cut short yields what it holds\n"
	"and a warning.\n"
	"\n"
	"OPTIONS\n"
	"  -p, --pcap FILE       a capture to read; repeatable\n"
	"  -k, --k8s PATH        Kubernetes objects people already have: `kubectl get\n"
	"                        -o json` output, `kubectl cluster-info dump`, a\n"
	"                        support bundle's cluster-resources/; repeatable.\n"
	"                        Redacted as ktcap redacts; Secrets never kept\n"
	"      --no-redact       keep ConfigMap data and env values (never Secrets)\n"
	"  -o, --output BUNDLE   the bundle to write (.tar.zst, .tar.gz, .tar)\n"
	"      --max-flows N     connections tracked at once (default 262144);\n"
	"                        the least recently seen is written out first\n"
	"\n"
	"EXAMPLES\n"
	"  ktana import --pcap node1.pcap -o case.tar.zst\n"
	"  ktana import -p node1.pcap -k cluster-resources/ -o case.tar.zst\n"
	"  ktana import -p a.pcapng -p b.pcapng -o case.tar.zst && ktana flows case.tar.zst\n";

#define MAX_PCAPS 256

struct import_ctx {
	struct kt_spool *spool;
	struct kt_merge *merge;		/* several files: records wait here */
	uint16_t capture;		/* the file being read */
	uint64_t first_ns, last_ns;
	uint64_t conns, dns;
};

/* A warning goes into the manifest and, for people, to stderr; with --json
 * it is in the result object instead. */
static void warn(json_t *warnings, const char *msg)
{
	json_array_append_new(warnings, json_string(msg));
	if (!kt_cli.quiet && !kt_cli.json)
		fprintf(stderr, "ktana: warning: %s\n", msg);
}

static void widen(struct import_ctx *x, uint64_t from, uint64_t to)
{
	if (!x->first_ns || from < x->first_ns)
		x->first_ns = from;
	if (to > x->last_ns)
		x->last_ns = to;
}

static int on_conn(void *ctx, const struct kt_conn *c)
{
	struct import_ctx *x = ctx;

	if (x->merge)
		return kt_merge_add(x->merge, c);
	x->conns++;
	widen(x, c->ts, c->ts + c->duration_ns);
	return kt_spool_append(x->spool, &kt_conn_schema, c);
}

static int on_dns(void *ctx, const struct kt_dns *d)
{
	struct import_ctx *x = ctx;

	if (x->merge)
		return kt_merge_add_dns(x->merge, x->capture, d);
	x->dns++;
	widen(x, d->ts, d->ts + d->latency_ns);
	return kt_spool_append(x->spool, &kt_dns_schema, d);
}

/* Several files: write the merged connections, record the clocks. */
static int finish_merge(struct import_ctx *x, unsigned ncaps, json_t *caps,
			json_t *warnings, struct kt_merge_result *mr)
{
	struct kt_merge_clock *clk = calloc(ncaps, sizeof(*clk));
	struct kt_merge *m = x->merge;
	int err;

	if (!clk)
		return kt_err_set(-ENOMEM, "out of memory");
	x->merge = NULL;	/* from here on_conn writes */
	err = kt_merge_finish(m, clk, on_conn, on_dns, x, mr);
	x->merge = m;
	for (unsigned i = 0; !err && i < ncaps; i++) {
		json_t *c = json_array_get(caps, i);

		json_object_set_new(c, "clock_matched", json_integer(clk[i].matched));
		if (clk[i].known) {
			json_object_set_new(c, "clock_offset_ns", json_integer(clk[i].offset_ns));
			if (i && !kt_cli.quiet && !kt_cli.json)
				fprintf(stderr, "ktana: capture %u's clock is %+.6f s from capture "
					"0's (%u connections seen in both)\n", i,
					clk[i].offset_ns / 1e9, clk[i].matched);
		} else if (i) {
			char w[512];

			snprintf(w, sizeof(w), "capture '%s' shares no connection with '%s': "
				 "its clock offset is unknown, its times are left as they are",
				 json_string_value(json_object_get(c, "path")),
				 json_string_value(json_object_get(json_array_get(caps, 0), "path")));
			warn(warnings, w);
		}
	}
	free(clk);
	return err;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Read one capture with its own tracker, added into 'sum'; its facts go to
 * 'caps'. */
static int read_one(const struct kt_tracker_opts *to, const char *path, json_t *caps,
		    json_t *warnings, uint64_t *frames, struct kt_tracker_stats *sum)
{
	struct kt_capture *cap = NULL;
	struct kt_tracker *t = NULL;
	struct kt_tracker_stats st;
	struct kt_read_result res;
	json_t *c;
	int err;

	if ((err = kt_capture_open(&cap, path)))
		return err;
	if ((err = kt_tracker_new(&t, to))) {
		kt_capture_close(cap);
		return err;
	}
	err = kt_capture_read_all(cap, t, &res);
	if (!err)
		err = kt_tracker_flush(t);
	kt_tracker_get_stats(t, &st);
	kt_tracker_free(t);
	sum->evicted_full += st.evicted_full;
	sum->truncated += st.truncated;
	sum->malformed += st.malformed;
	sum->frag_orphans += st.frag_orphans;
	c = json_pack("{s:s, s:i, s:I, s:I, s:b}", "path", path,
		      "linktype", kt_capture_dlt(cap), "packets", (json_int_t)res.frames,
		      "cut_by_snaplen", (json_int_t)res.cut_frames, "truncated", res.truncated);
	if (c && res.truncated)
		json_object_set_new(c, "warning", json_string(res.warning));
	if (c && res.bad_timestamps)
		json_object_set_new(c, "bad_timestamps", json_integer((json_int_t)res.bad_timestamps));
	json_array_append_new(caps, c);
	if (res.truncated)
		warn(warnings, res.warning);
	if (!res.frames && !res.truncated) {
		char w[512];

		snprintf(w, sizeof(w), "capture '%s' holds no packets", path);
		warn(warnings, w);
	}
	if (res.bad_timestamps) {
		char w[512];

		snprintf(w, sizeof(w), "capture '%s': %" PRIu64 " frames with an invalid "
			 "fraction of a second", path, res.bad_timestamps);
		warn(warnings, w);
	}
	*frames += res.frames;
	kt_capture_close(cap);
	return err;
}

static int spool_write(void *ctx, const char *rel, const void *data, size_t len)
{
	return kt_spool_write_file(ctx, rel, data, len);
}

static int spool_append(void *ctx, const char *rel, const void *data, size_t len)
{
	return kt_spool_append_file(ctx, rel, data, len);
}

static int run(int argc, char **argv)
{
	enum { O_MAX_FLOWS = 0x100, O_NO_REDACT };
	static const struct option opts[] = {
		{ "pcap", required_argument, NULL, 'p' },
		{ "k8s", required_argument, NULL, 'k' },
		{ "no-redact", no_argument, NULL, O_NO_REDACT },
		{ "output", required_argument, NULL, 'o' },
		{ "max-flows", required_argument, NULL, O_MAX_FLOWS },
		KT_CLI_COMMON_LONG, { 0 },
	};
	const char *pcaps[MAX_PCAPS], *k8s[MAX_PCAPS + 1], *out = NULL;
	unsigned npcaps = 0, nk8s = 0;
	bool no_redact = false;
	unsigned long max_flows = 0;
	struct import_ctx x = { 0 };
	struct kt_tracker_opts to = { .emit_conn = on_conn, .emit_dns = on_dns, .ctx = &x };
	struct kt_tracker_stats st = { 0 };
	struct kt_pack_opts po = { .finished = true };
	struct kt_pack_result pr;
	enum kt_compress comp;
	json_t *manifest = NULL, *caps = NULL, *warnings = NULL, *options = NULL;
	json_t *files = NULL;
	char spool_dir[4096];
	struct kt_merge_result mr = { 0 };
	uint64_t frames = 0;
	struct stat sb;
	int c, r, err = 0;
	const char *what = NULL;

	while ((c = getopt_long(argc, argv, "p:k:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (nk8s == MAX_PCAPS)
				return kt_cli_usage(&kt_cmd_import, "at most %d --k8s options", MAX_PCAPS);
			k8s[nk8s++] = optarg;
			k8s[nk8s] = NULL;
			break;
		case O_NO_REDACT:
			no_redact = true;
			break;
		case 'p':
			if (npcaps == MAX_PCAPS)
				return kt_cli_usage(&kt_cmd_import, "at most %d --pcap options", MAX_PCAPS);
			pcaps[npcaps++] = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case O_MAX_FLOWS: {
			char *end;

			max_flows = strtoul(optarg, &end, 10);
			if (*end || !*optarg || optarg[0] == '-' || !max_flows ||
			    max_flows > (1ul << 26))
				return kt_cli_usage(&kt_cmd_import, "bad --max-flows '%s'", optarg);
			break;
		}
		default:
			if ((r = kt_cli_common(&kt_cmd_import, c)) >= 0)
				return r;
		}
	}
	if (optind != argc)
		return kt_cli_usage(&kt_cmd_import, "unexpected argument '%s'", argv[optind]);
	if (!npcaps && !nk8s)
		return kt_cli_usage(&kt_cmd_import, "nothing to import: give --pcap FILE or --k8s PATH");
	if (!out)
		return kt_cli_usage(&kt_cmd_import, "give the bundle to write with -o BUNDLE");
	if (kt_compress_from_name(out, &comp))
		return kt_cli_usage(&kt_cmd_import, "cannot tell the format of '%s': name it "
				    ".tar.zst, .tar.gz or .tar", out);
	snprintf(spool_dir, sizeof(spool_dir), "%s.spool", out);
	if (!stat(spool_dir, &sb))
		return kt_cli_fail(KT_EXIT_USAGE, -EEXIST, "spool '%s' exists: remove it",
				   spool_dir);

	to.max_flows = (uint32_t)max_flows;
	if ((err = kt_spool_create(&x.spool, spool_dir, NULL))) {
		what = "cannot create the spool";
		goto out;
	}
	manifest = kt_manifest_new("ktana");
	caps = json_array();
	warnings = json_array();
	options = json_object();
	files = json_array();
	if (!manifest || !caps || !warnings || !options || !files) {
		err = kt_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	for (unsigned i = 0; i < npcaps; i++)
		json_array_append_new(files, json_string(pcaps[i]));
	json_object_set(options, "import_pcap", files);
	json_object_set(manifest, "options", options);
	json_object_set(manifest, "captures", caps);
	/* host{} describes the machine that imported, not the captured node */
	json_object_set_new(manifest, "origin", json_string("import"));
	if (npcaps > 1 && (err = kt_merge_new(&x.merge, (uint16_t)npcaps, 0)))
		goto out;
	for (unsigned i = 0; i < npcaps; i++) {
		to.capture = x.capture = (uint16_t)i;
		kt_cli_progress("reading %s", pcaps[i]);
		if ((err = read_one(&to, pcaps[i], caps, warnings, &frames, &st)))
			goto out;
	}
	if (x.merge && (err = finish_merge(&x, npcaps, caps, warnings, &mr)))
		goto out;
	if (nk8s) {
		struct kt_k8s_sink sink = { spool_write, spool_append, x.spool };
		json_t *rep = json_object();

		kt_cli_progress("reading Kubernetes objects");
		if ((err = kt_k8s_import(k8s, no_redact, &sink, rep))) {
			json_decref(rep);
			what = "cannot import the Kubernetes objects";
			goto out;
		}
		json_object_set(manifest, "redaction", json_object_get(rep, "redaction"));
		kt_manifest_set_source(manifest, "k8s", json_string_value(json_object_get(rep, "status")),
				       NULL, rep);
		if (!npcaps)
			x.first_ns = x.last_ns = kt_now_ns();
	}
	kt_manifest_set_window(manifest, x.first_ns, x.last_ns);
	kt_manifest_set_source(manifest, "pcap",
			       json_array_size(warnings) ? "partial" : "ok", NULL,
			       json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
					 "packets", (json_int_t)frames,
					 "duplicates", (json_int_t)mr.conn_duplicates,
					 "dns_duplicates", (json_int_t)mr.dns_duplicates,
					 "connections", (json_int_t)x.conns,
					 "dns", (json_int_t)x.dns,
					 "evicted_full", (json_int_t)st.evicted_full,
					 "truncated_frames", (json_int_t)st.truncated,
					 "malformed_frames", (json_int_t)st.malformed,
					 "fragments_unmatched", (json_int_t)st.frag_orphans));
	if (json_array_size(warnings))
		json_object_set(manifest, "warnings", warnings);
	json_object_set_new(manifest, "complete", json_true());
	if ((err = kt_spool_save_manifest(x.spool, manifest)))
		goto out;
	err = kt_spool_close(x.spool);
	x.spool = NULL;
	if (err)
		goto out;
	kt_cli_progress("packing %s", out);
	if (kt_cli_tty())
		fputs("\r\033[K", stderr);
	if ((err = kt_pack(spool_dir, out, &po, &pr)))
		goto out;
	nftw(spool_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (kt_cli.json) {
		json_t *j = json_pack("{s:s, s:I, s:I, s:I, s:I, s:o}", "bundle", out,
				      "packets", (json_int_t)frames,
				      "connections", (json_int_t)x.conns,
				      "dns", (json_int_t)x.dns,
				      "bytes", (json_int_t)pr.bytes_out,
				      "warnings", json_copy(warnings));

		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	} else if (!kt_cli.quiet) {
		fprintf(stderr, "ktana: imported %u capture(s), %" PRIu64 " packets: %" PRIu64
			" connections, %" PRIu64 " DNS records into %s\n", npcaps, frames,
			x.conns, x.dns, out);
	}
out:
	json_decref(caps);
	json_decref(warnings);
	json_decref(options);
	json_decref(files);
	kt_merge_free(x.merge);
	if (x.spool) {
		kt_spool_close(x.spool);
		nftw(spool_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	} else if (err) {
		nftw(spool_dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	}
	json_decref(manifest);
	if (err)
		return kt_cli_fail_err(KT_EXIT_USAGE, err, what);
	return KT_EXIT_OK;
}

const struct kt_cmd kt_cmd_import = {
	"import", "make a bundle from pcap/pcapng captures of other tools", usage, run,
};
