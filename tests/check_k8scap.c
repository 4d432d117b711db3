/* check_k8scap.c - the k8s recording source against the lab API server
 * (tests/lab/kube-apiserver.py) through the real kubectl: snapshots over
 * time and the watch between them, a denied resource, a hanging request,
 * redaction of planted secrets; and against broken kubectls: missing,
 * hanging, crashing, or echoing credentials on stderr; and kubectl's error
 * lines through the scrubber. Each test starts and stops its own server. */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "k8s.h"
#include "k8scap.h"
#include "redact.h"

#define SEC 1000000000ull
#define SCENARIO KT_SOURCE_DIR "/tests/lab/k8s-scenario.json"
#define SERVER KT_SOURCE_DIR "/tests/lab/kube-apiserver.py"

extern char **environ;

static const char *const planted[] = {
	"PLANTED-SECRET-VALUE-7f3a",
	"UExBTlRFRC1TRUNSRVQtVkFMVUUtN2YzYQ",	/* its base64 */
	"PLANTED-ENV-VALUE-91c2",
	"PLANTED-CM-DATA-44d1",
	"PLANTED-TOKEN-0b8e",
};

static char tmp[256];
static pid_t server_pid;
static int server_port;

static uint64_t utc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			ck_assert_ptr_nonnull(buf);
		}
		size_t r = fread(buf + n, 1, 4096, f);

		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

static void tmp_setup(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/kt-k8scap-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	/* kubectl keeps its discovery cache under $HOME/.kube. */
	setenv("HOME", tmp, 1);
	unsetenv("KUBECONFIG");
}

static void rm_rf(const char *path)
{
	struct dirent **ents;
	int n = scandir(path, &ents, NULL, NULL);

	for (int i = 0; i < n; i++) {
		char child[4096];
		struct stat st;

		if (strcmp(ents[i]->d_name, ".") && strcmp(ents[i]->d_name, "..")) {
			snprintf(child, sizeof(child), "%s/%s", path, ents[i]->d_name);
			if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
				rm_rf(child);
			else
				unlink(child);
		}
		free(ents[i]);
	}
	free(ents);
	rmdir(path);
}

static void server_start(void)
{
	char portfile[512], kc[1024], path[512];
	char *argv[] = { "python3", SERVER, SCENARIO, "--port-file", portfile, NULL };
	char *text;

	snprintf(portfile, sizeof(portfile), "%s/port", tmp);
	ck_assert_int_eq(posix_spawnp(&server_pid, "python3", NULL, NULL, argv, environ), 0);
	/* Bounded wait for the port file (written once it listens). */
	for (int i = 0; i < 200 && access(portfile, R_OK) != 0; i++)
		sleep_ms(50);
	text = read_text(portfile, NULL);
	ck_assert_msg(text != NULL, "the lab API server did not start");
	server_port = atoi(text);
	free(text);
	ck_assert_int_gt(server_port, 0);
	/* The current context points nowhere: only --context lab works. */
	snprintf(kc, sizeof(kc),
		 "apiVersion: v1\nkind: Config\nclusters:\n"
		 "- name: lab\n  cluster:\n    server: http://127.0.0.1:%d\n"
		 "- name: broken\n  cluster:\n    server: http://127.0.0.1:1\n"
		 "users:\n- name: lab\n  user: {}\n"
		 "contexts:\n- name: lab\n  context: {cluster: lab, user: lab}\n"
		 "- name: broken\n  context: {cluster: broken, user: lab}\n"
		 "current-context: broken\n", server_port);
	snprintf(path, sizeof(path), "%s/kubeconfig", tmp);
	write_text(path, kc);
}

static void server_stop(void)
{
	int status;

	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, &status, 0);
		server_pid = 0;
	}
}

/* A request to the lab server's own endpoints (/lab/...); returns the body
 * parsed as JSON. HTTP/1.0: the server closes after answering. */
static json_t *lab_http(const char *method, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(server_port) };
	char req[256], resp[65536];
	size_t n = 0;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	const char *body;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
		 method, path);
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (n < sizeof(resp) - 1 && (r = read(fd, resp + n, sizeof(resp) - 1 - n)) > 0)
		n += (size_t)r;
	close(fd);
	resp[n] = 0;
	body = strstr(resp, "\r\n\r\n");
	ck_assert_ptr_nonnull(body);
	return json_loads(body + 4, 0, NULL);
}

static int lab_count(const char *what, const char *resource)
{
	json_t *st = lab_http("GET", "/lab/status");
	int n = (int)json_integer_value(json_object_get(json_object_get(st, what),
							resource));

	json_decref(st);
	return n;
}

/* Run the recorder's loop: wait on its fd, poll; until cond holds or the
 * bound passes (the bound keeps a broken run from hanging the suite). */
static void run_until(struct kt_k8scap *c, bool (*cond)(struct kt_k8scap *, void *),
		      void *arg, int max_ms)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN };
	uint64_t end = utc_now() + (uint64_t)max_ms * 1000000ull;

	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, kt_k8scap_fd(c), &ev), 0);
	while (!(cond && cond(c, arg)) && utc_now() < end) {
		epoll_wait(ep, &ev, 1, 100);
		ck_assert_int_eq(kt_k8scap_poll(c), 0);
	}
	close(ep);
}

static bool snaps_at_least(struct kt_k8scap *c, void *arg)
{
	return kt_k8scap_snapshots(c) >= *(unsigned *)arg;
}

static bool watches_open(struct kt_k8scap *c, void *arg)
{
	(void)arg;
	return kt_k8scap_snapshots(c) >= 1 && lab_count("watches", "pods") > 0 &&
		lab_count("watches", "endpointslices") > 0 &&
		lab_count("watches", "events") > 0;
}

static bool file_has(struct kt_k8scap *c, void *arg)
{
	char path[512];
	char *text;
	bool found;

	(void)c;
	snprintf(path, sizeof(path), "%s/out/k8s/watch/pods.jsonl", tmp);
	text = read_text(path, NULL);
	found = text && strstr(text, (const char *)arg);
	free(text);
	return found;
}

/* Every byte of every file written: none of the values in bad[0..nbad). */
static void assert_none_of(const char *dir, int *files, const char *const *bad,
			   size_t nbad)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);

	ck_assert_int_ge(n, 0);
	for (int i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		if (ents[i]->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
			ck_assert_int_eq(lstat(path, &st), 0);
			if (S_ISDIR(st.st_mode)) {
				assert_none_of(path, files, bad, nbad);
			} else {
				size_t len;
				char *text = read_text(path, &len);

				ck_assert_ptr_nonnull(text);
				for (size_t k = 0; k < nbad; k++)
					ck_assert_msg(memmem(text, len, bad[k],
							     strlen(bad[k])) == NULL,
						      "%s holds '%s'", path, bad[k]);
				free(text);
				(*files)++;
			}
		}
		free(ents[i]);
	}
	free(ents);
}

static void assert_clean(const char *dir, int *files)
{
	assert_none_of(dir, files, planted, sizeof(planted) / sizeof(planted[0]));
}

static const json_t *find_error(const json_t *report, const char *resource)
{
	size_t i;
	const json_t *e;

	json_array_foreach(json_object_get(report, "errors"), i, e)
		if (strcmp(json_string_value(json_object_get(e, "resource")), resource) == 0)
			return e;
	return NULL;
}

START_TEST(lab_record)
{
	struct kt_k8scap_opts o = {
		.kubectl = KT_TEST_KUBECTL, .context = "lab",
		.interval_ns = 1 * SEC, .call_timeout_ns = 4 * SEC,
	};
	struct kt_k8s_sink sink;
	struct kt_k8scap *c;
	struct kt_k8s_index *idx;
	const struct kt_k8s_object *p, *d;
	json_t *report = json_object();
	char out[512], kc[512], path[600];
	uint64_t t_before, t_after;
	unsigned want;
	int files = 0;
	char *text;

	tmp_setup();
	server_start();
	snprintf(kc, sizeof(kc), "%s/kubeconfig", tmp);
	setenv("KUBECONFIG", kc, 1);	/* honoured through the environment */
	snprintf(out, sizeof(out), "%s/out", tmp);
	ck_assert_int_eq(mkdir(out, 0755), 0);
	ck_assert_int_eq(kt_k8s_dir_sink(&sink, out), 0);
	ck_assert_int_eq(kt_k8scap_new(&c, &o, &sink), 0);
	ck_assert_int_eq(kt_k8scap_start(c), 0);

	run_until(c, watches_open, NULL, 60000);
	ck_assert_msg(watches_open(c, NULL), "first snapshot and watches not up");
	t_before = utc_now();
	/* The script: pod a deleted, pod c takes its IP, the Deployment
	 * scaled to 3, a pod that lives between two snapshots. */
	for (int i = 0; i < 5; i++) {
		json_decref(lab_http("POST", "/lab/step"));
		if (i == 1)
			run_until(c, file_has, "web-6d4f8-ccccc", 20000);
	}
	run_until(c, file_has, "short-lived", 20000);
	want = kt_k8scap_snapshots(c) + 2;
	run_until(c, snaps_at_least, &want, 60000);
	ck_assert_uint_ge(kt_k8scap_snapshots(c), want);
	t_after = utc_now();
	ck_assert_int_eq(kt_k8scap_stop(c, report), 0);
	kt_k8scap_free(c);
	unsetenv("KUBECONFIG");

	/* Secrets were never asked for. */
	ck_assert_int_eq(lab_count("requests", "secrets"), 0);
	ck_assert_int_gt(lab_count("requests", "pods"), 2);
	server_stop();

	/* The report: partial, with the denied and the hanging resource. */
	ck_assert_str_eq(json_string_value(json_object_get(report, "status")), "partial");
	ck_assert_str_eq(json_string_value(json_object_get(find_error(report,
		"persistentvolumeclaims"), "class")), "denied");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(find_error(report,
		"persistentvolumeclaims"), "message")), "forbidden"));
	ck_assert_str_eq(json_string_value(json_object_get(find_error(report,
		"ingresses"), "class")), "timeout");
	ck_assert_int_ge(json_integer_value(json_object_get(report, "snapshots")), 4);
	ck_assert_int_ge(json_integer_value(json_object_get(json_object_get(
		report, "redaction"), "secrets_dropped")), 1);
	ck_assert_int_ge(json_integer_value(json_object_get(json_object_get(
		report, "redaction"), "env_values_redacted")), 1);
	ck_assert_int_ge(json_integer_value(json_object_get(json_object_get(
		json_object_get(report, "watches"), "pods"), "events")), 6);

	/* Files people can read: the first snapshot and its index. */
	snprintf(path, sizeof(path), "%s/k8s/snapshots/000001/pods/lab.json", out);
	text = read_text(path, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "\"DB_PASSWORD\""));	/* names kept */
	ck_assert_ptr_nonnull(strstr(text, "\"example.com/api-token\""));
	ck_assert_ptr_nonnull(strstr(text, "\"taken_ns\""));
	ck_assert_ptr_null(strstr(text, "managedFields"));
	ck_assert_ptr_null(strstr(text, "last-applied-configuration"));
	ck_assert_ptr_nonnull(strstr(text, "node2-pod"));	/* no --node: every pod */
	free(text);
	snprintf(path, sizeof(path), "%s/k8s/snapshots/000001/_snapshot.json", out);
	text = read_text(path, NULL);
	ck_assert_ptr_nonnull(strstr(text, "\"never requested\""));
	free(text);
	snprintf(path, sizeof(path), "%s/k8s/snapshots/000001/version.json", out);
	text = read_text(path, NULL);
	ck_assert_ptr_nonnull(strstr(text, "v1.20.2-lab"));
	free(text);
	snprintf(path, sizeof(path), "%s/k8s/snapshots/000001/configmaps/lab.json", out);
	text = read_text(path, NULL);
	ck_assert_ptr_nonnull(strstr(text, "app-config"));
	ck_assert_ptr_null(strstr(text, "settings.ini"));
	ck_assert_ptr_null(strstr(text, "smuggled"));
	free(text);

	assert_clean(out, &files);
	ck_assert_int_gt(files, 20);

	/* What ktana makes of it: the IP answered per time. */
	ck_assert_int_eq(kt_k8s_index_new(&idx), 0);
	ck_assert_int_eq(kt_k8s_index_load_path(idx, out, 0, NULL), 0);
	ck_assert_int_eq(kt_k8s_index_finish(idx), 0);
	p = kt_k8s_pod_by_ip_str(idx, "198.18.1.5", t_before);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->name, "web-6d4f8-aaaaa");
	p = kt_k8s_pod_by_ip_str(idx, "198.18.1.5", t_after);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p->name, "web-6d4f8-ccccc");
	ck_assert_str_eq(kt_k8s_workload(idx, p, t_after, NULL)->name, "web");
	d = kt_k8s_get(idx, KT_K8S_DEPLOYMENT, "lab", "web", t_before);
	ck_assert_int_eq(d->u.wl.spec_replicas, 2);
	d = kt_k8s_get(idx, KT_K8S_DEPLOYMENT, "lab", "web", t_after);
	ck_assert_int_eq(d->u.wl.spec_replicas, 3);
	/* Seen only by the watch, never by a snapshot. */
	p = kt_k8s_get(idx, KT_K8S_POD, "lab", "short-lived", KT_K8S_LATEST);
	ck_assert_ptr_nonnull(p);
	ck_assert(p->deleted);
	ck_assert_ptr_null(kt_k8s_pod_by_ip_str(idx, "198.18.1.7", t_after));
	kt_k8s_index_free(idx);

	json_decref(report);
	kt_k8s_dir_sink_free(&sink);
	rm_rf(tmp);
}
END_TEST

static bool pods_watched(struct kt_k8scap *c, void *arg)
{
	(void)arg;
	return kt_k8scap_snapshots(c) >= 1 && lab_count("watches", "pods") > 0;
}

START_TEST(lab_node_filter)
{
	static const char *const res[] = { "pods", NULL };
	struct kt_k8scap_opts o = {
		.kubectl = KT_TEST_KUBECTL, .context = "lab", .node = "lab-node-1",
		.call_timeout_ns = 10 * SEC, .resources = res,
	};
	struct kt_k8s_sink sink;
	struct kt_k8scap *c;
	json_t *report = json_object();
	char out[512], path[700];
	char *text;

	tmp_setup();
	server_start();
	snprintf(path, sizeof(path), "%s/kubeconfig", tmp);
	o.kubeconfig = path;
	snprintf(out, sizeof(out), "%s/out", tmp);
	ck_assert_int_eq(mkdir(out, 0755), 0);
	ck_assert_int_eq(kt_k8s_dir_sink(&sink, out), 0);
	ck_assert_int_eq(kt_k8scap_new(&c, &o, &sink), 0);
	ck_assert_int_eq(kt_k8scap_start(c), 0);
	run_until(c, pods_watched, NULL, 60000);
	ck_assert(pods_watched(c, NULL));
	/* Give the watch its initial listing before stopping. */
	run_until(c, file_has, "web-6d4f8-bbbbb", 20000);
	ck_assert_int_eq(kt_k8scap_stop(c, report), 0);
	kt_k8scap_free(c);
	kt_k8s_dir_sink_free(&sink);
	server_stop();

	ck_assert_str_eq(json_string_value(json_object_get(report, "status")), "ok");
	snprintf(path, sizeof(path), "%s/k8s/snapshots/000001/pods/lab.json", out);
	text = read_text(path, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "web-6d4f8-bbbbb"));
	ck_assert_ptr_null(strstr(text, "node2-pod"));
	ck_assert_ptr_nonnull(strstr(text, "\"node\": \"lab-node-1\""));
	free(text);
	snprintf(path, sizeof(path), "%s/k8s/watch/pods.jsonl", out);
	text = read_text(path, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_null(strstr(text, "node2-pod"));
	free(text);
	json_decref(report);
	rm_rf(tmp);
}
END_TEST

/* A kubectl that is not there, hangs or crashes: recorded, never fatal. */
static json_t *run_broken(const char *kubectl, const char *const *resources,
			  char *out, size_t outlen)
{
	struct kt_k8scap_opts o = {
		.kubectl = kubectl, .call_timeout_ns = 1 * SEC, .no_watch = true,
		.resources = resources,
	};
	struct kt_k8s_sink sink;
	struct kt_k8scap *c;
	json_t *report = json_object();
	unsigned one = 1;

	snprintf(out, outlen, "%s/out", tmp);
	ck_assert_int_eq(mkdir(out, 0755), 0);
	ck_assert_int_eq(kt_k8s_dir_sink(&sink, out), 0);
	ck_assert_int_eq(kt_k8scap_new(&c, &o, &sink), 0);
	ck_assert_int_eq(kt_k8scap_start(c), 0);
	run_until(c, snaps_at_least, &one, 30000);
	ck_assert_uint_eq(kt_k8scap_snapshots(c), 1);
	ck_assert_int_eq(kt_k8scap_stop(c, report), 0);
	kt_k8scap_free(c);
	kt_k8s_dir_sink_free(&sink);
	return report;
}

START_TEST(kubectl_missing)
{
	static const char *const res[] = { "pods", "nodes", NULL };
	char out[512], path[600];
	json_t *report;
	char *text;

	tmp_setup();
	report = run_broken("/nonexistent/kubectl", res, out, sizeof(out));
	ck_assert_str_eq(json_string_value(json_object_get(report, "status")), "failed");
	ck_assert_str_eq(json_string_value(json_object_get(find_error(report, "pods"),
							   "class")), "missing");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(report, "message")),
				     "cannot run '/nonexistent/kubectl'"));
	snprintf(path, sizeof(path), "%s/k8s/errors.jsonl", out);
	text = read_text(path, NULL);
	ck_assert_ptr_nonnull(text);
	ck_assert_ptr_nonnull(strstr(text, "\"class\":\"missing\""));
	free(text);
	json_decref(report);
	rm_rf(tmp);
}
END_TEST

START_TEST(kubectl_hangs_and_crashes)
{
	static const char *const res[] = { "pods", NULL };
	char out[512], script[512];
	const json_t *e;
	json_t *report;

	tmp_setup();
	snprintf(script, sizeof(script), "%s/kubectl-hang", tmp);
	write_text(script, "#!/bin/sh\nexec sleep 600\n");
	chmod(script, 0755);
	report = run_broken(script, res, out, sizeof(out));
	e = find_error(report, "pods");
	ck_assert_str_eq(json_string_value(json_object_get(e, "class")), "timeout");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(e, "message")),
				     "killed after 1 s timeout"));
	e = find_error(report, "version");
	ck_assert_str_eq(json_string_value(json_object_get(e, "class")), "timeout");
	json_decref(report);
	rm_rf(tmp);

	tmp_setup();
	snprintf(script, sizeof(script), "%s/kubectl-crash", tmp);
	write_text(script, "#!/bin/sh\necho 'panic: runtime error' >&2\nkill -SEGV $$\n");
	chmod(script, 0755);
	report = run_broken(script, res, out, sizeof(out));
	e = find_error(report, "pods");
	ck_assert_str_eq(json_string_value(json_object_get(e, "class")), "crashed");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(e, "message")),
				     "killed by signal 11: panic: runtime error"));
	json_decref(report);
	rm_rf(tmp);
}
END_TEST

START_TEST(import_dumps)
{
	static const char *const res[] = { "pods", NULL };
	char out[512], dump[512], path[700];
	const char *from[3] = { KT_CORPUS_DIR "/k8s/troubleshoot-k3s-baseline", dump, NULL };
	struct kt_k8scap_opts o = {
		.kubectl = "/nonexistent/kubectl", .no_watch = true, .resources = res,
		.from = from,
	};
	struct kt_k8s_sink sink;
	struct kt_k8scap *c;
	struct kt_k8s_index *idx;
	json_t *report = json_object(), *imp;
	int files = 0;

	tmp_setup();
	snprintf(dump, sizeof(dump), "%s/mine.json", tmp);
	write_text(dump,
		"{\"kind\":\"List\",\"apiVersion\":\"v1\",\"items\":["
		"{\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\",\"namespace\":\"x\"},"
		"\"data\":{\"p\":\"UExBTlRFRC1TRUNSRVQtVkFMVUUtN2YzYQ==\"}},"
		"{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\",\"namespace\":\"x\","
		"\"annotations\":{\"vault-token\":\"PLANTED-TOKEN-0b8e\"}},"
		"\"data\":{\"k\":\"PLANTED-CM-DATA-44d1\"}},"
		"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\",\"namespace\":\"x\"},"
		"\"spec\":{\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"E\","
		"\"value\":\"PLANTED-ENV-VALUE-91c2\"}]}]},\"status\":{\"podIP\":\"198.18.1.1\"}}]}");
	snprintf(out, sizeof(out), "%s/out", tmp);
	ck_assert_int_eq(mkdir(out, 0755), 0);
	ck_assert_int_eq(kt_k8s_dir_sink(&sink, out), 0);
	ck_assert_int_eq(kt_k8scap_new(&c, &o, &sink), 0);
	ck_assert_int_eq(kt_k8scap_start(c), 0);
	ck_assert_int_eq(kt_k8scap_stop(c, report), 0);
	kt_k8scap_free(c);
	kt_k8s_dir_sink_free(&sink);

	imp = json_object_get(report, "imports");
	ck_assert_int_eq(json_array_size(imp), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(imp, 0),
							    "files")), 19);
	ck_assert_int_eq(json_array_size(json_object_get(json_array_get(imp, 0),
							 "errors")), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(imp, 1),
							    "objects")), 2);
	snprintf(path, sizeof(path), "%s/k8s/import/001/pods/kube-system.json", out);
	ck_assert_int_eq(access(path, R_OK), 0);
	assert_clean(out, &files);

	/* The imports read back through the bundle tree like any dump. */
	ck_assert_int_eq(kt_k8s_index_new(&idx), 0);
	ck_assert_int_eq(kt_k8s_index_load_path(idx, out, 0, NULL), 0);
	ck_assert_int_eq(kt_k8s_index_finish(idx), 0);
	ck_assert_str_eq(kt_k8s_pod_by_ip_str(idx, "10.42.0.6", KT_K8S_LATEST)->name,
			 "coredns-56f6fc8fd7-p4x9z");
	ck_assert_str_eq(kt_k8s_pod_by_ip_str(idx, "198.18.1.1", KT_K8S_LATEST)->name, "p");
	kt_k8s_index_free(idx);
	json_decref(report);
	rm_rf(tmp);
}
END_TEST

/* ---- kubectl messages ------------------------------------------------------- */

#define R KT_K8S_REDACTED

/* Lines as kubectl (and the API server through it) prints them: what a
 * support engineer needs comes through, credentials do not. */
static const struct {
	const char *in, *want;
	unsigned found;
} scrub_lines[] = {
	/* unchanged */
	{ "error: You must be logged in to the server (Unauthorized)", NULL, 0 },
	{ "Unable to connect to the server: dial tcp 10.96.0.1:443: connect: connection "
	  "refused", NULL, 0 },
	{ "Error from server (Forbidden): pods is forbidden: User \"system:serviceaccount:"
	  "default:viewer\" cannot list resource \"pods\" in API group \"\" at the "
	  "cluster scope", NULL, 0 },
	{ "error: failed to refresh token: oauth2: cannot fetch token: 401 Unauthorized",
	  NULL, 0 },
	{ "error: failed to get token: exit status 1", NULL, 0 },
	{ "error: invalid bearer token", NULL, 0 },
	{ "error: cannot open '/x/token-file.json': No such file or directory", NULL, 0 },
	{ "/tmp/secret.json: invalid JSON at byte 5: '[' or '{' expected near 'x'", NULL, 0 },
	{ "Error from server (NotFound): secrets \"db-password\" not found", NULL, 0 },
	{ "Error from server (NotFound): pods \"web-6d4f8b7c9d-x2x5z\" not found", NULL, 0 },
	{ "The connection to the server secrets-manager.vault.svc:8200 was refused - did "
	  "you specify the right host or port?", NULL, 0 },
	{ "E1125 14:00:00.123456    4242 memcache.go:265] couldn't get current server API "
	  "group list: Get \"https://127.0.0.1:6443/api?timeout=32s\": dial tcp "
	  "127.0.0.1:6443: connect: connection refused", NULL, 0 },
	{ "Error from server (InternalError): Internal error occurred: failed calling "
	  "webhook \"validate.nginx.ingress.kubernetes.io\": Post \"https://ingress-nginx-"
	  "controller-admission.ingress-nginx.svc:443/networking/v1/ingresses?timeout=10s\"",
	  NULL, 0 },
	{ "error: error loading config file \"/root/.kube/config\": yaml: line 7: could "
	  "not find expected ':'", NULL, 0 },
	{ "pod uid 4f7c1a2e-9b3d-4e5f-8a6b-1c2d3e4f5a6b, kinds "
	  "MutatingWebhookConfigurationList ValidatingAdmissionPolicyBindingList", NULL, 0 },
	/* key forms */
	{ "error: unknown flag: --token=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2ln",
	  "error: unknown flag: --token=" R, 1 },
	{ "error: unknown command \"x\" for \"kubectl\"; --password hunter2 given",
	  "error: unknown command \"x\" for \"kubectl\"; --password " R " given", 1 },
	{ "password: hunter2", "password: " R, 1 },
	{ "password: Hunter2 given", "password: " R " given", 1 },
	{ "PASSWORD=Hunter2!", "PASSWORD=" R, 1 },
	{ "DB_PASSWD = 'two words'", "DB_PASSWD = '" R "'", 1 },
	{ "api-key: k3y; apikey:xyz", "api-key: " R "; apikey:" R, 2 },
	{ "{\"password\":\"hunter2\",\"user\":\"bob\"}",
	  "{\"password\":\"" R "\",\"user\":\"bob\"}", 1 },
	{ "Error from server (BadRequest): {\"kind\":\"Status\",\"message\":\"invalid: "
	  "\\\"password\\\":\\\"hunter2\\\" and \\\"token\\\":\\\"abc123\\\"\"}",
	  "Error from server (BadRequest): {\"kind\":\"Status\",\"message\":\"invalid: "
	  "\\\"password\\\":\\\"" R "\\\" and \\\"token\\\":\\\"" R "\\\"\"}", 2 },
	{ "{\"auths\":{\"registry.io\":{\"auth\":\"dXNlcjpwYXNz\"}}}",
	  "{\"auths\":{\"registry.io\":{\"auth\":\"" R "\"}}}", 1 },
	{ "Cookie: session=abc123; theme=dark", "Cookie: " R "; theme=dark", 1 },
	{ "client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ==",
	  "client-key-data: " R, 1 },
	/* authentication schemes */
	{ "Authorization: Bearer sha256~Zm9vYmFy", "Authorization: Bearer " R, 1 },
	{ "request header Authorization: Basic YWRtaW46aHVudGVyMg==",
	  "request header Authorization: Basic " R, 1 },
	{ "Authorization: Token abc123def", "Authorization: Token " R, 1 },
	{ "curl -H 'Authorization: bearer abc123'", "curl -H 'Authorization: bearer " R "'",
	  1 },
	{ "Authorization: Bearer <masked>", NULL, 0 },
	{ "WWW-Authenticate: Basic realm=\"kubernetes\"", NULL, 0 },
	{ "header Bearer \"abc 123\" refused", "header Bearer \"" R "\" refused", 1 },
	/* URLs */
	{ "Unable to connect to the server: Get \"https://admin:S3cr3t@10.0.0.5:6443/api?"
	  "timeout=32s\": dial tcp 10.0.0.5:6443: i/o timeout",
	  "Unable to connect to the server: Get \"https://" R "@10.0.0.5:6443/api?"
	  "timeout=32s\": dial tcp 10.0.0.5:6443: i/o timeout", 1 },
	{ "postgres://app:p@ss@db.svc:5432/app", "postgres://" R "@db.svc:5432/app", 1 },
	{ "https://token@github.com/org/repo.git?token=abc&x=1",
	  "https://" R "@github.com/org/repo.git?token=" R "&x=1", 2 },
	/* shapes */
	{ "token rejected: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2ln",
	  "token rejected: " R, 1 },
	{ "join with abcdef.0123456789abcdef now", "join with " R " now", 1 },
	{ "Secret \"db\" is invalid: value UExBTlRFRC1CQVNFNjQtREFUQS0xMjM0NTY3OA== too long",
	  "Secret \"db\" is invalid: value " R " too long", 1 },
	{ "image \"app@sha256:3b1f0a8d9c7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a\"",
	  "image \"app@sha256:" R "\"", 1 },
	{ "TOTP JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "TOTP " R, 1 },
	/* object content from the API server */
	{ "{\"kind\":\"Secret\",\"data\":{\"db\":\"aHVudGVy\",\"u\":\"YWRt\"}}",
	  "{\"kind\":\"Secret\",\"data\":{" R "}}", 1 },
	{ "Error from server (Invalid): Secret \"x\" is invalid: data[password]: Invalid "
	  "value: \"hunter2\": a valid config key must consist of alphanumeric characters",
	  "Error from server (Invalid): Secret \"x\" is invalid: data[password]: Invalid "
	  "value: \"" R "\": a valid config key must consist of alphanumeric characters", 1 },
	{ "spec.containers[0].env[0].value: Invalid value: 12345: must be a string",
	  "spec.containers[0].env[0].value: Invalid value: " R ": must be a string", 1 },
};

/* Redaction whatever shape a document has: a watch event whose object is
 * an array (no kubectl writes one) has its items redacted like a list's. */
START_TEST(redact_odd_watch_event)
{
	struct kt_k8s_redaction r = { 0 };
	json_t *doc = json_loads("{\"type\":\"ADDED\",\"object\":["
				 "{\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},"
				 "\"data\":{\"k\":\"c2VjcmV0\"}},"
				 "{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\","
				 "\"managedFields\":[]},\"data\":{\"k\":\"v\"}}]}", 0, NULL);
	json_t *items, *cm;
	char *txt;

	ck_assert_ptr_nonnull(doc);
	ck_assert(!kt_k8s_redact(doc, "Pod", false, &r));
	items = json_object_get(doc, "object");
	ck_assert_int_eq(json_array_size(items), 1);
	cm = json_array_get(items, 0);
	ck_assert_str_eq(json_string_value(json_object_get(cm, "kind")), "ConfigMap");
	ck_assert_ptr_null(json_object_get(cm, "data"));
	ck_assert_ptr_null(json_object_get(json_object_get(cm, "metadata"), "managedFields"));
	ck_assert_uint_eq(r.secrets_dropped, 1);
	ck_assert_uint_eq(r.configmap_data_dropped, 1);
	txt = json_dumps(doc, 0);
	ck_assert_ptr_null(strstr(txt, "c2VjcmV0"));
	free(txt);
	json_decref(doc);

	/* an env list is walked too, beyond its values */
	doc = json_loads("{\"kind\":\"Pod\",\"spec\":{\"env\":[{\"name\":\"A\",\"value\":"
			 "\"pw\"},{\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},"
			 "\"data\":{\"k\":\"hunter2\"}}]}}", 0, NULL);
	ck_assert(!kt_k8s_redact(doc, "Pod", false, &r));
	txt = json_dumps(doc, 0);
	ck_assert_ptr_null(strstr(txt, "hunter2"));
	ck_assert_ptr_null(strstr(txt, "\"pw\""));
	free(txt);
	json_decref(doc);

	/* the usual event of a Secret goes whole */
	doc = json_loads("{\"type\":\"ADDED\",\"object\":{\"kind\":\"Secret\","
			 "\"metadata\":{\"name\":\"s\"}}}", 0, NULL);
	ck_assert(kt_k8s_redact(doc, "Pod", false, &r));
	json_decref(doc);
}
END_TEST

START_TEST(scrub_table)
{
	char out[1024];

	for (size_t i = 0; i < sizeof(scrub_lines) / sizeof(scrub_lines[0]); i++) {
		const char *in = scrub_lines[i].in;
		const char *want = scrub_lines[i].want ? scrub_lines[i].want : in;
		unsigned n = kt_k8s_scrub_line(in, strlen(in), out, sizeof(out));

		ck_assert_msg(strcmp(out, want) == 0, "line %zu:\n  in   %s\n  got  %s\n"
			      "  want %s", i, in, out, want);
		ck_assert_msg(n == scrub_lines[i].found, "line %zu: %u found, want %u", i,
			      n, scrub_lines[i].found);
	}
}
END_TEST

START_TEST(scrub_bytes)
{
	/* ESC, NUL, DEL, a C1 CSI, a bare continuation, an overlong '/', a
	 * surrogate, a cut sequence; the euro sign and the 'é' are kept. */
	static const char in[] = "a\033[31mb\0c\x7f" "d\xc2\x9b" "e\x80" "f\xc0\xaf"
		"g\xed\xa0\x80" "h\xe2\x82\xac" "caf\xc3\xa9\ttab\nnext\xe2\x82";
	char out[256];

	ck_assert_uint_eq(kt_k8s_scrub_line(in, sizeof(in) - 1, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "a?[31mb?c?d?e?f??g???h\xe2\x82\xac" "caf\xc3\xa9?tab?next??");
	ck_assert_uint_eq(kt_k8s_scrub_line(NULL, 0, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "");
}
END_TEST

/* Every output bound: a prefix of the whole result, cut neither inside a
 * marker nor inside a UTF-8 sequence, and never the secret. */
START_TEST(scrub_bounds)
{
	static const char in[] = "\xe2\x82\xac password=hunter2 \xc3\xa9t\xc3\xa9 "
		"Bearer abc123 fin";
	char full[256], out[256];
	size_t flen;

	ck_assert_uint_eq(kt_k8s_scrub_line(in, sizeof(in) - 1, full, sizeof(full)), 2);
	flen = strlen(full);
	for (size_t size = 1; size <= flen + 1; size++) {
		size_t olen;
		const char *m;

		kt_k8s_scrub_line(in, sizeof(in) - 1, out, size);
		olen = strlen(out);
		ck_assert_uint_lt(olen, size);
		ck_assert_msg(strncmp(out, full, olen) == 0, "size %zu: '%s'", size, out);
		ck_assert_msg((full[olen] & 0xc0) != 0x80, "size %zu cuts a character", size);
		for (m = strstr(full, R); m; m = strstr(m + 1, R))
			ck_assert_msg(olen <= (size_t)(m - full) ||
				      olen >= (size_t)(m - full) + strlen(R),
				      "size %zu cuts a marker", size);
		ck_assert_ptr_null(strstr(out, "hunter2"));
		ck_assert_ptr_null(strstr(out, "abc123"));
	}
	ck_assert_str_eq(out, full);
}
END_TEST

/* Past KT_K8S_SCRUB_IN_MAX the line is cut: a secret across the cut is
 * too short there to look random, so the cut word goes whole. */
START_TEST(scrub_cut)
{
	static const char secret[] = "Zm9vYmFyYmF6cXV4cXV1eHF1dXgxMjM0NTY3ODkw";
	char in[KT_K8S_SCRUB_IN_MAX + 64], out[2 * KT_K8S_SCRUB_IN_MAX];
	size_t pre = KT_K8S_SCRUB_IN_MAX - 10;

	memset(in, 'x', sizeof(in));
	for (size_t i = 5; i < pre; i += 6)
		in[i] = ' ';
	in[pre - 1] = ' ';
	memcpy(in + pre, secret, strlen(secret));
	ck_assert_uint_eq(kt_k8s_scrub_line(in, pre + strlen(secret), out, sizeof(out)), 1);
	ck_assert_ptr_null(strstr(out, "Zm9vYmFy"));
	ck_assert_uint_eq(strlen(out), pre + strlen(R));
	ck_assert_str_eq(out + pre, R);
}
END_TEST

/* The real path: a kubectl that fails with credentials on stderr. Not one
 * of them in any file written or in the report; the message is kept,
 * scrubbed, and counted. */
START_TEST(kubectl_echoes_secrets)
{
	static const char *const res[] = { "pods", "nodes", NULL };
	static const char *const secrets[] = {
		"PLANTED-URLPASS-31c4", "PLANTED-BEARER-5e1d", "PLANTED-FLAG-TOKEN-77aa",
		"PLANTED-JSON-PW-9f0b", "UExBTlRFRC1CQVNFNjQtREFUQS0xMjM0NTY3OA",
		"PLANTED-LINE2-aa01", "\033[31m", "PLNT-77aa",
	};
	char out[512], script[512], path[600];
	const json_t *e;
	json_t *report, *err;
	char *text, *dump;
	int files = 0, held = 0;
	size_t i;

	tmp_setup();
	snprintf(script, sizeof(script), "%s/kubectl-leaky", tmp);
	write_text(script, "#!/bin/sh\n"
		"case \"$*\" in\n"
		"*version*) echo 'Unable to connect to the server: Get \"https://admin:"
		"PLANTED-URLPASS-31c4@198.18.0.1:6443/version\": dial tcp 198.18.0.1:6443: "
		"connect: connection refused' >&2 ;;\n"
		"*nodes*) printf '{\"items\":[\"a\" \"password=PLNT-77aa\"]}'"
		"; exit 0 ;;\n"
		"*) printf '%s\\n' 'error: You must be logged in to the server (Unauthorized)"
		": Authorization: Bearer PLANTED-BEARER-5e1d --token=PLANTED-FLAG-TOKEN-77aa "
		"{\"password\":\"PLANTED-JSON-PW-9f0b\"} UExBTlRFRC1CQVNFNjQtREFUQS0xMjM0NTY3OA== "
		"\033[31m' 'second line: PLANTED-LINE2-aa01' >&2 ;;\n"
		"esac\nexit 1\n");
	chmod(script, 0755);
	report = run_broken(script, res, out, sizeof(out));

	e = find_error(report, "pods");
	ck_assert_str_eq(json_string_value(json_object_get(e, "class")), "unauthorized");
	ck_assert_str_eq(json_string_value(json_object_get(e, "message")),
		"exit status 1: error: You must be logged in to the server (Unauthorized): "
		"Authorization: Bearer " R " --token=" R " {\"password\":\"" R "\"} " R " ?[31m");
	e = find_error(report, "version");
	ck_assert_str_eq(json_string_value(json_object_get(e, "message")),
		"exit status 1: Unable to connect to the server: Get \"https://" R
		"@198.18.0.1:6443/version\": dial tcp 198.18.0.1:6443: connect: connection "
		"refused");
	/* What the parser quotes of kubectl's output (a token of at most 20
	 * characters) is no safer. */
	e = find_error(report, "nodes");
	ck_assert_str_eq(json_string_value(json_object_get(e, "class")), "invalid-output");
	ck_assert_str_eq(json_string_value(json_object_get(e, "message")),
		"kubectl printed no List: ']' expected near '\"password=" R "\"'");
	/* Each message that held a secret is counted once. */
	json_array_foreach(json_object_get(report, "errors"), i, err)
		held += strstr(json_string_value(json_object_get(err, "message")), R) != NULL;
	ck_assert_int_ge(held, 3);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(report,
		"redaction"), "kubectl_messages_scrubbed")), held);

	assert_none_of(out, &files, secrets, sizeof(secrets) / sizeof(secrets[0]));
	ck_assert_int_ge(files, 3);	/* errors.jsonl and the snapshots' indexes */
	snprintf(path, sizeof(path), "%s/k8s/errors.jsonl", out);
	text = read_text(path, NULL);
	ck_assert_ptr_nonnull(strstr(text, "\"https://" R "@198.18.0.1:6443/version\\\""));
	free(text);
	dump = json_dumps(report, 0);
	for (size_t k = 0; k < sizeof(secrets) / sizeof(secrets[0]); k++)
		ck_assert_msg(strstr(dump, secrets[k]) == NULL, "report holds '%s'", secrets[k]);
	free(dump);
	json_decref(report);
	rm_rf(tmp);
}
END_TEST

/* A dump that does not parse: the loader's message quotes a token of it
 * (jansson quotes at most 20 characters). */
START_TEST(import_error_scrubbed)
{
	static const char *const res[] = { "pods", NULL };
	static const char *const secrets[] = { "PLNT-88bb" };
	char out[512], dump[512];
	const char *from[2] = { dump, NULL };
	struct kt_k8scap_opts o = {
		.kubectl = "/nonexistent/kubectl", .no_watch = true, .resources = res,
		.from = from,
	};
	struct kt_k8s_sink sink;
	struct kt_k8scap *c;
	json_t *report = json_object();
	const json_t *e;
	int files = 0;

	tmp_setup();
	snprintf(dump, sizeof(dump), "%s/token.json", tmp);
	write_text(dump, "{\"kind\":\"Secret\",\"data\":{\"p\" \"password=PLNT-88bb\"}}");
	snprintf(out, sizeof(out), "%s/out", tmp);
	ck_assert_int_eq(mkdir(out, 0755), 0);
	ck_assert_int_eq(kt_k8s_dir_sink(&sink, out), 0);
	ck_assert_int_eq(kt_k8scap_new(&c, &o, &sink), 0);
	ck_assert_int_eq(kt_k8scap_start(c), 0);
	ck_assert_int_eq(kt_k8scap_stop(c, report), 0);
	kt_k8scap_free(c);
	kt_k8s_dir_sink_free(&sink);

	e = find_error(report, dump);
	ck_assert_ptr_nonnull(e);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(e, "message")),
		"token.json: invalid JSON at byte "));
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(e, "message")),
		": ':' expected near '\"password=" R "\"'"));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(report,
		"redaction"), "kubectl_messages_scrubbed")), 1);
	assert_none_of(out, &files, secrets, 1);
	json_decref(report);
	rm_rf(tmp);
}
END_TEST

Suite *kt_k8scap_suite(void)
{
	Suite *s = suite_create("k8scap");
	TCase *tc = tcase_create("lab"), *scrub = tcase_create("scrub");

	/* kubectl runs many times against a real (Python) server. */
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, kubectl_missing);
	tcase_add_test(tc, kubectl_hangs_and_crashes);
	tcase_add_test(tc, import_dumps);
	tcase_add_test(tc, lab_record);
	tcase_add_test(tc, lab_node_filter);
	tcase_add_test(tc, kubectl_echoes_secrets);
	tcase_add_test(tc, import_error_scrubbed);
	suite_add_tcase(s, tc);
	tcase_add_test(scrub, redact_odd_watch_event);
	tcase_add_test(scrub, scrub_table);
	tcase_add_test(scrub, scrub_bytes);
	tcase_add_test(scrub, scrub_bounds);
	tcase_add_test(scrub, scrub_cut);
	suite_add_tcase(s, scrub);
	return s;
}
