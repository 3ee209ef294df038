/*
 * imap-server-search.c - placeholder until the commands land: each answers
 * "NO [CANNOT] Not implemented".
 */
#include "imap/imap-server-private.h"

void
imap_server_cmd_search(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_sort(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_cmd_thread(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_search_done(struct imap_server_session *s, const struct imap_search_result *res,
			enum imap_mailbox_result result, const char *text)
{
}
