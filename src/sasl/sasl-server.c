/*
 * sasl-server.c - see sasl-server.h: the mechanism table, the order of calls
 * common to every mechanism, and the two password mechanisms PLAIN
 * (RFC 4616) and LOGIN (draft-murchison-sasl-login). SCRAM is in
 * sasl-scram.c.
 *
 * Does: enforce the order of step / provide calls in one place
 * (sasl_server_step_check), so that a mechanism's step function only ever
 * sees a legal sequence; bound every response; wipe passwords as soon as the
 * glue has given its verdict.
 * Does not: verify passwords (the glue does, on its worker pool), base64,
 * I/O, logging.
 *
 * Invariants: s->password is non-NULL only in SASL_SERVER_WAIT_PASSWORD;
 * once s->wait is SASL_SERVER_DONE it never changes again; out is empty
 * after every FAILURE.
 */
#include "sasl/sasl-server.h"

#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/mem.h"
#include "sasl/sasl-plain.h"
#include "sasl/sasl-server-private.h"
#include "sasl/sasl-text.h"

/* LOGIN's challenges (draft-murchison-sasl-login 2.1); clients match them
 * loosely, but these are the texts every server sends. */
#define SASL_LOGIN_USER_CHALLENGE "Username:"
#define SASL_LOGIN_PASSWORD_CHALLENGE "Password:"

enum sasl_plain_phase { SASL_PLAIN_MESSAGE, SASL_PLAIN_VERDICT };
enum sasl_login_phase { SASL_LOGIN_USER, SASL_LOGIN_PASSWORD, SASL_LOGIN_VERDICT };

static enum sasl_step_result sasl_plain_step(struct sasl_server *s, const uint8_t *in,
					     size_t in_len, struct buf *out,
					     const char **error_r);
static enum sasl_step_result sasl_login_step(struct sasl_server *s, const uint8_t *in,
					     size_t in_len, struct buf *out,
					     const char **error_r);

static const struct sasl_mech sasl_mech_scram_plus = {
	{ "SCRAM-SHA-256-PLUS", SASL_MECH_NEEDS_CB }, sasl_scram_step, true,
};
static const struct sasl_mech sasl_mech_scram = {
	{ "SCRAM-SHA-256", 0 }, sasl_scram_step, true,
};
static const struct sasl_mech sasl_mech_plain = {
	{ "PLAIN", SASL_MECH_PLAINTEXT }, sasl_plain_step, false,
};
static const struct sasl_mech sasl_mech_login = {
	{ "LOGIN", SASL_MECH_PLAINTEXT }, sasl_login_step, false,
};

/* Strongest first. */
static const struct sasl_mech *const sasl_mech_table[] = {
	&sasl_mech_scram_plus, &sasl_mech_scram, &sasl_mech_plain, &sasl_mech_login,
};
static const struct sasl_mech_info *const sasl_mech_infos[] = {
	&sasl_mech_scram_plus.info, &sasl_mech_scram.info, &sasl_mech_plain.info,
	&sasl_mech_login.info, NULL,
};

const struct sasl_mech_info *const *
sasl_mechanisms(void)
{
	return sasl_mech_infos;
}

static const struct sasl_mech *
sasl_mech_lookup(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(sasl_mech_table); i++) {
		if (strcasecmp(sasl_mech_table[i]->info.name, name) == 0)
			return sasl_mech_table[i];
	}
	return NULL;
}

const struct sasl_mech_info *
sasl_mechanism_find(const char *name)
{
	const struct sasl_mech *mech = sasl_mech_lookup(name);

	return mech == NULL ? NULL : &mech->info;
}

static uint8_t *
sasl_cb_copy(const uint8_t *data, size_t len, size_t *len_r)
{
	if (data == NULL || len == 0) {
		*len_r = 0;
		return NULL;
	}
	*len_r = len;
	return mem_memdup(data, len);
}

struct sasl_server *
sasl_server_new(const char *mech_name, const struct sasl_channel_binding *cb)
{
	const struct sasl_mech *mech = sasl_mech_lookup(mech_name);
	struct sasl_server *s;

	if (mech == NULL)
		return NULL;
	s = mem_zalloc(sizeof(*s));
	s->mech = mech;
	s->wait = SASL_SERVER_WAIT_FIRST;
	if (cb != NULL) {
		s->cb_exporter = sasl_cb_copy(cb->tls_exporter, cb->tls_exporter_len,
					      &s->cb_exporter_len);
		s->cb_end_point = sasl_cb_copy(cb->tls_server_end_point,
					       cb->tls_server_end_point_len, &s->cb_end_point_len);
	}
	if (mech->scram)
		s->scram = sasl_scram_new((mech->info.flags & SASL_MECH_NEEDS_CB) != 0);
	return s;
}

static void
sasl_server_wipe_password(struct sasl_server *s)
{
	if (s->password == NULL)
		return;
	explicit_bzero(s->password, strlen(s->password));
	mem_free(&s->password);
}

/* The exchange is over: drop everything secret, keep authcid for the log. */
static void
sasl_server_finish(struct sasl_server *s)
{
	s->wait = SASL_SERVER_DONE;
	sasl_server_wipe_password(s);
	sasl_scram_free(&s->scram);
}

void
sasl_server_free(struct sasl_server **sp)
{
	struct sasl_server *s = *sp;

	if (s == NULL)
		return;
	sasl_server_finish(s);
	mem_free(&s->cb_exporter);
	mem_free(&s->cb_end_point);
	mem_free(&s->authcid);
	explicit_bzero(s, sizeof(*s));
	mem_free(sp);
}

/*
 * Is a step with (in == NULL or not) legal now? Returns NULL when it is,
 * else the error. The order is sasl-server.h's: a response only after a
 * challenge (or first), a continue only after a provide_*().
 */
static const char *
sasl_server_step_check(const struct sasl_server *s, const uint8_t *in)
{
	switch (s->wait) {
	case SASL_SERVER_WAIT_FIRST:
		return NULL;
	case SASL_SERVER_WAIT_RESPONSE:
		return in == NULL ? "continue while a response was expected" : NULL;
	case SASL_SERVER_WAIT_PASSWORD:
		return "step before the password verdict was provided";
	case SASL_SERVER_WAIT_SECRET:
		return "step before the secret was provided";
	case SASL_SERVER_WAIT_CONTINUE:
		return in != NULL ? "response while none was expected" : NULL;
	case SASL_SERVER_DONE:
		return s->misuse != NULL ? s->misuse : "exchange already finished";
	}
	return "bad state";
}

enum sasl_step_result
sasl_server_step(struct sasl_server *s, const uint8_t *in, size_t in_len, struct buf *out,
		 const char **error_r)
{
	enum sasl_step_result ret;
	const char *error = sasl_server_step_check(s, in);

	buf_reset(out);
	if (error == NULL && in != NULL && in_len > SASL_SERVER_MAX_MESSAGE)
		error = "response too long";
	if (error != NULL) {
		sasl_server_finish(s);
		*error_r = error;
		return SASL_STEP_FAILURE;
	}
	ret = s->mech->step(s, in, in_len, out, error_r);
	switch (ret) {
	case SASL_STEP_CHALLENGE:
		s->wait = SASL_SERVER_WAIT_RESPONSE;
		break;
	case SASL_STEP_NEED_PASSWORD:
		s->wait = SASL_SERVER_WAIT_PASSWORD;
		break;
	case SASL_STEP_NEED_SECRET:
		s->wait = SASL_SERVER_WAIT_SECRET;
		break;
	case SASL_STEP_SUCCESS:
		sasl_server_finish(s);
		break;
	case SASL_STEP_FAILURE:
		buf_reset(out);
		sasl_server_finish(s);
		break;
	}
	return ret;
}

/* A provide_*() out of order ends the exchange; the next step reports it. */
static bool
sasl_server_provide_check(struct sasl_server *s, enum sasl_server_wait expected,
			  const char *misuse)
{
	if (s->wait == expected)
		return true;
	if (s->wait != SASL_SERVER_DONE)
		s->misuse = misuse;
	sasl_server_finish(s);
	return false;
}

void
sasl_server_provide_verified(struct sasl_server *s, bool ok)
{
	if (!sasl_server_provide_check(s, SASL_SERVER_WAIT_PASSWORD,
				       "password verdict provided out of order"))
		return;
	s->verified = ok;
	sasl_server_wipe_password(s);
	s->wait = SASL_SERVER_WAIT_CONTINUE;
}

void
sasl_server_provide_secret(struct sasl_server *s, const char *secret)
{
	if (!sasl_server_provide_check(s, SASL_SERVER_WAIT_SECRET,
				       "secret provided out of order"))
		return;
	sasl_scram_provide_secret(s, secret);
	s->wait = SASL_SERVER_WAIT_CONTINUE;
}

const char *
sasl_server_authcid(const struct sasl_server *s)
{
	return s->authcid;
}

const char *
sasl_server_password(const struct sasl_server *s)
{
	return s->wait == SASL_SERVER_WAIT_PASSWORD ? s->password : NULL;
}

const char *
sasl_server_mech_name(const struct sasl_server *s)
{
	return s->mech->info.name;
}

int
sasl_server_check_identity(const uint8_t *p, size_t len, const char **error_r)
{
	if (len == 0) {
		*error_r = "empty identity";
		return -1;
	}
	if (len > SASL_SERVER_MAX_IDENTITY) {
		*error_r = "identity too long";
		return -1;
	}
	if (!sasl_utf8_valid(p, len)) {
		*error_r = "identity is not valid UTF-8";
		return -1;
	}
	if (sasl_text_has_control(p, len)) {
		*error_r = "control character in identity";
		return -1;
	}
	return 0;
}

void
sasl_server_set_authcid(struct sasl_server *s, const uint8_t *p, size_t len)
{
	mem_free(&s->authcid);
	s->authcid = mem_strndup((const char *)p, len);
}

/* The glue's verdict, common to PLAIN and LOGIN. */
static enum sasl_step_result
sasl_password_verdict(const struct sasl_server *s, const char **error_r)
{
	if (s->verified)
		return SASL_STEP_SUCCESS;
	*error_r = "wrong password or unknown user";
	return SASL_STEP_FAILURE;
}

/* The PLAIN message (RFC 4616 2) and our authzid policy. */
static enum sasl_step_result
sasl_plain_message(struct sasl_server *s, const uint8_t *in, size_t in_len,
		   const char **error_r)
{
	struct sasl_plain *plain;
	size_t clen;

	if (sasl_plain_parse(in, in_len, &plain, error_r) < 0)
		return SASL_STEP_FAILURE;
	clen = strlen(plain->authcid);
	if (sasl_server_check_identity((const uint8_t *)plain->authcid, clen, error_r) < 0) {
		sasl_plain_free(&plain);
		return SASL_STEP_FAILURE;
	}
	sasl_server_set_authcid(s, (const uint8_t *)plain->authcid, clen);
	/* RFC 4616 2: authzid empty means "act as authcid"; acting as anyone
	 * else is not allowed here (sasl-server.h) */
	if (plain->authzid[0] != '\0' && strcmp(plain->authzid, plain->authcid) != 0) {
		sasl_plain_free(&plain);
		*error_r = "authorization identity differs from authentication identity";
		return SASL_STEP_FAILURE;
	}
	s->password = mem_strdup(plain->password);
	sasl_plain_free(&plain);
	s->phase = SASL_PLAIN_VERDICT;
	return SASL_STEP_NEED_PASSWORD;
}

static enum sasl_step_result
sasl_plain_step(struct sasl_server *s, const uint8_t *in, size_t in_len, struct buf *out,
		const char **error_r)
{
	if (s->phase == SASL_PLAIN_VERDICT)
		return sasl_password_verdict(s, error_r);
	/* RFC 4616 2 / RFC 4422 5: no initial response, an empty challenge */
	if (in == NULL)
		return SASL_STEP_CHALLENGE;
	return sasl_plain_message(s, in, in_len, error_r);
}

/* LOGIN's user name: an identity like PLAIN's authcid. */
static enum sasl_step_result
sasl_login_user(struct sasl_server *s, const uint8_t *in, size_t in_len, struct buf *out,
		const char **error_r)
{
	if (sasl_server_check_identity(in, in_len, error_r) < 0)
		return SASL_STEP_FAILURE;
	sasl_server_set_authcid(s, in, in_len);
	if (buf_append_str(out, SASL_LOGIN_PASSWORD_CHALLENGE) < 0) {
		*error_r = "output buffer too small";
		return SASL_STEP_FAILURE;
	}
	s->phase = SASL_LOGIN_PASSWORD;
	return SASL_STEP_CHALLENGE;
}

/* LOGIN's password: any octets but NUL, as PLAIN's length limit. Not
 * checked for UTF-8: old clients send their local charset, and the hash
 * comparison decides anyway. */
static enum sasl_step_result
sasl_login_password(struct sasl_server *s, const uint8_t *in, size_t in_len,
		    const char **error_r)
{
	if (in_len == 0) {
		*error_r = "empty password";
		return SASL_STEP_FAILURE;
	}
	if (in_len > SASL_PLAIN_MAX_FIELD) {
		*error_r = "password too long";
		return SASL_STEP_FAILURE;
	}
	if (memchr(in, '\0', in_len) != NULL) {
		*error_r = "NUL in password";
		return SASL_STEP_FAILURE;
	}
	s->password = mem_strndup((const char *)in, in_len);
	s->phase = SASL_LOGIN_VERDICT;
	return SASL_STEP_NEED_PASSWORD;
}

static enum sasl_step_result
sasl_login_step(struct sasl_server *s, const uint8_t *in, size_t in_len, struct buf *out,
		const char **error_r)
{
	switch (s->phase) {
	case SASL_LOGIN_USER:
		if (in != NULL) /* the user name as initial response, as some clients send */
			return sasl_login_user(s, in, in_len, out, error_r);
		if (buf_append_str(out, SASL_LOGIN_USER_CHALLENGE) < 0) {
			*error_r = "output buffer too small";
			return SASL_STEP_FAILURE;
		}
		return SASL_STEP_CHALLENGE;
	case SASL_LOGIN_PASSWORD:
		return sasl_login_password(s, in, in_len, error_r);
	default:
		return sasl_password_verdict(s, error_r);
	}
}
