/*
 * test-pop3-server.c - the POP3 engine against a fake io and fake hooks.
 *
 * The fake io collects output in a buf; the fake hooks either complete at
 * once from inside the hook (synchronous) or leave the operation pending
 * until the test (playing the event loop) completes it. Sessions are run
 * whole, byte by byte and at every split point, synchronously and deferred,
 * with message data delivered in every chunk size: all must give the same
 * transcript.
 */
#include "pop3/test-pop3-util.h"

static void
test_pop3_server_full_session(void)
{
	struct fx *fx = fx_new(true, false);

	T_STREQ(fx_out(fx), GREETING);
	T_ASSERT(pop3_server_session_wants_input(fx->s));
	T_ASSERT(pop3_server_session_user(fx->s) == NULL);
	fx_send(fx, "USER tim\r\nPASS secret word\r\n");
	T_STREQ(fx_out(fx), "+OK\r\n" LOGIN_OK);
	T_STREQ(pop3_server_session_user(fx->s), "tim");
	T_STREQ(pop3_server_session_client_ip(fx->s), "192.0.2.1");
	fx_free(fx);

	fx = fx_new(true, false);
	fx_send(fx, session_in);
	T_STREQ(fx_out(fx), session_out);
	check_session_result(fx);
	T_ASSERT(pop3_server_session_is_closed(fx->s));
	T_ASSERT(!pop3_server_session_wants_input(fx->s));
	fx_free(fx);
}

/* Run session_in fed as [0,split) [split,len) (split 0: one byte at a time). */
static void
run_split_session(bool deferred, size_t split, size_t chunk)
{
	struct fx *fx = fx_new(true, deferred);
	size_t len = sizeof(session_in) - 1;

	fx->chunk = chunk;
	if (split == 0) {
		for (size_t i = 0; i < len; i++)
			fx_input(fx, session_in + i, 1);
	} else {
		fx_input(fx, session_in, split);
		fx_input(fx, session_in + split, len - split);
	}
	if (!T_STREQ(fx_out(fx), session_out))
		fprintf(stderr, "  deferred %d split %zu chunk %zu\n", deferred, split, chunk);
	check_session_result(fx);
	fx_free(fx);
}

static void
test_pop3_server_any_split(void)
{
	size_t len = sizeof(session_in) - 1;

	for (int deferred = 0; deferred <= 1; deferred++) {
		for (size_t split = 0; split < len; split++)
			run_split_session(deferred, split, 0);
		/* every chunking of the message data */
		for (size_t chunk = 1; chunk <= 44; chunk++)
			run_split_session(deferred, 0, chunk);
	}
}

static void
test_pop3_server_capa(void)
{
	struct fx *fx = fx_new(true, false);

	fx_out(fx);
	fx_send(fx, "CAPA\r\ncapa\r\n");
	T_STREQ(fx_out(fx), CAPA_PLAIN CAPA_PLAIN);
	fx_send(fx, "USER tim\r\nPASS secret word\r\nCAPA\r\n");
	/* TRANSACTION: the same list (RFC 2449 5, RFC 5034 3) */
	T_STREQ(fx_out(fx), "+OK\r\n" LOGIN_OK CAPA_PLAIN);
	fx_free(fx);

	fx = fx_new(false, false);
	fx_out(fx);
	fx_send(fx, "CAPA\r\n");
	T_STREQ(fx_out(fx), CAPA_NOPLAIN);
	fx_free(fx);
}

static void
test_pop3_server_plaintext_refused(void)
{
	struct fx *fx = fx_new(false, false);

	fx_out(fx);
	fx_send(fx, "USER tim\r\nPASS secret word\r\nAUTH PLAIN AHRpbQBzZWNyZXQgd29yZA==\r\n"
		    "AUTH PLAIN\r\nAUTH LOGIN\r\nauth login dGlt\r\nAUTH\r\n");
	T_STREQ(fx_out(fx), NEED_TLS NEED_TLS NEED_TLS NEED_TLS NEED_TLS NEED_TLS
			    "+OK\r\n" MECHS_NOPLAIN "\r\n.\r\n");
	T_INTEQ(fx->auth_calls, 0);
	T_INTEQ(fx->results_ok + fx->results_failed, 0);
	/* -PLUS is not offered without channel binding */
	fx_send(fx, "AUTH SCRAM-SHA-256-PLUS\r\n");
	T_STREQ(fx_out(fx), "-ERR unsupported authentication mechanism\r\n");
	fx_free(fx);
}

static void
test_pop3_server_dropped_connection(void)
{
	for (int deferred = 0; deferred <= 1; deferred++) {
		struct fx *fx = fx_new(true, deferred);

		fx_send(fx, "USER tim\r\nPASS secret word\r\nDELE 1\r\nDELE 2\r\n");
		T_INTEQ(fx->close_calls, 0);
		/* connection dropped: the glue frees the session without QUIT */
		pop3_server_session_free(&fx->s);
		T_INTEQ(fx->disconnect_calls, 1);
		T_INTEQ(fx->update_calls, 0);
		fx_free(fx);
	}
	{
		struct fx *fx = fx_new(true, true);

		/* dropped while the login hook is outstanding */
		pop3_server_session_input(fx->s, (const uint8_t *)"USER tim\r\nPASS x\r\n", 18);
		T_INTEQ(fx->op, FX_AUTH);
		T_ASSERT(!pop3_server_session_wants_input(fx->s));
		T_INTEQ(fx->update_calls, 0);
		fx_free(fx);
	}
}

static void
test_pop3_server_quit_in_authorization(void)
{
	struct fx *fx = fx_new(true, false);

	fx_out(fx);
	fx_send(fx, "USER tim\r\nQUIT\r\n");
	T_STREQ(fx_out(fx), "+OK\r\n+OK " HOST " POP3 server signing off\r\n");
	T_INTEQ(fx->update_calls, 0);
	T_INTEQ(fx->close_calls, 1);
	T_INTEQ(fx->disconnect_calls, 1);
	fx_free(fx);
}

static void
test_pop3_server_update_failure(void)
{
	struct fx *fx = fx_new(true, true);

	fx_send(fx, "USER tim\r\nPASS secret word\r\nQUIT\r\n");
	fx_out(fx);
	T_INTEQ(fx->update_calls, 1);
	T_INTEQ(fx->upd_count, 0);
	fx_free(fx);

	fx = fx_new(true, true);
	fx_send(fx, "USER tim\r\nPASS secret word\r\nDELE 2\r\n");
	pop3_server_session_input(fx->s, (const uint8_t *)"QUIT\r\n", 6);
	T_INTEQ(fx->op, FX_UPDATE);
	fx_out(fx);
	fx->op = FX_NONE;
	pop3_server_update_done(fx->s, false);
	T_STREQ(fx_out(fx), "-ERR [SYS/TEMP] some deleted messages not removed\r\n");
	T_INTEQ(fx->close_calls, 1);
	fx_free(fx);
}

static void
test_pop3_server_auth_plain_initial(void)
{
	static const char *const ok[] = {
		"AUTH PLAIN AHRpbQBzZWNyZXQgd29yZA==\r\n",     /* \0tim\0secret word */
		"auth plain dGltAHRpbQBzZWNyZXQgd29yZA==\r\n", /* authzid == authcid */
	};

	for (size_t i = 0; i < N_ELEMENTS(ok); i++) {
		struct fx *fx = fx_new(true, i == 1);

		fx_out(fx);
		fx_send(fx, ok[i]);
		T_STREQ(fx_out(fx), LOGIN_OK);
		T_STREQ(fx->user, "tim");
		T_STREQ(pop3_server_session_user(fx->s), "tim");
		fx_free(fx);
	}
}

static void
test_pop3_server_auth_plain_continuation(void)
{
	for (int deferred = 0; deferred <= 1; deferred++) {
		struct fx *fx = fx_new(true, deferred);

		fx_out(fx);
		fx_send(fx, "AUTH PLAIN\r\n");
		T_STREQ(fx_out(fx), "+ \r\n");
		fx_send(fx, "AHRpbQBzZWNyZXQgd29yZA==\r\nSTAT\r\n");
		T_STREQ(fx_out(fx), LOGIN_OK "+OK 3 89\r\n");
		fx_free(fx);
	}
}

static void
test_pop3_server_auth_cancel(void)
{
	struct fx *fx = fx_new(true, false);

	fx_out(fx);
	fx_send(fx, "AUTH PLAIN\r\n*\r\nSTAT\r\nAUTH PLAIN\r\n\r\n");
	T_STREQ(fx_out(fx), "+ \r\n-ERR authentication canceled\r\n"
			    "-ERR command not valid in this state\r\n"
			    "+ \r\n" AUTH_FAILED);
	T_INTEQ(fx->auth_calls, 0);
	/* the SASL line may be longer than a command line */
	fx_send(fx, "AUTH PLAIN\r\n");
	{
		char line[1100];

		memset(line, 'A', 1000);
		memcpy(line + 1000, "\r\n", 3);
		fx_send(fx, line);
	}
	T_STREQ(fx_out(fx), "+ \r\n" AUTH_FAILED);
	fx_send(fx, "AUTH PLAIN\r\nAHRpbQBzZWNyZXQgd29yZA==\r\n");
	T_STREQ(fx_out(fx), "+ \r\n" LOGIN_OK);
	fx_free(fx);
}

static void
test_pop3_server_auth_refusals(void)
{
	struct fx *fx = fx_new(true, false);

	fx_out(fx);
	/* foreign authzid: admin acting as tim */
	fx_send(fx, "AUTH PLAIN YWRtaW4AdGltAHNlY3JldCB3b3Jk\r\n");
	T_STREQ(fx_out(fx), AUTH_FAILED);
	T_INTEQ(fx->auth_calls, 0);
	T_INTEQ(fx->maildrop_calls, 0);
	fx_send(fx, "AUTH PLAIN AHRpbQBzZWNyZXQgd29yZA=\r\nAUTH PLAIN\r\n!!!!\r\n");
	T_STREQ(fx_out(fx), "-ERR invalid base64 data\r\n+ \r\n-ERR invalid base64 data\r\n");
	fx_send(fx, "AUTH CRAM-MD5\r\nAUTH X\r\nAUTH\r\nAUTH PLAIN =\r\n");
	T_STREQ(fx_out(fx), "-ERR unsupported authentication mechanism\r\n"
			    "-ERR unsupported authentication mechanism\r\n" AUTHLIST_PLAIN
			    AUTH_FAILED);
	T_INTEQ(fx->close_calls, 0);
	/* the third failure (foreign authzid, empty message, wrong password) closes */
	fx_send(fx, "AUTH PLAIN AHRpbQB3cm9uZw==\r\nNOOP\r\n");
	T_STREQ(fx_out(fx), AUTH_FAILED);
	T_INTEQ(fx->close_calls, 1);
	T_INTEQ(fx->auth_calls, 1);
	T_STREQ(fx->mech, "PLAIN");
	fx_free(fx);
}

static void
test_pop3_server_login_results(void)
{
	for (int deferred = 0; deferred <= 1; deferred++) {
		struct fx *fx = fx_new(true, deferred);

		fx_out(fx);
		fx_send(fx, "USER locky\r\nPASS secret word\r\nUSER tim\r\nPASS tempfail\r\n"
			    "USER tempy\r\nPASS secret word\r\n");
		T_STREQ(fx_out(fx), "+OK\r\n-ERR [IN-USE] maildrop is locked by another session\r\n"
				    "+OK\r\n-ERR [SYS/TEMP] temporary failure, try again later\r\n"
				    "+OK\r\n" TEMPFAIL);
		T_INTEQ(fx->auth_calls, 3);
		T_INTEQ(fx->maildrop_calls, 2);
		T_STREQ(fx->mech, "USER");
		/* unknown user and wrong password: the same reply */
		fx_send(fx, "USER nobody\r\nPASS secret word\r\nUSER tim\r\nPASS wrong\r\n");
		T_STREQ(fx_out(fx), "+OK\r\n" AUTH_FAILED "+OK\r\n" AUTH_FAILED);
		T_INTEQ(fx->close_calls, 0);
		T_INTEQ(fx->maildrop_calls, 2);
		/* PASS needs USER first, also after a failed PASS (RFC 1939 7) */
		fx_send(fx, "PASS secret word\r\n");
		T_STREQ(fx_out(fx), "-ERR USER first\r\n");
		/* an account gone between its check and its maildrop: a failure too */
		fx_send(fx, "USER gone\r\nPASS secret word\r\nNOOP\r\n");
		T_STREQ(fx_out(fx), "+OK\r\n" AUTH_FAILED);
		T_INTEQ(fx->close_calls, 1);
		T_INTEQ(fx->auth_calls, 6);
		T_INTEQ(fx->maildrop_calls, 3);
		T_ASSERT(pop3_server_session_user(fx->s) == NULL);
		/* auth_result: locky, tempy, gone authenticated; the rest failed */
		T_INTEQ(fx->results_ok, 3);
		T_INTEQ(fx->results_failed, 3);
		T_STREQ(fx->result_mech, "USER");
		T_STREQ(fx->result_user, "gone");
		fx_free(fx);
	}
}

static void
test_pop3_server_wrong_state(void)
{
	struct fx *fx = fx_new(true, false);

	fx_out(fx);
	fx_send(fx, "STAT\r\nLIST\r\nRETR 1\r\nDELE 1\r\nNOOP\r\nRSET\r\nUIDL\r\nTOP 1 1\r\n"
		    "APOP tim c4c9334bac560ecc979e58001b3e22fb\r\nLAST\r\n");
	T_STREQ(fx_out(fx), "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR unknown command\r\n-ERR unknown command\r\n");
	fx_send(fx, "USER tim\r\nPASS secret word\r\nUSER tim\r\nPASS x\r\nAUTH PLAIN\r\nLAST\r\n"
		    "STLS\r\n");
	T_STREQ(fx_out(fx), "+OK\r\n" LOGIN_OK
			    "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR command not valid in this state\r\n"
			    "-ERR unknown command\r\n"
			    "-ERR command not valid in this state\r\n");
	fx_send(fx, "STAT 1\r\nRETR\r\nTOP 1\r\nLIST 1 2\r\nNOOP x\r\n");
	T_STREQ(fx_out(fx), "-ERR wrong number of arguments\r\n-ERR wrong number of arguments\r\n"
			    "-ERR wrong number of arguments\r\n-ERR wrong number of arguments\r\n"
			    "-ERR wrong number of arguments\r\n");
	fx_free(fx);
}

static void
test_pop3_server_message_numbers(void)
{
	struct fx *fx = fx_new(true, false);

	fx_send(fx, "USER tim\r\nPASS secret word\r\n");
	fx_out(fx);
	fx_send(fx, "RETR 0\r\nRETR 4\r\nRETR x\r\nRETR 99999999999\r\nLIST 4\r\nUIDL 0\r\n"
		    "TOP 1 -1\r\nTOP 4 1\r\nTOP 1 99999999999999999999\r\nDELE 4\r\n");
	T_STREQ(fx_out(fx), "-ERR invalid message number\r\n-ERR no such message\r\n"
			    "-ERR invalid message number\r\n-ERR invalid message number\r\n"
			    "-ERR no such message\r\n-ERR invalid message number\r\n"
			    "-ERR invalid line count\r\n-ERR no such message\r\n"
			    "-ERR invalid line count\r\n-ERR no such message\r\n");
	/* a huge but valid line count means the whole body */
	fx_send(fx, "TOP 2 9223372036854775807\r\nTOP 2 9223372036854775808\r\n");
	T_STREQ(fx_out(fx), "+OK top of message follows\r\nSubject: two\r\nX: y\r\n\r\n"
			    "b1\r\nb2\r\nb3\r\n.\r\n"
			    "+OK top of message follows\r\nSubject: two\r\nX: y\r\n\r\n"
			    "b1\r\nb2\r\nb3\r\n.\r\n");
	fx_free(fx);
}

static void
test_pop3_server_bad_commands_limit(void)
{
	struct pop3_server_limits limits;
	struct fx *fx;
	struct buf expect;

	pop3_server_limits_init_default(&limits);
	T_INTEQ(limits.max_bad_commands, 20);
	fx = fx_new_limits(true, false, &limits);
	fx_out(fx);
	buf_init(&expect, 0);
	for (int i = 0; i < 20; i++) {
		fx_send(fx, "XYZZY\r\n");
		buf_append_str(&expect, "-ERR unknown command\r\n");
	}
	T_STREQ(fx_out(fx), buf_cstr(&expect));
	T_INTEQ(fx->close_calls, 0);
	fx_send(fx, "BAD!\r\nNOOP\r\n");
	T_STREQ(fx_out(fx), "-ERR too many bad commands\r\n");
	T_INTEQ(fx->close_calls, 1);
	T_ASSERT(!pop3_server_session_wants_input(fx->s));
	fx_send(fx, "CAPA\r\n");
	T_STREQ(fx_out(fx), "");
	buf_deinit(&expect);
	fx_free(fx);
}

static void
test_pop3_server_line_too_long(void)
{
	struct fx *fx = fx_new(true, false);
	char line[400];

	fx_out(fx);
	memset(line, 'N', 300);
	memcpy(line + 300, "\r\nCAPA\r\n", 9);
	fx_send(fx, line);
	T_STREQ(fx_out(fx), "-ERR line too long\r\n" CAPA_PLAIN);
	/* 255 octets with CRLF is still a line (a long password) */
	memcpy(line, "PASS ", 5);
	memset(line + 5, 'p', 248);
	memcpy(line + 253, "\r\n", 3);
	fx_send(fx, "USER tim\r\n");
	fx_send(fx, line);
	T_STREQ(fx_out(fx), "+OK\r\n" AUTH_FAILED);
	T_INTEQ(strlen(fx->user), 3);
	fx_free(fx);
}

static void
test_pop3_server_pipelining(void)
{
	struct fx *fx = fx_new(true, true);

	fx_out(fx);
	/* everything in one input; each hook waits for the test to complete it */
	pop3_server_session_input(fx->s, (const uint8_t *)session_in, sizeof(session_in) - 1);
	T_INTEQ(fx->op, FX_AUTH);
	T_ASSERT(!pop3_server_session_wants_input(fx->s));
	T_STREQ(fx_out(fx), CAPA_PLAIN "+OK\r\n");
	fx_complete(fx);
	T_INTEQ(fx->op, FX_MAILDROP);
	T_ASSERT(!pop3_server_session_wants_input(fx->s));
	T_STREQ(fx_out(fx), "");
	fx_complete(fx);
	T_INTEQ(fx->op, FX_RETRIEVE);
	T_INTEQ(fx->retr_index, 0);
	while (fx->op != FX_NONE)
		fx_complete(fx);
	T_STREQ(fx_out(fx), session_out + strlen(GREETING CAPA_PLAIN "+OK\r\n"));
	check_session_result(fx);
	fx_free(fx);
}

static void
test_pop3_server_timeout(void)
{
	struct fx *fx = fx_new(true, false);

	fx_send(fx, "USER tim\r\nPASS secret word\r\nDELE 1\r\n");
	fx_out(fx);
	pop3_server_session_timeout(fx->s);
	T_STREQ(fx_out(fx), "-ERR autologout timer expired\r\n");
	T_INTEQ(fx->close_calls, 1);
	T_INTEQ(fx->update_calls, 0);
	pop3_server_session_timeout(fx->s); /* twice: nothing more */
	T_STREQ(fx_out(fx), "");
	fx_free(fx);

	/* with a login outstanding: after it completes */
	fx = fx_new(true, true);
	fx_out(fx);
	pop3_server_session_input(fx->s, (const uint8_t *)"USER tim\r\nPASS secret word\r\n", 28);
	pop3_server_session_timeout(fx->s);
	T_STREQ(fx_out(fx), "+OK\r\n");
	T_INTEQ(fx->close_calls, 0);
	fx_complete(fx);
	T_INTEQ(fx->op, FX_MAILDROP);
	T_INTEQ(fx->close_calls, 0);
	fx_complete(fx);
	T_STREQ(fx_out(fx), LOGIN_OK "-ERR autologout timer expired\r\n");
	T_INTEQ(fx->close_calls, 1);
	fx_free(fx);
}

static void
test_pop3_server_shutdown(void)
{
	struct fx *fx = fx_new(true, true);

	fx_send(fx, "USER tim\r\nPASS secret word\r\nDELE 3\r\n");
	fx_out(fx);
	pop3_server_session_input(fx->s, (const uint8_t *)"RETR 2\r\nNOOP\r\n", 14);
	T_INTEQ(fx->op, FX_RETRIEVE);
	pop3_server_session_shutdown(fx->s);
	T_INTEQ(fx->close_calls, 0);
	fx_complete(fx);
	/* the retrieve finishes, pipelined NOOP is not run, no UPDATE */
	T_STREQ(fx_out(fx), "+OK 32 octets\r\nSubject: two\r\nX: y\r\n\r\nb1\r\nb2\r\nb3\r\n.\r\n"
			    "-ERR [SYS/TEMP] server shutting down\r\n");
	T_INTEQ(fx->close_calls, 1);
	T_INTEQ(fx->update_calls, 0);
	fx_free(fx);

	/* idle: at once */
	fx = fx_new(true, false);
	fx_out(fx);
	pop3_server_session_shutdown(fx->s);
	T_STREQ(fx_out(fx), "-ERR [SYS/TEMP] server shutting down\r\n");
	T_INTEQ(fx->close_calls, 1);
	fx_free(fx);

	/* an UPDATE in progress finishes and answers normally */
	fx = fx_new(true, true);
	fx_send(fx, "USER tim\r\nPASS secret word\r\nDELE 3\r\n");
	fx_out(fx);
	pop3_server_session_input(fx->s, (const uint8_t *)"QUIT\r\n", 6);
	pop3_server_session_shutdown(fx->s);
	fx_complete(fx);
	T_STREQ(fx_out(fx), "+OK " HOST " POP3 server signing off (2 messages left)\r\n");
	T_INTEQ(fx->update_calls, 1);
	T_INTEQ(fx->close_calls, 1);
	fx_free(fx);
}

static void
test_pop3_server_retrieve_failure(void)
{
	struct fx *fx = fx_new(true, false);

	fx_send(fx, "USER tim\r\nPASS secret word\r\n");
	fx_out(fx);
	fx->retr_fail_before = true;
	fx_send(fx, "RETR 1\r\nNOOP\r\n");
	T_STREQ(fx_out(fx), "-ERR [SYS/TEMP] message could not be read\r\n+OK\r\n");
	fx->retr_fail_before = false;
	fx->retr_fail_after = true;
	fx_send(fx, "RETR 2\r\nNOOP\r\n");
	/* the response cannot be finished: close without the terminating line */
	T_STREQ(fx_out(fx), "+OK 32 octets\r\nSubject: two\r\nX: y\r\n\r\nb1\r\nb2\r\nb3");
	T_INTEQ(fx->close_calls, 1);
	T_INTEQ(fx->update_calls, 0);
	fx_free(fx);
}

static void
test_pop3_server_message_shapes(void)
{
	static const char *const msgs[] = {
		"",                                   /* empty */
		"Subject: x\r\nFrom: y\r\n",          /* header only, no blank line */
		"A: b\r\n\r\nends in CR\r",           /* bare CR at the end */
		"A: b\n\n.bare LF\nx",                /* LF line ends */
		".\r\n.\r\n\r\n.\r\n",                /* dots everywhere */
		"A: b\r\n\r\n\r\n\r\nx\r\n",          /* empty body lines count */
	};
	static const char *const uidls[] = { "a", "b", "c", "d", "e", "f" };
	struct fx *fx = fx_new(true, false);

	fx->msgs = msgs;
	fx->uidls = uidls;
	fx->msg_count = N_ELEMENTS(msgs);
	fx_send(fx, "USER tim\r\nPASS secret word\r\n");
	fx_out(fx);
	fx_send(fx, "RETR 1\r\nTOP 1 5\r\nTOP 2 0\r\nRETR 3\r\nTOP 3 0\r\nRETR 4\r\nTOP 4 0\r\n");
	T_STREQ(fx_out(fx), "+OK 0 octets\r\n.\r\n"
			    "+OK top of message follows\r\n.\r\n"
			    "+OK top of message follows\r\nSubject: x\r\nFrom: y\r\n.\r\n"
			    "+OK 19 octets\r\nA: b\r\n\r\nends in CR\r\n.\r\n"
			    "+OK top of message follows\r\nA: b\r\n\r\n.\r\n"
			    "+OK 16 octets\r\nA: b\n\n..bare LF\nx\r\n.\r\n"
			    "+OK top of message follows\r\nA: b\n\n.\r\n");
	fx_send(fx, "RETR 5\r\nTOP 5 0\r\nTOP 6 1\r\nTOP 6 2\r\n");
	T_STREQ(fx_out(fx), "+OK 11 octets\r\n..\r\n..\r\n\r\n..\r\n.\r\n"
			    "+OK top of message follows\r\n..\r\n..\r\n\r\n.\r\n"
			    "+OK top of message follows\r\nA: b\r\n\r\n\r\n.\r\n"
			    "+OK top of message follows\r\nA: b\r\n\r\n\r\n\r\n.\r\n");
	fx_free(fx);
}

static void
test_pop3_server_free_inside_callbacks(void)
{
	struct fx *fx;

	/* glue frees the session from inside io->close (QUIT, sync update) */
	fx = fx_new(true, false);
	fx->free_in_close = true;
	fx_send(fx, "USER tim\r\nPASS secret word\r\nDELE 1\r\nQUIT\r\nNOOP\r\n");
	T_ASSERT(fx->s == NULL);
	T_INTEQ(fx->close_calls, 1);
	T_INTEQ(fx->update_calls, 1);
	fx_free(fx);

	/* ... from inside the auth_lookup hook, the open_maildrop hook (also
	 * when that is called from the auth completion), and starttls */
	for (int deferred = 0; deferred <= 1; deferred++) {
		fx = fx_new(true, deferred);
		fx->free_in_auth = true;
		fx_send(fx, "USER tim\r\nPASS secret word\r\nSTAT\r\n");
		T_ASSERT(fx->s == NULL);
		T_INTEQ(fx->close_calls, 0);
		fx_free(fx);

		fx = fx_new(true, deferred);
		fx->free_in_maildrop = true;
		fx_send(fx, "AUTH PLAIN AHRpbQBzZWNyZXQgd29yZA==\r\nSTAT\r\n");
		T_ASSERT(fx->s == NULL);
		T_INTEQ(fx->maildrop_calls, 1);
		fx_free(fx);
	}
	{
		struct fx_opts opts = { .stls = true };

		fx = fx_new_opts(&opts, false);
		fx->free_in_starttls = true;
		fx_send(fx, "STLS\r\nCAPA\r\n");
		T_ASSERT(fx->s == NULL);
		T_INTEQ(fx->starttls_calls, 1);
		T_STREQ(fx_out(fx), GREETING STLS_OK);
		fx_free(fx);
	}

	/* ... from inside io->write (a write error), in the middle of a RETR */
	fx = fx_new(true, false);
	fx_send(fx, "USER tim\r\nPASS secret word\r\n");
	fx->chunk = 3;
	fx->free_in_write = true;
	fx_send(fx, "RETR 1\r\nRETR 2\r\n");
	T_ASSERT(fx->s == NULL);
	fx_free(fx);

	/* ... from inside disconnect, called by a close */
	fx = fx_new(true, false);
	fx->free_in_disconnect = true;
	fx_send(fx, "QUIT\r\nNOOP\r\n");
	T_ASSERT(fx->s == NULL);
	T_INTEQ(fx->close_calls, 1);
	fx_free(fx);
}

static void
test_pop3_server_input_buffer_full(void)
{
	struct pop3_server_limits limits;
	struct fx *fx;
	char big[100];

	pop3_server_limits_init_default(&limits);
	limits.max_input_buffer = 64;
	fx = fx_new_limits(true, true, &limits);
	fx_out(fx);
	pop3_server_session_input(fx->s, (const uint8_t *)"USER tim\r\nPASS secret word\r\n", 28);
	T_INTEQ(fx->op, FX_AUTH);
	memset(big, 'x', sizeof(big));
	pop3_server_session_input(fx->s, (const uint8_t *)big, 40);
	T_INTEQ(fx->close_calls, 0);
	pop3_server_session_input(fx->s, (const uint8_t *)big, 40);
	T_STREQ(fx_out(fx), "+OK\r\n-ERR input buffer full\r\n");
	T_INTEQ(fx->close_calls, 1);
	/* late completions of the cancelled work are ignored */
	pop3_server_auth_verified(fx->s, true);
	pop3_server_auth_secret(fx->s, NULL);
	pop3_server_auth_tempfail(fx->s);
	pop3_server_login_done(fx->s, POP3_LOGIN_OK, NULL, 0);
	T_STREQ(fx_out(fx), "");
	fx_free(fx);
}

static void
test_pop3_server_hostname_sanitised(void)
{
	struct pop3_server_settings set;
	struct fx fx;

	memset(&fx, 0, sizeof(fx));
	memset(&set, 0, sizeof(set));
	buf_init(&fx.out, 0);
	set.hostname = "evil\r\n+OK host";
	pop3_server_limits_init_default(&set.limits);
	fx.s = pop3_server_session_new(&set, &fx_hooks, &fx, &fx_io, &fx, NULL);
	pop3_server_session_start(fx.s);
	T_STREQ(fx_out(&fx), "+OK evil__+OK_host POP3 server ready\r\n");
	T_STREQ(pop3_server_session_client_ip(fx.s), "");
	pop3_server_session_free(&fx.s);
	T_INTEQ(fx.disconnect_calls, 1);
	buf_deinit(&fx.out);
}

static void
test_pop3_server_drop_during_retrieve(void)
{
	struct fx *fx = fx_new(true, true);

	fx_send(fx, "USER tim\r\nPASS secret word\r\nDELE 2\r\n");
	fx_out(fx);
	pop3_server_session_input(fx->s, (const uint8_t *)"RETR 1\r\nQUIT\r\n", 14);
	T_INTEQ(fx->op, FX_RETRIEVE);
	pop3_server_retrieve_data(fx->s, (const uint8_t *)"Subject: one\r\n.", 15);
	T_STREQ(fx_out(fx), "+OK 43 octets\r\nSubject: one\r\n..");
	/* the client goes away in the middle: free, no QUIT processed, no UPDATE */
	pop3_server_session_free(&fx->s);
	T_INTEQ(fx->disconnect_calls, 1);
	T_INTEQ(fx->update_calls, 0);
	T_INTEQ(fx->close_calls, 0);
	fx_free(fx);
}


/* The whole session with auth deferred and the maildrop opened at once
 * from the auth completion, at every split. */
static void
test_pop3_server_mixed_hooks(void)
{
	size_t len = sizeof(session_in) - 1;

	for (size_t split = 1; split < len; split += 7) {
		struct fx_opts opts = { .plaintext = true, .deferred = true,
					.sync_maildrop = true };
		struct fx *fx = fx_new_opts(&opts, false);

		fx_input(fx, session_in, split);
		fx_input(fx, session_in + split, len - split);
		T_STREQ(fx_out(fx), session_out);
		check_session_result(fx);
		fx_free(fx);
	}
}

static const struct test tests[] = {
	TEST_ENTRY(test_pop3_server_full_session),
	TEST_ENTRY(test_pop3_server_any_split),
	TEST_ENTRY(test_pop3_server_capa),
	TEST_ENTRY(test_pop3_server_plaintext_refused),
	TEST_ENTRY(test_pop3_server_dropped_connection),
	TEST_ENTRY(test_pop3_server_quit_in_authorization),
	TEST_ENTRY(test_pop3_server_update_failure),
	TEST_ENTRY(test_pop3_server_auth_plain_initial),
	TEST_ENTRY(test_pop3_server_auth_plain_continuation),
	TEST_ENTRY(test_pop3_server_auth_cancel),
	TEST_ENTRY(test_pop3_server_auth_refusals),
	TEST_ENTRY(test_pop3_server_login_results),
	TEST_ENTRY(test_pop3_server_wrong_state),
	TEST_ENTRY(test_pop3_server_message_numbers),
	TEST_ENTRY(test_pop3_server_bad_commands_limit),
	TEST_ENTRY(test_pop3_server_line_too_long),
	TEST_ENTRY(test_pop3_server_pipelining),
	TEST_ENTRY(test_pop3_server_timeout),
	TEST_ENTRY(test_pop3_server_shutdown),
	TEST_ENTRY(test_pop3_server_retrieve_failure),
	TEST_ENTRY(test_pop3_server_message_shapes),
	TEST_ENTRY(test_pop3_server_free_inside_callbacks),
	TEST_ENTRY(test_pop3_server_input_buffer_full),
	TEST_ENTRY(test_pop3_server_hostname_sanitised),
	TEST_ENTRY(test_pop3_server_drop_during_retrieve),
	TEST_ENTRY(test_pop3_server_mixed_hooks),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("pop3-server", tests);
}
