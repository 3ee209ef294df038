/*
 * serve-imap-message.c - placeholder: see serve-imap.h.
 */
#include "bin/serve-imap.h"

void
serve_imap_hook_store(void *ctx, struct imap_server_session *s,
		      const struct imap_store_request *req)
{
	imap_server_store_done(s, NULL, 0, NULL, 0, IMAP_MAILBOX_CANNOT, "Not implemented");
}

void
serve_imap_hook_copy(void *ctx, struct imap_server_session *s, const uint32_t *uids,
		     size_t count, const char *dest, bool move)
{
	imap_server_copy_done(s, 0, NULL, NULL, 0, IMAP_MAILBOX_CANNOT, "Not implemented");
}

void
serve_imap_hook_append(void *ctx, struct imap_server_session *s, const char *name,
		       const struct imap_append_message *msgs, size_t count)
{
	imap_server_append_done(s, 0, NULL, 0, IMAP_MAILBOX_CANNOT, "Not implemented");
}
