/* conntrack_source.c - the "conntrack" recording source (conntrack_source.h). */
#include "conntrack_source.h"
#include "error.h"
#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define RCVBUF (8 << 20)	/* room for bursts between two polls */

struct ct_src {
	struct nfct_handle *ev;		/* event subscription */
	struct kt_record_ctx *ctx;
	uint64_t events, dumped, lost, skipped;
	int err;			/* first spool error in a callback */
	enum kt_ct_kind dump_kind;
};

int kt_conntrack_convert(struct kt_conntrack *rec, const struct nf_conntrack *ct,
			 enum kt_ct_kind kind, uint64_t ts)
{
	int af = nfct_get_attr_u8(ct, ATTR_L3PROTO);

	memset(rec, 0, sizeof(*rec));
	rec->ts = ts;
	rec->kind = (uint8_t)kind;
	rec->proto = nfct_get_attr_u8(ct, ATTR_L4PROTO);
	if (af == AF_INET) {
		kt_ip_from_v4(rec->orig_src, nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_SRC));
		kt_ip_from_v4(rec->orig_dst, nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST));
		kt_ip_from_v4(rec->reply_src, nfct_get_attr_u32(ct, ATTR_REPL_IPV4_SRC));
		kt_ip_from_v4(rec->reply_dst, nfct_get_attr_u32(ct, ATTR_REPL_IPV4_DST));
	} else if (af == AF_INET6) {
		kt_ip_from_v6(rec->orig_src, nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC));
		kt_ip_from_v6(rec->orig_dst, nfct_get_attr(ct, ATTR_ORIG_IPV6_DST));
		kt_ip_from_v6(rec->reply_src, nfct_get_attr(ct, ATTR_REPL_IPV6_SRC));
		kt_ip_from_v6(rec->reply_dst, nfct_get_attr(ct, ATTR_REPL_IPV6_DST));
	} else {
		return -EAFNOSUPPORT;
	}
	if (rec->proto == IPPROTO_TCP || rec->proto == IPPROTO_UDP || rec->proto == IPPROTO_SCTP) {
		rec->orig_sport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC));
		rec->orig_dport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
		rec->reply_sport = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC));
		rec->reply_dport = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_DST));
	}
	if (nfct_attr_is_set(ct, ATTR_STATUS) > 0)
		rec->status = nfct_get_attr_u32(ct, ATTR_STATUS);
	if (nfct_attr_is_set(ct, ATTR_MARK) > 0)
		rec->mark = nfct_get_attr_u32(ct, ATTR_MARK);
	if (nfct_attr_is_set(ct, ATTR_ZONE) > 0)
		rec->zone = nfct_get_attr_u16(ct, ATTR_ZONE);
	if (nfct_attr_is_set(ct, ATTR_ORIG_COUNTER_PACKETS) > 0) {
		rec->packets_orig = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_PACKETS);
		rec->bytes_orig = nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_BYTES);
		rec->packets_reply = nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_PACKETS);
		rec->bytes_reply = nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_BYTES);
	}
	return 0;
}

static int on_entry(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
	struct ct_src *s = data;
	struct kt_conntrack rec;
	enum kt_ct_kind kind = s->dump_kind;
	int err;

	if (kind != KT_CT_DUMP)
		kind = type == NFCT_T_DESTROY ? KT_CT_DESTROY :
		       type == NFCT_T_NEW ? KT_CT_NEW : KT_CT_UPDATE;
	if (kt_conntrack_convert(&rec, ct, kind, kt_now_ns())) {
		s->skipped++;
		return NFCT_CB_CONTINUE;
	}
	if ((err = kt_spool_append(s->ctx->spool, &kt_conntrack_schema, &rec))) {
		s->err = err;
		return NFCT_CB_STOP;
	}
	if (kind == KT_CT_DUMP)
		s->dumped++;
	else
		s->events++;
	return NFCT_CB_CONTINUE;
}

/* The whole table as KT_CT_DUMP records, through a handle of its own. */
static int dump(struct ct_src *s)
{
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	uint32_t family = AF_UNSPEC;
	int r;

	if (!h)
		return kt_err_set(-errno, "cannot open conntrack netlink: %s", strerror(errno));
	s->dump_kind = KT_CT_DUMP;
	nfct_callback_register(h, NFCT_T_ALL, on_entry, s);
	r = nfct_query(h, NFCT_Q_DUMP, &family);
	s->dump_kind = KT_CT_NEW;
	nfct_close(h);
	if (s->err)
		return s->err;
	if (r < 0)
		return kt_err_set(-errno, "cannot dump the conntrack table: %s", strerror(errno));
	return 0;
}

static int src_start(struct kt_record_ctx *ctx, void **state)
{
	struct ct_src *s = calloc(1, sizeof(*s));
	int fd, size = RCVBUF, err;

	*state = s;
	if (!s)
		return kt_err_set(-ENOMEM, "out of memory");
	s->ctx = ctx;
	s->dump_kind = KT_CT_NEW;
	s->ev = nfct_open(CONNTRACK, NF_NETLINK_CONNTRACK_NEW | NF_NETLINK_CONNTRACK_DESTROY);
	if (!s->ev)
		return kt_err_set(-errno, "cannot subscribe to conntrack events: %s (needs "
				  "CAP_NET_ADMIN and the nf_conntrack module)", strerror(errno));
	fd = nfct_fd(s->ev);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	/* FORCE needs CAP_NET_ADMIN, which we have; the plain one is capped by
	 * rmem_max, which we do not change */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	nfct_callback_register(s->ev, NFCT_T_ALL, on_entry, s);
	if ((err = dump(s)))
		return err;
	return 0;
}

static int src_fd(void *state)
{
	struct ct_src *s = state;

	return s->ev ? nfct_fd(s->ev) : -1;
}

static int src_poll(void *state, struct kt_record_ctx *ctx)
{
	struct ct_src *s = state;

	(void)ctx;
	for (;;) {
		int r = nfct_catch(s->ev);

		if (s->err)
			return s->err;
		if (r >= 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		if (errno == ENOBUFS) {
			/* the kernel dropped events: count and go on */
			s->lost++;
			continue;
		}
		return kt_err_set(-errno, "conntrack events: %s", strerror(errno));
	}
}

static int src_stop(void *state, struct kt_record_ctx *ctx, json_t *report)
{
	struct ct_src *s = state;
	int err = src_poll(s, ctx);

	if (!err)
		err = dump(s);
	json_object_set_new(report, "events", json_integer((json_int_t)s->events));
	json_object_set_new(report, "dumped", json_integer((json_int_t)s->dumped));
	json_object_set_new(report, "overruns", json_integer((json_int_t)s->lost));
	json_object_set_new(report, "lost", json_integer((json_int_t)s->lost));
	json_object_set_new(report, "timestamps", json_string("read time (no sysctl changed)"));
	if (s->lost)
		json_object_set_new(report, "status", json_string("partial"));
	return err;
}

static void src_free(void *state)
{
	struct ct_src *s = state;

	if (!s)
		return;
	if (s->ev)
		nfct_close(s->ev);
	free(s);
}

static void src_stats(void *state, struct kt_source_stats *out)
{
	struct ct_src *s = state;

	out->events = s->events + s->dumped;
	out->lost = s->lost;
}

const struct kt_source_ops kt_conntrack_source = {
	.name = "conntrack",
	.help = "NAT and conntrack entries over netlink: ClusterIP to backend",
	.start = src_start,
	.fd = src_fd,
	.poll = src_poll,
	.stop = src_stop,
	.free = src_free,
	.stats = src_stats,
};
