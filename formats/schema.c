/* schema.c - field types and the table of known record types (schema.h). */
#include "schema.h"
#include "records.h"

#include <string.h>

static const char *const ftype_names[KT_F__MAX] = {
	[KT_F_U8] = "u8",	[KT_F_U16] = "u16",	[KT_F_U32] = "u32",
	[KT_F_U64] = "u64",	[KT_F_I32] = "i32",	[KT_F_I64] = "i64",
	[KT_F_TS] = "ts",	[KT_F_IP] = "ip",	[KT_F_STR] = "str",
	[KT_F_STRLIST] = "strlist",
};

const char *kt_ftype_name(enum kt_ftype t)
{
	return (t > 0 && t < KT_F__MAX) ? ftype_names[t] : "?";
}

enum kt_ftype kt_ftype_parse(const char *name)
{
	for (int t = 1; t < KT_F__MAX; t++)
		if (!strcmp(ftype_names[t], name))
			return (enum kt_ftype)t;
	return 0;
}

size_t kt_ftype_size(enum kt_ftype t)
{
	switch (t) {
	case KT_F_U8: return 1;
	case KT_F_U16: return 2;
	case KT_F_U32: case KT_F_I32: return 4;
	case KT_F_U64: case KT_F_I64: case KT_F_TS: return 8;
	case KT_F_IP: return 16;
	case KT_F_STR: case KT_F_STRLIST: return sizeof(struct kt_str);
	default: return 0;
	}
}

const char *kt_field_enum_name(const struct kt_field *f, uint64_t v)
{
	if (!f->enums || v >= f->nenums)
		return NULL;
	return f->enums[v];
}

const struct kt_schema *const kt_schemas[] = {
	&kt_flow_schema, &kt_proc_schema, &kt_dns_schema,
	&kt_conntrack_schema, &kt_conn_schema, NULL,
};

const struct kt_schema *kt_schema_find(const char *name)
{
	for (int i = 0; kt_schemas[i]; i++)
		if (!strcmp(kt_schemas[i]->name, name))
			return kt_schemas[i];
	return NULL;
}
