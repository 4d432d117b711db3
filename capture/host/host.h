/* host.h - host facts: what the node looked like at the start and the end.
 *
 * Flow events carry pids, cgroup ids and netns inodes; ktana needs to turn
 * them into containers and pods offline. The host facts are that map, taken
 * twice (start and end of a recording) from /proc, /sys/fs/cgroup and
 * netlink:
 *
 *   node        node name, kernel, boot id, clock offsets, cgroup layout
 *   processes   pid -> comm, cmdline, netns, cgroup paths (v1 and v2),
 *               container ID, runtime and pod UID parsed from those paths
 *   netns       every network namespace (of a process, or named under
 *               /run/netns, /run/docker/netns): interfaces and addresses
 *   sockets     TCP and UDP sockets per netns (sock_diag), with their pids
 *   conntrack   the conntrack table per netns (libnetfilter_conntrack)
 *
 * Spool layout: host/<phase>/{node,processes,netns,sockets,conntrack}.json
 * plus one struct kt_proc KT_PROC_SNAPSHOT record per process in the "proc"
 * stream. A part that cannot be read (no privilege, a netns gone) is
 * recorded in that document's "errors" array; the rest is still written.
 */
#ifndef KT_HOST_H
#define KT_HOST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spool.h"

/* ---- cgroup paths (pure; see cgroup_path.c for the shapes understood) --- */

enum kt_cg_runtime {
	KT_CG_RT_NONE = 0,
	KT_CG_RT_CONTAINERD,	/* cri-containerd-<id>.scope, or a bare id */
	KT_CG_RT_CRIO,		/* crio-<id>[.scope] */
	KT_CG_RT_DOCKER,	/* docker-<id>.scope, /docker/<id> */
	KT_CG_RT_PODMAN,	/* libpod-<id>.scope */
	KT_CG_RT_UNKNOWN,	/* a bare 64-hex id under a pod (cgroupfs driver) */
};

enum kt_cg_qos { KT_CG_QOS_NONE = 0, KT_CG_QOS_GUARANTEED, KT_CG_QOS_BURSTABLE,
		 KT_CG_QOS_BESTEFFORT };

struct kt_cgroup_info {
	char pod_uid[37];	/* lowercase, with dashes; "" when none */
	char container_id[65];	/* lowercase hex; "" when none */
	uint8_t runtime;	/* enum kt_cg_runtime */
	uint8_t qos;		/* enum kt_cg_qos */
	bool kubepods;		/* somewhere under kubelet's kubepods tree */
	bool monitor;		/* a runtime's monitor (conmon), not the container */
};

/* Parse a cgroup path (as in /proc/PID/cgroup) into what kubelet and the
 * container runtimes wrote into it. Never fails on odd paths: fields it
 * cannot find are left empty. Returns 0, or -EINVAL for a NULL argument or
 * a path longer than 4096 bytes. */
int kt_cgroup_parse(const char *path, struct kt_cgroup_info *out);

/* Static names ("containerd", "burstable", ...; "" for NONE). */
const char *kt_cg_runtime_name(enum kt_cg_runtime rt);
const char *kt_cg_qos_name(enum kt_cg_qos q);

/* One line of /proc/PID/cgroup: "ID:CONTROLLERS:PATH" (the path may itself
 * hold colons). Pointers go into 'line', which must be NUL-terminated and is
 * modified. Returns 0 or -EPROTO. */
int kt_cgroup_line_split(char *line, unsigned *hier, const char **controllers,
			 const char **path);

/* ---- collection --------------------------------------------------------- */

struct kt_host_opts {
	const char *proc_root;		/* default "/proc" */
	const char *node_name;		/* default: uname nodename */
	const char *const *netns_dirs;	/* NULL-terminated; default /run/netns,
					 * /var/run/netns, /run/docker/netns */
	uint32_t max_procs;		/* default 65536 */
	uint32_t max_sockets;		/* per netns, default 262144 */
	uint32_t max_conntrack;		/* per netns, default 262144 */
	bool no_netns;			/* only the caller's own netns */
};

/* Take the facts now. *out is a new object with the members "node",
 * "processes", "netns", "sockets", "conntrack" (each a JSON document as
 * written to the spool), owned by the caller (json_decref). Fails only when
 * nothing at all can be read (no /proc); partial failures are in the
 * documents' "errors". */
int kt_host_collect(json_t **out, const struct kt_host_opts *opts);

/* Write facts from kt_host_collect (borrowed) under host/<phase>/ and one
 * KT_PROC_SNAPSHOT record per process stamped ts (UTC ns), whose path is the
 * process's cgroup v2 path (what its cgroup_id names). */
int kt_host_write(struct kt_spool *sp, const char *phase, json_t *facts, uint64_t ts);

/* The recording source "host" (capture/source.h): facts at start and stop. */
struct kt_source_ops;
extern const struct kt_source_ops kt_host_source;

#endif
