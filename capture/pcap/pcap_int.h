/* pcap_int.h - the pcap source's pieces (internal).
 *
 *   libpcap fd per interface --(inner epoll)--> on_packet
 *        on_packet: decode (ktpacket) -> ring of the interface
 *                                     -> port 53: DNS tracker -> dns records
 *                                     -> --pcap-all: continuous pcapng
 *   trouble (bpf source, or a DNS error seen here) -> pending fragment
 *   tick: a pending fragment whose "after" has passed is written from the
 *         rings as pcap/frag-NNNNNN.pcapng, with a line in pcap/fragments.jsonl
 */
#ifndef KT_PCAP_INT_H
#define KT_PCAP_INT_H

#include <jansson.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>

#include "pcapng.h"
#include "pkt_ring.h"
#include "source.h"
#include "tracker.h"

#define KT_PCAP_MAX_IFACES   256
#define KT_PCAP_MAX_PENDING  1024	/* fragments waiting for their "after" */
#define KT_PCAP_MAX_LISTED   1000	/* fragments listed in the manifest */
#define KT_PCAP_PAIR_FLOWS   8		/* flows of a host pair with their own fragment */
#define KT_PCAP_RETRANS_BURST 3		/* retransmits of a flow that make trouble */
#define KT_PCAP_DEDUP	     1024	/* recent DNS transactions remembered */
#define KT_PCAP_IDENT_TRIES  3		/* looks at a new interface's pod after the first */
/* libpcap's block timeout: the kernel hands a block over (retires it) at
 * the latest two timeouts after its first packet, so a packet is readable
 * KT_PCAP_SETTLE_NS after it was captured, however idle the interface. */
#define KT_PCAP_BLOCK_TIMEOUT_MS 100
#define KT_PCAP_SETTLE_NS	 (2 * KT_PCAP_BLOCK_TIMEOUT_MS * 1000000ull + 50000000ull)

#define KT_PCAP_DEFAULT_RING	 (64ull << 20)
#define KT_PCAP_DEFAULT_RING_NS	 30000000000ull
#define KT_PCAP_DEFAULT_AROUND_NS 5000000000ull
#define KT_PCAP_DEFAULT_MAX_SIZE (256ull << 20)

/* Who is behind an interface, for its pcapng description. */
struct kt_pcap_ident {
	uint64_t netns;		/* where it was captured */
	uint64_t peer_netns;	/* a veth's other end, 0 unknown */
	char peer_ip[46];	/* the first address of that end, "" none */
	char pod_uid[37];
	char container_id[65];
	char pod[300];		/* namespace/name, "" unknown */
	char container[256];
	bool veth;		/* (from the host facts) */
};

struct kt_pcap_iface {
	char name[64];
	int index;
	pcap_t *p;
	int fd;
	int dlt;
	uint32_t snaplen;
	struct kt_pkt_ring *ring;
	struct kt_tracker *dns;
	struct kt_pcap_ident id;
	uint64_t packets, bytes, not_decoded;
	struct pcap_stat last;	/* latest pcap_stats */
	bool stats_ok;
	bool closed;		/* went away while recording */
	uint8_t ident_tries;	/* added while recording, pod not all there: looks left */
	uint32_t all_ifid;	/* its id in the continuous file */
};

struct kt_pcap_frag {
	uint64_t from_ns, to_ns;	/* packets kept: [from, to] */
	uint64_t first_ts;		/* the first trouble */
	struct kt_trouble t;		/* the first trouble (source borrowed: static) */
	uint32_t reasons;		/* bit per enum kt_trouble_kind */
	uint32_t reports;		/* troubles merged into it */
	uint32_t retrans;		/* RETRANS: count so far */
	bool armed;			/* enough to be written */
};

struct kt_pcap_dedup {
	uint64_t hash;
	uint64_t ts;
};

struct kt_pcap_src {
	struct kt_record_ctx *ctx;	/* borrowed from start to stop */
	const char *node;
	uint64_t own_netns;
	struct kt_pcap_iface ifs[KT_PCAP_MAX_IFACES];
	unsigned nifs;
	int epfd;
	bool stopped;
	/* options */
	const char *filter;		/* borrowed from the options */
	bool rescan;			/* default interfaces: pick up new ones */
	size_t ring_per_if;
	int bufsize;
	uint64_t open_failed, ifaces_added;
	uint32_t snaplen;
	uint64_t ring_bytes, ring_ns, around_ns, max_size;
	bool all;
	/* fragments */
	struct kt_pcap_frag pending[KT_PCAP_MAX_PENDING];
	unsigned npending;
	uint64_t frag_seq;
	uint64_t written;		/* bytes of pcapng written */
	bool truncated;			/* --pcap-max-size reached */
	uint64_t frags_written, frags_empty, frags_dropped_size, frags_dropped_busy;
	uint64_t index_dropped;		/* index lines past the limit */
	uint64_t frag_packets, troubles, troubles_elsewhere;
	bool all_netns;			/* cannot tell which netns we see */
	uint64_t troubles_by_kind[KT_TROUBLE__KINDS];
	json_t *listed;			/* fragments for the manifest */
	/* continuous capture (--pcap-all): one file per link type */
	struct kt_pcapng all_w;
	int all_dlt;
	bool all_started;
	uint64_t all_packets, all_dropped_size, all_other_dlt;
	/* DNS */
	struct kt_pcap_iface *dns_if;	/* the interface being fed, for the callback */
	struct kt_pcap_dedup dedup[KT_PCAP_DEDUP];
	uint64_t dns_records, dns_dups;
	/* identity */
	json_t *pods;			/* pod uid -> {pod, containers{id: name}} */
	uint64_t pods_loaded_ns;
	char pods_dir[4096];		/* the snapshot s->pods came from */
	struct kt_source_stats live;
};

/* pcap_iface.c */
int kt_pcap_ifaces_open(struct kt_pcap_src *s, const char *const *names, const char *filter);
/* New interfaces since start (default interfaces only): opened. */
int kt_pcap_ifaces_rescan(struct kt_pcap_src *s, unsigned *added);
void kt_pcap_ifaces_stats(struct kt_pcap_src *s);
json_t *kt_pcap_ifaces_json(struct kt_pcap_src *s);
void kt_pcap_ifaces_close(struct kt_pcap_src *s);
/* dispatch what is waiting on one interface; < 0 on a libpcap error */
int kt_pcap_iface_read(struct kt_pcap_src *s, struct kt_pcap_iface *i);

/* pcap_nsid.c: the id our netns gives the netns at nspath (-1: none) */
int kt_pcap_nsid_of(const char *nspath, int32_t *nsid);

/* pcap_ident.c */
/* Fill the identity of interfaces [from, nifs) from host facts. */
void kt_pcap_ident_from_host(struct kt_pcap_src *s, json_t *facts, unsigned from);
int kt_pcap_ident_load_host(struct kt_pcap_src *s);
/* The same for interfaces opened since start: host facts taken now. */
int kt_pcap_ident_collect(struct kt_pcap_src *s, unsigned from);
/* Could packets of netns show on our interfaces (our own, a veth's peer)? */
bool kt_pcap_netns_seen(const struct kt_pcap_src *s, uint64_t netns);
void kt_pcap_ident_refresh_pods(struct kt_pcap_src *s);
/* Index a pods List (kubectl JSON, any shape at all) into map: uid ->
 * {pod, uid, containers{id: name}}, and "ip:ADDR" -> the same. */
void kt_pcap_pods_add(json_t *map, json_t *list);
/* "node=N netns=I peer_netns=J pod=NS/NAME pod_uid=U container=C ..." */
void kt_pcap_ident_describe(const struct kt_pcap_src *s, const struct kt_pcap_iface *i,
			    char *buf, size_t len);

/* pcap_frag.c */
void kt_pcap_frag_trouble(struct kt_pcap_src *s, const struct kt_trouble *t);
/* Write the fragments whose window ended by read_ns (all: every armed one):
 * read_ns is the time up to which every packet captured is in the rings;
 * a fragment whose window ends after it is written "complete": false. */
int kt_pcap_frag_due(struct kt_pcap_src *s, uint64_t read_ns, bool all);
int kt_pcap_all_packet(struct kt_pcap_src *s, struct kt_pcap_iface *i,
		       const struct pcap_pkthdr *h, const uint8_t *data, uint64_t ts);
int kt_pcap_all_flush(struct kt_pcap_src *s);
uint16_t kt_pcap_linktype(int dlt);	/* DLT_* -> LINKTYPE_* for files */

/* pcap_dns.c */
int kt_pcap_dns_open(struct kt_pcap_src *s, struct kt_pcap_iface *i);
int kt_pcap_dns_flush(struct kt_pcap_src *s);

#endif
