/*
 * pop3-command.c - see pop3-command.h. The reader appends whole runs up to
 * the next LF (memchr), so feeding one byte at a time and feeding everything
 * at once take the same decisions: the only state kept between calls is the
 * partial line and the skipping flag.
 */
#include "pop3/pop3-command.h"

#include <limits.h>
#include <string.h>

#include "core/mem.h"

/* Wipe the finished line (it may be "PASS secret") and get ready for the next.
 * The buffer is sized for a whole line up front, so it is never reallocated
 * mid-line and no copy of a line is left behind in freed memory. */
static void
pop3_line_reader_reset(struct pop3_line_reader *r)
{
	if (r->line.data != NULL)
		explicit_bzero(r->line.data, r->line.cap);
	if (r->line.cap > 2 * r->max_line) {
		/* shrink after a long AUTH continuation line */
		buf_deinit(&r->line);
	}
	buf_reset(&r->line);
	r->line.max = r->max_line - 1;
	if (buf_reserve(&r->line, r->line.max) == NULL)
		PANIC("line reader cannot reserve %zu bytes", r->line.max);
	r->have_line = false;
}

void
pop3_line_reader_init(struct pop3_line_reader *r, size_t max_line)
{
	ASSERT(max_line >= 3);
	memset(r, 0, sizeof(*r));
	buf_init(&r->line, max_line - 1);
	r->max_line = max_line;
	pop3_line_reader_reset(r);
}

void
pop3_line_reader_deinit(struct pop3_line_reader *r)
{
	if (r->line.data != NULL)
		explicit_bzero(r->line.data, r->line.cap);
	buf_deinit(&r->line);
}

void
pop3_line_reader_set_max(struct pop3_line_reader *r, size_t max_line)
{
	ASSERT(max_line >= 3);
	/* no partial line collected (skipping an over-long one is fine) */
	ASSERT(r->have_line || buf_len(&r->line) == 0);
	r->max_line = max_line;
	if (!r->have_line)
		pop3_line_reader_reset(r);
	/* else: the next feed resets with the new maximum */
}

bool
pop3_line_reader_in_line(const struct pop3_line_reader *r)
{
	return r->skipping || (!r->have_line && buf_len(&r->line) > 0);
}

/* Hand out the collected line without its CR (the LF was never stored). */
static int
pop3_line_reader_finish(struct pop3_line_reader *r, char **line_r, size_t *line_len_r)
{
	size_t len = buf_len(&r->line);

	if (len > 0 && buf_data(&r->line)[len - 1] == '\r')
		buf_truncate(&r->line, --len);
	r->have_line = true;
	*line_r = (char *)buf_data(&r->line);
	*line_len_r = len;
	return 1;
}

int
pop3_line_reader_feed(struct pop3_line_reader *r, const uint8_t *data, size_t len,
		      size_t *consumed_r, char **line_r, size_t *line_len_r)
{
	size_t pos = 0;

	*line_r = NULL;
	*line_len_r = 0;
	if (r->have_line)
		pop3_line_reader_reset(r);
	while (pos < len) {
		const uint8_t *lf = memchr(data + pos, '\n', len - pos);
		size_t n = lf == NULL ? len - pos : (size_t)(lf - (data + pos));

		if (r->skipping) {
			pos += lf == NULL ? n : n + 1;
			r->skipping = lf == NULL;
			continue;
		}
		if (buf_append(&r->line, data + pos, n) < 0) {
			/* Too long: report now, drop what we have and skip to the
			 * line end (RFC 2449 4 limit; the reply is the caller's). */
			pos += lf == NULL ? n : n + 1;
			r->skipping = lf == NULL;
			pop3_line_reader_reset(r);
			*consumed_r = pos;
			return -1;
		}
		pos += n;
		if (lf == NULL)
			break;
		*consumed_r = pos + 1;
		return pop3_line_reader_finish(r, line_r, line_len_r);
	}
	*consumed_r = pos;
	return 0;
}

void
pop3_command_limits_init_default(struct pop3_command_limits *limits)
{
	memset(limits, 0, sizeof(*limits));
	limits->max_arg = POP3_COMMAND_DEFAULT_MAX_ARG;
}

static const struct {
	char keyword[5];
	enum pop3_command_id id;
} pop3_command_keywords[] = {
	{ "USER", POP3_CMD_USER }, { "PASS", POP3_CMD_PASS }, { "AUTH", POP3_CMD_AUTH },
	{ "CAPA", POP3_CMD_CAPA }, { "STAT", POP3_CMD_STAT }, { "LIST", POP3_CMD_LIST },
	{ "UIDL", POP3_CMD_UIDL }, { "RETR", POP3_CMD_RETR }, { "TOP", POP3_CMD_TOP },
	{ "DELE", POP3_CMD_DELE }, { "NOOP", POP3_CMD_NOOP }, { "RSET", POP3_CMD_RSET },
	{ "QUIT", POP3_CMD_QUIT }, { "STLS", POP3_CMD_STLS },
};

/* Keyword: 1-4 ASCII letters (RFC 1939 3, RFC 2449 4), stored upper-cased. */
static int
pop3_command_parse_keyword(const char *line, size_t klen, struct pop3_command *cmd,
			   const char **error_r)
{
	if (klen == 0) {
		*error_r = "syntax error: leading space";
		return -1;
	}
	if (klen > 4) {
		*error_r = "unknown command";
		return -1;
	}
	for (size_t i = 0; i < klen; i++) {
		char c = line[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z') {
			*error_r = "unknown command";
			return -1;
		}
		cmd->keyword[i] = c;
	}
	cmd->keyword[klen] = '\0';
	cmd->id = POP3_CMD_UNKNOWN;
	for (size_t i = 0; i < N_ELEMENTS(pop3_command_keywords); i++) {
		if (strcmp(cmd->keyword, pop3_command_keywords[i].keyword) == 0)
			cmd->id = pop3_command_keywords[i].id;
	}
	return 1;
}

static bool
pop3_command_is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* Arguments after the keyword's space: single-space separated tokens. */
static int
pop3_command_parse_args(char *p, size_t len, const struct pop3_command_limits *limits,
			struct pop3_command *cmd, const char **error_r)
{
	size_t pos = 0;

	for (;;) {
		size_t start = pos, max;

		while (pos < len && p[pos] != ' ') {
			if (pop3_command_is_ctl((unsigned char)p[pos])) {
				*error_r = "invalid character in command line";
				return -1;
			}
			pos++;
		}
		if (pos == start) {
			*error_r = "syntax error: extra space";
			return -1;
		}
		if (cmd->argc == POP3_COMMAND_MAX_ARGS) {
			*error_r = "too many arguments";
			return -1;
		}
		/* RFC 5034 4: AUTH's initial response is limited by the line only. */
		max = cmd->id == POP3_CMD_AUTH && cmd->argc == 1 ? SIZE_MAX : limits->max_arg;
		if (pos - start > max) {
			*error_r = "argument too long";
			return -1;
		}
		cmd->args[cmd->argc] = p + start;
		cmd->arg_lens[cmd->argc] = pos - start;
		cmd->argc++;
		if (pos == len)
			return 1;
		p[pos++] = '\0';
	}
}

int
pop3_command_parse(char *line, size_t len, const struct pop3_command_limits *limits,
		   struct pop3_command *cmd_r, const char **error_r)
{
	const char *sp;
	size_t klen;

	memset(cmd_r, 0, sizeof(*cmd_r));
	ASSERT(line[len] == '\0');
	if (len == 0) {
		*error_r = "empty command line";
		return -1;
	}
	/* A NUL would cut the C strings short; a CR is only valid in CRLF. */
	if (memchr(line, '\0', len) != NULL || memchr(line, '\r', len) != NULL) {
		*error_r = "invalid character in command line";
		return -1;
	}
	sp = memchr(line, ' ', len);
	klen = sp == NULL ? len : (size_t)(sp - line);
	if (pop3_command_parse_keyword(line, klen, cmd_r, error_r) < 0)
		return -1;
	if (klen == len)
		return 1;
	line[klen] = '\0';
	if (cmd_r->id == POP3_CMD_PASS) {
		/* RFC 1939 7: the password is everything after "PASS ". */
		if (klen + 1 == len) {
			*error_r = "syntax error: extra space";
			return -1;
		}
		cmd_r->args[0] = line + klen + 1;
		cmd_r->arg_lens[0] = len - klen - 1;
		cmd_r->argc = 1;
		return 1;
	}
	return pop3_command_parse_args(line + klen + 1, len - klen - 1, limits, cmd_r, error_r);
}

int
pop3_command_parse_uint(const char *s, uint64_t max, uint64_t *num_r)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		uint64_t d;

		if (*s < '0' || *s > '9')
			return -1;
		d = (uint64_t)(*s - '0');
		if (d > max || v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*num_r = v;
	return 1;
}

int
pop3_command_parse_msgnum(const char *s, unsigned *num_r)
{
	uint64_t v;

	if (pop3_command_parse_uint(s, UINT_MAX, &v) < 0 || v == 0)
		return -1;
	*num_r = (unsigned)v;
	return 1;
}
