/* track_http.c - the request line of an HTTP/1.x connection (RFC 9112 3).
 *
 * Only the first data segment of each direction is looked at: a request line
 * is "METHOD SP target SP HTTP/1.x CRLF". With a short snap length the line
 * may be cut; what was captured is kept, as long as it starts like a request.
 */
#include <stdlib.h>
#include <string.h>

#include "track_internal.h"

static const char *const methods[] = {
	"GET ", "POST ", "PUT ", "DELETE ", "HEAD ", "OPTIONS ", "PATCH ",
	"CONNECT ", "TRACE ",
};

void kt_http_first_data(struct kt_centry *f, const uint8_t *p, uint32_t len)
{
	size_t i, n;
	bool known = false;

	if (f->l7)
		return;
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t ml = strlen(methods[i]);

		if (len > ml && !memcmp(p, methods[i], ml)) {
			known = true;
			break;
		}
	}
	if (!known)
		return;
	for (n = 0; n < len && n < KT_TRACK_L7_MAX; n++) {
		if (p[n] == '\r' || p[n] == '\n')
			break;
		if (p[n] < 0x20 || p[n] > 0x7e)
			return;	/* binary after a method name: not HTTP/1 */
	}
	f->l7 = malloc(n);
	if (!f->l7)
		return;		/* the line is a nicety: lose it, not the flow */
	memcpy(f->l7, p, n);
	f->l7_len = (uint16_t)n;
}
