/* pcap_frag.c - fragments: the packets around trouble, and the continuous
 * capture of --pcap-all.
 *
 * Trouble (a failed connect, a reset, retransmits, a DNS error) opens a
 * pending fragment for its flow from [flow start - around, ts + around].
 * More trouble of the same flow while it waits widens it (never past
 * 4 x around beyond the first). Once 'to' has passed, the rings of every
 * interface are searched for that flow's packets, which are written, in
 * time order, as one pcapng file per link type:
 *
 *   pcap/frag-NNNNNN.pcapng     SHB (comment: why) + IDB per interface + EPBs
 *   pcap/fragments.jsonl        one line per fragment: file, reasons, flow,
 *                               window, packets (the report links edges here)
 *
 * Everything written counts against --pcap-max-size, the index too: a
 * fragment that would pass it is not written, and the manifest says the
 * capture was truncated.
 * With --pcap-all every packet already goes to pcap/all.pcapng: trouble is
 * then only indexed, pointing into that file.
 */
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pcap_int.h"
#include "records.h"

#define FRAG_MAX_BYTES	(64u << 20)	/* one fragment's buffer: more is cut */
#define ALL_FILE	"pcap/all.pcapng"
#define INDEX_FILE	"pcap/fragments.jsonl"

static const uint8_t zero16[16];

/* (declared in source.h; defined here, with the one source that names
 * trouble in files, so the pcap library stands alone) */
const char *kt_trouble_name(int kind)
{
	static const char *const names[KT_TROUBLE__KINDS] = {
		[KT_TROUBLE_REFUSED] = "refused", [KT_TROUBLE_TIMEOUT] = "timeout",
		[KT_TROUBLE_UNREACHABLE] = "unreachable", [KT_TROUBLE_CONNECT] = "connect_error",
		[KT_TROUBLE_RESET] = "reset", [KT_TROUBLE_RETRANS] = "retransmits",
		[KT_TROUBLE_DNS_ERROR] = "dns_error", [KT_TROUBLE_DNS_TIMEOUT] = "dns_timeout",
	};

	return kind > 0 && kind < KT_TROUBLE__KINDS ? names[kind] : "unknown";
}

/* libpcap's DLT_ values are LINKTYPE_ values, but for raw IP (pcap/dlt.h). */
uint16_t kt_pcap_linktype(int dlt)
{
	return dlt == DLT_RAW || dlt == 14 ? 101 : (uint16_t)dlt;
}

/* Packets of a flow: the ports (when given) and addresses match either way;
 * the far address may be the one before DNAT (a Service). An ICMP error is
 * keyed by the packet it quotes, client to server; the client sees it with
 * the Service address, conntrack having reversed the DNAT in the quote. */
static bool matches(const struct kt_trouble *t, const struct kt_ring_pkt *p)
{
	bool orig = memcmp(t->orig_daddr, zero16, 16) != 0;
	const uint8_t *a, *b;
	uint16_t pa, pb;
	int dir;

	if (!p->proto || (t->proto && p->proto != t->proto))
		return false;
	for (dir = 0; dir < 2; dir++) {
		a = dir ? p->dst : p->src;
		b = dir ? p->src : p->dst;
		pa = dir ? p->dport : p->sport;
		pb = dir ? p->sport : p->dport;
		if (memcmp(a, t->saddr, 16))
			continue;
		if (memcmp(b, t->daddr, 16) && !(orig && !memcmp(b, t->orig_daddr, 16)))
			continue;
		if (t->sport && pa != t->sport)
			continue;
		if (t->dport && pb != t->dport && !(t->orig_dport && pb == t->orig_dport))
			continue;
		return true;
	}
	return false;
}

/* Either side's report of one connection (the client's and the server's). */
static bool same_flow(const struct kt_trouble *a, const struct kt_trouble *b)
{
	if (a->proto != b->proto)
		return false;
	if (a->sport == b->sport && a->dport == b->dport &&
	    !memcmp(a->saddr, b->saddr, 16) && !memcmp(a->daddr, b->daddr, 16))
		return true;
	return a->sport == b->dport && a->dport == b->sport &&
	       !memcmp(a->saddr, b->daddr, 16) && !memcmp(a->daddr, b->saddr, 16);
}

/* Both ends the same, whatever the ports: a host pair. */
static bool same_hosts(const struct kt_trouble *a, const struct kt_trouble *b)
{
	return a->proto == b->proto &&
	       ((!memcmp(a->saddr, b->saddr, 16) && !memcmp(a->daddr, b->daddr, 16)) ||
		(!memcmp(a->saddr, b->daddr, 16) && !memcmp(a->daddr, b->saddr, 16)));
}

void kt_pcap_frag_trouble(struct kt_pcap_src *s, const struct kt_trouble *t)
{
	/* A failed connect's SYNs came its latency before (bounded by the
	 * connect timeout); an established flow may be hours old: around it
	 * is enough, and bounds the fragment. */
	uint64_t cap = t->kind <= KT_TROUBLE_CONNECT ? s->ring_ns : s->around_ns;
	uint64_t since = t->since_ns < cap ? t->since_ns : cap;
	uint64_t from = t->ts > since + s->around_ns ? t->ts - since - s->around_ns : 0;
	uint64_t to = t->ts + s->around_ns;
	struct kt_pcap_frag *f = NULL;

	if (s->stopped || t->kind >= KT_TROUBLE__KINDS)
		return;
	/* the eBPF source sees every netns of the machine: only ours matter */
	if (!kt_pcap_netns_seen(s, t->netns)) {
		s->troubles_elsewhere++;
		return;
	}
	s->troubles++;
	s->troubles_by_kind[t->kind]++;
	for (unsigned k = 0; k < s->npending && !f; k++)
		if (same_flow(&s->pending[k].t, t))
			f = &s->pending[k];
	/* Many flows of one host pair failing at once (a client retrying in
	 * a loop): past KT_PCAP_PAIR_FLOWS, one fragment of the pair takes the
	 * rest, which bounds the work (each fragment searches every ring). */
	if (!f) {
		struct kt_pcap_frag *pair = NULL;
		unsigned same = 0;

		for (unsigned k = 0; k < s->npending; k++)
			if (same_hosts(&s->pending[k].t, t)) {
				same++;
				if (!pair || !s->pending[k].t.sport)
					pair = &s->pending[k];
			}
		if (same >= KT_PCAP_PAIR_FLOWS) {
			f = pair;
			f->t.sport = f->t.dport = f->t.orig_dport = 0;
		}
	}
	if (f) {
		if (from < f->from_ns)
			f->from_ns = from;
		if (to > f->to_ns && to <= f->first_ts + 4 * s->around_ns)
			f->to_ns = to;
	} else {
		if (s->npending == KT_PCAP_MAX_PENDING) {
			s->frags_dropped_busy++;
			return;
		}
		f = &s->pending[s->npending++];
		memset(f, 0, sizeof(*f));
		f->t = *t;
		f->first_ts = t->ts;
		f->from_ns = from;
		f->to_ns = to;
	}
	f->reasons |= 1u << t->kind;
	f->reports++;
	if (t->kind == KT_TROUBLE_RETRANS)
		f->retrans += t->count;
	/* a retransmit now and then is normal: only a burst is trouble */
	if (t->kind != KT_TROUBLE_RETRANS || f->retrans >= KT_PCAP_RETRANS_BURST)
		f->armed = true;
}

/* ---- writing a fragment -------------------------------------------------- */

struct hit {
	uint64_t ts;
	uint32_t caplen, wirelen;
	unsigned iface;
	bool icmp;		/* an ICMP error about the flow */
	const uint8_t *data;
};

struct collect {
	const struct kt_trouble *t;
	struct hit *v;
	size_t n, cap;
	unsigned iface;
	int err;
};

static int collect_one(void *ctx, const struct kt_ring_pkt *p)
{
	struct collect *c = ctx;

	if (!matches(c->t, p))
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct hit *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return c->err = kt_err_set(-ENOMEM, "out of memory for a fragment");
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = (struct hit){ p->ts, p->caplen, p->wirelen, c->iface,
				     (p->flags & KT_RING_ICMP) != 0, p->data };
	return 0;
}

static int hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	return x->ts < y->ts ? -1 : x->ts > y->ts ? 1 : (int)x->iface - (int)y->iface;
}

static json_t *flow_json(const struct kt_trouble *t)
{
	char a[64], b[64], o[64];
	json_t *j;

	kt_ip_str(t->saddr, a, sizeof(a));
	kt_ip_str(t->daddr, b, sizeof(b));
	j = json_pack("{s:s, s:s, s:i, s:s, s:i}",
		      "proto", t->proto == IPPROTO_UDP ? "udp" : t->proto == IPPROTO_TCP ? "tcp" : "ip",
		      "src", a, "sport", t->sport, "dst", b, "dport", t->dport);
	if (j && !kt_ip_is_unset(t->orig_daddr) && memcmp(t->orig_daddr, t->daddr, 16)) {
		kt_ip_str(t->orig_daddr, o, sizeof(o));
		json_object_set_new(j, "orig_dst", json_string(o));
		json_object_set_new(j, "orig_dport", json_integer(t->orig_dport));
	}
	if (j && t->netns)
		json_object_set_new(j, "netns", json_integer((json_int_t)t->netns));
	return j;
}

static json_t *reasons_json(uint32_t reasons)
{
	json_t *a = json_array();

	for (int k = 1; k < KT_TROUBLE__KINDS; k++)
		if (reasons & (1u << k))
			json_array_append_new(a, json_string(kt_trouble_name(k)));
	return a;
}

static void comment(const struct kt_pcap_frag *f, char *buf, size_t len)
{
	char a[64], b[64];
	size_t n;

	kt_ip_str(f->t.saddr, a, sizeof(a));
	kt_ip_str(f->t.daddr, b, sizeof(b));
	n = (size_t)snprintf(buf, len, "ktcap: packets around trouble:");
	for (int k = 1; k < KT_TROUBLE__KINDS && n < len; k++)
		if (f->reasons & (1u << k))
			n += (size_t)snprintf(buf + n, len - n, " %s", kt_trouble_name(k));
	if (n < len)
		snprintf(buf + n, len - n, " (reported by %s) %s %s:%u -> %s:%u",
			 f->t.source ? f->t.source : "?",
			 f->t.proto == IPPROTO_UDP ? "udp" : "tcp", a, f->t.sport, b, f->t.dport);
}

/* One line for the index, and one entry in the manifest (while few). */
static int index_fragment(struct kt_pcap_src *s, const struct kt_pcap_frag *f,
			  const char *file, uint64_t packets, uint64_t bytes, uint64_t icmp,
			  bool complete)
{
	json_t *j = json_pack("{s:s?, s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:s, s:b}",
			      "file", file, "reasons", reasons_json(f->reasons),
			      "flow", flow_json(&f->t), "trouble_ns", (json_int_t)f->first_ts,
			      "start_ns", (json_int_t)f->from_ns, "end_ns", (json_int_t)f->to_ns,
			      "packets", (json_int_t)packets, "bytes", (json_int_t)bytes,
			      "source", f->t.source ? f->t.source : "",
			      "complete", complete);
	char *line;
	int err;

	if (!j)
		return kt_err_set(-ENOMEM, "out of memory");
	if (f->t.err)
		json_object_set_new(j, f->t.kind >= KT_TROUBLE_DNS_ERROR ? "rcode" : "errno",
				    json_integer(f->t.err));
	/* the evidence of an unreachable host or port, when it was seen */
	if (icmp)
		json_object_set_new(j, "icmp_errors", json_integer((json_int_t)icmp));
	line = json_dumps(j, JSON_COMPACT);
	if (!line) {
		json_decref(j);
		return kt_err_set(-ENOMEM, "out of memory");
	}
	{
		size_t n = strlen(line);

		line[n] = '\n';	/* json_dumps left room: replace the NUL */
		if (s->max_size && s->written + n + 1 > s->max_size) {
			/* the index counts against the limit too */
			s->truncated = true;
			s->index_dropped++;
			err = 0;
		} else {
			err = kt_spool_append_file(s->ctx->spool, INDEX_FILE, line, n + 1);
			s->written += n + 1;
		}
	}
	free(line);
	if (!err && json_array_size(s->listed) < KT_PCAP_MAX_LISTED)
		json_array_append(s->listed, j);
	json_decref(j);
	return err;
}

/* The packets of hits[0..n) that come from interfaces of link type dlt. */
static int write_file(struct kt_pcap_src *s, const struct kt_pcap_frag *f, struct hit *v,
		      size_t n, int dlt, const char *rel, uint64_t *packets, uint64_t *bytes,
		      uint64_t *icmp, bool *cut)
{
	uint32_t ids[KT_PCAP_MAX_IFACES];
	struct kt_pcapng w;
	char desc[1024], cmt[512];
	size_t need = 4096;
	int err = 0;

	*packets = *bytes = *icmp = 0;
	*cut = false;
	for (size_t k = 0; k < n && need < FRAG_MAX_BYTES; k++)
		if (s->ifs[v[k].iface].dlt == dlt)
			need += kt_pcapng_epb_size(v[k].caplen);
	for (unsigned k = 0; k < s->nifs; k++)
		need += 1200;
	if (s->max_size && s->written + need > s->max_size) {
		s->truncated = true;
		s->frags_dropped_size++;
		return 0;
	}
	kt_pcapng_init(&w, FRAG_MAX_BYTES);
	comment(f, cmt, sizeof(cmt));
	if ((err = kt_pcapng_shb(&w, cmt, "ktcap")))
		goto out;
	for (unsigned k = 0; k < s->nifs; k++)
		ids[k] = UINT32_MAX;
	for (size_t k = 0; k < n; k++) {
		unsigned i = v[k].iface;

		if (s->ifs[i].dlt != dlt)
			continue;
		if (ids[i] == UINT32_MAX) {
			kt_pcap_ident_describe(s, &s->ifs[i], desc, sizeof(desc));
			if ((err = kt_pcapng_idb(&w, kt_pcap_linktype(s->ifs[i].dlt),
						 s->ifs[i].snaplen, s->ifs[i].name, desc, &ids[i])))
				goto out;
		}
		err = kt_pcapng_epb(&w, ids[i], v[k].ts, v[k].data, v[k].caplen, v[k].wirelen);
		if (err == -E2BIG) {	/* a busy flow: its first packets are kept */
			*cut = true;
			err = 0;
			break;
		}
		if (err)
			goto out;
		*icmp += v[k].icmp;
	}
	if ((err = kt_spool_write_file(s->ctx->spool, rel, w.buf.p, w.buf.len)))
		goto out;
	s->written += w.buf.len;
	*packets = w.packets;
	*bytes = w.buf.len;
out:
	kt_pcapng_release(&w);
	return err;
}

/* read_ns: every packet captured up to then is in the rings. */
static int write_fragment(struct kt_pcap_src *s, const struct kt_pcap_frag *f, uint64_t read_ns)
{
	struct collect c = { .t = &f->t };
	uint64_t oldest = UINT64_MAX, packets, bytes, icmp;
	int dlts[8], ndlt = 0, err = 0;
	char rel[96], first[96] = "";
	bool cut;

	if (s->all)		/* everything is in the continuous file */
		return index_fragment(s, f, ALL_FILE, 0, 0, 0, true);
	for (unsigned k = 0; k < s->nifs && !c.err; k++) {
		struct kt_pkt_ring_stats rs;

		if (!s->ifs[k].ring)
			continue;
		c.iface = k;
		kt_pkt_ring_foreach(s->ifs[k].ring, f->from_ns, f->to_ns, collect_one, &c);
		kt_pkt_ring_stats(s->ifs[k].ring, &rs);
		if (rs.oldest_ts && rs.oldest_ts < oldest)
			oldest = rs.oldest_ts;
	}
	if ((err = c.err))
		goto out;
	if (!c.n) {
		s->frags_empty++;	/* a flow of another netns, or filtered out */
		goto out;
	}
	qsort(c.v, c.n, sizeof(*c.v), hit_cmp);
	for (size_t k = 0; k < c.n; k++) {
		int d = s->ifs[c.v[k].iface].dlt, j;

		for (j = 0; j < ndlt && dlts[j] != d; j++)
			;
		if (j == ndlt && ndlt < 8)
			dlts[ndlt++] = d;
	}
	s->frag_seq++;
	for (int j = 0; j < ndlt; j++) {
		if (j == 0)
			snprintf(rel, sizeof(rel), "pcap/frag-%06" PRIu64 ".pcapng", s->frag_seq);
		else	/* readers want one link type per file */
			snprintf(rel, sizeof(rel), "pcap/frag-%06" PRIu64 "-%d.pcapng",
				 s->frag_seq, dlts[j]);
		if ((err = write_file(s, f, c.v, c.n, dlts[j], rel, &packets, &bytes, &icmp, &cut)))
			goto out;
		if (!packets)
			continue;
		if (!*first)
			snprintf(first, sizeof(first), "%s", rel);
		s->frags_written++;
		s->frag_packets += packets;
		/* whole only if the ring reached back to from, and the packets
		 * read reached to (not so when the recording stopped before) */
		err = index_fragment(s, f, rel, packets, bytes, icmp,
				     oldest <= f->from_ns && f->to_ns <= read_ns && !cut);
		if (err)
			goto out;
	}
out:
	free(c.v);
	return err;
}

int kt_pcap_frag_due(struct kt_pcap_src *s, uint64_t read_ns, bool all)
{
	uint64_t now_ns = read_ns;
	unsigned k = 0;
	int err = 0;

	if (s->npending)
		kt_pcap_ident_refresh_pods(s);
	while (k < s->npending) {
		struct kt_pcap_frag *f = &s->pending[k];
		bool due = all || f->to_ns <= now_ns;

		/* an unarmed retransmit count expires quietly */
		if (!f->armed && !(all || f->first_ts + s->around_ns <= now_ns)) {
			k++;
			continue;
		}
		if (!due && f->armed) {
			k++;
			continue;
		}
		if (f->armed && !err)
			err = write_fragment(s, f, read_ns);
		s->pending[k] = s->pending[--s->npending];
	}
	return err;
}

/* ---- --pcap-all ------------------------------------------------------------ */

static int all_start(struct kt_pcap_src *s, int dlt)
{
	char desc[1024];
	int err;

	s->all_dlt = dlt;
	s->all_started = true;
	kt_pcapng_init(&s->all_w, 64u << 20);
	if ((err = kt_pcapng_shb(&s->all_w, "ktcap: every packet (--pcap-all)", "ktcap")))
		return err;
	kt_pcap_ident_refresh_pods(s);
	for (unsigned k = 0; k < s->nifs; k++) {
		struct kt_pcap_iface *i = &s->ifs[k];

		i->all_ifid = UINT32_MAX;
		if (i->dlt != dlt)
			continue;
		kt_pcap_ident_describe(s, i, desc, sizeof(desc));
		if ((err = kt_pcapng_idb(&s->all_w, kt_pcap_linktype(dlt), i->snaplen,
					 i->name, desc, &i->all_ifid)))
			return err;
	}
	return 0;
}

int kt_pcap_all_packet(struct kt_pcap_src *s, struct kt_pcap_iface *i,
		       const struct pcap_pkthdr *h, const uint8_t *data, uint64_t ts)
{
	size_t z = kt_pcapng_epb_size(h->caplen);
	int err;

	if (!s->all_started && (err = all_start(s, i->dlt)))
		return err;
	if (i->dlt != s->all_dlt || i->all_ifid == UINT32_MAX) {
		s->all_other_dlt++;	/* one link type per file: the first one's */
		return 0;
	}
	if (s->truncated || (s->max_size && s->written + s->all_w.buf.len + z > s->max_size)) {
		s->truncated = true;
		s->all_dropped_size++;
		return 0;
	}
	if (s->all_w.buf.len + z > s->all_w.buf.max && (err = kt_pcap_all_flush(s)))
		return err;
	if ((err = kt_pcapng_epb(&s->all_w, i->all_ifid, ts, data, h->caplen, h->len)))
		return err;
	s->all_packets++;
	return 0;
}

int kt_pcap_all_flush(struct kt_pcap_src *s)
{
	int err;

	if (!s->all_started || !s->all_w.buf.len)
		return 0;
	/* whole blocks only: a kill leaves whole packets, and pack keeps them */
	err = kt_spool_append_file(s->ctx->spool, ALL_FILE, s->all_w.buf.p, s->all_w.buf.len);
	s->written += s->all_w.buf.len;
	kt_buf_reset(&s->all_w.buf);
	return err;
}
