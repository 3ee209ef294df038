/*
 * imap-server-fetch.c - placeholder until the commands land: each answers
 * "NO [CANNOT] Not implemented".
 */
#include "imap/imap-server-private.h"

void
imap_server_cmd_fetch(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_no(s, "CANNOT", "Not implemented");
}

void
imap_server_fetch_done(struct imap_server_session *s, const uint8_t *responses, size_t len,
		       enum imap_mailbox_result result, const char *text)
{
}
