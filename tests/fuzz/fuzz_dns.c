/* fuzz_dns.c - any bytes as one DNS message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kt_dns_msg m;
	uint8_t *copy;

	/* an exact-size heap copy: a read one byte past shows under ASan */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (kt_dns_parse(&m, copy, size) == 0) {
		if (strlen(m.qname) != m.qname_len ||
		    strlen(m.answers) != m.answers_len)
			abort();
	}
	free(copy);
	return 0;
}
