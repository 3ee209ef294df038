/*
 * imap-arg.c - reading the argument tree of imap-parser.h.
 *
 * What it does: typed getters over struct imap_arg following the RFC 9051 9
 * productions (astring, string, nstring, list-mailbox, number, number64),
 * and a canonical text form of a tree for tests, logs and the fuzzer.
 *
 * What it does not do: know any command's grammar, or copy anything: every
 * view returned points into the parser's buffer and lives as long as the
 * command it came from.
 */
#include "imap/imap-parser.h"

#include <strings.h>

#include "imap/imap-parser-private.h"

const struct imap_arg *
imap_command_arg(const struct imap_command *cmd, unsigned i)
{
	return i < cmd->n_args ? &cmd->args[i] : NULL;
}

const char *
imap_arg_type_name(enum imap_arg_type type)
{
	switch (type) {
	case IMAP_ARG_ATOM:
		return "atom";
	case IMAP_ARG_NIL:
		return "NIL";
	case IMAP_ARG_QUOTED:
		return "quoted";
	case IMAP_ARG_LITERAL:
		return "literal";
	case IMAP_ARG_LITERAL8:
		return "literal8";
	case IMAP_ARG_LIST:
		return "list";
	}
	return "unknown";
}

bool
imap_arg_atom_equals(const struct imap_arg *arg, const char *name)
{
	return arg != NULL && arg->type == IMAP_ARG_ATOM && strcasecmp(arg->str, name) == 0;
}

bool
imap_arg_get_atom(const struct imap_arg *arg, const char **str_r)
{
	if (arg == NULL || arg->type != IMAP_ARG_ATOM)
		return false;
	*str_r = arg->str;
	return true;
}

/* Every byte of an atom satisfies the class. */
static bool
atom_all(const struct imap_arg *arg, bool (*is_class)(uint8_t))
{
	for (size_t i = 0; i < arg->str_len; i++) {
		if (!is_class((uint8_t)arg->str[i]))
			return false;
	}
	return arg->str_len > 0;
}

bool
imap_arg_get_string(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
	if (arg == NULL || (arg->type != IMAP_ARG_QUOTED && arg->type != IMAP_ARG_LITERAL))
		return false;
	*str_r = arg->str;
	*len_r = arg->str_len;
	return true;
}

bool
imap_arg_get_astring(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
	if (arg == NULL)
		return false;
	if (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL) {
		/* "NIL" is an atom, hence a valid astring (a mailbox named NIL) */
		if (!atom_all(arg, imap_is_astring_char))
			return false;
		*str_r = arg->str;
		*len_r = arg->str_len;
		return true;
	}
	return imap_arg_get_string(arg, str_r, len_r);
}

bool
imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
	if (arg != NULL && arg->type == IMAP_ARG_NIL) {
		*str_r = NULL;
		*len_r = 0;
		return true;
	}
	return imap_arg_get_string(arg, str_r, len_r);
}

bool
imap_arg_get_list_mailbox(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
	if (arg == NULL)
		return false;
	if (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL) {
		if (!atom_all(arg, imap_is_list_char))
			return false;
		*str_r = arg->str;
		*len_r = arg->str_len;
		return true;
	}
	return imap_arg_get_string(arg, str_r, len_r);
}

bool
imap_arg_get_number64(const struct imap_arg *arg, uint64_t *num_r)
{
	uint64_t n = 0;

	if (arg == NULL || arg->type != IMAP_ARG_ATOM || arg->str_len == 0)
		return false;
	for (size_t i = 0; i < arg->str_len; i++) {
		uint8_t c = (uint8_t)arg->str[i];

		if (c < '0' || c > '9')
			return false;
		/* RFC 9051 9: number64 is at most 2^63-1 */
		if (n > ((uint64_t)INT64_MAX - (uint64_t)(c - '0')) / 10)
			return false;
		n = n * 10 + (c - '0');
	}
	*num_r = n;
	return true;
}

bool
imap_arg_get_number(const struct imap_arg *arg, uint32_t *num_r)
{
	uint64_t n;

	/* RFC 9051 9: number is an unsigned 32-bit integer */
	if (!imap_arg_get_number64(arg, &n) || n > UINT32_MAX)
		return false;
	*num_r = (uint32_t)n;
	return true;
}

bool
imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **list_r, unsigned *count_r)
{
	if (arg == NULL || arg->type != IMAP_ARG_LIST)
		return false;
	*list_r = arg->list;
	*count_r = arg->list_count;
	return true;
}

bool
imap_arg_get_bytes(const struct imap_arg *arg, const uint8_t **data_r, size_t *len_r)
{
	if (arg == NULL || arg->type == IMAP_ARG_LIST)
		return false;
	*data_r = (const uint8_t *)arg->str;
	*len_r = arg->str_len;
	return true;
}

/* Bytes as a quoted string, with \xHH for what a quoted string cannot hold. */
static void
describe_bytes(const char *s, size_t len, struct buf *out)
{
	buf_append_byte(out, '"');
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)s[i];

		if (c == '"' || c == '\\')
			buf_printf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			buf_printf(out, "\\x%02x", c);
		else
			buf_append_byte(out, c);
	}
	buf_append_byte(out, '"');
}

void
imap_args_describe(const struct imap_arg *args, unsigned count, struct buf *out)
{
	for (unsigned i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];

		if (i > 0)
			buf_append_byte(out, ' ');
		switch (a->type) {
		case IMAP_ARG_ATOM:
		case IMAP_ARG_NIL:
			buf_append(out, a->str, a->str_len);
			break;
		case IMAP_ARG_QUOTED:
			describe_bytes(a->str, a->str_len, out);
			break;
		case IMAP_ARG_LITERAL:
		case IMAP_ARG_LITERAL8:
			buf_printf(out, "%s{%zu%s}", a->type == IMAP_ARG_LITERAL8 ? "~" : "",
				   a->str_len, (a->flags & IMAP_ARG_FLAG_NONSYNC) != 0 ? "+" : "");
			describe_bytes(a->str, a->str_len, out);
			break;
		case IMAP_ARG_LIST:
			buf_append_byte(out, '(');
			imap_args_describe(a->list, a->list_count, out);
			buf_append_byte(out, ')');
			break;
		}
	}
}
