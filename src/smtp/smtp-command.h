/*
 * smtp-command.h - SMTP command lines: a resumable line reader and a parser.
 *
 * What it does:
 *  - smtp_command_reader_*: takes bytes as they arrive, in any split, and
 *    yields one complete command line at a time (without its CRLF). It
 *    enforces a maximum line length and refuses a bare CR or a bare LF
 *    (RFC 5321 2.3.8): only CRLF ends a line, which is what keeps a command
 *    line from being read differently by us and by a filter in front of us
 *    ("SMTP smuggling").
 *  - smtp_command_parse(): splits a line into verb and arguments. MAIL FROM
 *    and RCPT TO get their path parsed (smtp-address.h) and their ESMTP
 *    parameters split and checked for syntax (RFC 5321 4.1.2); BDAT gets its
 *    chunk size and LAST (RFC 3030 2).
 *  - xtext (RFC 3461 4) decoding and encoding, and the syntax of the DSN
 *    parameter values (RFC 3461 4.1-4.4: NOTIFY, ORCPT, RET, ENVID).
 *
 * What it does not do: decide whether a command is allowed now, what a
 * parameter means, or what to reply. That is the engine (smtp-server.h).
 *
 * Invariants: pure (no I/O, no globals); every buffer is bounded by the
 * limits; a line handed out never holds CR or LF.
 */
#ifndef SMTP_COMMAND_H
#define SMTP_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "smtp/smtp-address.h"

/*
 * Default maximum command line, CRLF included. RFC 5321 4.5.3.1.4 sets 512 as
 * the minimum a server must accept, and says extensions may raise it: DSN
 * parameters (RFC 3461 4: ORCPT and ENVID up to 500 octets of xtext), AUTH=
 * on MAIL (RFC 4954 5), and SMTPUTF8 paths whose UTF-8 takes several octets a
 * character all make real MAIL and RCPT lines longer than 512. 2048 holds all
 * of them with room to spare and matches what deployed servers accept.
 */
#define SMTP_COMMAND_DEFAULT_MAX_LINE 2048
/* ESMTP parameters on one MAIL or RCPT line. */
#define SMTP_COMMAND_DEFAULT_MAX_PARAMS 16

struct smtp_command_limits {
	size_t max_line;                        /* octets, CRLF included; >= 8 */
	unsigned max_params;
	struct smtp_address_limits address;
};

void smtp_command_limits_init_default(struct smtp_command_limits *limits);

/* ---- line reader ---- */

enum smtp_command_read_result {
	SMTP_COMMAND_READ_BARE_NEWLINE = -2,    /* a CR not before LF, or an LF not after CR */
	SMTP_COMMAND_READ_TOO_LONG = -1,        /* the line exceeds max_line */
	SMTP_COMMAND_READ_NEED_MORE = 0,        /* all input consumed, no line yet */
	SMTP_COMMAND_READ_LINE = 1,             /* a complete line is available */
};

struct smtp_command_reader {
	struct buf line;
	size_t max_line;
	int state;
	bool line_ready;
};

void smtp_command_reader_init(struct smtp_command_reader *r, size_t max_line);
void smtp_command_reader_deinit(struct smtp_command_reader *r);

/*
 * Consume bytes from data..data+len up to the next event and return it;
 * *consumed_r says how many bytes were used (the caller keeps the rest and
 * passes it again). Events:
 *  - LINE: the line (CRLF stripped) is at *line_r / *line_len_r, valid until
 *    the next call; *consumed_r ends just after its LF, so bytes that follow
 *    (a DATA or BDAT payload) are left to the caller.
 *  - TOO_LONG / BARE_NEWLINE: reported once, as soon as it is seen; the
 *    reader then skips everything up to the next CRLF without reporting
 *    anything else about that line.
 *  - NEED_MORE: everything was consumed (*consumed_r == len).
 * The same input gives the same events whatever way it is split.
 */
enum smtp_command_read_result
smtp_command_reader_read(struct smtp_command_reader *r, const uint8_t *data, size_t len,
			 size_t *consumed_r, const uint8_t **line_r, size_t *line_len_r);

/*
 * Change the maximum line length (CRLF included, >= 8) for the lines that
 * follow, e.g. for SMTP AUTH responses (RFC 4954 4). Call it only between
 * lines: before any input, or after an event, while no partial line is held.
 * A line being skipped after TOO_LONG or BARE_NEWLINE goes on being skipped.
 */
void smtp_command_reader_set_max_line(struct smtp_command_reader *r, size_t max_line);

/* Overwrite the reader's line storage with zeros (the last line may have held
 * a password) and forget the line handed out. Call between lines. */
void smtp_command_reader_wipe(struct smtp_command_reader *r);

/* ---- command parser ---- */

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_EHLO,
	SMTP_VERB_HELO,
	SMTP_VERB_MAIL,
	SMTP_VERB_RCPT,
	SMTP_VERB_DATA,
	SMTP_VERB_BDAT,
	SMTP_VERB_RSET,
	SMTP_VERB_NOOP,
	SMTP_VERB_QUIT,
	SMTP_VERB_VRFY,
	SMTP_VERB_EXPN,
	SMTP_VERB_HELP,
	SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH,
};

/* Upper-case name of a verb ("UNKNOWN" for SMTP_VERB_UNKNOWN). */
const char *smtp_verb_name(enum smtp_verb verb);

/* esmtp-param = esmtp-keyword ["=" esmtp-value]; value NULL when absent. */
struct smtp_param {
	char *keyword;
	char *value;
};

enum smtp_command_error {
	SMTP_COMMAND_ERROR_NONE = 0,
	SMTP_COMMAND_ERROR_SYNTAX,      /* arguments malformed (501 5.5.4) */
	SMTP_COMMAND_ERROR_PATH,        /* MAIL/RCPT path malformed (501 5.1.7 / 5.1.3) */
	SMTP_COMMAND_ERROR_PARAM,       /* ESMTP parameter malformed (501 5.5.4) */
};

struct smtp_command {
	enum smtp_verb verb;
	enum smtp_command_error error;  /* set when smtp_command_parse() returns -1 */
	/* Argument text of EHLO/HELO (the domain), VRFY/EXPN/HELP/NOOP/AUTH
	 * (a string); NULL when there is none. */
	char *args;
	/* MAIL and RCPT */
	struct smtp_address path;
	struct smtp_param *params;
	unsigned n_params;
	/* BDAT */
	uint64_t chunk_size;
	bool last;
};

enum smtp_command_parse_flags {
	/* RFC 6531: accept UTF-8 in MAIL/RCPT paths (path.utf8 tells whether
	 * there was any; the engine decides whether it is allowed now). */
	SMTP_COMMAND_PARSE_UTF8 = 0x01,
};

/*
 * Parse one command line (as from smtp_command_reader_read, no CRLF).
 * Trailing spaces and tabs are ignored. The verb is matched case-insensitively;
 * an unknown verb is not an error (verb = SMTP_VERB_UNKNOWN, returns 1).
 * Returns 1 ok, or -1 when the arguments are malformed: cmd_r->verb and
 * cmd_r->error say which command and what kind of error, *error_r is a static
 * English text. In both cases cmd_r owns its strings: smtp_command_deinit().
 */
int smtp_command_parse(const uint8_t *line, size_t len, const struct smtp_command_limits *limits,
		       unsigned flags, struct smtp_command *cmd_r, const char **error_r);

void smtp_command_deinit(struct smtp_command *cmd);

/* Find a parameter by keyword (case-insensitive), or NULL. */
const struct smtp_param *smtp_command_find_param(const struct smtp_command *cmd,
						 const char *keyword);

/* ---- xtext, RFC 3461 4 ---- */

/*
 * Decode xtext ("+XX" hex escapes, upper-case hex only) and append it to out.
 * Returns 1 ok, -1 malformed (or out full); *error_r is a static text.
 */
int smtp_xtext_decode(const char *in, size_t len, struct buf *out, const char **error_r);
/* Encode bytes as xtext onto out. Returns 0, or -1 when out would exceed its maximum. */
int smtp_xtext_encode(const uint8_t *in, size_t len, struct buf *out);

/* ---- DSN parameter values, RFC 3461 4 ---- */

/* Longest ENVID value (RFC 3461 4.4) and ORCPT value (4.2), as xtext. */
#define SMTP_DSN_ENVID_MAX 100
#define SMTP_DSN_ORCPT_MAX 500

/* NOTIFY (RFC 3461 4.1) as a bit set; 0 = not given. NEVER comes alone. The
 * values are those of the store's queue (STORE_QUEUE_NOTIFY_*). */
#define SMTP_DSN_NOTIFY_NEVER 0x01u
#define SMTP_DSN_NOTIFY_SUCCESS 0x02u
#define SMTP_DSN_NOTIFY_FAILURE 0x04u
#define SMTP_DSN_NOTIFY_DELAY 0x08u

/* RET (RFC 3461 4.3). */
enum smtp_dsn_ret {
	SMTP_DSN_RET_NONE = 0,  /* not given */
	SMTP_DSN_RET_FULL,
	SMTP_DSN_RET_HDRS,
};

/*
 * The value checks below take an esmtp-value as smtp_command_parse() gives it
 * (NUL-terminated; NULL when the parameter had no "="). Each returns 1 and
 * its result, or -1 with *error_r a static English text naming what is
 * wrong (for a 501 5.5.4 reply). Keywords are matched case-insensitively.
 */
/* notify-esmtp-value = "NEVER" / 1#notify-list-element (SUCCESS, FAILURE,
 * DELAY); repeats of an element are harmless and accepted. */
int smtp_dsn_parse_notify(const char *value, unsigned *notify_r, const char **error_r);
/* ret-value = "FULL" / "HDRS" */
int smtp_dsn_parse_ret(const char *value, enum smtp_dsn_ret *ret_r, const char **error_r);
/* ENVID=xtext: 1..SMTP_DSN_ENVID_MAX octets of valid xtext whose decoded
 * value is printable US-ASCII (RFC 3461 4.4). */
int smtp_dsn_check_envid(const char *value, const char **error_r);
/* ORCPT=addr-type ";" xtext: an atom (RFC 5322 3.2.3), ";", and 1 or more
 * octets of valid xtext whose decoded value holds no control character, all
 * within SMTP_DSN_ORCPT_MAX octets (RFC 3461 4.2). */
int smtp_dsn_check_orcpt(const char *value, const char **error_r);

#endif
