/*
 * fuzz-pop3-command.c - libFuzzer target for the POP3 line reader and parser.
 *
 * Input: byte 0 picks the line maximum and the chunk size; the rest is a
 * client byte stream. It is read twice, all at once and in chunks, with
 * every line parsed; the two transcripts must be identical (any split gives
 * the same result), and every parsed command must respect the documented
 * shape (keyword, argument count and lengths, no NUL inside arguments).
 */
#include "pop3/pop3-command.h"
#include "core/mem.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_command(const struct pop3_command *cmd, size_t max_line)
{
	size_t klen = strlen(cmd->keyword);

	ASSERT(klen >= 1 && klen <= 4);
	for (size_t i = 0; i < klen; i++)
		ASSERT(cmd->keyword[i] >= 'A' && cmd->keyword[i] <= 'Z');
	ASSERT(cmd->argc <= POP3_COMMAND_MAX_ARGS);
	for (unsigned i = 0; i < cmd->argc; i++) {
		ASSERT(strlen(cmd->args[i]) == cmd->arg_lens[i]);
		ASSERT(cmd->arg_lens[i] > 0 && cmd->arg_lens[i] < max_line);
		if (cmd->id != POP3_CMD_PASS && !(cmd->id == POP3_CMD_AUTH && i == 1))
			ASSERT(cmd->arg_lens[i] <= POP3_COMMAND_DEFAULT_MAX_ARG);
	}
}

static void
fuzz_line(struct buf *out, char *line, size_t len, size_t max_line)
{
	struct pop3_command_limits limits;
	struct pop3_command cmd;
	const char *error;

	ASSERT(len < max_line && line[len] == '\0');
	pop3_command_limits_init_default(&limits);
	if (pop3_command_parse(line, len, &limits, &cmd, &error) < 0) {
		buf_printf(out, "E %s\n", error);
		return;
	}
	fuzz_check_command(&cmd, max_line);
	buf_printf(out, "C %s %d %u", cmd.keyword, (int)cmd.id, cmd.argc);
	for (unsigned i = 0; i < cmd.argc; i++)
		buf_printf(out, " %zu:%s", cmd.arg_lens[i], cmd.args[i]);
	buf_append_str(out, "\n");
}

static void
fuzz_read(const uint8_t *data, size_t size, size_t chunk, size_t max_line, struct buf *out)
{
	struct pop3_line_reader r;

	pop3_line_reader_init(&r, max_line);
	for (size_t done = 0; done < size;) {
		size_t n = size - done < chunk ? size - done : chunk, pos = 0;

		while (pos < n) {
			size_t used, len;
			char *line;
			int ret;

			ret = pop3_line_reader_feed(&r, data + done + pos, n - pos, &used, &line,
						    &len);

			ASSERT(used <= n - pos);
			pos += used;
			if (ret == 0) {
				ASSERT(pos == n);
				break;
			}
			if (ret < 0)
				buf_append_str(out, "TOO-LONG\n");
			else
				fuzz_line(out, line, len, max_line);
		}
		done += n;
	}
	buf_printf(out, "END %d\n", pop3_line_reader_in_line(&r));
	pop3_line_reader_deinit(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t max_lines[] = { 255, 3, 16, 1000 };
	struct buf whole, split;
	size_t max_line, chunk;

	if (size < 1)
		return 0;
	max_line = max_lines[data[0] & 3];
	chunk = (size_t)(data[0] >> 2) + 1;
	buf_init(&whole, 0);
	buf_init(&split, 0);
	fuzz_read(data + 1, size - 1, size, max_line, &whole);
	fuzz_read(data + 1, size - 1, chunk, max_line, &split);
	ASSERT(buf_len(&whole) == buf_len(&split));
	ASSERT(memcmp(buf_data(&whole), buf_data(&split), buf_len(&whole)) == 0);
	buf_deinit(&whole);
	buf_deinit(&split);
	return 0;
}
