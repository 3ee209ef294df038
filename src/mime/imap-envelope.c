/*
 * imap-envelope.c - IMAP ENVELOPE (see imap-envelope.h).
 */
#include "mime/imap-envelope.h"

#include <string.h>

#include "core/mem.h"
#include "mime/imap-string.h"
#include "mime/rfc5322-address.h"

/* The local part as RFC 5322 writes it (quoted unless a dot-atom). */
static int
append_mailbox(struct buf *out, const struct rfc5322_address *a, unsigned flags)
{
	struct buf tmp;
	const uint8_t *at;
	int ret;

	buf_init(&tmp, 0);
	if (rfc5322_address_format(a, &tmp) < 0)
		PANIC("unlimited buffer refused data");
	at = memrchr(buf_data(&tmp), '@', buf_len(&tmp));
	ASSERT(at != NULL);
	ret = imap_string_append(out, buf_data(&tmp), (size_t)(at - buf_data(&tmp)), flags);
	buf_deinit(&tmp);
	return ret;
}

/* RFC 9051 7.5.2 address: addr-name (the display name, else the comment
 * after the address as Dovecot and Cyrus give it), addr-adl (the source
 * route), addr-mailbox, addr-host. */
static int
append_address(struct buf *out, const struct rfc5322_address *a, unsigned flags)
{
	const char *name = a->display_name != NULL ? a->display_name : a->comment;
	int ret = buf_append_byte(out, '(');

	ret |= imap_string_append_nstring(out, name, flags);
	ret |= buf_append_byte(out, ' ');
	ret |= imap_string_append_nstring(out, a->route, flags);
	ret |= buf_append_byte(out, ' ');
	ret |= append_mailbox(out, a, flags);
	ret |= buf_append_byte(out, ' ');
	ret |= imap_string_append_nstring(out, a->domain, flags);
	return ret | buf_append_byte(out, ')');
}

/* RFC 9051 7.5.2: group start (NIL NIL "name" NIL), end (NIL NIL NIL NIL). */
static int
append_list(struct buf *out, const struct rfc5322_address_list *list, unsigned flags)
{
	unsigned group = 0;
	int ret = buf_append_byte(out, '(');

	for (unsigned i = 0; i < list->count; i++) {
		const struct rfc5322_address *a = &list->addrs[i];

		if (a->group != group) {
			if (group != 0)
				ret |= buf_append_str(out, "(NIL NIL NIL NIL)");
			if (a->group != 0) {
				ret |= buf_append_str(out, "(NIL NIL ");
				ret |= imap_string_append_nstring(out, a->group_name, flags);
				ret |= buf_append_str(out, " NIL)");
			}
			group = a->group;
		}
		if (a->local_part != NULL)
			ret |= append_address(out, a, flags);
	}
	if (group != 0)
		ret |= buf_append_str(out, "(NIL NIL NIL NIL)");
	return ret | buf_append_byte(out, ')');
}

/* Append the address list of `value`; 1 written, 0 nothing to write
 * (absent, empty or unparsable: the caller writes NIL or a default). */
static int
try_addresses(struct buf *out, const char *value, unsigned flags, int *ret)
{
	struct rfc5322_address_limits limits;
	struct rfc5322_address_list list;
	const char *error;

	if (value == NULL)
		return 0;
	rfc5322_address_limits_init_default(&limits);
	if (rfc5322_address_list_parse((const uint8_t *)value, strlen(value), &limits,
				       RFC5322_ADDRESS_LIST, &list, &error) < 0)
		return 0;
	if (list.count == 0) {
		rfc5322_address_list_deinit(&list);
		return 0;
	}
	*ret |= append_list(out, &list, flags);
	rfc5322_address_list_deinit(&list);
	return 1;
}

static int
append_addresses(struct buf *out, const char *value, const char *fallback, unsigned flags)
{
	int ret = 0;

	if (try_addresses(out, value, flags, &ret) == 0 &&
	    (fallback == NULL || try_addresses(out, fallback, flags, &ret) == 0))
		ret |= buf_append_str(out, "NIL");
	return ret;
}

int
imap_envelope_write_fields(char *const fields[MIME_ENVELOPE_COUNT], unsigned flags,
			   struct buf *out)
{
	size_t old_len = buf_len(out);
	const char *from = fields[MIME_ENVELOPE_FROM];
	int ret = buf_append_byte(out, '(');

	ret |= imap_string_append_nstring(out, fields[MIME_ENVELOPE_DATE], flags);
	ret |= buf_append_byte(out, ' ');
	ret |= imap_string_append_nstring(out, fields[MIME_ENVELOPE_SUBJECT], flags);
	for (unsigned i = MIME_ENVELOPE_FROM; i <= MIME_ENVELOPE_BCC; i++) {
		bool defaults = i == MIME_ENVELOPE_SENDER || i == MIME_ENVELOPE_REPLY_TO;

		ret |= buf_append_byte(out, ' ');
		ret |= append_addresses(out, fields[i], defaults ? from : NULL, flags);
	}
	ret |= buf_append_byte(out, ' ');
	ret |= imap_string_append_nstring(out, fields[MIME_ENVELOPE_IN_REPLY_TO], flags);
	ret |= buf_append_byte(out, ' ');
	ret |= imap_string_append_nstring(out, fields[MIME_ENVELOPE_MESSAGE_ID], flags);
	ret |= buf_append_byte(out, ')');
	if (ret != 0) {
		buf_truncate(out, old_len);
		return -1;
	}
	return 0;
}

int
imap_envelope_write(const struct mime_part *message, unsigned flags, struct buf *out)
{
	ASSERT(mime_part_is_message(message));
	return imap_envelope_write_fields(message->envelope, flags, out);
}

int
imap_envelope_write_header(const uint8_t *header, size_t len, unsigned flags, struct buf *out)
{
	struct mime_parser_limits limits;
	struct mime_part *root;
	int ret;

	/* only the header is wanted: no structure below the root */
	mime_parser_limits_init_default(&limits);
	limits.max_depth = 0;
	root = mime_parse_message(header, len, &limits);
	ret = imap_envelope_write(root, flags, out);
	mime_part_free(&root);
	return ret;
}
