/* redact.c - see redact.h. The walk is generic (any depth, any shape) so a
 * pod template inside a CronJob, a watch event or a List of Lists is covered
 * by the same rules as a bare Pod. */
#include "redact.h"

#include <string.h>
#include <strings.h>

#define DEPTH_MAX 128	/* deeper input is cut, not walked */
#define SCRUB_RULE "kubectl messages: tokens, passwords, URL credentials, " \
	"keys and object data replaced"

static bool is_secret_kind(const char *kind)
{
	return kind && (strcmp(kind, "Secret") == 0 || strcmp(kind, "SecretList") == 0);
}

static bool sensitive_name(const char *name)
{
	static const char *const words[] = { "token", "password", "passwd",
					     "secret", "key", "credential" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasestr(name, words[i]))
			return true;
	return false;
}

static void redact_metadata(json_t *md, bool no_redact, struct kt_k8s_redaction *r)
{
	json_t *ann = json_object_get(md, "annotations");
	const char *k;
	json_t *v;

	if (no_redact)
		return;
	if (json_object_get(md, "managedFields")) {
		json_object_del(md, "managedFields");
		r->managed_fields_dropped++;
	}
	if (!json_is_object(ann))
		return;
	if (json_object_get(ann, "kubectl.kubernetes.io/last-applied-configuration")) {
		json_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
		r->last_applied_dropped++;
	}
	json_object_foreach(ann, k, v) {
		if (sensitive_name(k) && !(json_is_string(v) &&
		    strcmp(json_string_value(v), KT_K8S_REDACTED) == 0)) {
			json_object_set_new(ann, k, json_string(KT_K8S_REDACTED));
			r->annotations_redacted++;
		}
	}
}

static void redact_env(json_t *env, struct kt_k8s_redaction *r)
{
	size_t i;
	json_t *e;

	json_array_foreach(env, i, e) {
		if (json_is_object(e) && json_object_get(e, "value")) {
			json_object_set_new(e, "value", json_string(KT_K8S_REDACTED));
			r->env_values_redacted++;
		}
	}
}

static bool walk(json_t *j, const char *hint, bool no_redact,
		 struct kt_k8s_redaction *r, int depth);

/* Arrays: drop the elements that are Secrets, walk the others. */
static void walk_array(json_t *a, const char *hint, bool no_redact,
		       struct kt_k8s_redaction *r, int depth)
{
	for (size_t i = 0; i < json_array_size(a);) {
		if (walk(json_array_get(a, i), hint, no_redact, r, depth + 1))
			json_array_remove(a, i);
		else
			i++;
	}
}

static bool walk(json_t *j, const char *hint, bool no_redact,
		 struct kt_k8s_redaction *r, int depth)
{
	const char *kind, *k;
	char item_kind[128];
	json_t *v;
	void *tmp;

	if (depth > DEPTH_MAX) {
		/* Nothing legitimate nests this deep; cut it rather than walk. */
		if (json_is_object(j))
			json_object_clear(j);
		else if (json_is_array(j))
			json_array_clear(j);
		return false;
	}
	if (json_is_array(j)) {
		walk_array(j, hint, no_redact, r, depth);
		return false;
	}
	if (!json_is_object(j))
		return false;
	kind = json_string_value(json_object_get(j, "kind"));
	if (!kind && json_is_object(json_object_get(j, "metadata")))
		kind = hint;
	if (is_secret_kind(kind)) {
		r->secrets_dropped++;
		return true;
	}
	/* A watch event's object decides for the whole event. */
	if (json_is_object(json_object_get(j, "object")) &&
	    json_is_string(json_object_get(j, "type")) &&
	    walk(json_object_get(j, "object"), hint, no_redact, r, depth + 1))
		return true;
	if (!no_redact && kind && strcmp(kind, "ConfigMap") == 0 &&
	    (json_object_get(j, "data") || json_object_get(j, "binaryData"))) {
		json_object_del(j, "data");
		json_object_del(j, "binaryData");
		r->configmap_data_dropped++;
	}
	if (json_is_object(json_object_get(j, "metadata")))
		redact_metadata(json_object_get(j, "metadata"), no_redact, r);
	/* Items of "PodList" are Pods even when they do not say so. */
	if (kind && strlen(kind) > 4 && strlen(kind) < sizeof(item_kind) &&
	    strcmp(kind + strlen(kind) - 4, "List") == 0 && strcmp(kind, "List") != 0)
		snprintf(item_kind, sizeof(item_kind), "%.*s",
			 (int)(strlen(kind) - 4), kind);
	else
		snprintf(item_kind, sizeof(item_kind), "%s", hint ? hint : "");
	json_object_foreach_safe(j, tmp, k, v) {
		if (strcmp(k, "object") == 0 && json_is_object(v) &&
		    json_is_string(json_object_get(j, "type")))
			continue;	/* walked above; anything else is walked here */
		if (!no_redact && strcmp(k, "env") == 0 && json_is_array(v))
			redact_env(v, r);	/* and walked below, as any array */
		if (strcmp(k, "items") == 0 && json_is_array(v)) {
			walk_array(v, item_kind[0] ? item_kind : NULL, no_redact, r, depth);
			continue;
		}
		/* A Secret wherever it sits goes, with its key. */
		if ((json_is_object(v) || json_is_array(v)) &&
		    walk(v, NULL, no_redact, r, depth + 1))
			json_object_del(j, k);
	}
	return false;
}

bool kt_k8s_redact(json_t *doc, const char *kind_hint, bool no_redact,
		   struct kt_k8s_redaction *r)
{
	return walk(doc, kind_hint, no_redact, r, 0);
}

void kt_k8s_redaction_add(struct kt_k8s_redaction *a,
			  const struct kt_k8s_redaction *b)
{
	a->secrets_dropped += b->secrets_dropped;
	a->configmap_data_dropped += b->configmap_data_dropped;
	a->env_values_redacted += b->env_values_redacted;
	a->annotations_redacted += b->annotations_redacted;
	a->last_applied_dropped += b->last_applied_dropped;
	a->managed_fields_dropped += b->managed_fields_dropped;
	a->kubectl_messages_scrubbed += b->kubectl_messages_scrubbed;
}

json_t *kt_k8s_redaction_json(const struct kt_k8s_redaction *r, bool no_redact)
{
	json_t *rules = no_redact ?
		json_pack("[s,s]", "secrets never requested, Secret objects dropped",
			  SCRUB_RULE) :
		json_pack("[s,s,s,s,s,s]",
			  "secrets never requested, Secret objects dropped", SCRUB_RULE,
			  "configmap data and binaryData dropped",
			  "container env values replaced, names kept",
			  "last-applied-configuration and managedFields dropped",
			  "annotations named like token, password, secret, key or "
			  "credential replaced");

	return json_pack("{s:b,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			 "enabled", !no_redact, "rules", rules,
			 "secrets_dropped", (json_int_t)r->secrets_dropped,
			 "configmap_data_dropped", (json_int_t)r->configmap_data_dropped,
			 "env_values_redacted", (json_int_t)r->env_values_redacted,
			 "annotations_redacted", (json_int_t)r->annotations_redacted,
			 "last_applied_dropped", (json_int_t)r->last_applied_dropped,
			 "managed_fields_dropped", (json_int_t)r->managed_fields_dropped,
			 "kubectl_messages_scrubbed",
			 (json_int_t)r->kubectl_messages_scrubbed);
}
