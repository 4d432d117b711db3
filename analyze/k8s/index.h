/* index.h - the insides of struct kt_k8s_index, shared by the files of
 * ktk8s. Not installed. */
#ifndef KT_K8S_INDEX_H
#define KT_K8S_INDEX_H

#include "k8s.h"
#include "store.h"

struct kt_k8s_obs {
	uint64_t t;
	const struct kt_k8s_object *data;	/* extracted, in the arena */
	uint8_t op;				/* enum kt_k8s_op */
	int snap;
};

/* One object identity: a uid, or kind/ns/name when the dump has no uid. */
struct kt_k8s_rec {
	enum kt_k8s_kind kind;
	const char *key, *kind_name, *ns, *name, *uid;
	struct kt_k8s_obs *obs;
	uint32_t nobs, cobs;
	struct kt_k8s_object **vers;	/* after finish, by from_ns */
	uint32_t nvers;
};

struct kt_k8s_snap {
	uint64_t t;
	enum kt_k8s_kind kind;
	const char *ns, *node, *key;
};

struct kt_k8s_index {
	struct kt_arena arena;
	struct kt_intern in;
	struct kt_pmap by_key;		/* rec key -> rec */
	struct kt_pvec recs;
	struct kt_k8s_snap *snaps;
	uint32_t nsnaps, csnaps;
	struct kt_pmap snap_by_key;	/* "seq/kind" of bundle files -> id */
	bool finished;
	uint64_t nobs, first_ns, last_ns, nvers;
	/* built by finish */
	struct kt_pmap by_name;		/* "Kind/ns/name" -> recs */
	struct kt_pmap by_uid;		/* uid -> recs */
	struct kt_ipmap pod_ip;		/* ip -> versions */
	struct kt_ipmap svc_ip;
	struct kt_ipmap node_ip;
	struct kt_pmap by_cid;		/* container id -> versions */
	struct kt_pmap ep_by_svc;	/* "ns/service" -> recs */
	struct kt_pmap ev_by_obj;	/* "Kind/ns/name" -> recs */
	struct kt_pvec per_kind[KT_K8S__MAX];	/* recs by ns, name */
};

/* Turn one JSON object into a kt_k8s_object in the arena (extract.c). */
int kt_k8s_extract(struct kt_k8s_index *idx, const json_t *obj,
		   const char *kind_hint, struct kt_k8s_object **out);

/* Interned "a/b/c" (b may be NULL: written as empty). */
const char *kt_k8s_key3(struct kt_k8s_index *idx, const char *a,
			const char *b, const char *c, bool insert);

/* Canonical text of an IP, interned, or NULL when s is not an IP. */
const char *kt_k8s_ip_intern(struct kt_k8s_index *idx, const char *s);

#endif
