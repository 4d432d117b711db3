/* tracefs.h - find (or mount) tracefs, where tracepoints are listed.
 *
 * Nodes often boot without tracefs mounted. libbpf reads tracepoint ids from
 * /sys/kernel/tracing (or /sys/kernel/debug/tracing when debugfs has it), so
 * that is where we mount it when it is missing.
 */
#ifndef KT_TRACEFS_H
#define KT_TRACEFS_H

#include <stdbool.h>
#include <stddef.h>

#define KT_TRACEFS_DEFAULT "/sys/kernel/tracing"

/* The directory of a mounted tracefs into buf. With 'mount_missing', mounts
 * one at KT_TRACEFS_DEFAULT when none is found, and sets *mounted. Returns 0,
 * -ENOENT (not mounted, not asked to mount) or the mount error, with
 * kt_err_set() naming what to do. */
int kt_tracefs_find(char *buf, size_t len, bool mount_missing, bool *mounted);

/* Does <tracefs>/events/<category>/<name> exist? */
bool kt_tracepoint_exists(const char *tracefs, const char *category,
			  const char *name);

#endif
