/* pcap_dns.c - DNS records from the captured packets.
 *
 * Each interface feeds its port-53 packets to a ktpacket tracker (tracker.h:
 * UDP and TCP, queries matched with answers, latency, unanswered queries
 * after a timeout), which decodes with kt_dns_parse. The same transaction is
 * usually seen on two interfaces (the client's veth, to the Service address,
 * and the DNS pod's, after DNAT): the first record of a transaction is kept,
 * the others counted as duplicates. An error answer, or none, is trouble:
 * the packets of that query become a fragment.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "error.h"
#include "hash.h"
#include "pcap_int.h"
#include "records.h"

#define DEDUP_NS 5000000000ull

/* The client side and the query identify a transaction on every interface
 * (DNAT changes the server, never the client's address and port). Not the
 * rcode: an interface that saw the query but not the answer reports it
 * unanswered, seconds after another reported the answer. */
static uint64_t txn_hash(const struct kt_dns *d)
{
	/* keyed (hash.h): a packet on the wire must not be able to make a
	 * real transaction look like a duplicate of its own */
	uint64_t h = kt_hash_ip(d->client, (uint64_t)d->proto << 48 |
				 (uint64_t)d->client_port << 32 | (uint64_t)d->id << 16 | d->qtype);

	h = kt_hash_bytes(d->qname.p, d->qname.len, h);
	return h ? h : 1;
}

static bool seen_before(struct kt_pcap_src *s, const struct kt_dns *d)
{
	uint64_t h = txn_hash(d);
	struct kt_pcap_dedup *e = &s->dedup[h % KT_PCAP_DEDUP];

	if (e->hash == h && d->ts < e->ts + DEDUP_NS && e->ts < d->ts + DEDUP_NS)
		return true;
	e->hash = h;
	e->ts = d->ts;
	return false;
}

static int on_dns(void *ctx, const struct kt_dns *d)
{
	struct kt_pcap_src *s = ctx;
	struct kt_pcap_iface *i = s->dns_if;
	struct kt_dns rec = *d;
	int err;

	if (seen_before(s, d)) {
		s->dns_dups++;
		return 0;
	}
	if (i) {
		rec.netns = i->id.netns;
		rec.iface.p = i->name;
		rec.iface.len = (uint32_t)strlen(i->name);
	}
	if ((err = kt_spool_append(s->ctx->spool, &kt_dns_schema, &rec)))
		return err;
	s->dns_records++;
	if (d->rcode != 0) {
		struct kt_trouble t = {
			.ts = d->latency_ns ? d->ts + d->latency_ns : d->ts,
			.since_ns = d->latency_ns,
			.kind = d->rcode == KT_DNS_RCODE_NONE ? KT_TROUBLE_DNS_TIMEOUT :
							       KT_TROUBLE_DNS_ERROR,
			.proto = d->proto,
			.sport = d->client_port,
			.dport = d->server_port,
			.netns = rec.netns,
			.err = d->rcode,
			.source = "pcap",
		};

		memcpy(t.saddr, d->client, 16);
		memcpy(t.daddr, d->server, 16);
		kt_pcap_frag_trouble(s, &t);
	}
	return 0;
}

int kt_pcap_dns_open(struct kt_pcap_src *s, struct kt_pcap_iface *i)
{
	/* Only port-53 packets reach it: small tables do. */
	struct kt_tracker_opts o = {
		.max_flows = 1024, .max_dns_pending = 1024,
		.dns_timeout_ns = 5000000000ull, .emit_dns = on_dns, .ctx = s,
	};

	return kt_tracker_new(&i->dns, &o);
}

int kt_pcap_dns_flush(struct kt_pcap_src *s)
{
	int err = 0;

	for (unsigned k = 0; k < s->nifs && !err; k++) {
		s->dns_if = &s->ifs[k];
		if (s->ifs[k].dns)
			err = kt_tracker_flush(s->ifs[k].dns);
	}
	s->dns_if = NULL;
	return err;
}
