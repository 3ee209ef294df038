/*
 * serve-auth.c - see serve-auth.h.
 */
#include "bin/serve-auth.h"

#include <stdio.h>
#include <string.h>

#include "bin/serve.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/penalty.h"
#include "core/worker.h"
#include "sasl/password.h"
#include "store/store.h"

struct serve_auth {
	struct server *srv;
	serve_auth_cb *cb;
	void *ctx;         /* NULL once cancelled */
	bool running;      /* on a worker */
	struct loop_timer *delay;
	char ip[64];
	char *authcid, *password;
	/* results */
	enum serve_auth_result result;
	char *secret, *address;
	uint64_t account_id;
};

static void
auth_free(struct serve_auth *a)
{
	if (a->password != NULL) {
		explicit_bzero(a->password, strlen(a->password));
		mem_free(&a->password);
	}
	if (a->secret != NULL) {
		explicit_bzero(a->secret, strlen(a->secret));
		mem_free(&a->secret);
	}
	mem_free(&a->authcid);
	mem_free(&a->address);
	loop_timer_remove(&a->delay);
	mem_free(&a);
}

static void
auth_work(void *ctx)
{
	struct serve_auth *a = ctx;
	struct store_account acct;
	int ret = serve_account_lookup(a->srv, a->authcid, &acct);

	if (ret < 0) {
		a->result = SERVE_AUTH_TEMPFAIL;
		return;
	}
	if (a->password == NULL) {
		/* SCRAM: the exchange decides; an unknown user gets no secret */
		a->result = SERVE_AUTH_OK;
		if (ret == 1 && acct.scram_secret != NULL)
			a->secret = mem_strdup(acct.scram_secret);
	} else if (ret == 0) {
		/* same cost as a wrong password: no user enumeration by timing */
		password_verify_dummy(a->password);
		a->result = SERVE_AUTH_FAILED;
	} else {
		a->result = password_verify(a->password, acct.password_hash) == 1 ?
				    SERVE_AUTH_OK : SERVE_AUTH_FAILED;
	}
	if (ret == 1) {
		a->account_id = acct.id;
		a->address = mem_strdup(acct.address);
		store_account_deinit(&acct);
	}
}

static void
auth_deliver(struct serve_auth *a)
{
	void *ctx = a->ctx;

	/* a cancel from inside the callback must not free a under us */
	a->ctx = NULL;
	a->running = true;
	if (ctx != NULL)
		a->cb(ctx, a->result, a->secret, a->result == SERVE_AUTH_FAILED ? 0 : a->account_id,
		      a->result == SERVE_AUTH_FAILED ? NULL : a->address);
	auth_free(a);
}

static void
auth_delay_done(void *ctx)
{
	auth_deliver(ctx);
}

static void
auth_done(void *ctx)
{
	struct serve_auth *a = ctx;
	struct server *srv = a->srv;
	uint64_t delay;

	a->running = false;
	if (a->ctx == NULL) {
		auth_free(a);
		return;
	}
	if (a->result != SERVE_AUTH_FAILED) {
		if (a->result == SERVE_AUTH_OK && a->password != NULL)
			penalty_clear(srv->auth_penalty, a->ip);
		auth_deliver(a);
		return;
	}
	delay = penalty_fail(srv->auth_penalty, a->ip, loop_now(srv->loop),
			     srv->conf.auth_failure_delay, srv->conf.auth_failure_delay_max);
	if (delay == 0) {
		auth_deliver(a);
		return;
	}
	a->delay = loop_timer_add(srv->loop, delay, auth_delay_done, a);
}

struct serve_auth *
serve_auth_start(struct server *srv, const char *client_ip, const char *authcid,
		 const char *password, serve_auth_cb *cb, void *ctx)
{
	struct serve_auth *a = mem_zalloc(sizeof(*a));

	a->srv = srv;
	a->cb = cb;
	a->ctx = ctx;
	snprintf(a->ip, sizeof(a->ip), "%s", client_ip);
	a->authcid = mem_strdup(authcid);
	a->password = password != NULL ? mem_strdup(password) : NULL;
	a->running = true;
	worker_pool_submit(srv->auth_pool, auth_work, auth_done, a);
	return a;
}

void
serve_auth_cancel(struct serve_auth **ap)
{
	struct serve_auth *a = *ap;

	if (a == NULL)
		return;
	*ap = NULL;
	a->ctx = NULL;
	if (!a->running)
		auth_free(a); /* waiting on its delay timer */
}

uint64_t
serve_auth_report(struct server *srv, const char *client_ip, bool success)
{
	if (success) {
		penalty_clear(srv->auth_penalty, client_ip);
		return 0;
	}
	return penalty_fail(srv->auth_penalty, client_ip, loop_now(srv->loop),
			    srv->conf.auth_failure_delay, srv->conf.auth_failure_delay_max);
}
