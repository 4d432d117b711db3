/* commands.h - ktana's subcommands, one per cmd_*.c file. */
#ifndef KT_ANA_COMMANDS_H
#define KT_ANA_COMMANDS_H

#include "cli.h"

extern const struct kt_cmd kt_cmd_info;
extern const struct kt_cmd kt_cmd_verify;
extern const struct kt_cmd kt_cmd_dump;
extern const struct kt_cmd kt_cmd_import;
extern const struct kt_cmd kt_cmd_flows;
extern const struct kt_cmd kt_cmd_k8s;
extern const struct kt_cmd kt_cmd_topo;
extern const struct kt_cmd kt_cmd_report;

#endif
