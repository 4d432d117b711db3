/* cmd_verify.c - ktana verify: read every byte of a bundle and check it. */
#include "bundle.h"
#include "cli.h"
#include "commands.h"
#include "error.h"
#include "verify.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>

static const char usage[] =
	"Usage: ktana verify [--json] BUNDLE\n"
	"\n"
	"Checks a bundle (.tar.zst, .tar.gz, .tar, an unpacked directory or a\n"
	"spool) end to end: archive structure and entry names, every file against\n"
	"the sha256 and size in the manifest, every record block's checksum and\n"
	"columns, every JSON document and line, every packet. Stops at the first\n"
	"problem and names the file and the block or byte offset.\n"
	"\n"
	"EXAMPLES\n"
	"  ktana verify case-123.tar.zst\n"
	"  ktana verify --json case-123.tar.zst | jq .valid\n"
	"  ktana verify /var/tmp/case-123.tar.zst.spool   (a killed recording)\n"
	"\n"
	"Exit status is 0 when the bundle is valid, 1 when it is not (including a\n"
	"file that is not a bundle), 2 for a usage error.\n";

static void progress(void *ctx, const struct kt_entry *e, const struct kt_verify_stats *st)
{
	(void)ctx;
	kt_cli_progress("verified %" PRIu64 " files, %" PRIu64 " records: %s",
			st->entries, st->records, e->path);
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = { KT_CLI_COMMON_LONG, { 0 } };
	struct kt_verify_stats st = { 0 };
	struct kt_bundle *b = NULL;
	const char *path;
	bool opened;
	int c, err;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int r = kt_cli_common(&kt_cmd_verify, c);

		if (r >= 0)
			return r;
	}
	if (optind + 1 != argc)
		return kt_cli_usage(&kt_cmd_verify, "expected one BUNDLE");
	path = argv[optind];

	err = kt_bundle_open(&b, path);	/* its messages name the bundle */
	opened = !err;
	if (!err)
		err = kt_verify(b, &st, progress, NULL);
	if (kt_cli_tty())
		fputs("\r\033[K", stderr);
	if (err) {
		if (kt_cli.json) {
			json_t *o = json_pack("{s:s, s:b, s:s}", "bundle", path, "valid", 0,
					      "error", kt_err_msg(err));

			json_dumpf(o, stdout, JSON_COMPACT);
			putchar('\n');
			json_decref(o);
		}
		kt_bundle_close(b);
		return kt_cli_fail_err(KT_EXIT_FINDING, err, opened ? path : NULL);
	}
	if (kt_cli.json) {
		json_t *o = json_pack("{s:s, s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I}",
				      "bundle", path, "valid", 1, "spool", kt_bundle_is_spool(b),
				      "files", (json_int_t)st.entries, "records", (json_int_t)st.records,
				      "blocks", (json_int_t)st.blocks, "json_docs", (json_int_t)st.json_docs,
				      "packets", (json_int_t)st.packets, "bytes", (json_int_t)st.bytes);

		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		printf("%s: valid%s: %" PRIu64 " files, %" PRIu64 " records in %" PRIu64
		       " blocks, %" PRIu64 " JSON documents, %" PRIu64 " packets\n", path,
		       kt_bundle_is_spool(b) ? " spool (not packed yet)" : "",
		       st.entries, st.records, st.blocks, st.json_docs, st.packets);
		if (st.warnings)
			printf("%s: %" PRIu64 " torn tail block(s), which 'ktcap pack' will drop\n",
			       path, st.warnings);
	}
	kt_bundle_close(b);
	return KT_EXIT_OK;
}

const struct kt_cmd kt_cmd_verify = {
	"verify", "check a bundle end to end; exit 1 when it is damaged", usage, run,
};
