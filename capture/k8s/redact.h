/* redact.h - what never leaves the cluster in a ktcap bundle.
 *
 * Applied to every document kubectl prints and every imported dump before a
 * byte of it is written (formats/SPEC-k8s.md, "Redaction"):
 *   - Secret objects are dropped, always (even with --no-redact);
 *   - ConfigMap data and binaryData are dropped (metadata kept);
 *   - container env "value"s are replaced (names and valueFrom kept);
 *   - the last-applied-configuration annotation and managedFields are
 *     dropped;
 *   - annotations whose name says token, password, secret or key have their
 *     value replaced.
 * With no_redact only the first rule applies.
 */
#ifndef KT_K8S_REDACT_H
#define KT_K8S_REDACT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define KT_K8S_REDACTED "[redacted by ktcap]"

struct kt_k8s_redaction {
	uint64_t secrets_dropped;
	uint64_t configmap_data_dropped;	/* ConfigMaps whose data went */
	uint64_t env_values_redacted;
	uint64_t annotations_redacted;
	uint64_t last_applied_dropped;
	uint64_t managed_fields_dropped;
};

/* Redact doc in place: a List, an array, a watch event or one object, at any
 * depth. kind_hint names the kind of kind-less items (the List's kind is
 * used first). Returns true when the whole document must be dropped (it is a
 * Secret, or a watch event carrying one). */
bool kt_k8s_redact(json_t *doc, const char *kind_hint, bool no_redact,
		   struct kt_k8s_redaction *r);

/* Add b's counts to a. */
void kt_k8s_redaction_add(struct kt_k8s_redaction *a,
			  const struct kt_k8s_redaction *b);

/* The counts and the rules applied, as a new JSON object for the manifest. */
json_t *kt_k8s_redaction_json(const struct kt_k8s_redaction *r, bool no_redact);

#endif
