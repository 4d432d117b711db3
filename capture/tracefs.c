/* tracefs.c - find (or mount) tracefs (see tracefs.h). */
#include "tracefs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

/* Is 'dir' a mounted tracefs? Its top level always holds 'events'. */
static bool is_tracefs(const char *dir)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/events", dir);
	return access(p, R_OK | X_OK) == 0;
}

int kt_tracefs_find(char *buf, size_t len, bool mount_missing, bool *mounted)
{
	static const char *const dirs[] = {
		KT_TRACEFS_DEFAULT, "/sys/kernel/debug/tracing",
	};
	size_t i;
	int err;

	if (mounted)
		*mounted = false;
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (is_tracefs(dirs[i])) {
			snprintf(buf, len, "%s", dirs[i]);
			return 0;
		}
	}
	/* mounted but closed to us: mounting again would not help */
	{
		FILE *f = fopen("/proc/self/mounts", "r");
		char line[1024], dir[512], type[64];

		while (f && fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%*s %511s %63s", dir, type) == 2 &&
			    !strcmp(type, "tracefs")) {
				fclose(f);
				return kt_err_set(-EACCES, "tracefs is mounted at '%s' but "
						  "not readable: run as root", dir);
			}
		}
		if (f)
			fclose(f);
	}
	if (!mount_missing)
		return kt_err_set(-ENOENT, "tracefs is not mounted: run "
				  "'mount -t tracefs tracefs " KT_TRACEFS_DEFAULT "'");
	if (mount("tracefs", KT_TRACEFS_DEFAULT, "tracefs", 0, NULL) < 0) {
		err = -errno;
		return kt_err_set(err, "cannot mount tracefs at '%s': %s (needs "
				  "CAP_SYS_ADMIN in the host mount namespace; or mount "
				  "it before running)", KT_TRACEFS_DEFAULT, strerror(-err));
	}
	if (!is_tracefs(KT_TRACEFS_DEFAULT))
		return kt_err_set(-ENOENT, "tracefs mounted at '%s' has no events",
				  KT_TRACEFS_DEFAULT);
	if (mounted)
		*mounted = true;
	snprintf(buf, len, "%s", KT_TRACEFS_DEFAULT);
	return 0;
}

bool kt_tracepoint_exists(const char *tracefs, const char *category,
			  const char *name)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/events/%s/%s", tracefs, category, name);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}
