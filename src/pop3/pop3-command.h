/*
 * pop3-command.h - POP3 command lines: a resumable line reader and a parser.
 *
 * Does:
 *  - pop3_line_reader: cuts a byte stream into lines, keeping its state
 *    between calls, so any split of the input gives the same lines. A line
 *    ends in CRLF (RFC 1939 3); a bare LF is accepted too (harmless in POP3,
 *    and some clients send it). A line longer than the reader's maximum is
 *    reported once and then skipped up to its line end.
 *  - pop3_command_parse: splits one line into a keyword and its arguments
 *    (RFC 1939 3, RFC 2449 4): keyword of 1-4 letters, case-insensitive;
 *    arguments separated by single spaces, each at most max_arg (40) octets.
 *    Exceptions: PASS takes the rest of the line as one argument (RFC 1939 7:
 *    passwords may contain spaces), and AUTH's initial response may be as
 *    long as the line allows (RFC 5034 4).
 *  - number parsing for message numbers and line counts.
 *
 * Does not: know about session state, decide what a command means, or
 * produce replies (pop3-server does). Pure: no I/O, no logging, no globals.
 *
 * Invariants: the reader never holds more than max_line - 1 octets; a line
 * it hands out is NUL-terminated, has its line end removed, and lives in the
 * reader until the next feed/deinit. The reader wipes each line (it may hold a
 * password) before reusing its buffer.
 */
#ifndef POP3_POP3_COMMAND_H
#define POP3_POP3_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* RFC 2449 4: a command line is at most 255 octets including CRLF. */
#define POP3_COMMAND_DEFAULT_MAX_LINE 255
/* RFC 2449 4: each argument is at most 40 octets. */
#define POP3_COMMAND_DEFAULT_MAX_ARG 40
/* No POP3 command takes more than two arguments (TOP msg n, AUTH mech ir). */
#define POP3_COMMAND_MAX_ARGS 2

struct pop3_line_reader {
	struct buf line;  /* current line so far (and its CR, if any) */
	size_t max_line;  /* whole line including CRLF/LF */
	bool skipping;    /* discarding the rest of an over-long line */
	bool have_line;   /* the buffer holds a line handed out by the last feed */
};

/* max_line counts every octet of a line including its CRLF (or LF); >= 3. */
void pop3_line_reader_init(struct pop3_line_reader *r, size_t max_line);
/* Wipe and free the buffer. */
void pop3_line_reader_deinit(struct pop3_line_reader *r);
/*
 * Change the maximum for the lines read from now on (e.g. for AUTH
 * continuation lines, RFC 5034 4). Call it only between lines: after a feed
 * returned 1 or -1 and before feeding again, or before the first feed. After
 * a -1 the rest of the over-long line is still skipped whatever the maximum.
 */
void pop3_line_reader_set_max(struct pop3_line_reader *r, size_t max_line);
/* True when part of a line has been read but not its end. */
bool pop3_line_reader_in_line(const struct pop3_line_reader *r);

/*
 * Read from data[0..len). *consumed_r is always set to how many bytes were
 * used; call again with the rest.
 * Returns 1: a complete line; *line_r / *line_len_r give it without its line
 *            end. It is NUL-terminated and writable (the parser splits it in
 *            place); it may contain NUL bytes of its own. Valid until the next
 *            feed or deinit.
 *          0: all of data consumed, no complete line yet.
 *         -1: the current line exceeds max_line. Reported once per line; the
 *            reader then skips the rest of it up to and including its LF.
 */
int pop3_line_reader_feed(struct pop3_line_reader *r, const uint8_t *data, size_t len,
			  size_t *consumed_r, char **line_r, size_t *line_len_r);

enum pop3_command_id {
	POP3_CMD_UNKNOWN = 0, /* well-formed keyword we do not implement (APOP, LAST, ...) */
	POP3_CMD_USER,
	POP3_CMD_PASS,
	POP3_CMD_AUTH,
	POP3_CMD_CAPA,
	POP3_CMD_STAT,
	POP3_CMD_LIST,
	POP3_CMD_UIDL,
	POP3_CMD_RETR,
	POP3_CMD_TOP,
	POP3_CMD_DELE,
	POP3_CMD_NOOP,
	POP3_CMD_RSET,
	POP3_CMD_QUIT,
	POP3_CMD_STLS, /* RFC 2595 4 */
};

struct pop3_command_limits {
	size_t max_arg;   /* octets per argument, RFC 2449 4 (default 40) */
};

void pop3_command_limits_init_default(struct pop3_command_limits *limits);

struct pop3_command {
	enum pop3_command_id id;
	char keyword[5];                          /* upper-cased, NUL-terminated */
	unsigned argc;
	char *args[POP3_COMMAND_MAX_ARGS];        /* NUL-terminated, into the line */
	size_t arg_lens[POP3_COMMAND_MAX_ARGS];
};

/*
 * Parse line[0..len) in place; line[len] must be NUL (the reader's lines
 * are). Separating spaces are overwritten with NULs and cmd_r->args point
 * into line, so cmd_r is valid as long as the line is.
 * Returns 1 ok (also for an unknown keyword: id POP3_CMD_UNKNOWN), or -1
 * with *error_r a static message suitable for an "-ERR" reply. Rejected:
 * empty line, keyword not 1-4 ASCII letters, empty arguments (double,
 * leading or trailing spaces), more than POP3_COMMAND_MAX_ARGS arguments,
 * over-long arguments, NUL or CR anywhere, other control characters outside
 * PASS's argument.
 */
int pop3_command_parse(char *line, size_t len, const struct pop3_command_limits *limits,
		       struct pop3_command *cmd_r, const char **error_r);

/*
 * Parse a decimal number: 1*DIGIT (leading zeros allowed), no sign, no
 * spaces, value <= max. Returns 1 ok with *num_r set, -1 otherwise.
 */
int pop3_command_parse_uint(const char *s, uint64_t max, uint64_t *num_r);

/* A message number (RFC 1939 5): a number from 1 to UINT_MAX. 1 ok, -1 invalid. */
int pop3_command_parse_msgnum(const char *s, unsigned *num_r);

#endif
