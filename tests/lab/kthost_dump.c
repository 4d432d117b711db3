/* kthost_dump.c - print the host facts (kt_host_collect) as one JSON
 * document on stdout, for the lab's host facts test. */
#include <stdio.h>
#include <stdlib.h>

#include "error.h"
#include "host.h"

int main(void)
{
	json_t *facts = NULL;
	int err = kt_host_collect(&facts, NULL);

	if (err) {
		fprintf(stderr, "kthost_dump: %s\n", kt_err_msg(err));
		return 1;
	}
	if (json_dumpf(facts, stdout, JSON_INDENT(1)) < 0) {
		fprintf(stderr, "kthost_dump: cannot write the facts\n");
		json_decref(facts);
		return 1;
	}
	putchar('\n');
	json_decref(facts);
	return 0;
}
