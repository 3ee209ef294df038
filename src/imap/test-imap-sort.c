/*
 * test-imap-sort.c - SORT and THREAD (RFC 5256): the base subject of 2.1,
 * every sort key with REVERSE and the sequence-number tie break, and both
 * threading algorithms on a small mailbox with replies, a missing parent,
 * subject merging, duplicate Message-IDs and a reference loop.
 */
#include "core/mem.h"
#include "core/test.h"
#include "imap/imap-parser.h"
#include "imap/imap-search.h"

#include <stdio.h>
#include <string.h>

static struct imap_search_program *
program(const char *line)
{
	struct imap_parser_limits limits;
	struct imap_parser *p;
	struct imap_search_params params;
	struct imap_search_program *prog = NULL;
	const struct imap_command *cmd;
	const char *err;
	struct buf in;
	size_t used;

	imap_parser_limits_init_default(&limits);
	p = imap_parser_new(&limits, 0);
	memset(&params, 0, sizeof(params));
	params.count = 100;
	params.max_uid = 1000;
	buf_init(&in, 0);
	buf_printf(&in, "t %s\r\n", line);
	if (T_INTEQ(imap_parser_feed(p, buf_data(&in), buf_len(&in), &used), IMAP_PARSER_COMMAND)) {
		cmd = imap_parser_get_command(p);
		if (strcmp(cmd->name, "SORT") == 0)
			T_INTEQ(imap_sort_parse(cmd->args, cmd->n_args, &params, &prog, &err), 1);
		else
			T_INTEQ(imap_thread_parse(cmd->args, cmd->n_args, &params, &prog, &err), 1);
	}
	imap_parser_free(&p);
	buf_deinit(&in);
	return prog;
}

static void
check_base(const char *subject, const char *want, bool want_reply)
{
	struct buf out;
	bool reply;

	buf_init(&out, 0);
	reply = imap_sort_base_subject(subject, strlen(subject), &out);
	if (!T_STREQ(buf_cstr(&out), want) || !T_INTEQ(reply, want_reply))
		fprintf(stderr, "  subject: %s\n", subject);
	buf_deinit(&out);
}

static void
test_base_subject(void)
{
	check_base("hello", "hello", false);
	check_base("Re: hello", "hello", true);
	check_base("RE: [list] Re: Fwd: Hello (fwd)", "hello", true);
	check_base("Re[2]: hello", "hello", true);
	check_base("re [x]: hello", "hello", true);
	check_base("[list] hello", "hello", false);
	check_base("[list]", "[list]", false);
	check_base("[a][b] re: x", "x", true);
	check_base("[Fwd: hello]", "hello", true);
	check_base("[fwd: Re: hello (fwd)]", "hello", true);
	check_base("Fw: x", "x", true);
	check_base("fwd:x", "x", true);
	check_base("Reply: x", "reply: x", false);
	check_base("  Re:\t  many   spaces   ", "many spaces", true);
	check_base("=?utf-8?q?Re=3A_Gr=C3=BC=C3=9Fe?=", "grüße", true);
	check_base("=?iso-8859-1?q?=C4pfel?= =?iso-8859-1?q?_und_Birnen?=", "äpfel und birnen",
	           false);
	check_base("", "", false);
	check_base("(fwd)", "", true);
	check_base("re:", "", true);
}

struct box {
	struct imap_message msgs[16];
	size_t count;
};

static void
box_add(struct box *b, uint32_t uid, const char *text, int64_t internaldate)
{
	struct imap_message *m = &b->msgs[b->count++];

	memset(m, 0, sizeof(*m));
	m->seq = (uint32_t)b->count;
	m->uid = uid;
	m->data = (const uint8_t *)text;
	m->size = strlen(text);
	m->internaldate = internaldate;
}

static void
box_free(struct box *b)
{
	for (size_t i = 0; i < b->count; i++)
		imap_message_deinit(&b->msgs[i]);
}

/* SORT the box; the UIDs in order, space-separated. */
static const char *
sort_box(struct box *b, const char *line, struct buf *out)
{
	struct imap_search_program *prog = program(line);
	struct imap_sort_item items[16];

	buf_reset(out);
	if (prog == NULL)
		return "";
	for (size_t i = 0; i < b->count; i++)
		imap_sort_item_init(prog, &b->msgs[i], &items[i]);
	imap_sort_items(prog, items, b->count);
	for (size_t i = 0; i < b->count; i++) {
		buf_printf(out, "%s%u", i > 0 ? " " : "", items[i].uid);
		imap_sort_item_deinit(&items[i]);
	}
	imap_search_program_free(&prog);
	return buf_cstr(out);
}

static void
test_sort(void)
{
	struct box b = {.count = 0};
	struct buf out;

	buf_init(&out, 0);
	box_add(&b, 10,
	        "From: Zed <alice@x.org>\r\nTo: =?utf-8?q?=C3=84rger?= <zz@x>\r\n"
	        "Cc: b@x\r\nSubject: Re: beta\r\nDate: Tue, 2 Jan 2024 10:00:00 +0000\r\n\r\nxx",
	        300);
	box_add(&b, 20,
	        "From: bob@x.org\r\nTo: Anna <yy@x>\r\nSubject: alpha\r\n"
	        "Date: Tue, 2 Jan 2024 12:00:00 +0300\r\n\r\n",
	        100);
	box_add(&b, 30,
	        "From: Carl <carl@x.org>\r\nTo: xx@x\r\nCc: a@x\r\nSubject: [list] Beta\r\n"
	        "Date: bogus\r\n\r\nsome longer body",
	        200);
	box_add(&b, 40, "From: Carl <carl@x.org>\r\nSubject: gamma\r\n\r\n", 50);
	/* 20 is 09:00 UTC, 10 is 10:00 UTC; 30 and 40 have no usable Date: */
	T_STREQ(sort_box(&b, "SORT (DATE) UTF-8 ALL", &out), "40 30 20 10");
	T_STREQ(sort_box(&b, "SORT (REVERSE DATE) UTF-8 ALL", &out), "10 20 30 40");
	T_STREQ(sort_box(&b, "SORT (ARRIVAL) UTF-8 ALL", &out), "40 20 30 10");
	T_STREQ(sort_box(&b, "SORT (SIZE) UTF-8 ALL", &out), "40 20 30 10");
	T_STREQ(sort_box(&b, "SORT (FROM) UTF-8 ALL", &out), "10 20 30 40");
	T_STREQ(sort_box(&b, "SORT (REVERSE FROM) UTF-8 ALL", &out), "30 40 20 10");
	T_STREQ(sort_box(&b, "SORT (DISPLAYFROM) UTF-8 ALL", &out), "20 30 40 10");
	T_STREQ(sort_box(&b, "SORT (SUBJECT) UTF-8 ALL", &out), "20 10 30 40");
	T_STREQ(sort_box(&b, "SORT (SUBJECT REVERSE ARRIVAL) UTF-8 ALL", &out), "20 10 30 40");
	T_STREQ(sort_box(&b, "SORT (REVERSE SUBJECT) UTF-8 ALL", &out), "40 10 30 20");
	T_STREQ(sort_box(&b, "SORT (TO) UTF-8 ALL", &out), "40 30 20 10");
	T_STREQ(sort_box(&b, "SORT (DISPLAYTO) UTF-8 ALL", &out), "40 20 30 10");
	T_STREQ(sort_box(&b, "SORT (CC) UTF-8 ALL", &out), "20 40 30 10");
	T_STREQ(sort_box(&b, "SORT (CC SIZE) UTF-8 ALL", &out), "40 20 30 10");
	box_free(&b);
	buf_deinit(&out);
}

/* Keys as imaptest's sort-addresses, sort-display-to and sort-subject
 * want them: groups by their name, a bare "d" as "d", i;ascii-casemap. */
static void
test_sort_keys(void)
{
	struct box b = {.count = 0};
	struct buf out;

	buf_init(&out, 0);
	box_add(&b, 1, "From: user2@domain2.org\r\nTo: foo bar <a@b.c>\r\n"
	        "Cc: user2@domain2.org (foo bar)\r\nSubject: a\r\n\r\n", 0);
	box_add(&b, 2, "From: user2@domain1.org\r\nTo: b@c.d\r\n"
	        "Cc: user2: blah@domain1.org;\r\nSubject: _\r\n\r\n", 0);
	box_add(&b, 3, "From: user1@domain1.org\r\nTo: d\r\nCc: user1@domain1.org\r\n"
	        "Subject: [xyz]\r\n\r\n", 0);
	box_add(&b, 4, "To: =?iso-8859-1?q?foo_aar?= <e@f.g>\r\nSubject: C\r\n\r\n", 0);
	box_add(&b, 5, "To: a: xx@xx.org, yy@yy.org;\r\nSubject: =?iso-8859-1?q?_?=\r\n\r\n",
	        0);
	box_add(&b, 6, "To: z: aa@aa.org;\r\nSubject: Re: b\r\n\r\n", 0);
	box_add(&b, 7, "To: empty:;\r\nSubject: ]\r\n\r\n", 0);
	box_add(&b, 8, "To: x@y (Comment Name)\r\nSubject: ~\r\n\r\n", 0);
	/* the group "user2:" sorts as its name, not as its member "blah" */
	T_STREQ(sort_box(&b, "SORT (CC) US-ASCII ALL", &out), "4 5 6 7 8 3 1 2");
	T_STREQ(sort_box(&b, "SORT (FROM) US-ASCII ALL", &out), "4 5 6 7 8 3 1 2");
	/* RFC 5957: display name (or the comment ENVELOPE shows), else the
	 * addr-spec, a group by its name; "d" has no domain and stays "d" */
	T_STREQ(sort_box(&b, "SORT (DISPLAYTO) US-ASCII ALL", &out), "5 2 8 3 7 4 1 6");
	T_STREQ(sort_box(&b, "SORT (TO) US-ASCII ALL", &out), "1 5 2 3 4 7 8 6");
	/* "" < letters < "[" < "]" < "_" < "~" (upper-case folding) */
	T_STREQ(sort_box(&b, "SORT (SUBJECT) US-ASCII ALL", &out), "5 1 6 4 3 7 2 8");
	T_STREQ(sort_box(&b, "SORT (REVERSE SUBJECT) US-ASCII ALL", &out), "8 2 7 3 4 6 1 5");
	box_free(&b);
	buf_deinit(&out);
}

static const char *
thread_box(struct box *b, const char *line, bool uid, struct buf *out)
{
	struct imap_search_program *prog = program(line);
	struct imap_sort_item items[16];

	buf_reset(out);
	if (prog == NULL)
		return "";
	for (size_t i = 0; i < b->count; i++)
		imap_sort_item_init(prog, &b->msgs[i], &items[i]);
	imap_thread_render(prog, items, b->count, uid, out);
	for (size_t i = 0; i < b->count; i++)
		imap_sort_item_deinit(&items[i]);
	imap_search_program_free(&prog);
	return buf_cstr(out);
}

#define HDR(id, date) "Message-ID: <" id ">\r\nDate: " date " Jan 2024 10:00:00 +0000\r\n"

static void
test_thread(void)
{
	struct box b = {.count = 0};
	struct buf out;

	buf_init(&out, 0);
	box_add(&b, 11, HDR("1@x", "1") "Subject: A\r\n\r\n", 0);
	box_add(&b, 12, HDR("2@x", "2") "References: <1@x>\r\nSubject: Re: A\r\n\r\n", 0);
	box_add(&b, 13, HDR("3@x", "3") "References: <1@x> <2@x>\r\nSubject: Re: A\r\n\r\n", 0);
	box_add(&b, 14, HDR("4@x", "4") "Subject: B\r\n\r\n", 0);
	box_add(&b, 15, HDR("5@x", "5") "In-Reply-To: <1@x>\r\nSubject: Re: A\r\n\r\n", 0);
	box_add(&b, 16, HDR("6@x", "6") "References: <gone@x>\r\nSubject: C\r\n\r\n", 0);
	box_add(&b, 17, HDR("7@x", "7") "References: <gone@x>\r\nSubject: Re: C\r\n\r\n", 0);
	box_add(&b, 18, HDR("8@x", "8") "Subject: Re: B\r\n\r\n", 0);
	T_STREQ(thread_box(&b, "THREAD REFERENCES UTF-8 ALL", false, &out),
	        "(1 (2 3)(5))(4 8)((6)(7))");
	T_STREQ(thread_box(&b, "THREAD REFERENCES UTF-8 ALL", true, &out),
	        "(11 (12 13)(15))(14 18)((16)(17))");
	T_STREQ(thread_box(&b, "THREAD ORDEREDSUBJECT UTF-8 ALL", false, &out),
	        "(1 (2)(3)(5))(4 8)(6 7)");
	/* a reply older than its parent still sorts under it; siblings by date */
	box_add(&b, 19, HDR("9@x", "9") "In-Reply-To: <4@x>\r\nSubject: Re: B\r\n\r\n", 0);
	T_STREQ(thread_box(&b, "THREAD REFERENCES UTF-8 ALL", false, &out),
	        "(1 (2 3)(5))(4 (8)(9))((6)(7))");
	box_free(&b);

	/* same subject, no references, two non-replies: merged under a dummy */
	memset(&b, 0, sizeof(b));
	box_add(&b, 1, HDR("a@x", "1") "Subject: Hi\r\n\r\n", 0);
	box_add(&b, 2, HDR("b@x", "2") "Subject: hi\r\n\r\n", 0);
	box_add(&b, 3, HDR("c@x", "3") "Subject: other\r\n\r\n", 0);
	T_STREQ(thread_box(&b, "THREAD REFERENCES UTF-8 ALL", false, &out), "((1)(2))(3)");
	box_free(&b);

	/* duplicate Message-ID, a loop, a message referring to itself */
	memset(&b, 0, sizeof(b));
	box_add(&b, 1, HDR("a@x", "1") "References: <b@x>\r\nSubject: x1\r\n\r\n", 0);
	box_add(&b, 2, HDR("b@x", "2") "References: <a@x>\r\nSubject: x2\r\n\r\n", 0);
	box_add(&b, 3, HDR("a@x", "3") "Subject: x3\r\n\r\n", 0);
	box_add(&b, 4, HDR("d@x", "4") "References: <d@x>\r\nSubject: x4\r\n\r\n", 0);
	box_add(&b, 5, "Subject: x5\r\n\r\n", 0);
	thread_box(&b, "THREAD REFERENCES UTF-8 ALL", false, &out);
	/* every message once */
	for (int i = 1; i <= 5; i++) {
		char num[8];

		snprintf(num, sizeof(num), "%d", i);
		T_ASSERT(strstr(buf_cstr(&out), num) != NULL);
	}
	/* 2 is 1's parent (1 refers to it); 2's reference to 1 would loop;
	 * 5 has no Date: its internal date (0) puts it first */
	T_STREQ(buf_cstr(&out), "(5)(2 1)(3)(4)");
	box_free(&b);

	/* RFC 5256 3 (1)(B): a message's own References replace the parent
	 * that another message's References gave it, unless that loops
	 * (imaptest's thread: 2 makes a the parent of c, c's own reference
	 * to b would loop, so c becomes a root) */
	memset(&b, 0, sizeof(b));
	box_add(&b, 1, HDR("a@b", "3") "\r\n", 0);
	box_add(&b, 2, HDR("b@b", "1") "References: <a@b> <c@b>\r\n\r\n", 0);
	box_add(&b, 3, HDR("c@b", "2") "References: <b@b>\r\n\r\n", 0);
	T_STREQ(thread_box(&b, "THREAD REFERENCES US-ASCII ALL", false, &out), "(3 2)(1)");
	box_free(&b);
	/* without the loop the own reference wins: 3 under 4, not under 1 */
	memset(&b, 0, sizeof(b));
	box_add(&b, 1, HDR("a@b", "1") "\r\n", 0);
	box_add(&b, 2, HDR("b@b", "2") "References: <a@b> <c@b>\r\n\r\n", 0);
	box_add(&b, 3, HDR("c@b", "3") "References: <d@b>\r\n\r\n", 0);
	box_add(&b, 4, HDR("d@b", "4") "\r\n", 0);
	T_STREQ(thread_box(&b, "THREAD REFERENCES US-ASCII ALL", false, &out), "(1)(4 3 2)");
	box_free(&b);
	buf_deinit(&out);
}

/* A long reply chain: no recursion, so no stack trouble. */
static void
test_thread_deep(void)
{
	enum { N = 20000 };
	struct imap_search_program *prog = program("THREAD REFERENCES UTF-8 ALL");
	struct imap_sort_item *items = mem_array(N, sizeof(*items));
	struct buf out;

	buf_init(&out, 0);
	for (size_t i = 0; i < N; i++) {
		char id[32];

		items[i].uid = items[i].seq = (uint32_t)(i + 1);
		items[i].date = (int64_t)i;
		snprintf(id, sizeof(id), "m%zu", i);
		items[i].message_id = mem_strdup(id);
		if (i > 0) {
			snprintf(id, sizeof(id), "m%zu", i - 1);
			items[i].references = mem_strdup(id);
		}
	}
	imap_thread_render(prog, items, N, true, &out);
	T_ASSERT(strncmp(buf_cstr(&out), "(1 2 3 4 ", 9) == 0);
	T_ASSERT(buf_len(&out) > 0 && buf_data(&out)[buf_len(&out) - 1] == ')');
	for (size_t i = 0; i < N; i++)
		imap_sort_item_deinit(&items[i]);
	mem_free(&items);
	imap_search_program_free(&prog);
	buf_deinit(&out);
}

int
main(void)
{
	static const struct test tests[] = {
	        TEST_ENTRY(test_base_subject), TEST_ENTRY(test_sort), TEST_ENTRY(test_sort_keys),
	        TEST_ENTRY(test_thread),
	        TEST_ENTRY(test_thread_deep),  {NULL, NULL},
	};

	return test_main("imap-sort", tests);
}
