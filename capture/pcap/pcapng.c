/* pcapng.c - the pcapng writer (pcapng.h), draft-ietf-opsawg-pcapng:
 *
 *   SHB  0x0A0D0D0A | len | 0x1A2B3C4D | u16 1 | u16 0 | i64 -1 | opts | len
 *   IDB  0x00000001 | len | u16 linktype | u16 0 | u32 snaplen | opts | len
 *   EPB  0x00000006 | len | u32 ifid | u32 ts_hi | u32 ts_lo | u32 caplen
 *                   | u32 origlen | data (padded to 4) | len
 *
 * Options used: opt_comment (1), shb_userappl (4), if_name (2),
 * if_description (3), if_tsresol (9, value 9: timestamps in nanoseconds).
 */
#include "pcapng.h"

#include <errno.h>
#include <string.h>

#include "error.h"

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_EPB 0x00000006u

#define OPT_END	       0
#define OPT_COMMENT    1
#define OPT_IF_NAME    2
#define OPT_IF_DESC    3
#define OPT_SHB_APP    4
#define OPT_IF_TSRESOL 9

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Bytes an option takes, 0 when absent (NULL or empty). */
static size_t opt_size(const char *s)
{
	size_t n = s ? strnlen(s, KT_PCAPNG_OPT_MAX) : 0;

	return n ? 4 + pad4(n) : 0;
}

static uint8_t *put_opt(uint8_t *p, uint16_t code, const void *val, size_t n)
{
	put16(p, code);
	put16(p + 2, (uint16_t)n);
	memcpy(p + 4, val, n);
	memset(p + 4 + n, 0, pad4(n) - n);
	return p + 4 + pad4(n);
}

static uint8_t *put_str_opt(uint8_t *p, uint16_t code, const char *s)
{
	size_t n = s ? strnlen(s, KT_PCAPNG_OPT_MAX) : 0;

	return n ? put_opt(p, code, s, n) : p;
}

/* Room for a block of 'len' bytes; returns its start, type and length set. */
static int begin(struct kt_pcapng *w, uint32_t type, size_t len, uint8_t **out)
{
	int err;

	if (len > UINT32_MAX)
		return kt_err_set(-E2BIG, "pcapng block of %zu bytes", len);
	if ((err = kt_buf_reserve(&w->buf, len)))
		return kt_err_set(err, "pcapng buffer full (%zu bytes)", w->buf.max);
	*out = w->buf.p + w->buf.len;
	put32(*out, type);
	put32(*out + 4, (uint32_t)len);
	put32(*out + len - 4, (uint32_t)len);
	return 0;
}

void kt_pcapng_init(struct kt_pcapng *w, size_t max)
{
	memset(w, 0, sizeof(*w));
	w->buf.max = max;
}

int kt_pcapng_shb(struct kt_pcapng *w, const char *comment, const char *app)
{
	size_t len = 24 + opt_size(comment) + opt_size(app) + 4 + 4;
	uint8_t *b, *p;
	int err;

	if ((err = begin(w, BT_SHB, len, &b)))
		return err;
	put32(b + 8, 0x1A2B3C4Du);
	put16(b + 12, 1);
	put16(b + 14, 0);
	memset(b + 16, 0xff, 8);	/* section length: not given */
	p = put_str_opt(b + 24, OPT_COMMENT, comment);
	p = put_str_opt(p, OPT_SHB_APP, app);
	put32(p, OPT_END);		/* code 0, length 0 */
	w->buf.len += len;
	w->nif = 0;
	return 0;
}

int kt_pcapng_idb(struct kt_pcapng *w, uint16_t linktype, uint32_t snaplen,
		  const char *name, const char *description, uint32_t *id)
{
	static const uint8_t tsresol = 9;
	size_t len = 16 + opt_size(name) + opt_size(description) + 8 + 4 + 4;
	uint8_t *b, *p;
	int err;

	if ((err = begin(w, BT_IDB, len, &b)))
		return err;
	put16(b + 8, linktype);
	put16(b + 10, 0);
	put32(b + 12, snaplen);
	p = put_str_opt(b + 16, OPT_IF_NAME, name);
	p = put_str_opt(p, OPT_IF_DESC, description);
	p = put_opt(p, OPT_IF_TSRESOL, &tsresol, 1);
	put32(p, OPT_END);
	w->buf.len += len;
	*id = w->nif++;
	return 0;
}

size_t kt_pcapng_epb_size(uint32_t caplen)
{
	return 28 + pad4(caplen) + 4;
}

int kt_pcapng_epb(struct kt_pcapng *w, uint32_t ifid, uint64_t ts_ns,
		  const void *data, uint32_t caplen, uint32_t wirelen)
{
	size_t len = kt_pcapng_epb_size(caplen);
	uint8_t *b;
	int err;

	if (ifid >= w->nif)
		return kt_err_set(-EINVAL, "pcapng: packet for interface %u of %u", ifid, w->nif);
	if (caplen > wirelen)
		return kt_err_set(-EINVAL, "pcapng: %u bytes captured of a %u-byte frame",
				  caplen, wirelen);
	if ((err = begin(w, BT_EPB, len, &b)))
		return err;
	put32(b + 8, ifid);
	put32(b + 12, (uint32_t)(ts_ns >> 32));
	put32(b + 16, (uint32_t)ts_ns);
	put32(b + 20, caplen);
	put32(b + 24, wirelen);
	if (caplen)
		memcpy(b + 28, data, caplen);
	memset(b + 28 + caplen, 0, pad4(caplen) - caplen);
	w->buf.len += len;
	w->packets++;
	return 0;
}

void kt_pcapng_release(struct kt_pcapng *w)
{
	kt_buf_release(&w->buf);
	w->nif = 0;
}
