/*
 * mime-params.c - Content-Type / Content-Disposition / Content-Transfer-
 * Encoding values (see mime-params.h).
 *
 * Two passes: the value is cut into raw parameters (name, RFC 2231 section
 * number and "*" flag, value with quoting removed), then the raw parameters
 * are merged by name: RFC 2231 sections are joined in index order (RFC 2231
 * 3: sections may arrive out of order) and decoded (RFC 2231 4).
 */
#include "mime/mime-params.h"

#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/mem.h"
#include "mime/rfc5322-chars.h"

struct raw_param {
	char *name;     /* lower-case, suffix removed */
	int section;    /* RFC 2231 section number, -1 without one */
	bool star;      /* value is charset'lang'pct-encoded (first) or pct-encoded */
	char *value;
};

struct raw_list {
	struct raw_param items[MIME_PARAMS_MAX];
	unsigned count;
};

/* RFC 2045 5.1 tspecials. */
static bool
is_tspecial(uint8_t c)
{
	return c != '\0' && strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static bool
is_token_char(uint8_t c)
{
	return c > 32 && c < 127 && !is_tspecial(c);
}

/* Skip CFWS; a broken comment ends the input (nothing after it is read). */
static void
skip_cfws(const uint8_t **pp, const uint8_t *end)
{
	const char *error;

	if (rfc5322_skip_cfws(pp, end, &error) < 0)
		*pp = end;
}

static char *
lower_dup(const uint8_t *p, size_t len)
{
	char *s = mem_strndup((const char *)p, len);

	for (size_t i = 0; i < len; i++) {
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
	}
	return s;
}

/* A token at *pp (RFC 2045 5.1); its length, 0 when there is none. */
static size_t
scan_token(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp;

	while (p < end && is_token_char(*p))
		p++;
	size_t n = (size_t)(p - *pp);
	*pp = p;
	return n;
}

/* A quoted string at p (p[0] == '"'): quoted-pairs resolved, line breaks
 * (folds) and NULs dropped. An unterminated one runs to the end. */
static char *
scan_quoted(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp + 1;
	struct buf b;

	buf_init(&b, 0);
	while (p < end && *p != '"') {
		uint8_t c = *p++;

		if (c == '\\' && p < end)
			c = *p++;
		if (c != '\r' && c != '\n' && c != '\0')
			buf_append_byte(&b, c);
	}
	if (p < end)
		p++;
	*pp = p;
	return buf_steal_str(&b);
}

/* An unquoted value, leniently: up to ";", white space, a comment or a
 * quote (tspecials other than those are kept: boundary=--=_x is common). */
static char *
scan_lenient_value(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *p = *pp, *start = p;

	while (p < end && *p != ';' && *p != '(' && *p != '"' && *p > 32 && *p != 127)
		p++;
	*pp = p;
	return mem_strndup((const char *)start, (size_t)(p - start));
}

/* Split "name*12*" into name, section 12 and star. */
static void
split_name(struct raw_param *rp, const uint8_t *name, size_t len)
{
	const uint8_t *star = memchr(name, '*', len);

	rp->section = -1;
	rp->star = false;
	if (star == NULL) {
		rp->name = lower_dup(name, len);
		return;
	}
	size_t base = (size_t)(star - name), i = base + 1;
	int section = 0;

	if (i == len) {
		rp->star = true;        /* "name*": one encoded section */
	} else {
		/* "name*N" or "name*N*"; RFC 2231 3: no leading zeros. Bounded so
		 * that it cannot overflow. */
		while (i < len && rfc5322_is_digit(name[i]) && section < 100000)
			section = section * 10 + (name[i++] - '0');
		if (i < len && name[i] == '*') {
			rp->star = true;
			i++;
		}
		if (i != len || !rfc5322_is_digit(name[base + 1])) {
			/* not RFC 2231 syntax: keep the whole thing as a plain name */
			rp->star = false;
			rp->name = lower_dup(name, len);
			return;
		}
	}
	rp->name = lower_dup(name, base);
	rp->section = section;
}

/* One "name = value" at *pp (after the ";"). 1 added, 0 end of list. */
static int
scan_param(const uint8_t **pp, const uint8_t *end, struct raw_list *list)
{
	const uint8_t *p = *pp, *name = p;
	size_t name_len = scan_token(&p, end);
	char *value;

	if (name_len == 0)
		return 0;
	skip_cfws(&p, end);
	if (p >= end || *p != '=')
		return 0;
	p++;
	skip_cfws(&p, end);
	if (p < end && *p == '"')
		value = scan_quoted(&p, end);
	else
		value = scan_lenient_value(&p, end);
	*pp = p;
	if (list->count == MIME_PARAMS_MAX) {
		mem_free(&value);
		return 1;
	}
	struct raw_param *rp = &list->items[list->count++];

	split_name(rp, name, name_len);
	rp->value = value;
	return 1;
}

static void
scan_params(const uint8_t *p, const uint8_t *end, struct raw_list *list)
{
	list->count = 0;
	for (;;) {
		skip_cfws(&p, end);
		if (p >= end || *p != ';')
			return;
		p++;
		skip_cfws(&p, end);
		if (p >= end)
			return;
		if (scan_param(&p, end, list) == 0)
			return;
	}
}

static void
raw_list_free(struct raw_list *list)
{
	for (unsigned i = 0; i < list->count; i++) {
		mem_free(&list->items[i].name);
		mem_free(&list->items[i].value);
	}
	list->count = 0;
}

static int
hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Append s percent-decoded (RFC 2231 4); a "%" not followed by two hex
 * digits is kept as is. */
static void
append_pct_decoded(struct buf *out, const char *s)
{
	for (size_t i = 0; s[i] != '\0'; i++) {
		int hi, lo;

		if (s[i] == '%' && (hi = hex_value((uint8_t)s[i + 1])) >= 0 &&
		    (lo = hex_value((uint8_t)s[i + 2])) >= 0) {
			buf_append_byte(out, (uint8_t)(hi * 16 + lo));
			i += 2;
		} else {
			buf_append_byte(out, (uint8_t)s[i]);
		}
	}
}

/* RFC 2231 7 attribute-char: token chars except "*", "'" and "%". */
static void
append_pct_encoded(struct buf *out, const char *s)
{
	for (size_t i = 0; s[i] != '\0'; i++) {
		uint8_t c = (uint8_t)s[i];

		if (is_token_char(c) && c != '*' && c != '\'' && c != '%')
			buf_append_byte(out, c);
		else
			buf_printf(out, "%%%02X", c);
	}
}

static bool
charset_decodable(const char *charset)
{
	return charset[0] == '\0' || strcasecmp(charset, "utf-8") == 0 ||
	       strcasecmp(charset, "utf8") == 0 || strcasecmp(charset, "us-ascii") == 0;
}

/* Split the first section's "charset'language'value" (RFC 2231 4). */
static void
split_charset(struct mime_param *param, const char *v, const char **rest_r)
{
	const char *q1 = strchr(v, '\''), *q2 = q1 == NULL ? NULL : strchr(q1 + 1, '\'');

	if (q2 == NULL) {
		/* no charset part: the value as it is, taken as US-ASCII */
		param->charset = mem_strdup("");
		param->language = mem_strdup("");
		*rest_r = v;
		return;
	}
	param->charset = mem_strndup(v, (size_t)(q1 - v));
	param->language = mem_strndup(q1 + 1, (size_t)(q2 - q1 - 1));
	*rest_r = q2 + 1;
}

/* Decode the joined sections into UTF-8; false when the result is not
 * well-formed UTF-8 without NUL (then the raw form is used). */
static bool
join_decoded(struct buf *out, const struct raw_param *const *sec, unsigned n, const char *first)
{
	for (unsigned i = 0; i < n; i++) {
		const char *v = i == 0 ? first : sec[i]->value;

		if (sec[i]->star)
			append_pct_decoded(out, v);
		else
			buf_append_str(out, v);
	}
	return memchr(buf_data(out), '\0', buf_len(out)) == NULL &&
	       rfc5322_utf8_valid(buf_data(out), buf_len(out));
}

static void
join_raw(struct buf *out, const struct mime_param *param, const struct raw_param *const *sec,
	 unsigned n, const char *first)
{
	buf_printf(out, "%s'%s'", param->charset, param->language);
	for (unsigned i = 0; i < n; i++) {
		const char *v = i == 0 ? first : sec[i]->value;

		if (sec[i]->star)
			buf_append_str(out, v);
		else
			append_pct_encoded(out, v);
	}
}

/* Join the RFC 2231 sections of `name` into *param; false when there is no
 * section 0. */
static bool
merge_extended(const struct raw_list *list, const char *name, struct mime_param *param)
{
	const struct raw_param *sec[MIME_PARAM_MAX_SECTIONS] = { NULL };
	const char *first;
	unsigned n = 0;
	struct buf out;

	for (unsigned i = 0; i < list->count; i++) {
		const struct raw_param *rp = &list->items[i];

		if (rp->section >= 0 && rp->section < MIME_PARAM_MAX_SECTIONS &&
		    strcmp(rp->name, name) == 0 && sec[rp->section] == NULL)
			sec[rp->section] = rp;
	}
	while (n < MIME_PARAM_MAX_SECTIONS && sec[n] != NULL)
		n++;
	if (n == 0)
		return false;
	first = sec[0]->value;
	if (sec[0]->star)
		split_charset(param, sec[0]->value, &first);
	buf_init(&out, 0);
	if (param->charset == NULL || charset_decodable(param->charset)) {
		if (join_decoded(&out, sec, n, first)) {
			param->value = buf_steal_str(&out);
			return true;
		}
		buf_reset(&out);
	}
	if (param->charset == NULL) {
		param->charset = mem_strdup("");
		param->language = mem_strdup("");
	}
	join_raw(&out, param, sec, n, first);
	param->value = buf_steal_str(&out);
	param->raw = true;
	return true;
}

static void
merge(const struct raw_list *list, struct mime_params *params)
{
	params->items = list->count == 0 ? NULL : mem_array(list->count, sizeof(*params->items));
	params->count = 0;
	for (unsigned i = 0; i < list->count; i++) {
		const struct raw_param *rp = &list->items[i], *plain = NULL;
		struct mime_param param = { .name = NULL };
		bool extended = false;

		if (mime_params_find(params, rp->name) != NULL)
			continue;
		for (unsigned j = i; j < list->count; j++) {
			if (strcmp(list->items[j].name, rp->name) != 0)
				continue;
			if (list->items[j].section >= 0)
				extended = true;
			else if (plain == NULL)
				plain = &list->items[j];
		}
		if (extended && merge_extended(list, rp->name, &param)) {
			param.extended = true;
		} else {
			mem_free(&param.charset);
			mem_free(&param.language);
			if (plain == NULL)
				continue;
			param.value = mem_strdup(plain->value);
		}
		param.name = mem_strdup(rp->name);
		params->items[params->count++] = param;
	}
}

void
mime_params_parse(const uint8_t *value, size_t len, struct mime_params *params_r)
{
	struct raw_list *list = mem_alloc(sizeof(*list));

	scan_params(value, value + len, list);
	merge(list, params_r);
	raw_list_free(list);
	mem_free(&list);
}

void
mime_params_deinit(struct mime_params *params)
{
	for (unsigned i = 0; i < params->count; i++) {
		mem_free(&params->items[i].name);
		mem_free(&params->items[i].value);
		mem_free(&params->items[i].charset);
		mem_free(&params->items[i].language);
	}
	mem_free(&params->items);
	params->count = 0;
}

const struct mime_param *
mime_params_find(const struct mime_params *params, const char *name)
{
	for (unsigned i = 0; i < params->count; i++) {
		if (strcmp(params->items[i].name, name) == 0)
			return &params->items[i];
	}
	return NULL;
}

const char *
mime_params_get(const struct mime_params *params, const char *name)
{
	const struct mime_param *p = mime_params_find(params, name);

	return p == NULL ? NULL : p->value;
}

/* A token at the start of the value (after CFWS); NULL when none. */
static char *
leading_token(const uint8_t **pp, const uint8_t *end)
{
	const uint8_t *start;

	skip_cfws(pp, end);
	start = *pp;
	size_t n = scan_token(pp, end);

	return n == 0 ? NULL : lower_dup(start, n);
}

int
mime_content_type_parse(const uint8_t *value, size_t len, struct mime_content_type *ct_r,
			const char **error_r)
{
	const uint8_t *p = value, *end = value + len;

	memset(ct_r, 0, sizeof(*ct_r));
	ct_r->type = leading_token(&p, end);
	skip_cfws(&p, end);
	if (ct_r->type == NULL || p >= end || *p != '/') {
		*error_r = "Content-Type has no type/subtype";
		mime_content_type_deinit(ct_r);
		return -1;
	}
	p++;
	ct_r->subtype = leading_token(&p, end);
	if (ct_r->subtype == NULL) {
		*error_r = "Content-Type has no subtype";
		mime_content_type_deinit(ct_r);
		return -1;
	}
	mime_params_parse(p, (size_t)(end - p), &ct_r->params);
	return 1;
}

void
mime_content_type_init_default(struct mime_content_type *ct)
{
	memset(ct, 0, sizeof(*ct));
	ct->type = mem_strdup("text");
	ct->subtype = mem_strdup("plain");
	ct->params.items = mem_array(1, sizeof(*ct->params.items));
	ct->params.items[0].name = mem_strdup("charset");
	ct->params.items[0].value = mem_strdup("US-ASCII");
	ct->params.count = 1;
}

void
mime_content_type_deinit(struct mime_content_type *ct)
{
	mem_free(&ct->type);
	mem_free(&ct->subtype);
	mime_params_deinit(&ct->params);
}

bool
mime_content_type_is(const struct mime_content_type *ct, const char *type, const char *subtype)
{
	return ct->type != NULL && strcmp(ct->type, type) == 0 &&
	       (subtype == NULL || (ct->subtype != NULL && strcmp(ct->subtype, subtype) == 0));
}

int
mime_disposition_parse(const uint8_t *value, size_t len, struct mime_disposition *disp_r,
		       const char **error_r)
{
	const uint8_t *p = value, *end = value + len;

	memset(disp_r, 0, sizeof(*disp_r));
	disp_r->type = leading_token(&p, end);
	if (disp_r->type == NULL) {
		*error_r = "Content-Disposition has no type";
		return -1;
	}
	mime_params_parse(p, (size_t)(end - p), &disp_r->params);
	return 1;
}

void
mime_disposition_deinit(struct mime_disposition *disp)
{
	mem_free(&disp->type);
	mime_params_deinit(&disp->params);
}

static const char *const encoding_names[] = {
	[MIME_ENCODING_7BIT] = "7BIT",
	[MIME_ENCODING_8BIT] = "8BIT",
	[MIME_ENCODING_BINARY] = "BINARY",
	[MIME_ENCODING_QUOTED_PRINTABLE] = "QUOTED-PRINTABLE",
	[MIME_ENCODING_BASE64] = "BASE64",
	[MIME_ENCODING_OTHER] = NULL,
};

enum mime_encoding
mime_encoding_parse(const uint8_t *value, size_t len)
{
	const uint8_t *p = value, *end = value + len, *start;
	size_t n;

	skip_cfws(&p, end);
	start = p;
	n = scan_token(&p, end);
	skip_cfws(&p, end);
	if (n == 0 || p != end)
		return MIME_ENCODING_OTHER;
	for (size_t i = 0; i < N_ELEMENTS(encoding_names); i++) {
		const char *name = encoding_names[i];

		if (name != NULL && strlen(name) == n &&
		    strncasecmp(name, (const char *)start, n) == 0)
			return (enum mime_encoding)i;
	}
	return MIME_ENCODING_OTHER;
}

const char *
mime_encoding_name(enum mime_encoding encoding)
{
	if ((size_t)encoding >= N_ELEMENTS(encoding_names))
		return NULL;
	return encoding_names[encoding];
}

bool
mime_encoding_is_identity(enum mime_encoding encoding)
{
	return encoding == MIME_ENCODING_7BIT || encoding == MIME_ENCODING_8BIT ||
	       encoding == MIME_ENCODING_BINARY;
}
