/*
 * imap-message.h - one message as the pure IMAP modules see it: what
 * imap-fetch.h renders and imap-search.h matches and sorts.
 *
 * The glue fills it on a worker thread from the store (metadata) and the
 * body file (mapped or read into memory). data may be NULL when the module
 * said it does not need the content (imap_fetch_needs_content(),
 * imap_search_needs_content()). The parsed MIME tree is cached in `mime`
 * by whichever module parses first (mime/mime-parser.h, default limits);
 * the glue frees it with imap_message_deinit().
 *
 * Pure data, no I/O; safe to use from any one thread at a time.
 */
#ifndef IMAP_IMAP_MESSAGE_H
#define IMAP_IMAP_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mime_part;

struct imap_message {
	uint32_t seq;          /* sequence number in the session's view */
	uint32_t uid;
	unsigned flags;        /* IMAP_FLAG_* (imap-server.h) */
	const char *keywords;  /* space-separated, NULL = none */
	uint64_t modseq;
	int64_t internaldate;  /* seconds since the epoch */
	int64_t savedate;      /* RFC 8514; 0 = unknown (SAVEDATE NIL) */
	uint64_t size;         /* RFC822.SIZE: octets of the message as stored */
	const char *emailid;   /* OBJECTID (RFC 8474), NULL = none */
	const char *threadid;  /* idem, NULL = NIL */
	const uint8_t *data;   /* the whole message, size octets; NULL = not loaded */
	struct mime_part *mime; /* parsed tree of data, NULL until parsed */
};

/* The MIME tree of msg->data, parsed once and cached in msg->mime; NULL
 * when data is NULL. */
const struct mime_part *imap_message_mime(struct imap_message *msg);
/* Free the cached tree. The glue's data and strings are the glue's. */
void imap_message_deinit(struct imap_message *msg);

#endif
