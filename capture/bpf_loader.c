/* bpf_loader.c - load and attach ktflow, read its ring buffer (see
 * bpf_loader.h).
 *
 * Degrading, not failing: before load, programs whose tracepoint is absent
 * are switched off; if the load still fails, each remaining program is
 * loaded alone once to find the ones the verifier refuses, and the object is
 * loaded again without them. Attach failures drop only that program.
 */
#include "bpf_loader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "error.h"
#include "ktflow.skel.h"
#include "tracefs.h"

#define KT_MAX_PROGS 32

enum prog_status { P_ATTACHED = 0, P_MISSING, P_LOAD_FAILED, P_ATTACH_FAILED };
static const char *const status_names[] = {
	"attached", "missing", "load_failed", "attach_failed",
};

struct prog_state {
	char name[48];
	char hook[96];		/* "sock/inet_sock_set_state", "uprobe" */
	int status;
	char error[160];
};

struct kt_bpf {
	struct ktflow *skel;
	struct ring_buffer *rb;
	struct bpf_link *links[KT_MAX_PROGS];
	struct prog_state progs[KT_MAX_PROGS];
	int nprogs;
	int ncpus;
	int (*cb)(void *, const void *, size_t);
	void *cb_ctx;
	int cb_err;
	bool stats_attached;
	uint64_t drained;	/* folded events handed over by the drain */
};

/* libbpf's messages: kept (the last warning explains a failed load), never
 * printed from library code. */
static _Thread_local char libbpf_last[256];

/* The verifier's reason, in a program load log: the line before its
 * statistics ("verification time ...", "processed N insns"). */
static void verifier_reason(const char *log)
{
	const char *l = log, *prev = NULL, *prevend = NULL, *e;

	for (; *l; l = *e ? e + 1 : e) {
		e = strchr(l, '\n');
		if (!e)
			e = l + strlen(l);
		if (!strncmp(l, "verification time", 17) || !strncmp(l, "processed ", 10))
			break;
		if (e > l) {
			prev = l;
			prevend = e;
		}
	}
	if (prev)
		snprintf(libbpf_last, sizeof(libbpf_last), "verifier: %.*s",
			 (int)(prevend - prev), prev);
}

__attribute__((format(printf, 2, 0)))
static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512], *log;
	size_t n;
	va_list aq;
	int len;

	if (level == LIBBPF_DEBUG)
		return 0;
	if (strstr(fmt, "-- BEGIN PROG LOAD LOG --")) {
		/* the whole verifier log, its reason near the end */
		va_copy(aq, ap);
		len = vsnprintf(NULL, 0, fmt, aq);
		va_end(aq);
		log = len > 0 ? malloc((size_t)len + 1) : NULL;
		if (log) {
			vsnprintf(log, (size_t)len + 1, fmt, ap);
			verifier_reason(strstr(log, "-- BEGIN PROG LOAD LOG --") + 26);
			free(log);
		}
		return 0;
	}
	/* the verifier's reason says more than what follows it */
	if (!strncmp(libbpf_last, "verifier: ", 10))
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	if (n)
		snprintf(libbpf_last, sizeof(libbpf_last), "%s", line);
	return 0;
}

bool kt_bpf_tracepoint_of(const char *sec, char *cat, size_t clen, char *name, size_t nlen)
{
	const char *s;

	if (!strncmp(sec, "tracepoint/", 11)) {
		s = strchr(sec + 11, '/');
		if (!s)
			return false;
		snprintf(cat, clen, "%.*s", (int)(s - (sec + 11)), sec + 11);
		snprintf(name, nlen, "%s", s + 1);
		return true;
	}
	if (!strncmp(sec, "raw_tp/", 7)) {
		s = sec + 7;
		snprintf(cat, clen, "%s", !strncmp(s, "sched_", 6) ? "sched" :
			 !strncmp(s, "tcp_", 4) ? "tcp" :
			 !strcmp(s, "inet_sock_set_state") ? "sock" : "");
		snprintf(name, nlen, "%s", s);
		return cat[0] != '\0';
	}
	return false;
}

static struct ktflow *open_configured(const struct kt_bpf_opts *o)
{
	struct ktflow *skel = ktflow__open();

	if (!skel)
		return NULL;
	skel->rodata->stats_min_age_ns = o->stats_min_age_ns;
	skel->rodata->fold_interval_ns = o->fold_interval_ns;
	skel->rodata->wakeup_bytes = o->wakeup_bytes == UINT32_MAX ? 0 :
				     o->wakeup_bytes ? o->wakeup_bytes : o->ringbuf_bytes / 4;
	bpf_map__set_max_entries(skel->maps.events, o->ringbuf_bytes);
	bpf_map__set_max_entries(skel->maps.flows, o->max_flows);
	return skel;
}

/* Open and load with only the programs whose bit is set in 'want'. */
static int load_only(struct ktflow **out, const struct kt_bpf_opts *o, uint32_t want)
{
	struct ktflow *skel = open_configured(o);
	struct bpf_program *p;
	int i = 0, err;

	*out = NULL;
	if (!skel)
		return -errno ? -errno : -ENOMEM;
	bpf_object__for_each_program(p, skel->obj) {
		bpf_program__set_autoload(p, i < KT_MAX_PROGS && (want & (1u << i)));
		i++;
	}
	err = ktflow__load(skel);
	if (err) {
		ktflow__destroy(skel);
		return err;
	}
	*out = skel;
	return 0;
}

/* File offset of kt_bpf_stats_trigger in the mapping that holds it, for the
 * uprobe: works on stripped binaries, which have no symbol to look up. */
static int trigger_offset(size_t *off)
{
	uintptr_t addr = (uintptr_t)&kt_bpf_stats_trigger;
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end, pgoff;

		if (sscanf(line, "%lx-%lx %*s %lx", &start, &end, &pgoff) != 3)
			continue;
		if (addr >= start && addr < end) {
			*off = addr - start + pgoff;
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

__attribute__((noinline)) void kt_bpf_stats_trigger(void)
{
	/* the uprobe does the work; keep the call from being optimized out */
	__asm__ volatile("" ::: "memory");
}

static int attach_uprobe(struct kt_bpf *b, struct bpf_program *p, struct prog_state *ps)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo);
	size_t off = 0;
	int err = trigger_offset(&off);

	if (err) {
		snprintf(ps->error, sizeof(ps->error),
			 "cannot find kt_bpf_stats_trigger in /proc/self/maps");
		return err;
	}
	b->links[ps - b->progs] = bpf_program__attach_uprobe_opts(p, getpid(),
								   "/proc/self/exe", off, &uo);
	if (!b->links[ps - b->progs])
		return -errno;
	return 0;
}

/* Attach one loaded program; a failure is recorded in its state. */
static int attach_one(struct kt_bpf *b, struct bpf_program *p, struct prog_state *ps)
{
	int err;

	libbpf_last[0] = '\0';
	if (!strcmp(ps->hook, "uprobe")) {
		err = attach_uprobe(b, p, ps);
		if (!err)
			b->stats_attached = true;
	} else {
		b->links[ps - b->progs] = bpf_program__attach(p);
		err = b->links[ps - b->progs] ? 0 : -errno;
	}
	if (err) {
		ps->status = P_ATTACH_FAILED;
		if (!ps->error[0])
			snprintf(ps->error, sizeof(ps->error), "%s",
				 libbpf_last[0] ? libbpf_last : strerror(-err));
	}
	return err;
}

static int on_sample(void *ctx, void *data, size_t size)
{
	struct kt_bpf *b = ctx;
	int err = b->cb(b->cb_ctx, data, size);

	if (err)
		b->cb_err = err;
	return err;
}

int kt_bpf_open(struct kt_bpf **out, const struct kt_bpf_opts *opts,
		int (*cb)(void *cb_ctx, const void *data, size_t len), void *cb_ctx)
{
	struct kt_bpf_opts o = opts ? *opts : (struct kt_bpf_opts){ 0 };
	struct kt_bpf *b = calloc(1, sizeof(*b));
	char tracefs[256], cat[32], name[64];
	uint32_t want = 0;
	struct bpf_program *p;
	struct ktflow *probe = NULL;
	int i, err, attached = 0;

	*out = NULL;
	if (!b)
		return kt_err_set(-ENOMEM, "out of memory");
	libbpf_set_print(libbpf_quiet);
	b->cb = cb;
	b->cb_ctx = cb_ctx;
	if (!o.ringbuf_bytes)
		o.ringbuf_bytes = 4u << 20;
	if (!o.max_flows)
		o.max_flows = 16384;
	if (!o.stats_min_age_ns)
		o.stats_min_age_ns = 5000000000ULL;
	if (!o.fold_interval_ns)
		o.fold_interval_ns = 1000000000ULL;
	b->ncpus = libbpf_num_possible_cpus();
	if (b->ncpus <= 0) {
		err = kt_err_set(b->ncpus ? b->ncpus : -EINVAL, "cannot count possible cpus");
		goto out;
	}

	if (o.tracefs) {
		snprintf(tracefs, sizeof(tracefs), "%s", o.tracefs);
	} else {
		err = kt_tracefs_find(tracefs, sizeof(tracefs), true, NULL);
		if (err)
			goto out;
	}

	/* Which programs have their tracepoint here. */
	b->skel = open_configured(&o);
	if (!b->skel) {
		err = kt_err_set(-errno ? -errno : -EINVAL,
				 "cannot open the eBPF object: %s", libbpf_last);
		goto out;
	}
	i = 0;
	bpf_object__for_each_program(p, b->skel->obj) {
		struct prog_state *ps;
		const char *sec = bpf_program__section_name(p);

		if (i >= KT_MAX_PROGS)
			break;
		ps = &b->progs[i];
		snprintf(ps->name, sizeof(ps->name), "%s", bpf_program__name(p));
		if (kt_bpf_tracepoint_of(sec, cat, sizeof(cat), name, sizeof(name))) {
			snprintf(ps->hook, sizeof(ps->hook), "%s/%s", cat, name);
			if (!kt_tracepoint_exists(tracefs, cat, name)) {
				ps->status = P_MISSING;
				snprintf(ps->error, sizeof(ps->error),
					 "no tracepoint %s/%s in this kernel", cat, name);
				i++;
				continue;
			}
		} else {
			snprintf(ps->hook, sizeof(ps->hook), "%s", sec);
		}
		want |= 1u << i;
		i++;
	}
	b->nprogs = i;
	ktflow__destroy(b->skel);
	b->skel = NULL;

	err = load_only(&b->skel, &o, want);
	if (err) {
		/* find the programs this kernel refuses, one by one */
		for (i = 0; i < b->nprogs; i++) {
			if (!(want & (1u << i)))
				continue;
			libbpf_last[0] = '\0';
			if (load_only(&probe, &o, 1u << i) == 0) {
				ktflow__destroy(probe);
				continue;
			}
			want &= ~(1u << i);
			b->progs[i].status = P_LOAD_FAILED;
			snprintf(b->progs[i].error, sizeof(b->progs[i].error), "%s",
				 libbpf_last[0] ? libbpf_last : "refused by the verifier");
		}
		err = want ? load_only(&b->skel, &o, want) : -ENOTSUP;
		if (err) {
			err = kt_err_set(err < 0 ? err : -EINVAL,
					 "cannot load the eBPF programs: %s",
					 libbpf_last[0] ? libbpf_last : strerror(-err));
			goto out;
		}
	}

	/* kt_set_state_nested must run after kt_set_state on their
	 * tracepoint, and the kernel runs a tracepoint's programs in the
	 * order they were attached: it goes last. */
	i = 0;
	bpf_object__for_each_program(p, b->skel->obj) {
		if (i >= b->nprogs)
			break;
		if ((want & (1u << i)) && strcmp(b->progs[i].name, "kt_set_state_nested"))
			attached += attach_one(b, p, &b->progs[i]) == 0;
		i++;
	}
	i = 0;
	bpf_object__for_each_program(p, b->skel->obj) {
		if (i >= b->nprogs)
			break;
		if ((want & (1u << i)) && !strcmp(b->progs[i].name, "kt_set_state_nested"))
			attached += attach_one(b, p, &b->progs[i]) == 0;
		i++;
	}
	if (!attached) {
		err = kt_err_set(-ENOTSUP, "no eBPF program could be attached");
		goto out;
	}

	b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.events), on_sample, b, NULL);
	if (!b->rb) {
		err = kt_err_set(-errno ? -errno : -EINVAL,
				 "cannot open the eBPF ring buffer: %s", strerror(errno));
		goto out;
	}
	*out = b;
	b = NULL;
	err = 0;
out:
	kt_bpf_close(b);
	return err;
}

int kt_bpf_fd(const struct kt_bpf *b)
{
	return ring_buffer__epoll_fd(b->rb);
}

int kt_bpf_poll(struct kt_bpf *b, int timeout_ms)
{
	int n, m = 0;

	b->cb_err = 0;
	/* events below the wakeup mark do not wake epoll: consume anyway */
	n = timeout_ms ? ring_buffer__poll(b->rb, timeout_ms) : 0;
	if (n >= 0 && !b->cb_err) {
		m = ring_buffer__consume(b->rb);
		n = m < 0 ? m : n + m;
	}
	if (b->cb_err)
		return b->cb_err;
	if (n == -EINTR)
		return 0;
	if (n < 0)
		return kt_err_set(n, "cannot read the eBPF ring buffer: %s", strerror(-n));
	return n;
}

int kt_bpf_trigger_stats(struct kt_bpf *b)
{
	if (!b->stats_attached)
		return -ENOTSUP;
	kt_bpf_stats_trigger();
	return 0;
}

/* Take folded entries out of the map (all, or those idle for idle_ns) and
 * hand what they hold pending to the callback. lookup-and-delete is atomic,
 * so a send folded at that very moment is either in the value we get or
 * starts a new entry (and goes out at once): never lost. */
static int fold_sweep(struct kt_bpf *b, uint64_t idle_ns)
{
	int fd = bpf_map__fd(b->skel->maps.folds);
	size_t ksz = bpf_map__key_size(b->skel->maps.folds);
	size_t vsz = bpf_map__value_size(b->skel->maps.folds);
	size_t max = bpf_map__max_entries(b->skel->maps.folds), n = 0, i;
	unsigned char *keys = NULL, *val = NULL;
	struct kt_ev_flow ev;
	struct timespec ts;
	uint64_t now;
	int err = 0;

	/* struct fold_val: last_emit, pending, pending_bytes, then the event */
	if (vsz < 24 + sizeof(ev))
		return kt_err_set(-EPROTO, "unexpected fold map layout");
	keys = malloc(max * ksz);
	val = malloc(vsz);
	if (!keys || !val) {
		err = kt_err_set(-ENOMEM, "out of memory");
		goto out;
	}
	/* the keys first: deleting while walking would restart the walk */
	while (n < max && bpf_map_get_next_key(fd, n ? keys + (n - 1) * ksz : NULL,
					       keys + n * ksz) == 0)
		n++;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	for (i = 0; i < n; i++) {
		const void *key = keys + i * ksz;
		uint64_t last, pending, bytes;

		if (idle_ns) {
			if (bpf_map_lookup_elem(fd, key, val))
				continue;
			memcpy(&last, val, 8);
			if (now < last || now - last < idle_ns)
				continue;
		}
		if (bpf_map_lookup_and_delete_elem(fd, key, val))
			continue;	/* gone meanwhile */
		memcpy(&pending, val + 8, 8);
		memcpy(&bytes, val + 16, 8);
		memcpy(&ev, val + 24, sizeof(ev));
		if (!pending || ev.type != KT_EV_FLOW)
			continue;
		ev.count = (uint32_t)(pending > UINT32_MAX ? UINT32_MAX : pending);
		ev.bytes_sent = bytes;
		b->drained += pending;
		err = b->cb(b->cb_ctx, &ev, sizeof(ev));
		if (err)
			break;
	}
out:
	free(keys);
	free(val);
	return err;
}

/* The programs run for every process of the machine: as long as they are
 * attached, another process's sends are folded, even between the drain and
 * the reading of the counters, and FOLDED - UNFOLDED - drained would count
 * them as lost. Detached, and with every run already under way finished
 * (they run under RCU: a global membarrier waits for a grace period), the
 * counters stand still and the drain takes all there is. */
int kt_bpf_detach(struct kt_bpf *b)
{
	int i;

	for (i = 0; i < KT_MAX_PROGS; i++) {
		bpf_link__destroy(b->links[i]);
		b->links[i] = NULL;
	}
	b->stats_attached = false;
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0))
		return kt_err_set(-errno, "cannot wait for the eBPF programs to finish: %s",
				  strerror(errno));
	return 0;
}

int kt_bpf_detach_program(struct kt_bpf *b, const char *name)
{
	int i;

	for (i = 0; i < b->nprogs; i++) {
		if (strcmp(b->progs[i].name, name) || !b->links[i])
			continue;
		bpf_link__destroy(b->links[i]);
		b->links[i] = NULL;
		return 0;
	}
	return -ENOENT;
}

int kt_bpf_drain_folds(struct kt_bpf *b)
{
	return fold_sweep(b, 0);
}

int kt_bpf_prune_folds(struct kt_bpf *b, uint64_t idle_ns)
{
	return fold_sweep(b, idle_ns ? idle_ns : 1);
}

uint64_t kt_bpf_lost_folded(const struct kt_bpf *b)
{
	uint64_t c[KT_CNT__MAX];

	if (kt_bpf_counters(b, c))
		return 0;
	return c[KT_CNT_FOLDED] > c[KT_CNT_UNFOLDED] + b->drained ?
	       c[KT_CNT_FOLDED] - c[KT_CNT_UNFOLDED] - b->drained : 0;
}

int kt_bpf_counters(const struct kt_bpf *b, uint64_t out[KT_CNT__MAX])
{
	int fd = bpf_map__fd(b->skel->maps.counters);
	uint64_t *vals = calloc((size_t)b->ncpus, sizeof(*vals));
	uint32_t k;
	int c, err = 0;

	if (!vals)
		return kt_err_set(-ENOMEM, "out of memory");
	for (k = 0; k < KT_CNT__MAX; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals)) {
			err = kt_err_set(-errno, "cannot read the eBPF counters: %s",
					 strerror(errno));
			break;
		}
		for (c = 0; c < b->ncpus; c++)
			out[k] += vals[c];
	}
	free(vals);
	return err;
}

/* The kernel's count of runs it skipped for one program, -1 if unknown. */
static int64_t prog_missed(const struct kt_bpf *b, int i, const struct bpf_program *p)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd = bpf_program__fd(p);

	if (b->progs[i].status != P_ATTACHED || fd < 0)
		return -1;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -1;
	return (int64_t)info.recursion_misses;
}

json_t *kt_bpf_programs_json(const struct kt_bpf *b)
{
	json_t *arr = json_array();
	struct bpf_program *p;
	int i = 0;

	bpf_object__for_each_program(p, b->skel->obj) {
		const struct prog_state *ps = &b->progs[i];
		int64_t missed;
		json_t *o;

		if (!arr || i >= b->nprogs)
			break;
		o = json_pack("{s:s, s:s, s:s}", "program", ps->name,
			      "hook", ps->hook, "status", status_names[ps->status]);
		if (o && ps->error[0])
			json_object_set_new(o, "error", json_string(ps->error));
		/* which events a loss counted in lost_missed_runs was */
		missed = prog_missed(b, i, p);
		if (o && missed >= 0)
			json_object_set_new(o, "missed_runs", json_integer(missed));
		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
		i++;
	}
	return arr;
}

uint64_t kt_bpf_missed(const struct kt_bpf *b)
{
	struct bpf_program *p;
	uint64_t n = 0;
	int i = 0;

	bpf_object__for_each_program(p, b->skel->obj) {
		int64_t missed;

		if (i >= b->nprogs)
			break;
		missed = prog_missed(b, i++, p);
		/* skipped only while it runs on the CPU, after kt_set_state
		 * took the state change: nothing lost */
		if (missed > 0 && strcmp(bpf_program__name(p), "kt_set_state_nested"))
			n += (uint64_t)missed;
	}
	return n;
}

json_t *kt_bpf_prog_stats_json(const struct kt_bpf *b)
{
	json_t *arr = json_array();
	struct bpf_program *p;
	int i = 0;

	bpf_object__for_each_program(p, b->skel->obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(p);

		if (i >= b->nprogs || !arr)
			break;
		if (b->progs[i++].status != P_ATTACHED || fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			continue;
		json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:I}", "program",
						     bpf_program__name(p),
						     "runs", (json_int_t)info.run_cnt,
						     "run_time_ns", (json_int_t)info.run_time_ns,
						     "missed", (json_int_t)info.recursion_misses));
	}
	return arr;
}

json_t *kt_bpf_drop_reasons_json(void)
{
	json_t *o = json_object();
	struct btf *btf = btf__load_vmlinux_btf();
	const struct btf_type *t;
	const struct btf_enum *e;
	int id, i;

	if (!o || !btf)
		goto out;
	id = btf__find_by_name_kind(btf, "skb_drop_reason", BTF_KIND_ENUM);
	if (id < 0)
		goto out;
	t = btf__type_by_id(btf, (__u32)id);
	e = btf_enum(t);
	for (i = 0; i < btf_vlen(t); i++, e++) {
		const char *name = btf__name_by_offset(btf, e->name_off);
		char key[16];

		if (!name)
			continue;
		if (!strncmp(name, "SKB_DROP_REASON_", 16))
			name += 16;
		snprintf(key, sizeof(key), "%d", (int)e->val);
		json_object_set_new(o, key, json_string(name));
	}
out:
	btf__free(btf);
	return o;
}

int kt_bpf_attached(const struct kt_bpf *b, const char *name)
{
	int i;

	for (i = 0; i < b->nprogs; i++)
		if (!strcmp(b->progs[i].name, name))
			return b->progs[i].status == P_ATTACHED;
	return 0;
}

void kt_bpf_close(struct kt_bpf *b)
{
	int i;

	if (!b)
		return;
	ring_buffer__free(b->rb);
	for (i = 0; i < KT_MAX_PROGS; i++)
		bpf_link__destroy(b->links[i]);
	ktflow__destroy(b->skel);
	free(b);
}
