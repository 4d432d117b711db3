/* diag.c - TCP and UDP sockets of the current netns (sock_diag netlink
 * through libmnl), with the pid holding each one.
 *
 * Connections that exist before the recording starts never pass through the
 * eBPF open path; this snapshot is how they (and every listener) get into
 * the bundle. TIME_WAIT sockets are left out: they belong to no process and
 * can number in the hundreds of thousands on a busy node.
 */
#include "host_int.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "error.h"


static const char *const tcp_states[] = {
	"", "established", "syn_sent", "syn_recv", "fin_wait1", "fin_wait2", "time_wait",
	"close", "close_wait", "last_ack", "listen", "closing", "new_syn_recv",
};

struct diag_ctx {
	const struct kt_sockmap *socks;
	json_t *out;
	uint32_t max;
	bool *truncated;
	uint8_t proto;
};

static int diag_cb(const struct nlmsghdr *nlh, void *data)
{
	struct diag_ctx *c = data;
	struct inet_diag_msg m;
	const char *state;
	uint32_t pid;
	json_t *s;
	int af;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(m))
		return MNL_CB_OK;
	/* copied out: the payload is not guaranteed to be aligned for it */
	memcpy(&m, mnl_nlmsg_get_payload(nlh), sizeof(m));
	af = m.idiag_family;
	if (af != AF_INET && af != AF_INET6)
		return MNL_CB_OK;
	if (json_array_size(c->out) >= c->max) {
		*c->truncated = true;
		return MNL_CB_OK;
	}
	if (c->proto == IPPROTO_UDP)
		/* UDP reports TCP_ESTABLISHED for a connected socket and
		 * TCP_CLOSE for one that only listens */
		state = m.idiag_state == 1 ? "connected" : "bound";
	else
		state = m.idiag_state < sizeof(tcp_states) / sizeof(tcp_states[0]) ?
			tcp_states[m.idiag_state] : "unknown";
	s = json_pack("{s:s, s:s, s:s, s:o, s:i, s:o, s:i, s:I, s:i}",
		      "proto", c->proto == IPPROTO_TCP ? "tcp" : "udp",
		      "family", af == AF_INET ? "inet" : "inet6", "state", state,
		      "src", kt_host_ip_json(af, m.id.idiag_src),
		      "sport", (int)ntohs(m.id.idiag_sport),
		      "dst", kt_host_ip_json(af, m.id.idiag_dst),
		      "dport", (int)ntohs(m.id.idiag_dport),
		      "inode", (json_int_t)m.idiag_inode, "uid", (int)m.idiag_uid);
	pid = kt_sockmap_get(c->socks, m.idiag_inode);
	if (pid)
		json_object_set_new(s, "pid", json_integer(pid));
	if (c->proto == IPPROTO_TCP && m.idiag_state == 10)
		json_object_set_new(s, "backlog_max", json_integer(m.idiag_wqueue));
	json_array_append_new(c->out, s);
	return MNL_CB_OK;
}

static int dump(struct mnl_socket *nl, uint8_t af, uint8_t proto, struct diag_ctx *c)
{
	struct inet_diag_req_v2 req = { .sdiag_family = af, .sdiag_protocol = proto };
	char what[64];

	/* every state but TIME_WAIT (6) */
	req.idiag_states = ~(1u << 6) & 0xfffu;
	c->proto = proto;
	snprintf(what, sizeof(what), "sock_diag dump (family %u, protocol %u)", af, proto);
	return kt_nl_dump(nl, SOCK_DIAG_BY_FAMILY, &req, sizeof(req), diag_cb, c, what);
}

int kt_host_sockets(const struct kt_sockmap *socks, uint32_t max, json_t *sockets,
		    bool *truncated)
{
	static const uint8_t afs[] = { AF_INET, AF_INET6 };
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	struct diag_ctx c = { .socks = socks, .out = sockets, .max = max, .truncated = truncated };
	struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	int err = 0;

	if (!nl)
		return kt_err_set(-errno, "cannot open sock_diag netlink: %s", strerror(errno));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = kt_err_set(-errno, "cannot bind sock_diag netlink: %s", strerror(errno));
		goto out;
	}
	for (size_t i = 0; i < sizeof(afs) && !err; i++)
		for (size_t k = 0; k < sizeof(protos) && !err; k++)
			err = dump(nl, afs[i], protos[k], &c);
out:
	mnl_socket_close(nl);
	return err;
}
