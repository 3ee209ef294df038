/*
 * serve-imap-fetch.c - placeholder: see serve-imap.h.
 */
#include "bin/serve-imap.h"

void
serve_imap_hook_fetch(void *ctx, struct imap_server_session *s,
		      const struct imap_fetch_request *req)
{
	imap_server_fetch_done(s, NULL, 0, IMAP_MAILBOX_CANNOT, "Not implemented");
}
