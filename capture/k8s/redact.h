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
 *
 * kubectl's own messages (its stderr, kept in the manifest and
 * k8s/errors.jsonl when a call fails, and what a parser quotes of its
 * output or of an imported dump) can echo a token, a password, a server
 * URL with credentials or object content; every one goes through
 * kt_k8s_scrub_line() first, with or without no_redact.
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
	uint64_t kubectl_messages_scrubbed;	/* kubectl messages that held a secret */
};

/* Redact doc in place: a List, an array, a watch event or one object, at any
 * depth. kind_hint names the kind of kind-less items (the List's kind is
 * used first). Returns true when the whole document must be dropped (it is a
 * Secret, or a watch event carrying one). */
bool kt_k8s_redact(json_t *doc, const char *kind_hint, bool no_redact,
		   struct kt_k8s_redaction *r);

/* The bytes of a line kt_k8s_scrub_line() looks at; past them the line is
 * cut (kproc keeps 4096 bytes of stderr). */
#define KT_K8S_SCRUB_IN_MAX 4096

/* Copy the text in[0, len) (a kubectl message: any bytes, NUL included)
 * into out as one readable line that holds no credential: each secret
 * becomes KT_K8S_REDACTED, and control characters (newlines included),
 * bytes that are not UTF-8 and C1 controls become '?'. Replaced:
 *   - the value after a key named like token, password, passwd, secret,
 *     apikey, api-key, api_key, authorization, credential, cookie,
 *     private-key or client-key, or named auth or pwd, in key=value,
 *     key: value, "key":"value" (also with escaped quotes), --flag=value
 *     and --flag value forms, any case (after "key: " a phrase, an error
 *     chain "token: oauth2: ..." and an HTTP status are kept);
 *   - what follows "Bearer " and "Basic " (not an English word);
 *   - the user information of URLs: scheme://[redacted by ktcap]@host;
 *   - JWTs (eyJ... in three dotted parts) and bootstrap tokens
 *     (abcdef.0123456789abcdef);
 *   - runs of base64 or hex of 32 characters or more that look random
 *     (all hex; mixed case with digits; or letters and digits with no
 *     separator), which is how Secret data and tokens look;
 *   - the content of a data, stringData or binaryData object, and the
 *     "Invalid value" of a field named like the keys above, data or env.
 * Resource names, UIDs, HTTP status, host:port and the words of the
 * message are kept. out gets at most out_size bytes with the NUL and whole
 * UTF-8 sequences and markers only; out_size must be at least 1.
 * Returns the number of secrets replaced (0: the line held none). The
 * rules in full: formats/SPEC-k8s.md, "Redaction". */
unsigned kt_k8s_scrub_line(const char *in, size_t len, char *out, size_t out_size);

/* Add b's counts to a. */
void kt_k8s_redaction_add(struct kt_k8s_redaction *a,
			  const struct kt_k8s_redaction *b);

/* The counts and the rules applied, as a new JSON object for the manifest. */
json_t *kt_k8s_redaction_json(const struct kt_k8s_redaction *r, bool no_redact);

#endif
