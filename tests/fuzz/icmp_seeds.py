#!/usr/bin/env python3
"""icmp_seeds.py CORPUS - write icmp-errors.bin into CORPUS/frame and
CORPUS/pcap_frag, the seeds of fuzz_frame and fuzz_pcap_frag.

Records as those targets read them (| link type index 1 | length 2, BE |
frame |): the ICMP errors whose quote the decoder reads, built here with
documentation and lab addresses, as raw IP (fuzz_frame's index 3) or
Ethernet (index 0; fuzz_pcap_frag keeps one link type per file: all
Ethernet there). Checksums are left 0: the decoder does not check them.
"""
import struct
import sys


def ipv4(src, dst, proto, payload, ident=1):
    hdr = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0x4000, 64,
                      proto, 0, bytes(src), bytes(dst))
    return hdr + payload


def ipv6(src_last, dst_last, nh, payload):
    base = bytes([0x20, 0x01, 0x0d, 0xb8] + [0] * 11)
    return (struct.pack(">IHBB", 0x60000000, len(payload), nh, 64) +
            base + bytes([src_last]) + base + bytes([dst_last]) + payload)


def tcp_syn(sport, dport):
    opts = bytes([2, 4, 5, 0xb4, 4, 2, 8, 10]) + bytes(8) + bytes([1, 3, 3, 10])
    return struct.pack(">HHIIBBHHH", sport, dport, 0x11223344, 0, (5 + len(opts) // 4) << 4,
                       0x02, 64240, 0, 0) + opts


def udp(sport, dport, data):
    return struct.pack(">HHHH", sport, dport, 8 + len(data), 0) + data


def icmp(typ, code, rest, quote):
    return struct.pack(">BBHI", typ, code, 0, rest) + quote


def eth(ethertype, payload):
    return bytes([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]) + struct.pack(">H", ethertype) + payload


CLIENT, SERVER, NODE = [198, 18, 0, 16], [198, 18, 0, 15], [198, 18, 0, 1]
VIP = [198, 19, 0, 20]


def frames():
    syn = ipv4(CLIENT, SERVER, 6, tcp_syn(41343, 9003))
    vip_syn = ipv4(CLIENT, VIP, 6, tcp_syn(45123, 80))
    dns = ipv4(CLIENT, [198, 18, 0, 11], 17, udp(53000, 53, b"\x4b\x54\x01\x00" + bytes(8)))
    yield 0, eth(0x0800, syn)
    # host unreachable from the node, the whole SYN quoted (as Linux does)
    yield 0, eth(0x0800, ipv4(NODE, CLIENT, 1, icmp(3, 1, 0, syn)))
    yield 0, eth(0x0800, ipv4(VIP, CLIENT, 1, icmp(3, 1, 0, vip_syn)))
    # port unreachable about DNS, RFC 792's minimum quote
    yield 0, eth(0x0800, ipv4(NODE, CLIENT, 1, icmp(3, 3, 0, dns[:28])))
    # fragmentation needed (MTU 1400), time exceeded, admin prohibited
    yield 3, ipv4(NODE, CLIENT, 1, icmp(3, 4, 1400, syn[:28]))
    yield 3, ipv4(NODE, CLIENT, 1, icmp(11, 0, 0, dns))
    yield 0, eth(0x0800, ipv4(NODE, CLIENT, 1, icmp(3, 13, 0, syn)))
    # an error about an error: not followed
    inner = ipv4(CLIENT, NODE, 1, icmp(3, 3, 0, dns))
    yield 3, ipv4(NODE, CLIENT, 1, icmp(3, 1, 0, inner))
    # echo: no quote
    yield 0, eth(0x0800, ipv4(CLIENT, SERVER, 1, icmp(8, 0, 0x00010001, b"ping" * 4)))
    # ICMPv6: unreachable quoting TCP behind a destination options header,
    # packet too big, echo
    q6 = ipv6(1, 2, 60, bytes([6, 0, 1, 4, 0, 0, 0, 0]) + tcp_syn(40000, 443))
    yield 3, ipv6(0xff, 1, 58, icmp(1, 4, 0, q6))
    yield 0, eth(0x86dd, ipv6(0xff, 1, 58, icmp(2, 0, 1280, q6)))
    yield 3, ipv6(0xff, 1, 58, icmp(128, 0, 0x00010001, b"ping"))


def as_eth(sel, f):
    """A raw IP frame (index 3) wrapped in Ethernet."""
    return f if sel == 0 else eth(0x0800 if f[0] >> 4 == 4 else 0x86dd, f)


def write(path, recs):
    with open(path, "wb") as fh:
        fh.write(b"".join(bytes([sel]) + struct.pack(">H", len(f)) + f for sel, f in recs))


def main():
    corpus = sys.argv[1]
    write(corpus + "/frame/icmp-errors.bin", frames())
    write(corpus + "/pcap_frag/icmp-errors.bin", ((0, as_eth(s, f)) for s, f in frames()))


if __name__ == "__main__":
    main()
