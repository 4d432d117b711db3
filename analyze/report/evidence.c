/* evidence.c - the packets behind an edge. The pcap source lists the
 * fragments it kept in the manifest, under sources.pcap.fragments (see
 * docs/report.md, "Evidence"):
 *
 *   {"file": "pcap/000001.pcapng", "proto": "tcp", "src": "198.18.0.16",
 *    "sport": 40312, "dst": "198.19.0.20", "dport": 80, "reason": "refused",
 *    "first_ns": N, "last_ns": N, "packets": N}
 *
 * A fragment belongs to an edge of the same protocol and port whose source
 * or destination is what one of its addresses was attributed to (at any
 * level: the pod, its workload, namespace or node; a ClusterIP's service;
 * an external's address). The manifest is untrusted like the rest: only
 * its strings and integers are used, and they are escaped on output. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "k8s.h"

#define FRAGMENTS_MAX 100000u

static int add_cand(json_t *cands, const char *ip, const char *id)
{
	json_t *a = json_object_get(cands, ip);

	if (!id || !*id)
		return 0;
	if (!a && (!(a = json_object()) || json_object_set_new(cands, ip, a)))
		return -ENOMEM;
	return json_object_set_new(a, id, json_true()) ? -ENOMEM : 0;
}

/* IP text -> {view id: true} for every entity with an address. */
static int candidates(const struct kt_model *m, json_t *cands)
{
	uint32_t n = 0;
	const struct kt_entity *ents = m ? kt_model_entities(m, &n) : NULL;
	char nsid[600], ipc[64];
	uint8_t ip[16];

	for (uint32_t i = 0; i < n; i++) {
		const struct kt_entity *e = &ents[i];

		if (!e->detail || kt_k8s_ip_parse(e->detail, ip))
			continue;
		kt_k8s_ip_str(ip, ipc, sizeof(ipc));	/* the fragment's form, canonical */
		if (add_cand(cands, ipc, e->id))
			return -ENOMEM;
		if (e->workload != KT_ENT_NONE && add_cand(cands, ipc, ents[e->workload].id))
			return -ENOMEM;
		if (e->node != KT_ENT_NONE && add_cand(cands, ipc, ents[e->node].id))
			return -ENOMEM;
		if (e->ns && *e->ns) {
			snprintf(nsid, sizeof(nsid), "namespace:%s", e->ns);
			if (add_cand(cands, ipc, nsid))
				return -ENOMEM;
		}
	}
	return 0;
}

static bool cand_has(const json_t *cands, const char *ip, const char *id)
{
	char c[64];
	uint8_t b[16];

	if (!ip || !id || kt_k8s_ip_parse(ip, b))
		return false;
	kt_k8s_ip_str(b, c, sizeof(c));
	return json_object_get(json_object_get(cands, c), id) != NULL;
}

static const char *proto_name(const json_t *p)
{
	if (json_is_string(p))
		return json_string_value(p);
	if (json_integer_value(p) == 6)
		return "tcp";
	if (json_integer_value(p) == 17)
		return "udp";
	return "";
}

int kt_report_evidence(const json_t *manifest, const json_t *topo, const struct kt_model *m,
		       json_t **out)
{
	const json_t *frags = json_object_get(json_object_get(json_object_get(manifest, "sources"),
							       "pcap"), "fragments");
	json_t *res = json_object(), *cands = json_object(), *byport = json_object();
	const json_t *e, *f;
	size_t i, j;
	int err = 0;

	*out = NULL;
	if (!res || !cands || !byport)
		goto nomem;
	if (!json_is_array(frags) || !json_array_size(frags)) {
		*out = res;
		res = NULL;
		goto out;
	}
	if (candidates(m, cands))
		goto nomem;
	json_array_foreach(json_object_get(topo, "edges"), i, e) {
		char k[64];
		json_t *a;

		snprintf(k, sizeof(k), "%s/%" JSON_INTEGER_FORMAT,
			 json_string_value(json_object_get(e, "protocol")),
			 json_integer_value(json_object_get(e, "port")));
		if (!(a = json_object_get(byport, k)) &&
		    (!(a = json_array()) || json_object_set_new(byport, k, a)))
			goto nomem;
		if (json_array_append_new(a, json_integer((json_int_t)i)))
			goto nomem;
	}
	json_array_foreach(frags, i, f) {
		const char *file = json_string_value(json_object_get(f, "file"));
		const char *src = json_string_value(json_object_get(f, "src"));
		const char *dst = json_string_value(json_object_get(f, "dst"));
		const char *proto = proto_name(json_object_get(f, "proto"));
		const json_t *idx;
		char k[64], base[120], copy[160];
		const char *slash;
		json_t *fo = NULL;

		if (i >= FRAGMENTS_MAX)
			break;
		if (!file || !json_is_object(f))
			continue;
		slash = strrchr(file, '/');
		kt_safe_filename(slash ? slash + 1 : file, base, sizeof(base));
		snprintf(copy, sizeof(copy), "%06zu-%s", i + 1, base);
		for (int dir = 0; dir < 2; dir++) {
			snprintf(k, sizeof(k), "%s/%" JSON_INTEGER_FORMAT, proto,
				 json_integer_value(json_object_get(f, dir ? "sport" : "dport")));
			json_array_foreach(json_object_get(byport, k), j, idx) {
				const json_t *ed = json_array_get(json_object_get(topo, "edges"),
								  (size_t)json_integer_value(idx));
				const char *es = json_string_value(json_object_get(ed, "src"));
				const char *edst = json_string_value(json_object_get(ed, "dst"));
				/* dir 1: the fragment seen from the server's side */
				bool hit = dir ? (cand_has(cands, dst, es) || cand_has(cands, src, edst))
					       : (cand_has(cands, src, es) || cand_has(cands, dst, edst));
				char ek[32];
				json_t *a;

				if (!hit)
					continue;
				snprintf(ek, sizeof(ek), "%" JSON_INTEGER_FORMAT, json_integer_value(idx));
				if (!fo) {
					if (!(fo = json_deep_copy(f)) ||
					    json_object_set_new(fo, "copy", json_string(copy)))
						goto nomem_fo;
				}
				if (!(a = json_object_get(res, ek)) &&
				    (!(a = json_array()) || json_object_set_new(res, ek, a)))
					goto nomem_fo;
				if (json_array_append(a, fo))
					goto nomem_fo;
			}
		}
		json_decref(fo);
		continue;
nomem_fo:
		json_decref(fo);
		goto nomem;
	}
	*out = res;
	res = NULL;
	goto out;
nomem:
	err = kt_err_set(-ENOMEM, "out of memory");
out:
	json_decref(res);
	json_decref(cands);
	json_decref(byport);
	return err;
}
