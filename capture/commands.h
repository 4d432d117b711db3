/* commands.h - ktcap's subcommands, one per cmd_*.c file. */
#ifndef KT_CAP_COMMANDS_H
#define KT_CAP_COMMANDS_H

#include "cli.h"

extern const struct kt_cmd kt_cmd_check;
extern const struct kt_cmd kt_cmd_pack;
extern const struct kt_cmd kt_cmd_record;

#endif
