/*
 * imap-parser.h - resumable IMAP command parser (RFC 9051 9, RFC 3501 9).
 *
 * What it does:
 *  - takes client bytes as they arrive, in any split, and yields one event
 *    at a time: a complete command (tag, upper-cased command name and a tree
 *    of typed arguments), a request to send a continuation for a
 *    synchronizing literal, an error, or, in line mode, one plain line;
 *  - arguments: atoms (including flags "\Seen", sequence sets, "*", "$" and
 *    FETCH items with a bracketed section such as
 *    "BODY.PEEK[HEADER.FIELDS (From To)]<0.100>", kept as one atom; a
 *    section opens only after BODY, BODY.PEEK, BINARY, BINARY.PEEK and
 *    BINARY.SIZE, elsewhere "[" is an ordinary ATOM-CHAR), NIL,
 *    quoted strings (escapes removed; 8-bit only in UTF-8 mode, RFC 6855 3),
 *    literals {n}, non-synchronizing literals {n+} (RFC 7888), literal8
 *    ~{n} (RFC 3516 4.2), and parenthesized lists;
 *  - enforces the limits below and, after an error, resynchronises at the
 *    end of the command line (discarding the data of non-synchronizing
 *    literals announced on the skipped line, so it is never read as
 *    commands).
 *
 * What it does not do: know commands or their argument grammar (the engine
 * reads the tree with the imap_arg_get_*() helpers), answer the client,
 * stream big literals (APPEND data up to max_literal is held in memory).
 *
 * Line ends: CRLF, or a bare LF (as Dovecot and most servers accept); a CR
 * not followed by LF is an error. NUL is refused everywhere but in literal8.
 *
 * Invariants: pure (no I/O, no globals); memory is bounded by the limits;
 * the same input gives the same events whatever way it is split.
 */
#ifndef IMAP_PARSER_H
#define IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Command line without literal data; RFC 7162 4 asks for at least 8192. */
#define IMAP_PARSER_DEFAULT_MAX_LINE (64 * 1024)
/* One literal; the engine lowers it before login and raises it for APPEND. */
#define IMAP_PARSER_DEFAULT_MAX_LITERAL (64 * 1024)
/* Whole command: line bytes plus literal data. */
#define IMAP_PARSER_DEFAULT_MAX_COMMAND (64 * 1024 * 1024)
#define IMAP_PARSER_DEFAULT_MAX_DEPTH 100
#define IMAP_PARSER_DEFAULT_MAX_ARGS 10000
/* RFC 7888 4: the largest non-synchronizing literal under LITERAL-. */
#define IMAP_PARSER_LITERAL_MINUS_MAX 4096

struct imap_parser_limits {
	size_t max_line;        /* bytes of the command outside literals, CRLFs included */
	uint64_t max_literal;   /* bytes of one literal */
	uint64_t max_command;   /* line bytes plus all literal data */
	unsigned max_depth;     /* nesting of parenthesized lists */
	unsigned max_args;      /* items in the whole tree, lists included */
};

void imap_parser_limits_init_default(struct imap_parser_limits *limits);

enum imap_parser_flags {
	/* RFC 6855 3 / RFC 9051: 8-bit (well-formed UTF-8) in quoted strings. */
	IMAP_PARSER_FLAG_UTF8 = 0x01,
	/* RFC 7888 4 (LITERAL-, mandatory in IMAP4rev2): non-synchronizing
	 * literals above IMAP_PARSER_LITERAL_MINUS_MAX are refused. */
	IMAP_PARSER_FLAG_LITERAL_MINUS = 0x02,
};

enum imap_arg_type {
	IMAP_ARG_ATOM = 1,      /* also flags, sequence sets, "*", "$", FETCH items */
	IMAP_ARG_NIL,           /* the atom NIL, any case (str holds it as sent) */
	IMAP_ARG_QUOTED,        /* str is the unescaped content */
	IMAP_ARG_LITERAL,       /* {n} or {n+} */
	IMAP_ARG_LITERAL8,      /* ~{n}: may hold NUL */
	IMAP_ARG_LIST,
};

enum imap_arg_flags {
	IMAP_ARG_FLAG_NONSYNC = 0x01,   /* literal was {n+} */
	IMAP_ARG_FLAG_BRACKET = 0x02,   /* atom holds a [...] section */
};

/*
 * One node of the argument tree. For every type but LIST, str/str_len hold
 * the bytes, followed by a NUL that is not counted (str may itself hold NUL
 * only for LITERAL8). For LIST, list/list_count are the items.
 */
struct imap_arg {
	enum imap_arg_type type;
	unsigned flags;
	const char *str;
	size_t str_len;
	const struct imap_arg *list;
	unsigned list_count;
};

/*
 * A parsed command. tag and name are NUL-terminated; name is upper-cased
 * ("UID" for UID commands: the sub-command is args[0]).
 */
struct imap_command {
	const char *tag;
	const char *name;
	const struct imap_arg *args;
	unsigned n_args;
};

enum imap_parser_error_code {
	IMAP_PARSER_ERROR_NONE = 0,
	IMAP_PARSER_ERROR_SYNTAX,       /* BAD */
	IMAP_PARSER_ERROR_LINE_TOO_LONG,/* BAD; the engine may disconnect */
	IMAP_PARSER_ERROR_TOO_BIG,      /* a literal or the command: [TOOBIG] (RFC 4469, 7888 4) */
	IMAP_PARSER_ERROR_TOO_COMPLEX,  /* nesting or argument count: BAD */
};

struct imap_parser_error {
	enum imap_parser_error_code code;
	const char *message;    /* static English text */
	const char *tag;        /* NULL when no complete tag was read: answer "* BAD" */
	/* Bytes of literal data the parser now discards before skipping the
	 * rest of the line: a refused non-synchronizing literal (RFC 7888 4),
	 * or the rest of a literal that held NUL; 0 otherwise. The engine may
	 * prefer to disconnect when this is large. */
	uint64_t skip_bytes;
};

enum imap_parser_result {
	IMAP_PARSER_ERROR = -1,         /* imap_parser_get_error() */
	IMAP_PARSER_NEED_MORE = 0,      /* all input consumed, no event */
	IMAP_PARSER_COMMAND = 1,        /* imap_parser_get_command() */
	IMAP_PARSER_CONTINUE = 2,       /* send "+ ..." for a {n} literal, then feed on */
	IMAP_PARSER_LINE = 3,           /* line mode: imap_parser_get_line() */
};

struct imap_parser;

/* A parser with a copy of limits. Free with imap_parser_free(). */
struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits, unsigned flags);
void imap_parser_free(struct imap_parser **p);

/* Replace limits or flags (e.g. after login, or ENABLE UTF8=ACCEPT). Call
 * only between commands: after an event, with nothing partial held. */
void imap_parser_set_limits(struct imap_parser *p, const struct imap_parser_limits *limits);
void imap_parser_set_flags(struct imap_parser *p, unsigned flags);

/*
 * Consume bytes from data..data+len up to the next event and return it;
 * *consumed_r says how many were used (the caller keeps the rest and passes
 * it again, after answering the event). Events:
 *  - COMMAND: imap_parser_get_command(); consumed ends after the line end.
 *  - CONTINUE: a synchronizing literal of imap_parser_literal_size() bytes
 *    fits the limits; the client sends it after the engine's "+".
 *  - ERROR: imap_parser_get_error(). The parser then skips the rest of the
 *    command (see struct imap_parser_error); a refused synchronizing literal
 *    ends the command, since the client sends its data only after a "+".
 *  - LINE: in line mode, imap_parser_get_line().
 *  - NEED_MORE: *consumed_r == len.
 * Views handed out for an event stay valid until the next call of
 * imap_parser_feed(), imap_parser_reset() or imap_parser_free().
 */
enum imap_parser_result
imap_parser_feed(struct imap_parser *p, const uint8_t *data, size_t len, size_t *consumed_r);

/* The command of the last COMMAND event. */
const struct imap_command *imap_parser_get_command(const struct imap_parser *p);
/* The error of the last ERROR event. */
const struct imap_parser_error *imap_parser_get_error(const struct imap_parser *p);
/* Size of the literal of the last CONTINUE event. */
uint64_t imap_parser_literal_size(const struct imap_parser *p);

/*
 * Line mode, for AUTHENTICATE responses (RFC 9051 6.2.2) and IDLE's "DONE"
 * (RFC 9051 6.3.13): the next event is one LINE (or an ERROR for a line
 * over max_line or holding NUL or a bare CR), after which the parser is back
 * in command mode. Call between commands.
 */
void imap_parser_expect_line(struct imap_parser *p);
/* The line of the last LINE event, without its line end; NUL-terminated. */
const char *imap_parser_get_line(const struct imap_parser *p, size_t *len_r);

/* Forget any partial command and return to command mode at a line start. */
void imap_parser_reset(struct imap_parser *p);

/* ---- reading the argument tree (views live as long as the command) ---- */

/* args[i], or NULL when i >= n_args. */
const struct imap_arg *imap_command_arg(const struct imap_command *cmd, unsigned i);
const char *imap_arg_type_name(enum imap_arg_type type);

/* True when arg is an atom equal to name, ignoring ASCII case. */
bool imap_arg_atom_equals(const struct imap_arg *arg, const char *name);
/* Any atom (not NIL). */
bool imap_arg_get_atom(const struct imap_arg *arg, const char **str_r);
/* astring (RFC 9051 9): an atom of ASTRING-CHARs (NIL included), quoted or
 * literal; not literal8. Mailbox names are astrings. */
bool imap_arg_get_astring(const struct imap_arg *arg, const char **str_r, size_t *len_r);
/* string: quoted or literal only. */
bool imap_arg_get_string(const struct imap_arg *arg, const char **str_r, size_t *len_r);
/* nstring: string, or NIL giving *str_r = NULL. */
bool imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r, size_t *len_r);
/* list-mailbox (RFC 9051 9): like astring, and atoms may hold "%" and "*". */
bool imap_arg_get_list_mailbox(const struct imap_arg *arg, const char **str_r, size_t *len_r);
/* number (RFC 9051 9): an atom of digits within 32 bits. */
bool imap_arg_get_number(const struct imap_arg *arg, uint32_t *num_r);
/* number64 (RFC 9051 9): an atom of digits up to 2^63-1. */
bool imap_arg_get_number64(const struct imap_arg *arg, uint64_t *num_r);
bool imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **list_r,
		       unsigned *count_r);
/* The bytes of any non-list item (literal8 may hold NUL). */
bool imap_arg_get_bytes(const struct imap_arg *arg, const uint8_t **data_r, size_t *len_r);

/* Append a canonical text form of args (for tests, logs and fuzzing):
 * atoms as is, strings quoted with escapes, literals as {n}/~{n} then data. */
void imap_args_describe(const struct imap_arg *args, unsigned count, struct buf *out);

#endif
