/* sources.c - the table of recording sources (sources.h). Host facts start
 * first so the processes alive at start are known before events arrive. */
#include "sources.h"
#include "bpf_source.h"

#include <string.h>

const struct kt_source_ops *const kt_sources[] = {
	&kt_bpf_source,
	NULL,
};

const struct kt_source_ops *kt_source_find(const char *name)
{
	for (int i = 0; kt_sources[i]; i++)
		if (!strcmp(kt_sources[i]->name, name))
			return kt_sources[i];
	return NULL;
}
