"""The egress capture: every connection the agent opens, seen on its namespace's interface.

Run by :func:`posttrainbench.sandbox.network.agent_network` inside the agent's network
namespace as ``python -I -S _capture.py IFACE LOG READY_FD`` (standard library only, so
that it starts in milliseconds; its lines are read back as
:class:`posttrainbench.sandbox.egress.EgressRecord`, which documents each field): a packet
socket reads the headers of every frame on the interface (the agent cannot see or stop
this process) and keeps one flow per connection the agent opened (TCP from its SYN, UDP
from its first datagram): start and end time, address, port, bytes each way. DNS
answers seen on the wire name the addresses they resolved, and a TLS ClientHello's server
name or an HTTP ``Host`` header name the server a connection asked for. A flow is written
to the log, one JSON line, when it ends (TCP FIN both ways or
RST, a DNS answer) and the rest when the capture is stopped (SIGTERM).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import signal
import socket
import struct
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Literal

__all__ = ["capture"]

_ETH_P_ALL = 3
_ETH_IPV4 = 0x0800
_PACKET_OUTGOING = 4
_SO_RCVBUFFORCE = 33
_SNAP = 2048
"""Bytes read of each frame: headers, a DNS answer, the start of a ClientHello."""
_MAX_OPEN_FLOWS = 50_000
"""Flows kept in memory; beyond it the oldest is written out as it stands."""
_TCP, _UDP = 6, 17
_DNS_PORT = 53
_FIN, _SYN, _RST, _ACK = 0x01, 0x02, 0x04, 0x10


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class _Flow:
    protocol: Literal["tcp", "udp"]
    address: str
    port: int
    started_at: str = field(default_factory=_now)
    ended_at: str = field(default_factory=_now)
    bytes_out: int = 0
    bytes_in: int = 0
    names: set[str] = field(default_factory=set)
    dns_query: str | None = None
    dns_answers: list[str] = field(default_factory=list)
    fin_out: bool = False
    fin_in: bool = False
    reset: bool = False

    def record(self) -> dict[str, object]:
        """The fields of an ``EgressRecord``."""
        return {
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "protocol": self.protocol,
            "address": self.address,
            "port": self.port,
            "bytes_out": self.bytes_out,
            "bytes_in": self.bytes_in,
            "names": sorted(self.names),
            "dns_query": self.dns_query,
            "dns_answers": self.dns_answers,
            "refused": self.reset and self.bytes_in == 0,
        }


@dataclass(frozen=True)
class _Packet:
    outgoing: bool
    protocol: int
    src: str
    dst: str
    sport: int
    dport: int
    length: int
    """IP total length."""
    flags: int
    payload: bytes


def _parse(frame: bytes, outgoing: bool) -> _Packet | None:
    """An Ethernet frame's IPv4 TCP/UDP headers (None for anything else)."""
    if len(frame) < 34 or struct.unpack_from("!H", frame, 12)[0] != _ETH_IPV4:
        return None
    ihl = (frame[14] & 0x0F) * 4
    length, protocol = struct.unpack_from("!H", frame, 16)[0], frame[23]
    l4 = 14 + ihl
    if protocol not in (_TCP, _UDP) or len(frame) < l4 + 8:
        return None
    sport, dport = struct.unpack_from("!HH", frame, l4)
    flags, data = 0, l4 + 8
    if protocol == _TCP:
        if len(frame) < l4 + 14:
            return None
        flags, data = frame[l4 + 13], l4 + (frame[l4 + 12] >> 4) * 4
    end = min(len(frame), 14 + length)
    return _Packet(
        outgoing=outgoing,
        protocol=protocol,
        src=socket.inet_ntoa(frame[26:30]),
        dst=socket.inet_ntoa(frame[30:34]),
        sport=sport,
        dport=dport,
        length=length,
        flags=flags,
        payload=frame[data:end],
    )


def _dns_name(message: bytes, at: int, depth: int = 0) -> tuple[str, int]:
    """The (possibly compressed) name at ``at`` and the offset after it."""
    labels: list[str] = []
    while at < len(message) and depth < 16:
        size = message[at]
        if size == 0:
            return ".".join(labels), at + 1
        if size & 0xC0 == 0xC0:
            pointer = struct.unpack_from("!H", message, at)[0] & 0x3FFF
            rest, _ = _dns_name(message, pointer, depth + 1)
            return ".".join([*labels, rest] if rest else labels), at + 2
        labels.append(message[at + 1 : at + 1 + size].decode("ascii", "replace"))
        at += 1 + size
    raise ValueError("truncated DNS name")


def _dns(message: bytes) -> tuple[str, list[str]]:
    """A DNS message's first question and its A answers."""
    questions, answers = struct.unpack_from("!HH", message, 4)
    name, at = _dns_name(message, 12)
    at += 4
    for _ in range(questions - 1):
        at = _dns_name(message, at)[1] + 4
    addresses = []
    for _ in range(answers):
        at = _dns_name(message, at)[1]
        kind, _klass, _ttl, size = struct.unpack_from("!HHIH", message, at)
        at += 10
        if kind == 1 and size == 4:
            addresses.append(socket.inet_ntoa(message[at : at + 4]))
        at += size
    return name.lower(), addresses


def _server_name(payload: bytes) -> str | None:
    """The server a connection's first bytes ask for: TLS SNI or an HTTP Host header."""
    with contextlib.suppress(IndexError, struct.error, UnicodeDecodeError):
        if payload[:1] == b"\x16" and payload[5:6] == b"\x01":  # TLS handshake, ClientHello
            at = 9 + 2 + 32
            at += 1 + payload[at]  # session id
            at += 2 + struct.unpack_from("!H", payload, at)[0]  # cipher suites
            at += 1 + payload[at]  # compression methods
            end = at + 2 + struct.unpack_from("!H", payload, at)[0]
            at += 2
            while at + 4 <= end:
                kind, size = struct.unpack_from("!HH", payload, at)
                if kind == 0:  # server_name: list length, type, name length, name
                    length = struct.unpack_from("!H", payload, at + 7)[0]
                    return payload[at + 9 : at + 9 + length].decode("ascii").lower()
                at += 4 + size
        head, _, _ = payload.partition(b"\r\n\r\n")
        for line in head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == b"host":
                return value.strip().decode("ascii").rsplit(":", 1)[0].lower() or None
    return None


def _dns_id(packet: _Packet) -> int:
    """A DNS message's id (-1 for anything else): each query is a flow of its own.

    A tunnel sends its queries from one socket; keyed by addresses and ports alone, they
    would merge into one flow that names only the first query.
    """
    peer = packet.dport if packet.outgoing else packet.sport
    if packet.protocol == _UDP and peer == _DNS_PORT and len(packet.payload) >= 2:
        return int(struct.unpack_from("!H", packet.payload)[0])
    return -1


class _Tracker:
    """Flows by (protocol, agent port, address, port, DNS id); DNS answers by address."""

    def __init__(self, log: IO[str]) -> None:
        self.log = log
        self.flows: dict[tuple[int, int, str, int, int], _Flow] = {}
        self.resolved: dict[str, set[str]] = {}

    def packet(self, packet: _Packet) -> None:
        if packet.outgoing:
            key = (packet.protocol, packet.sport, packet.dst, packet.dport, _dns_id(packet))
            flow = self.flows.get(key)
            if flow is None:
                if packet.protocol == _TCP and packet.flags & (_SYN | _ACK) != _SYN:
                    return  # the rest of a connection opened before the capture
                protocol: Literal["tcp", "udp"] = "tcp" if packet.protocol == _TCP else "udp"
                flow = self.flows[key] = _Flow(protocol, packet.dst, packet.dport)
                flow.names |= self.resolved.get(packet.dst, set())
                if len(self.flows) > _MAX_OPEN_FLOWS:  # a flood of half-open flows
                    self._write(next(iter(self.flows)))
            flow.bytes_out += packet.length
            if packet.payload and flow.bytes_out <= packet.length + 200:
                asked = _server_name(packet.payload)
                flow.names |= {asked} if asked else set()
            if packet.dport == 53 and packet.protocol == _UDP and flow.dns_query is None:
                with contextlib.suppress(ValueError, struct.error, IndexError):
                    flow.dns_query = _dns(packet.payload)[0]
            flow.fin_out |= bool(packet.flags & _FIN)
        else:
            key = (packet.protocol, packet.dport, packet.src, packet.sport, _dns_id(packet))
            flow = self.flows.get(key)
            if flow is None:
                return
            flow.bytes_in += packet.length
            flow.fin_in |= bool(packet.flags & _FIN)
            flow.reset |= bool(packet.flags & _RST)
            if packet.sport == 53 and packet.protocol == _UDP:
                with contextlib.suppress(ValueError, struct.error, IndexError):
                    self._answer(flow, *_dns(packet.payload))
        flow.ended_at = _now()
        if flow.reset or (flow.fin_out and flow.fin_in) or flow.dns_answers:
            self._write(key)

    def _answer(self, flow: _Flow, name: str, addresses: list[str]) -> None:
        flow.dns_query = flow.dns_query or name
        flow.dns_answers = addresses or ["(none)"]
        for address in addresses:
            self.resolved.setdefault(address, set()).add(name)

    def _write(self, key: tuple[int, int, str, int, int]) -> None:
        flow = self.flows.pop(key)
        self.log.write(json.dumps(flow.record()) + "\n")
        self.log.flush()

    def close(self) -> None:
        for key in list(self.flows):
            self._write(key)


def capture(interface: str, log_path: Path, ready_fd: int) -> None:
    """Log the flows on ``interface`` to ``log_path`` until SIGTERM."""
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
    with contextlib.suppress(OSError):  # a large buffer: a busy agent's headers are not lost
        sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, 64 << 20)
    sock.bind((interface, 0))
    sock.settimeout(0.2)
    parent = os.getppid()
    with log_path.open("a", encoding="utf-8") as log:
        tracker = _Tracker(log)
        os.write(ready_fd, b"ready\n")
        os.close(ready_fd)
        while True:
            try:
                frame, address = sock.recvfrom(_SNAP)
            except TimeoutError:
                if stopping or os.getppid() != parent:  # stopped, or the harness died
                    break
                continue
            except InterruptedError:
                continue
            packet = _parse(frame, outgoing=address[2] == _PACKET_OUTGOING)
            if packet is not None and not ipaddress.IPv4Address(packet.src).is_multicast:
                tracker.packet(packet)
        tracker.close()


if __name__ == "__main__":
    capture(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))
