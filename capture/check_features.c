/* check_features.c - `ktcap check`: each source's needs on this node (see
 * check_features.h).
 *
 * The tracepoints checked are read from the eBPF object itself (its program
 * section names), so the list cannot drift from what the capture attaches.
 */
#include "check_features.h"

#include <errno.h>
#include <ifaddrs.h>
#include <stdbool.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "bpf_loader.h"
#include "error.h"
#include "ktflow.skel.h"
#include "tracefs.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

static const char *const status_names[] = { "ok", "missing", "warn" };

const char *kt_check_status_name(int status)
{
	return status >= 0 && status <= KT_CHECK_WARN ? status_names[status] : "?";
}

__attribute__((format(printf, 5, 6)))
static int add(struct kt_check_list *l, const char *source, const char *name,
	       int status, const char *detail_fmt, ...)
{
	struct kt_check_item *it;
	va_list ap;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct kt_check_item *n = realloc(l->items, cap * sizeof(*n));

		if (!n)
			return kt_err_set(-ENOMEM, "out of memory");
		l->items = n;
		l->cap = cap;
	}
	it = &l->items[l->n++];
	memset(it, 0, sizeof(*it));
	snprintf(it->name, sizeof(it->name), "%s", name);
	snprintf(it->source, sizeof(it->source), "%s", source);
	it->status = status;
	va_start(ap, detail_fmt);
	vsnprintf(it->detail, sizeof(it->detail), detail_fmt, ap);
	va_end(ap);
	return 0;
}

static void fix(struct kt_check_list *l, const char *text)
{
	snprintf(l->items[l->n - 1].fix, sizeof(l->items[0].fix), "%s", text);
}

/* Effective capability bit from /proc/self/status. */
bool kt_has_cap(int bit)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long eff = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (eff >> bit) & 1;
}

bool kt_bpf_privileged(void)
{
	/* CAP_SYS_ADMIN 21, or CAP_PERFMON 38 with CAP_BPF 39 */
	return kt_has_cap(21) || (kt_has_cap(38) && kt_has_cap(39));
}

static bool on_path(const char *prog, char *found, size_t len)
{
	const char *path = getenv("PATH");
	const char *p, *e;

	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; *p; p = *e ? e + 1 : e) {
		e = strchr(p, ':');
		if (!e)
			e = p + strlen(p);
		snprintf(found, len, "%.*s/%s", (int)(e - p), p, prog);
		if (e > p && access(found, X_OK) == 0)
			return true;
	}
	return false;
}

static int check_kernel(struct kt_check_list *l)
{
	struct utsname u;
	int maj = 0, min = 0, err;

	if (uname(&u) < 0)
		return add(l, "bpf", "kernel version", KT_CHECK_WARN, "uname failed");
	sscanf(u.release, "%d.%d", &maj, &min);
	/* ring buffers came in 5.8 */
	err = add(l, "bpf", "kernel version",
		  maj > 5 || (maj == 5 && min >= 8) ? KT_CHECK_OK : KT_CHECK_MISSING,
		  "%s", u.release);
	if (!err && l->items[l->n - 1].status)
		fix(l, "the eBPF capture needs Linux 5.8 or later; pcap, k8s and host still run");
	return err;
}

static int check_privileges(struct kt_check_list *l)
{
	bool ok = kt_bpf_privileged();
	int err = add(l, "bpf", "privileges", ok ? KT_CHECK_OK : KT_CHECK_MISSING,
		      "uid %u, CAP_SYS_ADMIN %s, CAP_BPF %s, CAP_PERFMON %s",
		      (unsigned)geteuid(), kt_has_cap(21) ? "yes" : "no",
		      kt_has_cap(39) ? "yes" : "no", kt_has_cap(38) ? "yes" : "no");

	if (!err && !ok)
		fix(l, "run as root, or grant CAP_BPF and CAP_PERFMON (CAP_SYS_ADMIN on kernels before 5.8)");
	return err;
}

static int check_btf(struct kt_check_list *l)
{
	bool ok = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	int err = add(l, "bpf", "kernel BTF", ok ? KT_CHECK_OK : KT_CHECK_MISSING,
		      ok ? "/sys/kernel/btf/vmlinux" : "no /sys/kernel/btf/vmlinux");

	if (!err && !ok)
		fix(l, "needs a kernel built with CONFIG_DEBUG_INFO_BTF=y (CO-RE reads kernel structs)");
	return err;
}

static int check_probes(struct kt_check_list *l)
{
	int r, err;

	if (!kt_bpf_privileged()) {
		/* the kernel refuses every probe without privileges: that
		 * says nothing about the kernel */
		err = add(l, "bpf", "ring buffer", KT_CHECK_MISSING,
			  "not probed: loading eBPF needs privileges");
		if (!err)
			fix(l, "run 'ktcap check' as root to probe eBPF features");
		return err;
	}

	r = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
	err = add(l, "bpf", "ring buffer", r == 1 ? KT_CHECK_OK : KT_CHECK_MISSING,
		  r == 1 ? "BPF_MAP_TYPE_RINGBUF loads" :
		  r == 0 ? "BPF_MAP_TYPE_RINGBUF refused" : "cannot probe: %s",
		  strerror(r < 0 ? -r : 0));
	if (!err && r != 1)
		fix(l, r < 0 ? "run as root to probe eBPF features" :
		    "needs Linux 5.8 or later with BPF ring buffers");
	if (err)
		return err;
	r = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL);
	err = add(l, "bpf", "tracepoint programs", r == 1 ? KT_CHECK_OK : KT_CHECK_MISSING,
		  r == 1 ? "BPF_PROG_TYPE_TRACEPOINT loads" :
		  r == 0 ? "BPF_PROG_TYPE_TRACEPOINT refused" : "cannot probe: %s",
		  strerror(r < 0 ? -r : 0));
	if (!err && r != 1)
		fix(l, r < 0 ? "run as root to probe eBPF features" :
		    "needs CONFIG_BPF_EVENTS; an LSM or seccomp policy may refuse bpf()");
	if (err)
		return err;
	r = access("/sys/bus/event_source/devices/uprobe/type", R_OK) == 0;
	err = add(l, "bpf", "uprobes", r ? KT_CHECK_OK : KT_CHECK_WARN,
		  r ? "uprobe PMU present" : "no uprobe PMU");
	if (!err && !r)
		fix(l, "periodic STATS of long-lived connections need CONFIG_UPROBE_EVENTS; opens and closes still recorded");
	return err;
}

static int check_tracepoints(struct kt_check_list *l)
{
	char tracefs[256], name[128], cat[32], ev[64];
	bool mounted = false;
	struct ktflow *skel;
	struct bpf_program *p;
	int err;

	err = kt_tracefs_find(tracefs, sizeof(tracefs), true, &mounted);
	if (err) {
		int e = err;

		err = add(l, "bpf", "tracefs", KT_CHECK_MISSING, "%s", kt_err_msg(e));
		if (!err)
			fix(l, e == -EACCES ? "run as root" :
			    "mount -t tracefs tracefs " KT_TRACEFS_DEFAULT);
		return err;
	}
	err = add(l, "bpf", "tracefs", KT_CHECK_OK, "%s%s", tracefs,
		  mounted ? " (mounted now)" : "");
	if (err)
		return err;
	skel = ktflow__open();
	if (!skel)
		return add(l, "bpf", "eBPF object", KT_CHECK_MISSING,
			   "cannot open the embedded object");
	bpf_object__for_each_program(p, skel->obj) {
		bool ok;

		if (!kt_bpf_tracepoint_of(bpf_program__section_name(p), cat, sizeof(cat),
					  ev, sizeof(ev)))
			continue;
		ok = kt_tracepoint_exists(tracefs, cat, ev);
		snprintf(name, sizeof(name), "tracepoint %s/%s", cat, ev);
		err = add(l, "bpf", name, ok ? KT_CHECK_OK : KT_CHECK_WARN,
			  ok ? "present (%s)" : "absent: %s is not recorded",
			  bpf_program__name(p));
		if (err)
			break;
		if (!ok)
			fix(l, "this kernel lacks the tracepoint; the other events are still recorded");
	}
	ktflow__destroy(skel);
	return err;
}

static int check_cgroups(struct kt_check_list *l)
{
	struct statfs sf;
	int err;

	if (statfs("/sys/fs/cgroup", &sf) < 0) {
		err = add(l, "host", "cgroup layout", KT_CHECK_MISSING, "no /sys/fs/cgroup");
		if (!err)
			fix(l, "mount the cgroup hierarchies at /sys/fs/cgroup");
		return err;
	}
	if ((unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC)
		return add(l, "host", "cgroup layout", KT_CHECK_OK,
			   "unified (cgroup v2 at /sys/fs/cgroup)");
	if ((unsigned long)sf.f_type == TMPFS_MAGIC) {
		bool v2 = statfs("/sys/fs/cgroup/unified", &sf) == 0 &&
			  (unsigned long)sf.f_type == CGROUP2_SUPER_MAGIC;

		return add(l, "host", "cgroup layout", KT_CHECK_OK,
			   v2 ? "hybrid (v1 controllers, v2 at /sys/fs/cgroup/unified)" :
			   "legacy (cgroup v1 only)");
	}
	err = add(l, "host", "cgroup layout", KT_CHECK_WARN,
		  "/sys/fs/cgroup has an unknown file system type 0x%lx",
		  (unsigned long)sf.f_type);
	if (!err)
		fix(l, "pods are attributed through cgroup paths; check the container runtime's layout");
	return err;
}

/* Host facts enter every network namespace (setns: CAP_SYS_ADMIN); the
 * conntrack source subscribes to netlink events (CAP_NET_ADMIN). Without
 * them both still record what the current namespace shows. */
static int check_host_privileges(struct kt_check_list *l)
{
	bool sys = kt_has_cap(21), net = kt_has_cap(12);
	int err = add(l, "host", "network namespaces", sys ? KT_CHECK_OK : KT_CHECK_WARN,
		      "CAP_SYS_ADMIN %s", sys ? "yes" : "no");

	if (!err && !sys)
		fix(l, "run as root to see every pod's interfaces and sockets; "
		       "without it only ktcap's own network namespace is read");
	if (!err)
		err = add(l, "conntrack", "conntrack events", net ? KT_CHECK_OK : KT_CHECK_MISSING,
			  "CAP_NET_ADMIN %s", net ? "yes" : "no");
	if (!err && !net)
		fix(l, "run as root, or grant CAP_NET_ADMIN, to tie ClusterIP connections "
		       "to their backends");
	return err;
}

static int check_kubectl(struct kt_check_list *l)
{
	char found[512];
	bool ok = on_path("kubectl", found, sizeof(found));
	int err = add(l, "k8s", "kubectl", ok ? KT_CHECK_OK : KT_CHECK_MISSING,
		      ok ? "%s" : "not on PATH", found);

	if (!err && !ok)
		fix(l, "install kubectl or pass --kubectl PATH; the other sources still run");
	return err;
}

static int check_interfaces(struct kt_check_list *l)
{
	struct ifaddrs *ifa, *i;
	char names[160] = "";
	size_t used = 0;
	int up = 0, err;

	if (getifaddrs(&ifa) < 0)
		return add(l, "pcap", "interfaces", KT_CHECK_WARN, "getifaddrs: %s",
			   strerror(errno));
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_PACKET)
			continue;	/* one entry per interface */
		if (!(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		up++;
		if (used < sizeof(names) - 1)
			used += (size_t)snprintf(names + used, sizeof(names) - used,
						 "%s%s", used ? " " : "", i->ifa_name);
	}
	freeifaddrs(ifa);
	err = add(l, "pcap", "interfaces", up ? KT_CHECK_OK : KT_CHECK_WARN,
		  "%d up besides loopback%s%s", up, up ? ": " : "", names);
	if (!err && !up)
		fix(l, "no interface to capture packets on; run in the host network namespace");
	return err;
}

/* From pcap/pcap.h, which cannot be included beside linux/bpf.h: both
 * define struct bpf_insn. */
const char *pcap_lib_version(void);

/* libpcap captures with a packet socket (CAP_NET_RAW); the pcap source
 * writes pcapng itself, reads and filters through libpcap. */
static int check_pcap(struct kt_check_list *l)
{
	bool raw = kt_has_cap(13);	/* CAP_NET_RAW */
	int err = add(l, "pcap", "libpcap", KT_CHECK_OK, "%s", pcap_lib_version());

	if (!err)
		err = add(l, "pcap", "packet capture", raw ? KT_CHECK_OK : KT_CHECK_MISSING,
			  "CAP_NET_RAW %s", raw ? "yes" : "no");
	if (!err && !raw)
		fix(l, "run as root, or grant CAP_NET_RAW, for packets around failures and "
		       "DNS records; the other sources still run");
	return err;
}

int kt_check_features(struct kt_check_list *l)
{
	int err;

	libbpf_set_print(NULL);
	if ((err = check_kernel(l)) || (err = check_privileges(l)) ||
	    (err = check_btf(l)) || (err = check_probes(l)) ||
	    (err = check_tracepoints(l)) || (err = check_cgroups(l)) ||
	    (err = check_host_privileges(l)) ||
	    (err = check_kubectl(l)) || (err = check_pcap(l)) ||
	    (err = check_interfaces(l)))
		return err;
	return 0;
}

void kt_check_list_release(struct kt_check_list *l)
{
	free(l->items);
	memset(l, 0, sizeof(*l));
}

size_t kt_check_count(const struct kt_check_list *l, enum kt_check_status st)
{
	size_t i, n = 0;

	for (i = 0; i < l->n; i++)
		n += l->items[i].status == (int)st;
	return n;
}

json_t *kt_check_to_json(const struct kt_check_list *l)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; arr && i < l->n; i++) {
		const struct kt_check_item *it = &l->items[i];
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", it->name,
				      "source", it->source,
				      "status", kt_check_status_name(it->status),
				      "detail", it->detail, "fix", it->fix);

		if (!o || json_array_append_new(arr, o)) {
			json_decref(o);
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}
