/*
 * conf-sni.h - the value of tls_sni_certs: extra certificates chosen by the
 * name a TLS client asks for (SNI), as comma-separated HOST=CERTFILE:KEYFILE.
 *
 * Pure: parses the text, does not open the files (the TLS layer does, and
 * says which one is wrong). HOST is a host name or "*.domain"; the file
 * paths are kept as written (relative ones are the caller's to resolve).
 * Used twice: by the schema's check, so `posthorn config check` reports a
 * bad value as file:line:, and by the server when it loads the certificates.
 */
#ifndef CONF_CONF_SNI_H
#define CONF_CONF_SNI_H

#include <stddef.h>

#define CONF_SNI_MAX_ENTRIES 256

struct conf_sni_entry {
	char *hostname;
	char *cert_file;
	char *key_file;
};

/* 1 with *entries_r (conf_sni_free) and *count_r (0 for an empty value), or
 * -1 with *error_r a static English text and nothing to free. */
int conf_sni_parse(const char *value, struct conf_sni_entry **entries_r, size_t *count_r,
		   const char **error_r);
void conf_sni_free(struct conf_sni_entry **entries, size_t count);

#endif
