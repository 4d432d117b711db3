/* fuzz_stream.c - any bytes as a record segment, read three ways: with the
 * stream's own (generic) schema, as flow records, and as the record type its
 * header names; every block decoded, every record turned into JSON. Reads
 * come in short pieces so the reader's refilling is exercised too. Then as
 * flow records again, a few fields only, a few records at a time with whole
 * blocks in between, as the model reads them. */
#include "record_json.h"
#include "records.h"
#include "stream.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
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

static void read_pieces(const uint8_t *data, size_t size)
{
	static const char *const fields[] = { "ts", "kind", "saddr", "dport", "comm", "pid", NULL };
	struct mem m = { data, size, 0 };
	struct kt_stream_reader *r = NULL;
	const void *recs;
	size_t n, max = size ? 1 + data[size - 1] % 97 : 1;
	uint64_t sum = 0;

	if (kt_stream_reader_open(&r, mem_read, &m, &kt_flow_schema, "fuzz"))
		return;
	if (!kt_stream_reader_project(r, fields)) {
		for (unsigned k = 0;; k++) {
			int err = k % 5 == 4 ? kt_stream_reader_next(r, &recs, &n)
					     : kt_stream_reader_read(r, max, &recs, &n);

			if (err || !n)
				break;
			for (size_t i = 0; i < n; i++) {
				const struct kt_flow *f = (const struct kt_flow *)recs + i;

				sum += f->ts + f->dport + f->saddr[15] + f->pid + f->comm.len;
				if (f->comm.len)
					sum += (uint8_t)f->comm.p[f->comm.len - 1];
			}
		}
	}
	kt_stream_reader_free(r);
	if (sum == 42)	/* keep the reads */
		fprintf(stderr, "%c", 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = read_all(data, size, NULL);
	const struct kt_schema *s = name ? kt_schema_find(name) : NULL;

	free(read_all(data, size, &kt_flow_schema));
	read_pieces(data, size);
	if (s && s != &kt_flow_schema)
		free(read_all(data, size, s));
	free(name);
	return 0;
}
