/* spool.c - the recording directory (spool.h). */
#include "spool.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_STREAMS 32
#define MAX_APPEND 64
#define MAX_EXTERNAL 256

struct spool_stream {
	const struct kt_schema *schema;
	struct kt_stream_writer *w;
	unsigned segment;		/* number of the open segment */
	uint64_t closed_bytes;		/* bytes of finished segments */
};

struct spool_append {
	char *path;
	int fd;
};

struct kt_spool {
	char *dir;
	struct kt_spool_opts opts;
	struct spool_stream streams[MAX_STREAMS];
	unsigned nstreams;
	struct spool_append appends[MAX_APPEND];
	unsigned nappends;
	char *external[MAX_EXTERNAL];	/* files written by others */
	unsigned nexternal;
	uint64_t file_bytes;		/* documents and appended lines */
	uint64_t records;
	int err;
};

int kt_path_check(const char *p)
{
	size_t n;

	if (!p || !*p)
		return kt_err_set(-EINVAL, "empty path");
	if (strlen(p) > 1024)
		return kt_err_set(-EINVAL, "path longer than 1024 bytes");
	if (*p == '/')
		return kt_err_set(-EINVAL, "absolute path '%s'", p);
	for (const unsigned char *c = (const unsigned char *)p; *c; c++) {
		if (*c < 0x20 || *c == 0x7f || *c == '\\')
			return kt_err_set(-EINVAL, "path '%s' holds a control character or backslash", p);
		if (*c >= 0x80) {
			/* UTF-8 only: archives store names as text, and a name
			 * that cannot be translated fails the whole pack */
			int more = (*c & 0xe0) == 0xc0 ? 1 : (*c & 0xf0) == 0xe0 ? 2 :
				   (*c & 0xf8) == 0xf0 ? 3 : -1;

			if (more < 0 || (*c & 0xfe) == 0xc0)
				return kt_err_set(-EINVAL, "path '%s' is not UTF-8", p);
			for (; more; more--)
				if ((*++c & 0xc0) != 0x80)
					return kt_err_set(-EINVAL, "path '%s' is not UTF-8", p);
		}
	}
	for (const char *c = p; ; c += n + 1) {
		n = strcspn(c, "/");
		if (n == 0)
			return kt_err_set(-EINVAL, "path '%s' has an empty component", p);
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return kt_err_set(-EINVAL, "path '%s' has a '.' or '..' component", p);
		if (!c[n])
			return 0;
	}
}

static int mkdirs(char *path)
{
	for (char *s = path + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(path, 0700) && errno != EEXIST) {
			int e = errno;

			*s = '/';
			return kt_err_set(-e, "cannot create directory '%s': %s", path, strerror(e));
		}
		*s = '/';
	}
	return 0;
}

static int full_path(struct kt_spool *sp, const char *rel, char *buf, size_t len)
{
	int err = kt_path_check(rel);

	if (err)
		return err;
	if ((size_t)snprintf(buf, len, "%s/%s", sp->dir, rel) >= len)
		return kt_err_set(-ENAMETOOLONG, "path '%s/%s' too long", sp->dir, rel);
	return mkdirs(buf);
}

int kt_spool_create(struct kt_spool **out, const char *dir,
		    const struct kt_spool_opts *opts)
{
	struct kt_spool *sp;

	*out = NULL;
	if (mkdir(dir, 0700)) {
		if (errno != EEXIST)
			return kt_err_set(-errno, "cannot create spool '%s': %s", dir, strerror(errno));
		if (rmdir(dir) || mkdir(dir, 0700))
			return kt_err_set(-EEXIST, "spool '%s' exists and is not empty", dir);
	}
	sp = calloc(1, sizeof(*sp));
	if (!sp || !(sp->dir = strdup(dir))) {
		free(sp);
		return kt_err_set(-ENOMEM, "out of memory");
	}
	if (opts)
		sp->opts = *opts;
	if (!sp->opts.segment_bytes)
		sp->opts.segment_bytes = 64u << 20;
	if (!opts)
		sp->opts.writer.zstd_level = 3;
	*out = sp;
	return 0;
}

static int write_atomic(const char *path, const void *data, size_t len)
{
	char tmp[4200];
	int fd, err = 0;
	const char *p = data;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return kt_err_set(-ENAMETOOLONG, "path '%s' too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return kt_err_set(-errno, "cannot create '%s': %s", tmp, strerror(errno));
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err = kt_err_set(-errno, "cannot write '%s': %s", tmp, strerror(errno));
			break;
		}
		p += w;
		len -= (size_t)w;
	}
	if (close(fd) && !err)
		err = kt_err_set(-errno, "cannot write '%s': %s", tmp, strerror(errno));
	if (!err && rename(tmp, path))
		err = kt_err_set(-errno, "cannot rename '%s': %s", tmp, strerror(errno));
	if (err)
		unlink(tmp);
	return err;
}

int kt_spool_save_manifest(struct kt_spool *sp, const json_t *manifest)
{
	char path[4096], *txt;
	int err;

	if ((err = full_path(sp, "manifest.json", path, sizeof(path))))
		return err;
	txt = json_dumps(manifest, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!txt)
		return kt_err_set(-ENOMEM, "cannot serialize the manifest");
	err = write_atomic(path, txt, strlen(txt));
	free(txt);
	return err;
}

static int open_segment(struct kt_spool *sp, struct spool_stream *st)
{
	char rel[256], path[4096];
	int fd, err;

	snprintf(rel, sizeof(rel), "streams/%s/%06u.ktr", st->schema->name, st->segment);
	if ((err = full_path(sp, rel, path, sizeof(path))))
		return err;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return kt_err_set(-errno, "cannot create '%s': %s", path, strerror(errno));
	err = kt_stream_writer_open(&st->w, fd, st->schema, &sp->opts.writer);
	if (err)
		kt_err_wrap(err, "cannot start '%s'", path);
	return err;
}

static struct spool_stream *find_stream(struct kt_spool *sp, const struct kt_schema *schema)
{
	for (unsigned i = 0; i < sp->nstreams; i++)
		if (sp->streams[i].schema == schema)
			return &sp->streams[i];
	return NULL;
}

int kt_spool_stream(struct kt_spool *sp, const struct kt_schema *schema,
		    struct kt_stream_writer **out)
{
	struct spool_stream *st = find_stream(sp, schema);
	int err;

	*out = NULL;
	if (!st) {
		if (kt_path_check(schema->name) || strchr(schema->name, '/'))
			return kt_err_set(-EINVAL, "bad stream name '%s'", schema->name);
		if (sp->nstreams == MAX_STREAMS)
			return kt_err_set(-E2BIG, "more than %d streams", MAX_STREAMS);
		st = &sp->streams[sp->nstreams];
		st->schema = schema;
		st->segment = 1;
		if ((err = open_segment(sp, st))) {
			st->schema = NULL;
			return err;
		}
		sp->nstreams++;
	} else if (!st->w && (err = open_segment(sp, st))) {
		return err;	/* a rotation failed earlier; tried again */
	}
	*out = st->w;
	return 0;
}

int kt_spool_append(struct kt_spool *sp, const struct kt_schema *schema, const void *rec)
{
	struct kt_stream_writer *w;
	struct spool_stream *st;
	int err;

	if ((err = kt_spool_stream(sp, schema, &w)))
		return err;
	if ((err = kt_stream_writer_append(w, rec)))
		return err;
	sp->records++;
	st = find_stream(sp, schema);
	if (kt_stream_writer_bytes(w) >= sp->opts.segment_bytes) {
		/* flush first, so the byte count is the segment's size on disk */
		err = kt_stream_writer_flush(w);
		st->closed_bytes += kt_stream_writer_bytes(w);
		if (!err)
			err = kt_stream_writer_close(w);
		else
			kt_stream_writer_close(w);
		st->w = NULL;
		if (err)
			return err;
		st->segment++;
		return open_segment(sp, st);
	}
	return 0;
}

int kt_spool_flush(struct kt_spool *sp)
{
	int first = 0;

	for (unsigned i = 0; i < sp->nstreams; i++) {
		int err = sp->streams[i].w ? kt_stream_writer_flush(sp->streams[i].w) : 0;

		if (err && !first)
			first = err;
	}
	return first;
}

int kt_spool_write_file(struct kt_spool *sp, const char *relpath,
			const void *data, size_t len)
{
	char path[4096];
	int err;

	if ((err = full_path(sp, relpath, path, sizeof(path))))
		return err;
	if ((err = write_atomic(path, data, len)))
		return err;
	sp->file_bytes += len;
	return 0;
}

int kt_spool_append_file(struct kt_spool *sp, const char *relpath,
			 const void *data, size_t len)
{
	struct spool_append *a = NULL;
	const char *p = data;
	char path[4096];
	int err;

	for (unsigned i = 0; i < sp->nappends; i++)
		if (!strcmp(sp->appends[i].path, relpath))
			a = &sp->appends[i];
	if (!a) {
		if (sp->nappends == MAX_APPEND)
			return kt_err_set(-E2BIG, "more than %d appended files", MAX_APPEND);
		if ((err = full_path(sp, relpath, path, sizeof(path))))
			return err;
		a = &sp->appends[sp->nappends];
		a->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (a->fd < 0)
			return kt_err_set(-errno, "cannot create '%s': %s", path, strerror(errno));
		if (!(a->path = strdup(relpath))) {
			close(a->fd);
			return kt_err_set(-ENOMEM, "out of memory");
		}
		sp->nappends++;
	}
	while (len) {
		ssize_t w = write(a->fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return kt_err_set(-errno, "cannot append to '%s': %s", relpath, strerror(errno));
		p += w;
		len -= (size_t)w;
		sp->file_bytes += (uint64_t)w;
	}
	return 0;
}

int kt_spool_path(struct kt_spool *sp, const char *relpath, char *buf, size_t len)
{
	int err = full_path(sp, relpath, buf, len);

	if (err)
		return err;
	for (unsigned i = 0; i < sp->nexternal; i++)
		if (!strcmp(sp->external[i], buf))
			return 0;
	if (sp->nexternal < MAX_EXTERNAL && !(sp->external[sp->nexternal++] = strdup(buf)))
		return kt_err_set(-ENOMEM, "out of memory");
	return 0;
}

uint64_t kt_spool_records(const struct kt_spool *sp)
{
	return sp->records;
}

uint64_t kt_spool_bytes(const struct kt_spool *sp)
{
	uint64_t total = sp->file_bytes;
	struct stat st;

	for (unsigned i = 0; i < sp->nstreams; i++)
		total += sp->streams[i].closed_bytes +
			 (sp->streams[i].w ? kt_stream_writer_bytes(sp->streams[i].w) : 0);
	for (unsigned i = 0; i < sp->nexternal; i++)
		if (!stat(sp->external[i], &st))
			total += (uint64_t)st.st_size;
	return total;
}

const char *kt_spool_dir(const struct kt_spool *sp)
{
	return sp->dir;
}

int kt_spool_close(struct kt_spool *sp)
{
	int first = 0, err;

	if (!sp)
		return 0;
	for (unsigned i = 0; i < sp->nstreams; i++) {
		err = kt_stream_writer_close(sp->streams[i].w);
		if (err && !first)
			first = err;
	}
	for (unsigned i = 0; i < sp->nappends; i++) {
		if (close(sp->appends[i].fd) && !first)
			first = kt_err_set(-errno, "cannot close '%s'", sp->appends[i].path);
		free(sp->appends[i].path);
	}
	for (unsigned i = 0; i < sp->nexternal; i++)
		free(sp->external[i]);
	free(sp->dir);
	free(sp);
	return first;
}
