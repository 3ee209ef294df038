/*
 * test-imap-search.c - search criteria: parsing (every key, groups, limits,
 * errors, CHARSET), matching on sample messages (flags, sizes, dates,
 * sets, "$", headers with RFC 2047 words, bodies in quoted-printable,
 * base64 and ISO-8859-1, TEXT, MODSEQ, OLDER/YOUNGER).
 */
#include "core/mem.h"
#include "core/test.h"
#include "imap/imap-parser.h"
#include "imap/imap-search.h"
#include "imap/imap-server.h"
#include "mime/test-mime-samples.h"

#include <stdio.h>
#include <string.h>

/* Parse "tag CMD args" and run the matching program parser. */
static int
parse(const char *line, const struct imap_search_params *params,
      struct imap_search_program **prog_r, const char **error_r)
{
	struct imap_parser_limits limits;
	struct imap_parser *p;
	struct buf in;
	size_t used;
	int ret = -2;
	const struct imap_command *cmd;

	imap_parser_limits_init_default(&limits);
	p = imap_parser_new(&limits, IMAP_PARSER_FLAG_UTF8);
	buf_init(&in, 0);
	buf_printf(&in, "t %s\r\n", line);
	*prog_r = NULL;
	if (imap_parser_feed(p, buf_data(&in), buf_len(&in), &used) == IMAP_PARSER_COMMAND) {
		cmd = imap_parser_get_command(p);
		if (strcmp(cmd->name, "SORT") == 0)
			ret = imap_sort_parse(cmd->args, cmd->n_args, params, prog_r, error_r);
		else if (strcmp(cmd->name, "THREAD") == 0)
			ret = imap_thread_parse(cmd->args, cmd->n_args, params, prog_r, error_r);
		else
			ret = imap_search_parse(cmd->args, cmd->n_args, params, prog_r, error_r);
	}
	imap_parser_free(&p);
	buf_deinit(&in);
	return ret;
}

static const uint32_t saved_uids[] = {3, 7, 8};

static void
default_params(struct imap_search_params *params)
{
	memset(params, 0, sizeof(*params));
	params->count = 5;
	params->max_uid = 20;
	params->saved = saved_uids;
	params->saved_count = N_ELEMENTS(saved_uids);
}

static int
parse_ret(const char *line)
{
	struct imap_search_params params;
	struct imap_search_program *prog;
	const char *err;
	int ret;

	default_params(&params);
	ret = parse(line, &params, &prog, &err);
	if (ret == 1)
		T_ASSERT(prog != NULL);
	else
		T_ASSERT(prog == NULL);
	imap_search_program_free(&prog);
	return ret;
}

static void
test_parse(void)
{
	static const char *const good[] = {
	        "SEARCH ALL",
	        "SEARCH all",
	        "SEARCH ANSWERED BCC x BEFORE 1-Feb-1994",
	        "SEARCH BODY \"a b\" CC {3+}\r\nabc",
	        "SEARCH DELETED DRAFT FLAGGED FROM x",
	        "SEARCH HEADER X-Foo bar",
	        "SEARCH HEADER \"X-Foo\" \"\"",
	        "SEARCH KEYWORD $Junk",
	        "SEARCH LARGER 100 NEW NOT SEEN OLD ON 01-jan-2020",
	        "SEARCH OR SEEN FLAGGED",
	        "SEARCH RECENT SENTBEFORE \"1-Feb-1994\" SENTON 29-Feb-2000 SENTSINCE 1-Mar-2001",
	        "SEARCH SINCE 31-Dec-1999 SMALLER 5 SUBJECT hi TEXT x TO y",
	        "SEARCH UID 1:* UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD x UNSEEN",
	        "SEARCH 1,3:*",
	        "SEARCH *",
	        "SEARCH $",
	        "SEARCH UID $",
	        "SEARCH (SEEN (DELETED))",
	        "SEARCH NOT (OR 1 2)",
	        "SEARCH MODSEQ 5",
	        "SEARCH MODSEQ \"/flags/\\\\draft\" all 620",
	        "SEARCH OLDER 10 YOUNGER 20",
	        "SEARCH SAVEDBEFORE 1-Jan-2020 SAVEDON 1-Jan-2020",
	        "SEARCH SAVEDSINCE 1-Jan-2020 SAVEDATESUPPORTED",
	        "SEARCH EMAILID M1 THREADID T1",
	        "SEARCH CHARSET UTF-8 SUBJECT x",
	        "SEARCH CHARSET us-ascii ALL",
	        "SEARCH CHARSET ISO-8859-1 BODY x",
	        "SEARCH KEYWORD \\Seen",
	        "SORT (DATE) UTF-8 ALL",
	        "SORT (REVERSE ARRIVAL SUBJECT) US-ASCII SEEN",
	        "SORT (CC FROM TO SIZE DISPLAYFROM DISPLAYTO) UTF-8 ALL",
	        "THREAD REFERENCES UTF-8 ALL",
	        "THREAD ORDEREDSUBJECT US-ASCII SUBJECT x",
	};
	static const char *const bad[] = {
	        "SEARCH",
	        "SEARCH FOO",
	        "SEARCH BEFORE",
	        "SEARCH BEFORE 1-Foo-2000",
	        "SEARCH BEFORE 30-Feb-2000",
	        "SEARCH BEFORE 29-Feb-1900",
	        "SEARCH ON 1-Jan-20",
	        "SEARCH ON 123-Jan-2020",
	        "SEARCH LARGER x",
	        "SEARCH LARGER",
	        "SEARCH OR SEEN",
	        "SEARCH NOT",
	        "SEARCH ()",
	        "SEARCH 1:x",
	        "SEARCH 0",
	        "SEARCH UID",
	        "SEARCH UID x",
	        "SEARCH HEADER",
	        "SEARCH HEADER x",
	        "SEARCH HEADER \"a:b\" x",
	        "SEARCH SUBJECT",
	        "SEARCH KEYWORD",
	        "SEARCH KEYWORD (a)",
	        "SEARCH CHARSET",
	        "SEARCH MODSEQ",
	        "SEARCH MODSEQ \"/flags/x\" bogus 5",
	        "SEARCH MODSEQ x",
	        "SEARCH OLDER 0",
	        "SEARCH NIL",
	        "SORT DATE UTF-8 ALL",
	        "SORT () UTF-8 ALL",
	        "SORT (FOO) UTF-8 ALL",
	        "SORT (REVERSE) UTF-8 ALL",
	        "SORT (REVERSE REVERSE DATE) UTF-8 ALL",
	        "SORT (DATE)",
	        "THREAD FOO UTF-8 ALL",
	        "THREAD REFERENCES",
	        "THREAD REFERENCES UTF-8",
	};

	for (size_t i = 0; i < N_ELEMENTS(good); i++) {
		if (!T_INTEQ(parse_ret(good[i]), 1))
			fprintf(stderr, "  good: %s\n", good[i]);
	}
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		if (!T_INTEQ(parse_ret(bad[i]), -1))
			fprintf(stderr, "  bad: %s\n", bad[i]);
	}
	T_INTEQ(parse_ret("SEARCH CHARSET X-NO-SUCH-CHARSET ALL"), 0);
	T_INTEQ(parse_ret("SORT (DATE) X-NO-SUCH-CHARSET ALL"), 0);
	T_INTEQ(parse_ret("SORT (DATE) ALL"), 0); /* ALL is taken for the charset */
	/* the parser refuses these before criteria are read */
	T_INTEQ(parse_ret("SEARCH (SEEN"), -2);
	T_INTEQ(parse_ret("SEARCH SEEN )"), -2);
}

static void
test_limits(void)
{
	struct imap_search_params params;
	struct imap_search_program *prog;
	const char *err;
	struct buf line;

	default_params(&params);
	params.max_depth = 5;
	T_INTEQ(parse("SEARCH ((((SEEN))))", &params, &prog, &err), 1);
	imap_search_program_free(&prog);
	T_INTEQ(parse("SEARCH (((((SEEN)))))", &params, &prog, &err), -1);
	T_INTEQ(parse("SEARCH NOT NOT NOT NOT NOT SEEN", &params, &prog, &err), -1);
	T_STREQ(err, "Search nested too deeply");
	default_params(&params);
	params.max_keys = 10;
	buf_init(&line, 0);
	buf_append_str(&line, "SEARCH");
	for (int i = 0; i < 10; i++)
		buf_append_str(&line, " SEEN");
	T_INTEQ(parse(buf_cstr(&line), &params, &prog, &err), 1);
	imap_search_program_free(&prog);
	buf_append_str(&line, " SEEN");
	T_INTEQ(parse(buf_cstr(&line), &params, &prog, &err), -1);
	T_STREQ(err, "Too many search keys");
	buf_deinit(&line);
}

/* ---- matching ---- */

static void
msg_init(struct imap_message *msg, uint32_t seq, uint32_t uid, const char *data)
{
	memset(msg, 0, sizeof(*msg));
	msg->seq = seq;
	msg->uid = uid;
	msg->data = (const uint8_t *)data;
	msg->size = strlen(data);
	msg->internaldate = 1600000000; /* Sun, 13 Sep 2020 12:26:40 UTC */
	msg->modseq = 10;
}

static bool
match(const char *criteria, struct imap_message *msg)
{
	struct imap_search_params params;
	struct imap_search_program *prog;
	const char *err;
	struct buf line;
	bool ok = false;

	default_params(&params);
	buf_init(&line, 0);
	buf_printf(&line, "SEARCH %s", criteria);
	if (T_INTEQ(parse(buf_cstr(&line), &params, &prog, &err), 1)) {
		ok = imap_search_match(prog, msg, 1600000100);
		imap_search_program_free(&prog);
	} else {
		fprintf(stderr, "  criteria: %s\n", criteria);
	}
	buf_deinit(&line);
	return ok;
}

#define YES(c, m)                                                                                  \
	do {                                                                                       \
		if (!T_ASSERT(match((c), (m))))                                                    \
			fprintf(stderr, "  want match: %s\n", (c));                                \
	} while (0)
#define NO(c, m)                                                                                   \
	do {                                                                                       \
		if (!T_ASSERT(!match((c), (m))))                                                   \
			fprintf(stderr, "  want no match: %s\n", (c));                             \
	} while (0)

static void
test_match_meta(void)
{
	struct imap_message m;

	msg_init(&m, 3, 8, MSG_PLAIN);
	m.flags = IMAP_FLAG_SEEN | IMAP_FLAG_FLAGGED;
	m.keywords = "$Junk Work";
	YES("ALL", &m);
	YES("SEEN FLAGGED UNANSWERED UNDELETED UNDRAFT", &m);
	NO("UNSEEN", &m);
	NO("ANSWERED", &m);
	YES("KEYWORD work", &m);
	YES("KEYWORD $JUNK", &m);
	NO("KEYWORD Wor", &m);
	YES("UNKEYWORD Home", &m);
	NO("UNKEYWORD Work", &m);
	YES("KEYWORD \\Seen", &m);
	NO("KEYWORD \\Deleted", &m);
	YES("OLD", &m);
	NO("NEW", &m);
	NO("RECENT", &m);
	YES("LARGER 10 SMALLER 1000", &m);
	NO("LARGER 1000", &m);
	YES("3", &m);
	YES("1:3", &m);
	YES("2,3,4", &m);
	NO("1:2,4", &m);
	YES("3:1", &m);
	NO("*", &m); /* * is 5 */
	YES("UID 8", &m);
	YES("UID 1:*", &m);
	YES("UID $", &m); /* saved: 3,7,8 */
	YES("$", &m);
	NO("UID 9:10", &m);
	YES("NOT 4", &m);
	YES("OR 1 3", &m);
	NO("OR 1 2", &m);
	YES("(SEEN 3) (FLAGGED)", &m);
	NO("(SEEN 4)", &m);
	YES("ON 13-Sep-2020", &m);
	YES("SINCE 13-Sep-2020", &m);
	NO("SINCE 14-Sep-2020", &m);
	YES("BEFORE 14-Sep-2020", &m);
	NO("BEFORE 13-Sep-2020", &m);
	YES("SAVEDON 13-Sep-2020", &m); /* no savedate: the internal date */
	m.savedate = 1700000000;        /* 14 Nov 2023 */
	YES("SAVEDSINCE 1-Nov-2023", &m);
	NO("SAVEDBEFORE 1-Nov-2023", &m);
	YES("OLDER 50", &m); /* now is 100 s after */
	NO("OLDER 200", &m);
	YES("YOUNGER 200", &m);
	NO("YOUNGER 50", &m);
	YES("MODSEQ 10", &m);
	NO("MODSEQ 11", &m);
	NO("EMAILID M1", &m);
	m.emailid = "M1";
	YES("EMAILID M1", &m);
	NO("EMAILID m1", &m);
	imap_message_deinit(&m);
}

static void
test_match_header(void)
{
	struct imap_message m;
	static const char msg[] = "From: =?utf-8?q?J=C3=B6rg?= Schmidt <joerg@example.de>\r\n"
	                          "To: team: a@x.org, Bob <b@y.org>;\r\n"
	                          "Cc: carol@example.com\r\n"
	                          "Subject: =?iso-8859-1?q?Gr=FC=DFe?= =?utf-8?b?YXVz?=\r\n"
	                          " Berlin\r\n"
	                          "Date: Mon, 14 Sep 2020 01:30:00 +0200\r\n"
	                          "X-Spam: yes\r\n"
	                          "\r\n"
	                          "body\r\n";

	msg_init(&m, 1, 1, msg);
	YES("FROM \"jörg\"", &m);
	YES("FROM \"JÖRG\"", &m);
	YES("FROM joerg@EXAMPLE", &m);
	NO("FROM carol", &m);
	YES("TO bob", &m);
	YES("TO b@y.org", &m);
	YES("CC carol", &m);
	NO("BCC carol", &m);
	YES("SUBJECT \"Grüßeaus Berlin\"", &m); /* words joined, fold kept */
	YES("SUBJECT \"GRÜ\"", &m);
	YES("SUBJECT \"\"", &m);
	NO("SUBJECT body", &m);
	YES("HEADER X-Spam yes", &m);
	YES("HEADER x-spam \"\"", &m);
	NO("HEADER X-Ham \"\"", &m);
	YES("TEXT berlin", &m);
	YES("TEXT body", &m);
	YES("TEXT x-spam", &m);
	NO("BODY berlin", &m);
	YES("BODY BODY", &m);
	/* the Date: in its own zone: 13 Sep 23:30 UTC is 14 Sep there */
	YES("SENTON 14-Sep-2020", &m);
	NO("SENTON 13-Sep-2020", &m);
	YES("SENTSINCE 14-Sep-2020 SENTBEFORE 15-Sep-2020", &m);
	YES("CHARSET ISO-8859-1 SUBJECT {3+}\r\nGR\xdc", &m);
	imap_message_deinit(&m);
	/* no Date: the internal date */
	msg_init(&m, 1, 1, MSG_PLAIN);
	YES("SENTON 13-Sep-2020", &m);
	YES("FROM ann SUBJECT hi BODY WORLD", &m);
	NO("BODY ann", &m);
	imap_message_deinit(&m);
}

/* FROM/TO/CC/BCC match the parsed addresses (RFC 3501 6.4.4, imaptest's
 * search-addresses): comments and folds removed, a trailing comment as the
 * name, group names; substrings still match; HEADER sees the raw text. */
static void
test_match_addresses(void)
{
	struct imap_message m;
	static const char msg1[] = "From: <user-from (comment)@ (comment) domain.org>\r\n"
	                           "To: user-to@domain.org (RealTo)\r\n"
	                           "Cc: groupname: groupuser1@domain.org,\r\n"
	                           "  =?utf-8?q?J=C3=B6rg?= <g2@domain.org>;, x@y\r\n"
	                           "Bcc: groupname2:;\r\n"
	                           "\r\nbody\r\n";

	msg_init(&m, 1, 1, msg1);
	YES("FROM user-from@domain.org", &m);
	YES("FROM ser-from@domain.or", &m);
	YES("HEADER FROM \"(comment)@\"", &m);
	NO("FROM realfrom", &m);
	YES("TO realto", &m);
	YES("TO ealt", &m);
	YES("TO \"realto <user-to@domain.org>\"", &m);
	YES("TO user-to@domain.org", &m);
	YES("CC groupname", &m);
	YES("CC groupuser1@domain.org", &m);
	YES("CC \"jörg <g2@domain.org>\"", &m);
	YES("CC x@y", &m);
	NO("CC groupuser4", &m);
	YES("BCC groupname2", &m);
	YES("HEADER BCC \"\"", &m);
	NO("HEADER SENDER \"\"", &m);
	imap_message_deinit(&m);
	/* an address field that does not parse: the raw text still matches */
	msg_init(&m, 1, 1, "From: a@@b (x)\r\n\r\n");
	YES("FROM a@@b", &m);
	NO("FROM \"a@b\"", &m);
	imap_message_deinit(&m);
}

static void
test_match_body(void)
{
	struct imap_message m;
	static const char qp[] = "Content-Type: multipart/alternative; boundary=b\r\n"
	                         "\r\n"
	                         "--b\r\n"
	                         "Content-Type: text/plain; charset=iso-8859-1\r\n"
	                         "Content-Transfer-Encoding: quoted-printable\r\n"
	                         "\r\n"
	                         "Sch=F6ne Gr=\r\n"
	                         "=FC=DFe\r\n"
	                         "--b\r\n"
	                         "Content-Type: text/html; charset=utf-8\r\n"
	                         "Content-Transfer-Encoding: base64\r\n"
	                         "\r\n"
	                         "PGI+QmFzZTY0IGjDpHR0ZTwvYj4=\r\n"
	                         "--b\r\n"
	                         "Content-Type: application/octet-stream\r\n"
	                         "\r\n"
	                         "secretblob\r\n"
	                         "--b--\r\n";

	msg_init(&m, 1, 1, qp);
	YES("BODY \"schöne grüße\"", &m);
	YES("BODY \"base64 hätte\"", &m);
	YES("TEXT \"HÄTTE\"", &m);
	NO("BODY secretblob", &m);
	NO("BODY =F6", &m);
	NO("BODY PGI", &m);
	imap_message_deinit(&m);
	msg_init(&m, 1, 1, MSG_RFC822);
	YES("BODY a=_x", &m); /* QP decoded */
	YES("BODY \"inner body\"", &m);
	YES("BODY bob@example.net", &m); /* the embedded header is body */
	NO("FROM bob", &m);
	imap_message_deinit(&m);
	msg_init(&m, 1, 1, MSG_8BIT);
	YES("SUBJECT \"grüße\"", &m);
	YES("BODY \"Ä\"", &m);
	imap_message_deinit(&m);
	/* a charset through iconv(3), Cyrillic case folding */
	msg_init(&m, 1, 1,
	         "Subject: =?koi8-r?b?0NLJ18XU?= and =?us-ascii?q?more?=  words\r\n"
	         "Content-Type: text/plain; charset=koi8-r\r\n"
	         "\r\n"
	         "\xf0\xf2\xe9\xf7\xe5\xf4, \xcd\xc9\xd2\r\n");
	YES("BODY \"привет\"", &m);
	YES("BODY \"МИР\"", &m);
	YES("SUBJECT \"ПРИВЕТ and more  words\"", &m);
	NO("SUBJECT 0NLJ18XU", &m);
	imap_message_deinit(&m);
	/* not encoded words: inside a word, malformed, unknown encoding */
	msg_init(&m, 1, 1,
	         "Subject: a=?utf-8?q?x?= =?utf-8?q?bad =?utf-8?x?y?= "
	         "=?utf-8?q?one?= =?utf-8?q?two?=\r\n\r\n");
	YES("SUBJECT \"a=?utf-8?q?x?=\"", &m);
	YES("SUBJECT \"=?utf-8?q?bad\"", &m);
	YES("SUBJECT \"=?utf-8?x?y?= onetwo\"", &m);
	imap_message_deinit(&m);
	/* no content loaded: content keys match nothing, others work */
	msg_init(&m, 1, 1, MSG_PLAIN);
	m.data = NULL;
	NO("BODY hello", &m);
	YES("NOT BODY hello", &m);
	imap_message_deinit(&m);
}

static void
test_needs_content(void)
{
	static const struct {
		const char *line;
		bool content, modseq;
	} cases[] = {
	        {"SEARCH SEEN 1:3 UID 4 LARGER 5 SINCE 1-Jan-2020", false, false},
	        {"SEARCH OR SEEN SUBJECT x", true, false},
	        {"SEARCH NOT BODY x", true, false},
	        {"SEARCH SENTON 1-Jan-2020", true, false},
	        {"SEARCH MODSEQ 4", false, true},
	        {"SORT (ARRIVAL SIZE) UTF-8 ALL", false, false},
	        {"SORT (DATE) UTF-8 ALL", true, false},
	        {"THREAD REFERENCES UTF-8 ALL", true, false},
	};
	struct imap_search_params params;

	default_params(&params);
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct imap_search_program *prog;
		const char *err;

		if (!T_INTEQ(parse(cases[i].line, &params, &prog, &err), 1))
			continue;
		T_INTEQ(imap_search_needs_content(prog), cases[i].content);
		T_INTEQ(imap_search_uses_modseq(prog), cases[i].modseq);
		imap_search_program_free(&prog);
	}
}

static void
test_program_ref(void)
{
	struct imap_search_params params;
	struct imap_search_program *prog, *ref;
	const char *err;
	struct imap_message m;

	default_params(&params);
	T_INTEQ(parse("SEARCH SUBJECT hi", &params, &prog, &err), 1);
	ref = imap_search_program_ref(prog);
	imap_search_program_free(&prog);
	T_ASSERT(prog == NULL);
	msg_init(&m, 1, 1, MSG_PLAIN);
	T_ASSERT(imap_search_match(ref, &m, 0));
	imap_message_deinit(&m);
	imap_search_program_free(&ref);
}

int
main(void)
{
	static const struct test tests[] = {
	        TEST_ENTRY(test_parse),       TEST_ENTRY(test_limits),
	        TEST_ENTRY(test_match_meta),  TEST_ENTRY(test_match_header),
	        TEST_ENTRY(test_match_addresses),
	        TEST_ENTRY(test_match_body),  TEST_ENTRY(test_needs_content),
	        TEST_ENTRY(test_program_ref), {NULL, NULL},
	};

	return test_main("imap-search", tests);
}
