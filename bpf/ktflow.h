/* ktflow.h - events the ktflow eBPF program writes to its ring buffer.
 *
 * Shared by the kernel side (ktflow.bpf.c) and user space (capture/). Plain
 * __u8/__u16/__u32/__u64 members, each at its natural alignment with the
 * padding spelled out, so both compilers lay the structs out identically;
 * the _Static_asserts at the end pin the sizes.
 *
 * Every record starts with the same 8 bytes (type, size), so user space can
 * dispatch on 'type' and check that the ring buffer sample is at least
 * 'size' long before it reads anything else.
 *
 * Times are CLOCK_BOOTTIME nanoseconds (bpf_ktime_get_boot_ns): user space
 * adds the boot-to-UTC offset.
 */
#ifndef KT_KTFLOW_H
#define KT_KTFLOW_H

#ifndef __bpf__
#include <linux/types.h>	/* the kernel side has them from vmlinux.h */
#endif

#define KT_COMM_LEN 16
#define KT_PATH_LEN 256

enum kt_ev_type {
	KT_EV_FLOW = 1,		/* struct kt_ev_flow */
	KT_EV_PROC = 2,		/* struct kt_ev_proc */
};

/* Values of kt_ev_flow.kind, cause, role and closer are those of
 * formats/records.h (enum kt_flow_kind, ...), repeated here because the
 * kernel side cannot include user-space headers. check_bpf.c asserts that
 * the two agree. */
enum kt_ev_flow_kind {
	KT_EVK_OPEN = 0,
	KT_EVK_CLOSE,
	KT_EVK_FAIL,
	KT_EVK_STATS,
	KT_EVK_RETRANS,
	KT_EVK_RST_SENT,
	KT_EVK_RST_RECV,
	KT_EVK_DROP,
	KT_EVK_CONNECT,
	KT_EVK_ACCEPT,
	KT_EVK_UDP_SEND,
	KT_EVK_LISTEN,
};

enum kt_ev_cause {
	KT_EVC_NONE = 0,
	KT_EVC_REFUSED,
	KT_EVC_TIMEOUT,
	KT_EVC_UNREACHABLE,
	KT_EVC_RESET,
	KT_EVC_ERROR,
	KT_EVC_ABORTED,
};

enum kt_ev_role { KT_EVR_UNKNOWN = 0, KT_EVR_CLIENT, KT_EVR_SERVER };
enum kt_ev_closer { KT_EVL_UNKNOWN = 0, KT_EVL_LOCAL, KT_EVL_REMOTE };

/* Addresses are 16 bytes in network order: IPv4 as ::ffff:a.b.c.d, the form
 * formats/records.h uses. Ports are in host order. */
struct kt_ev_flow {
	__u32 type;		/* KT_EV_FLOW */
	__u32 size;		/* sizeof(struct kt_ev_flow) */
	__u64 ts;		/* boot time ns */
	__u64 sock_id;		/* generation number of the socket, never its address */
	__u64 netns;		/* network namespace inode */
	__u64 cgroup_id;	/* cgroup v2 id of the socket (or of the task) */
	__u64 duration_ns;
	__u64 latency_ns;
	__u64 bytes_sent;
	__u64 bytes_recv;
	__u8 saddr[16];
	__u8 daddr[16];
	__u8 orig_daddr[16];	/* what connect() asked for */
	__u32 pid;		/* tgid */
	__u32 tid;
	__u32 segs_out;
	__u32 segs_in;
	__u32 retrans;
	__u32 srtt_us;
	__s32 err;
	__u32 reason;
	__u32 count;
	__u16 sport;
	__u16 dport;
	__u16 orig_dport;
	__u8 kind;		/* enum kt_ev_flow_kind */
	__u8 proto;		/* IPPROTO_TCP, IPPROTO_UDP */
	__u8 role;
	__u8 cause;
	__u8 closer;
	__u8 __pad0;
	char comm[KT_COMM_LEN];
};

enum kt_ev_proc_kind {
	KT_EVP_EXEC = 0,	/* values of enum kt_proc_kind */
	KT_EVP_FORK,
	KT_EVP_EXIT,
	KT_EVP_CGROUP_MKDIR,
	KT_EVP_CGROUP_RMDIR,
};

struct kt_ev_proc {
	__u32 type;		/* KT_EV_PROC */
	__u32 size;		/* sizeof(struct kt_ev_proc) */
	__u64 ts;
	__u64 cgroup_id;	/* CGROUP_*: the new cgroup; else the task's v2 cgroup */
	__u64 netns;
	__u32 pid;
	__u32 ppid;
	__s32 exit_code;
	__s32 hierarchy;	/* CGROUP_*: hierarchy id (0 is cgroup v2) */
	__u8 kind;		/* enum kt_ev_proc_kind */
	__u8 __pad0[7];
	char comm[KT_COMM_LEN];
	char path[KT_PATH_LEN];	/* NUL-terminated, truncated */
};

/* Indexes of the per-CPU 'counters' array. */
enum kt_counter {
	KT_CNT_LOST_FLOW = 0,	/* ring buffer full: a flow event was not delivered */
	KT_CNT_LOST_PROC,	/* ring buffer full: a proc event was not delivered */
	KT_CNT_EVENTS,		/* events delivered */
	KT_CNT_FOLDED,		/* RETRANS/DROP/UDP events folded into a later one */
	KT_CNT_UNTRACKED,	/* socket events with no flow entry (before capture, or evicted) */
	KT_CNT_UNFOLDED,	/* folded events delivered inside a later one's count */
	KT_CNT_NESTED,		/* state changes kt_set_state_nested took because
				 * the kernel skipped kt_set_state for them (counted
				 * by the kernel as missed runs of kt_set_state) */
	KT_CNT_LATE_CLOSE,	/* closes no state change reported, sent when the
				 * socket was destroyed (kt_destroy_sock) */
	KT_CNT__MAX
};

_Static_assert(sizeof(struct kt_ev_flow) == 184, "kt_ev_flow layout");
_Static_assert(sizeof(struct kt_ev_proc) == 328, "kt_ev_proc layout");

#endif
