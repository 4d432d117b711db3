#!/usr/bin/env bash
# import.sh BUILD_DIR [MIB] - ktana import against a bare libpcap read loop and
# against `tshark -q -z conv,tcp`, on one synthetic capture of MIB MiB
# (default 1024). Prints wall-clock seconds of each. By hand only.
set -eu
B=${1:?usage: import.sh BUILD_DIR [MIB]}
MIB=${2:-1024}
T=$(mktemp -d /tmp/kt-bench-XXXXXX)
trap 'rm -rf "$T"' EXIT
"$B/bench/bench_import" gen "$T/big.pcap" "$MIB"
cat "$T/big.pcap" >/dev/null	# same page cache state for everyone
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null 2>&1; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
echo "file: $(du -m "$T/big.pcap" | cut -f1) MiB"
"$B/bench/bench_import" read "$T/big.pcap"
"$B/bench/bench_import" track "$T/big.pcap"
echo "bare libpcap read:        $(secs "$B/bench/bench_import" read "$T/big.pcap") s"
echo "ktana import:             $(secs "$B/ktana" import -p "$T/big.pcap" -o "$T/out.tar.zst") s"
if command -v tshark >/dev/null; then
	echo "tshark -q -z conv,tcp:    $(secs tshark -n -q -r "$T/big.pcap" -z conv,tcp) s"
fi
