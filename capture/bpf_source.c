/* bpf_source.c - the "bpf" recording source (see bpf_source.h).
 *
 *   ring buffer fd readable --> kt_bpf_poll --> on_event --> convert --> spool
 *   tick: STATS trigger every stats interval, kernel counters for the status
 *   stop: programs detached, last poll, folded events drained, report
 */
#include "bpf_source.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bpf_events.h"
#include "bpf_loader.h"
#include "check_features.h"
#include "error.h"
#include "manifest.h"
#include "records.h"
#include "trouble.h"

#define KT_BPF_STATS_DEFAULT_NS 10000000000ULL
#define KT_BPF_PRUNE_NS 10000000000ULL	/* fold entries idle this long go */

struct bpf_src {
	struct kt_bpf *bpf;
	struct kt_record_ctx *ctx;	/* borrowed from start to stop */
	uint64_t stats_interval_ns;
	uint64_t next_stats;		/* CLOCK_MONOTONIC ns */
	uint64_t next_prune;
	uint64_t last_refresh;
	uint64_t flows, procs, invalid;
	uint64_t counters[KT_CNT__MAX];
	uint64_t missed;
	struct kt_source_stats live;
};

static int on_event(void *arg, const void *data, size_t len)
{
	struct bpf_src *s = arg;
	int t = kt_bpf_event_type(data, len), err;

	if (t == KT_EV_FLOW) {
		struct kt_ev_flow ev;
		struct kt_flow rec;
		struct kt_trouble tr;

		err = kt_bpf_flow_convert(&rec, &ev, data, len, s->ctx->boot_to_utc_ns);
		if (!err)
			err = kt_spool_append(s->ctx->spool, &kt_flow_schema, &rec);
		if (!err)
			s->flows++;
		if (!err && kt_trouble_from_flow(&rec, &tr))
			kt_record_trouble(s->ctx, &tr);	/* packets around it (pcap) */
		return err;
	}
	if (t == KT_EV_PROC) {
		struct kt_bpf_proc_hold hold;
		struct kt_proc rec;

		err = kt_bpf_proc_convert(&rec, &hold, data, len, s->ctx->boot_to_utc_ns);
		if (!err)
			err = kt_spool_append(s->ctx->spool, &kt_proc_schema, &rec);
		if (!err)
			s->procs++;
		return err;
	}
	/* A malformed event says the object and ktcap disagree: count it,
	 * keep recording the rest. */
	s->invalid++;
	return 0;
}

static int src_start(struct kt_record_ctx *ctx, void **state)
{
	struct bpf_src *s = calloc(1, sizeof(*s));
	struct kt_bpf_opts o = { 0 };
	int err;

	*state = NULL;
	if (!kt_bpf_privileged()) {
		free(s);
		return kt_err_set(-EPERM, "eBPF needs root, or CAP_BPF and CAP_PERFMON "
				  "(this process has neither CAP_SYS_ADMIN nor both)");
	}
	if (!s)
		return kt_err_set(-ENOMEM, "out of memory");
	s->ctx = ctx;
	s->stats_interval_ns = ctx->opts && ctx->opts->stats_interval_ns ?
			       ctx->opts->stats_interval_ns : KT_BPF_STATS_DEFAULT_NS;
	/* a connection reports about once an interval, whatever the jitter
	 * of the ticks */
	o.stats_min_age_ns = s->stats_interval_ns / 2;
	err = kt_bpf_open(&s->bpf, &o, on_event, s);
	if (err) {
		free(s);
		return err;
	}
	s->next_stats = kt_mono_ns() + s->stats_interval_ns;
	s->next_prune = kt_mono_ns() + KT_BPF_PRUNE_NS;
	*state = s;
	return 0;
}

static int src_fd(void *state)
{
	return kt_bpf_fd(((struct bpf_src *)state)->bpf);
}

static int refresh(struct bpf_src *s)
{
	uint64_t missed = kt_bpf_missed(s->bpf);
	int err = kt_bpf_counters(s->bpf, s->counters);

	/* the state changes kt_set_state_nested took are missed runs of
	 * kt_set_state to the kernel, not lost (exact once detached) */
	s->missed = missed > s->counters[KT_CNT_NESTED] ? missed - s->counters[KT_CNT_NESTED] : 0;
	s->live.events = s->flows + s->procs;
	s->live.lost = s->counters[KT_CNT_LOST_FLOW] + s->counters[KT_CNT_LOST_PROC] +
		       s->missed;
	return err;
}

static int src_poll(void *state, struct kt_record_ctx *ctx)
{
	struct bpf_src *s = state;
	uint64_t now = kt_mono_ns();
	int n;

	s->ctx = ctx;
	n = kt_bpf_poll(s->bpf, 0);
	if (n < 0)
		return n;
	if (now >= s->next_stats) {
		s->next_stats = now + s->stats_interval_ns;
		if (kt_bpf_trigger_stats(s->bpf) == 0) {
			n = kt_bpf_poll(s->bpf, 0);
			if (n < 0)
				return n;
		}
	}
	/* quiet peers out of the fold map, their pending counts reported */
	if (now >= s->next_prune) {
		s->next_prune = now + KT_BPF_PRUNE_NS;
		if ((n = kt_bpf_prune_folds(s->bpf, KT_BPF_PRUNE_NS)) < 0)
			return n;
	}
	/* the kernel counters cost a syscall per CPU: not on every wakeup */
	if (now - s->last_refresh < 100000000ULL)
		return 0;
	s->last_refresh = now;
	return refresh(s);
}

static int src_stop(void *state, struct kt_record_ctx *ctx, json_t *report)
{
	struct bpf_src *s = state;
	json_t *progs;
	int err;

	s->ctx = ctx;
	/* the programs stopped first: the drain then takes every folded
	 * event, and the loss counted is exact (kt_bpf_detach) */
	err = kt_bpf_detach(s->bpf);
	if (!err)
		err = kt_bpf_poll(s->bpf, 0);
	if (err >= 0)
		err = kt_bpf_drain_folds(s->bpf);
	if (err >= 0)
		err = kt_bpf_poll(s->bpf, 0);
	if (err > 0)
		err = 0;
	if (!err)
		err = refresh(s);
	/* after the drain, folded events whose entry was evicted are known */
	s->live.lost += kt_bpf_lost_folded(s->bpf);
	progs = kt_bpf_programs_json(s->bpf);
	if (progs)
		json_object_set_new(report, "programs", progs);
	json_object_set_new(report, "events", json_integer((json_int_t)s->counters[KT_CNT_EVENTS]));
	json_object_set_new(report, "lost", json_integer((json_int_t)s->live.lost));
	json_object_set_new(report, "lost_flow",
			    json_integer((json_int_t)s->counters[KT_CNT_LOST_FLOW]));
	json_object_set_new(report, "lost_proc",
			    json_integer((json_int_t)s->counters[KT_CNT_LOST_PROC]));
	json_object_set_new(report, "lost_missed_runs", json_integer((json_int_t)s->missed));
	/* after the drain: folded events whose entry was evicted first */
	json_object_set_new(report, "lost_folded",
			    json_integer((json_int_t)kt_bpf_lost_folded(s->bpf)));
	json_object_set_new(report, "folded", json_integer((json_int_t)s->counters[KT_CNT_FOLDED]));
	json_object_set_new(report, "nested_state_changes",
			    json_integer((json_int_t)s->counters[KT_CNT_NESTED]));
	json_object_set_new(report, "late_closes",
			    json_integer((json_int_t)s->counters[KT_CNT_LATE_CLOSE]));
	json_object_set_new(report, "untracked_sockets",
			    json_integer((json_int_t)s->counters[KT_CNT_UNTRACKED]));
	json_object_set_new(report, "invalid_events", json_integer((json_int_t)s->invalid));
	json_object_set_new(report, "records",
			    json_pack("{s:I, s:I}", "flow", (json_int_t)s->flows,
				      "proc", (json_int_t)s->procs));
	json_object_set_new(report, "drop_reasons", kt_bpf_drop_reasons_json());
	json_object_set_new(report, "stats_interval_ns",
			    json_integer((json_int_t)s->stats_interval_ns));
	return err;
}

static void src_free(void *state)
{
	struct bpf_src *s = state;

	if (!s)
		return;
	kt_bpf_close(s->bpf);
	free(s);
}

static void src_stats(void *state, struct kt_source_stats *out)
{
	*out = ((struct bpf_src *)state)->live;
}

const struct kt_source_ops kt_bpf_source = {
	.name = "bpf",
	.help = "TCP lifecycle, failures, drops, UDP sends, process and cgroup lineage (eBPF tracepoints)",
	.start = src_start,
	.fd = src_fd,
	.poll = src_poll,
	.stop = src_stop,
	.free = src_free,
	.stats = src_stats,
};
