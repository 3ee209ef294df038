/*
 * imap-fetch-render.c - one message's FETCH response (RFC 9051 7.5.2
 * msg-att; RFC 3516 4.2; RFC 7162 3.1.4; RFC 8474 5; RFC 8514 4.3; RFC
 * 8970 3).
 *
 * What it does: writes "* n FETCH (" the items ")" CRLF: metadata from
 * struct imap_message, structures through mime/imap-bodystructure.h and
 * mime/imap-envelope.h, sections through mime/imap-section.h as literals
 * with <partial> ranges applied (an origin past the end gives an empty
 * string; a count past the end is cut there, RFC 9051 6.4.5), BINARY data
 * decoded (imap-fetch-decode.c).
 *
 * What it does not do: decide which messages or set flags; the response of
 * a section that does not exist is an empty string (BODY) or NIL (BINARY),
 * which RFC 9051 6.4.5 leaves to the server.
 *
 * Invariants: on any failure out is truncated back to its length at entry.
 */
#include "imap/imap-fetch.h"

#include <string.h>
#include <time.h>

#include "core/mem.h"
#include "imap/imap-flags.h"
#include "imap/imap-server.h"
#include "mime/imap-bodystructure.h"
#include "mime/imap-envelope.h"
#include "mime/imap-string.h"
#include "mime/mime-parser.h"

struct render {
	const struct imap_fetch_items *items;
	struct imap_message *msg;
	unsigned flags;
	unsigned sflags;        /* imap-string.h flags */
	struct buf *out;
	int ret;                /* -1 once an append failed */
	bool first;
	enum imap_fetch_render_result result;
};

static void
put(struct render *r, const void *data, size_t len)
{
	if (buf_append(r->out, data, len) < 0)
		r->ret = -1;
}

static void
put_str(struct render *r, const char *s)
{
	put(r, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
put_printf(struct render *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (buf_vprintf(r->out, fmt, ap) < 0)
		r->ret = -1;
	va_end(ap);
}

/* The separator before the next item. */
static void
next_item(struct render *r)
{
	if (!r->first)
		put(r, " ", 1);
	r->first = false;
}

/* date-time (RFC 9051 9): "dd-Mon-yyyy hh:mm:ss +0000", in UTC. */
static void
put_date(struct render *r, int64_t when)
{
	static const char *const months[] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
	};
	time_t t = (time_t)when;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	put_printf(r, "\"%02d-%s-%04d %02d:%02d:%02d +0000\"", tm.tm_mday, months[tm.tm_mon],
		   tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
put_flags(struct render *r)
{
	const char *name;
	unsigned bit;
	bool first = true;

	put_str(r, "FLAGS (");
	/* \Recent (set by the glue for rev1 sessions) after the others */
	for (size_t i = 0; (name = imap_flag_at(i, &bit)) != NULL; i++) {
		if ((r->msg->flags & bit) == 0)
			continue;
		if (!first)
			put(r, " ", 1);
		put_str(r, name);
		first = false;
	}
	/* keywords are atoms (the store checks them); one that is not could
	 * break the response, so it is left out */
	for (const char *p = r->msg->keywords; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, " ");

		if (imap_keyword_valid(p, n)) {
			if (!first)
				put(r, " ", 1);
			put(r, p, n);
			first = false;
		}
		p += n;
		p += strspn(p, " ");
	}
	put(r, ")", 1);
}

/* A literal of data[0..len): "{n}" CRLF and the octets, NUL as 0x80 (a
 * string cannot carry NUL: RFC 9051 4.3); literal8 "~{n}" keeps NUL. */
static void
put_literal(struct render *r, const uint8_t *data, size_t len, bool literal8)
{
	uint8_t *dst;

	put_printf(r, "%s{%zu}\r\n", literal8 ? "~" : "", len);
	if (r->ret < 0)
		return;
	dst = buf_reserve(r->out, len);
	if (dst == NULL) {
		r->ret = -1;
		return;
	}
	if (len > 0)
		memcpy(dst, data, len);
	if (!literal8) {
		for (size_t i = 0; i < len; i++) {
			if (dst[i] == '\0')
				dst[i] = 0x80;
		}
	}
	buf_commit(r->out, len);
}

/* The message's tree; NULL without content (the glue's contract broken:
 * structures then come out empty rather than wrong). */
static const struct mime_part *
root_of(struct render *r)
{
	return imap_message_mime(r->msg);
}

const uint8_t *
imap_fetch_partial(const uint8_t *data, size_t *len, uint64_t origin, uint64_t count)
{
	uint64_t off = origin < *len ? origin : *len;
	uint64_t left = *len - off;

	*len = (size_t)(count != 0 && count < left ? count : left);
	return off > 0 ? data + off : data;
}

/* Apply <origin.count> to data[0..*len) (RFC 9051 6.4.5); the parser
 * refuses a count of 0 (nz-number64). */
static const uint8_t *
apply_partial(const struct imap_fetch_item *it, const uint8_t *data, size_t *len)
{
	if (!it->partial)
		return data;
	return imap_fetch_partial(data, len, it->partial_origin, it->partial_count);
}

int
imap_fetch_section_data(const struct imap_section *section, const struct mime_part *root,
			const uint8_t *msg, struct buf *scratch, const uint8_t **data_r,
			size_t *len_r)
{
	struct imap_section_range range;

	if (root == NULL || imap_section_resolve(section, root, &range) <= 0)
		return 0;
	*data_r = msg + range.offset;
	*len_r = (size_t)range.size;
	if (range.mode != IMAP_SECTION_MODE_RAW) {
		buf_reset(scratch);
		if (imap_section_filter_header(section, *data_r, *len_r, scratch) < 0)
			return -1;
		*data_r = buf_data(scratch);
		*len_r = buf_len(scratch);
	}
	return 1;
}

static void
put_section_name(struct render *r, const char *name, const struct imap_fetch_item *it)
{
	put_printf(r, "%s[%s]", name, it->spec);
	if (it->partial)
		put_printf(r, "<%llu>", (unsigned long long)it->partial_origin);
	put(r, " ", 1);
}

static void
put_body_section(struct render *r, const struct imap_fetch_item *it)
{
	struct buf filtered;
	const uint8_t *data;
	size_t len;

	put_section_name(r, "BODY", it);
	buf_init(&filtered, 0);
	/* a part that does not exist is the empty string (RFC 9051 6.4.5);
	 * filtered has no maximum, so -1 cannot happen */
	if (imap_fetch_section_data(&it->section, root_of(r), r->msg->data, &filtered, &data,
				    &len) <= 0) {
		data = (const uint8_t *)"";
		len = 0;
	}
	data = apply_partial(it, data, &len);
	put_literal(r, data, len, false);
	buf_deinit(&filtered);
}

/* The decoded octets of a BINARY section into *decoded; 1 ok, 0 no such
 * part, -2 unknown encoding. */
static int
binary_data(struct render *r, const struct imap_fetch_item *it, struct buf *decoded)
{
	const struct mime_part *root = root_of(r);
	struct imap_section_range range;
	int encoding;

	if (root == NULL || imap_section_resolve(&it->section, root, &range) <= 0)
		return 0;
	/* BINARY[] is the whole message; a multipart or message part is sent
	 * as it is (its encoding must be an identity one, RFC 2045 6.4) */
	encoding = MIME_ENCODING_BINARY;
	if (it->section.n_parts > 0 && (range.part->flags & (MIME_PART_FLAG_MULTIPART |
							      MIME_PART_FLAG_MESSAGE)) == 0)
		encoding = (int)range.part->encoding;
	if (imap_fetch_decode(encoding, r->msg->data + range.offset, (size_t)range.size,
			      decoded) == -2)
		return -2;
	return 1;
}

static void
put_binary(struct render *r, const struct imap_fetch_item *it)
{
	struct buf decoded;
	int ret;

	buf_init(&decoded, 0);
	ret = binary_data(r, it, &decoded);
	if (ret == -2) {
		r->result = IMAP_FETCH_RENDER_UNKNOWN_CTE;
	} else if (it->type == IMAP_FETCH_BINARY_SIZE) {
		put_printf(r, "BINARY.SIZE[%s] %zu", it->spec, buf_len(&decoded));
	} else if (ret == 0) {
		put_section_name(r, "BINARY", it);
		put_str(r, "NIL");
	} else {
		size_t len = buf_len(&decoded);
		const uint8_t *data = apply_partial(it, buf_data(&decoded), &len);

		put_section_name(r, "BINARY", it);
		put_literal(r, data, len, memchr(data, '\0', len) != NULL);
	}
	buf_deinit(&decoded);
}

static void
put_range(struct render *r, const char *name, uint64_t offset, uint64_t size)
{
	put_printf(r, "%s ", name);
	if (r->msg->data == NULL)
		put_literal(r, (const uint8_t *)"", 0, false);
	else
		put_literal(r, r->msg->data + offset, (size_t)size, false);
}

static void
put_objectid(struct render *r, const char *name, const char *id)
{
	if (id == NULL)
		put_printf(r, "%s NIL", name);
	else
		put_printf(r, "%s (%s)", name, id);
}

static void
put_item(struct render *r, const struct imap_fetch_item *it)
{
	struct imap_message *msg = r->msg;
	const struct mime_part *root;

	next_item(r);
	switch (it->type) {
	case IMAP_FETCH_UID:
		put_printf(r, "UID %u", msg->uid);
		break;
	case IMAP_FETCH_FLAGS:
		put_flags(r);
		break;
	case IMAP_FETCH_INTERNALDATE:
		put_str(r, "INTERNALDATE ");
		put_date(r, msg->internaldate);
		break;
	case IMAP_FETCH_RFC822_SIZE:
		put_printf(r, "RFC822.SIZE %llu", (unsigned long long)msg->size);
		break;
	case IMAP_FETCH_ENVELOPE:
		put_str(r, "ENVELOPE ");
		root = root_of(r);
		if (root != NULL) {
			if (imap_envelope_write(root, r->sflags, r->out) < 0)
				r->ret = -1;
		} else {
			put_str(r, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
		}
		break;
	case IMAP_FETCH_BODY:
	case IMAP_FETCH_BODYSTRUCTURE:
		put_str(r, it->type == IMAP_FETCH_BODY ? "BODY " : "BODYSTRUCTURE ");
		root = root_of(r);
		if (root != NULL) {
			if (imap_bodystructure_write(root, it->type == IMAP_FETCH_BODYSTRUCTURE,
						     r->sflags, r->out) < 0)
				r->ret = -1;
		} else {
			put_str(r, "(\"TEXT\" \"PLAIN\" NIL NIL NIL \"7BIT\" 0 0)");
		}
		break;
	case IMAP_FETCH_RFC822:
		root = root_of(r);
		put_range(r, "RFC822", 0, root != NULL ? mime_part_size(root) : 0);
		break;
	case IMAP_FETCH_RFC822_HEADER:
		root = root_of(r);
		put_range(r, "RFC822.HEADER", 0, root != NULL ? root->header_size : 0);
		break;
	case IMAP_FETCH_RFC822_TEXT:
		root = root_of(r);
		put_range(r, "RFC822.TEXT", root != NULL ? root->body_offset : 0,
			  root != NULL ? root->body_size : 0);
		break;
	case IMAP_FETCH_MODSEQ:
		put_printf(r, "MODSEQ (%llu)", (unsigned long long)msg->modseq);
		break;
	case IMAP_FETCH_SAVEDATE:
		put_str(r, "SAVEDATE ");
		if (msg->savedate == 0)
			put_str(r, "NIL");
		else
			put_date(r, msg->savedate);
		break;
	case IMAP_FETCH_EMAILID:
		put_objectid(r, "EMAILID", msg->emailid);
		break;
	case IMAP_FETCH_THREADID:
		put_objectid(r, "THREADID", msg->threadid);
		break;
	case IMAP_FETCH_PREVIEW: {
		struct buf text;

		buf_init(&text, 0);
		imap_fetch_preview(root_of(r), msg->data, &text);
		put_str(r, "PREVIEW ");
		if (imap_string_append(r->out, buf_data(&text), buf_len(&text), r->sflags) < 0)
			r->ret = -1;
		buf_deinit(&text);
		break;
	}
	case IMAP_FETCH_BODY_SECTION:
		put_body_section(r, it);
		break;
	case IMAP_FETCH_BINARY:
	case IMAP_FETCH_BINARY_SIZE:
		put_binary(r, it);
		break;
	}
}

enum imap_fetch_render_result
imap_fetch_render(const struct imap_fetch_items *items, struct imap_message *msg,
		  unsigned flags, struct buf *out)
{
	struct render r = {
		.items = items, .msg = msg, .flags = flags, .out = out, .first = true,
		.sflags = (flags & IMAP_FETCH_RENDER_UTF8) != 0 ? IMAP_STRING_UTF8 : 0,
		.result = IMAP_FETCH_RENDER_OK,
	};
	size_t old_len = buf_len(out);
	/* RFC 7162 3.1: with CONDSTORE on, a FETCH that reports a flag change
	 * names the message's UID and MODSEQ */
	if ((flags & IMAP_FETCH_RENDER_ADD_FLAGS) != 0 && items->condstore)
		flags |= IMAP_FETCH_RENDER_ADD_UID | IMAP_FETCH_RENDER_ADD_MODSEQ;
	static const struct imap_fetch_item uid_item = { .type = IMAP_FETCH_UID };
	static const struct imap_fetch_item flags_item = { .type = IMAP_FETCH_FLAGS };
	static const struct imap_fetch_item modseq_item = { .type = IMAP_FETCH_MODSEQ };

	put_printf(&r, "* %u FETCH (", msg->seq);
	/* UID first: clients such as imaplib look for it anywhere, and
	 * Dovecot and Cyrus put it first too */
	if (imap_fetch_items_has(items, IMAP_FETCH_UID) ||
	    (flags & IMAP_FETCH_RENDER_ADD_UID) != 0)
		put_item(&r, &uid_item);
	for (unsigned i = 0; i < items->count && r.ret == 0 && r.result == 0; i++) {
		if (items->items[i].type != IMAP_FETCH_UID)
			put_item(&r, &items->items[i]);
	}
	if ((flags & IMAP_FETCH_RENDER_ADD_FLAGS) != 0 &&
	    !imap_fetch_items_has(items, IMAP_FETCH_FLAGS))
		put_item(&r, &flags_item);
	if ((flags & IMAP_FETCH_RENDER_ADD_MODSEQ) != 0 &&
	    !imap_fetch_items_has(items, IMAP_FETCH_MODSEQ))
		put_item(&r, &modseq_item);
	put_str(&r, ")\r\n");
	if (r.result != IMAP_FETCH_RENDER_OK || r.ret < 0) {
		buf_truncate(out, old_len);
		return r.result != IMAP_FETCH_RENDER_OK ? r.result : IMAP_FETCH_RENDER_TOO_BIG;
	}
	return IMAP_FETCH_RENDER_OK;
}
