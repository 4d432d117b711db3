/* records.c - the column tables of the record types in records.h.
 * The order of fields here is the order of columns on disk. */
#include "records.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>


static const char *const flow_kinds[] = {
	"open", "close", "fail", "stats", "retrans", "rst_sent", "rst_recv",
	"drop", "connect", "accept", "udp_send", "listen",
};
static const char *const flow_causes[] = {
	"", "refused", "timeout", "unreachable", "reset", "error", "aborted",
};
static const char *const flow_roles[] = { "", "client", "server" };
static const char *const closers[] = { "", "local", "remote" };

static const struct kt_field flow_fields[] = {
	KT_FIELD(struct kt_flow, ts, KT_F_TS),
	KT_FIELD_ENUM(struct kt_flow, kind, KT_F_U8, flow_kinds),
	KT_FIELD(struct kt_flow, proto, KT_F_U8),
	KT_FIELD_ENUM(struct kt_flow, role, KT_F_U8, flow_roles),
	KT_FIELD_ENUM(struct kt_flow, cause, KT_F_U8, flow_causes),
	KT_FIELD_ENUM(struct kt_flow, closer, KT_F_U8, closers),
	KT_FIELD(struct kt_flow, saddr, KT_F_IP),
	KT_FIELD(struct kt_flow, daddr, KT_F_IP),
	KT_FIELD(struct kt_flow, sport, KT_F_U16),
	KT_FIELD(struct kt_flow, dport, KT_F_U16),
	KT_FIELD(struct kt_flow, orig_daddr, KT_F_IP),
	KT_FIELD(struct kt_flow, orig_dport, KT_F_U16),
	KT_FIELD(struct kt_flow, sock_id, KT_F_U64),
	KT_FIELD(struct kt_flow, netns, KT_F_U64),
	KT_FIELD(struct kt_flow, cgroup_id, KT_F_U64),
	KT_FIELD(struct kt_flow, pid, KT_F_U32),
	KT_FIELD(struct kt_flow, tid, KT_F_U32),
	KT_FIELD(struct kt_flow, comm, KT_F_STR),
	KT_FIELD(struct kt_flow, duration_ns, KT_F_U64),
	KT_FIELD(struct kt_flow, latency_ns, KT_F_U64),
	KT_FIELD(struct kt_flow, bytes_sent, KT_F_U64),
	KT_FIELD(struct kt_flow, bytes_recv, KT_F_U64),
	KT_FIELD(struct kt_flow, segs_out, KT_F_U32),
	KT_FIELD(struct kt_flow, segs_in, KT_F_U32),
	KT_FIELD(struct kt_flow, retrans, KT_F_U32),
	KT_FIELD(struct kt_flow, srtt_us, KT_F_U32),
	KT_FIELD(struct kt_flow, err, KT_F_I32),
	KT_FIELD(struct kt_flow, reason, KT_F_U32),
	KT_FIELD(struct kt_flow, count, KT_F_U32),
};

const struct kt_schema kt_flow_schema = {
	"flow", 1, sizeof(struct kt_flow), flow_fields,
	sizeof(flow_fields) / sizeof(flow_fields[0]),
};

static const char *const proc_kinds[] = {
	"exec", "fork", "exit", "cgroup_mkdir", "cgroup_rmdir", "snapshot", "cgroup",
};

static const struct kt_field proc_fields[] = {
	KT_FIELD(struct kt_proc, ts, KT_F_TS),
	KT_FIELD_ENUM(struct kt_proc, kind, KT_F_U8, proc_kinds),
	KT_FIELD(struct kt_proc, pid, KT_F_U32),
	KT_FIELD(struct kt_proc, ppid, KT_F_U32),
	KT_FIELD(struct kt_proc, cgroup_id, KT_F_U64),
	KT_FIELD(struct kt_proc, netns, KT_F_U64),
	KT_FIELD(struct kt_proc, exit_code, KT_F_I32),
	KT_FIELD(struct kt_proc, comm, KT_F_STR),
	KT_FIELD(struct kt_proc, path, KT_F_STR),
	KT_FIELD(struct kt_proc, container_id, KT_F_STR),
	KT_FIELD(struct kt_proc, pod_uid, KT_F_STR),
	KT_FIELD(struct kt_proc, hierarchy, KT_F_U32),
};

const struct kt_schema kt_proc_schema = {
	"proc", 1, sizeof(struct kt_proc), proc_fields,
	sizeof(proc_fields) / sizeof(proc_fields[0]),
};

static const struct kt_field dns_fields[] = {
	KT_FIELD(struct kt_dns, ts, KT_F_TS),
	KT_FIELD(struct kt_dns, latency_ns, KT_F_U64),
	KT_FIELD(struct kt_dns, proto, KT_F_U8),
	KT_FIELD(struct kt_dns, client, KT_F_IP),
	KT_FIELD(struct kt_dns, client_port, KT_F_U16),
	KT_FIELD(struct kt_dns, server, KT_F_IP),
	KT_FIELD(struct kt_dns, server_port, KT_F_U16),
	KT_FIELD(struct kt_dns, id, KT_F_U16),
	KT_FIELD(struct kt_dns, qtype, KT_F_U16),
	KT_FIELD(struct kt_dns, rcode, KT_F_U16),
	KT_FIELD(struct kt_dns, qname, KT_F_STR),
	KT_FIELD(struct kt_dns, answers, KT_F_STRLIST),
	KT_FIELD(struct kt_dns, netns, KT_F_U64),
	KT_FIELD(struct kt_dns, iface, KT_F_STR),
};

const struct kt_schema kt_dns_schema = {
	"dns", 1, sizeof(struct kt_dns), dns_fields,
	sizeof(dns_fields) / sizeof(dns_fields[0]),
};

static const char *const ct_kinds[] = { "new", "update", "destroy", "dump" };

static const struct kt_field ct_fields[] = {
	KT_FIELD(struct kt_conntrack, ts, KT_F_TS),
	KT_FIELD_ENUM(struct kt_conntrack, kind, KT_F_U8, ct_kinds),
	KT_FIELD(struct kt_conntrack, proto, KT_F_U8),
	KT_FIELD(struct kt_conntrack, orig_src, KT_F_IP),
	KT_FIELD(struct kt_conntrack, orig_dst, KT_F_IP),
	KT_FIELD(struct kt_conntrack, orig_sport, KT_F_U16),
	KT_FIELD(struct kt_conntrack, orig_dport, KT_F_U16),
	KT_FIELD(struct kt_conntrack, reply_src, KT_F_IP),
	KT_FIELD(struct kt_conntrack, reply_dst, KT_F_IP),
	KT_FIELD(struct kt_conntrack, reply_sport, KT_F_U16),
	KT_FIELD(struct kt_conntrack, reply_dport, KT_F_U16),
	KT_FIELD(struct kt_conntrack, status, KT_F_U32),
	KT_FIELD(struct kt_conntrack, mark, KT_F_U32),
	KT_FIELD(struct kt_conntrack, zone, KT_F_U16),
	KT_FIELD(struct kt_conntrack, netns, KT_F_U64),
	KT_FIELD(struct kt_conntrack, packets_orig, KT_F_U64),
	KT_FIELD(struct kt_conntrack, bytes_orig, KT_F_U64),
	KT_FIELD(struct kt_conntrack, packets_reply, KT_F_U64),
	KT_FIELD(struct kt_conntrack, bytes_reply, KT_F_U64),
};

const struct kt_schema kt_conntrack_schema = {
	"conntrack", 1, sizeof(struct kt_conntrack), ct_fields,
	sizeof(ct_fields) / sizeof(ct_fields[0]),
};

static const char *const conn_outcomes[] = {
	"established", "refused", "unanswered", "reset", "partial", "udp",
};

static const struct kt_field conn_fields[] = {
	KT_FIELD(struct kt_conn, ts, KT_F_TS),
	KT_FIELD(struct kt_conn, duration_ns, KT_F_U64),
	KT_FIELD(struct kt_conn, proto, KT_F_U8),
	KT_FIELD_ENUM(struct kt_conn, outcome, KT_F_U8, conn_outcomes),
	KT_FIELD(struct kt_conn, src, KT_F_IP),
	KT_FIELD(struct kt_conn, dst, KT_F_IP),
	KT_FIELD(struct kt_conn, sport, KT_F_U16),
	KT_FIELD(struct kt_conn, dport, KT_F_U16),
	KT_FIELD(struct kt_conn, packets_fwd, KT_F_U64),
	KT_FIELD(struct kt_conn, packets_rev, KT_F_U64),
	KT_FIELD(struct kt_conn, bytes_fwd, KT_F_U64),
	KT_FIELD(struct kt_conn, bytes_rev, KT_F_U64),
	KT_FIELD(struct kt_conn, retrans, KT_F_U32),
	KT_FIELD(struct kt_conn, rtt_us, KT_F_U32),
	KT_FIELD(struct kt_conn, capture, KT_F_U16),
	KT_FIELD(struct kt_conn, vlan, KT_F_U16),
	KT_FIELD(struct kt_conn, tunnel_vni, KT_F_U32),
	KT_FIELD(struct kt_conn, l7, KT_F_STR),
};

const struct kt_schema kt_conn_schema = {
	"conn", 1, sizeof(struct kt_conn), conn_fields,
	sizeof(conn_fields) / sizeof(conn_fields[0]),
};

/* ---- addresses ---------------------------------------------------------- */

void kt_ip_from_v4(uint8_t out[16], uint32_t be_addr)
{
	memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, &be_addr, 4);
}

void kt_ip_from_v6(uint8_t out[16], const void *in6)
{
	memcpy(out, in6, 16);
}

bool kt_ip_is_v4(const uint8_t ip[16])
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return !memcmp(ip, prefix, 12);
}

bool kt_ip_is_unset(const uint8_t ip[16])
{
	static const uint8_t zero[16];

	return !memcmp(ip, zero, 16);
}

const char *kt_ip_str(const uint8_t ip[16], char *buf, size_t len)
{
	if (kt_ip_is_unset(ip))
		snprintf(buf, len, "%s", "");
	else if (kt_ip_is_v4(ip))
		inet_ntop(AF_INET, ip + 12, buf, (socklen_t)len);
	else
		inet_ntop(AF_INET6, ip, buf, (socklen_t)len);
	return buf;
}

int kt_ip_parse(uint8_t out[16], const char *s)
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		kt_ip_from_v4(out, a4.s_addr);
		return 0;
	}
	if (inet_pton(AF_INET6, s, out) == 1)
		return 0;
	return -EINVAL;
}
