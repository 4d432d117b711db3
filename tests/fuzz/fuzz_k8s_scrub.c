/* fuzz_k8s_scrub.c - any bytes through kt_k8s_scrub_line, the scrubber of
 * kubectl's messages: no crash, and what comes out is one NUL-terminated
 * line within the bound, with no control character and valid UTF-8 (so it
 * goes into JSON and onto a terminal as it is). The first byte picks the
 * bound, from 1 to 512 bytes. */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[513];
	size_t bound, len;
	json_t *j;

	if (size == 0)
		return 0;
	bound = 1 + data[0] % 512;
	/* Past the bound: a write there is caught here too, not only by ASan. */
	memset(out, 0x55, sizeof(out));
	kt_k8s_scrub_line((const char *)data + 1, size - 1, out, bound);
	len = strnlen(out, bound);
	if (len >= bound)
		abort();	/* no NUL within the bound */
	for (size_t i = bound; i < sizeof(out); i++)
		if (out[i] != 0x55)
			abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)out[i];

		if (c < 0x20 || c == 0x7f)
			abort();
		if (c == 0xc2 && i + 1 < len && (unsigned char)out[i + 1] < 0xa0)
			abort();	/* a C1 control */
	}
	j = json_stringn(out, len);	/* NULL when not UTF-8 */
	if (!j)
		abort();
	json_decref(j);
	return 0;
}
