/* cmd_info.c - ktana info: the manifest summarized for a person. */
#include "bundle.h"
#include "cli.h"
#include "commands.h"
#include "error.h"
#include "manifest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: ktana info [--json] BUNDLE\n"
	"\n"
	"Summarizes what a bundle holds from its manifest alone (fast, whatever\n"
	"its size): the node and kernel it was recorded on, the capture window,\n"
	"each source with what it recorded or why it failed, record counts per\n"
	"stream, events lost, redaction applied, and warnings. It does not check\n"
	"the data: 'ktana verify' does.\n"
	"\n"
	"EXAMPLES\n"
	"  ktana info case-123.tar.zst\n"
	"  ktana info --json case-123.tar.zst | jq .sources\n";

static const char *str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "?";
}

static void human_bytes(uint64_t v, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double d = (double)v;
	int u = 0;

	while (d >= 1024 && u < 4) {
		d /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", d, units[u]);
}

static json_t *summary(const json_t *m)
{
	json_t *o = json_object(), *files = json_object_get(m, "files");
	json_int_t bytes = 0;
	size_t i;
	json_t *f;

	json_array_foreach(files, i, f)
		bytes += json_integer_value(json_object_get(f, "size"));
	json_object_set(o, "format_version", json_object_get(m, "format_version"));
	json_object_set(o, "tool", json_object_get(m, "tool"));
	json_object_set(o, "host", json_object_get(m, "host"));
	json_object_set(o, "window", json_object_get(m, "window"));
	json_object_set(o, "complete", json_object_get(m, "complete"));
	json_object_set(o, "sources", json_object_get(m, "sources"));
	json_object_set(o, "streams", json_object_get(m, "streams"));
	json_object_set(o, "redaction", json_object_get(m, "redaction"));
	json_object_set(o, "warnings", json_object_get(m, "warnings"));
	json_object_set_new(o, "files", json_integer((json_int_t)json_array_size(files)));
	json_object_set_new(o, "bytes", json_integer(bytes));
	return o;
}

static void print_text(const char *path, const json_t *m, bool spool)
{
	const json_t *host = json_object_get(m, "host"), *win = json_object_get(m, "window");
	const json_t *sources = json_object_get(m, "sources"), *streams = json_object_get(m, "streams");
	const json_t *warnings = json_object_get(m, "warnings"), *files = json_object_get(m, "files");
	const char *key;
	json_t *v;
	json_int_t bytes = 0;
	size_t i;
	char hb[32];

	json_array_foreach(files, i, v)
		bytes += json_integer_value(json_object_get(v, "size"));
	printf("bundle:   %s (format %s, %s %s)%s\n", path, str(m, "format_version"),
	       str(json_object_get(m, "tool"), "name"), str(json_object_get(m, "tool"), "version"),
	       spool ? " - an unpacked spool" : "");
	printf("node:     %s (host %s, kernel %s)\n", str(host, "node_name"), str(host, "hostname"),
	       str(host, "kernel"));
	if (win) {
		json_int_t a = json_integer_value(json_object_get(win, "start_ns"));
		json_int_t b = json_integer_value(json_object_get(win, "end_ns"));

		printf("window:   %s .. %s (%.3f s)\n", str(win, "start"), str(win, "end"),
		       (double)(b - a) / 1e9);
	} else {
		printf("window:   unknown\n");
	}
	printf("complete: %s\n", json_is_true(json_object_get(m, "complete")) ? "yes" :
	       "no (the recording was interrupted; what was written is kept)");
	human_bytes((uint64_t)bytes, hb, sizeof(hb));
	printf("files:    %zu, %s uncompressed\n", json_array_size(files), hb);
	printf("sources:\n");
	json_object_foreach((json_t *)sources, key, v) {
		const json_t *lost = json_object_get(v, "lost");

		printf("  %-10s %-8s", key, str(v, "status"));
		if (json_is_integer(lost))
			printf(" lost %" JSON_INTEGER_FORMAT, json_integer_value(lost));
		if (json_string_value(json_object_get(v, "message")))
			printf(" %s", str(v, "message"));
		putchar('\n');
	}
	if (!json_object_size(sources))
		printf("  (none recorded)\n");
	printf("streams:\n");
	json_object_foreach((json_t *)streams, key, v)
		printf("  %-10s %" JSON_INTEGER_FORMAT " records in %" JSON_INTEGER_FORMAT
		       " segment(s)\n", key, json_integer_value(json_object_get(v, "records")),
		       json_integer_value(json_object_get(v, "segments")));
	if (!json_object_size(streams))
		printf("  (none)\n");
	if (json_object_get(m, "redaction")) {
		char *r = json_dumps(json_object_get(m, "redaction"), JSON_COMPACT | JSON_SORT_KEYS);

		printf("redaction: %s\n", r ? r : "?");
		free(r);
	}
	if (json_array_size(warnings)) {
		printf("warnings:\n");
		json_array_foreach(warnings, i, v)
			printf("  - %s\n", json_string_value(v) ? json_string_value(v) : "?");
	}
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = { KT_CLI_COMMON_LONG, { 0 } };
	struct kt_bundle *b = NULL;
	int c, err;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int r = kt_cli_common(&kt_cmd_info, c);

		if (r >= 0)
			return r;
	}
	if (optind + 1 != argc)
		return kt_cli_usage(&kt_cmd_info, "expected one BUNDLE");
	if ((err = kt_bundle_open(&b, argv[optind])))
		return kt_cli_fail_err(KT_EXIT_USAGE, err, NULL);
	if (kt_cli.json) {
		json_t *o = summary(kt_bundle_manifest(b));

		json_object_set_new(o, "bundle", json_string(argv[optind]));
		json_object_set_new(o, "spool", json_boolean(kt_bundle_is_spool(b)));
		json_dumpf(o, stdout, JSON_COMPACT | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(o);
	} else {
		print_text(argv[optind], kt_bundle_manifest(b), kt_bundle_is_spool(b));
	}
	kt_bundle_close(b);
	return KT_EXIT_OK;
}

const struct kt_cmd kt_cmd_info = {
	"info", "summarize a bundle: node, window, sources, counts, losses", usage, run,
};
