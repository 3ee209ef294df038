/*
 * imap-server-search.c - SEARCH, UID SEARCH (RFC 9051 6.4.4), ESEARCH
 * (RFC 4731), SEARCHRES (RFC 5182), CONDSTORE's MODSEQ (RFC 7162 3.1.5),
 * SORT, THREAD and their UID forms (RFC 5256).
 *
 * Does: parse the command (RETURN options, then the program through
 * imap-search.h against the current view and the saved result), hand it to
 * hooks->message_search, and answer from imap_server_search_done(): the
 * SEARCH / ESEARCH / SORT / THREAD untagged response, the saved result for
 * "$", then the tagged reply after the untagged updates
 * (imap_server_finish). With IMAP4rev2 enabled SEARCH answers ESEARCH
 * (RFC 9051 7.3.4).
 *
 * Does not: evaluate anything (the glue matches on its workers), ESORT
 * (RFC 5267), PARTIAL (RFC 9394).
 *
 * Invariants: s->search exists exactly while a search is pending; the
 * program given to the hook stays valid for the glue while it holds a
 * reference (imap_search_program_ref), even after the session is freed.
 */
#include "imap/imap-search.h"
#include "imap/imap-server-private.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

enum search_return {
	RET_MIN = 0x01,
	RET_MAX = 0x02,
	RET_ALL = 0x04,
	RET_COUNT = 0x08,
	RET_SAVE = 0x10,
};

struct imap_server_search {
	struct imap_search_program *prog;
	const char *kind; /* "SEARCH", "SORT", "THREAD" */
	bool uid;
	bool esearch; /* answer with ESEARCH (RETURN given, or IMAP4rev2) */
	unsigned ret; /* RET_* */
	/* the answer, copied from imap_server_search_done() */
	uint32_t *uids;
	size_t count;
	char *thread;
	uint64_t highest_modseq;
	uint64_t *modseqs; /* of uids[i]; NULL when the glue gave none */
};

void
imap_server_search_free(struct imap_server_session *s)
{
	if (s->search == NULL)
		return;
	imap_search_program_free(&s->search->prog);
	mem_free(&s->search->uids);
	mem_free(&s->search->modseqs);
	mem_free(&s->search->thread);
	mem_free(&s->search);
}

/* RETURN (options) of RFC 4731 3.1; an empty list means ALL. 1 ok, -1 bad. */
static int
parse_return(const struct imap_arg *arg, unsigned *ret_r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = {
	        {"MIN", RET_MIN},     {"MAX", RET_MAX},   {"ALL", RET_ALL},
	        {"COUNT", RET_COUNT}, {"SAVE", RET_SAVE},
	};
	const struct imap_arg *list;
	unsigned n;

	if (!imap_arg_get_list(arg, &list, &n))
		return -1;
	*ret_r = 0;
	for (unsigned i = 0; i < n; i++) {
		size_t k;

		for (k = 0; k < N_ELEMENTS(opts); k++) {
			if (imap_arg_atom_equals(&list[i], opts[k].name))
				break;
		}
		if (k == N_ELEMENTS(opts))
			return -1;
		*ret_r |= opts[k].bit;
	}
	if (*ret_r == 0)
		*ret_r = RET_ALL;
	return 1;
}

/* Is the view's message at index i expunged but not yet reported? */
static bool
view_gone(const struct imap_server_selected *sel, size_t i)
{
	return sel->gone != NULL && (sel->gone[i / 8] & (1u << (i % 8))) != 0;
}

void
imap_server_search_run(struct imap_server_session *s, const char *kind, const struct imap_arg *args,
                       unsigned n_args, bool uid)
{
	struct imap_server_selected *sel = s->sel;
	struct imap_search_params params;
	struct imap_search_request req;
	struct imap_server_search *search;
	struct imap_search_program *prog = NULL;
	const char *error = "Invalid arguments";
	unsigned ret = 0;
	bool esearch = false;
	int r;

	if (sel == NULL || !s->have_shooks || s->shooks.message_search == NULL) {
		imap_server_no(s, "CANNOT", "No mailbox selected");
		return;
	}
	memset(&params, 0, sizeof(params));
	params.count = (uint32_t)sel->count;
	params.max_uid = sel->count > 0 ? sel->uids[sel->count - 1] : 0;
	if (sel->saved_valid) {
		params.saved = sel->saved;
		params.saved_count = sel->saved_count;
	}
	if (strcmp(kind, "SEARCH") == 0) {
		if (n_args >= 1 && imap_arg_atom_equals(&args[0], "RETURN")) {
			if (n_args < 2 || parse_return(&args[1], &ret) < 0) {
				imap_server_bad_command(s, s->cmd_tag, "Invalid RETURN options");
				return;
			}
			args += 2;
			n_args -= 2;
			esearch = true;
		} else if (s->rev2_enabled) {
			ret = RET_ALL;
			esearch = true;
		}
		r = imap_search_parse(args, n_args, &params, &prog, &error);
	} else if (strcmp(kind, "SORT") == 0) {
		r = imap_sort_parse(args, n_args, &params, &prog, &error);
	} else {
		r = imap_thread_parse(args, n_args, &params, &prog, &error);
	}
	if (r <= 0 && (ret & RET_SAVE) != 0) {
		/* RFC 5182 2.1: a failed SEARCH (SAVE) empties "$" */
		sel->saved_count = 0;
		sel->saved_valid = true;
	}
	if (r < 0) {
		imap_server_bad_command(s, s->cmd_tag, error);
		return;
	}
	if (r == 0) {
		imap_server_no(s, "BADCHARSET (" IMAP_SEARCH_CHARSETS ")", error);
		return;
	}
	/* RFC 7162 3.1: a SEARCH with MODSEQ is a CONDSTORE-enabling command */
	if (imap_search_uses_modseq(prog))
		imap_server_condstore_enable(s);
	imap_server_search_free(s);
	search = mem_zalloc(sizeof(*search));
	search->prog = prog;
	search->kind = strcmp(kind, "SEARCH") == 0 ? "SEARCH"
	               : strcmp(kind, "SORT") == 0 ? "SORT"
	                                           : "THREAD";
	search->uid = uid;
	search->esearch = esearch;
	search->ret = ret;
	s->search = search;
	memset(&req, 0, sizeof(req));
	req.program = prog;
	req.uids = sel->uids;
	req.count = sel->count;
	req.uid = uid;
	req.recent = sel->recent;
	req.recent_count = sel->recent_count;
	req.want_modseqs = (ret & (RET_MIN | RET_MAX)) != 0 &&
			   (ret & (RET_ALL | RET_COUNT)) == 0 && imap_search_uses_modseq(prog);
	s->pending = IMAP_PENDING_SEARCH;
	imap_server_flush(s);
	if (!imap_server_dead(s))
		s->shooks.message_search(s->hook_ctx, s, &req);
}

void
imap_server_cmd_search(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_search_run(s, "SEARCH", cmd->args, cmd->n_args, false);
}

void
imap_server_cmd_sort(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_search_run(s, "SORT", cmd->args, cmd->n_args, false);
}

void
imap_server_cmd_thread(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_search_run(s, "THREAD", cmd->args, cmd->n_args, false);
}

/* ---- the answer ---- */

/* Numbers in a sequence-set, ranges joined (RFC 9051 9). nums ascending. */
static void
append_set(struct buf *out, const uint32_t *nums, size_t count)
{
	for (size_t i = 0; i < count;) {
		size_t j = i;

		while (j + 1 < count && nums[j + 1] == nums[j] + 1)
			j++;
		if (i > 0)
			(void)buf_append_byte(out, ',');
		if (j == i)
			(void)buf_printf(out, "%u", nums[i]);
		else
			(void)buf_printf(out, "%u:%u", nums[i], nums[j]);
		i = j + 1;
	}
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* RFC 5182 2.4: the saved result, UIDs ascending. */
static void
save_result(struct imap_server_session *s, const struct imap_server_search *search)
{
	struct imap_server_selected *sel = s->sel;
	size_t n = 0;

	mem_free(&sel->saved);
	sel->saved = mem_array(search->count + 1, sizeof(uint32_t));
	if ((search->ret & (RET_ALL | RET_COUNT)) != 0 ||
	    (search->ret & (RET_MIN | RET_MAX)) == 0) {
		memcpy(sel->saved, search->uids, search->count * sizeof(uint32_t));
		n = search->count;
	} else if (search->count > 0) {
		/* only MIN and/or MAX: those messages */
		if ((search->ret & RET_MIN) != 0)
			sel->saved[n++] = search->uids[0];
		if ((search->ret & RET_MAX) != 0 && (n == 0 || search->count > 1))
			sel->saved[n++] = search->uids[search->count - 1];
	}
	sel->saved_count = n;
	sel->saved_valid = true;
}

static void
write_esearch(struct imap_server_session *s, const struct imap_server_search *search,
              const uint32_t *nums, size_t count)
{
	struct buf line;

	buf_init(&line, 0);
	(void)buf_append_str(&line, "ESEARCH (TAG ");
	imap_server_append_string(&line, s->cmd_tag, strlen(s->cmd_tag), false);
	(void)buf_append_byte(&line, ')');
	if (search->uid)
		(void)buf_append_str(&line, " UID");
	if ((search->ret & RET_MIN) != 0 && count > 0)
		(void)buf_printf(&line, " MIN %u", nums[0]);
	if ((search->ret & RET_MAX) != 0 && count > 0)
		(void)buf_printf(&line, " MAX %u", nums[count - 1]);
	if ((search->ret & RET_COUNT) != 0)
		(void)buf_printf(&line, " COUNT %zu", count);
	if ((search->ret & RET_ALL) != 0 && count > 0) {
		(void)buf_append_str(&line, " ALL ");
		append_set(&line, nums, count);
	}
	if (search->highest_modseq != 0 && count > 0) {
		uint64_t modseq = search->highest_modseq;

		/* RFC 7162 3.1.5: with MIN and/or MAX only, the highest
		 * modseq of the messages returned */
		if ((search->ret & (RET_ALL | RET_COUNT)) == 0 && search->modseqs != NULL &&
		    search->count > 0) {
			modseq = 0;
			if ((search->ret & RET_MIN) != 0)
				modseq = search->modseqs[0];
			if ((search->ret & RET_MAX) != 0 &&
			    search->modseqs[search->count - 1] > modseq)
				modseq = search->modseqs[search->count - 1];
		}
		(void)buf_printf(&line, " MODSEQ %llu", (unsigned long long)modseq);
	}
	imap_server_untagged(s, "%s", buf_cstr(&line));
	buf_deinit(&line);
}

static void
search_reply(struct imap_server_session *s)
{
	struct imap_server_search *search = s->search;
	uint32_t *nums;
	size_t count = search->count;

	if (search->thread != NULL) {
		/* thread-data = "THREAD" [SP 1*thread-list] (RFC 5256 4) */
		if (*search->thread == '\0')
			imap_server_untagged(s, "THREAD");
		else
			imap_server_untagged(s, "THREAD %s", search->thread);
		imap_server_ok(s, NULL, search->uid ? "UID THREAD completed" : "THREAD completed");
		imap_server_search_free(s);
		return;
	}
	nums = mem_array(count + 1, sizeof(uint32_t));
	for (size_t i = 0; i < count; i++)
		nums[i] = search->uid ? search->uids[i] : imap_server_seq_of(s, search->uids[i]);
	if (strcmp(search->kind, "SEARCH") == 0 && !search->uid)
		qsort(nums, count, sizeof(*nums), cmp_u32);
	if ((search->ret & RET_SAVE) != 0)
		save_result(s, search);
	if (search->esearch) {
		/* RFC 5182 2.1: SAVE alone gives no ESEARCH response */
		if ((search->ret & ~(unsigned)RET_SAVE) != 0)
			write_esearch(s, search, nums, count);
	} else {
		struct buf line;

		buf_init(&line, 0);
		(void)buf_append_str(&line, search->kind);
		for (size_t i = 0; i < count; i++)
			(void)buf_printf(&line, " %u", nums[i]);
		if (search->highest_modseq != 0 && count > 0)
			(void)buf_printf(&line, " (MODSEQ %llu)",
			                 (unsigned long long)search->highest_modseq);
		imap_server_untagged(s, "%s", buf_cstr(&line));
		buf_deinit(&line);
	}
	mem_free(&nums);
	if (strcmp(search->kind, "SORT") == 0)
		imap_server_ok(s, NULL, search->uid ? "UID SORT completed" : "SORT completed");
	else
		imap_server_ok(s, NULL, search->uid ? "UID SEARCH completed" : "SEARCH completed");
	imap_server_search_free(s);
}

/* A NO text from the glue: printable ASCII only. */
static char *
clean_text(const char *text)
{
	char *out = mem_strdup(text);
	size_t n = 0;

	for (const char *p = text; *p != '\0' && n < 200; p++) {
		if (*p >= 0x20 && *p < 0x7f)
			out[n++] = *p;
	}
	out[n] = '\0';
	return out;
}

void
imap_server_search_done(struct imap_server_session *s, const struct imap_search_result *res,
                        enum imap_mailbox_result result, const char *text)
{
	struct imap_server_search *search;
	bool held;

	if (imap_server_dead(s))
		return;
	if (s->pending != IMAP_PENDING_SEARCH || s->search == NULL)
		PANIC("imap_server_search_done without a search in progress");
	imap_server_ref(s);
	s->pending = IMAP_PENDING_NONE;
	search = s->search;
	if (result != IMAP_MAILBOX_OK || res == NULL || s->sel == NULL) {
		char *clean = clean_text(text != NULL ? text : "Search failed");

		if ((search->ret & RET_SAVE) != 0 && s->sel != NULL) {
			s->sel->saved_count = 0;
			s->sel->saved_valid = true;
		}
		imap_server_no(s,
		               result == IMAP_MAILBOX_OK ? "SERVERBUG"
		                                         : imap_server_result_code(result),
		               clean);
		mem_free(&clean);
		imap_server_search_free(s);
		imap_server_resume(s);
		imap_server_flush(s);
		imap_server_unref(s);
		return;
	}
	/* keep what is still in the view and not gone (RFC 9051 7.5.1) */
	search->uids = mem_array(res->count + 1, sizeof(uint32_t));
	if (res->modseqs != NULL)
		search->modseqs = mem_array(res->count + 1, sizeof(uint64_t));
	for (size_t i = 0; i < res->count; i++) {
		uint32_t seq = imap_server_seq_of(s, res->uids[i]);

		if (seq != 0 && !view_gone(s->sel, seq - 1)) {
			if (search->modseqs != NULL)
				search->modseqs[search->count] = res->modseqs[i];
			search->uids[search->count++] = res->uids[i];
		}
	}
	if (res->thread != NULL)
		search->thread = mem_strdup(res->thread);
	if (imap_search_uses_modseq(search->prog))
		search->highest_modseq = res->highest_modseq;
	held = imap_server_hold(s);
	imap_server_finish(s, search->uid ? IMAP_SYNC_FULL : IMAP_SYNC_NO_EXPUNGE, false,
	                   search_reply);
	imap_server_release(s, held);
	imap_server_unref(s);
}
