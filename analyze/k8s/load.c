/* load.c - every shape a Kubernetes dump comes in.
 *
 * A buffer holds one or more JSON documents back to back (kubectl prints
 * watch events and `cluster-info dump` Lists that way; JSON lines are the
 * same thing). Each document is one of:
 *
 *   {"kind": "PodList", "items": [...] | null}     kubectl get -o json
 *   [{...}, {...}]                                 sonobuoy, some tools
 *   {"kind": "Pod", "metadata": {...}}             kubectl get NAME -o json
 *   {"type": "ADDED", "object": {...}}             --output-watch-events
 *   {"ts_ns": N, "type": ..., "object": {...}}     ktcap watch lines
 *   {"kind": "PodList", "ktcap": {...}, ...}       ktcap snapshot files
 *
 * Anything else that is valid JSON (a manifest, `kubectl version` output) is
 * skipped. `cluster-info dump` interleaves pod logs framed by
 * "==== START logs for ..." / "==== END logs for ..." lines: those are
 * skipped too. See formats/SPEC-k8s.md for the ktcap layout.
 */
#include "index.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"
#include "error.h"

struct load {
	struct kt_k8s_index *idx;
	const char *name;
	char hint[64];		/* kind guessed from the file name */
	uint64_t t;
	uint64_t *nobjects;
};

/* The kind a file name suggests: sonobuoy "core_v1_pods.json",
 * troubleshoot "pods/default.json", "pods__crashloop.json", "nodes.json". */
void kt_k8s_kind_hint(const char *name, char *out, size_t len)
{
	const char *base = strrchr(name, '/'), *dir = NULL, *p;
	char word[64];
	size_t n;

	out[0] = 0;
	base = base ? base + 1 : name;
	if (base != name) {
		for (dir = base - 1; dir > name && dir[-1] != '/'; dir--)
			;
	}
	n = strcspn(base, ".");
	p = strstr(base, "__");
	if (p && (size_t)(p - base) < n)
		n = p - base;
	if (n >= sizeof(word))
		n = sizeof(word) - 1;
	memcpy(word, base, n);
	word[n] = 0;
	p = strrchr(word, '_');
	if (kt_k8s_kind_parse(p ? p + 1 : word) != KT_K8S_OTHER) {
		snprintf(out, len, "%s", kt_k8s_kind_name(kt_k8s_kind_parse(p ? p + 1 : word)));
		return;
	}
	if (dir) {
		n = (size_t)(base - 1 - dir);
		if (n >= sizeof(word))
			n = sizeof(word) - 1;
		memcpy(word, dir, n);
		word[n] = 0;
		if (kt_k8s_kind_parse(word) != KT_K8S_OTHER)
			snprintf(out, len, "%s", kt_k8s_kind_name(kt_k8s_kind_parse(word)));
	}
}

static enum kt_k8s_op watch_op(const char *type)
{
	if (strcmp(type, "ADDED") == 0)
		return KT_K8S_ADDED;
	if (strcmp(type, "MODIFIED") == 0)
		return KT_K8S_MODIFIED;
	if (strcmp(type, "DELETED") == 0)
		return KT_K8S_DELETED;
	return KT_K8S_SEEN;	/* BOOKMARK, ERROR: not an object change */
}

static int add_one(struct load *ld, const json_t *obj, const char *hint,
		   uint64_t t, enum kt_k8s_op op, int snap, size_t item)
{
	int err = kt_k8s_index_add(ld->idx, obj, hint, t, op, snap);

	if (err < 0)
		return kt_err_wrap(err, "%s: item %zu", ld->name, item);
	if (ld->nobjects)
		(*ld->nobjects)++;
	return 0;
}

/* A ktcap snapshot file says when it was taken and what it covers. */
static int snapshot_of(struct load *ld, const json_t *kc, const char *kind,
		       uint64_t *t, int *snap)
{
	const json_t *ts = json_object_get(kc, "taken_ns");
	const json_t *seq = json_object_get(kc, "snapshot");
	enum kt_k8s_kind k = kt_k8s_kind_parse(kind);
	const struct kt_pvec *pv;
	const char *key;
	char num[32];
	int id;

	if (json_is_string(json_object_get(kc, "kind")))
		k = kt_k8s_kind_parse(json_string_value(json_object_get(kc, "kind")));
	if (!json_is_integer(ts) || json_integer_value(ts) <= 0 ||
	    !json_is_integer(seq) || k == KT_K8S_OTHER)
		return 0;
	*t = (uint64_t)json_integer_value(ts);
	/* One kubectl call is one snapshot scope, whatever number files of
	 * several recordings (an imported bundle's tree) carry. */
	snprintf(num, sizeof(num), "%lld/%lld", (long long)json_integer_value(seq),
		 (long long)json_integer_value(ts));
	key = kt_k8s_key3(ld->idx, "snap", num, kt_k8s_kind_name(k), true);
	if (!key)
		return -ENOMEM;
	pv = kt_pmap_get(&ld->idx->snap_by_key, key);
	if (pv) {
		*snap = (int)(intptr_t)pv->v[0];
		return 0;
	}
	id = kt_k8s_index_snapshot(ld->idx, *t, k,
			json_string_value(json_object_get(kc, "namespace")),
			json_string_value(json_object_get(kc, "node")));
	if (id < 0)
		return id;
	*snap = id;
	return kt_pmap_add(&ld->idx->snap_by_key, key, (void *)(intptr_t)id);
}

static int load_doc(struct load *ld, const json_t *doc)
{
	const json_t *items = json_object_get(doc, "items");
	const json_t *type = json_object_get(doc, "type");
	const json_t *object = json_object_get(doc, "object");
	const char *kind = json_string_value(json_object_get(doc, "kind"));
	char hint[64];
	uint64_t t = ld->t;
	int snap = 0, err = 0;

	if (json_is_array(doc)) {
		for (size_t i = 0; i < json_array_size(doc) && !err; i++)
			if (json_is_object(json_array_get(doc, i)))
				err = add_one(ld, json_array_get(doc, i), ld->hint, t,
					      KT_K8S_SEEN, 0, i);
		return err;
	}
	if (!json_is_object(doc))
		return 0;
	if (json_is_string(type) && json_is_object(object)) {
		const json_t *ts = json_object_get(doc, "ts_ns");

		if (json_is_integer(ts) && json_integer_value(ts) > 0)
			t = (uint64_t)json_integer_value(ts);
		if (watch_op(json_string_value(type)) == KT_K8S_SEEN)
			return 0;
		return add_one(ld, object, ld->hint, t,
			       watch_op(json_string_value(type)), 0, 0);
	}
	if (items || (kind && strlen(kind) > 4 &&
		      strcmp(kind + strlen(kind) - 4, "List") == 0)) {
		/* Items of a typed List may omit their kind. */
		if (kind && strcmp(kind, "List") != 0) {
			snprintf(hint, sizeof(hint), "%.*s", (int)(strlen(kind) - 4), kind);
		} else {
			snprintf(hint, sizeof(hint), "%s", ld->hint);
		}
		if (json_is_object(json_object_get(doc, "ktcap")) &&
		    (err = snapshot_of(ld, json_object_get(doc, "ktcap"), hint, &t,
				       &snap)) < 0)
			return err;
		for (size_t i = 0; i < json_array_size(items) && !err; i++)
			if (json_is_object(json_array_get(items, i)))
				err = add_one(ld, json_array_get(items, i), hint, t,
					      KT_K8S_SEEN, snap, i);
		return err;
	}
	if (json_is_object(json_object_get(doc, "metadata")) && (kind || ld->hint[0]))
		return add_one(ld, doc, ld->hint, t, KT_K8S_SEEN, 0, 0);
	return 0;
}

static size_t skip_space(const char *d, size_t len, size_t pos)
{
	while (pos < len && (d[pos] == ' ' || d[pos] == '\n' || d[pos] == '\r' ||
			     d[pos] == '\t'))
		pos++;
	return pos;
}

/* After "==== START logs for ...": the position after the matching END line,
 * or len. */
static size_t skip_logs(const char *d, size_t len, size_t pos)
{
	static const char end[] = "==== END logs for";

	while (pos < len) {
		const char *nl = memchr(d + pos, '\n', len - pos);
		size_t next = nl ? (size_t)(nl - d) + 1 : len;

		if (next - pos >= sizeof(end) - 1 &&
		    memcmp(d + pos, end, sizeof(end) - 1) == 0)
			return next;
		pos = next;
	}
	return len;
}

int kt_k8s_docs(const char *data, size_t len, const char *name,
		kt_k8s_doc_fn cb, void *arg)
{
	static const char start[] = "==== START logs for";
	size_t pos = 0;
	int err = 0;

	if (!name)
		name = "<buffer>";
	for (;;) {
		json_error_t jerr;
		json_t *doc;

		pos = skip_space(data, len, pos);
		if (pos == len)
			break;
		if (len - pos >= sizeof(start) - 1 &&
		    memcmp(data + pos, start, sizeof(start) - 1) == 0) {
			pos = skip_logs(data, len, pos);
			continue;
		}
		doc = json_loadb(data + pos, len - pos,
				 JSON_DISABLE_EOF_CHECK | JSON_DECODE_ANY, &jerr);
		if (!doc) {
			err = kt_err_set(-EPROTO, "%s: invalid JSON at byte %zu: %s",
					 name, pos + (size_t)jerr.position, jerr.text);
			goto out;
		}
		/* jansson reports how far it read; never trust a zero step. */
		if (jerr.position <= 0) {
			json_decref(doc);
			err = kt_err_set(-EPROTO, "%s: no progress at byte %zu",
					 name, pos);
			goto out;
		}
		pos += (size_t)jerr.position;
		err = cb(arg, doc);
		json_decref(doc);
		if (err < 0)
			goto out;
	}
out:
	return err;
}

static int load_doc_cb(void *arg, json_t *doc)
{
	return load_doc(arg, doc);
}

int kt_k8s_index_load_buffer(struct kt_k8s_index *idx, const char *data,
			     size_t len, const char *name, uint64_t t,
			     uint64_t *nobjects)
{
	struct load ld = { .idx = idx, .name = name ? name : "<buffer>", .t = t,
			   .nobjects = nobjects };

	kt_k8s_kind_hint(ld.name, ld.hint, sizeof(ld.hint));
	return kt_k8s_docs(data, len, ld.name, load_doc_cb, &ld);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int load_file(struct kt_k8s_index *idx, const char *path, uint64_t t,
		     uint64_t *nobjects)
{
	char *buf;
	size_t len;
	int err = kt_read_file(path, KT_K8S_FILE_MAX, &buf, &len);

	if (err)
		return err;
	err = kt_k8s_index_load_buffer(idx, buf, len, path, t, nobjects);
	free(buf);
	return err;
}

static int load_dir(struct kt_k8s_index *idx, const char *path, uint64_t t,
		    uint64_t *nobjects, int depth)
{
	struct dirent **ents = NULL;
	int n, err = 0;

	if (depth > KT_K8S_DEPTH_MAX)
		return kt_err_set(-ELOOP, "'%s': more than %d directory levels",
				  path, KT_K8S_DEPTH_MAX);
	n = scandir(path, &ents, NULL, alphasort);
	if (n < 0)
		return kt_err_set(-errno, "cannot read directory '%s': %s", path,
				  strerror(errno));
	for (int i = 0; i < n; i++) {
		const char *e = ents[i]->d_name;
		char *child;
		struct stat st;

		if (err < 0 || e[0] == '.')
			continue;
		if (asprintf(&child, "%s/%s", path, e) < 0) {
			err = -ENOMEM;
			continue;
		}
		/* Symbolic links are not followed: a dump tree has none, and
		 * following them could loop or leave the tree. */
		if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
			err = load_dir(idx, child, t, nobjects, depth + 1);
		else if (S_ISREG(st.st_mode) &&
			 (ends_with(e, ".json") || ends_with(e, ".jsonl")))
			err = load_file(idx, child, t, nobjects);
		free(child);
	}
	for (int i = 0; i < n; i++)
		free(ents[i]);
	free(ents);
	return err;
}

int kt_k8s_index_load_path(struct kt_k8s_index *idx, const char *path,
			   uint64_t t, uint64_t *nobjects)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return kt_err_set(-errno, "cannot open '%s': %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return load_dir(idx, path, t, nobjects, 0);
	if (ends_with(path, ".yaml") || ends_with(path, ".yml"))
		return kt_err_set(-EPROTONOSUPPORT,
				  "'%s': YAML dumps are not read, dump with 'kubectl get -o json'",
				  path);
	return load_file(idx, path, t, nobjects);
}

int kt_k8s_index_feed_entry(struct kt_k8s_index *idx, const char *relpath,
			    const char *data, size_t len)
{
	if (strncmp(relpath, "k8s/", 4) != 0 ||
	    !(ends_with(relpath, ".json") || ends_with(relpath, ".jsonl")))
		return 0;
	return kt_k8s_index_load_buffer(idx, data, len, relpath, 0, NULL);
}
