/* schema.h - how a record type is laid out, in memory and in a stream.
 *
 * Every high-volume record type (flow events, DNS records, ...) is a plain C
 * struct described by a struct kt_schema: one struct kt_field per member, in
 * the order the columns are written. The same table drives the encoder, the
 * decoder and `ktana dump`, and a stream carries its schema in its header
 * (names, types, enum names), so a reader binds columns by name: columns it
 * does not know are skipped, fields the stream lacks read as zero.
 *
 * See SPEC.md, "Record streams".
 */
#ifndef KT_SCHEMA_H
#define KT_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

enum kt_ftype {
	KT_F_U8 = 1,
	KT_F_U16,
	KT_F_U32,
	KT_F_U64,
	KT_F_I32,
	KT_F_I64,
	KT_F_TS,	/* uint64_t, UTC nanoseconds since the epoch */
	KT_F_IP,	/* uint8_t[16]; IPv4 as ::ffff:a.b.c.d, unset as all zero */
	KT_F_STR,	/* struct kt_str */
	KT_F_STRLIST,	/* struct kt_str holding items separated by '\n' */
	KT_F__MAX
};

/* A string inside a record. In a record handed to a writer it points at the
 * caller's memory and is copied on append; in a record returned by a reader it
 * points into the reader's block buffer and lives until the next block. Not
 * NUL-terminated. */
struct kt_str {
	const char *p;
	uint32_t len;
};

struct kt_field {
	const char *name;
	uint8_t type;			/* enum kt_ftype */
	uint16_t offset;		/* offsetof() in the record struct */
	const char *const *enums;	/* names of small integer values, or NULL */
	uint8_t nenums;
};

struct kt_schema {
	const char *name;		/* record type and stream name: "flow" */
	uint16_t version;		/* bumped when a field's meaning changes */
	uint32_t size;			/* sizeof the record struct */
	const struct kt_field *fields;
	uint16_t nfields;
};

#define KT_FIELD(st, member, ftype) \
	{ #member, (ftype), (uint16_t)offsetof(st, member), NULL, 0 }
#define KT_FIELD_ENUM(st, member, ftype, names) \
	{ #member, (ftype), (uint16_t)offsetof(st, member), (names), \
	  (uint8_t)(sizeof(names) / sizeof((names)[0])) }

/* Name of a field type as written in stream headers ("u32", "ip", ...), and
 * back; kt_ftype_parse returns 0 for an unknown name. */
const char *kt_ftype_name(enum kt_ftype t);
enum kt_ftype kt_ftype_parse(const char *name);

/* Size in bytes of a field of type t inside a record struct. */
size_t kt_ftype_size(enum kt_ftype t);

/* Name of enum value v of field f, or NULL when out of range. */
const char *kt_field_enum_name(const struct kt_field *f, uint64_t v);

/* The schema of a known record type by name, or NULL. */
const struct kt_schema *kt_schema_find(const char *name);

/* All known record types, NULL-terminated. */
extern const struct kt_schema *const kt_schemas[];

#endif
