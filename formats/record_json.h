/* record_json.h - any record as a JSON object, driven by its schema: what
 * `ktana dump` prints. Timestamps become RFC 3339 strings (with the number
 * beside them as NAME_ns), addresses text, enums their names. */
#ifndef KT_RECORD_JSON_H
#define KT_RECORD_JSON_H

#include <jansson.h>

#include "schema.h"

/* A new object (caller owns the reference), NULL on allocation failure. */
json_t *kt_record_to_json(const struct kt_schema *s, const void *rec);

/* A JSON string from bytes that may not be UTF-8: invalid bytes become
 * U+FFFD. New reference. */
json_t *kt_json_bytes(const char *p, size_t len);

#endif
