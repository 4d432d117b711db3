/* fuzz_k8s_redact.c - any bytes through the redaction capture applies to
 * kubectl output: it must not crash, and what it keeps must hold no Secret
 * object and (redacting) no ConfigMap data, env value or managedFields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"
#include "redact.h"

static void check(const json_t *j, int depth)
{
	const char *k, *kind;
	json_t *v;
	size_t i;

	if (depth > 200)
		return;
	if (json_is_array(j)) {
		json_array_foreach((json_t *)j, i, v)
			check(v, depth + 1);
		return;
	}
	if (!json_is_object(j))
		return;
	kind = json_string_value(json_object_get(j, "kind"));
	if (kind && (!strcmp(kind, "Secret") || !strcmp(kind, "SecretList")))
		abort();
	if (kind && !strcmp(kind, "ConfigMap") && json_object_get(j, "data"))
		abort();
	if (json_object_get(json_object_get(j, "metadata"), "managedFields"))
		abort();
	json_array_foreach(json_object_get(j, "env"), i, v)
		if (json_is_string(json_object_get(v, "value")) &&
		    strcmp(json_string_value(json_object_get(v, "value")), KT_K8S_REDACTED))
			abort();
	json_object_foreach((json_t *)j, k, v)
		check(v, depth + 1);
}

static int doc_cb(void *arg, json_t *doc)
{
	struct kt_k8s_redaction r = { 0 };

	(void)arg;
	if (!kt_k8s_redact(doc, "Pod", false, &r))
		check(doc, 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kt_k8s_docs((const char *)data, size, "fuzz.json", doc_cb, NULL);
	return 0;
}
