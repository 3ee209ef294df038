/*
 * fuzz-rfc5322-address.c - libFuzzer target for the address-list parser.
 *
 * Input: one byte choosing the mode and limits, then a field value. Checks,
 * beyond "no crash":
 *  - every output string is well-formed UTF-8 without control characters
 *    (HTAB from a quoted string aside);
 *  - the list written back out (display names and group names quoted, each
 *    address in canonical form) parses to the same list: same groups, names,
 *    local parts and domains (canonical form is stable);
 *  - when the value holds no line break and no quoted-pair before a space,
 *    making every space a fold (CRLF SP) changes nothing (RFC 5322 2.2.3).
 */
#include "core/buf.h"
#include "core/mem.h"
#include "mime/rfc5322-address.h"
#include "mime/rfc5322-chars.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static void
check_text(const char *s)
{
	if (s == NULL)
		return;
	for (const char *p = s; *p != '\0'; p++)
		check(((uint8_t)*p >= 0x20 || *p == '\t') && *p != 0x7f);
	check(rfc5322_utf8_valid((const uint8_t *)s, strlen(s)));
}

static bool
same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
append_quoted(struct buf *out, const char *s)
{
	buf_append_byte(out, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_append_byte(out, '\\');
		buf_append_byte(out, (uint8_t)*s);
	}
	buf_append_byte(out, '"');
}

/* Write the list back as an address-list value. */
static void
write_list(const struct rfc5322_address_list *list, struct buf *out)
{
	for (unsigned i = 0; i < list->count; i++) {
		const struct rfc5322_address *a = &list->addrs[i];
		unsigned prev = i == 0 ? 0 : list->addrs[i - 1].group;
		unsigned next = i + 1 == list->count ? 0 : list->addrs[i + 1].group;
		bool group_start = a->group != 0 && prev != a->group;
		bool group_end = a->group != 0 && next != a->group;

		if (i > 0)
			buf_append_str(out, group_start || a->group == 0 ? ", " : ",");
		if (group_start) {
			append_quoted(out, a->group_name);
			buf_append_byte(out, ':');
		}
		if (a->local_part != NULL) {
			if (a->display_name != NULL) {
				append_quoted(out, a->display_name);
				buf_append_byte(out, ' ');
			}
			buf_append_byte(out, '<');
			check(rfc5322_address_format(a, out) == 0);
			buf_append_byte(out, '>');
		}
		if (group_end)
			buf_append_byte(out, ';');
	}
}

static void
check_roundtrip(const struct rfc5322_address_list *a, enum rfc5322_address_mode mode)
{
	struct rfc5322_address_limits limits;
	struct rfc5322_address_list b;
	struct buf out;
	const char *err;

	rfc5322_address_limits_init_default(&limits);
	limits.max_addresses = a->count;
	buf_init(&out, 0);
	write_list(a, &out);
	limits.max_value = buf_len(&out);
	check(rfc5322_address_list_parse(buf_data(&out), buf_len(&out), &limits, mode, &b,
					 &err) == 1);
	check(a->count == b.count && a->n_groups == b.n_groups);
	for (unsigned i = 0; i < a->count; i++) {
		const struct rfc5322_address *x = &a->addrs[i], *y = &b.addrs[i];
		/* the domain is lower-cased in canonical form */
		bool domain_same = x->domain == NULL ? y->domain == NULL :
				   y->domain != NULL && strlen(x->domain) == strlen(y->domain) &&
				   (x->domain_literal ? strcmp(x->domain, y->domain) == 0 :
				    strncasecmp(x->domain, y->domain, strlen(x->domain)) == 0);

		check(same(x->display_name, y->display_name) && same(x->local_part, y->local_part));
		check(domain_same && x->domain_literal == y->domain_literal && x->utf8 == y->utf8);
		check(same(x->group_name, y->group_name) && x->group == y->group);
	}
	rfc5322_address_list_deinit(&b);
	buf_deinit(&out);
}

/* Describe a result for the folding comparison. */
static void
describe(int ret, const struct rfc5322_address_list *list, struct buf *out)
{
	buf_printf(out, "%d", ret);
	for (unsigned i = 0; ret > 0 && i < list->count; i++) {
		const struct rfc5322_address *a = &list->addrs[i];

		buf_printf(out, "|%u %s %s %s %s %s %s", a->group,
			   a->group_name ? a->group_name : "-",
			   a->display_name ? a->display_name : "-", a->comment ? a->comment : "-",
			   a->route ? a->route : "-",
			   a->local_part ? a->local_part : "-", a->domain ? a->domain : "-");
	}
}

static void
check_folding(const uint8_t *value, size_t len, const struct rfc5322_address_limits *limits,
	      enum rfc5322_address_mode mode, int ret, const struct rfc5322_address_list *list)
{
	struct rfc5322_address_limits roomy = *limits;
	struct rfc5322_address_list folded_list;
	struct buf folded, d1, d2;
	const char *err;
	int ret2;

	if (len > limits->max_value)
		return;
	for (size_t i = 0; i < len; i++) {
		if (value[i] == '\r' || value[i] == '\n' || (value[i] == '\\' && i + 1 < len &&
							     value[i + 1] == ' '))
			return;
	}
	buf_init(&folded, 0);
	for (size_t i = 0; i < len; i++) {
		if (value[i] == ' ')
			buf_append_str(&folded, "\r\n ");
		else
			buf_append_byte(&folded, value[i]);
	}
	roomy.max_value = buf_len(&folded);
	ret2 = rfc5322_address_list_parse(buf_data(&folded), buf_len(&folded), &roomy, mode,
					  &folded_list, &err);
	buf_init(&d1, 0);
	buf_init(&d2, 0);
	describe(ret, list, &d1);
	describe(ret2, &folded_list, &d2);
	check(strcmp(buf_cstr(&d1), buf_cstr(&d2)) == 0);
	rfc5322_address_list_deinit(&folded_list);
	buf_deinit(&d1);
	buf_deinit(&d2);
	buf_deinit(&folded);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rfc5322_address_limits limits;
	struct rfc5322_address_list list;
	enum rfc5322_address_mode mode;
	const char *err = NULL;
	int ret;

	if (size == 0)
		return 0;
	mode = (data[0] & 1) != 0 ? RFC5322_MAILBOX_LIST : RFC5322_ADDRESS_LIST;
	rfc5322_address_limits_init_default(&limits);
	if ((data[0] & 2) != 0)
		limits.max_addresses = data[0] >> 4;
	data++;
	size--;
	ret = rfc5322_address_list_parse(data, size, &limits, mode, &list, &err);
	check(ret == 1 || (ret == -1 && err != NULL && list.count == 0 && list.addrs == NULL));
	if (ret == 1) {
		check(list.count <= limits.max_addresses);
		for (unsigned i = 0; i < list.count; i++) {
			const struct rfc5322_address *a = &list.addrs[i];

			check((a->local_part == NULL) == (a->domain == NULL));
			check(a->local_part != NULL || a->group != 0);
			check(mode == RFC5322_ADDRESS_LIST || a->group == 0);
			check_text(a->display_name);
			check_text(a->local_part);
			check_text(a->domain);
			check_text(a->group_name);
			check_text(a->comment);
			check_text(a->route);
			check(a->comment == NULL || (a->display_name == NULL && *a->comment != '\0'));
			check(a->route == NULL || (a->route[0] == '@' && a->local_part != NULL));
		}
		check_roundtrip(&list, mode);
	}
	check_folding(data, size, &limits, mode, ret, &list);
	rfc5322_address_list_deinit(&list);
	return 0;
}
