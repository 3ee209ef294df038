/*
 * password.h - password hashes (yescrypt, through libxcrypt) and random
 * passwords.
 *
 * What it does: makes new hashes in yescrypt ("$y$") at libxcrypt's default
 * cost, verifies a password against a stored hash in constant time, burns
 * the same time for unknown users, and generates random passwords.
 *
 * What it does not do: no storage, no SASL mechanism, no rate limiting, no
 * logging. Hashing is slow on purpose (tens of milliseconds): callers run it
 * on the worker pool, never on the event loop (DESIGN.md 1).
 *
 * Invariants: thread-safe (each call has its own struct crypt_data; crypt()
 * and other static-buffer functions are never used). Copies of passwords and
 * scratch hash state are wiped with explicit_bzero() before being freed.
 * Verification accepts every strong scheme libxcrypt supports (yescrypt,
 * gost-yescrypt, scrypt, bcrypt, SHA-crypt), so that imported hashes work;
 * it refuses the legacy ones (DES, MD5 and the like).
 */
#ifndef SASL_PASSWORD_H
#define SASL_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/* Longest password accepted, in bytes (libxcrypt's CRYPT_MAX_PASSPHRASE_SIZE
 * less the NUL). */
#define PASSWORD_MAX_LENGTH 511

/* Hashes password with a fresh random salt. Returns 1 and an allocated hash
 * string in *hash_r (free with mem_free; it is not secret); -1 with a static
 * *error_r when the password is empty or longer than PASSWORD_MAX_LENGTH, or
 * libxcrypt fails. */
int password_hash(const char *password, char **hash_r, const char **error_r);

/* Checks password against a stored hash. Returns 1 when it matches, 0 when
 * it does not, -1 when hash is not a usable hash (malformed, unknown or
 * legacy scheme). The comparison of the computed hash takes the same time
 * wherever the first difference is. */
int password_verify(const char *password, const char *hash);

/* Does the work of one password_verify() with a default-cost yescrypt hash
 * and throws the result away, so that a login for an unknown user takes as
 * long as one with a wrong password. */
void password_verify_dummy(const char *password);

/* true when hash is a yescrypt hash at the current default cost; false
 * means the caller should store a new password_hash() after the next
 * successful login. */
bool password_hash_is_current(const char *hash);

/* A random password of len characters (1..256) from an alphabet without
 * look-alikes (no 0/O/o, 1/l/I), drawn uniformly from getrandom(2). Returns
 * an allocated string; free it with password_free(). Panics when len is out
 * of range or the kernel cannot give randomness. */
char *password_generate(size_t len);

/* Wipes and frees a password string; sets *password to NULL. NULL is fine. */
void password_free(char **password);

#endif
