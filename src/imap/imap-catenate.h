/*
 * imap-catenate.h - CATENATE (RFC 4469) between the engine and the glue.
 *
 * APPEND's append-data may be "CATENATE (part...)" instead of a literal
 * (RFC 4469 5): TEXT parts (a literal, or a literal8 with BINARY, RFC 4469
 * 6 / RFC 3516) and URL parts naming message data on this server (RFC
 * 5092, imap/imap-url.h). The engine parses and checks the syntax, the URL
 * forms and that a full URL names the logged-in user; it hands the message
 * to the glue's message_append hook with data NULL and len 0, and the glue
 * fetches the parts with imap_server_append_catenate() during that call
 * (their views live as long as the command), reads the URLs on a worker
 * (the engine does no I/O), assembles the message and completes with
 * imap_server_append_done(), or imap_server_append_refused() for NO
 * [BADURL url] (a URL naming nothing the user may read, RFC 4469 6) and NO
 * [TOOBIG] (the result is over max_size).
 *
 * These prototypes belong with the hook in imap-server.h; they live here
 * until that header is changed.
 */
#ifndef IMAP_IMAP_CATENATE_H
#define IMAP_IMAP_CATENATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap-url.h"

struct imap_server_session;

enum imap_catenate_part_type {
	IMAP_CATENATE_TEXT = 1,
	IMAP_CATENATE_URL,
};

struct imap_catenate_part {
	enum imap_catenate_part_type type;
	/* TEXT: the literal's octets (may hold NUL when it was a literal8) */
	const uint8_t *data;
	size_t len;
	/* URL: as the client sent it (for BADURL) and parsed */
	const char *url_text;
	const struct imap_url *url;
};

/*
 * Message index of the APPEND whose message_append hook is running: true
 * with its CATENATE parts (count >= 1) and the largest message the result
 * may be (octets); false when that message is an ordinary literal (or there
 * is no such message). The views stay valid until the hook's completion.
 */
bool imap_server_append_catenate(const struct imap_server_session *s, size_t index,
				 const struct imap_catenate_part **parts_r, size_t *count_r,
				 uint64_t *max_size_r);

/* Why the glue refuses a CATENATE APPEND: the response code (RFC 4469 6). */
enum imap_catenate_refusal {
	IMAP_CATENATE_BADURL = 1,   /* NO [BADURL url]: a URL names nothing the user may read */
	IMAP_CATENATE_TOOBIG,       /* NO [TOOBIG]: the result is over max_size */
};

/*
 * Complete the running APPEND hook with "NO [code] text". url is the URL as
 * the client sent it (imap_catenate_part.url_text) for IMAP_CATENATE_BADURL,
 * sanitised into the code (no "]" or control characters), and ignored (may
 * be NULL) for IMAP_CATENATE_TOOBIG; text NULL gives a default text. Both
 * are read during the call. Nothing was appended.
 */
void imap_server_append_refused(struct imap_server_session *s, enum imap_catenate_refusal code,
				const char *url, const char *text);

#endif
