/*
 * imap-server-acl.c - placeholder until the commands land: each answers
 * "NO [CANNOT] Not implemented".
 */
#include "imap/imap-server-private.h"

void
imap_server_cmd_getacl(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_setacl(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_deleteacl(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_myrights(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_listrights(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_getquota(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_getquotaroot(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_acl_done(struct imap_server_session *s, const struct imap_acl_entry *entries,
		     size_t count, const char *rights, enum imap_mailbox_result result,
		     const char *text)
{
}

void
imap_server_quota_done(struct imap_server_session *s, const char *root,
		       const struct imap_quota_resource *res, size_t count,
		       enum imap_mailbox_result result, const char *text)
{
}
