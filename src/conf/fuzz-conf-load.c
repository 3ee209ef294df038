/*
 * fuzz-conf-load.c - libFuzzer target for the whole settings path of one
 * file: syntax, keys, value codecs and cross-key checks (conf_load_buffer).
 *
 * Besides "no crash, no leak", it checks the printing promise: when the input
 * loads, what conf_print() writes loads again and prints identically, and
 * the JSON form can be produced. Errors text, when there is one, is made of
 * complete "t.conf:..." lines.
 */
#include <stdint.h>
#include <string.h>

#include "conf/conf.h"
#include "core/buf.h"
#include "core/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_round_trip(const struct posthorn_conf *conf)
{
	struct posthorn_conf again;
	struct buf first, second;
	char *errors;

	buf_init(&first, 0);
	buf_init(&second, 0);
	ASSERT(conf_print(conf, false, &first) == 0);
	ASSERT(conf_load_buffer("t.conf", buf_data(&first), buf_len(&first), &again, &errors) == 1);
	ASSERT(errors == NULL);
	ASSERT(conf_print(&again, false, &second) == 0);
	ASSERT(strcmp(buf_cstr(&first), buf_cstr(&second)) == 0);
	buf_reset(&second);
	ASSERT(conf_print_json(&again, &second) == 0);
	conf_deinit(&again);
	buf_deinit(&first);
	buf_deinit(&second);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct posthorn_conf conf;
	char *errors;

	if (conf_load_buffer("t.conf", data, size, &conf, &errors) == 1) {
		ASSERT(errors == NULL);
		check_round_trip(&conf);
		conf_deinit(&conf);
	} else {
		size_t len = strlen(errors);

		ASSERT(len > 0 && errors[len - 1] == '\n');
		ASSERT(strncmp(errors, "t.conf:", 7) == 0);
		mem_free(&errors);
	}
	return 0;
}
