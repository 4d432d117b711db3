/* error.h - one way to report what went wrong.
 *
 * Library functions that can fail return 0 or a negative errno (-EPROTO for
 * malformed input, -EINVAL for bad arguments, -ENOMEM, -EIO, -E2BIG for a limit
 * exceeded, -EPROTONOSUPPORT for an unsupported version). The human message
 * goes through kt_err_set(), which keeps the last message per thread; callers
 * that only pass an error up leave it alone. Only the CLI prints it.
 *
 * Messages follow git's habit: lowercase, no full stop, subject quoted:
 *   cannot open bundle 'x.tar': truncated zstd stream at byte 1234
 */
#ifndef KT_ERROR_H
#define KT_ERROR_H

#include <stdarg.h>

/* Record a message for the error 'err' (a negative errno) and return 'err', so
 * call sites can write: return kt_err_set(-EPROTO, "bad block %u", n); */
int kt_err_set(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix the current message with context: "reading 'x': " + old message. */
int kt_err_wrap(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The last message set on this thread, or strerror(-err) when none was set
 * since kt_err_clear(). Borrowed: valid until the next kt_err_* call. */
const char *kt_err_msg(int err);

void kt_err_clear(void);

#endif
