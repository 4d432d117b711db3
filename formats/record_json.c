/* record_json.c - records as JSON (record_json.h). */
#include "record_json.h"
#include "manifest.h"
#include "records.h"

#include <stdlib.h>
#include <string.h>

json_t *kt_json_bytes(const char *p, size_t len)
{
	json_t *j = json_stringn(p, len);
	char *fixed;
	size_t o = 0;

	if (j)
		return j;
	/* not UTF-8 (a comm can hold anything): replace every non-ASCII byte */
	fixed = malloc(len * 3 + 1);
	if (!fixed)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c < 0x80) {
			fixed[o++] = (char)c;
		} else {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);
			o += 3;
		}
	}
	j = json_stringn(fixed, o);
	free(fixed);
	return j;
}

static json_t *strlist(const struct kt_str *s)
{
	json_t *a = json_array();
	size_t start = 0;

	for (size_t i = 0; s->len && i <= s->len; i++) {
		if (i == s->len || s->p[i] == '\n') {
			json_array_append_new(a, kt_json_bytes(s->p + start, i - start));
			start = i + 1;
		}
	}
	return a;
}

json_t *kt_record_to_json(const struct kt_schema *s, const void *rec)
{
	const uint8_t *r = rec;
	json_t *o = json_object();

	if (!o)
		return NULL;
	for (unsigned i = 0; i < s->nfields; i++) {
		const struct kt_field *f = &s->fields[i];
		const uint8_t *p = r + f->offset;
		uint64_t u = 0;
		int64_t v = 0;
		char buf[64];

		switch (f->type) {
		case KT_F_U8: u = *p; break;
		case KT_F_U16: { uint16_t x; memcpy(&x, p, 2); u = x; break; }
		case KT_F_U32: { uint32_t x; memcpy(&x, p, 4); u = x; break; }
		case KT_F_U64: case KT_F_TS: memcpy(&u, p, 8); break;
		case KT_F_I32: { int32_t x; memcpy(&x, p, 4); v = x; break; }
		case KT_F_I64: memcpy(&v, p, 8); break;
		default: break;
		}
		switch (f->type) {
		case KT_F_U8: case KT_F_U16: case KT_F_U32: case KT_F_U64: {
			const char *en = kt_field_enum_name(f, u);

			if (en)
				json_object_set_new(o, f->name, json_string(en));
			else
				json_object_set_new(o, f->name, json_integer((json_int_t)u));
			break;
		}
		case KT_F_I32: case KT_F_I64:
			json_object_set_new(o, f->name, json_integer((json_int_t)v));
			break;
		case KT_F_TS: {
			char key[80];

			json_object_set_new(o, f->name, json_string(kt_time_str(u, buf, sizeof(buf))));
			snprintf(key, sizeof(key), "%s_ns", f->name);
			json_object_set_new(o, key, json_integer((json_int_t)u));
			break;
		}
		case KT_F_IP:
			json_object_set_new(o, f->name, json_string(kt_ip_str(p, buf, sizeof(buf))));
			break;
		case KT_F_STR: {
			struct kt_str str;

			memcpy(&str, p, sizeof(str));
			json_object_set_new(o, f->name, kt_json_bytes(str.p, str.len));
			break;
		}
		case KT_F_STRLIST: {
			struct kt_str str;

			memcpy(&str, p, sizeof(str));
			json_object_set_new(o, f->name, strlist(&str));
			break;
		}
		default:
			break;
		}
	}
	return o;
}
