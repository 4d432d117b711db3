/* evidence.c - the packets behind an edge. The pcap source (docs/pcap.md)
 * writes one line per fragment to pcap/fragments.jsonl and lists the first
 * ones in the manifest, under sources.pcap.fragments (see docs/report.md,
 * "Evidence"):
 *
 *   {"file": "pcap/frag-000003.pcapng", "reasons": ["refused"],
 *    "flow": {"proto": "tcp", "src": "198.18.0.16", "sport": 44413,
 *             "dst": "198.18.0.15", "dport": 9002},
 *    "start_ns": N, "end_ns": N, "packets": 4, "complete": true}
 *
 * (the 5-tuple and a "reason" string at the top level are read too). A
 * fragment belongs to an edge of the same protocol and port whose source
 * or destination is what one of its addresses was attributed to (at any
 * level: the pod, its workload, namespace or node; a ClusterIP's service;
 * an external's address); a fragment of a host pair (ports 0) to every
 * edge between them. Both files are untrusted like the rest of the bundle:
 * only their strings and integers are used, escaped on output. */
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "error.h"
#include "k8s.h"

#define FRAGMENTS_MAX 100000u
#define FRAGMENTS_FILE_MAX (64u << 20)
#define FRAGMENTS_FILE "pcap/fragments.jsonl"

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

/* Does address a stand for entity ea and b for eb? An address the bundle
 * does not attribute at all matches anything, as long as the other one is
 * attributed and matches. */
static bool ends(const json_t *cands, const char *a, const char *ea, const char *b,
		 const char *eb)
{
	char c[64];
	uint8_t ip[16];
	bool ka = a && !kt_k8s_ip_parse(a, ip) && kt_k8s_ip_str(ip, c, sizeof(c)) &&
		  json_object_get(cands, c);
	bool kb = b && !kt_k8s_ip_parse(b, ip) && kt_k8s_ip_str(ip, c, sizeof(c)) &&
		  json_object_get(cands, c);

	if (!ka && !kb)
		return false;
	return (!ka || cand_has(cands, a, ea)) && (!kb || cand_has(cands, b, eb));
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

int kt_report_fragments(struct kt_bundle *b, json_t **out)
{
	const json_t *man = kt_bundle_manifest(b);
	const json_t *listed = json_object_get(json_object_get(json_object_get(man, "sources"),
								"pcap"), "fragments");
	const struct kt_entry *e;
	char *data = NULL;
	size_t len = 0;
	json_t *list;
	int n, err = 0;

	*out = NULL;
	if (!(list = json_array()))
		return kt_err_set(-ENOMEM, "out of memory");
	if ((err = kt_bundle_rewind(b)))
		goto out;
	while ((n = kt_bundle_next(b, &e)) == 1) {
		if (strcmp(e->path, FRAGMENTS_FILE))
			continue;
		if ((err = kt_bundle_read_all(b, FRAGMENTS_FILE_MAX, &data, &len)))
			goto out;
		for (const char *p = data; p < data + len && json_array_size(list) < FRAGMENTS_MAX;) {
			const char *nl = memchr(p, '\n', (size_t)(data + len - p));
			size_t l = nl ? (size_t)(nl - p) : (size_t)(data + len - p);
			json_t *f = json_loadb(p, l, 0, NULL);

			/* a line that is not an object is skipped, not fatal */
			if (json_is_object(f))
				json_array_append(list, f);
			json_decref(f);
			p += l + 1;
		}
		break;
	}
	if (n < 0) {
		err = n;
		goto out;
	}
	/* no index file (an older pcap source): the manifest's list */
	if (!data && json_is_array(listed))
		for (size_t i = 0; i < json_array_size(listed) && i < FRAGMENTS_MAX; i++)
			json_array_append(list, json_array_get(listed, i));
	*out = list;
	list = NULL;
out:
	free(data);
	json_decref(list);
	return err;
}

/* The fragment's 5-tuple: under "flow", or at the top level. */
static const json_t *tuple(const json_t *f)
{
	const json_t *t = json_object_get(f, "flow");

	return json_is_object(t) ? t : f;
}

int kt_report_evidence(const json_t *frags, const json_t *topo, const struct kt_model *m,
		       json_t **out)
{
	json_t *res = json_object(), *cands = json_object(), *byport = json_object();
	const json_t *e, *f;
	size_t i, j;
	int err = 0;

	*out = NULL;
	if (!res || !cands || !byport)
		goto nomem;
	if (!json_array_size(frags)) {
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
		const json_t *t = tuple(f);
		const char *file = json_string_value(json_object_get(f, "file"));
		const char *src = json_string_value(json_object_get(t, "src"));
		const char *dst = json_string_value(json_object_get(t, "dst"));
		const char *proto = proto_name(json_object_get(t, "proto"));
		bool pair = !json_integer_value(json_object_get(t, "sport")) &&
			    !json_integer_value(json_object_get(t, "dport"));
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
		for (int dir = 0; dir < (pair ? 1 : 2); dir++) {
			const json_t *cands_of;

			snprintf(k, sizeof(k), "%s/%" JSON_INTEGER_FORMAT, proto,
				 json_integer_value(json_object_get(t, dir ? "sport" : "dport")));
			cands_of = pair ? json_object_get(topo, "edges") : json_object_get(byport, k);
			json_array_foreach(cands_of, j, idx) {
				size_t ei = pair ? j : (size_t)json_integer_value(idx);
				const json_t *ed = json_array_get(json_object_get(topo, "edges"), ei);
				const char *es = json_string_value(json_object_get(ed, "src"));
				const char *edst = json_string_value(json_object_get(ed, "dst"));
				const char *ep = json_string_value(json_object_get(ed, "protocol"));
				/* dir 1: the fragment seen from the server's side */
				bool hit = (!ep || !strcmp(ep, proto)) &&
					   (dir ? ends(cands, dst, es, src, edst) :
						  ends(cands, src, es, dst, edst) ||
						  (pair && ends(cands, dst, es, src, edst)));
				char ek[32];
				json_t *a;

				if (!hit)
					continue;
				snprintf(ek, sizeof(ek), "%zu", ei);
				if (!fo) {
					if (!(fo = json_deep_copy(f)) ||
					    json_object_set_new(fo, "copy", json_string(copy)))
						goto nomem_fo;
				}
				if (!(a = json_object_get(res, ek)) &&
				    (!(a = json_array()) || json_object_set_new(res, ek, a)))
					goto nomem_fo;
				/* found from both ports: once */
				if (json_array_size(a) && json_array_get(a, json_array_size(a) - 1) == fo)
					continue;
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
