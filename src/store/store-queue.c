/*
 * store-queue.c - the public outbound queue calls (see store.h): checks of
 * queue ids, envelopes and recipient updates, vtable dispatch, and freeing
 * what backends return.
 *
 * Does not: interpret the envelope. Addresses are kept as the SMTP layer
 * accepted them (they may be address literals or quoted local parts, which
 * the account and alias checks of store-name.c refuse); ENVID and ORCPT are
 * kept in their xtext form for relaying. The store only bounds them and
 * keeps them UTF-8 without control characters. Which recipients are remote,
 * how often to retry and when to give up is the delivery engine's policy.
 *
 * Invariant: a backend sees only a valid queue id, an envelope that passed
 * envelope_check, and an update whose next_attempt is 0 for final states
 * and whose flags are within STORE_QUEUE_RCPT_F_ALL. Flag-only changes
 * (store_queue_set_rcpt_flags) reuse the backends' queue_update_rcpt with
 * u.flags_only set. store_queue_finish checks its outcomes against the
 * entry here and then removes the entry with the backends' one-transaction
 * queue_delete (see the comment above it).
 */
#include "store/store-private.h"

#include "core/mem.h"

#include <string.h>
#include <time.h>

static int
queue_id_check(const char *queue_id, const char **error_r)
{
	if (queue_id == NULL || !store_queue_id_valid(queue_id)) {
		*error_r = "invalid queue id (1 to 32 letters and digits)";
		return -1;
	}
	return 0;
}

/* RFC 3461 4.1: NEVER, or any of SUCCESS, FAILURE, DELAY; 0 = not given. */
static bool
notify_valid(unsigned notify)
{
	const unsigned others = STORE_QUEUE_NOTIFY_SUCCESS | STORE_QUEUE_NOTIFY_FAILURE |
				STORE_QUEUE_NOTIFY_DELAY;

	return notify == STORE_QUEUE_NOTIFY_NEVER || (notify & ~others) == 0;
}

/* Optional text: NULL, or 1..max octets of text. */
static int
optional_text_check(const char *what, const char *s, size_t max, const char **error_r)
{
	if (s == NULL)
		return 0;
	if (s[0] == '\0') {
		*error_r = store_error_printf("empty %s", what);
		return -1;
	}
	return store_text_check(what, s, max, error_r);
}

static int
envelope_check(const struct store_queue_envelope *env, const char **error_r)
{
	if (env->sender == NULL) {
		*error_r = "no sender (the null sender is \"\")";
		return -1;
	}
	if (store_text_check("sender", env->sender, STORE_ADDRESS_MAX, error_r) < 0 ||
	    optional_text_check("ENVID", env->envid, STORE_QUEUE_ENVID_MAX, error_r) < 0)
		return -1;
	if ((int)env->ret < (int)STORE_QUEUE_RET_NONE ||
	    (int)env->ret > (int)STORE_QUEUE_RET_HDRS) {
		*error_r = "invalid RET value";
		return -1;
	}
	if (env->rcpt_count == 0 || env->rcpts == NULL) {
		*error_r = "queue entry without recipients";
		return -1;
	}
	for (size_t i = 0; i < env->rcpt_count; i++) {
		const struct store_queue_envelope_rcpt *r = &env->rcpts[i];

		if (r->address == NULL) {
			*error_r = "no recipient address";
			return -1;
		}
		if (optional_text_check("recipient", r->address, STORE_ADDRESS_MAX, error_r) < 0 ||
		    optional_text_check("ORCPT", r->orcpt, STORE_QUEUE_ORCPT_MAX, error_r) < 0)
			return -1;
		if (!notify_valid(r->notify)) {
			*error_r = "invalid NOTIFY value";
			return -1;
		}
	}
	return 0;
}

int
store_queue_add(struct store *store, struct store_blob **blob,
		const struct store_queue_envelope *env, const char *queue_id,
		const char **error_r)
{
	struct store_blob *b = *blob;
	ERROR_R_GUARD(error_r);

	*blob = NULL;
	ASSERT(b->store == store);
	if (b->failed) {
		*error_r = "writing the message body failed";
		b->store->v->blob_abort(b);
		return -1;
	}
	if (queue_id_check(queue_id, error_r) < 0 || envelope_check(env, error_r) < 0) {
		b->store->v->blob_abort(b);
		return -1;
	}
	return store->v->queue_add(store, b, env, queue_id, error_r);
}

int
store_queue_list(struct store *store, struct store_queue_entry **entries_r, size_t *count_r,
		 const char **error_r)
{
	ERROR_R_GUARD(error_r);

	*entries_r = NULL;
	*count_r = 0;
	return store->v->queue_list(store, entries_r, count_r, error_r);
}

int
store_queue_due(struct store *store, int64_t now, size_t max,
		struct store_queue_entry **entries_r, size_t *count_r, const char **error_r)
{
	ERROR_R_GUARD(error_r);

	*entries_r = NULL;
	*count_r = 0;
	if (max == 0)
		return 1;
	return store->v->queue_due(store, now, max, entries_r, count_r, error_r);
}

void
store_queue_entry_deinit(struct store_queue_entry *entry)
{
	for (size_t i = 0; entry->rcpts != NULL && i < entry->rcpt_count; i++) {
		struct store_queue_rcpt *r = &entry->rcpts[i];

		mem_free(&r->address);
		mem_free(&r->orcpt);
		mem_free(&r->status);
		mem_free(&r->dsn);
	}
	mem_free(&entry->rcpts);
	mem_free(&entry->sender);
	mem_free(&entry->envid);
	entry->rcpt_count = 0;
}

void
store_queue_list_free(struct store_queue_entry **entries, size_t count)
{
	for (size_t i = 0; *entries != NULL && i < count; i++)
		store_queue_entry_deinit(&(*entries)[i]);
	mem_free(entries);
}

int
store_queue_get(struct store *store, const char *queue_id, struct store_queue_entry *entry_r,
		const char **error_r)
{
	ERROR_R_GUARD(error_r);

	memset(entry_r, 0, sizeof(*entry_r));
	if (queue_id == NULL || !store_queue_id_valid(queue_id))
		return 0;
	return store->v->queue_get(store, queue_id, entry_r, error_r);
}

int
store_queue_delete(struct store *store, const char *queue_id, const char **error_r)
{
	ERROR_R_GUARD(error_r);

	if (queue_id == NULL || !store_queue_id_valid(queue_id))
		return 0;
	return store->v->queue_delete(store, queue_id, error_r);
}

int
store_queue_hold(struct store *store, const char *queue_id, const char **error_r)
{
	ERROR_R_GUARD(error_r);

	if (queue_id == NULL || !store_queue_id_valid(queue_id))
		return 0;
	return store->v->queue_set_hold(store, queue_id, true, error_r);
}

int
store_queue_release(struct store *store, const char *queue_id, const char **error_r)
{
	ERROR_R_GUARD(error_r);

	if (queue_id == NULL || !store_queue_id_valid(queue_id))
		return 0;
	return store->v->queue_set_hold(store, queue_id, false, error_r);
}

int
store_queue_flush(struct store *store, const char *queue_id, int64_t now, const char **error_r)
{
	ERROR_R_GUARD(error_r);

	if (queue_id != NULL && !store_queue_id_valid(queue_id))
		return 0;
	return store->v->queue_flush(store, queue_id, now, error_r);
}

int
store_queue_open_body(struct store *store, const char *queue_id, int *fd_r, uint64_t *size_r,
		      const char **error_r)
{
	ERROR_R_GUARD(error_r);

	*fd_r = -1;
	*size_r = 0;
	if (queue_id == NULL || !store_queue_id_valid(queue_id))
		return 0;
	return store->v->queue_open_body(store, queue_id, fd_r, size_r, error_r);
}

/* RFC 3463 3.1: status-code = class "." subject "." detail, class 2, 4 or 5,
 * subject and detail 1 to 3 digits. */
static bool
dsn_code_valid(const char *s)
{
	size_t digits;

	if ((s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return false;
	s += 2;
	for (int part = 0; part < 2; part++) {
		for (digits = 0; s[digits] >= '0' && s[digits] <= '9'; digits++)
			;
		if (digits == 0 || digits > 3)
			return false;
		s += digits;
		if (part == 0 && *s++ != '.')
			return false;
	}
	return *s == '\0';
}

int
store_queue_update_rcpt(struct store *store, const char *queue_id, size_t rcpt_index,
			enum store_queue_rcpt_state state, int64_t next_attempt,
			const char *status, const char *dsn, const char **error_r)
{
	return store_queue_update_rcpt_flags(store, queue_id, rcpt_index, state, next_attempt,
					     status, dsn, 0, error_r);
}

int
store_queue_set_rcpt_flags(struct store *store, const char *queue_id, size_t rcpt_index,
			   unsigned flags_set, unsigned flags_clear, const char **error_r)
{
	struct store_queue_rcpt_update u;
	ERROR_R_GUARD(error_r);

	if (queue_id == NULL || !store_queue_id_valid(queue_id))
		return 0;
	if (((flags_set | flags_clear) & ~STORE_QUEUE_RCPT_F_ALL) != 0) {
		*error_r = "invalid recipient flags";
		return -1;
	}
	memset(&u, 0, sizeof(u));
	u.flags_only = true;
	u.flags_set = flags_set;
	u.flags_clear = flags_clear;
	return store->v->queue_update_rcpt(store, queue_id, rcpt_index, &u, error_r);
}

/* The checks of an outcome (store_queue_update_rcpt_flags, store_queue_finish). */
static int
outcome_check(enum store_queue_rcpt_state state, int64_t next_attempt, const char *status,
	      const char *dsn, unsigned flags_set, const char **error_r)
{
	if ((flags_set & ~STORE_QUEUE_RCPT_F_ALL) != 0) {
		*error_r = "invalid recipient flags";
		return -1;
	}
	if (state != STORE_QUEUE_RCPT_DEFERRED && state != STORE_QUEUE_RCPT_SENT &&
	    state != STORE_QUEUE_RCPT_BOUNCED) {
		*error_r = "a recipient can only become deferred, sent or bounced";
		return -1;
	}
	if (state == STORE_QUEUE_RCPT_DEFERRED && next_attempt <= 0) {
		*error_r = "a deferred recipient needs its next attempt time";
		return -1;
	}
	if (status != NULL &&
	    store_text_check("status text", status, STORE_QUEUE_STATUS_MAX, error_r) < 0)
		return -1;
	if (dsn != NULL && !dsn_code_valid(dsn)) {
		*error_r = "invalid DSN status code";
		return -1;
	}
	return 0;
}

int
store_queue_update_rcpt_flags(struct store *store, const char *queue_id, size_t rcpt_index,
			      enum store_queue_rcpt_state state, int64_t next_attempt,
			      const char *status, const char *dsn, unsigned flags_set,
			      const char **error_r)
{
	struct store_queue_rcpt_update u = { state, (int64_t)time(NULL), next_attempt, status,
					     dsn, flags_set, 0, false };
	ERROR_R_GUARD(error_r);

	if (queue_id == NULL || !store_queue_id_valid(queue_id))
		return 0;
	if (outcome_check(state, next_attempt, status, dsn, flags_set, error_r) < 0)
		return -1;
	if (state != STORE_QUEUE_RCPT_DEFERRED)
		u.next_attempt = 0;
	return store->v->queue_update_rcpt(store, queue_id, rcpt_index, &u, error_r);
}

static bool
rcpt_state_final(enum store_queue_rcpt_state state)
{
	return state == STORE_QUEUE_RCPT_SENT || state == STORE_QUEUE_RCPT_BOUNCED;
}

/* Do finals make every waiting recipient of e final, each once? */
static int
finals_match(const struct store_queue_entry *e, const struct store_queue_final *finals,
	     size_t count, const char **error_r)
{
	bool *listed = mem_array(e->rcpt_count + 1, sizeof(*listed));
	int ret = -1;

	for (size_t k = 0; k < count; k++) {
		size_t i = finals[k].rcpt_index;

		if (i >= e->rcpt_count || listed[i]) {
			*error_r = store_error_printf("%s: recipient %zu %s", e->queue_id, i,
						      i >= e->rcpt_count ? "does not exist"
									 : "given twice");
			goto out;
		}
		if (rcpt_state_final(e->rcpts[i].state)) {
			*error_r = store_error_printf("%s: recipient %zu is final already",
						      e->queue_id, i);
			goto out;
		}
		listed[i] = true;
	}
	for (size_t i = 0; i < e->rcpt_count; i++) {
		if (!listed[i] && !rcpt_state_final(e->rcpts[i].state)) {
			*error_r = store_error_printf("%s: recipient %zu is still waiting",
						      e->queue_id, i);
			goto out;
		}
	}
	ret = 0;
out:
	mem_free(&listed);
	return ret;
}

/*
 * Why no backend writes the outcomes: the entry and its recipient rows go
 * in the same commit that would record them, so after that commit the
 * outcomes are as invisible as if they had never been written, and a
 * failed commit leaves neither. Recording them and removing the entry in
 * one transaction is therefore exactly the backend's one delete transaction
 * (queue_delete: rows, body reference, one commit), after the outcomes and
 * the entry's states were checked here. A backend that later keeps a
 * delivery history would write it inside that transaction.
 */
int
store_queue_finish(struct store *store, const char *queue_id,
		   const struct store_queue_final *finals, size_t count, const char **error_r)
{
	struct store_queue_entry e;
	int ret;
	ERROR_R_GUARD(error_r);

	if (queue_id == NULL || !store_queue_id_valid(queue_id))
		return 0;
	if (count > 0 && finals == NULL) {
		*error_r = "no outcomes";
		return -1;
	}
	for (size_t k = 0; k < count; k++) {
		const struct store_queue_final *f = &finals[k];

		if (!rcpt_state_final(f->state)) {
			*error_r = "a finished recipient can only be sent or bounced";
			return -1;
		}
		if (outcome_check(f->state, 0, f->status, f->dsn, f->flags_set, error_r) < 0)
			return -1;
	}
	memset(&e, 0, sizeof(e));
	ret = store->v->queue_get(store, queue_id, &e, error_r);
	if (ret <= 0)
		return ret;
	ret = finals_match(&e, finals, count, error_r);
	store_queue_entry_deinit(&e);
	if (ret < 0)
		return -1;
	return store->v->queue_delete(store, queue_id, error_r);
}
