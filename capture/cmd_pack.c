/* cmd_pack.c - ktcap pack: turn a spool into a bundle archive. */
#include "cli.h"
#include "commands.h"
#include "error.h"
#include "pack.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: ktcap pack [--json] SPOOL -o BUNDLE [--level N] [--finished]\n"
	"\n"
	"Packs a spool directory - what 'ktcap record' writes while it runs, and\n"
	"leaves behind when it is killed - into a bundle archive. Every finished\n"
	"record block, document, JSON line and packet is kept; a block, line or\n"
	"packet torn by the kill is dropped and named in the manifest's warnings.\n"
	"The archive is written beside BUNDLE and renamed into place, so BUNDLE is\n"
	"never left half written. The spool is left as it was.\n"
	"\n"
	"OPTIONS\n"
	"  -o, --output BUNDLE  the archive: .tar.zst (default), .tar.gz or .tar\n"
	"  -l, --level N        compression level (zstd 1-19, gzip 1-9)\n"
	"      --finished       mark the recording complete (ktcap record does this\n"
	"                       when it ends cleanly; leave it off for a killed one)\n"
	"\n"
	"EXAMPLES\n"
	"  ktcap pack case-123.tar.zst.spool -o case-123.tar.zst\n"
	"  ktcap pack /var/tmp/spool -o case.tar.gz --level 9\n";

enum { OPT_FINISHED = 0x2001 };

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "level", required_argument, NULL, 'l' },
		{ "finished", no_argument, NULL, OPT_FINISHED },
		KT_CLI_COMMON_LONG, { 0 },
	};
	struct kt_pack_opts po = { 0 };
	struct kt_pack_result res;
	const char *out = NULL;
	int c, r, err;

	while ((c = getopt_long(argc, argv, "o:l:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'l': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || v < 1 || v > 19)
				return kt_cli_usage(&kt_cmd_pack, "bad --level '%s': 1 to 19", optarg);
			po.level = (int)v;
			break;
		}
		case OPT_FINISHED:
			po.finished = true;
			break;
		default:
			if ((r = kt_cli_common(&kt_cmd_pack, c)) >= 0)
				return r;
		}
	}
	if (optind + 1 != argc)
		return kt_cli_usage(&kt_cmd_pack, "expected one SPOOL directory");
	if (!out)
		return kt_cli_usage(&kt_cmd_pack, "missing -o BUNDLE");
	if ((err = kt_compress_from_name(out, &po.compress)))
		return kt_cli_usage(&kt_cmd_pack, "%s", kt_err_msg(err));
	if (po.compress == KT_COMPRESS_GZIP && po.level > 9)
		return kt_cli_usage(&kt_cmd_pack, "gzip levels go from 1 to 9");
	err = kt_pack(argv[optind], out, &po, &res);
	if (err)
		return kt_cli_fail_err(KT_EXIT_USAGE, err, "cannot pack");
	if (kt_cli.json) {
		json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "bundle", out,
				      "files", (json_int_t)res.files, "records", (json_int_t)res.records,
				      "bytes_in", (json_int_t)res.bytes_in,
				      "bytes_out", (json_int_t)res.bytes_out,
				      "torn_blocks", (json_int_t)res.torn_blocks);

		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		printf("%s: %" PRIu64 " files, %" PRIu64 " records, %" PRIu64 " bytes -> %"
		       PRIu64 " bytes%s\n", out, res.files, res.records, res.bytes_in,
		       res.bytes_out, res.torn_blocks ? " (torn tail blocks dropped: see "
		       "'ktana info')" : "");
	}
	return KT_EXIT_OK;
}

const struct kt_cmd kt_cmd_pack = {
	"pack", "pack a spool (a recording, or what a killed one left) into a bundle", usage, run,
};
