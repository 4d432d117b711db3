/* fuzz_bundle.c - any bytes as a bundle archive: open from memory and verify,
 * then rewind and walk every record segment as `ktana dump` does (through
 * kt_bundle_open_stream, block CRCs in place of the hash), turning each
 * record into JSON. Prints nothing; frees
 * everything, so LeakSanitizer sees any leak on an error path. */
#include "bundle.h"
#include "record_json.h"
#include "stream.h"
#include "verify.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

static void walk_records(struct kt_bundle *b, const struct kt_entry *e)
{
	/* the stream's own schema when the name is known, else the generic one */
	const struct kt_schema *want = kt_schema_find(e->stream);
	struct kt_stream_reader *r = NULL;
	const void *recs;
	size_t n;

	if (kt_bundle_open_stream(b, want, &r))
		return;
	while (!kt_stream_reader_next(r, &recs, &n) && n) {
		const struct kt_schema *s = kt_stream_reader_schema(r);

		for (size_t i = 0; i < n; i++) {
			json_t *j = kt_record_to_json(s, (const uint8_t *)recs + i * s->size);
			char *txt = json_dumps(j, JSON_COMPACT);

			free(txt);
			json_decref(j);
		}
	}
	kt_stream_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kt_bundle *b = NULL;
	struct kt_verify_stats st;
	const struct kt_entry *e;

	if (kt_bundle_open_memory(&b, data, size))
		return 0;
	(void)kt_verify(b, &st, NULL, NULL);
	if (!kt_bundle_rewind(b))
		while (kt_bundle_next(b, &e) == 1)
			if (e->kind == KT_ENTRY_RECORDS)
				walk_records(b, e);
	kt_bundle_close(b);
	return 0;
}
