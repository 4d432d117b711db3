/* cmd_check.c - ktcap check: will each source work on this node? */
#include "check_features.h"
#include "cli.h"
#include "commands.h"
#include "error.h"

#include <jansson.h>
#include <stdio.h>

static const char usage[] =
	"Usage: ktcap check [--json]\n"
	"\n"
	"Says what each recording source needs and whether this node has it:\n"
	"kernel version, BTF, each tracepoint the eBPF source attaches, ring\n"
	"buffers, privileges, tracefs, the cgroup layout, kubectl, libpcap and\n"
	"CAP_NET_RAW for packets, the interfaces to capture on.\n"
	"Each need that is not met comes with what to do. A missing tracepoint\n"
	"only leaves out the events it gives; the other sources run regardless.\n"
	"tracefs is mounted at /sys/kernel/tracing when it is missing (the only\n"
	"change made to the node, and one 'ktcap record' would make anyway).\n"
	"Exits 1 when a need is missing, 0 when all are met (warnings allowed).\n"
	"\n"
	"EXAMPLES\n"
	"  ktcap check\n"
	"  ktcap check --json | jq '.[] | select(.status != \"ok\")'\n";

static int run(int argc, char **argv)
{
	static const struct option opts[] = { KT_CLI_COMMON_LONG, { 0 } };
	struct kt_check_list l = { 0 };
	int c, r, err;
	size_t i;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if ((r = kt_cli_common(&kt_cmd_check, c)) >= 0)
			return r;
	if (optind != argc)
		return kt_cli_usage(&kt_cmd_check, "unexpected argument '%s'", argv[optind]);
	err = kt_check_features(&l);
	if (err) {
		kt_check_list_release(&l);
		return kt_cli_fail_err(KT_EXIT_USAGE, err, "cannot check");
	}
	if (kt_cli.json) {
		json_t *j = kt_check_to_json(&l);

		json_dumpf(j, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(j);
	} else {
		for (i = 0; i < l.n; i++) {
			const struct kt_check_item *it = &l.items[i];

			printf("%-7s %-9s %-40s %s\n", kt_check_status_name(it->status),
			       it->source, it->name, it->detail);
			if (it->fix[0])
				printf("%18s-> %s\n", "", it->fix);
		}
	}
	r = kt_check_count(&l, KT_CHECK_MISSING) ? KT_EXIT_FINDING : KT_EXIT_OK;
	kt_check_list_release(&l);
	return r;
}

const struct kt_cmd kt_cmd_check = {
	"check", "say whether each recording source will work on this node", usage, run,
};
