/* check_main.c - the main() of every check_<module> test program; the suite
 * comes from -DKT_SUITE (tests/CMakeLists.txt, kt_add_check). */
#include <check.h>
#include <stdlib.h>

Suite *KT_SUITE(void);

int main(void)
{
	SRunner *sr = srunner_create(KT_SUITE());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
