/* layout.c - bundle tree order and directory listing (layout.h). */
#include "layout.h"
#include "error.h"
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);

	return a >= b && !strcmp(s + a - b, suf);
}

enum kt_entry_kind kt_layout_kind(const char *path, const char **stream, size_t *stream_len)
{
	*stream = NULL;
	*stream_len = 0;
	if (!strcmp(path, "manifest.json"))
		return KT_ENTRY_MANIFEST;
	if (!strncmp(path, "streams/", 8) && has_suffix(path, ".ktr")) {
		const char *name = path + 8, *slash = strchr(name, '/');

		if (slash && slash > name && !strchr(slash + 1, '/')) {
			*stream = name;
			*stream_len = (size_t)(slash - name);
			return KT_ENTRY_RECORDS;
		}
		return KT_ENTRY_OTHER;
	}
	if (has_suffix(path, ".jsonl"))
		return KT_ENTRY_JSONL;
	if (has_suffix(path, ".json"))
		return KT_ENTRY_JSON;
	if (has_suffix(path, ".pcapng") || has_suffix(path, ".pcap"))
		return KT_ENTRY_PCAPNG;
	return KT_ENTRY_OTHER;
}

int kt_layout_rank(const char *path)
{
	static const char *const order[] = {
		"manifest.json", "host/", "k8s/", "streams/proc/", "streams/conntrack/",
		"streams/dns/", "streams/", "pcap/",
	};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (!strncmp(path, order[i], strlen(order[i])))
			return (int)i;
	return (int)(sizeof(order) / sizeof(order[0]));
}

int kt_layout_cmp(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	int rx = kt_layout_rank(x), ry = kt_layout_rank(y);

	return rx != ry ? rx - ry : strcmp(x, y);
}

struct list {
	char **v;
	size_t n, cap;
	size_t skipped;
};

static int walk(const char *root, const char *rel, struct list *l, int depth)
{
	char path[4096];
	DIR *d;
	struct dirent *e;
	int err = 0;

	if (depth > 16)
		return kt_err_set(-ELOOP, "directory '%s' nests too deep", rel);
	snprintf(path, sizeof(path), "%s%s%s", root, *rel ? "/" : "", rel);
	if (!(d = opendir(path)))
		return kt_err_set(-errno, "cannot open directory '%s': %s", path, strerror(errno));
	while (!err && (e = readdir(d))) {
		char sub[4096], full[8200];
		struct stat st;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if ((size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "",
				     e->d_name) >= sizeof(sub)) {
			err = kt_err_set(-ENAMETOOLONG, "path under '%s' too long", path);
			break;
		}
		snprintf(full, sizeof(full), "%s/%s", root, sub);
		if (lstat(full, &st)) {
			err = kt_err_set(-errno, "cannot stat '%s': %s", full, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			err = walk(root, sub, l, depth + 1);
		} else if (!S_ISREG(st.st_mode)) {
			err = kt_err_set(-EPERM, "'%s' is not a regular file: bundles hold "
					 "regular files only", sub);
		} else if (strlen(sub) > 4 && !strcmp(sub + strlen(sub) - 4, ".tmp")) {
			l->skipped++;
		} else if ((err = kt_path_check(sub))) {
			kt_err_wrap(err, "in '%s'", root);
		} else {
			if (l->n + 1 >= l->cap) {
				size_t cap = l->cap ? l->cap * 2 : 64;
				char **v = realloc(l->v, cap * sizeof(*v));

				if (!v) {
					err = kt_err_set(-ENOMEM, "out of memory");
					break;
				}
				l->v = v;
				l->cap = cap;
			}
			if (!(l->v[l->n] = strdup(sub)))
				err = kt_err_set(-ENOMEM, "out of memory");
			else
				l->v[++l->n] = NULL;
			if (l->n > KT_ENTRIES_MAX)
				err = kt_err_set(-E2BIG, "more than %u files in '%s'",
						 KT_ENTRIES_MAX, root);
		}
	}
	closedir(d);
	return err;
}

int kt_layout_list(const char *dir, char ***out, size_t *n, size_t *skipped)
{
	struct list l = { 0 };
	int err = walk(dir, "", &l, 0);

	*out = NULL;
	*n = 0;
	if (err) {
		kt_layout_free(l.v);
		return err;
	}
	if (!l.v && !(l.v = calloc(1, sizeof(char *))))
		return kt_err_set(-ENOMEM, "out of memory");
	qsort(l.v, l.n, sizeof(char *), kt_layout_cmp);
	*out = l.v;
	*n = l.n;
	if (skipped)
		*skipped = l.skipped;
	return 0;
}

void kt_layout_free(char **list)
{
	for (size_t i = 0; list && list[i]; i++)
		free(list[i]);
	free(list);
}
