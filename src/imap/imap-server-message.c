/*
 * imap-server-message.c - placeholder until the commands land: each answers
 * "NO [CANNOT] Not implemented".
 */
#include "imap/imap-server-private.h"

void
imap_server_cmd_store(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_copy(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_move(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_append(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_store_done(struct imap_server_session *s, const struct imap_message_change *changes,
		       size_t change_count, const uint32_t *modified, size_t modified_count,
		       enum imap_mailbox_result result, const char *text)
{
}

void
imap_server_copy_done(struct imap_server_session *s, uint32_t dst_uidvalidity,
		      const uint32_t *src_uids, const uint32_t *dst_uids, size_t count,
		      enum imap_mailbox_result result, const char *text)
{
}

void
imap_server_append_done(struct imap_server_session *s, uint32_t uidvalidity, const uint32_t *uids,
			size_t count, enum imap_mailbox_result result, const char *text)
{
}
