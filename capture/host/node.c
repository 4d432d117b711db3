/* node.c - what the node is: name, kernel, boot, clocks, cgroup layout.
 *
 * eBPF timestamps are CLOCK_BOOTTIME (and CLOCK_MONOTONIC for some helpers);
 * the bundle's one timeline is UTC. The offsets are sampled here at the
 * start and at the end, so ktana can see (and correct for) a clock stepped
 * during the recording.
 */
#include "host_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include "error.h"

static int64_t ns_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* utc = clock + offset, from the bracketing pair with the smallest gap
 * (the one least disturbed by preemption); err_ns is half that gap. */
static void clock_offset(clockid_t clk, int64_t *offset, int64_t *err_ns)
{
	int64_t best = INT64_MAX;

	*offset = 0;
	for (int i = 0; i < 7; i++) {
		struct timespec a, b, c;

		clock_gettime(CLOCK_REALTIME, &a);
		clock_gettime(clk, &b);
		clock_gettime(CLOCK_REALTIME, &c);
		if (ns_of(&c) - ns_of(&a) < best) {
			best = ns_of(&c) - ns_of(&a);
			*offset = ns_of(&a) + best / 2 - ns_of(&b);
		}
	}
	*err_ns = best / 2;
}

static json_t *first_line(const char *path)
{
	char buf[256];
	FILE *f = fopen(path, "re");
	json_t *v = json_null();

	if (!f)
		return v;
	if (fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = '\0';
		json_decref(v);
		v = json_string(buf);
		if (!v)
			v = json_null();
	}
	fclose(f);
	return v;
}

int kt_host_node(json_t **out, const struct kt_host_opts *o)
{
	int64_t boff, berr, moff, merr;
	struct utsname u;
	struct timespec now;
	struct stat st;
	const char *layout;
	char path[PATH_MAX];
	json_t *doc;
	int err = 0;

	if (uname(&u) < 0) {
		err = kt_err_set(-errno, "uname failed: %s", strerror(errno));
		goto out;
	}
	clock_offset(CLOCK_BOOTTIME, &boff, &berr);
	clock_offset(CLOCK_MONOTONIC, &moff, &merr);
	clock_gettime(CLOCK_REALTIME, &now);
	/* unified: /sys/fs/cgroup is cgroup2; hybrid: v1 controllers plus
	 * cgroup2 at /sys/fs/cgroup/unified; legacy: v1 only */
	if (stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0)
		layout = "unified";
	else if (stat("/sys/fs/cgroup/unified/cgroup.procs", &st) == 0)
		layout = "hybrid";
	else
		layout = "legacy";
	snprintf(path, sizeof(path), "%s/sys/kernel/random/boot_id", o->proc_root);
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:o, s:o, s:[]}",
			"node_name", o->node_name ? o->node_name : u.nodename,
			"hostname", u.nodename, "kernel_release", u.release,
			"kernel_version", u.version, "machine", u.machine,
			"ts", (json_int_t)ns_of(&now),
			"boot_to_utc_ns", (json_int_t)boff, "boot_to_utc_err_ns", (json_int_t)berr,
			"mono_to_utc_ns", (json_int_t)moff, "mono_to_utc_err_ns", (json_int_t)merr,
			"boot_time_utc_ns", (json_int_t)boff,
			"cgroup_layout", layout,
			"boot_id", first_line(path),
			"machine_id", first_line("/etc/machine-id"),
			"errors");
	if (!doc) {
		err = kt_err_set(-ENOMEM, "cannot build the node document");
		goto out;
	}
	*out = doc;
out:
	return err;
}
