/*
 * serve-imap-search.c - placeholder: see serve-imap.h.
 */
#include "bin/serve-imap.h"

void
serve_imap_hook_search(void *ctx, struct imap_server_session *s,
		       const struct imap_search_request *req)
{
	imap_server_search_done(s, NULL, IMAP_MAILBOX_CANNOT, "Not implemented");
}
