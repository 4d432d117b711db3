/* source.h - what every recording source (bpf, pcap, k8s, host) implements.
 *
 * `ktcap record` runs one thread with one epoll loop. Each source hands it a
 * pollable fd (ring buffer, pcap, kubectl pipes, a timerfd) and is called when
 * that fd is readable, and on every tick (about 100 ms). A source that cannot
 * start is recorded in the manifest as failed with its message, and the other
 * sources go on: partial capture is normal on real nodes.
 *
 * All records go to the spool through kt_spool_append()/kt_spool_write_file()
 * from this one thread, so the spool needs no lock.
 */
#ifndef KT_SOURCE_H
#define KT_SOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "spool.h"

struct kt_record_opts {
	const char *output;		/* -o BUNDLE */
	uint64_t duration_ns;		/* 0: until signalled */
	uint64_t max_size;		/* bytes of spool; 0: no limit */
	const char *node_name;		/* --node, else from the host */
	/* k8s */
	const char *kubectl;		/* --kubectl PATH */
	const char *kubeconfig;
	const char *context;
	const char *namespace;		/* NULL: all namespaces */
	uint64_t k8s_interval_ns;
	const char *const *k8s_from;	/* --k8s-from, NULL-terminated */
	bool k8s_no_redact;		/* --no-redact (never Secrets) */
	/* pcap */
	const char *const *ifaces;	/* --iface, NULL-terminated */
	const char *pcap_filter;
	uint32_t snaplen;
	uint64_t pcap_max_size;
	bool pcap_all;
	uint64_t pcap_ring_size;	/* bytes of packets kept in memory, all interfaces */
	uint64_t pcap_ring_ns;		/* ... and for how long */
	uint64_t pcap_around_ns;	/* a fragment: this long before and after trouble */
	/* bpf */
	uint64_t stats_interval_ns;	/* periodic STATS of open connections */
};

/* Trouble one source saw, that others may want to keep evidence of: the pcap
 * source writes the packets of that flow around ts. Addresses as in
 * struct kt_flow (16 bytes, IPv4 mapped); ports 0 mean "the host pair". */
enum kt_trouble_kind {
	KT_TROUBLE_REFUSED = 1,	/* connect answered by RST or ICMP */
	KT_TROUBLE_TIMEOUT,	/* connect never answered */
	KT_TROUBLE_UNREACHABLE,
	KT_TROUBLE_CONNECT,	/* connect failed otherwise */
	KT_TROUBLE_RESET,	/* reset after establishment */
	KT_TROUBLE_RETRANS,	/* retransmits (count says how many) */
	KT_TROUBLE_DNS_ERROR,	/* an answer with an error rcode */
	KT_TROUBLE_DNS_TIMEOUT,	/* a query never answered */
	KT_TROUBLE__KINDS
};

struct kt_trouble {
	uint64_t ts;		/* UTC ns when it showed */
	uint64_t since_ns;	/* the flow began this long before ts, when known */
	uint8_t kind;		/* enum kt_trouble_kind */
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP */
	uint8_t saddr[16], daddr[16];
	uint8_t orig_daddr[16];	/* before DNAT, when it differs (may be unset) */
	uint16_t sport, dport, orig_dport;
	uint64_t netns;
	uint32_t count;		/* RETRANS: retransmits in this report */
	int32_t err;		/* errno, when the source knows it */
	const char *source;	/* "bpf", "pcap" (static) */
};

struct kt_record_ctx {
	struct kt_spool *spool;
	json_t *manifest;		/* draft; sources add to it */
	const struct kt_record_opts *opts;
	int64_t boot_to_utc_ns;		/* utc = CLOCK_BOOTTIME + this */
	uint64_t start_ns;		/* UTC */
	/* Set by the recorder: hands trouble to every source's on_trouble. A
	 * function pointer, so sources need not link the recorder. */
	void (*trouble)(struct kt_record_ctx *ctx, const struct kt_trouble *t);
	void *loop;			/* the recorder's, for trouble() */
};

/* Report trouble to the other sources (nothing happens without a recorder). */
static inline void kt_record_trouble(struct kt_record_ctx *ctx, const struct kt_trouble *t)
{
	if (ctx && ctx->trouble)
		ctx->trouble(ctx, t);
}

/* Name of a trouble kind ("refused", "dns_error", ...). */
const char *kt_trouble_name(int kind);

/* Live counters for the status line (see kt_source_ops.stats). */
struct kt_source_stats {
	uint64_t events;	/* delivered */
	uint64_t lost;		/* could not be delivered */
};

struct kt_source_ops {
	const char *name;		/* "bpf", "pcap", "k8s", "host" */
	const char *help;		/* one line for --help and `ktcap check` */
	/* Start recording. 0, or a negative errno with kt_err_set(): the source
	 * is then marked failed and left alone. *state is the source's own. */
	int (*start)(struct kt_record_ctx *ctx, void **state);
	/* A pollable fd for the loop, or -1 for tick-only sources. */
	int (*fd)(void *state);
	/* Do pending work: fd readable or tick. Errors are recorded, and the
	 * source is stopped. */
	int (*poll)(void *state, struct kt_record_ctx *ctx);
	/* Final work (dump at end, drain), then fill 'report' (the source's
	 * manifest object: counts, lost events, features used). */
	int (*stop)(void *state, struct kt_record_ctx *ctx, json_t *report);
	void (*free)(void *state);
	/* Optional: live counters for the status line. */
	void (*stats)(void *state, struct kt_source_stats *out);
	/* Optional: trouble reported by a source (kt_record_trouble), called
	 * from the loop's thread; t is borrowed for the call. */
	void (*on_trouble)(void *state, struct kt_record_ctx *ctx, const struct kt_trouble *t);
};

#endif
