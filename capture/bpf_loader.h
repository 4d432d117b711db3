/* bpf_loader.h - load and attach the ktflow eBPF program, read its events.
 *
 * Each program is attached on its own: a tracepoint this kernel lacks, or a
 * program its verifier refuses, leaves that program out and the others
 * running. kt_bpf_programs_json() says which were used and why others were
 * not, for the manifest.
 *
 *   kt_bpf_open()  probe tracepoints, load, attach
 *   kt_bpf_fd()    ring buffer fd for epoll
 *   kt_bpf_poll()  consume events: cb(cb_ctx, data, len) per event
 *   kt_bpf_trigger_stats()  STATS of long-lived connections
 *   kt_bpf_detach()         at the end: no event after it
 *   kt_bpf_drain_folds()    folded events still pending, through cb
 *   kt_bpf_close()
 *
 * Events are the structs of bpf/ktflow.h; data is valid during the callback
 * only. The callback returns 0, or a negative errno that stops the poll and
 * is returned from it.
 */
#ifndef KT_BPF_LOADER_H
#define KT_BPF_LOADER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ktflow.h"

struct kt_bpf;

struct kt_bpf_opts {
	uint32_t ringbuf_bytes;		/* power of 2; 0: 4 MiB */
	uint32_t max_flows;		/* LRU entries; 0: 16384 */
	uint64_t stats_min_age_ns;	/* 0: 5 s */
	uint64_t fold_interval_ns;	/* 0: 1 s */
	const char *tracefs;		/* NULL: found, mounted if missing */
	/* Wake the reader only when this much is waiting; the reader must then
	 * also call kt_bpf_poll() on a timer. 0: a quarter of the ring;
	 * UINT32_MAX: wake for every event. */
	uint32_t wakeup_bytes;
};

int kt_bpf_open(struct kt_bpf **out, const struct kt_bpf_opts *opts,
		int (*cb)(void *cb_ctx, const void *data, size_t len),
		void *cb_ctx);

int kt_bpf_fd(const struct kt_bpf *b);

/* Consume what the ring buffer holds, after waiting up to timeout_ms for a
 * wakeup (0: do not wait). Returns the number of events, or a negative
 * errno. */
int kt_bpf_poll(struct kt_bpf *b, int timeout_ms);

/* Ask the kernel side for STATS of every connection open and not reported
 * for stats_min_age_ns (through the uprobe on kt_bpf_stats_trigger). -ENOTSUP
 * when that uprobe is not attached. */
int kt_bpf_trigger_stats(struct kt_bpf *b);

/* Stop every program, and wait for runs under way: no event, no counter
 * moves after it returns (the ring buffer keeps what it holds for
 * kt_bpf_poll()). For the end of a recording, before the drain. 0 or a
 * negative errno (the programs are detached even then). */
int kt_bpf_detach(struct kt_bpf *b);

/* Stop one attached program ("kt_set_state"): a test stands in this way
 * for a kernel that does not run it. 0, or -ENOENT if it is not attached. */
int kt_bpf_detach_program(struct kt_bpf *b, const char *name);

/* Hand every folded event still pending (RETRANS, DROP, UDP_SEND) to the
 * callback, with count set to the events it stands for, and forget them.
 * Call it at the end, after the last poll. */
int kt_bpf_drain_folds(struct kt_bpf *b);

/* The same for the fold entries not reported for idle_ns: the fold map is
 * a plain hash that refuses new peers when full (their events then go out
 * unfolded), so entries of peers gone quiet are taken out now and then. */
int kt_bpf_prune_folds(struct kt_bpf *b, uint64_t idle_ns);

/* Runs of our programs the kernel skipped: a tracepoint hit while another
 * eBPF program was running on that CPU (an interrupt in the middle of one)
 * is not delivered, and counted per program. Events lost like ring buffer
 * overflows; 0 on kernels that do not count them (before 6.7). Includes the
 * runs of kt_set_state that kt_set_state_nested took (KT_CNT_NESTED, for
 * the caller to subtract), not those of kt_set_state_nested, never a loss. */
uint64_t kt_bpf_missed(const struct kt_bpf *b);

/* Folded events that were never delivered: a cross-check of the folding
 * (FOLDED - UNFOLDED - drained), 0 unless a fold entry was lost. Exact after
 * kt_bpf_detach() then kt_bpf_drain_folds(); attached, other processes'
 * sends folded since the drain count too. */
uint64_t kt_bpf_lost_folded(const struct kt_bpf *b);

/* Kernel counters summed over CPUs, indexed by enum kt_counter. */
int kt_bpf_counters(const struct kt_bpf *b, uint64_t out[KT_CNT__MAX]);

/* The tracepoint of a program's section: "tracepoint/sock/inet_sock_set_state"
 * gives category and name; a raw tracepoint names only the event, whose
 * category this knows for the events ktflow uses. False for other hooks
 * (uprobes) and raw tracepoints of an unknown category. */
bool kt_bpf_tracepoint_of(const char *sec, char *cat, size_t clen, char *name, size_t nlen);

/* Programs attached, missing and failed, with reasons, and for each attached
 * one the runs the kernel skipped (missed_runs). New reference. */
json_t *kt_bpf_programs_json(const struct kt_bpf *b);

/* Per attached program: {"program", "runs", "run_time_ns", "missed"}. The kernel
 * counts only while someone holds BPF_ENABLE_STATS (bpf_enable_stats());
 * zeros otherwise. New reference. */
json_t *kt_bpf_prog_stats_json(const struct kt_bpf *b);

/* This kernel's names of skb drop reasons, {"<value>": "NAME"} (values
 * differ between kernels, so the bundle carries the table). New reference;
 * an empty object when the kernel has no such enum. */
json_t *kt_bpf_drop_reasons_json(void);

/* Was program 'name' (e.g. "kt_set_state") attached? */
int kt_bpf_attached(const struct kt_bpf *b, const char *name);

void kt_bpf_close(struct kt_bpf *b);

/* The function ktcap calls to trigger STATS; a uprobe sits on it. */
void kt_bpf_stats_trigger(void);

#endif
