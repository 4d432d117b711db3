/* manifest.c - building and checking manifest.json (manifest.h). */
#include "manifest.h"
#include "bundle.h"
#include "cli.h"
#include "error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

uint64_t kt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t kt_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

const char *kt_time_str(uint64_t ns, char *buf, size_t len)
{
	time_t sec = (time_t)(ns / 1000000000ull);
	struct tm tm;
	char day[32];

	if (!gmtime_r(&sec, &tm) || !strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(day, sizeof(day), "?");
	/* a buffer too small gets what fits, NUL-terminated (the length
	 * is looked at so the compiler does not warn of it) */
	if (snprintf(buf, len, "%s.%09" PRIu64 "Z", day, (uint64_t)(ns % 1000000000u)) < 0 && len)
		buf[0] = '\0';
	return buf;
}

int kt_time_parse(const char *s, uint64_t *out)
{
	struct tm tm = { 0 };
	const char *p;
	uint64_t frac = 0;
	int64_t off = 0;
	int digits = 0;
	time_t t;

	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return kt_err_set(-EINVAL, "bad time '%s': expected RFC 3339 like "
				  "2026-11-25T08:18:54Z", s);
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 9)
				frac = frac * 10 + (uint64_t)(*p - '0');
		if (!digits)
			return kt_err_set(-EINVAL, "bad time '%s': empty fraction", s);
		for (; digits < 9; digits++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && p[1] && p[2] && p[3] == ':' && p[4] && p[5]) {
		int h = (p[1] - '0') * 10 + (p[2] - '0'), m = (p[4] - '0') * 10 + (p[5] - '0');

		off = (int64_t)(h * 3600 + m * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return kt_err_set(-EINVAL, "bad time '%s': missing zone (Z or +hh:mm)", s);
	}
	if (*p)
		return kt_err_set(-EINVAL, "bad time '%s': trailing characters", s);
	t = timegm(&tm);
	if (t < 0)
		return kt_err_set(-EINVAL, "bad time '%s': before 1970", s);
	*out = ((uint64_t)t - (uint64_t)off) * 1000000000ull + frac;
	return 0;
}

static json_t *read_line_file(const char *path)
{
	char buf[256];
	FILE *f = fopen(path, "re");
	json_t *v = NULL;

	if (!f)
		return NULL;
	if (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = '\0';
		v = json_string(buf);
	}
	fclose(f);
	return v;
}

json_t *kt_manifest_new(const char *tool)
{
	json_t *m = json_object(), *host = json_object(), *t = json_object();
	char hostname[256] = "", ts[40];
	const char *node;
	struct utsname u;
	uint64_t now = kt_now_ns();

	if (!m || !host || !t) {
		json_decref(m);
		json_decref(host);
		json_decref(t);
		return NULL;
	}
	gethostname(hostname, sizeof(hostname) - 1);
	node = getenv("KT_NODE_NAME");
	if (!node || !*node)
		node = getenv("NODE_NAME");
	if (!node || !*node)
		node = hostname;
	json_object_set_new(m, "format", json_string("ktbundle"));
	json_object_set_new(m, "format_version", json_sprintf("%d.%d", KT_FORMAT_MAJOR, KT_FORMAT_MINOR));
	json_object_set_new(t, "name", json_string(tool));
	json_object_set_new(t, "version", json_string(KT_VERSION));
	json_object_set_new(m, "tool", t);
	json_object_set_new(host, "hostname", json_string(hostname));
	json_object_set_new(host, "node_name", json_string(node));
	if (!uname(&u)) {
		json_object_set_new(host, "kernel", json_string(u.release));
		json_object_set_new(host, "kernel_version", json_string(u.version));
		json_object_set_new(host, "machine", json_string(u.machine));
	}
	json_object_set_new(host, "boot_id", read_line_file("/proc/sys/kernel/random/boot_id"));
	json_object_set_new(m, "host", host);
	json_object_set_new(m, "created", json_string(kt_time_str(now, ts, sizeof(ts))));
	json_object_set_new(m, "complete", json_false());
	json_object_set_new(m, "sources", json_object());
	json_object_set_new(m, "clock", json_array());
	return m;
}

int kt_manifest_clock_sample(json_t *m, const char *at, int64_t *offset_ns)
{
	struct timespec b0, r, b1;
	uint64_t boot0 = 0, boot1 = 0, real = 0;
	int64_t off;
	json_t *s;

	/* Bracket the realtime read between two boottime reads: the offset is
	 * good to within the bracket. Keep the tightest of a few tries. */
	uint64_t best_gap = UINT64_MAX;

	for (int i = 0; i < 5; i++) {
		clock_gettime(CLOCK_BOOTTIME, &b0);
		clock_gettime(CLOCK_REALTIME, &r);
		clock_gettime(CLOCK_BOOTTIME, &b1);
		uint64_t a = (uint64_t)b0.tv_sec * 1000000000ull + (uint64_t)b0.tv_nsec;
		uint64_t c = (uint64_t)b1.tv_sec * 1000000000ull + (uint64_t)b1.tv_nsec;

		if (c - a < best_gap) {
			best_gap = c - a;
			boot0 = a;
			boot1 = c;
			real = (uint64_t)r.tv_sec * 1000000000ull + (uint64_t)r.tv_nsec;
		}
	}
	off = (int64_t)(real - (boot0 + (boot1 - boot0) / 2));
	s = json_pack("{s:s, s:I, s:I, s:I, s:I}", "at", at,
		      "realtime_ns", (json_int_t)real,
		      "boottime_ns", (json_int_t)(boot0 + (boot1 - boot0) / 2),
		      "offset_ns", (json_int_t)off,
		      "uncertainty_ns", (json_int_t)((boot1 - boot0) / 2 + 1));
	if (!s)
		return kt_err_set(-ENOMEM, "out of memory");
	if (!json_is_array(json_object_get(m, "clock")))
		json_object_set_new(m, "clock", json_array());
	json_array_append_new(json_object_get(m, "clock"), s);
	if (offset_ns)
		*offset_ns = off;
	return 0;
}

int kt_manifest_set_source(json_t *m, const char *name, const char *status,
			   const char *message, json_t *details)
{
	json_t *sources = json_object_get(m, "sources"), *s;

	if (!json_is_object(sources)) {
		sources = json_object();
		json_object_set_new(m, "sources", sources);
	}
	s = json_object_get(sources, name);
	if (!json_is_object(s)) {
		s = json_object();
		json_object_set_new(sources, name, s);
	}
	json_object_set_new(s, "status", json_string(status));
	if (message)
		json_object_set_new(s, "message", json_string(message));
	if (details) {
		json_object_update(s, details);
		json_decref(details);
	}
	return 0;
}

int kt_manifest_set_window(json_t *m, uint64_t start_ns, uint64_t end_ns)
{
	char a[40], b[40];

	json_object_set_new(m, "window", json_pack("{s:I, s:I, s:s, s:s}",
		"start_ns", (json_int_t)start_ns, "end_ns", (json_int_t)end_ns,
		"start", kt_time_str(start_ns, a, sizeof(a)),
		"end", kt_time_str(end_ns, b, sizeof(b))));
	return 0;
}

int kt_manifest_check(const json_t *m)
{
	const char *fmt, *ver;
	unsigned major, minor;
	char tail;

	if (!json_is_object(m))
		return kt_err_set(-EPROTO, "manifest is not a JSON object");
	fmt = json_string_value(json_object_get(m, "format"));
	ver = json_string_value(json_object_get(m, "format_version"));
	if (!fmt || strcmp(fmt, "ktbundle"))
		return kt_err_set(-EPROTO, "manifest 'format' is not \"ktbundle\"");
	if (!ver || sscanf(ver, "%u.%u%c", &major, &minor, &tail) != 2)
		return kt_err_set(-EPROTO, "manifest 'format_version' is missing or not MAJOR.MINOR");
	if (major > KT_FORMAT_MAJOR)
		return kt_err_set(-EPROTONOSUPPORT,
				  "bundle format %u.%u is newer than this ktana reads (%d.x): upgrade ktana",
				  major, minor, KT_FORMAT_MAJOR);
	if (major < 1)
		return kt_err_set(-EPROTO, "bundle format %u.%u is not valid", major, minor);
	return 0;
}

int kt_manifest_time_arg(const json_t *m, const char *s, uint64_t *out)
{
	const json_t *win = json_object_get(m, "window");
	uint64_t start = (uint64_t)json_integer_value(json_object_get(win, "start_ns"));
	uint64_t end = (uint64_t)json_integer_value(json_object_get(win, "end_ns"));
	unsigned long long d;

	if (!strcmp(s, "start") || !strcmp(s, "end") || s[0] == '+' || s[0] == '-') {
		if (!start || !end)
			return kt_err_set(-EINVAL, "the bundle has no capture window for '%s'", s);
		if (!strcmp(s, "start") || !strcmp(s, "end")) {
			*out = s[0] == 's' ? start : end;
			return 0;
		}
		if (kt_parse_duration(s + 1, &d))
			return kt_err_set(-EINVAL, "bad duration in '%s'", s);
		*out = s[0] == '+' ? start + d : (end > d ? end - d : 0);
		return 0;
	}
	if (kt_time_parse(s, out))
		return kt_err_set(-EINVAL, "bad time '%s': RFC 3339, start, end, +DUR or -DUR", s);
	return 0;
}
