/*
 * cmd-queue.c - `posthorn queue list|show ID|delete ID|hold ID|release ID|
 * bounce ID|flush [ID]`, the outbound queue as `postqueue -p` and `postsuper` show and
 * change it.
 *
 * bounce marks every recipient that is not final BOUNCED ("5.0.0 bounced by
 * the administrator") and releases a held entry; the running server's
 * scheduler (serve-queue.c) notices the finished entry at its next scan,
 * sends the one DSN (never to the null sender) and removes the entry. The
 * command does not talk to the server: it changes the store, then touches
 * the marker file serve_queue_touch_changed names, which makes the
 * scheduler look for finished entries at its next scan (a server on another
 * node sharing PostgreSQL still finds them at its periodic sweep).
 *
 * flush makes the waiting recipients of one entry, or of all, due now (like
 * postqueue -f); the running server picks them up at its next queue scan
 * (queue_scan_interval, 5 seconds by default).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bin/cli-store.h"
#include "bin/cli.h"
#include "bin/serve-queue.h"
#include "core/mem.h"
#include "store/store.h"

static const char *const rcpt_states[] = { "queued", "deferred", "sent", "bounced" };

static const char *
rcpt_state_name(enum store_queue_rcpt_state st)
{
	return (unsigned)st < sizeof(rcpt_states) / sizeof(rcpt_states[0]) ? rcpt_states[st] : "?";
}

static void
queue_print_json(const struct store_queue_entry *e)
{
	printf("{\"queue_id\":");
	cli_json_string(e->queue_id);
	printf(",\"sender\":");
	cli_json_string(e->sender);
	printf(",\"size\":%llu,\"arrival\":%lld,\"hold\":%s,\"requiretls\":%s,"
	       "\"smtputf8\":%s,\"recipients\":[",
	       (unsigned long long)e->size, (long long)e->arrival, e->hold ? "true" : "false",
	       e->requiretls ? "true" : "false", e->smtputf8 ? "true" : "false");
	for (size_t i = 0; i < e->rcpt_count; i++) {
		const struct store_queue_rcpt *r = &e->rcpts[i];

		printf("%s{\"address\":", i > 0 ? "," : "");
		cli_json_string(r->address);
		printf(",\"state\":\"%s\",\"attempts\":%u,\"next_attempt\":%lld,"
		       "\"delay_notice_sent\":%s,\"success_notice_owed\":%s,\"status\":",
		       rcpt_state_name(r->state), r->attempts, (long long)r->next_attempt,
		       (r->flags & STORE_QUEUE_RCPT_F_DELAY_SENT) != 0 ? "true" : "false",
		       (r->flags & STORE_QUEUE_RCPT_F_SUCCESS_OWED) != 0 ? "true" : "false");
		if (r->status != NULL)
			cli_json_string(r->status);
		else
			printf("null");
		putchar('}');
	}
	printf("]}");
}

/* Like postqueue -p: id (with ! when held), size, arrival, sender, then
 * one indented line per recipient not yet delivered, with its last status. */
static void
queue_print_text(const struct store_queue_entry *e)
{
	char when[64];
	time_t t = (time_t)e->arrival;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%a %b %e %H:%M:%S", &tm);
	printf("%-14s%s %8llu %s  %s%s%s\n", e->queue_id, e->hold ? "!" : " ",
	       (unsigned long long)e->size, when, e->sender[0] == '\0' ? "MAILER-DAEMON" : e->sender,
	       e->requiretls ? " (REQUIRETLS)" : "", e->smtputf8 ? " (SMTPUTF8)" : "");
	for (size_t i = 0; i < e->rcpt_count; i++) {
		const struct store_queue_rcpt *r = &e->rcpts[i];

		if (r->status != NULL)
			printf("%47s(%s)\n", "", r->status);
		printf("%47s%s [%s%s]\n", "", r->address, rcpt_state_name(r->state),
		       (r->flags & STORE_QUEUE_RCPT_F_DELAY_SENT) != 0 ? ", delay notice sent" : "");
	}
	putchar('\n');
}

static int
queue_list(struct store *store, bool json)
{
	struct store_queue_entry *list;
	size_t n;
	const char *error;

	if (store_queue_list(store, &list, &n, &error) < 0) {
		fprintf(stderr, "posthorn: %s\n", error);
		return CLI_FAILURE;
	}
	if (json)
		putchar('[');
	for (size_t i = 0; i < n; i++) {
		if (json) {
			if (i > 0)
				putchar(',');
			queue_print_json(&list[i]);
		} else {
			queue_print_text(&list[i]);
		}
	}
	if (json)
		puts("]");
	else if (n == 0)
		puts("Mail queue is empty");
	else
		printf("-- %zu request%s.\n", n, n == 1 ? "" : "s");
	store_queue_list_free(&list, n);
	return CLI_OK;
}

static int
queue_show(struct store *store, const char *id, bool json)
{
	struct store_queue_entry e;
	const char *error;
	int ret = store_queue_get(store, id, &e, &error);

	if (ret <= 0) {
		fprintf(stderr, "posthorn: %s\n", ret == 0 ? "no such queue entry" : error);
		return ret == 0 ? CLI_NOT_FOUND : CLI_FAILURE;
	}
	if (json) {
		queue_print_json(&e);
		putchar('\n');
	} else {
		queue_print_text(&e);
	}
	store_queue_entry_deinit(&e);
	return CLI_OK;
}

/* postsuper -d-like bounce: every non-final recipient fails permanently. */
static int
queue_bounce(struct store *store, const char *id)
{
	struct store_queue_entry e;
	const char *error = NULL;
	int ret = store_queue_get(store, id, &e, &error);
	unsigned n = 0;

	if (ret <= 0) {
		fprintf(stderr, "posthorn: %s\n", ret == 0 ? "no such queue entry" : error);
		return ret == 0 ? CLI_NOT_FOUND : CLI_FAILURE;
	}
	ret = CLI_OK;
	for (size_t i = 0; i < e.rcpt_count; i++) {
		const struct store_queue_rcpt *r = &e.rcpts[i];

		if (r->state == STORE_QUEUE_RCPT_SENT || r->state == STORE_QUEUE_RCPT_BOUNCED)
			continue;
		if (store_queue_update_rcpt(store, id, i, STORE_QUEUE_RCPT_BOUNCED, 0,
					    "bounced by the administrator", "5.0.0", &error) != 1) {
			/* it may have become final meanwhile (the server delivered it) */
			fprintf(stderr, "posthorn: %s: %s\n", r->address,
				error != NULL ? error : "no such recipient");
			ret = CLI_FAILURE;
			continue;
		}
		n++;
	}
	/* a held entry would never be finished */
	if (e.hold && store_queue_release(store, id, &error) < 0) {
		fprintf(stderr, "posthorn: %s\n", error);
		ret = CLI_FAILURE;
	}
	printf("%s: %u recipient%s bounced\n", id, n, n == 1 ? "" : "s");
	store_queue_entry_deinit(&e);
	return ret;
}

int
cmd_queue(int argc, char **argv)
{
	struct cli_args args;
	struct posthorn_conf conf;
	struct store *store = NULL;
	const char *verb, *error = NULL;
	int ret, r;

	if (cli_parse(argc, argv, &args) < 0) {
		mem_free(&args.pos);
		return CLI_USAGE;
	}
	verb = args.npos > 0 ? args.pos[0] : "";
	if (!((strcmp(verb, "list") == 0 && args.npos == 1) ||
	      (strcmp(verb, "flush") == 0 && (args.npos == 1 || args.npos == 2)) ||
	      ((strcmp(verb, "show") == 0 || strcmp(verb, "delete") == 0 ||
		strcmp(verb, "hold") == 0 || strcmp(verb, "release") == 0 ||
		strcmp(verb, "bounce") == 0) &&
	       args.npos == 2))) {
		fprintf(stderr, "usage: posthorn queue list [--json] | queue show ID [--json] | "
				"queue delete|hold|release|bounce ID | queue flush [ID]\n");
		mem_free(&args.pos);
		return CLI_USAGE;
	}
	if (cli_load_conf(&args, &conf) < 0) {
		mem_free(&args.pos);
		return CLI_CONFIG;
	}
	if (cli_open_store(&conf, &store) < 0) {
		ret = CLI_FAILURE;
	} else if (strcmp(verb, "list") == 0) {
		ret = queue_list(store, args.json);
	} else if (strcmp(verb, "show") == 0) {
		ret = queue_show(store, args.pos[1], args.json);
	} else if (strcmp(verb, "bounce") == 0) {
		ret = queue_bounce(store, args.pos[1]);
	} else if (strcmp(verb, "flush") == 0) {
		r = store_queue_flush(store, args.npos == 2 ? args.pos[1] : NULL, (int64_t)time(NULL),
				      &error);
		ret = r == 1 ? CLI_OK : r == 0 ? CLI_NOT_FOUND : CLI_FAILURE;
		if (r <= 0)
			fprintf(stderr, "posthorn: %s\n", r == 0 ? "no such queue entry" : error);
	} else {
		if (strcmp(verb, "delete") == 0)
			r = store_queue_delete(store, args.pos[1], &error);
		else if (strcmp(verb, "hold") == 0)
			r = store_queue_hold(store, args.pos[1], &error);
		else
			r = store_queue_release(store, args.pos[1], &error);
		ret = r == 1 ? CLI_OK : r == 0 ? CLI_NOT_FOUND : CLI_FAILURE;
		if (r <= 0)
			fprintf(stderr, "posthorn: %s\n", r == 0 ? "no such queue entry" : error);
	}
	if (ret == CLI_OK && strcmp(verb, "list") != 0 && strcmp(verb, "show") != 0) {
		char *dir = conf_resolve_data_dir(&conf);

		/* tell a running scheduler (best effort: its sweep finds it anyway) */
		if (serve_queue_touch_changed(dir) < 0)
			fprintf(stderr, "posthorn: warning: cannot touch the queue marker in %s\n",
				dir);
		mem_free(&dir);
	}
	store_close(&store);
	conf_deinit(&conf);
	mem_free(&args.pos);
	return ret;
}
