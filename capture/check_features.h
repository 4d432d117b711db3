/* check_features.h - what each recording source needs, and whether this
 * node has it (`ktcap check`).
 *
 * Each item names one need, says ok / missing / warn, what was found, and a
 * one-line what-to-do. Checking mounts tracefs when it is missing (the one
 * change it makes to the node, and the one the bpf source would make
 * anyway), and loads nothing into the kernel besides libbpf's small feature
 * probes.
 */
#ifndef KT_CHECK_FEATURES_H
#define KT_CHECK_FEATURES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum kt_check_status { KT_CHECK_OK = 0, KT_CHECK_MISSING, KT_CHECK_WARN };

struct kt_check_item {
	char name[128];		/* "tracepoint sock/inet_sock_set_state" */
	char source[12];	/* "bpf", "host", "conntrack", "k8s", "pcap" */
	int status;		/* enum kt_check_status */
	char detail[160];	/* what was found */
	char fix[200];		/* what to do; empty when ok */
};

struct kt_check_list {
	struct kt_check_item *items;	/* owned; kt_check_list_release() */
	size_t n, cap;
};

/* Run every check into *list (which starts zeroed). Fails only on
 * allocation; a need that is not met is an item, not an error. */
int kt_check_features(struct kt_check_list *list);

void kt_check_list_release(struct kt_check_list *list);

/* Items with this status. */
size_t kt_check_count(const struct kt_check_list *list, enum kt_check_status st);

/* [{"name","source","status":"ok|missing|warn","detail","fix"}]. New
 * reference, NULL on allocation failure. */
json_t *kt_check_to_json(const struct kt_check_list *list);

const char *kt_check_status_name(int status);

/* Does this process have capability 'bit' (linux/capability.h) in effect? */
bool kt_has_cap(int bit);

/* Can this process load and attach eBPF tracing programs: CAP_SYS_ADMIN, or
 * CAP_BPF with CAP_PERFMON? */
bool kt_bpf_privileged(void);

#endif
