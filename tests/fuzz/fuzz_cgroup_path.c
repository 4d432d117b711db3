/* fuzz_cgroup_path.c - kt_cgroup_line_split and kt_cgroup_parse on any
 * bytes: /proc/PID/cgroup of a container is written by whoever runs in it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kt_cgroup_info ci;
	const char *ctrl, *path;
	unsigned hier;
	char *s;

	if (size > 8192)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (kt_cgroup_parse(s, &ci) == 0) {
		size_t u = strlen(ci.pod_uid), c = strlen(ci.container_id);

		/* what the parser claims must have the shape it promises */
		if ((u && u != 32 && u != 36) || (c && c != 64))
			abort();
		if (ci.runtime && !c)
			abort();
	}
	if (kt_cgroup_line_split(s, &hier, &ctrl, &path) == 0)
		kt_cgroup_parse(path, &ci);
	free(s);
	return 0;
}
