/* bytes.c - bounded growable buffers (bytes.h). */
#include "bytes.h"
#include "error.h"

#include <errno.h>
#include <stdlib.h>

int kt_buf_reserve(struct kt_buf *b, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (n <= b->cap - b->len)
		return 0;
	if (n > b->max - b->len)
		return kt_err_set(-E2BIG, "buffer limit of %zu bytes reached", b->max);
	cap = b->cap ? b->cap : 256;
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
