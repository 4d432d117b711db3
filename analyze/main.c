/* main.c - ktana: the command table. Each command is one file, cmd_*.c. */
#include "cli.h"
#include "commands.h"

static const struct kt_cmd *const commands[] = {
	&kt_cmd_info,
	&kt_cmd_verify,
	&kt_cmd_dump,
	&kt_cmd_import,
	&kt_cmd_flows,
	&kt_cmd_k8s,
	&kt_cmd_topo,
	&kt_cmd_report,
	NULL,
};

int main(int argc, char **argv)
{
	kt_cli.prog = "ktana";
	kt_cli.summary = "rebuild the timed topology of a Kubernetes node from a ktcap bundle";
	kt_cli.examples =
		"  ktana info case-123.tar.zst          what, where and when it recorded\n"
		"  ktana verify case-123.tar.zst        check every byte; exit 1 if damaged\n"
		"  ktana dump --stream flow b.tar.zst | jq .   every flow event as JSON\n"
		"  ktana topo --level workload b.tar.zst   who talked to whom, how it went\n"
		"  ktana report b.tar.zst               b-report/index.html: what to open first\n";
	kt_cli.cmds = commands;
	return kt_cli_main(argc, argv);
}
