/* escape.c - everything a bundle names (pods, namespaces, DNS names,
 * messages of events) is attacker-controlled text: it reaches HTML and
 * Markdown only through these. */
#include "report.h"

#include <errno.h>
#include <string.h>

int kt_esc_html(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		case '\n': case '\t': fputc(c, f); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fputs("&#xfffd;", f);
			else
				fputc(c, f);
		}
	}
	return ferror(f) ? -EIO : 0;
}

int kt_esc_md(FILE *f, const char *s)
{
	/* what starts a list or a heading matters only at the start */
	if (s && (*s == '-' || *s == '+' || *s == '#' || *s == '=')) {
		fputc('\\', f);
		fputc(*s++, f);
	}
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '<')
			fputs("&lt;", f);
		else if (c == '>')
			fputs("&gt;", f);
		else if (c == '&')
			fputs("&amp;", f);
		else if (c == '|')
			fputs("\\|", f);
		else if (c == '\n' || c == '\r' || c == '\t')
			fputc(' ', f);
		else if (c < 0x20 || c == 0x7f)
			fputs("\xef\xbf\xbd", f);	/* U+FFFD */
		else if (strchr("\\`*_[]~", c))
			fprintf(f, "\\%c", c);
		else
			fputc(c, f);
	}
	return ferror(f) ? -EIO : 0;
}

void kt_safe_filename(const char *s, char *out, size_t len)
{
	size_t n = 0;

	if (!len)
		return;
	for (; s && *s && n + 1 < len; s++) {
		char c = *s;

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			c = '_';
		if (!n && c == '.')
			c = '_';
		out[n++] = c;
	}
	if (!n && len > 1)
		out[n++] = '_';
	out[n] = '\0';
}
