/*
 * serve-imap-select.c - placeholder: see serve-imap.h.
 */
#include "bin/serve-imap.h"

void
serve_imap_hook_select(void *ctx, struct imap_server_session *s, const char *name,
		       const struct imap_select_params *params)
{
	imap_server_select_done(s, NULL, IMAP_MAILBOX_CANNOT, "Not implemented");
}

void
serve_imap_hook_unselect(void *ctx, struct imap_server_session *s)
{
}

void
serve_imap_hook_sync(void *ctx, struct imap_server_session *s, uint64_t since_modseq)
{
	imap_server_sync_done(s, NULL, IMAP_MAILBOX_TEMPFAIL);
}

void
serve_imap_hook_expunge(void *ctx, struct imap_server_session *s, const uint32_t *uids,
			size_t count)
{
	imap_server_expunge_done(s, NULL, 0, IMAP_MAILBOX_CANNOT, "Not implemented");
}

void
serve_imap_select_free(struct imap_client *c)
{
}

uint64_t
serve_imap_selected_mailbox(const struct imap_client *c)
{
	return 0;
}
