/*
 * serve-imap-mailbox.c - placeholder: see serve-imap.h.
 */
#include "bin/serve-imap.h"

int
serve_imap_mailbox_resolve(struct store *store, uint64_t account_id, const char *name,
			   struct serve_imap_mailbox *mb_r)
{
	return -1;
}

void
serve_imap_mailbox_deinit(struct serve_imap_mailbox *mb)
{
}

void
serve_imap_hook_acl(void *ctx, struct imap_server_session *s, enum imap_acl_op op,
		    const char *name, const char *identifier, const char *rights)
{
	imap_server_acl_done(s, NULL, 0, NULL, IMAP_MAILBOX_CANNOT, "Not implemented");
}

void
serve_imap_hook_quota(void *ctx, struct imap_server_session *s, const char *root,
		      const char *name)
{
	imap_server_quota_done(s, NULL, NULL, 0, IMAP_MAILBOX_CANNOT, "Not implemented");
}
