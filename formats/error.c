/* error.c - per-thread last error message (see error.h). */
#include "error.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char last_msg[1024];

int kt_err_set(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	return err;
}

int kt_err_wrap(int err, const char *fmt, ...)
{
	char prefix[512], old[sizeof(last_msg)];
	va_list ap;

	if (!last_msg[0])
		snprintf(last_msg, sizeof(last_msg), "%s", strerror(err < 0 ? -err : err));
	memcpy(old, last_msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	snprintf(last_msg, sizeof(last_msg), "%s: %s", prefix, old);
	return err;
}

const char *kt_err_msg(int err)
{
	if (!last_msg[0])
		return strerror(err < 0 ? -err : err);
	return last_msg;
}

void kt_err_clear(void)
{
	last_msg[0] = '\0';
}
