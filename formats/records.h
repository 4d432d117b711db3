/* records.h - the record types a bundle's streams carry (bundle format v1).
 *
 * Each struct is the in-memory form; its schema (records.c) is the on-disk
 * column list. Adding a member at the end of a struct, with its field in the
 * schema, is a compatible change: old readers skip the column, new readers
 * read zero from old streams. Changing a member's meaning is not: bump the
 * schema version and say so in SPEC.md.
 *
 * Conventions for every record:
 *  - ts is UTC nanoseconds (capture converts kernel boot time with the clock
 *    offsets in the manifest);
 *  - addresses are 16 bytes, IPv4 mapped as ::ffff:a.b.c.d (kt_ip_* helpers);
 *  - 0 means "unknown" for pids, cgroup ids, netns inodes and counters that
 *    were not measured.
 */
#ifndef KT_RECORDS_H
#define KT_RECORDS_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#include "schema.h"

/* ---- flow: one event in the life of a connection (eBPF source) ---------- */

enum kt_flow_kind {
	KT_FLOW_OPEN = 0,	/* reached ESTABLISHED (role says client or server) */
	KT_FLOW_CLOSE,		/* went to CLOSE after being established; totals */
	KT_FLOW_FAIL,		/* never established: cause says why */
	KT_FLOW_STATS,		/* periodic totals of a connection still open */
	KT_FLOW_RETRANS,	/* a segment was retransmitted */
	KT_FLOW_RST_SENT,	/* we sent a reset */
	KT_FLOW_RST_RECV,	/* we received a reset */
	KT_FLOW_DROP,		/* kernel dropped a packet of this flow: reason */
	KT_FLOW_CONNECT,	/* connect() syscall: the destination asked for */
	KT_FLOW_ACCEPT,		/* accept() returned this connection to pid */
	KT_FLOW_UDP_SEND,	/* a process sent UDP datagrams to a peer */
	KT_FLOW_LISTEN,		/* a socket started listening */
	KT_FLOW__KINDS
};

enum kt_flow_cause {
	KT_CAUSE_NONE = 0,
	KT_CAUSE_REFUSED,	/* RST answered our SYN (ECONNREFUSED) */
	KT_CAUSE_TIMEOUT,	/* SYN unanswered (ETIMEDOUT) */
	KT_CAUSE_UNREACHABLE,	/* ICMP unreachable (EHOSTUNREACH, ENETUNREACH) */
	KT_CAUSE_RESET,		/* reset after establishment */
	KT_CAUSE_ERROR,		/* other: see err */
	KT_CAUSE_ABORTED,	/* closed by the application before any answer */
	KT_CAUSE__MAX
};

enum kt_flow_role { KT_ROLE_UNKNOWN = 0, KT_ROLE_CLIENT, KT_ROLE_SERVER };
enum kt_closer { KT_CLOSER_UNKNOWN = 0, KT_CLOSER_LOCAL, KT_CLOSER_REMOTE };

struct kt_flow {
	uint64_t ts;
	uint8_t kind;		/* enum kt_flow_kind */
	uint8_t proto;		/* IPPROTO_TCP, IPPROTO_UDP */
	uint8_t role;		/* enum kt_flow_role */
	uint8_t cause;		/* enum kt_flow_cause */
	uint8_t closer;		/* enum kt_closer */
	uint8_t saddr[16];	/* local side */
	uint8_t daddr[16];	/* remote side */
	uint16_t sport;
	uint16_t dport;
	uint8_t orig_daddr[16];	/* what connect() asked for, before DNAT */
	uint16_t orig_dport;
	uint64_t sock_id;	/* ties the events of one socket together */
	uint64_t netns;		/* network namespace inode */
	uint64_t cgroup_id;	/* cgroup v2 id of the socket */
	uint32_t pid;		/* tgid, when known */
	uint32_t tid;
	struct kt_str comm;
	uint64_t duration_ns;	/* CLOSE/STATS: since open */
	uint64_t latency_ns;	/* OPEN/FAIL of a client: connect latency */
	uint64_t bytes_sent;
	uint64_t bytes_recv;
	uint32_t segs_out;
	uint32_t segs_in;
	uint32_t retrans;
	uint32_t srtt_us;
	int32_t err;		/* errno or sk_err, positive */
	uint32_t reason;	/* DROP: kernel skb drop reason */
	uint32_t count;		/* RETRANS/DROP/UDP_SEND: events folded here */
};

/* ---- proc: process and cgroup lineage (eBPF source and host facts) ------ */

enum kt_proc_kind {
	KT_PROC_EXEC = 0,
	KT_PROC_FORK,
	KT_PROC_EXIT,
	KT_PROC_CGROUP_MKDIR,
	KT_PROC_CGROUP_RMDIR,
	KT_PROC_SNAPSHOT,	/* a process found alive by the host facts walk */
	KT_PROC_CGROUP,		/* a pod's cgroup found by the cgroup tree walk */
	KT_PROC__KINDS
};

struct kt_proc {
	uint64_t ts;
	uint8_t kind;		/* enum kt_proc_kind */
	uint32_t pid;
	uint32_t ppid;		/* FORK: parent; EXEC: parent when known */
	uint64_t cgroup_id;
	uint64_t netns;
	int32_t exit_code;
	struct kt_str comm;
	struct kt_str path;	/* EXEC: filename; CGROUP*: the cgroup's path;
				 * SNAPSHOT: the process's cgroup v2 path */
	struct kt_str container_id; /* parsed from the cgroup path, when any */
	struct kt_str pod_uid;	    /* parsed from the cgroup path, when any */
	uint32_t hierarchy;	/* CGROUP_*: cgroup v1 hierarchy id; 0 is v2 */
};

/* ---- dns: one query and its answer (decoded from packets) -------------- */

#define KT_DNS_RCODE_NONE 0xffff	/* no answer seen */

struct kt_dns {
	uint64_t ts;		/* query sent */
	uint64_t latency_ns;	/* answer - query, 0 when unanswered */
	uint8_t proto;		/* IPPROTO_UDP or IPPROTO_TCP */
	uint8_t client[16];
	uint16_t client_port;
	uint8_t server[16];
	uint16_t server_port;
	uint16_t id;
	uint16_t qtype;		/* 1 A, 28 AAAA, 33 SRV, ... */
	uint16_t rcode;		/* 0 NOERROR, 3 NXDOMAIN, ...; KT_DNS_RCODE_NONE */
	struct kt_str qname;
	struct kt_str answers;	/* STRLIST: "TYPE DATA TTL" per answer */
	uint64_t netns;
	struct kt_str iface;
};

/* ---- conntrack: a NAT/conntrack entry (netlink source) ----------------- */

enum kt_ct_kind { KT_CT_NEW = 0, KT_CT_UPDATE, KT_CT_DESTROY, KT_CT_DUMP, KT_CT__KINDS };

struct kt_conntrack {
	uint64_t ts;
	uint8_t kind;		/* enum kt_ct_kind */
	uint8_t proto;
	uint8_t orig_src[16];
	uint8_t orig_dst[16];	/* e.g. the ClusterIP */
	uint16_t orig_sport;
	uint16_t orig_dport;
	uint8_t reply_src[16];	/* e.g. the backend pod that answered */
	uint8_t reply_dst[16];
	uint16_t reply_sport;
	uint16_t reply_dport;
	uint32_t status;	/* IPS_* bits */
	uint32_t mark;
	uint16_t zone;
	uint64_t netns;
	uint64_t packets_orig, bytes_orig, packets_reply, bytes_reply;
};

/* ---- conn: one connection rebuilt from packets (pcap import) ----------- */

enum kt_conn_outcome {
	KT_CONN_ESTABLISHED = 0, /* handshake seen (or data both ways) */
	KT_CONN_REFUSED,	/* SYN answered by RST */
	KT_CONN_UNANSWERED,	/* SYN(s), nothing back */
	KT_CONN_RESET,		/* established, then reset */
	KT_CONN_PARTIAL,	/* started before the capture: no handshake seen */
	KT_CONN_UDP,		/* a UDP flow */
	KT_CONN__MAX
};

struct kt_conn {
	uint64_t ts;		/* first packet */
	uint64_t duration_ns;
	uint8_t proto;
	uint8_t outcome;	/* enum kt_conn_outcome */
	uint8_t src[16];	/* the side that opened, or sent first */
	uint8_t dst[16];
	uint16_t sport;
	uint16_t dport;
	uint64_t packets_fwd, packets_rev;
	uint64_t bytes_fwd, bytes_rev;	/* frame lengths on the wire */
	uint32_t retrans;
	uint32_t rtt_us;	/* from the handshake, 0 when unknown */
	uint16_t capture;	/* index of the input file in the manifest */
	uint16_t vlan;
	uint32_t tunnel_vni;	/* VXLAN/Geneve VNI of the outer packet, if any */
	struct kt_str l7;	/* first HTTP request line, or empty */
};

extern const struct kt_schema kt_flow_schema;
extern const struct kt_schema kt_proc_schema;
extern const struct kt_schema kt_dns_schema;
extern const struct kt_schema kt_conntrack_schema;
extern const struct kt_schema kt_conn_schema;

/* ---- addresses ---------------------------------------------------------- */

void kt_ip_from_v4(uint8_t out[16], uint32_t be_addr);	/* network order */
void kt_ip_from_v6(uint8_t out[16], const void *in6);
bool kt_ip_is_v4(const uint8_t ip[16]);
bool kt_ip_is_unset(const uint8_t ip[16]);
/* Text form (dotted quad for mapped IPv4), into buf of at least 46 bytes. */
const char *kt_ip_str(const uint8_t ip[16], char *buf, size_t len);
/* Parse text into 16 bytes; returns 0 or -EINVAL. */
int kt_ip_parse(uint8_t out[16], const char *s);

#endif
