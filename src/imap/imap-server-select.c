/*
 * imap-server-select.c - placeholder until the commands land: each answers
 * "NO [CANNOT] Not implemented".
 */
#include "imap/imap-server-private.h"

void
imap_server_cmd_select(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_examine(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_close(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_unselect(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_expunge(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_check(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_idle(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_uid(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

/* placeholders for the completions, until the selected state lands */
void
imap_server_session_set_selected_hooks(struct imap_server_session *s,
				       const struct imap_server_selected_hooks *hooks)
{
	s->shooks = *hooks;
	s->have_shooks = true;
}

void
imap_server_select_done(struct imap_server_session *s, const struct imap_mailbox_view *view,
			enum imap_mailbox_result result, const char *text)
{
}

void
imap_server_sync_done(struct imap_server_session *s, const struct imap_mailbox_view *view,
		      enum imap_mailbox_result result)
{
}

void
imap_server_expunge_done(struct imap_server_session *s, const uint32_t *uids, size_t count,
			 enum imap_mailbox_result result, const char *text)
{
}
