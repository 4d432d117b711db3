/* manifest.h - manifest.json, the bundle's first entry (SPEC.md, "Manifest").
 *
 * The manifest is a JSON object whose fields are only ever added to. Capture
 * builds it as a jansson object with these helpers, saves drafts into the
 * spool, and kt_pack() completes it (files, streams, counts, hashes).
 * Readers ignore fields they do not know.
 */
#ifndef KT_MANIFEST_H
#define KT_MANIFEST_H

#include <jansson.h>
#include <stdint.h>

/* A new manifest: format and version, tool name and version, host name, node
 * name (KT_NODE_NAME / NODE_NAME in the environment, else the host name),
 * kernel release, boot id, creation time, "complete": false. Caller owns the
 * reference. NULL on allocation failure. */
json_t *kt_manifest_new(const char *tool);

/* Sample CLOCK_REALTIME against CLOCK_BOOTTIME (the eBPF clock) and append
 * {"at": at, "realtime_ns", "boottime_ns", "offset_ns", "uncertainty_ns"} to
 * "clock". The offset turns boot time into UTC: utc = boot + offset. */
int kt_manifest_clock_sample(json_t *m, const char *at, int64_t *offset_ns);

/* Set sources[name] = {"status": status, "message": message, ...details}.
 * status is "ok", "partial", "failed" or "skipped"; message may be NULL.
 * details (may be NULL) is merged in and its reference stolen. */
int kt_manifest_set_source(json_t *m, const char *name, const char *status,
			   const char *message, json_t *details);

/* Capture window in UTC ns: sets "window": {start_ns, end_ns, start, end}. */
int kt_manifest_set_window(json_t *m, uint64_t start_ns, uint64_t end_ns);

/* Check "format" and "format_version": 0 when this reader can read it,
 * -EPROTONOSUPPORT for a newer major version, -EPROTO when malformed. */
int kt_manifest_check(const json_t *m);

/* ---- time ---------------------------------------------------------------- */

/* UTC ns as RFC 3339 with nanoseconds: 2026-11-25T08:18:54.123456789Z.
 * buf needs 36 bytes. */
const char *kt_time_str(uint64_t ns, char *buf, size_t len);

/* Parse RFC 3339 (fraction optional, Z or +hh:mm) into UTC ns. */
int kt_time_parse(const char *s, uint64_t *out);

/* A time given on a command line, against the manifest's capture window:
 * RFC 3339, "start", "end", "+DUR" after the start or "-DUR" before the end
 * (DUR as kt_parse_duration()). 0, or -EINVAL with kt_err_set() naming 's'
 * (also when the bundle has no window for a relative time). */
int kt_manifest_time_arg(const json_t *m, const char *s, uint64_t *out);

/* CLOCK_REALTIME now, in ns. */
uint64_t kt_now_ns(void);
/* CLOCK_MONOTONIC now, in ns: for intervals and deadlines. */
uint64_t kt_mono_ns(void);

#endif
