/* fuzz_stream.c - any bytes as a record segment, read three ways: with the
 * stream's own (generic) schema, as flow records, and as the record type its
 * header names; every block decoded, every record turned into JSON. Reads
 * come in short pieces so the reader's refilling is exercised too. */
#include "record_json.h"
#include "records.h"
#include "stream.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct mem {
	const uint8_t *p;
	size_t len, off;
};

static ssize_t mem_read(void *ctx, void *buf, size_t len)
{
	struct mem *m = ctx;
	size_t n = m->len - m->off;

	if (n > len)
		n = len;
	if (n > 1000)
		n = 1000;
	memcpy(buf, m->p + m->off, n);
	m->off += n;
	return (ssize_t)n;
}

/* Returns the record type the header names (a copy), or NULL. */
static char *read_all(const uint8_t *data, size_t size, const struct kt_schema *want)
{
	struct mem m = { data, size, 0 };
	struct kt_stream_reader *r = NULL;
	const void *recs;
	size_t n;
	char *name;

	if (kt_stream_reader_open(&r, mem_read, &m, want, "fuzz"))
		return NULL;
	while (!kt_stream_reader_next(r, &recs, &n) && n) {
		const struct kt_schema *s = kt_stream_reader_schema(r);

		for (size_t i = 0; i < n; i++) {
			json_t *j = kt_record_to_json(s, (const uint8_t *)recs + i * s->size);
			char *txt = json_dumps(j, JSON_COMPACT);

			free(txt);
			json_decref(j);
		}
	}
	(void)kt_stream_reader_good_offset(r);
	name = strdup(kt_stream_reader_name(r));
	kt_stream_reader_free(r);
	return name;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = read_all(data, size, NULL);
	const struct kt_schema *s = name ? kt_schema_find(name) : NULL;

	free(read_all(data, size, &kt_flow_schema));
	if (s && s != &kt_flow_schema)
		free(read_all(data, size, s));
	free(name);
	return 0;
}
