/* check_pcap.c - the pieces of the pcap source of ktcap record.
 *
 * The packet ring against a model of what it must hold (the newest packets,
 * in order, bytes intact, within its size, through every wrap), its age
 * limit and time windows; the pcapng writer read back by libpcap (link
 * type, nanosecond timestamps, lengths, bytes, padding) and its refusals;
 * fragments end to end on frames built here: trouble on one flow writes
 * exactly that flow's packets (also when the far address is a Service the
 * packets carry before DNAT), the ICMP error that failed a connect is in
 * that connect's fragment (decoded and keyed as the source does, its quote
 * naming the Service address) and counted in the index line, the index line
 * says why, and the size limit leaves the fragment out and says so. Flow
 * events that are trouble.
 */
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>

#include "bytes.h"
#include "error.h"
#include "packet.h"
#include "pcap_int.h"
#include "pcapng.h"
#include "pkt_ring.h"
#include "records.h"
#include "spool.h"
#include "trouble.h"

/* ---- the ring ------------------------------------------------------------ */

static void fill(uint8_t *p, uint32_t n, uint64_t seq)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seq * 31 + i);
}

struct walk {
	uint64_t first, next;	/* seq of the first seen, and the next expected */
	uint64_t n;
	int bad;
	uint32_t (*len_of)(uint64_t seq);
};

static uint32_t len_lcg(uint64_t seq)
{
	return (uint32_t)((seq * 2654435761u) % 700u);	/* 0..699, odd sizes too */
}

static int walk_one(void *ctx, const struct kt_ring_pkt *p)
{
	struct walk *w = ctx;
	uint64_t seq = p->ts;	/* the tests stamp each packet with its seq */
	uint8_t want[1024];

	if (!w->n)
		w->first = seq;
	else if (seq != w->next)
		w->bad++;
	w->next = seq + 1;
	w->n++;
	if (p->caplen != w->len_of(seq) || p->wirelen != p->caplen + 10 || p->sport != (uint16_t)seq)
		w->bad++;
	fill(want, p->caplen, seq);
	if (memcmp(want, p->data, p->caplen))
		w->bad++;
	return 0;
}

START_TEST(ring_holds_the_newest)
{
	struct kt_pkt_ring *r;
	struct kt_pkt_ring_stats st;
	uint8_t buf[1024];

	ck_assert_int_eq(kt_pkt_ring_new(&r, 16384, 0), 0);
	for (uint64_t seq = 1; seq <= 5000; seq++) {
		struct kt_ring_pkt p = { .ts = seq, .caplen = len_lcg(seq), .sport = (uint16_t)seq };
		struct walk w = { .len_of = len_lcg };

		p.wirelen = p.caplen + 10;
		fill(buf, p.caplen, seq);
		p.data = buf;
		ck_assert_int_eq(kt_pkt_ring_push(r, &p), 0);
		kt_pkt_ring_foreach(r, 0, UINT64_MAX, walk_one, &w);
		/* a contiguous run ending with the packet just pushed */
		ck_assert_int_eq(w.bad, 0);
		ck_assert_uint_eq(w.next, seq + 1);
		kt_pkt_ring_stats(r, &st);
		ck_assert_uint_eq(st.packets, w.n);
		ck_assert_uint_eq(st.oldest_ts, w.first);
		ck_assert_uint_le(st.bytes, 16384);
		/* full: the ring holds more than half its size of packets */
		if (seq > 100)
			ck_assert_uint_ge(st.bytes + 64 + 704, 16384 / 2);
	}
	kt_pkt_ring_stats(r, &st);
	ck_assert_uint_eq(st.pushed, 5000);
	ck_assert_uint_eq(st.pushed, st.packets + st.evicted_size);
	kt_pkt_ring_free(r);
}
END_TEST

static uint32_t len_100(uint64_t seq)
{
	(void)seq;
	return 100;
}

START_TEST(ring_age_window_too_big)
{
	struct kt_pkt_ring *r;
	struct kt_pkt_ring_stats st;
	uint8_t buf[8192] = { 0 };
	struct walk w = { .len_of = len_100 };
	struct kt_ring_pkt p = { .caplen = 100, .wirelen = 110 };

	ck_assert_int_eq(kt_pkt_ring_new(&r, 1 << 20, 10), 0);	/* 10 "ns" of packets */
	for (uint64_t seq = 1; seq <= 100; seq++) {
		p.ts = seq;
		p.sport = (uint16_t)seq;
		fill(buf, 100, seq);
		p.data = buf;
		ck_assert_int_eq(kt_pkt_ring_push(r, &p), 0);
	}
	kt_pkt_ring_expire(r, 100);
	kt_pkt_ring_stats(r, &st);
	ck_assert_uint_eq(st.oldest_ts, 90);
	ck_assert_uint_eq(st.evicted_age, 89);
	ck_assert_uint_eq(st.packets, 11);
	/* a time window */
	kt_pkt_ring_foreach(r, 93, 95, walk_one, &w);
	ck_assert_int_eq(w.bad, 0);
	ck_assert_uint_eq(w.n, 3);
	ck_assert_uint_eq(w.first, 93);
	/* everything expires; the ring starts over */
	kt_pkt_ring_expire(r, 1000);
	kt_pkt_ring_stats(r, &st);
	ck_assert_uint_eq(st.packets, 0);
	ck_assert_uint_eq(st.bytes, 0);
	kt_pkt_ring_free(r);

	/* a packet that can never fit is refused and counted */
	ck_assert_int_eq(kt_pkt_ring_new(&r, 4096, 0), 0);
	p.caplen = 5000;
	p.wirelen = 5000;
	ck_assert_int_eq(kt_pkt_ring_push(r, &p), -E2BIG);
	kt_pkt_ring_stats(r, &st);
	ck_assert_uint_eq(st.too_big, 1);
	ck_assert_uint_eq(st.packets, 0);
	kt_pkt_ring_free(r);
	ck_assert_int_eq(kt_pkt_ring_new(&r, 100, 0), -EINVAL);
}
END_TEST

/* ---- the pcapng writer ----------------------------------------------------- */

static char *tmp_path(const char *name)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "/tmp/kt-check-pcap-%d-%s", (int)getpid(), name);
	return buf;
}

static void write_all(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(p, 1, n, f), n);
	fclose(f);
}

START_TEST(pcapng_reads_back)
{
	static const uint64_t ts[] = { 1795605172705292878ull, 1795605172705292879ull,
				       1795605173000000001ull };
	static const uint32_t cap[] = { 60, 61, 0 }, wire[] = { 60, 1514, 42 };
	char errbuf[PCAP_ERRBUF_SIZE];
	struct kt_pcapng w;
	struct pcap_pkthdr *h;
	const u_char *d;
	uint8_t frame[128];
	uint32_t a, b;
	pcap_t *p;
	int k = 0, r;

	kt_pcapng_init(&w, 1 << 20);
	ck_assert_int_eq(kt_pcapng_shb(&w, "why: a test", "check_pcap"), 0);
	ck_assert_int_eq(kt_pcapng_idb(&w, 1, 256, "v-client", "node=n1 pod=shop/client", &a), 0);
	ck_assert_int_eq(kt_pcapng_idb(&w, 1, 256, "eth0", NULL, &b), 0);
	ck_assert_uint_eq(a, 0);
	ck_assert_uint_eq(b, 1);
	for (int i = 0; i < 3; i++) {
		fill(frame, cap[i], (uint64_t)i);
		ck_assert_int_eq(kt_pcapng_epb(&w, i == 1 ? b : a, ts[i], frame, cap[i], wire[i]), 0);
	}
	ck_assert_uint_eq(w.packets, 3);
	ck_assert_uint_eq(w.buf.len % 4, 0);
	/* refusals */
	ck_assert_int_eq(kt_pcapng_epb(&w, 2, ts[0], frame, 10, 10), -EINVAL);
	ck_assert_int_eq(kt_pcapng_epb(&w, 0, ts[0], frame, 11, 10), -EINVAL);
	write_all(tmp_path("rb.pcapng"), w.buf.p, w.buf.len);

	p = pcap_open_offline_with_tstamp_precision(tmp_path("rb.pcapng"), PCAP_TSTAMP_PRECISION_NANO,
						     errbuf);
	ck_assert_msg(p != NULL, "libpcap: %s", errbuf);
	ck_assert_int_eq(pcap_datalink(p), DLT_EN10MB);
	ck_assert_int_eq(pcap_snapshot(p), 256);
	while ((r = pcap_next_ex(p, &h, &d)) == 1) {
		ck_assert_int_lt(k, 3);
		ck_assert_uint_eq((uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec, ts[k]);
		ck_assert_uint_eq(h->caplen, cap[k]);
		ck_assert_uint_eq(h->len, wire[k]);
		fill(frame, cap[k], (uint64_t)k);
		ck_assert_int_eq(memcmp(frame, d, cap[k]), 0);
		k++;
	}
	ck_assert_int_eq(r, PCAP_ERROR_BREAK);	/* the end, not an error */
	ck_assert_int_eq(k, 3);
	pcap_close(p);
	unlink(tmp_path("rb.pcapng"));
	kt_pcapng_release(&w);

	/* the buffer's limit */
	kt_pcapng_init(&w, 210);	/* 32 SHB + 40 IDB + 132 EPB = 204 */
	ck_assert_int_eq(kt_pcapng_shb(&w, NULL, NULL), 0);
	ck_assert_int_eq(kt_pcapng_idb(&w, 1, 256, "x", NULL, &a), 0);
	ck_assert_int_eq(kt_pcapng_epb(&w, a, 1, frame, 100, 100), 0);
	ck_assert_int_eq(kt_pcapng_epb(&w, a, 2, frame, 100, 100), -E2BIG);
	ck_assert_uint_eq(w.packets, 1);
	kt_pcapng_release(&w);
}
END_TEST

/* ---- fragments end to end --------------------------------------------------- */

/* Ethernet + IPv4 + TCP, no options: 54 bytes. */
static uint32_t tcp_frame(uint8_t *f, const char *src, uint16_t sport, const char *dst,
			  uint16_t dport, uint8_t flags)
{
	uint32_t s, d;

	memset(f, 0, 54);
	f[12] = 0x08;			/* IPv4 */
	f[14] = 0x45;
	f[16] = 0;
	f[17] = 40;			/* total length */
	f[22] = 64;
	f[23] = IPPROTO_TCP;
	inet_pton(AF_INET, src, &s);
	inet_pton(AF_INET, dst, &d);
	memcpy(f + 26, &s, 4);
	memcpy(f + 30, &d, 4);
	f[34] = (uint8_t)(sport >> 8);
	f[35] = (uint8_t)sport;
	f[36] = (uint8_t)(dport >> 8);
	f[37] = (uint8_t)dport;
	f[46] = 0x50;			/* data offset 5 */
	f[47] = flags;
	return 54;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

struct frag_env {
	struct kt_pcap_src *s;
	struct kt_record_ctx ctx;
	struct kt_spool *sp;
	char dir[256];
};

static void env_up(struct frag_env *e, uint64_t max_size)
{
	struct kt_pcap_iface *i;

	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "%s", tmp_path("spool"));
	nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	ck_assert_int_eq(kt_spool_create(&e->sp, e->dir, NULL), 0);
	e->ctx.spool = e->sp;
	e->s = calloc(1, sizeof(*e->s));
	ck_assert_ptr_nonnull(e->s);
	e->s->ctx = &e->ctx;
	e->s->node = "n1";
	e->s->around_ns = 1000;
	e->s->ring_ns = 1000000;
	e->s->max_size = max_size;
	e->s->all_netns = true;
	e->s->listed = json_array();
	e->s->nifs = 1;
	i = &e->s->ifs[0];
	snprintf(i->name, sizeof(i->name), "v-client");
	i->dlt = DLT_EN10MB;
	i->snaplen = 256;
	snprintf(i->id.pod, sizeof(i->id.pod), "shop/client");
	ck_assert_int_eq(kt_pkt_ring_new(&i->ring, 1 << 20, 0), 0);
}

static void env_down(struct frag_env *e)
{
	kt_pkt_ring_free(e->s->ifs[0].ring);
	json_decref(e->s->listed);
	json_decref(e->s->pods);
	free(e->s);
	kt_spool_close(e->sp);
	nftw(e->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void push(struct frag_env *e, uint64_t ts, const char *src, uint16_t sport,
		 const char *dst, uint16_t dport, uint8_t flags)
{
	uint8_t f[64];
	struct kt_ring_pkt p = { .ts = ts, .proto = IPPROTO_TCP, .sport = sport, .dport = dport };

	p.caplen = p.wirelen = tcp_frame(f, src, sport, dst, dport, flags);
	p.data = f;
	kt_ip_parse(p.src, src);
	kt_ip_parse(p.dst, dst);
	ck_assert_int_eq(kt_pkt_ring_push(e->s->ifs[0].ring, &p), 0);
}

static struct kt_trouble refused(uint64_t ts, const char *vip)
{
	struct kt_trouble t = { .ts = ts, .since_ns = 10, .kind = KT_TROUBLE_REFUSED,
				.proto = IPPROTO_TCP, .sport = 40000, .dport = 80,
				.orig_dport = 80, .err = 111, .source = "bpf" };

	kt_ip_parse(t.saddr, "198.18.0.16");
	kt_ip_parse(t.daddr, "198.18.0.15");
	if (vip)
		kt_ip_parse(t.orig_daddr, vip);
	return t;
}

/* The flags of every packet in the file, in order ("S R ..."). */
static void read_flags(const char *path, char *out, size_t len)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	size_t n = 0;
	pcap_t *p = pcap_open_offline(path, errbuf);

	ck_assert_msg(p != NULL, "libpcap: %s", errbuf);
	*out = 0;
	while (pcap_next_ex(p, &h, &d) == 1 && n + 4 < len) {
		ck_assert_uint_ge(h->caplen, 54);
		n += (size_t)snprintf(out + n, len - n, "%s%u:%s", n ? " " : "",
				      (unsigned)(d[34] << 8 | d[35]),
				      d[47] == 0x02 ? "S" : d[47] == 0x14 ? "R" : "?");
	}
	pcap_close(p);
}

START_TEST(fragment_of_a_flow)
{
	struct frag_env e;
	struct kt_trouble t;
	char path[512], flags[256];
	char *idx = NULL;
	size_t len;
	json_t *line;

	env_up(&e, 0);
	/* the failing flow, through a Service address before DNAT and the
	 * backend's after; a neighbour flow; a packet of it too early */
	push(&e, 100, "198.18.0.16", 40000, "198.18.0.15", 80, 0x02);
	push(&e, 5000, "198.18.0.16", 40000, "198.19.0.40", 80, 0x02);
	push(&e, 5001, "198.18.0.16", 40001, "198.18.0.15", 80, 0x02);
	push(&e, 5002, "198.18.0.15", 80, "198.18.0.16", 40000, 0x14);
	push(&e, 5003, "198.18.0.17", 40000, "198.18.0.15", 80, 0x02);
	push(&e, 5004, "198.19.0.40", 80, "198.18.0.16", 40000, 0x14);
	t = refused(5010, "198.19.0.40");
	kt_pcap_frag_trouble(e.s, &t);
	t.kind = KT_TROUBLE_RESET;		/* the same flow, as the server saw it */
	memcpy(t.saddr, refused(0, NULL).daddr, 16);
	kt_ip_parse(t.daddr, "198.18.0.16");
	memset(t.orig_daddr, 0, 16);
	t.sport = 80;
	t.dport = 40000;
	kt_pcap_frag_trouble(e.s, &t);
	ck_assert_uint_eq(e.s->npending, 1);
	/* not yet due: "after" has not passed */
	ck_assert_int_eq(kt_pcap_frag_due(e.s, 5100, false), 0);
	ck_assert_uint_eq(e.s->frags_written, 0);
	ck_assert_int_eq(kt_pcap_frag_due(e.s, 6100, false), 0);
	ck_assert_uint_eq(e.s->frags_written, 1);
	ck_assert_uint_eq(e.s->npending, 0);

	snprintf(path, sizeof(path), "%s/pcap/frag-000001.pcapng", e.dir);
	read_flags(path, flags, sizeof(flags));
	ck_assert_str_eq(flags, "40000:S 80:R 80:R");
	snprintf(path, sizeof(path), "%s/pcap/fragments.jsonl", e.dir);
	ck_assert_int_eq(kt_read_file(path, 1 << 20, &idx, &len), 0);
	line = json_loads(idx, 0, NULL);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(json_string_value(json_object_get(line, "file")), "pcap/frag-000001.pcapng");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(line, "reasons"), 0)), "refused");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(line, "reasons"), 1)), "reset");
	ck_assert_int_eq(json_integer_value(json_object_get(line, "packets")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(line, "flow"), "orig_dst")),
			 "198.19.0.40");
	/* the ring reached back past the window, the reads past its end */
	ck_assert(json_is_true(json_object_get(line, "complete")));
	json_decref(line);
	free(idx);
	ck_assert_uint_eq(json_array_size(e.s->listed), 1);
	ck_assert(!e.s->truncated);
	env_down(&e);
}
END_TEST

/* The recording stops before the window's end: the fragment is written
 * with what the rings hold, and says it is not complete. */
START_TEST(fragment_at_stop)
{
	struct frag_env e;
	struct kt_trouble t = refused(5010, NULL);
	char path[512], flags[256], *idx = NULL;
	size_t len;
	json_t *line;

	env_up(&e, 0);
	push(&e, 100, "198.18.0.16", 40000, "198.18.0.15", 80, 0x02);
	push(&e, 5000, "198.18.0.16", 40000, "198.18.0.15", 80, 0x02);
	push(&e, 5002, "198.18.0.15", 80, "198.18.0.16", 40000, 0x14);
	kt_pcap_frag_trouble(e.s, &t);
	ck_assert_int_eq(kt_pcap_frag_due(e.s, 5100, false), 0);
	ck_assert_uint_eq(e.s->frags_written, 0);
	ck_assert_int_eq(kt_pcap_frag_due(e.s, 5100, true), 0);	/* the stop */
	ck_assert_uint_eq(e.s->frags_written, 1);
	ck_assert_uint_eq(e.s->npending, 0);
	snprintf(path, sizeof(path), "%s/pcap/frag-000001.pcapng", e.dir);
	read_flags(path, flags, sizeof(flags));
	ck_assert_str_eq(flags, "40000:S 80:R");
	snprintf(path, sizeof(path), "%s/pcap/fragments.jsonl", e.dir);
	ck_assert_int_eq(kt_read_file(path, 1 << 20, &idx, &len), 0);
	line = json_loads(idx, 0, NULL);
	ck_assert_ptr_nonnull(line);
	ck_assert(json_is_false(json_object_get(line, "complete")));
	ck_assert_int_eq(json_integer_value(json_object_get(line, "end_ns")), 6010);
	json_decref(line);
	free(idx);
	env_down(&e);
}
END_TEST

START_TEST(fragment_past_the_limit)
{
	struct frag_env e;
	struct kt_trouble t = refused(5010, NULL);
	char path[512];

	env_up(&e, 300);	/* not enough for a section and an interface */
	push(&e, 5000, "198.18.0.16", 40000, "198.18.0.15", 80, 0x02);
	kt_pcap_frag_trouble(e.s, &t);
	ck_assert_int_eq(kt_pcap_frag_due(e.s, 0, true), 0);
	ck_assert_uint_eq(e.s->frags_written, 0);
	ck_assert_uint_eq(e.s->frags_dropped_size, 1);
	ck_assert(e.s->truncated);
	ck_assert_uint_le(e.s->written, 300);
	snprintf(path, sizeof(path), "%s/pcap/frag-000001.pcapng", e.dir);
	ck_assert_int_ne(access(path, F_OK), 0);
	env_down(&e);

	/* a lone retransmit is not trouble; a burst is */
	env_up(&e, 0);
	push(&e, 5000, "198.18.0.16", 40000, "198.18.0.15", 80, 0x02);
	t.kind = KT_TROUBLE_RETRANS;
	t.count = 1;
	kt_pcap_frag_trouble(e.s, &t);
	ck_assert_int_eq(kt_pcap_frag_due(e.s, 0, true), 0);
	ck_assert_uint_eq(e.s->frags_written, 0);
	t.count = 2;
	kt_pcap_frag_trouble(e.s, &t);
	t.count = 1;
	kt_pcap_frag_trouble(e.s, &t);
	ck_assert_int_eq(kt_pcap_frag_due(e.s, 0, true), 0);
	ck_assert_uint_eq(e.s->frags_written, 1);
	env_down(&e);
}
END_TEST

START_TEST(fragment_of_a_host_pair)
{
	struct frag_env e;
	struct kt_trouble t = refused(5010, NULL);
	char path[512], flags[256];

	/* a client retrying: the first flows of one pair have a fragment
	 * each, then one of them becomes the pair's and takes the rest; the
	 * packets of other hosts stay out */
	env_up(&e, 0);
	push(&e, 5000, "198.18.0.17", 40001, "198.18.0.15", 80, 0x02);
	for (uint16_t k = 0; k < KT_PCAP_PAIR_FLOWS + 2; k++)
		push(&e, 5001 + k, "198.18.0.16", (uint16_t)(40000 + k), "198.18.0.15", 80, 0x02);
	for (uint16_t k = 0; k < KT_PCAP_PAIR_FLOWS + 2; k++) {
		t.sport = (uint16_t)(40000 + k);
		kt_pcap_frag_trouble(e.s, &t);
	}
	ck_assert_uint_eq(e.s->npending, KT_PCAP_PAIR_FLOWS);
	ck_assert_int_eq(kt_pcap_frag_due(e.s, 0, true), 0);
	ck_assert_uint_eq(e.s->frags_written, KT_PCAP_PAIR_FLOWS);
	/* the first pending became the pair's: all ten flows, nothing else */
	snprintf(path, sizeof(path), "%s/pcap/frag-000001.pcapng", e.dir);
	read_flags(path, flags, sizeof(flags));
	ck_assert_str_eq(flags, "40000:S 40001:S 40002:S 40003:S 40004:S 40005:S 40006:S "
				"40007:S 40008:S 40009:S");
	snprintf(path, sizeof(path), "%s/pcap/frag-000002.pcapng", e.dir);
	read_flags(path, flags, sizeof(flags));
	ck_assert_uint_eq(strlen(flags), 7);	/* one flow's SYN, "4000N:S" */
	ck_assert_str_ne(flags, "40000:S");
	env_down(&e);
}
END_TEST

/* A frame through the source's own path: decoded, keyed, into the ring. */
static void push_frame(struct frag_env *e, uint64_t ts, const uint8_t *f, uint32_t n)
{
	struct kt_ring_pkt p = { .ts = ts, .caplen = n, .wirelen = n, .data = f };
	struct kt_pkt pkt;

	ck_assert_int_eq(kt_pkt_decode(&pkt, DLT_EN10MB, f, n, n, ts), 0);
	kt_pkt_ring_key(&p, &pkt);
	ck_assert_int_eq(kt_pkt_ring_push(e->s->ifs[0].ring, &p), 0);
}

/* Ethernet + IPv4 198.18.0.1 -> dst + ICMP type/code quoting the IP header
 * and 8 bytes of 'q' (an Ethernet frame): 70 bytes. */
static uint32_t icmp_frame(uint8_t *f, const char *dst, uint8_t type, uint8_t code,
			   const uint8_t *q)
{
	uint32_t s, d;

	memset(f, 0, 42);
	f[12] = 0x08;
	f[14] = 0x45;
	f[17] = 20 + 8 + 28;
	f[22] = 64;
	f[23] = IPPROTO_ICMP;
	inet_pton(AF_INET, "198.18.0.1", &s);
	inet_pton(AF_INET, dst, &d);
	memcpy(f + 26, &s, 4);
	memcpy(f + 30, &d, 4);
	f[34] = type;
	f[35] = code;
	if (q)
		memcpy(f + 42, q + 14, 28);
	return 70;
}

START_TEST(fragment_with_icmp_error)
{
	struct frag_env e;
	struct kt_trouble t = refused(5010, "198.19.0.40");
	struct pcap_pkthdr *h;
	const u_char *d;
	char path[512], errbuf[PCAP_ERRBUF_SIZE], got[256] = "", *idx = NULL;
	uint8_t syn[64], syn2[64], f[80];
	size_t len, n = 0;
	json_t *line;
	pcap_t *p;

	/* the client's SYN to the Service address, then the node's "host
	 * unreachable" quoting it as the client sees it (DNAT reversed);
	 * the same error about another flow, and a ping, stay out */
	env_up(&e, 0);
	push_frame(&e, 5000, syn, tcp_frame(syn, "198.18.0.16", 40000, "198.19.0.40", 80, 0x02));
	tcp_frame(syn2, "198.18.0.16", 40001, "198.19.0.40", 80, 0x02);
	push_frame(&e, 5001, f, icmp_frame(f, "198.18.0.16", 3, 1, syn));
	push_frame(&e, 5002, f, icmp_frame(f, "198.18.0.16", 3, 1, syn2));
	push_frame(&e, 5003, f, icmp_frame(f, "198.18.0.15", 8, 0, NULL));
	t.kind = KT_TROUBLE_UNREACHABLE;
	t.err = 113;
	kt_pcap_frag_trouble(e.s, &t);
	ck_assert_int_eq(kt_pcap_frag_due(e.s, 0, true), 0);
	ck_assert_uint_eq(e.s->frags_written, 1);

	snprintf(path, sizeof(path), "%s/pcap/frag-000001.pcapng", e.dir);
	p = pcap_open_offline(path, errbuf);
	ck_assert_msg(p != NULL, "libpcap: %s", errbuf);
	while (pcap_next_ex(p, &h, &d) == 1 && n + 32 < sizeof(got)) {
		if (d[23] == IPPROTO_ICMP)	/* type/code, and the quoted sport */
			n += (size_t)snprintf(got + n, sizeof(got) - n, "icmp%u/%u:%u ", d[34],
					      d[35], (unsigned)(d[62] << 8 | d[63]));
		else
			n += (size_t)snprintf(got + n, sizeof(got) - n, "tcp:%u ",
					      (unsigned)(d[34] << 8 | d[35]));
	}
	pcap_close(p);
	ck_assert_str_eq(got, "tcp:40000 icmp3/1:40000 ");

	snprintf(path, sizeof(path), "%s/pcap/fragments.jsonl", e.dir);
	ck_assert_int_eq(kt_read_file(path, 1 << 20, &idx, &len), 0);
	line = json_loads(idx, 0, NULL);
	ck_assert_ptr_nonnull(line);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(line, "reasons"), 0)),
			 "unreachable");
	ck_assert_int_eq(json_integer_value(json_object_get(line, "packets")), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(line, "icmp_errors")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(line, "errno")), 113);
	json_decref(line);
	free(idx);
	env_down(&e);
}
END_TEST

START_TEST(flow_events_that_are_trouble)
{
	struct kt_flow f = { .ts = 1000, .kind = KT_FLOW_FAIL, .cause = KT_CAUSE_REFUSED,
			     .proto = IPPROTO_TCP, .sport = 1, .dport = 2, .latency_ns = 30,
			     .err = 111 };
	struct kt_trouble t;

	ck_assert(kt_trouble_from_flow(&f, &t));
	ck_assert_int_eq(t.kind, KT_TROUBLE_REFUSED);
	ck_assert_uint_eq(t.since_ns, 30);
	ck_assert_str_eq(kt_trouble_name(t.kind), "refused");
	f.cause = KT_CAUSE_TIMEOUT;
	ck_assert(kt_trouble_from_flow(&f, &t) && t.kind == KT_TROUBLE_TIMEOUT);
	f.kind = KT_FLOW_CLOSE;
	f.cause = KT_CAUSE_NONE;
	ck_assert(!kt_trouble_from_flow(&f, &t));
	f.cause = KT_CAUSE_RESET;
	f.duration_ns = 77;
	ck_assert(kt_trouble_from_flow(&f, &t) && t.kind == KT_TROUBLE_RESET && t.since_ns == 77);
	f.kind = KT_FLOW_RETRANS;
	f.count = 5;
	ck_assert(kt_trouble_from_flow(&f, &t) && t.kind == KT_TROUBLE_RETRANS && t.count == 5);
	f.kind = KT_FLOW_OPEN;
	ck_assert(!kt_trouble_from_flow(&f, &t));
	ck_assert_str_eq(kt_trouble_name(99), "unknown");
}
END_TEST

Suite *kt_pcap_suite(void)
{
	Suite *s = suite_create("pcap");
	TCase *tc = tcase_create("pcap");

	tcase_add_test(tc, ring_holds_the_newest);
	tcase_add_test(tc, ring_age_window_too_big);
	tcase_add_test(tc, pcapng_reads_back);
	tcase_add_test(tc, fragment_of_a_flow);
	tcase_add_test(tc, fragment_at_stop);
	tcase_add_test(tc, fragment_past_the_limit);
	tcase_add_test(tc, fragment_of_a_host_pair);
	tcase_add_test(tc, fragment_with_icmp_error);
	tcase_add_test(tc, flow_events_that_are_trouble);
	suite_add_tcase(s, tc);
	return s;
}
