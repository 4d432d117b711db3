/* conntrack.c - the conntrack table of the current netns
 * (libnetfilter_conntrack dump).
 *
 * A connection to a ClusterIP shows the ClusterIP on the client and the pod
 * on the server; the conntrack entry holds both tuples, so it is what ties a
 * Service to the backend that answered, for connections already open when
 * the recording starts and for the end state. Reading needs CAP_NET_ADMIN in
 * the netns; nothing is changed (no sysctl, no accounting switched on).
 */
#include "host_int.h"

#include <errno.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "error.h"

struct ct_ctx {
	json_t *out;
	uint32_t max;
	bool *truncated;
};

static json_t *tuple_ip(const struct nf_conntrack *ct, int af, enum nf_conntrack_attr v4,
			enum nf_conntrack_attr v6)
{
	const void *p = nfct_get_attr(ct, af == AF_INET ? v4 : v6);

	return p ? kt_host_ip_json(af, p) : json_null();
}

static int ct_cb(enum nf_conntrack_msg_type type, struct nf_conntrack *ct, void *data)
{
	struct ct_ctx *c = data;
	int af = nfct_get_attr_u8(ct, ATTR_L3PROTO);
	uint8_t proto = nfct_get_attr_u8(ct, ATTR_L4PROTO);
	json_t *e;

	(void)type;
	if (af != AF_INET && af != AF_INET6)
		return NFCT_CB_CONTINUE;
	if (json_array_size(c->out) >= c->max) {
		*c->truncated = true;
		return NFCT_CB_STOP;
	}
	e = json_pack("{s:i, s:{s:o, s:o, s:i, s:i}, s:{s:o, s:o, s:i, s:i}}",
		      "proto", proto,
		      "orig",
		      "src", tuple_ip(ct, af, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC),
		      "dst", tuple_ip(ct, af, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST),
		      "sport", (int)ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC)),
		      "dport", (int)ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST)),
		      "reply",
		      "src", tuple_ip(ct, af, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC),
		      "dst", tuple_ip(ct, af, ATTR_REPL_IPV4_DST, ATTR_REPL_IPV6_DST),
		      "sport", (int)ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC)),
		      "dport", (int)ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_DST)));
	if (!e)
		return NFCT_CB_CONTINUE;
	json_object_set_new(e, "status", json_integer(nfct_get_attr_u32(ct, ATTR_STATUS)));
	if (nfct_attr_is_set(ct, ATTR_MARK))
		json_object_set_new(e, "mark", json_integer(nfct_get_attr_u32(ct, ATTR_MARK)));
	if (nfct_attr_is_set(ct, ATTR_ZONE))
		json_object_set_new(e, "zone", json_integer(nfct_get_attr_u16(ct, ATTR_ZONE)));
	if (nfct_attr_is_set(ct, ATTR_TIMEOUT))
		json_object_set_new(e, "timeout", json_integer(nfct_get_attr_u32(ct, ATTR_TIMEOUT)));
	if (proto == IPPROTO_TCP && nfct_attr_is_set(ct, ATTR_TCP_STATE)) {
		static const char *const st[] = { "none", "syn_sent", "syn_recv", "established",
			"fin_wait", "close_wait", "last_ack", "time_wait", "close", "syn_sent2" };
		uint8_t s = nfct_get_attr_u8(ct, ATTR_TCP_STATE);

		if (s < sizeof(st) / sizeof(st[0]))
			json_object_set_new(e, "tcp_state", json_string(st[s]));
	}
	/* Counters exist only when nf_conntrack_acct is on. */
	if (nfct_attr_is_set(ct, ATTR_ORIG_COUNTER_BYTES)) {
		json_object_set_new(e, "bytes_orig",
				    json_integer((json_int_t)nfct_get_attr_u64(ct, ATTR_ORIG_COUNTER_BYTES)));
		json_object_set_new(e, "bytes_reply",
				    json_integer((json_int_t)nfct_get_attr_u64(ct, ATTR_REPL_COUNTER_BYTES)));
	}
	json_array_append_new(c->out, e);
	return NFCT_CB_CONTINUE;
}

int kt_host_conntrack(uint32_t max, json_t *entries, bool *truncated)
{
	struct ct_ctx c = { .out = entries, .max = max, .truncated = truncated };
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	uint32_t family = AF_UNSPEC;
	int err = 0;

	if (!h)
		return kt_err_set(-errno, "cannot open conntrack netlink: %s", strerror(errno));
	nfct_callback_register(h, NFCT_T_ALL, ct_cb, &c);
	if (nfct_query(h, NFCT_Q_DUMP, &family) < 0 && !*truncated)
		err = kt_err_set(-errno, "cannot dump conntrack: %s", strerror(errno));
	nfct_close(h);
	return err;
}
