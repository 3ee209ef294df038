/*
 * tls-selfsigned.c - the key and self-signed certificate of `posthorn init`,
 * so that STARTTLS and implicit TLS work before the admin installs a real
 * certificate.
 *
 * Does: an EC P-256 key; an X.509 v3 certificate (RFC 5280) for the host
 * name, localhost and the loopback addresses, valid for 10 years, usable as
 * its own trust anchor (OpenSSL, also with X509_V_FLAG_X509_STRICT as
 * Python 3.13 sets it). It is an end-entity certificate (CA:FALSE:
 * NSS, in Thunderbird, refuses a CA certificate as a server's), key usage
 * digitalSignature (all that ECDHE-ECDSA and TLS 1.3 need), extended key
 * usage serverAuth. Files are replaced atomically: temporary name, fsync,
 * rename, fsync of the directory.
 * Does not: request certificates (ACME), or overwrite only one of the two
 * files on failure (the key is renamed first; a failure after that leaves
 * a new key with an old certificate, which tls_server_ctx_new reports as a
 * mismatch naming both files).
 */
#include "tls/tls-private.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

#define TLS_SELF_SIGNED_DAYS 3653 /* 10 years with their leap days */
#define TLS_CN_MAX 64             /* RFC 5280 ub-common-name */

/* A DNS host name: labels of letters, digits and '-', separated by dots. */
static bool
tls_hostname_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 253 || name[0] == '.' || name[0] == '-' || name[len - 1] == '.' ||
	    strstr(name, "..") != NULL)
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") ==
	       len;
}

static int
tls_add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
	int ok;

	if (ext == NULL)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

static int
tls_cert_extensions(X509 *x, const char *hostname)
{
	char san[512];
	X509V3_CTX v3;
	bool is_localhost = strcasecmp(hostname, "localhost") == 0;

	/* without a CN (names over 64 bytes) the subject is empty and the
	 * subjectAltName must be critical (RFC 5280 4.2.1.6) */
	snprintf(san, sizeof(san), "%sDNS:%s%s,IP:127.0.0.1,IP:::1",
		 strlen(hostname) > TLS_CN_MAX ? "critical," : "", hostname,
		 is_localhost ? "" : ",DNS:localhost");
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	return tls_add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE") &&
	       tls_add_ext(x, &v3, NID_key_usage, "critical,digitalSignature") &&
	       tls_add_ext(x, &v3, NID_ext_key_usage, "serverAuth") &&
	       tls_add_ext(x, &v3, NID_subject_key_identifier, "hash") &&
	       tls_add_ext(x, &v3, NID_authority_key_identifier, "keyid:always") &&
	       tls_add_ext(x, &v3, NID_subject_alt_name, san);
}

/* The certificate, signed by key; NULL with the error queue filled. */
static X509 *
tls_self_signed_cert(const char *hostname, EVP_PKEY *key)
{
	X509 *x = X509_new();
	BIGNUM *serial = BN_new();
	X509_NAME *name;
	int ok;

	if (x == NULL || serial == NULL)
		PANIC("out of memory");
	/* a positive random serial of at most 127 bits (RFC 5280 4.1.2.2) */
	ok = X509_set_version(x, X509_VERSION_3) &&
	     BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
	     BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) != NULL &&
	     /* an hour back: clients whose clock is a little behind */
	     X509_gmtime_adj(X509_getm_notBefore(x), -3600) != NULL &&
	     X509_time_adj_ex(X509_getm_notAfter(x), TLS_SELF_SIGNED_DAYS, 0, NULL) != NULL &&
	     X509_set_pubkey(x, key);
	BN_free(serial);
	name = X509_get_subject_name(x);
	if (ok && strlen(hostname) <= TLS_CN_MAX)
		ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
						(const unsigned char *)hostname, -1, -1, 0);
	ok = ok && X509_set_issuer_name(x, name) && tls_cert_extensions(x, hostname) &&
	     X509_sign(x, key, EVP_sha256()) > 0;
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* fsync the directory holding path, so that a rename in it is durable. */
static int
tls_sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash == NULL ? mem_strdup(".") :
				    mem_strndup(path, slash == path ? 1 : (size_t)(slash - path));
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = fd >= 0 && fsync(fd) == 0 ? 0 : -1;

	if (fd >= 0)
		close(fd);
	mem_free(&dir);
	return ret;
}

/* Write obj with write_pem to a temporary file beside path (mode), sync it
 * and rename it to path. 1 ok, -1 with *error_r. */
static int
tls_write_atomic(const char *path, mode_t mode, int (*write_pem)(BIO *bio, void *obj),
		 void *obj, const char **error_r)
{
	size_t tmp_size = mem_size_add(strlen(path), sizeof(".tmp.XXXXXX"));
	char *tmp = mem_alloc(tmp_size);
	char ssl_err[512];
	BIO *bio;
	int fd, ok;

	snprintf(tmp, tmp_size, "%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp); /* mode 0600 from the start */
	if (fd < 0) {
		*error_r = tls_error_printf("cannot create a temporary file for %s: %s", path,
					    strerror(errno));
		mem_free(&tmp);
		return -1;
	}
	bio = BIO_new_fd(fd, BIO_NOCLOSE);
	if (bio == NULL)
		PANIC("BIO_new_fd failed");
	ok = write_pem(bio, obj) == 1 && BIO_flush(bio) == 1;
	BIO_free(bio);
	if (!ok) {
		tls_error_format(ssl_err, sizeof(ssl_err), NULL);
		*error_r = tls_error_printf("cannot write %s: %s", path, ssl_err);
		close(fd);
		goto fail;
	}
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
		*error_r = tls_error_printf("cannot write %s: %s", path, strerror(errno));
		close(fd);
		goto fail;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		*error_r = tls_error_printf("cannot write %s: %s", path, strerror(errno));
		goto fail;
	}
	mem_free(&tmp);
	if (tls_sync_dir(path) < 0) {
		*error_r = tls_error_printf("cannot sync the directory of %s: %s", path,
					    strerror(errno));
		return -1;
	}
	return 1;
fail:
	unlink(tmp);
	mem_free(&tmp);
	return -1;
}

static int
tls_write_key(BIO *bio, void *key)
{
	return PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL);
}

static int
tls_write_cert(BIO *bio, void *x)
{
	return PEM_write_bio_X509(bio, x);
}

int
tls_make_self_signed(const char *hostname, const char *cert_path, const char *key_path,
		     const char **error_r)
{
	EVP_PKEY *key;
	X509 *x;
	int ret;

	if (!tls_hostname_valid(hostname)) {
		*error_r = tls_error_printf("bad host name for a certificate: '%s'", hostname);
		return -1;
	}
	key = EVP_EC_gen("P-256");
	if (key == NULL) {
		*error_r = tls_error_take("cannot generate an EC P-256 key");
		return -1;
	}
	x = tls_self_signed_cert(hostname, key);
	if (x == NULL) {
		*error_r = tls_error_take("cannot make the certificate");
		EVP_PKEY_free(key);
		return -1;
	}
	ret = tls_write_atomic(key_path, 0600, tls_write_key, key, error_r);
	if (ret > 0)
		ret = tls_write_atomic(cert_path, 0644, tls_write_cert, x, error_r);
	X509_free(x);
	EVP_PKEY_free(key);
	return ret;
}
