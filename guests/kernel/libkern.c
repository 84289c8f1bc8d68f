/*
 * The little of libc the model needs: memory helpers, a vsnprintf with the
 * conversions the console uses, and FreeBSD-style address formatting.
 */
#include <model/kern.h>
#include <stdarg.h>

void *
memcpy(void *d, const void *s, size_t n)
{
	char *dp = d;
	const char *sp = s;

	while (n--)
		*dp++ = *sp++;
	return (d);
}

void *
memset(void *d, int c, size_t n)
{
	char *dp = d;

	while (n--)
		*dp++ = (char)c;
	return (d);
}

int
memcmp(const void *a, const void *b, size_t n)
{
	const u_char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return (*x - *y);
	return (0);
}

size_t
strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return (n);
}

struct outbuf {
	char *buf;
	size_t len, pos;
};

static void
out_c(struct outbuf *o, char c)
{
	if (o->pos + 1 < o->len)
		o->buf[o->pos] = c;
	o->pos++;
}

static void
out_num(struct outbuf *o, unsigned long v, int base, int width, char pad,
    int neg)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	if (neg)
		tmp[n++] = '-';
	while (width-- > n)
		out_c(o, pad);
	while (n)
		out_c(o, tmp[--n]);
}

int vsnprintf_model(char *buf, size_t len, const char *fmt, va_list ap);

int
vsnprintf_model(char *buf, size_t len, const char *fmt, va_list ap)
{
	struct outbuf o = { buf, len, 0 };

	for (; *fmt; fmt++) {
		int width = 0, lng = 0;
		char pad = ' ';

		if (*fmt != '%') {
			out_c(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			lng = 1;
			fmt++;
		}
		switch (*fmt) {
		case 'd': {
			long v = lng ? va_arg(ap, long) : va_arg(ap, int);
			out_num(&o, v < 0 ? -(unsigned long)v : (unsigned long)v,
			    10, width, pad, v < 0);
			break;
		}
		case 'u':
			out_num(&o, lng ? va_arg(ap, unsigned long) :
			    va_arg(ap, unsigned int), 10, width, pad, 0);
			break;
		case 'x':
			out_num(&o, lng ? va_arg(ap, unsigned long) :
			    va_arg(ap, unsigned int), 16, width, pad, 0);
			break;
		case 'p':
			out_c(&o, '0');
			out_c(&o, 'x');
			out_num(&o, (unsigned long)va_arg(ap, void *), 16, 0,
			    '0', 0);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			int n = (int)strlen(s);

			while (width-- > n)
				out_c(&o, ' ');
			while (*s)
				out_c(&o, *s++);
			break;
		}
		case 'c':
			out_c(&o, (char)va_arg(ap, int));
			break;
		case '%':
			out_c(&o, '%');
			break;
		default:
			out_c(&o, '?');
			break;
		}
	}
	if (o.len)
		o.buf[o.pos < o.len ? o.pos : o.len - 1] = '\0';
	return ((int)o.pos);
}

int
snprintf_model(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf_model(buf, len, fmt, ap);
	va_end(ap);
	return (n);
}

/* inet_ntoa(3): the four bytes as stored. */
void
inet_ntoa_model(const void *a4, char *buf)
{
	const u_char *b = a4;

	snprintf_model(buf, 16, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
}

/*
 * DTrace's inet_ntoa6 rules: the longest run of zero groups (even a single
 * one) becomes "::", first run on a tie; v4-mapped/compatible addresses
 * print as dotted quads.
 */
void
inet_ntoa6_model(const void *a6, char *buf)
{
	const u_char *b = a6;
	u_short g[8];
	int i, best = -1, bestlen = 0, cur = -1, curlen = 0, pos = 0;

	for (i = 0; i < 8; i++)
		g[i] = (u_short)(b[2 * i] << 8 | b[2 * i + 1]);
	if (g[0] == 0 && g[1] == 0 && g[2] == 0 && g[3] == 0 && g[4] == 0 &&
	    (g[5] == 0xffff || g[5] == 0) && !(g[5] == 0 && g[6] == 0 &&
	    g[7] <= 1)) {
		inet_ntoa_model(b + 12, buf);
		return;
	}
	for (i = 0; i < 8; i++) {
		if (g[i] == 0) {
			if (cur < 0) {
				cur = i;
				curlen = 0;
			}
			curlen++;
			if (curlen > bestlen) {
				best = cur;
				bestlen = curlen;
			}
		} else
			cur = -1;
	}
	for (i = 0; i < 8; i++) {
		if (i == best) {
			buf[pos++] = ':';
			if (i == 0)
				buf[pos++] = ':';
			i += bestlen - 1;
			continue;
		}
		pos += snprintf_model(buf + pos, 6, "%x", g[i]);
		if (i < 7)
			buf[pos++] = ':';
	}
	buf[pos] = '\0';
}
