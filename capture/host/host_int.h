/* host_int.h - what the host facts files share; not installed. */
#ifndef KT_HOST_INT_H
#define KT_HOST_INT_H

#include <jansson.h>
#include <libmnl/libmnl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "host.h"

/* socket inode -> pid, filled from /proc/PID/fd while walking processes, so
 * a listening socket found by sock_diag names its server. Fixed capacity:
 * inserts past it are dropped (and counted). */
struct kt_sockmap {
	uint64_t *ino;
	uint32_t *pid;
	size_t cap;		/* power of two */
	size_t n;
	uint64_t dropped;
};

int kt_sockmap_init(struct kt_sockmap *m, size_t cap);
void kt_sockmap_put(struct kt_sockmap *m, uint64_t ino, uint32_t pid);
uint32_t kt_sockmap_get(const struct kt_sockmap *m, uint64_t ino);
void kt_sockmap_release(struct kt_sockmap *m);

/* Network namespaces to visit: inode -> a path that opens it. */
struct kt_netns_ref {
	uint64_t ino;
	char path[4096];	/* /proc/PID/ns/net or a bind mount */
	json_t *names;		/* array: bind mount paths naming it */
	uint32_t pid;		/* a process inside, 0 when none */
	uint32_t nprocs;
};

struct kt_netns_set {
	struct kt_netns_ref *v;
	size_t n, cap;
};

struct kt_netns_ref *kt_netns_set_add(struct kt_netns_set *s, uint64_t ino);
void kt_netns_set_release(struct kt_netns_set *s);

/* procs.c: the "processes" document; fills sockets and netns on the way. */
int kt_host_procs(json_t **out, const struct kt_host_opts *o, struct kt_sockmap *socks,
		  struct kt_netns_set *nss);

/* netns.c: named namespaces, and the per-netns netlink walk. */
void kt_host_named_netns(const struct kt_host_opts *o, struct kt_netns_set *nss,
			 json_t *errors);
int kt_host_netns(const struct kt_host_opts *o, struct kt_netns_set *nss,
		  const struct kt_sockmap *socks, json_t *netns_doc, json_t *sockets_doc,
		  json_t *conntrack_doc);

/* nl_dump.c: send one NLM_F_DUMP request of 'type' carrying 'extra', run
 * the replies through 'cb'. 0, or a negative errno with kt_err_set() naming
 * 'what'. */
int kt_nl_dump(struct mnl_socket *nl, uint16_t type, const void *extra, size_t extra_len,
	       mnl_cb_t cb, void *data, const char *what);

/* rtnl.c, diag.c, conntrack.c: the calling thread's current netns (netns.c
 * enters each in turn). Each appends to its array and returns 0 or a
 * negative errno with kt_err_set(). */
int kt_host_links(json_t *links);
int kt_host_sockets(const struct kt_sockmap *socks, uint32_t max, json_t *sockets,
		    bool *truncated);
int kt_host_conntrack(uint32_t max, json_t *entries, bool *truncated);

/* node.c */
int kt_host_node(json_t **out, const struct kt_host_opts *o);

/* "1.2.3.4" or "::1" from raw bytes of family af: a new reference (json
 * null when af is unknown). */
json_t *kt_host_ip_json(int af, const void *addr);

/* One KT_PROC_CGROUP record per pod or container cgroup under the cgroup v2
 * mount cg2, stamped ts; *count gets how many (cgroup_walk.c). */
int kt_host_cgroup_walk(struct kt_spool *sp, const char *cg2, uint64_t ts, uint64_t *count);

#endif
