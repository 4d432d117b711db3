/* bytes.c - bounded growable buffers (bytes.h). */
#include "bytes.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int kt_buf_reserve(struct kt_buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (n <= b->cap - b->len)
		return 0;
	if (n > b->max - b->len)
		return kt_err_set(-E2BIG, "buffer limit of %zu bytes reached", b->max);
	cap = b->cap ? b->cap : b->max < 256 ? b->max : 256;	/* never past max */
	while (cap - b->len < n)
		cap = cap > b->max / 2 ? b->max : cap * 2;
	p = realloc(b->p, cap);
	if (!p)
		return kt_err_set(-ENOMEM, "out of memory growing a buffer to %zu bytes", cap);
	b->p = p;
	b->cap = cap;
	return 0;
}

int kt_buf_add(struct kt_buf *b, const void *p, size_t n)
{
	int err = kt_buf_reserve(b, n);

	if (err)
		return err;
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int kt_buf_add_varint(struct kt_buf *b, uint64_t v)
{
	int err = kt_buf_reserve(b, 10);

	if (err)
		return err;
	b->len += kt_put_varint(b->p + b->len, v);
	return 0;
}

void kt_buf_release(struct kt_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

int kt_read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	*out = NULL;
	*len = 0;
	if (fd < 0)
		return kt_err_set(-errno, "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		err = kt_err_set(-EINVAL, "'%s' is not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		err = kt_err_set(-E2BIG, "'%s' is larger than %zu bytes", path, max);
		goto out;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		err = kt_err_set(-ENOMEM, "out of memory reading '%s'", path);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = kt_err_set(n < 0 ? -errno : -EIO, "cannot read '%s': %s",
					 path, n < 0 ? strerror(errno) : "short read");
			goto out;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}
