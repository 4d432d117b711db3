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
	/* bpf */
	uint64_t stats_interval_ns;	/* periodic STATS of open connections */
};

struct kt_record_ctx {
	struct kt_spool *spool;
	json_t *manifest;		/* draft; sources add to it */
	const struct kt_record_opts *opts;
	int64_t boot_to_utc_ns;		/* utc = CLOCK_BOOTTIME + this */
	uint64_t start_ns;		/* UTC */
};

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
};

#endif
