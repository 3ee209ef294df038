/*
 * imap-server-private.h - what the imap-server-*.c files share; not for
 * other folders.
 *
 * imap-server.c        session lifecycle, input loop, parser events, close,
 *                      re-entrancy
 * imap-server-reply.c  response output: tagged/untagged lines, strings
 *                      (quoted or literal), capability lists
 * imap-server-cmd.c    command table and the any-state commands, ENABLE
 * imap-server-auth.c   STARTTLS, LOGIN, AUTHENTICATE, the auth hooks and
 *                      their completions, TLS state and channel binding
 * imap-server-mailbox.c mailbox names, NAMESPACE, CREATE, DELETE, RENAME,
 *                      (UN)SUBSCRIBE, STATUS and their completions
 * imap-server-list.c   LIST (LIST-EXTENDED, LIST-STATUS), LSUB, patterns
 * imap-server-select.c the selected state: SELECT, EXAMINE, CLOSE, UNSELECT,
 *                      EXPUNGE, UID EXPUNGE, CHECK, NOOP, IDLE, the UID
 *                      dispatcher, their completions
 * imap-server-view.c   the view (UID list), its sequence-set resolution and
 *                      every command's untagged updates (sync, finish)
 * imap-server-fetch.c  FETCH, UID FETCH (items parsed by imap-fetch.c)
 * imap-server-search.c SEARCH, UID SEARCH, SORT, THREAD, ESEARCH, SEARCHRES
 *                      (criteria parsed by imap-search.c)
 * imap-server-message.c STORE, COPY, MOVE, APPEND (MULTIAPPEND) and their UID
 *                      forms, flag lists
 * imap-server-acl.c    GETACL, SETACL, DELETEACL, MYRIGHTS, LISTRIGHTS (RFC
 *                      4314), GETQUOTA, GETQUOTAROOT (RFC 9208)
 *
 * Invariants: at most one hook outstanding (pending != NONE); while one is,
 * no input is processed. Every public entry point holds a reference for its
 * duration, so a free from inside a callback only marks the session and the
 * last entry point to return releases the memory. After any io or hook call
 * code re-checks imap_server_dead() before going on. A completion that
 * starts the next hook itself holds the input loop off (imap_server_hold)
 * so the loop never runs inside a glue's hook frame.
 *
 * Adding a command: a handler `void f(struct imap_server_session *,
 * const struct imap_command *)` and a row in imap-server-cmd.c's table with
 * the states it is valid in. The handler answers with imap_server_tagged()
 * (s->cmd_tag is the command's tag) or starts a hook; the state and
 * argument-count checks are the table's.
 */
#ifndef IMAP_IMAP_SERVER_PRIVATE_H
#define IMAP_IMAP_SERVER_PRIVATE_H

#include "imap/imap-parser.h"
#include "imap/imap-server.h"

#include "core/buf.h"
#include "sasl/sasl-server.h"

/* RFC 9051 3. */
enum imap_server_state {
	IMAP_STATE_NOT_AUTH = 0x01,
	IMAP_STATE_AUTH = 0x02,
	IMAP_STATE_LOGOUT = 0x04,
	IMAP_STATE_SELECTED = 0x08,
};
#define IMAP_STATES_ANY (IMAP_STATE_NOT_AUTH | IMAP_STATE_AUTH | IMAP_STATE_SELECTED)
/* Valid once logged in: authenticated or selected. */
#define IMAP_STATES_AUTHED (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)

enum imap_server_pending {
	IMAP_PENDING_NONE,
	IMAP_PENDING_AUTH_PASSWORD, /* auth_lookup with a password */
	IMAP_PENDING_AUTH_SECRET,   /* auth_lookup for a SCRAM secret */
	IMAP_PENDING_LOGIN,         /* authenticated hook */
	IMAP_PENDING_LIST,          /* mailbox_list */
	IMAP_PENDING_STATUS,        /* mailbox_status for STATUS */
	IMAP_PENDING_LIST_STATUS,   /* mailbox_status for LIST-STATUS */
	IMAP_PENDING_MAILBOX_OP,    /* create, delete, rename, subscribe */
	IMAP_PENDING_SELECT,        /* mailbox_select */
	IMAP_PENDING_SYNC,          /* mailbox_sync */
	IMAP_PENDING_FETCH,         /* message_fetch */
	IMAP_PENDING_SEARCH,        /* message_search */
	IMAP_PENDING_STORE,         /* message_store */
	IMAP_PENDING_COPY,          /* message_copy */
	IMAP_PENDING_EXPUNGE,       /* message_expunge */
	IMAP_PENDING_APPEND,        /* message_append */
	IMAP_PENDING_ACL,           /* acl */
	IMAP_PENDING_QUOTA,         /* quota */
};

/*
 * A message state the client already has from its own command (STORE): the
 * sync skips a change of uid with modseq <= this one (RFC 9051 6.4.6: no
 * echo, and .SILENT stays silent). At most IMAP_SERVER_KNOWN_MAX per view;
 * a STORE touching more leaves the rest to be reported again by the next
 * sync (noise, never a lost update).
 */
#define IMAP_SERVER_KNOWN_MAX 128
/* Disjoint \Recent ranges a view keeps (a new range per sync that claimed
 * messages another session did not take first). */
#define IMAP_SERVER_RECENT_MAX 16
struct imap_server_known {
	uint32_t uid;
	uint64_t modseq;
};

/*
 * The selected mailbox as the client sees it (imap-server-select.c owns it).
 * Sequence number n is uids[n - 1]. Expunges that could not be reported yet
 * (during a non-UID FETCH/STORE/SEARCH, RFC 9051 7.5.1) stay in uids with
 * their bit in `gone` set until the next sync that may report them; the
 * commands skip gone messages.
 */
struct imap_server_selected {
	char *name;              /* UTF-8 */
	bool readonly;           /* EXAMINE, or no right to change anything */
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highest_modseq; /* as last reported to the client */
	uint32_t *uids;
	size_t count, alloc;
	uint8_t *gone;           /* count bits; NULL when none pending */
	size_t gone_count;
	char rights[16];         /* RFC 4314 letters */
	char *keywords;          /* for FLAGS / PERMANENTFLAGS; "" none */
	bool changed;            /* the glue signalled a change not synced yet */
	uint32_t *saved;         /* SEARCHRES "$" (RFC 5182): UIDs, ascending */
	size_t saved_count;
	bool saved_valid;
	/* What this session's own STOREs told the client (imap-server-view.c):
	 * (uid, modseq) pairs a later sync must not report again; inline so
	 * that the view owns no more heap than above. */
	struct imap_server_known known[IMAP_SERVER_KNOWN_MAX];
	size_t known_count;
	/* \Recent in this session (RFC 3501 2.3.2, IMAP4rev1 only): UID
	 * ranges, ascending and disjoint, adjacent ones merged; a session
	 * that got more disjoint ranges than fit forgets the oldest */
	struct imap_recent_range recent[IMAP_SERVER_RECENT_MAX];
	size_t recent_count;
	uint32_t recent_reported;  /* the last "* n RECENT" count sent */
	/* the client has this mailbox's HIGHESTMODSEQ (SELECT, ENABLE, or the
	 * first CONDSTORE-enabling command, RFC 7162 3.1) */
	bool modseq_announced;
};

/* Why a sync runs (imap-server-select.c): which updates it may send. */
enum imap_server_sync_mode {
	IMAP_SYNC_FULL,          /* may report expunges (NOOP, UID commands, ...) */
	IMAP_SYNC_NO_EXPUNGE,    /* non-UID FETCH, STORE, SEARCH: keep them */
};

/* The hierarchy separator of every namespace (RFC 9051 5.1.1). */
#define IMAP_SERVER_SEP '/'
#define IMAP_SERVER_SHARED_PREFIX "Shared/"

struct imap_server_list; /* a LIST/LSUB in progress (imap-server-list.c) */

/* Output is handed to io->write once this much has collected. */
#define IMAP_SERVER_OUT_FLUSH 4096

/* The mechanism name passed to auth_lookup/auth_result for LOGIN. */
#define IMAP_SERVER_LOGIN_MECH "IMAP-LOGIN"

struct imap_server_session {
	char *hostname;
	char *client_ip;
	char *capability_extra; /* sanitised atoms, "" for none */
	bool plaintext_allowed;
	bool starttls_available;
	bool tls;
	bool have_cb;
	struct sasl_channel_binding cb; /* points at cb_exporter / cb_endpoint */
	uint8_t *cb_exporter, *cb_endpoint;
	struct imap_server_limits limits;
	struct imap_server_hooks hooks;
	void *hook_ctx;
	struct imap_server_io io;
	void *io_ctx;

	enum imap_server_state state;
	enum imap_server_pending pending;
	struct imap_parser *parser;
	struct buf in;          /* input not yet given to the parser */
	struct buf out;         /* responses not yet written */
	char *cmd_tag;          /* tag of the command being answered (async) */

	char *user;             /* after login: the logged-in user */
	char *login_user;       /* authenticated user whose login hook runs */
	char *pass_user;        /* LOGIN: the user of the outstanding auth_lookup */
	struct sasl_server *sasl; /* AUTHENTICATE in progress, else NULL */
	bool sasl_continue;     /* the next line is a SASL response */
	bool sasl_final;        /* that response answers the server-final data */
	bool rev2_enabled, utf8_enabled;
	bool namespace_shared;
	struct imap_server_list *list; /* LIST/LSUB in progress, else NULL */
	char *status_name;      /* STATUS: the name as the client wrote it */
	unsigned status_items;  /* STATUS / LIST-STATUS: IMAP_STATUS_* */
	const char *op_ok_text; /* tagged OK text of the mailbox op running */
	unsigned bad_commands;
	unsigned auth_failures;

	/* selected state (imap-server-select.c) */
	struct imap_server_selected_hooks shooks;
	bool have_shooks;
	struct imap_server_selected *sel; /* NULL unless SELECTED */
	bool condstore_enabled, qresync_enabled;
	bool idling;              /* IDLE in progress: the next line must be DONE */
	bool compress_active;     /* COMPRESS=DEFLATE (RFC 4978) switched on */
	/* the command whose reply waits for a sync, and how to finish it */
	void (*after_sync)(struct imap_server_session *s);
	/* imap_server_finish()'s done, called after the end-of-command
	 * updates (imap-server-view.c) */
	void (*finish_done)(struct imap_server_session *s);
	enum imap_server_sync_mode sync_mode; /* of the sync outstanding */
	bool in_sync_hook;        /* inside shooks.mailbox_sync (synchronous completion) */
	bool cmd_uid;             /* the command running came as "UID <command>" */
	/* SELECT/EXAMINE, EXPUNGE or CLOSE outstanding (imap-server-select.c) */
	struct imap_server_select_op *sop;
	/* per-command state of the command files; each owns its pointer */
	struct imap_server_fetch *fetch;     /* imap-server-fetch.c */
	struct imap_server_search *search;   /* imap-server-search.c */
	struct imap_server_message *message; /* imap-server-message.c */

	const char *close_reply; /* timeout/shutdown waiting for the pending hook */
	unsigned refcount;
	bool started;
	bool processing;        /* inside the input loop */
	bool closed;
	bool ended;             /* hooks->disconnect called */
	bool free_requested;
};

/* imap-server.c */
bool imap_server_dead(const struct imap_server_session *s);
void imap_server_flush(struct imap_server_session *s);
void imap_server_close(struct imap_server_session *s);
void imap_server_ref(struct imap_server_session *s);
void imap_server_unref(struct imap_server_session *s);
void imap_server_resume(struct imap_server_session *s);
bool imap_server_hold(struct imap_server_session *s);
void imap_server_release(struct imap_server_session *s, bool was_held);
void imap_server_wipe_buf(struct buf *b);
void imap_server_discard_input(struct imap_server_session *s);
void imap_server_set_parser_mode(struct imap_server_session *s);
/* A syntax error, unknown or out-of-state command: "TAG BAD text" (or
 * "* BAD" for tag NULL), or BYE and close once there were too many. */
void imap_server_bad_command(struct imap_server_session *s, const char *tag, const char *text);

/* imap-server-reply.c */
void imap_server_write(struct imap_server_session *s, const void *data, size_t len);
/* "* " + printf text + CRLF. */
void imap_server_untagged(struct imap_server_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "tag status [code] text" CRLF; tag NULL = "*"; code NULL = none. */
void imap_server_tagged(struct imap_server_session *s, const char *tag, const char *status,
			const char *code, const char *text);
/* "TAG OK/NO/BAD ..." for the command being answered (s->cmd_tag). */
void imap_server_ok(struct imap_server_session *s, const char *code, const char *text);
void imap_server_no(struct imap_server_session *s, const char *code, const char *text);
void imap_server_bad(struct imap_server_session *s, const char *code, const char *text);
/*
 * Append an IMAP string (RFC 9051 4.3): quoted when it can be (no CR, LF or
 * NUL, at most 1024 octets, 8-bit only when utf8), else a literal "{n}"
 * CRLF data. str must hold no NUL (RFC 9051 9: CHAR8 excludes it; binary
 * data goes out as literal8, RFC 3516): the engine panics on one. Pure, for
 * use on any unlimited buf.
 */
void imap_server_append_string(struct buf *out, const char *str, size_t len, bool utf8);
/* nstring: NIL for str == NULL, else imap_server_append_string(). */
void imap_server_append_nstring(struct buf *out, const char *str, size_t len, bool utf8);
/* The capability list as it is now, space-separated, without "CAPABILITY". */
void imap_server_capabilities(const struct imap_server_session *s, struct buf *out);

/* imap-server-cmd.c */
void imap_server_command(struct imap_server_session *s, const struct imap_command *cmd);

/* imap-server-auth.c */
bool imap_server_plaintext_ok(const struct imap_server_session *s);
bool imap_server_mech_offered(const struct imap_server_session *s,
			      const struct sasl_mech_info *mech);
void imap_server_cmd_starttls(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_login(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_authenticate(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_sasl_line(struct imap_server_session *s, const char *line, size_t len);
void imap_server_sasl_line_error(struct imap_server_session *s, const char *text);
void imap_server_sasl_abort(struct imap_server_session *s);
void imap_server_tls_free(struct imap_server_session *s);

/* imap-server-mailbox.c */
/* A client's mailbox name (mUTF-7 unless UTF8=ACCEPT) to the checked
 * UTF-8 name the hooks see, "INBOX" in any case normalised. Returns 1 ok
 * (*name_r allocated), 0 refused (*error_r: NO [CANNOT] text), also for
 * a name that is not valid mUTF-7: no mailbox can have it. */
int imap_server_mailbox_name(const struct imap_server_session *s, const char *wire, size_t len,
			     char **name_r, const char **error_r);
/* NULL when utf8 (a UTF-8 name from the glue) is one the engine accepts,
 * else why not. */
const char *imap_server_mailbox_name_check(const struct imap_server_session *s,
					   const char *utf8, size_t len);
/* Append name as a mailbox on the wire (mUTF-7 unless UTF8=ACCEPT);
 * false when it cannot be encoded. */
bool imap_server_append_mailbox(const struct imap_server_session *s, struct buf *out,
				const char *utf8);
/* Parse a STATUS item list; 0 when unknown/invalid. */
unsigned imap_server_status_items(const struct imap_server_session *s, const struct imap_arg *arg);
/* "STATUS name (items)" of info, without "* " and CRLF, onto out. */
void imap_server_status_line(const struct imap_server_session *s, struct buf *out,
			     const char *utf8, unsigned items, const struct imap_status_info *info);
/* The NO response code of a non-OK result. */
const char *imap_server_result_code(enum imap_mailbox_result result);
void imap_server_cmd_namespace(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_create(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_delete(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_rename(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_subscribe(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_unsubscribe(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_status(struct imap_server_session *s, const struct imap_command *cmd);
/* imap-server-list.c: LIST-STATUS's share of imap_server_status_done(). */
void imap_server_list_status_done(struct imap_server_session *s,
				  const struct imap_status_info *info,
				  enum imap_mailbox_result result);
/* The same with the MAILBOXID (RFC 8474 4.2; NULL none). */
void imap_server_list_status_done_id(struct imap_server_session *s,
				     const struct imap_status_info *info, const char *mailboxid,
				     enum imap_mailbox_result result);
/* imap_server_status_line() with the MAILBOXID item (RFC 8474 4.2) from
 * mailboxid when items ask for it and it is a valid objectid. */
void imap_server_status_line_id(const struct imap_server_session *s, struct buf *out,
				const char *utf8, unsigned items,
				const struct imap_status_info *info, const char *mailboxid);

/* imap-server-select.c */
void imap_server_cmd_select(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_examine(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_close(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_unselect(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_expunge(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_check(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_idle(struct imap_server_session *s, const struct imap_command *cmd);
/* NOOP in the selected state: a full sync, then OK. */
void imap_server_select_noop(struct imap_server_session *s);
/* UID <sub-command>: dispatches UID FETCH/STORE/SEARCH/SORT/THREAD/COPY/
 * MOVE/EXPUNGE to their files with uid = true. */
void imap_server_cmd_uid(struct imap_server_session *s, const struct imap_command *cmd);
/* A line while IDLE (only "DONE" is valid). */
void imap_server_idle_line(struct imap_server_session *s, const char *line, size_t len);
/* The IDLE continuation line was unusable (too long, NUL): end IDLE with BAD. */
void imap_server_idle_line_error(struct imap_server_session *s, const char *text);
/* Leave the selected state (hooks->mailbox_unselect, free the view). */
void imap_server_unselect(struct imap_server_session *s);
void imap_server_selected_free(struct imap_server_session *s);
/*
 * Finish the running command: when the mailbox changed (or always, for
 * force), sync first with mode, then send the updates and call done(s),
 * which writes the tagged reply. Every selected-state command ends through
 * this so that its untagged updates come before its tagged OK.
 */
void imap_server_finish(struct imap_server_session *s, enum imap_server_sync_mode mode,
			bool force, void (*done)(struct imap_server_session *s));
/*
 * A sequence set (or UID set, uid) argument of the selected mailbox
 * resolved to the UIDs it names that exist in the view and are not gone,
 * ascending, each once; "$" is the saved search result (RFC 5182). Returns
 * 1 ok (*uids_r allocated, possibly empty; free with mem_free), 0 invalid
 * syntax (*error_r: BAD text). Numbers beyond the mailbox are dropped for
 * UID sets; for sequence sets RFC 9051 6.4 makes them BAD.
 */
int imap_server_resolve_set(struct imap_server_session *s, const struct imap_arg *arg, bool uid,
			    uint32_t **uids_r, size_t *count_r, const char **error_r);
/* Sequence number of uid in the view, 0 when not there. */
uint32_t imap_server_seq_of(const struct imap_server_session *s, uint32_t uid);
/* Does the user have right (RFC 4314 letter) on the selected mailbox? */
bool imap_server_has_right(const struct imap_server_session *s, char right);
/* The view removes uids (after EXPUNGE, MOVE): EXPUNGE n or VANISHED lines. */
void imap_server_view_expunged(struct imap_server_session *s, const uint32_t *uids, size_t count);
/* "* n FETCH (UID u FLAGS (...) [MODSEQ (m)])" for one changed message. */
void imap_server_write_flags(struct imap_server_session *s, const struct imap_message_change *c,
			     bool with_uid);
/* imap-server-view.c (the view's internals, for imap-server-select.c) */
/* Replace the view's UIDs (ascending; out-of-order ones are dropped). */
void imap_server_view_set(struct imap_server_selected *sel, const uint32_t *uids, size_t count);
void imap_server_view_set_rights(struct imap_server_selected *sel, const char *rights);
/* flags and keywords space-separated ("\Seen kw"), no parentheses, onto b */
void imap_server_view_flags(struct buf *b, unsigned flags, const char *keywords);
/* "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" of the selected mailbox */
void imap_server_view_write_flag_lists(struct imap_server_session *s);
/* Add the keywords (space-separated; NULL none) the view does not list
 * yet to its FLAGS and send "* FLAGS" / PERMANENTFLAGS when any were new
 * (RFC 9051 7.3.5): before any response that shows one. */
void imap_server_view_keywords(struct imap_server_session *s, const char *keywords);
/* \Recent: add [first, end) to the view's ranges. */
void imap_server_view_recent_add(struct imap_server_selected *sel, uint32_t first, uint32_t end);
/* How many messages of the view are \Recent. */
uint32_t imap_server_view_recent_count(const struct imap_server_selected *sel);
/* RFC 7162 3.1: a mod-sequence the client sees is at least 1; a mailbox
 * that never changed (store modseq 0) is announced as 1. */
uint64_t imap_server_modseq_out(uint64_t modseq);
/* A CONDSTORE-enabling command (RFC 7162 3.1) ran: enable CONDSTORE; the
 * HIGHESTMODSEQ goes out once, at the command's end (imap_server_finish). */
void imap_server_condstore_enable(struct imap_server_session *s);
/* RFC 7162 3.1, 3.1.8: with a mailbox selected and CONDSTORE on, send
 * "OK [HIGHESTMODSEQ n]" unless this selection already did (once per
 * selection: SELECT, ENABLE, or the end of an enabling command). */
void imap_server_modseq_announce(struct imap_server_session *s);
/* While IDLE: sync now if the mailbox changed, and write the updates. */
void imap_server_idle_sync(struct imap_server_session *s);
/* A command of this session (STORE) reports changes to the client: the
 * syncs that follow do not report them again, only later changes (another
 * session's, with a higher modseq). Changes with modseq 0 or not above the
 * view's HIGHESTMODSEQ are not recorded (no sync reports those). */
void imap_server_view_known_add(struct imap_server_session *s,
				const struct imap_message_change *changes, size_t count);
/* Has the client been told of uid at a modseq above modseq (by a sync that
 * ran after the change was recorded)? Then the older state is stale. */
bool imap_server_view_known_newer(const struct imap_server_session *s, uint32_t uid,
				  uint64_t modseq);

/* imap-server-fetch.c */
void imap_server_cmd_fetch(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_fetch_run(struct imap_server_session *s, const struct imap_arg *args,
			   unsigned n_args, bool uid);
void imap_server_fetch_free(struct imap_server_session *s);

/* imap-server-search.c */
void imap_server_cmd_search(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_sort(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_thread(struct imap_server_session *s, const struct imap_command *cmd);
/* kind: "SEARCH", "SORT" or "THREAD" */
void imap_server_search_run(struct imap_server_session *s, const char *kind,
			    const struct imap_arg *args, unsigned n_args, bool uid);
void imap_server_search_free(struct imap_server_session *s);

/* imap-server-message.c */
void imap_server_cmd_store(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_copy(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_move(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_append(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_store_run(struct imap_server_session *s, const struct imap_arg *args,
			   unsigned n_args, bool uid);
void imap_server_copy_run(struct imap_server_session *s, const struct imap_arg *args,
			  unsigned n_args, bool uid, bool move);
void imap_server_message_free(struct imap_server_session *s);
/* A flag list (RFC 9051 flag-list, or one flag) to IMAP_FLAG_* bits and a
 * space-separated keyword string (allocated, NULL when none). \Recent is
 * refused. 1 ok, 0 invalid (*error_r). */
int imap_server_parse_flags(const struct imap_arg *arg, unsigned *flags_r, char **keywords_r,
			    const char **error_r);

/* imap-server-compress.c */
void imap_server_cmd_compress(struct imap_server_session *s, const struct imap_command *cmd);

/* imap-server-acl.c */
void imap_server_cmd_getacl(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_setacl(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_deleteacl(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_myrights(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_listrights(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_getquota(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_getquotaroot(struct imap_server_session *s, const struct imap_command *cmd);
/* Append the ACL and QUOTA capabilities (space-separated, a leading space
 * when out is not empty) the session's hooks support: "ACL RIGHTS=texk"
 * (RFC 4314 2.1) with hooks->acl, "QUOTA QUOTA=RES-STORAGE
 * QUOTA=RES-MESSAGE" (RFC 9208 3.1) with hooks->quota; nothing else. */
void imap_server_acl_capabilities(const struct imap_server_session *s, struct buf *out);

/* imap-server-list.c */
void imap_server_cmd_list(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_cmd_lsub(struct imap_server_session *s, const struct imap_command *cmd);
void imap_server_list_free(struct imap_server_session *s);
/* Pattern match (RFC 9051 6.3.9): '*' any, '%' any but '/'; the INBOX
 * level of name compares case-insensitively. For tests. */
bool imap_server_list_match(const char *pattern, const char *name);

#endif
