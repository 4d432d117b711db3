#!/usr/bin/env bash
# tests/fuzz/make_seeds.sh BUILD - rewrite the seeds of fuzz_bundle and
# fuzz_stream (tests/fuzz/corpus/{bundle,stream}/) with BUILD's ktgen and
# ktcap. Run it when a format change leaves the committed seeds unreadable:
# check_hostile's test_fuzz_seeds fails then, since fuzzing from seeds the
# reader refuses at the first byte finds little. The valid seeds come from
# the real tools; python3 crafts the tars that lie.
set -euo pipefail

build=$(cd "${1:?usage: tests/fuzz/make_seeds.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
bundle=$here/corpus/bundle
stream=$here/corpus/stream
work=$(mktemp -d "${TMPDIR:-/tmp}/kt-seeds.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Host facts of the machine running this stay out of the repository.
neutral() {
	jq '.host += {hostname: "seed-host", boot_id: "00000000-0000-4000-8000-000000000000",
		      kernel: "6.1.0", kernel_version: "#1 SMP", node_name: "synthetic-node-1"}' \
		"$1/manifest.json" >"$work/m.json"
	mv "$work/m.json" "$1/manifest.json"
}

# bundle/: ktgen's streams in the three containers ...
"$build/tests/ktgen" "$work/sp" --flows 50 >/dev/null
neutral "$work/sp"
for suffix in tar tar.zst tar.gz; do
	"$build/ktcap" pack "$work/sp" -o "$bundle/ktgen-50.$suffix" --finished >/dev/null
done

# ... with the cluster's objects as the k8s source writes them (ktgen --k8s)
"$build/tests/ktgen" "$work/k8s" --flows 40 --pods 4 --edges 6 --k8s >/dev/null
neutral "$work/k8s"
"$build/ktcap" pack "$work/k8s" -o "$bundle/ktgen-k8s-40.tar.zst" --finished >/dev/null

# ... and with a JSON document, JSON lines and a two-packet pcap beside them
cp -r "$work/sp" "$work/rich"
mkdir -p "$work/rich/host" "$work/rich/k8s/0001" "$work/rich/k8s/watch" "$work/rich/pcap"
printf '{"kernel": "6.1.0", "cpus": 2}\n' >"$work/rich/host/facts.json"
printf '{"kind": "List", "items": [{"metadata": {"name": "a", "uid": "u1"}}]}\n' \
	>"$work/rich/k8s/0001/pods.json"
printf '%s\n' '{"type": "ADDED", "object": {"metadata": {"name": "a"}}}' \
	'{"type": "DELETED", "object": {"metadata": {"name": "a"}}}' >"$work/rich/k8s/watch/pods.jsonl"
python3 - "$work/rich/pcap/eth0.pcap" <<'EOF'
import struct, sys
# Ethernet, IPv4, UDP 40000 -> 53 between two lab addresses, no payload
pkt = bytes.fromhex('ffffffffffff0200000000010800' '4500001c000100004011'
                    '0000c6120102c6120201' '9c40003500080000')
out = struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
for i in range(2):
    out += struct.pack('<IIII', 1764057600 + i, 0, len(pkt), len(pkt)) + pkt
open(sys.argv[1], 'wb').write(out)
EOF
for suffix in tar tar.zst; do
	"$build/ktcap" pack "$work/rich" -o "$bundle/rich.$suffix" --finished >/dev/null
done

# ... and a few that lie, made from the plain one
python3 - "$bundle" <<'EOF'
import copy, hashlib, io, json, sys, tarfile

out = sys.argv[1]
src = tarfile.open(out + '/ktgen-50.tar')
members = [(m.name, src.extractfile(m).read()) for m in src.getmembers()]
man, ents = json.loads(members[0][1]), members[1:]

def relist(man, ents):
    m = copy.deepcopy(man)
    for f in m['files']:
        for name, data in ents:
            if f['path'] == name:
                f['size'], f['sha256'] = len(data), hashlib.sha256(data).hexdigest()
    return m

def write(name, man, ents, extra=()):
    with tarfile.open(out + '/' + name, 'w', format=tarfile.USTAR_FORMAT) as t:
        for path, data in [('manifest.json', json.dumps(man, sort_keys=True).encode())] + ents:
            ti = tarfile.TarInfo(path)
            ti.size, ti.mtime = len(data), 1764057600
            t.addfile(ti, io.BytesIO(data))
        for ti in extra:
            t.addfile(ti)

# a flipped bit inside the flow block, the manifest's hashes honest
flipped = [(n, bytes(d[:-30]) + bytes([d[-30] ^ 0x10]) + bytes(d[-29:])
            if n.endswith('flow/000001.ktr') else d) for n, d in ents]
write('hostile-flipped-block.tar', relist(man, flipped), flipped)
link = tarfile.TarInfo('host/passwd')
link.type, link.linkname = tarfile.SYMTYPE, '/etc/passwd'
write('hostile-symlink.tar', man, ents[:1], [link])
write('hostile-traversal.tar', man, ents[:1], [tarfile.TarInfo('../x')])
future = copy.deepcopy(man)
future['format_version'] = '2.0'
write('hostile-future-version.tar', future, ents[:1])
EOF

# stream/: the ktgen segments (one block each), and flow segments of four
# blocks of 10 records, compressed and stored
for s in flow dns proc conntrack; do
	cp "$work/sp/streams/$s/000001.ktr" "$stream/ktgen-$s.ktr"
done
"$build/tests/ktgen" "$work/z" --flows 35 --pods 4 --edges 6 --block 10 >/dev/null
"$build/tests/ktgen" "$work/s" --flows 35 --pods 4 --edges 6 --block 10 --level 0 >/dev/null
cp "$work/z/streams/flow/000001.ktr" "$stream/flow-4blocks-zstd.ktr"
cp "$work/s/streams/flow/000001.ktr" "$stream/flow-4blocks-stored.ktr"
# one stored block of 300 records: past the first 64 of a block, where the
# column decoder's fast paths start (formats/column.c)
"$build/tests/ktgen" "$work/b" --flows 300 --pods 40 --edges 80 --block 400 --level 0 >/dev/null
cp "$work/b/streams/flow/000001.ktr" "$stream/flow-300-stored.ktr"
chmod 644 "$bundle"/* "$stream"/*
big=$(find "$bundle" "$stream" -type f -size +64k)
if [[ -n $big ]]; then
	echo "seeds over 64 KiB: $big" >&2
	exit 1
fi
