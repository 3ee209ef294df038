/*
 * smtp-data.h - resumable decoder for the SMTP DATA stream (RFC 5321 4.1.1.4).
 *
 * What it does: takes the raw bytes that follow the 354 reply, in any split,
 * removes dot-stuffing (RFC 5321 4.5.2), finds the end of the message and
 * passes the decoded message, line endings exactly as received, to a sink
 * callback in chunks. It reports how many input bytes it used, so bytes after
 * the end (pipelined commands, RFC 2920) stay with the caller.
 *
 * The end of the message is exactly <CRLF>.<CRLF>, where the first CRLF may be
 * the one that ended the DATA command line. Nothing else ends it: LF.LF,
 * CR.CR, LF.CRLF, CRLF.LF, CR.CRLF are message content. Any CR not followed by
 * LF, or LF not preceded by CR, sets bare_newline: RFC 5321 2.3.8 forbids them,
 * and a server that accepts them as line ends can be made to see a message end
 * where the next hop sees none ("SMTP smuggling"). The engine refuses such a
 * message after its real end.
 *
 * What it does not do: decide anything. Past max_size it keeps consuming to
 * the end, passes nothing more to the sink, and sets too_big; the engine
 * answers.
 *
 * Invariants: never reads past len; never holds more than one output chunk;
 * the sequence of sink bytes and flags is the same for any split of the input.
 */
#ifndef SMTP_DATA_H
#define SMTP_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_DATA_CHUNK 8192

struct smtp_data_decoder {
	int state;
	uint64_t max_size;      /* 0 = no limit */
	uint64_t size;          /* decoded octets so far, counted even past max_size */
	bool too_big;           /* size > max_size: the sink got the first max_size only */
	bool bare_newline;      /* a bare CR or bare LF was seen */
	void (*sink)(void *ctx, const uint8_t *data, size_t len);
	void *sink_ctx;
	size_t out_len;
	uint8_t out[SMTP_DATA_CHUNK];
};

/* Start decoding a new message. sink may be NULL (bytes are only counted). */
void smtp_data_decoder_init(struct smtp_data_decoder *d, uint64_t max_size,
			    void (*sink)(void *ctx, const uint8_t *data, size_t len),
			    void *sink_ctx);

/*
 * Decode from data..data+len. Returns 1 when the end <CRLF>.<CRLF> was found:
 * *consumed_r is the offset just after its final LF, every decoded byte has
 * gone to the sink, and too_big / bare_newline are final. Returns 0 when more
 * input is needed: all len bytes were consumed (*consumed_r == len) and the
 * decoded ones passed to the sink, except a CR or a leading dot that is held
 * until the next byte shows what it is. After 1, the decoder must be
 * re-initialised before it is fed again.
 */
int smtp_data_decoder_feed(struct smtp_data_decoder *d, const uint8_t *data, size_t len,
			   size_t *consumed_r);

#endif
