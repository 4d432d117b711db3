/* main.c - ktcap: the command table. Each command is one file, cmd_*.c. */
#include "cli.h"
#include "commands.h"

static const struct kt_cmd *const commands[] = {
	&kt_cmd_record,
	&kt_cmd_check,
	&kt_cmd_pack,
	NULL,
};

int main(int argc, char **argv)
{
	kt_cli.prog = "ktcap";
	kt_cli.summary = "record a Kubernetes node into one portable bundle";
	kt_cli.examples =
		"  ktcap record -o case-123.tar.zst --duration 10m\n"
		"                                 record this node for ten minutes\n"
		"  ktcap pack /var/tmp/case-123.tar.zst.spool -o case-123.tar.zst\n"
		"                                 pack what a killed recording left\n";
	kt_cli.cmds = commands;
	return kt_cli_main(argc, argv);
}
