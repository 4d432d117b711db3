/* cmd_dump.c - ktana dump: every record of a bundle as JSON lines. */
#include "bundle.h"
#include "cli.h"
#include "commands.h"
#include "error.h"
#include "record_json.h"
#include "stream.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: ktana dump [--stream NAME]... [--limit N] BUNDLE\n"
	"       ktana dump --file PATH BUNDLE\n"
	"\n"
	"Prints every record of the bundle's record streams as one JSON object a\n"
	"line, in bundle order, for people and scripts (jq). Each object has\n"
	"\"stream\" and the record's fields: timestamps as RFC 3339 UTC strings\n"
	"with the nanosecond number beside them (ts and ts_ns), addresses as text,\n"
	"enumerations by name. Streams written by a newer ktcap print with the\n"
	"fields their own header declares.\n"
	"\n"
	"OPTIONS\n"
	"  -s, --stream NAME  only this stream (flow, proc, dns, conntrack, conn);\n"
	"                     repeatable\n"
	"  -n, --limit N      stop after N records\n"
	"  -f, --file PATH    copy one file of the bundle to stdout as it is\n"
	"                     (a Kubernetes dump, a pcapng), without extracting\n"
	"\n"
	"EXAMPLES\n"
	"  ktana dump case.tar.zst | head\n"
	"  ktana dump -s flow case.tar.zst | jq 'select(.kind == \"fail\")'\n"
	"  ktana dump -s dns case.tar.zst | jq -r 'select(.rcode == 3) | .qname'\n"
	"  ktana dump --file k8s/snap-0001/default/pods.json case.tar.zst | jq .\n";

#define MAX_SEL 16

static bool selected(const char *stream, const char **sel, int nsel)
{
	if (!nsel)
		return true;
	for (int i = 0; i < nsel; i++)
		if (!strcmp(sel[i], stream))
			return true;
	return false;
}

static int dump_stream(struct kt_bundle *b, const struct kt_entry *e,
		       uint64_t *left)
{
	struct kt_stream_reader *r = NULL;
	const void *recs;
	size_t n;
	int err;

	if ((err = kt_bundle_open_stream(b, NULL, &r)))
		return err;
	while (*left && !(err = kt_stream_reader_next(r, &recs, &n)) && n) {
		const struct kt_schema *s = kt_stream_reader_schema(r);

		for (size_t i = 0; i < n && *left; i++, (*left)--) {
			json_t *o = kt_record_to_json(s, (const uint8_t *)recs + i * s->size);

			if (!o) {
				err = kt_err_set(-ENOMEM, "out of memory");
				break;
			}
			json_object_set_new(o, "stream", json_string(e->stream));
			json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
			putchar('\n');
			json_decref(o);
		}
		if (err)
			break;
	}
	kt_stream_reader_free(r);
	return err;
}

static int copy_out(struct kt_bundle *b)
{
	char buf[1 << 16];
	ssize_t n;

	while ((n = kt_bundle_read(b, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return kt_err_set(-EIO, "cannot write to stdout");
	return n < 0 ? (int)n : 0;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stream", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'n' },
		{ "file", required_argument, NULL, 'f' },
		KT_CLI_COMMON_LONG, { 0 },
	};
	const char *sel[MAX_SEL], *file = NULL;
	const struct kt_entry *e;
	struct kt_bundle *b = NULL;
	uint64_t left = UINT64_MAX;
	bool found = false;
	int c, r = 0, nsel = 0, err = 0;

	while ((c = getopt_long(argc, argv, "s:n:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (nsel == MAX_SEL)
				return kt_cli_usage(&kt_cmd_dump, "at most %d --stream options", MAX_SEL);
			sel[nsel++] = optarg;
			break;
		case 'n': {
			char *end;

			left = strtoull(optarg, &end, 10);
			if (*end || !*optarg || optarg[0] == '-')
				return kt_cli_usage(&kt_cmd_dump, "bad --limit '%s'", optarg);
			break;
		}
		case 'f':
			file = optarg;
			break;
		default:
			if ((r = kt_cli_common(&kt_cmd_dump, c)) >= 0)
				return r;
		}
	}
	if (optind + 1 != argc)
		return kt_cli_usage(&kt_cmd_dump, "expected one BUNDLE");
	if (file && nsel)
		return kt_cli_usage(&kt_cmd_dump, "--file and --stream do not go together");
	if ((err = kt_bundle_open(&b, argv[optind])))
		return kt_cli_fail_err(KT_EXIT_USAGE, err, NULL);
	if (file && !strcmp(file, "manifest.json")) {
		json_dumpf(kt_bundle_manifest(b), stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		found = true;
	}
	while (!found && left && (r = kt_bundle_next(b, &e)) == 1) {
		if (file) {
			if (!strcmp(e->path, file)) {
				found = true;
				err = copy_out(b);
			}
		} else if (e->kind == KT_ENTRY_RECORDS && selected(e->stream, sel, nsel)) {
			err = dump_stream(b, e, &left);
		}
		if (err)
			break;
	}
	if (!err && r < 0)
		err = r;
	/* walked to the end: a file the manifest lists but the archive lacks
	 * is a damaged bundle even when no record stream was in it */
	if (!err && r == 0 && !found && kt_bundle_missing(b))
		err = kt_err_set(-EPROTO, "'%s' is listed in the manifest but missing",
				 kt_bundle_missing(b));
	if (!err && file && !found)
		err = kt_err_set(-ENOENT, "no file '%s' in the bundle", file);
	fflush(stdout);
	kt_bundle_close(b);
	if (err)
		return kt_cli_fail_err(KT_EXIT_USAGE, err, argv[optind]);
	return KT_EXIT_OK;
}

const struct kt_cmd kt_cmd_dump = {
	"dump", "print every record as JSON lines, or copy one file out", usage, run,
};
