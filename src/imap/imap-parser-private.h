/*
 * imap-parser-private.h - character classes shared by the IMAP parser
 * modules (RFC 9051 9). Not for the engine.
 */
#ifndef IMAP_PARSER_PRIVATE_H
#define IMAP_PARSER_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

/* ATOM-CHAR: any CHAR except atom-specials, i.e. not CTL, SP, "(", ")",
 * "{", "%", "*", DQUOTE, "\" or "]" (RFC 9051 9). */
static inline bool
imap_is_atom_char(uint8_t c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	switch (c) {
	case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']':
		return false;
	default:
		return true;
	}
}

/* ASTRING-CHAR = ATOM-CHAR / resp-specials ("]"). */
static inline bool
imap_is_astring_char(uint8_t c)
{
	return imap_is_atom_char(c) || c == ']';
}

/* list-char = ATOM-CHAR / list-wildcards / resp-specials. */
static inline bool
imap_is_list_char(uint8_t c)
{
	return imap_is_astring_char(c) || c == '%' || c == '*';
}

#endif
