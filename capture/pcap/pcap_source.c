/* pcap_source.c - the "pcap" recording source: packets around trouble, DNS.
 *
 *   start: interfaces opened (pcap_iface.c), who is behind each (pcap_ident.c)
 *   fd:    one epoll fd over every interface's libpcap fd
 *   poll:  ready interfaces read; on the tick also every interface, rings
 *          expired, due fragments written (pcap_frag.c), --pcap-all flushed
 *   on_trouble: a pending fragment for that flow
 *   stop:  read until the packets captured before the stop are in (a block
 *          timeout or two), DNS queries still open emitted, every pending
 *          fragment written with what the rings hold (not complete when its
 *          window ends after the stop), report for the manifest
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "manifest.h"
#include "pcap_int.h"
#include "pcap_source.h"

#define TICK_NS 100000000ull
#define STATS_NS 1000000000ull
#define RESCAN_NS 5000000000ull	/* new pods' interfaces picked up this often */

struct state {
	struct kt_pcap_src s;
	char node[256];
	uint64_t last_tick, last_stats, last_rescan;
};

static void src_free(void *state)
{
	struct state *st = state;

	if (!st)
		return;
	kt_pcap_ifaces_close(&st->s);
	kt_pcapng_release(&st->s.all_w);
	json_decref(st->s.listed);
	json_decref(st->s.pods);
	if (st->s.epfd >= 0)
		close(st->s.epfd);
	free(st);
}

static void node_name(struct state *st, struct kt_record_ctx *ctx)
{
	json_t *host = json_object_get(ctx->manifest, "host");
	const char *n = ctx->opts && ctx->opts->node_name ? ctx->opts->node_name :
			json_string_value(json_object_get(host, "node_name"));

	if (!n)
		n = json_string_value(json_object_get(host, "hostname"));
	if (!n && gethostname(st->node, sizeof(st->node) - 1) == 0)
		n = st->node;
	if (n != st->node)
		snprintf(st->node, sizeof(st->node), "%s", n ? n : "");
	st->s.node = st->node;
}

static int src_start(struct kt_record_ctx *ctx, void **state)
{
	const struct kt_record_opts *o = ctx->opts;
	struct state *st = calloc(1, sizeof(*st));
	struct kt_pcap_src *s;
	struct stat sb;
	int err;

	*state = NULL;
	if (!st)
		return kt_err_set(-ENOMEM, "out of memory");
	s = &st->s;
	s->ctx = ctx;
	s->epfd = -1;
	s->snaplen = o && o->snaplen ? o->snaplen : 256;
	s->ring_bytes = o && o->pcap_ring_size ? o->pcap_ring_size : KT_PCAP_DEFAULT_RING;
	s->ring_ns = o && o->pcap_ring_ns ? o->pcap_ring_ns : KT_PCAP_DEFAULT_RING_NS;
	s->around_ns = o && o->pcap_around_ns ? o->pcap_around_ns : KT_PCAP_DEFAULT_AROUND_NS;
	s->max_size = o && o->pcap_max_size ? o->pcap_max_size : KT_PCAP_DEFAULT_MAX_SIZE;
	s->all = o && o->pcap_all;
	/* the ring must still hold "before" when "after" has passed */
	if (s->ring_ns < 2 * s->around_ns + TICK_NS)
		s->ring_ns = 2 * s->around_ns + TICK_NS;
	if (!stat("/proc/self/ns/net", &sb))
		s->own_netns = (uint64_t)sb.st_ino;
	node_name(st, ctx);
	if (!(s->listed = json_array())) {
		err = kt_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	if ((s->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		err = kt_err_set(-errno, "epoll: %s", strerror(errno));
		goto out;
	}
	if ((err = kt_pcap_ifaces_open(s, o ? o->ifaces : NULL, o ? o->pcap_filter : NULL)))
		goto out;
	/* without host facts the interfaces are still named by node and netns */
	kt_pcap_ident_load_host(s);
	kt_err_clear();
	st->last_tick = st->last_stats = st->last_rescan = kt_now_ns();
	*state = st;
out:
	if (err)
		src_free(st);
	return err;
}

static int src_fd(void *state)
{
	return ((struct state *)state)->s.epfd;
}

/* An interface added while recording is often a pod's veth seen before
 * its pod is all there (the address, the processes come later, and later
 * still on a busy node): those whose pod is not known yet are looked at
 * again at the next rescans and at the stop, a few times at most. */
static void identify_late(struct kt_pcap_src *s)
{
	unsigned from = s->nifs;

	for (unsigned k = 0; k < s->nifs; k++) {
		struct kt_pcap_iface *i = &s->ifs[k];

		if (!i->ident_tries || i->closed || (i->id.peer_netns && i->id.pod_uid[0]))
			continue;
		if (k < from)
			from = k;
	}
	if (from == s->nifs)
		return;
	for (unsigned k = from; k < s->nifs; k++)
		if (s->ifs[k].ident_tries)
			s->ifs[k].ident_tries--;
	kt_pcap_ident_collect(s, from);
	kt_err_clear();
}

static int src_poll(void *state, struct kt_record_ctx *ctx)
{
	struct state *st = state;
	struct kt_pcap_src *s = &st->s;
	struct epoll_event evs[64];
	uint64_t now;
	int n, err = 0;

	s->ctx = ctx;
	n = epoll_wait(s->epfd, evs, 64, 0);
	for (int k = 0; k < n; k++)
		if (evs[k].data.u32 < s->nifs)
			kt_pcap_iface_read(s, &s->ifs[evs[k].data.u32]);
	now = kt_now_ns();
	if (now - st->last_tick < TICK_NS)
		return 0;
	st->last_tick = now;
	/* a block not yet retired by the kernel is delivered on its timeout:
	 * read every interface once a tick anyway */
	for (unsigned k = 0; k < s->nifs; k++) {
		kt_pcap_iface_read(s, &s->ifs[k]);
		if (s->ifs[k].ring)
			kt_pkt_ring_expire(s->ifs[k].ring, now);
	}
	/* a packet shows a block timeout or two after it was captured: a
	 * fragment is written once its last packets are surely read */
	if ((err = kt_pcap_frag_due(s, now - KT_PCAP_SETTLE_NS, false)))
		return err;
	if ((err = kt_pcap_all_flush(s)))
		return err;
	if (now - st->last_rescan >= RESCAN_NS) {
		unsigned before = s->nifs, added;

		st->last_rescan = now;
		kt_pcap_ifaces_rescan(s, &added);
		s->ifaces_added += added;
		for (unsigned k = before; k < s->nifs; k++)
			s->ifs[k].ident_tries = 1 + KT_PCAP_IDENT_TRIES;
		identify_late(s);
	}
	if (now - st->last_stats >= STATS_NS) {
		kt_pcap_ifaces_stats(s);
		st->last_stats = now;
	}
	return 0;
}

static void src_trouble(void *state, struct kt_record_ctx *ctx, const struct kt_trouble *t)
{
	struct state *st = state;

	st->s.ctx = ctx;
	kt_pcap_frag_trouble(&st->s, t);
}

static json_t *by_kind(const uint64_t *v)
{
	json_t *o = json_object();

	for (int k = 1; k < KT_TROUBLE__KINDS; k++)
		if (v[k])
			json_object_set_new(o, kt_trouble_name(k), json_integer((json_int_t)v[k]));
	return o;
}

/* At the stop, the packets captured before it: those in blocks the kernel
 * has not handed over yet come within KT_PCAP_SETTLE_NS; read until then
 * (and while interfaces have more), waiting on their fds. */
static void read_until_settled(struct kt_pcap_src *s, uint64_t stop_ns)
{
	struct epoll_event evs[64];
	uint64_t now;

	for (;;) {
		int more = 0;

		for (unsigned k = 0; k < s->nifs; k++)
			more += kt_pcap_iface_read(s, &s->ifs[k]) > 0;
		now = kt_now_ns();
		if (now >= stop_ns + KT_PCAP_SETTLE_NS)
			break;
		if (!more)
			epoll_wait(s->epfd, evs, 64,
				   (int)((stop_ns + KT_PCAP_SETTLE_NS - now) / 1000000ull) + 1);
	}
}

static int src_stop(void *state, struct kt_record_ctx *ctx, json_t *report)
{
	struct state *st = state;
	struct kt_pcap_src *s = &st->s;
	uint64_t stop_ns;
	int err;

	s->ctx = ctx;
	stop_ns = kt_now_ns();
	read_until_settled(s, stop_ns);
	identify_late(s);
	err = kt_pcap_dns_flush(s);
	if (!err)	/* trouble seen so far: its fragment, cut at the stop */
		err = kt_pcap_frag_due(s, stop_ns, true);
	if (!err)
		err = kt_pcap_all_flush(s);
	s->stopped = true;	/* trouble from sources stopping later: too late */
	kt_pcap_ifaces_stats(s);
	json_object_set_new(report, "interfaces", kt_pcap_ifaces_json(s));
	json_object_set_new(report, "snaplen", json_integer(s->snaplen));
	json_object_set_new(report, "interfaces_added", json_integer((json_int_t)s->ifaces_added));
	json_object_set_new(report, "ring", json_pack("{s:I, s:I}",
		"bytes", (json_int_t)s->ring_bytes, "seconds", (json_int_t)(s->ring_ns / 1000000000ull)));
	json_object_set_new(report, "around_ns", json_integer((json_int_t)s->around_ns));
	json_object_set_new(report, "max_size", json_integer((json_int_t)s->max_size));
	json_object_set_new(report, "bytes_written", json_integer((json_int_t)s->written));
	json_object_set_new(report, "truncated", json_boolean(s->truncated));
	json_object_set_new(report, "continuous", json_boolean(s->all));
	json_object_set_new(report, "troubles", json_integer((json_int_t)s->troubles));
	json_object_set_new(report, "troubles_by_kind", by_kind(s->troubles_by_kind));
	json_object_set_new(report, "troubles_elsewhere", json_integer((json_int_t)s->troubles_elsewhere));
	json_object_set_new(report, "fragments_written", json_integer((json_int_t)s->frags_written));
	json_object_set_new(report, "fragment_packets", json_integer((json_int_t)s->frag_packets));
	json_object_set_new(report, "fragments_empty", json_integer((json_int_t)s->frags_empty));
	json_object_set_new(report, "fragments_dropped_size",
			    json_integer((json_int_t)s->frags_dropped_size));
	json_object_set_new(report, "fragments_dropped_busy",
			    json_integer((json_int_t)s->frags_dropped_busy));
	json_object_set_new(report, "index_dropped_size", json_integer((json_int_t)s->index_dropped));
	json_object_set_new(report, "fragments", json_incref(s->listed));
	if (json_array_size(s->listed) >= KT_PCAP_MAX_LISTED)
		json_object_set_new(report, "fragments_listed_only", json_integer(KT_PCAP_MAX_LISTED));
	if (s->all)
		json_object_set_new(report, "all", json_pack("{s:I, s:I, s:I}",
			"packets", (json_int_t)s->all_packets,
			"dropped_size", (json_int_t)s->all_dropped_size,
			"other_linktype", (json_int_t)s->all_other_dlt));
	json_object_set_new(report, "records", json_pack("{s:I}", "dns", (json_int_t)s->dns_records));
	json_object_set_new(report, "dns_duplicates", json_integer((json_int_t)s->dns_dups));
	json_object_set_new(report, "lost", json_integer((json_int_t)s->live.lost));
	if (s->truncated) {
		json_t *w = json_object_get(ctx->manifest, "warnings");
		char msg[256];

		snprintf(msg, sizeof(msg), "pcap: --pcap-max-size %llu reached: %llu fragments "
			 "and %llu packets of the continuous capture not written",
			 (unsigned long long)s->max_size, (unsigned long long)s->frags_dropped_size,
			 (unsigned long long)s->all_dropped_size);
		if (!w) {
			w = json_array();
			json_object_set_new(ctx->manifest, "warnings", w);
		}
		json_array_append_new(w, json_string(msg));
		json_object_set_new(report, "status", json_string("partial"));
		json_object_set_new(report, "message", json_string(msg));
	}
	return err;
}

static void src_stats(void *state, struct kt_source_stats *out)
{
	*out = ((struct state *)state)->s.live;
}

const struct kt_source_ops kt_pcap_source = {
	.name = "pcap",
	.help = "packets around trouble as pcapng with pod identity, DNS queries and answers (libpcap)",
	.start = src_start,
	.fd = src_fd,
	.poll = src_poll,
	.stop = src_stop,
	.free = src_free,
	.stats = src_stats,
	.on_trouble = src_trouble,
};
