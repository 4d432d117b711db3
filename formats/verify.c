/* verify.c - full validation of a bundle (verify.h). */
#include "verify.h"
#include "error.h"
#include "stream.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int drain(struct kt_bundle *b, struct kt_verify_stats *st)
{
	char buf[1 << 16];
	ssize_t n;

	while ((n = kt_bundle_read(b, buf, sizeof(buf))) > 0)
		st->bytes += (uint64_t)n;
	return n < 0 ? (int)n : 0;
}

static int check_records(struct kt_bundle *b, const struct kt_entry *e,
			 struct kt_verify_stats *st)
{
	struct kt_stream_reader *r = NULL;
	const json_t *want = json_object_get(e->info, "records");
	const void *recs;
	size_t n;
	int err;

	if ((err = kt_stream_reader_open(&r, kt_bundle_read, b, NULL, e->path)))
		return err;
	if (strcmp(kt_stream_reader_name(r), e->stream)) {
		err = kt_err_set(-EPROTO, "'%s' holds '%s' records but sits in stream '%s'",
				 e->path, kt_stream_reader_name(r), e->stream);
		goto out;
	}
	while (!(err = kt_stream_reader_next(r, &recs, &n)) && n)
		;
	st->records += kt_stream_reader_records(r);
	st->blocks += kt_stream_reader_blocks(r);
	if (err == -ENODATA && kt_bundle_is_spool(b)) {
		/* a recorder killed mid-block: pack will cut it */
		st->warnings++;
		err = 0;
		goto out;
	}
	if (err)
		goto out;
	/* the segment ended: reading on checks size and sha256 */
	if ((err = drain(b, st)))
		goto out;
	if (want && (uint64_t)json_integer_value(want) != kt_stream_reader_records(r))
		err = kt_err_set(-EPROTO, "'%s' holds %" PRIu64 " records, the manifest says %"
				 JSON_INTEGER_FORMAT, e->path, kt_stream_reader_records(r),
				 json_integer_value(want));
out:
	kt_stream_reader_free(r);
	return err;
}

static int check_json(struct kt_bundle *b, const struct kt_entry *e, struct kt_verify_stats *st)
{
	json_error_t jerr;
	json_t *doc;
	char *buf;
	size_t len;
	int err;

	if ((err = kt_bundle_read_all(b, KT_JSON_ENTRY_MAX, &buf, &len)))
		return err;
	st->bytes += len;
	doc = json_loadb(buf, len, 0, &jerr);
	free(buf);
	if (!doc)
		return kt_err_set(-EPROTO, "'%s': bad JSON at line %d column %d: %s",
				  e->path, jerr.line, jerr.column, jerr.text);
	json_decref(doc);
	st->json_docs++;
	return 0;
}

static int check_jsonl(struct kt_bundle *b, const struct kt_entry *e, struct kt_verify_stats *st)
{
	char chunk[1 << 16];
	char *line = NULL;
	size_t len = 0, cap = 0;
	uint64_t lineno = 0;
	ssize_t n;
	int err = 0;

	while (!err && (n = kt_bundle_read(b, chunk, sizeof(chunk))) > 0) {
		st->bytes += (uint64_t)n;
		for (ssize_t i = 0; i < n && !err; i++) {
			if (chunk[i] != '\n') {
				if (len == cap) {
					size_t nc = cap ? cap * 2 : 4096;
					char *p;

					if (nc > KT_JSON_ENTRY_MAX) {
						err = kt_err_set(-E2BIG, "'%s': line %" PRIu64
								 " is over %u bytes", e->path,
								 lineno + 1, KT_JSON_ENTRY_MAX);
						break;
					}
					if (!(p = realloc(line, nc))) {
						err = kt_err_set(-ENOMEM, "out of memory");
						break;
					}
					line = p;
					cap = nc;
				}
				line[len++] = chunk[i];
				continue;
			}
			lineno++;
			if (len) {
				json_error_t jerr;
				json_t *doc = json_loadb(line, len, 0, &jerr);

				if (!doc)
					err = kt_err_set(-EPROTO, "'%s': bad JSON on line %" PRIu64
							 ": %s", e->path, lineno, jerr.text);
				json_decref(doc);
				st->json_docs++;
			}
			len = 0;
		}
	}
	if (!err && n < 0)
		err = (int)n;
	if (!err && len)
		err = kt_err_set(-EPROTO, "'%s': last line %" PRIu64 " has no newline (truncated?)",
				 e->path, lineno + 1);
	free(line);
	return err;
}

static ssize_t cookie_read(void *c, char *buf, size_t size)
{
	ssize_t n = kt_bundle_read(c, buf, size);

	if (n < 0) {
		errno = EIO;
		return -1;
	}
	return n;
}

static int check_pcap(struct kt_bundle *b, const struct kt_entry *e, struct kt_verify_stats *st)
{
	cookie_io_functions_t io = { .read = cookie_read };
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *d;
	FILE *f = fopencookie(b, "r", io);
	pcap_t *p;
	int r, err = 0;

	if (!f)
		return kt_err_set(-ENOMEM, "out of memory");
	p = pcap_fopen_offline(f, errbuf);
	if (!p) {
		fclose(f);
		return kt_err_set(-EPROTO, "'%s': not a readable capture: %s", e->path, errbuf);
	}
	while ((r = pcap_next_ex(p, &h, &d)) == 1)
		st->packets++;
	if (r == PCAP_ERROR)
		err = kt_err_set(-EPROTO, "'%s': bad packet after %" PRIu64 " packets: %s",
				 e->path, st->packets, pcap_geterr(p));
	pcap_close(p);	/* closes f */
	if (!err)
		err = drain(b, st);
	return err;
}

int kt_verify(struct kt_bundle *b, struct kt_verify_stats *st,
	      kt_verify_progress_fn progress, void *ctx)
{
	const struct kt_entry *e;
	const char *missing;
	int r, err = 0;

	memset(st, 0, sizeof(*st));
	while ((r = kt_bundle_next(b, &e)) == 1) {
		st->entries++;
		switch (e->kind) {
		case KT_ENTRY_RECORDS:
			err = check_records(b, e, st);
			break;
		case KT_ENTRY_JSON:
			err = check_json(b, e, st);
			break;
		case KT_ENTRY_JSONL:
			err = check_jsonl(b, e, st);
			break;
		case KT_ENTRY_PCAPNG:
			err = check_pcap(b, e, st);
			break;
		default:
			err = drain(b, st);
		}
		if (err)
			return err;
		if (progress)
			progress(ctx, e, st);
	}
	if (r < 0)
		return r;
	if ((missing = kt_bundle_missing(b)))
		return kt_err_set(-EPROTO, "'%s' is listed in the manifest but missing", missing);
	return 0;
}
