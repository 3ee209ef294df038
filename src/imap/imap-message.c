/*
 * imap-message.c - the cached MIME tree of struct imap_message.
 */
#include "imap/imap-message.h"

#include "mime/mime-parser.h"

const struct mime_part *
imap_message_mime(struct imap_message *msg)
{
	if (msg->mime == NULL && msg->data != NULL)
		msg->mime = mime_parse_message(msg->data, (size_t)msg->size, NULL);
	return msg->mime;
}

void
imap_message_deinit(struct imap_message *msg)
{
	mime_part_free(&msg->mime);
}
