/*
 * smtp-command.c - SMTP command line parser and xtext (see smtp-command.h).
 *
 * The parser works on one complete line. Checks run in a fixed order: verb,
 * then the argument shape of that verb (RFC 5321 4.1.1 and 4.1.2, RFC 3030 2
 * for BDAT), then for MAIL/RCPT the path and each esmtp-param. Only syntax is
 * checked here; what a parameter means and whether the command is allowed in
 * the current state are the engine's questions.
 *
 * Deliberate leniency, because real clients send it: an optional single SP
 * after "FROM:" / "TO:", and trailing spaces or tabs at the end of a line.
 * Nothing else: no missing angle brackets, no several spaces between
 * parameters.
 */
#include "smtp/smtp-command.h"

#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "smtp/smtp-address.h"

#define SMTP_HELO_MAX_DOMAIN 255

static const char *const verb_names[] = {
	[SMTP_VERB_UNKNOWN] = "UNKNOWN",
	[SMTP_VERB_EHLO] = "EHLO",
	[SMTP_VERB_HELO] = "HELO",
	[SMTP_VERB_MAIL] = "MAIL",
	[SMTP_VERB_RCPT] = "RCPT",
	[SMTP_VERB_DATA] = "DATA",
	[SMTP_VERB_BDAT] = "BDAT",
	[SMTP_VERB_RSET] = "RSET",
	[SMTP_VERB_NOOP] = "NOOP",
	[SMTP_VERB_QUIT] = "QUIT",
	[SMTP_VERB_VRFY] = "VRFY",
	[SMTP_VERB_EXPN] = "EXPN",
	[SMTP_VERB_HELP] = "HELP",
	[SMTP_VERB_STARTTLS] = "STARTTLS",
	[SMTP_VERB_AUTH] = "AUTH",
};

struct cmd_parser {
	const uint8_t *p, *end;
	const struct smtp_command_limits *limits;
	unsigned flags;
	struct smtp_command *cmd;
	const char *error;
};

void
smtp_command_limits_init_default(struct smtp_command_limits *limits)
{
	limits->max_line = SMTP_COMMAND_DEFAULT_MAX_LINE;
	limits->max_params = SMTP_COMMAND_DEFAULT_MAX_PARAMS;
	smtp_address_limits_init_default(&limits->address);
}

const char *
smtp_verb_name(enum smtp_verb verb)
{
	if ((size_t)verb >= N_ELEMENTS(verb_names) || verb_names[verb] == NULL)
		return "UNKNOWN";
	return verb_names[verb];
}

static int
fail(struct cmd_parser *cp, enum smtp_command_error error, const char *text)
{
	if (cp->cmd->error == SMTP_COMMAND_ERROR_NONE) {
		cp->cmd->error = error;
		cp->error = text;
	}
	return -1;
}

static bool
is_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static enum smtp_verb
lookup_verb(const uint8_t *p, size_t len)
{
	for (size_t v = 1; v < N_ELEMENTS(verb_names); v++) {
		if (strlen(verb_names[v]) == len &&
		    strncasecmp((const char *)p, verb_names[v], len) == 0)
			return (enum smtp_verb)v;
	}
	return SMTP_VERB_UNKNOWN;
}

static bool
match_ci(struct cmd_parser *cp, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(cp->end - cp->p) < n || strncasecmp((const char *)cp->p, word, n) != 0)
		return false;
	cp->p += n;
	return true;
}

/* A string argument: printable US-ASCII, SP and HTAB (RFC 5321 4.1.2 String,
 * loosened to free text for VRFY/HELP/NOOP). */
static int
parse_text_arg(struct cmd_parser *cp, bool required)
{
	if (cp->p == cp->end) {
		if (required)
			return fail(cp, SMTP_COMMAND_ERROR_SYNTAX, "Argument required");
		return 0;
	}
	for (const uint8_t *q = cp->p; q < cp->end; q++) {
		if ((*q < 32 && *q != '\t') || *q >= 127)
			return fail(cp, SMTP_COMMAND_ERROR_SYNTAX, "Invalid character in argument");
	}
	cp->cmd->args = mem_strndup((const char *)cp->p, (size_t)(cp->end - cp->p));
	cp->p = cp->end;
	return 0;
}

/*
 * EHLO/HELO SP ( Domain / address-literal ). Clients send all kinds of
 * names here (underscores, bare host names) and RFC 5321 4.1.4 forbids
 * refusing a mail for a name that does not resolve, so only the shape is
 * checked: one token of visible US-ASCII. The glue may be stricter.
 */
static int
parse_helo_arg(struct cmd_parser *cp)
{
	size_t len = (size_t)(cp->end - cp->p);

	if (len == 0)
		return fail(cp, SMTP_COMMAND_ERROR_SYNTAX, "Domain or address literal required");
	if (len > SMTP_HELO_MAX_DOMAIN)
		return fail(cp, SMTP_COMMAND_ERROR_SYNTAX, "Domain too long");
	for (const uint8_t *q = cp->p; q < cp->end; q++) {
		if (*q <= 32 || *q >= 127)
			return fail(cp, SMTP_COMMAND_ERROR_SYNTAX, "Invalid domain");
	}
	cp->cmd->args = mem_strndup((const char *)cp->p, len);
	cp->p = cp->end;
	return 0;
}

/* esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
 * esmtp-value   = 1*(%d33-60 / %d62-126) */
static int
parse_param(struct cmd_parser *cp, struct smtp_param *param)
{
	const uint8_t *kw = cp->p, *val;

	if (cp->p == cp->end || !is_alnum(*cp->p))
		return fail(cp, SMTP_COMMAND_ERROR_PARAM, "Invalid parameter keyword");
	while (cp->p < cp->end && (is_alnum(*cp->p) || *cp->p == '-'))
		cp->p++;
	param->keyword = mem_strndup((const char *)kw, (size_t)(cp->p - kw));
	if (cp->p == cp->end || *cp->p == ' ')
		return 0;
	if (*cp->p != '=')
		return fail(cp, SMTP_COMMAND_ERROR_PARAM, "Invalid parameter keyword");
	val = ++cp->p;
	while (cp->p < cp->end && *cp->p >= 33 && *cp->p <= 126 && *cp->p != '=')
		cp->p++;
	if (cp->p == val)
		return fail(cp, SMTP_COMMAND_ERROR_PARAM, "Empty parameter value");
	if (cp->p < cp->end && *cp->p != ' ')
		return fail(cp, SMTP_COMMAND_ERROR_PARAM, "Invalid character in parameter value");
	param->value = mem_strndup((const char *)val, (size_t)(cp->p - val));
	return 0;
}

/* Mail-parameters / Rcpt-parameters = esmtp-param *(SP esmtp-param) */
static int
parse_params(struct cmd_parser *cp)
{
	struct smtp_command *cmd = cp->cmd;

	while (cp->p < cp->end) {
		if (*cp->p != ' ')
			return fail(cp, SMTP_COMMAND_ERROR_SYNTAX,
				    "Unexpected character after path");
		cp->p++;
		if (cmd->n_params == cp->limits->max_params)
			return fail(cp, SMTP_COMMAND_ERROR_PARAM, "Too many parameters");
		if (cmd->params == NULL)
			cmd->params = mem_array(cp->limits->max_params, sizeof(*cmd->params));
		if (parse_param(cp, &cmd->params[cmd->n_params++]) < 0)
			return -1;
	}
	return 0;
}

/* "MAIL FROM:" Reverse-path [SP Mail-parameters], "RCPT TO:" likewise. */
static int
parse_mail_rcpt(struct cmd_parser *cp, const char *prefix, unsigned addr_flags)
{
	const char *error;
	size_t used;

	if (!match_ci(cp, prefix))
		return fail(cp, SMTP_COMMAND_ERROR_SYNTAX,
			    cp->cmd->verb == SMTP_VERB_MAIL ? "Syntax: MAIL FROM:<address>"
							    : "Syntax: RCPT TO:<address>");
	/* one optional SP after the colon, as many clients send */
	if (cp->p < cp->end && *cp->p == ' ')
		cp->p++;
	if ((cp->flags & SMTP_COMMAND_PARSE_UTF8) != 0)
		addr_flags |= SMTP_ADDRESS_ALLOW_UTF8;
	if (smtp_address_parse_path(cp->p, (size_t)(cp->end - cp->p), addr_flags,
				    &cp->limits->address, &cp->cmd->path, &used, &error) < 0)
		return fail(cp, SMTP_COMMAND_ERROR_PATH, error);
	cp->p += used;
	return parse_params(cp);
}

/* bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ], chunk-size = 1*DIGIT */
static int
parse_bdat(struct cmd_parser *cp)
{
	uint64_t size = 0;
	const uint8_t *digits = cp->p;

	while (cp->p < cp->end && *cp->p >= '0' && *cp->p <= '9') {
		if (__builtin_mul_overflow(size, 10, &size) ||
		    __builtin_add_overflow(size, (uint64_t)(*cp->p - '0'), &size))
			return fail(cp, SMTP_COMMAND_ERROR_SYNTAX, "Chunk size too large");
		cp->p++;
	}
	if (cp->p == digits)
		return fail(cp, SMTP_COMMAND_ERROR_SYNTAX, "Syntax: BDAT size [LAST]");
	cp->cmd->chunk_size = size;
	if (cp->p == cp->end)
		return 0;
	if (!match_ci(cp, " LAST") || cp->p != cp->end)
		return fail(cp, SMTP_COMMAND_ERROR_SYNTAX, "Syntax: BDAT size [LAST]");
	cp->cmd->last = true;
	return 0;
}

static int
parse_args(struct cmd_parser *cp)
{
	switch (cp->cmd->verb) {
	case SMTP_VERB_EHLO:
	case SMTP_VERB_HELO:
		return parse_helo_arg(cp);
	case SMTP_VERB_MAIL:
		return parse_mail_rcpt(cp, "FROM:", SMTP_ADDRESS_ALLOW_NULL);
	case SMTP_VERB_RCPT:
		return parse_mail_rcpt(cp, "TO:", SMTP_ADDRESS_ALLOW_POSTMASTER);
	case SMTP_VERB_BDAT:
		return parse_bdat(cp);
	case SMTP_VERB_DATA:
	case SMTP_VERB_RSET:
	case SMTP_VERB_QUIT:
	case SMTP_VERB_STARTTLS:
		if (cp->p != cp->end)
			return fail(cp, SMTP_COMMAND_ERROR_SYNTAX, "No arguments allowed");
		return 0;
	case SMTP_VERB_NOOP:
	case SMTP_VERB_HELP:
		return parse_text_arg(cp, false);
	case SMTP_VERB_VRFY:
	case SMTP_VERB_EXPN:
	case SMTP_VERB_AUTH:
		return parse_text_arg(cp, true);
	case SMTP_VERB_UNKNOWN:
		break;
	}
	return 0;
}

int
smtp_command_parse(const uint8_t *line, size_t len, const struct smtp_command_limits *limits,
		   unsigned flags, struct smtp_command *cmd_r, const char **error_r)
{
	struct cmd_parser cp = { .limits = limits, .flags = flags, .cmd = cmd_r };
	const uint8_t *verb_end;

	memset(cmd_r, 0, sizeof(*cmd_r));
	*error_r = NULL;
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	cp.p = line;
	cp.end = line + len;
	verb_end = memchr(line, ' ', len);
	if (verb_end == NULL)
		verb_end = cp.end;
	cmd_r->verb = lookup_verb(line, (size_t)(verb_end - line));
	if (cmd_r->verb == SMTP_VERB_UNKNOWN)
		return 1;
	/* exactly one SP between verb and arguments (RFC 5321 4.1.1) */
	cp.p = verb_end == cp.end ? cp.end : verb_end + 1;
	if (parse_args(&cp) < 0) {
		*error_r = cp.error;
		return -1;
	}
	return 1;
}

void
smtp_command_deinit(struct smtp_command *cmd)
{
	mem_free(&cmd->args);
	smtp_address_deinit(&cmd->path);
	for (unsigned i = 0; i < cmd->n_params; i++) {
		mem_free(&cmd->params[i].keyword);
		mem_free(&cmd->params[i].value);
	}
	mem_free(&cmd->params);
	memset(cmd, 0, sizeof(*cmd));
}

const struct smtp_param *
smtp_command_find_param(const struct smtp_command *cmd, const char *keyword)
{
	for (unsigned i = 0; i < cmd->n_params; i++) {
		const char *kw = cmd->params[i].keyword;

		if (kw != NULL && strcasecmp(kw, keyword) == 0)
			return &cmd->params[i];
	}
	return NULL;
}

static int
hex_value(char c)
{
	/* RFC 3461 4: hexchar uses upper-case A-F only */
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
smtp_xtext_decode(const char *in, size_t len, struct buf *out, const char **error_r)
{
	size_t old_len = buf_len(out);

	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)in[i];
		int hi, lo;

		if (c == '+') {
			if (len - i < 3) {
				*error_r = "Truncated xtext escape";
				goto fail;
			}
			hi = hex_value(in[i + 1]);
			lo = hex_value(in[i + 2]);
			if (hi < 0 || lo < 0) {
				*error_r = "Invalid xtext escape";
				goto fail;
			}
			c = (uint8_t)(hi * 16 + lo);
			i += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			*error_r = "Invalid character in xtext";
			goto fail;
		}
		if (buf_append_byte(out, c) < 0) {
			*error_r = "xtext too long";
			goto fail;
		}
	}
	return 1;
fail:
	buf_truncate(out, old_len);
	return -1;
}

int
smtp_xtext_encode(const uint8_t *in, size_t len, struct buf *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t old_len = buf_len(out);

	for (size_t i = 0; i < len; i++) {
		uint8_t c = in[i];
		int ret;

		if (c >= 33 && c <= 126 && c != '+' && c != '=') {
			ret = buf_append_byte(out, c);
		} else {
			uint8_t esc[3] = { '+', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15] };

			ret = buf_append(out, esc, sizeof(esc));
		}
		if (ret < 0) {
			buf_truncate(out, old_len);
			return -1;
		}
	}
	return 0;
}

/* ---- DSN parameter values (RFC 3461 4) ---- */

int
smtp_dsn_parse_notify(const char *value, unsigned *notify_r, const char **error_r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} elements[] = {
		{ "NEVER", SMTP_DSN_NOTIFY_NEVER },
		{ "SUCCESS", SMTP_DSN_NOTIFY_SUCCESS },
		{ "FAILURE", SMTP_DSN_NOTIFY_FAILURE },
		{ "DELAY", SMTP_DSN_NOTIFY_DELAY },
	};
	unsigned notify = 0;
	const char *p = value;

	*error_r = "Syntax: NOTIFY=NEVER or NOTIFY=SUCCESS,FAILURE,DELAY (any of them)";
	if (value == NULL || *value == '\0')
		return -1;
	for (;;) {
		size_t len = strcspn(p, ",");
		unsigned bit = 0;

		for (size_t i = 0; i < N_ELEMENTS(elements) && bit == 0; i++) {
			if (len == strlen(elements[i].name) &&
			    strncasecmp(p, elements[i].name, len) == 0)
				bit = elements[i].bit;
		}
		if (bit == 0)
			return -1;
		notify |= bit;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	/* RFC 3461 4.1: NEVER must appear by itself */
	if ((notify & SMTP_DSN_NOTIFY_NEVER) != 0 && notify != SMTP_DSN_NOTIFY_NEVER) {
		*error_r = "NOTIFY=NEVER cannot be combined with other values";
		return -1;
	}
	*notify_r = notify;
	return 1;
}

int
smtp_dsn_parse_ret(const char *value, enum smtp_dsn_ret *ret_r, const char **error_r)
{
	if (value != NULL && strcasecmp(value, "FULL") == 0) {
		*ret_r = SMTP_DSN_RET_FULL;
	} else if (value != NULL && strcasecmp(value, "HDRS") == 0) {
		*ret_r = SMTP_DSN_RET_HDRS;
	} else {
		*error_r = "Syntax: RET=FULL or RET=HDRS";
		return -1;
	}
	return 1;
}

/* Decode xtext into a bounded scratch buffer: valid, not empty, no control
 * character (C0 or DEL) and, with ascii_only, no octet above 0x7e. */
static bool
xtext_decoded_ok(const char *xtext, size_t len, bool ascii_only)
{
	struct buf decoded;
	const char *error;
	bool ok;

	buf_init(&decoded, SMTP_DSN_ORCPT_MAX);
	ok = smtp_xtext_decode(xtext, len, &decoded, &error) > 0 && buf_len(&decoded) > 0;
	for (size_t i = 0; ok && i < buf_len(&decoded); i++) {
		uint8_t c = buf_data(&decoded)[i];

		ok = c >= 0x20 && c != 0x7f && (!ascii_only || c < 0x7f);
	}
	buf_deinit(&decoded);
	return ok;
}

int
smtp_dsn_check_envid(const char *value, const char **error_r)
{
	size_t len = value != NULL ? strlen(value) : 0;

	if (len == 0 || len > SMTP_DSN_ENVID_MAX) {
		*error_r = "Syntax: ENVID=xtext of 1 to 100 characters";
		return -1;
	}
	/* RFC 3461 4.4: printable US-ASCII before xtext encoding */
	if (!xtext_decoded_ok(value, len, true)) {
		*error_r = "ENVID is not valid xtext of printable US-ASCII";
		return -1;
	}
	return 1;
}

int
smtp_dsn_check_orcpt(const char *value, const char **error_r)
{
	size_t len = value != NULL ? strlen(value) : 0;
	const char *semi = value != NULL ? strchr(value, ';') : NULL;

	if (len == 0 || len > SMTP_DSN_ORCPT_MAX || semi == NULL || semi == value ||
	    semi[1] == '\0') {
		*error_r = "Syntax: ORCPT=addr-type;xtext of at most 500 characters";
		return -1;
	}
	for (const char *p = value; p < semi; p++) {
		if (!smtp_is_atext((uint8_t)*p)) {
			*error_r = "ORCPT address type is not an atom";
			return -1;
		}
	}
	/* RFC 3461 4.2: the address is xtext; no control characters in it
	 * (they would break the DSN's Original-Recipient field). UTF-8 stays
	 * allowed for the "utf-8" address type (RFC 6533 3). */
	if (!xtext_decoded_ok(semi + 1, len - (size_t)(semi + 1 - value), false)) {
		*error_r = "ORCPT address is not valid xtext";
		return -1;
	}
	return 1;
}
