"""Community ID v1 flow hashes (https://github.com/corelight/community-id-spec).

`1:` + base64(SHA-1(seed:u16 | addr_a | addr_b | proto:u8 | 0:u8 | port_a:u16 | port_b:u16)),
where the endpoint that sorts first (address, then port) goes first, so both
directions of a flow get the same ID, the one Zeek, Suricata and Arkime print.
"""

from __future__ import annotations

import base64
import hashlib
import struct

IPPROTO_TCP = 6


def community_id(
    src_ip: bytes, dst_ip: bytes, src_port: int, dst_port: int, proto: int = IPPROTO_TCP, seed: int = 0
) -> str:
    if (src_ip, src_port) > (dst_ip, dst_port):
        src_ip, dst_ip, src_port, dst_port = dst_ip, src_ip, dst_port, src_port
    data = struct.pack("!H", seed) + src_ip + dst_ip + struct.pack("!BBHH", proto, 0, src_port, dst_port)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode("ascii")
