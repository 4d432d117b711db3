/* cmd_flows.c - ktana flows: one connection per line.
 *
 * Connections come from the "conn" stream (rebuilt from packets by `ktana
 * import`) and from the "flow" stream of a ktcap recording, where a
 * connection is its CLOSE event (totals of an established connection) or
 * its FAIL event (never established). Both print in one shape.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>

#include "bundle.h"
#include "cli.h"
#include "commands.h"
#include "error.h"
#include "manifest.h"
#include "record_json.h"
#include "records.h"
#include "stream.h"

static const char usage[] =
	"Usage: ktana flows [--json] BUNDLE\n"
	"\n"
	"Prints one connection a line: when it started, protocol, the side that\n"
	"opened it (or sent first) and the other side, its outcome, duration,\n"
	"frames/bytes each way, handshake RTT, retransmissions and the HTTP\n"
	"request line when one was seen. Works on bundles from `ktana import`\n"
	"(connections rebuilt from packets) and from `ktcap record` (connection\n"
	"events of the kernel; there packets are segments and bytes are payload).\n"
	"\n"
	"With --json, one object a line: proto, src_ip, src_port, dst_ip,\n"
	"dst_port, packets_fwd, packets_rev, bytes_fwd, bytes_rev, start (RFC 3339\n"
	"UTC, nanoseconds), start_ns, duration_ns, outcome (established, refused,\n"
	"unanswered, reset, partial, udp, unreachable, failed), rtt_us, retrans,\n"
	"and l7, vlan, tunnel_vni, capture when known.\n"
	"\n"
	"EXAMPLES\n"
	"  ktana flows case.tar.zst\n"
	"  ktana flows --json case.tar.zst | jq 'select(.outcome == \"refused\")'\n";

static const char *const conn_outcomes[KT_CONN__MAX] = {
	"established", "refused", "unanswered", "reset", "partial", "udp",
};

/* One connection in the shape both sources share. */
struct line {
	uint8_t proto;
	const uint8_t *src, *dst;
	uint16_t sport, dport;
	uint64_t start, duration;
	uint64_t pf, pr, bf, br;
	uint32_t rtt_us, retrans;
	const char *outcome;
	const char *from;		/* "pcap" or "ebpf" */
	const struct kt_str *l7;	/* or NULL */
	int vlan;			/* 0 none or not known */
	int capture;			/* -1: not known */
	uint32_t vni;
};

static void print_line(const struct line *l)
{
	char s[64], d[64], ts[40];

	kt_ip_str(l->src, s, sizeof(s));
	kt_ip_str(l->dst, d, sizeof(d));
	kt_time_str(l->start, ts, sizeof(ts));
	if (kt_cli.json) {
		json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:i, s:I, s:I, s:I, s:I,"
				      " s:s, s:I, s:I, s:s, s:I, s:I, s:s}",
				      "proto", l->proto == IPPROTO_TCP ? "tcp" : "udp",
				      "src_ip", s, "src_port", l->sport,
				      "dst_ip", d, "dst_port", l->dport,
				      "packets_fwd", (json_int_t)l->pf, "packets_rev", (json_int_t)l->pr,
				      "bytes_fwd", (json_int_t)l->bf, "bytes_rev", (json_int_t)l->br,
				      "start", ts, "start_ns", (json_int_t)l->start,
				      "duration_ns", (json_int_t)l->duration,
				      "outcome", l->outcome,
				      "rtt_us", (json_int_t)l->rtt_us, "retrans", (json_int_t)l->retrans,
				      "from", l->from);

		if (!o)
			return;
		if (l->l7 && l->l7->len)
			json_object_set_new(o, "l7", kt_json_bytes(l->l7->p, l->l7->len));
		if (l->vlan > 0)
			json_object_set_new(o, "vlan", json_integer(l->vlan));
		if (l->vni)
			json_object_set_new(o, "tunnel_vni", json_integer(l->vni));
		if (l->capture >= 0)
			json_object_set_new(o, "capture", json_integer(l->capture));
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
		return;
	}
	printf("%s %s %s:%u -> %s:%u %s %.3fms fwd %" PRIu64 "/%" PRIu64 " rev %" PRIu64
	       "/%" PRIu64, ts, l->proto == IPPROTO_TCP ? "tcp" : "udp", s, l->sport, d,
	       l->dport, l->outcome, (double)l->duration / 1e6, l->pf, l->bf, l->pr, l->br);
	if (l->rtt_us)
		printf(" rtt %.3fms", l->rtt_us / 1e3);
	if (l->retrans)
		printf(" retrans %u", l->retrans);
	if (l->l7 && l->l7->len) {
		/* the request line came off the wire: print only what is printable */
		putchar(' ');
		for (uint32_t i = 0; i < l->l7->len; i++) {
			unsigned char ch = (unsigned char)l->l7->p[i];

			putchar(ch >= 0x20 && ch < 0x7f ? ch : '?');
		}
	}
	putchar('\n');
}

static void from_conn(const struct kt_conn *c)
{
	struct line l = {
		.proto = c->proto, .src = c->src, .dst = c->dst,
		.sport = c->sport, .dport = c->dport,
		.start = c->ts, .duration = c->duration_ns,
		.pf = c->packets_fwd, .pr = c->packets_rev,
		.bf = c->bytes_fwd, .br = c->bytes_rev,
		.rtt_us = c->rtt_us, .retrans = c->retrans,
		.outcome = c->outcome < KT_CONN__MAX ? conn_outcomes[c->outcome] : "unknown",
		.from = "pcap", .l7 = &c->l7,
		.vlan = c->vlan, .capture = c->capture, .vni = c->tunnel_vni,
	};

	print_line(&l);
}

static void from_flow(const struct kt_flow *f)
{
	bool server = f->role == KT_ROLE_SERVER;
	struct line l = {
		.proto = f->proto,
		.src = server ? f->daddr : f->saddr, .dst = server ? f->saddr : f->daddr,
		.sport = server ? f->dport : f->sport, .dport = server ? f->sport : f->dport,
		.duration = f->duration_ns,
		.pf = server ? f->segs_in : f->segs_out, .pr = server ? f->segs_out : f->segs_in,
		.bf = server ? f->bytes_recv : f->bytes_sent,
		.br = server ? f->bytes_sent : f->bytes_recv,
		.rtt_us = f->srtt_us, .retrans = f->retrans,
		.from = "ebpf", .vlan = -1, .capture = -1,
	};

	/* a CLOSE is stamped when the connection ended */
	l.start = f->kind == KT_FLOW_CLOSE && f->ts > f->duration_ns ? f->ts - f->duration_ns
								     : f->ts;
	if (f->kind == KT_FLOW_CLOSE) {
		l.outcome = f->cause == KT_CAUSE_RESET ? "reset" : "established";
	} else {
		switch (f->cause) {
		case KT_CAUSE_REFUSED: l.outcome = "refused"; break;
		case KT_CAUSE_TIMEOUT: l.outcome = "unanswered"; break;
		case KT_CAUSE_UNREACHABLE: l.outcome = "unreachable"; break;
		case KT_CAUSE_RESET: l.outcome = "reset"; break;
		default: l.outcome = "failed"; break;
		}
		l.duration = f->latency_ns;
	}
	print_line(&l);
}

static int print_stream(struct kt_bundle *b, bool conn, uint64_t *count)
{
	struct kt_stream_reader *r = NULL;
	const void *recs;
	size_t n;
	int err;

	if ((err = kt_bundle_open_stream(b, conn ? &kt_conn_schema : &kt_flow_schema, &r)))
		return err;
	while (!(err = kt_stream_reader_next(r, &recs, &n)) && n) {
		for (size_t i = 0; i < n; i++) {
			if (conn) {
				from_conn((const struct kt_conn *)recs + i);
				(*count)++;
			} else {
				const struct kt_flow *f = (const struct kt_flow *)recs + i;

				if (f->kind != KT_FLOW_CLOSE && f->kind != KT_FLOW_FAIL)
					continue;
				from_flow(f);
				(*count)++;
			}
		}
	}
	kt_stream_reader_free(r);
	return err;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = { KT_CLI_COMMON_LONG, { 0 } };
	const struct kt_entry *e;
	struct kt_bundle *b = NULL;
	uint64_t count = 0;
	int c, r = 0, err = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if ((r = kt_cli_common(&kt_cmd_flows, c)) >= 0)
			return r;
	if (optind + 1 != argc)
		return kt_cli_usage(&kt_cmd_flows, "expected one BUNDLE");
	if ((err = kt_bundle_open(&b, argv[optind])))
		return kt_cli_fail_err(KT_EXIT_USAGE, err, NULL);
	while ((r = kt_bundle_next(b, &e)) == 1) {
		if (e->kind != KT_ENTRY_RECORDS)
			continue;
		if (!strcmp(e->stream, "conn"))
			err = print_stream(b, true, &count);
		else if (!strcmp(e->stream, "flow"))
			err = print_stream(b, false, &count);
		if (err)
			break;
	}
	if (!err && r < 0)
		err = r;
	fflush(stdout);
	kt_bundle_close(b);
	if (err)
		return kt_cli_fail_err(KT_EXIT_USAGE, err, argv[optind]);
	return KT_EXIT_OK;
}

const struct kt_cmd kt_cmd_flows = {
	"flows", "list the connections of a bundle, one a line", usage, run,
};
