/*
 * imap-server-compress.c - COMPRESS (RFC 4978): the command, its state and
 * its hand-over of pipelined input to the glue.
 *
 * Does: accept "COMPRESS DEFLATE" once authenticated (RFC 4978 3), answer
 * "TAG OK DEFLATE active", give the glue (hooks->compress) every octet
 * received after the command's CRLF (compressed data: the client starts
 * compressing right after that CRLF) and forget them, so that nothing
 * compressed is ever parsed as a command; refuse a second COMPRESS with
 * "NO [COMPRESSIONACTIVE]" and an unknown mechanism with BAD.
 *
 * Does not: compress or inflate anything (the glue does, below the engine,
 * e.g. core/conn.h conn_set_compress), or touch the parser's limits: the
 * engine sees the same byte stream as before, only carried differently.
 *
 * Invariants: hooks->compress is called at most once per session (then
 * s->compress_active is set); hooks->compress NULL = not offered.
 */
#include "imap/imap-server-private.h"

#include <strings.h>

#include "core/mem.h"

bool
imap_server_session_compress_active(const struct imap_server_session *s)
{
	return s->compress_active;
}

void
imap_server_cmd_compress(struct imap_server_session *s, const struct imap_command *cmd)
{
	const char *mech;
	struct buf rest;

	/* not offered: the command does not exist here */
	if (s->hooks.compress == NULL) {
		imap_server_bad_command(s, s->cmd_tag, "Unknown command");
		return;
	}
	/* RFC 4978 3: algorithm = "DEFLATE", an atom, any case */
	if (!imap_arg_get_atom(&cmd->args[0], &mech) || strcasecmp(mech, "DEFLATE") != 0) {
		imap_server_bad_command(s, s->cmd_tag, "Unknown compression mechanism");
		return;
	}
	/* RFC 4978 3: once per session */
	if (imap_server_session_compress_active(s)) {
		imap_server_no(s, "COMPRESSIONACTIVE", "DEFLATE already active");
		return;
	}
	imap_server_ok(s, NULL, "DEFLATE active");
	imap_server_flush(s);
	if (imap_server_dead(s))
		return;
	/* RFC 4978 3: what followed the CRLF is compressed; hand it over
	 * instead of parsing it. The command has just been parsed whole, so
	 * the parser holds nothing of it: the rest is all in s->in. */
	rest = s->in;
	buf_init(&s->in, s->limits.max_input_buffer);
	s->compress_active = true;
	s->hooks.compress(s->hook_ctx, s, buf_data(&rest), buf_len(&rest));
	/* it may hold a password typed after the command */
	imap_server_wipe_buf(&rest);
}
