/* scrub.c - kubectl's messages made safe to keep (redact.h,
 * kt_k8s_scrub_line; formats/SPEC-k8s.md, "Redaction").
 *
 *   input bytes --clean--> valid UTF-8, no controls   s[0..n)
 *               --rules--> secret bytes marked         m[0..n)
 *               --emit---> each marked run written once as KT_K8S_REDACTED
 *
 * Rules mark bytes instead of rewriting the line, so they can overlap (a
 * JWT after "Bearer" in an "Authorization:" header) and none sees another's
 * output. They look at a kubectl message, not at free text: a false
 * positive costs a word of the message, a false negative puts a credential
 * in a bundle that leaves the site, so doubtful values are replaced. */
#include "redact.h"

#include <string.h>
#include <strings.h>

#define RUN_MIN 32	/* a base64 or hex run this long is a key or data */

struct line {
	char s[KT_K8S_SCRUB_IN_MAX];
	unsigned char m[KT_K8S_SCRUB_IN_MAX];	/* 1: secret */
	size_t n;
};

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_alpha(c) || is_digit(c);
}

static bool is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Characters of a key name: "client-key-data", "db.password", "--token". */
static bool is_key(char c)
{
	return is_alnum(c) || c == '_' || c == '-' || c == '.';
}

/* base64 and base64url, '=' padding apart. */
static bool is_b64(char c)
{
	return is_alnum(c) || c == '+' || c == '/' || c == '_' || c == '-';
}

static bool in_set(char c, const char *set)
{
	return c && strchr(set, c);
}

static bool has_word(const char *s, size_t n, const char *w)
{
	size_t wl = strlen(w);

	for (size_t i = 0; i + wl <= n; i++)
		if (strncasecmp(s + i, w, wl) == 0)
			return true;
	return false;
}

static bool is_word(const char *s, size_t n, const char *w)
{
	return n == strlen(w) && strncasecmp(s, w, n) == 0;
}

static void mark(struct line *l, size_t a, size_t b)
{
	if (b > l->n)
		b = l->n;
	if (a < b)
		memset(l->m + a, 1, b - a);
}

/* ---- cleaning ---------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong
 * forms, no surrogates, at most U+10FFFF), 0 when there is none. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (left < len)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return len;
}

/* A terminal acts on C0 and C1 controls (escape sequences, CSI as 0xc2
 * 0x9b), so neither may reach a log; JSON refuses what is not UTF-8. */
static void clean(struct line *l, const char *in, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0;

	l->n = 0;
	while (i < len && l->n < sizeof(l->s)) {
		size_t k = utf8_len(p + i, len - i);

		if (k == 0 || (k == 1 && (p[i] < 0x20 || p[i] == 0x7f)) ||
		    (k == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)) {
			l->s[l->n++] = '?';
			i += k ? k : 1;
			continue;
		}
		if (l->n + k > sizeof(l->s))
			break;
		memcpy(l->s + l->n, p + i, k);
		l->n += k;
		i += k;
	}
	memset(l->m, 0, l->n);
	if (i < len) {
		/* Cut here: the last word may be the head of a secret, too
		 * short now for the rules to know it. */
		size_t a = l->n;

		while (a > 0 && l->s[a - 1] != ' ')
			a--;
		mark(l, a, l->n);
	}
}

/* ---- rules ------------------------------------------------------------------- */

static bool sensitive_key(const char *s, size_t n)
{
	static const char *const words[] = {
		"token", "passw", "secret", "apikey", "api-key", "api_key",
		"authorization", "credential", "cookie", "private-key",
		"private_key", "privatekey", "client-key",
	};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (has_word(s, n, words[i]))
			return true;
	/* The "auth" of a docker config, not "oauth2" or "author". */
	return is_word(s, n, "auth") || is_word(s, n, "pwd");
}

/* Words that follow "bearer" or "basic" in prose ("invalid bearer token",
 * "basic auth failed"): not credentials. */
static bool prose_after_scheme(const char *s, size_t n)
{
	static const char *const words[] = {
		"token", "tokens", "auth", "authentication", "authorization",
		"credential", "credentials", "realm", "scheme", "header", "access",
		"and", "or", "is", "was", "not", "for", "in", "the", "a",
	};
	size_t k = 0;

	while (k < n && is_alpha(s[k]))
		k++;
	/* Letters, then at most punctuation: "token:", "auth." or "realm=" */
	for (size_t j = k; j < n; j++)
		if (!in_set(s[j], ":.,="))
			return false;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (is_word(s, k, words[i]))
			return true;
	return false;
}

/* End of an unquoted value or token starting at i. */
static size_t value_end(const struct line *l, size_t i)
{
	while (i < l->n && l->s[i] != ' ' && !in_set(l->s[i], ",;&\"'()[]{}<>\\"))
		i++;
	return i;
}

static size_t skip_spaces(const struct line *l, size_t i)
{
	while (i < l->n && l->s[i] == ' ')
		i++;
	return i;
}

static bool quoted_value(struct line *l, size_t v);

/* Mark the token after an authentication scheme word at w when one
 * follows; returns whether w was a scheme. "Bearer" and "Basic" in any
 * case; in a key's value also "Token", "Digest" and "Negotiate", written
 * as headers write them ("token expired" is prose). */
static bool scheme_token(struct line *l, size_t w, bool in_value)
{
	static const struct { const char *name; bool any_case, value_only; } schemes[] = {
		{ "bearer", true, false }, { "basic", true, false },
		{ "Token", false, true }, { "Digest", false, true },
		{ "Negotiate", false, true },
	};
	size_t e = w, t, te;
	bool found = false;

	while (e < l->n && is_alpha(l->s[e]))
		e++;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
		if (schemes[i].value_only && !in_value)
			continue;
		if (schemes[i].any_case ? is_word(l->s + w, e - w, schemes[i].name) :
		    (e - w == strlen(schemes[i].name) &&
		     memcmp(l->s + w, schemes[i].name, e - w) == 0))
			found = true;
	}
	if (!found || e >= l->n || l->s[e] != ' ')
		return false;
	t = skip_spaces(l, e);
	if (quoted_value(l, t))
		return true;
	te = value_end(l, t);
	if (te > t && !prose_after_scheme(l->s + t, te - t))
		mark(l, t, te);
	return true;
}

/* scheme://user:pass@host: the user information, up to the last '@' of
 * the authority (a password may hold an unescaped '@'). */
static void rule_userinfo(struct line *l)
{
	for (size_t i = 1; i + 3 <= l->n; i++) {
		size_t a = i + 3, end = a, at = 0;

		if (memcmp(l->s + i, "://", 3) != 0 || !is_alpha(l->s[i - 1]))
			continue;
		while (end < l->n && !in_set(l->s[end], " /?#\"'\\<>")) {
			if (l->s[end] == '@')
				at = end;
			end++;
		}
		if (at > a)
			mark(l, a, at);
		i = end;
	}
}

/* Quoted value at v: '"', '\'' or an escaped '\"' (JSON inside a
 * message). Marks the inside; returns false when v is not a quote. */
static bool quoted_value(struct line *l, size_t v)
{
	size_t j;

	if (v + 1 < l->n && l->s[v] == '\\' && l->s[v + 1] == '"') {
		for (j = v + 2; j + 1 < l->n; j++)
			if (l->s[j] == '\\' && l->s[j + 1] == '"')
				break;
		mark(l, v + 2, j + 1 < l->n ? j : l->n);
		return true;
	}
	if (v < l->n && (l->s[v] == '"' || l->s[v] == '\'')) {
		for (j = v + 1; j < l->n; j++)
			if (l->s[j] == l->s[v] && l->s[j - 1] != '\\')
				break;
		mark(l, v + 1, j);
		return true;
	}
	return false;
}

/* The whole of data: {...} or data: map[...], up to the matching close. */
static void mark_block(struct line *l, size_t v)
{
	char open = l->s[v] == '{' ? '{' : '[', close = open == '{' ? '}' : ']';
	size_t j, depth = 0;

	for (j = v; j < l->n; j++) {
		if (l->s[j] == open)
			depth++;
		else if (l->s[j] == close && --depth == 0)
			break;
	}
	mark(l, v + 1, j);
}

/* A word followed by another: "token: exit status 1", "token.json: No
 * such file". A credential is not a word of letters, lowercase after the
 * first, with more words after it. */
static bool prose(const struct line *l, size_t v, size_t e)
{
	if (e < v + 2 || e + 1 >= l->n || l->s[e] != ' ' || !is_alpha(l->s[e + 1]) ||
	    !is_alpha(l->s[v]))
		return false;
	for (size_t i = v + 1; i < e; i++)
		if (!(l->s[i] >= 'a' && l->s[i] <= 'z'))
			return false;
	return true;
}

static bool http_status(const struct line *l, size_t v, size_t e)
{
	return e == v + 3 && is_digit(l->s[v]) && is_digit(l->s[v + 1]) &&
		is_digit(l->s[v + 2]) && e + 1 < l->n && l->s[e] == ' ' &&
		l->s[e + 1] >= 'A' && l->s[e + 1] <= 'Z';
}

/* key=value, key: value, "key":"value", --flag=value, --flag value. */
static void key_value(struct line *l, size_t a, size_t e)
{
	bool data = false, sensitive, flag, spaced;
	size_t p = e, q, v, ve, d;
	char sep;

	data = is_word(l->s + a, e - a, "data") || is_word(l->s + a, e - a, "stringData") ||
		is_word(l->s + a, e - a, "binaryData");
	sensitive = sensitive_key(l->s + a, e - a);
	if ((!data && !sensitive) || l->m[a])
		return;		/* not a key, or inside a URL's user information */
	flag = e - a > 2 && l->s[a] == '-' && l->s[a + 1] == '-';
	if (p < l->n && (l->s[p] == '"' || l->s[p] == '\''))
		p++;
	else if (p + 1 < l->n && l->s[p] == '\\' && l->s[p + 1] == '"')
		p += 2;
	q = skip_spaces(l, p);
	sep = q < l->n ? l->s[q] : 0;
	if ((sep == '=' || sep == ':') &&
	    !(sep == ':' && q + 2 < l->n && l->s[q + 1] == '/' && l->s[q + 2] == '/')) {
		spaced = q + 1 < l->n && l->s[q + 1] == ' ';
		v = skip_spaces(l, q + 1);
	} else if (flag && sensitive && q > p && q < l->n && l->s[q] != '-') {
		sep = ' ';
		spaced = false;
		v = q;
	} else {
		return;
	}
	if (v >= l->n)
		return;
	if (data) {
		if (l->s[v] == '{')
			mark_block(l, v);
		else if (l->n - v > 4 && memcmp(l->s + v, "map[", 4) == 0)
			mark_block(l, v + 3);
		if (!sensitive)
			return;
	}
	if (l->s[v] == '{' || l->s[v] == '[')
		return;		/* a structure: its own keys are looked at */
	if (quoted_value(l, v) || scheme_token(l, v, true))
		return;
	ve = value_end(l, v);
	if (ve == v)
		return;
	if (sep == ':' && spaced) {
		/* An error chain ("refresh token: oauth2: cannot fetch token:
		 * 401 Unauthorized") names the next step, not a value. */
		if (l->s[ve - 1] == ':' || http_status(l, v, ve) || prose(l, v, ve))
			return;
	}
	if (sep == ':' && !spaced && memchr(l->s + a, '.', e - a)) {
		/* host:port of a host named like a key (secrets-store.svc:8200) */
		for (d = v; d < ve && is_digit(l->s[d]); d++)
			;
		if (d > v && (d == ve || l->s[d] == '/'))
			return;
	}
	mark(l, v, ve);
}

static void rule_keys(struct line *l)
{
	for (size_t i = 0; i < l->n;) {
		size_t e = i;

		if (!is_key(l->s[i]) || (i > 0 && is_key(l->s[i - 1]))) {
			i++;
			continue;
		}
		while (e < l->n && is_key(l->s[e]))
			e++;
		key_value(l, i, e);
		i = e;
	}
}

/* "Bearer x" and "Basic x" outside a key: a header echoed in a message. */
static void rule_schemes(struct line *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (is_alpha(l->s[i]) && (i == 0 || !is_alnum(l->s[i - 1])))
			scheme_token(l, i, false);
}

/* Runs of [A-Za-z0-9_.-]: JWTs (eyJ.. header in three or more dotted
 * parts, or three long mixed-case parts) and kubeadm bootstrap tokens.
 * Hostnames are dotted too (and lowercase), so the parts' shape decides. */
static void rule_dotted(struct line *l)
{
	for (size_t i = 0; i < l->n;) {
		size_t e = i, part[3] = { 0, 0, 0 }, nparts = 1, cur = 0;
		bool lower = true, upper[3] = { false, false, false };

		if (!is_key(l->s[i]) || (i > 0 && (is_key(l->s[i - 1]) || l->s[i - 1] == '+' ||
						  l->s[i - 1] == '/'))) {
			i++;
			continue;
		}
		for (; e < l->n && is_key(l->s[e]); e++) {
			if (l->s[e] == '.') {
				if (nparts <= 3)
					part[nparts - 1] = cur;
				nparts++;
				cur = 0;
				continue;
			}
			cur++;
			lower &= is_digit(l->s[e]) || (l->s[e] >= 'a' && l->s[e] <= 'z');
			if (nparts <= 3 && l->s[e] >= 'A' && l->s[e] <= 'Z')
				upper[nparts - 1] = true;
		}
		if (nparts <= 3)
			part[nparts - 1] = cur;
		if (nparts >= 3 && ((e - i > 3 && memcmp(l->s + i, "eyJ", 3) == 0 &&
				     part[0] >= 10) ||
				    (part[0] >= 16 && part[1] >= 16 && part[2] >= 16 &&
				     upper[0] && upper[1] && upper[2])))
			mark(l, i, e);
		else if (nparts == 2 && part[0] == 6 && part[1] == 16 && lower)
			mark(l, i, e);
		i = e;
	}
}

/* Long runs of base64 or hex that look random: how a token or a Secret's
 * data looks, and how a name, a path or a CamelCase kind does not. */
static void rule_runs(struct line *l)
{
	for (size_t i = 0; i < l->n;) {
		size_t e = i, up = 0, low = 0, dig = 0, sym = 0, sep = 0, hex = 0;

		if (!is_b64(l->s[i]) || (i > 0 && is_b64(l->s[i - 1]))) {
			i++;
			continue;
		}
		for (; e < l->n && is_b64(l->s[e]); e++) {
			char c = l->s[e];

			up += c >= 'A' && c <= 'Z';
			low += c >= 'a' && c <= 'z';
			dig += is_digit(c);
			sym += c == '+' || c == '/';
			sep += c == '-' || c == '_' || c == '/';
			hex += is_hex(c);
		}
		if (e - i >= RUN_MIN &&
		    (hex == e - i ||
		     (up && low && (dig || sym) && up * 5 >= up + low) ||
		     (!sep && (up || low) && dig))) {
			while (e < l->n && l->s[e] == '=')
				e++;
			mark(l, i, e);
		}
		i = e;
	}
}

/* The API server's field errors: "data[password]: Invalid value: \"x\":
 * detail". The value is the object's own content when the field is. */
static void rule_invalid_value(struct line *l)
{
	static const char iv[] = ": Invalid value: ";
	size_t ivl = sizeof(iv) - 1;

	for (size_t i = 0; i + ivl <= l->n; i++) {
		size_t a = i, v = i + ivl, j;

		if (memcmp(l->s + i, iv, ivl) != 0)
			continue;
		while (a > 0 && l->s[a - 1] != ' ')
			a--;
		if (!sensitive_key(l->s + a, i - a) && !has_word(l->s + a, i - a, "data[") &&
		    !has_word(l->s + a, i - a, "data.") && !has_word(l->s + a, i - a, "env[") &&
		    !is_word(l->s + a, i - a, "data"))
			continue;
		if (!quoted_value(l, v)) {
			for (j = v; j + 1 < l->n && !(l->s[j] == ':' && l->s[j + 1] == ' '); j++)
				;
			mark(l, v, j + 1 < l->n ? j : l->n);
		}
	}
}

/* ---- output ------------------------------------------------------------------ */

static size_t seq_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

unsigned kt_k8s_scrub_line(const char *in, size_t len, char *out, size_t out_size)
{
	struct line l;
	size_t o = 0, ml = strlen(KT_K8S_REDACTED);
	unsigned found = 0;
	bool full = false;

	if (out_size == 0)
		return 0;
	clean(&l, in ? in : "", in ? len : 0);
	rule_userinfo(&l);
	rule_keys(&l);
	rule_schemes(&l);
	rule_dotted(&l);
	rule_runs(&l);
	rule_invalid_value(&l);
	for (size_t i = 0; i < l.n;) {
		size_t k;

		if (l.m[i]) {
			while (i < l.n && l.m[i])
				i++;
			found++;
			/* A marker is written whole or not at all. */
			if (!full && o + ml < out_size) {
				memcpy(out + o, KT_K8S_REDACTED, ml);
				o += ml;
			} else {
				full = true;
			}
			continue;
		}
		k = seq_len((unsigned char)l.s[i]);
		if (!full && o + k < out_size) {
			memcpy(out + o, l.s + i, k);
			o += k;
		} else {
			full = true;
		}
		i += k;
	}
	out[o] = 0;
	return found;
}
