# shellcheck shell=bash
# assert.sh - the counters and checks the shell tests share:
#   . tests/assert.sh
#   ok; bad "what went wrong"; check DESCRIPTION WANT GOT
#   echo "NAME: $pass passed, $fail failed"; [ "$fail" = 0 ]
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() {	# check DESCRIPTION WANT GOT
	if [ "$2" = "$3" ]; then ok; else bad "$1: wanted '$2', got '$3'"; fi
}
