"""A stand-in for the internet on this host, for tests of the agent's network policy.

A network namespace of its own, joined to the host by a veth pair, holds two TEST-NET-1
addresses (RFC 5737, never routed on the internet) and serves on each an HTTP server that
names the address it answered on, plus a DNS server on the first that answers every
``A`` question with the first address. The host reaches them through /32 routes on the
veth pair, so the agent's user-mode stack, whose connections are host sockets, reaches
them exactly as it would reach the internet; nothing leaves the machine. The servers stop
by themselves after ``lifetime_s``; the namespace, pair and routes go at the end of the
``with`` block. Needs root and ``ip``. The addresses and routes belong to the whole host,
so one stand-in exists at a time: a host-wide file lock makes a second one (another test
worker, another checkout's tests) wait for the first to be removed.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["StandInInternet", "stand_in_internet", "stand_in_unavailable_reason"]

_ADDRESSES = ("192.0.2.200", "192.0.2.202")
_HTTP_PORT = 8080
_HOST_LOCK = Path(tempfile.gettempdir()) / "ptb-stand-in-internet.lock"
"""Held while a stand-in exists (its addresses and routes are the host's)."""

_SERVER = r"""
import http.server, os, socket, socketserver, struct, sys, threading, time

lifetime, port, dns_address, *addresses = sys.argv[1:]
threading.Timer(float(lifetime), os._exit, (0,)).start()

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("stand-in " + self.server.server_address[0]).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass

for address in addresses:
    server = http.server.ThreadingHTTPServer((address, int(port)), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dns.bind((dns_address, 53))
answer = socket.inet_aton(dns_address)
print("ready", flush=True)
while True:
    query, peer = dns.recvfrom(512)
    end = query.index(b"\0", 12) + 5
    header = query[:2] + b"\x81\x80" + query[4:6] + b"\x00\x01\x00\x00\x00\x00"
    record = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + answer
    dns.sendto(header + query[12:end] + record, peer)
"""


@dataclass(frozen=True)
class StandInInternet:
    """Two addresses standing in for internet hosts, each serving HTTP on ``port``."""

    listed: str
    """The first address (also a DNS server answering every name with itself)."""
    other: str
    """The second address."""
    port: int = _HTTP_PORT


def stand_in_unavailable_reason() -> str | None:
    """Why the stand-in cannot be built here (None when it can)."""
    if os.geteuid() != 0:
        return "the stand-in internet needs root (network namespaces, veth pairs)"
    if shutil.which("ip") is None:
        return "the stand-in internet needs `ip` (apt-get install iproute2)"
    return None


@contextmanager
def stand_in_internet(lifetime_s: float = 300.0) -> Iterator[StandInInternet]:
    """Build the stand-in (see the module docstring); everything is removed at the end."""
    tag = str(os.getpid())  # names the maker: see _remove_leftovers
    namespace, outer, inner = f"ptb-standin-{tag}", f"ptbsi{tag}a", f"ptbsi{tag}b"
    with ExitStack() as stack:
        lock = stack.enter_context(_HOST_LOCK.open("a"))
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, after the removal
        _remove_leftovers()
        _ip("netns", "add", namespace)
        stack.callback(_ip, "netns", "delete", namespace, check=False)
        _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
        stack.callback(_ip, "link", "delete", outer, check=False)
        _ip("link", "set", inner, "netns", namespace)
        _ip("link", "set", outer, "up")
        for address in _ADDRESSES:
            _ip("-n", namespace, "addr", "add", f"{address}/32", "dev", inner)
            _ip("route", "add", f"{address}/32", "dev", outer)
            stack.callback(_ip, "route", "delete", f"{address}/32", check=False)
        _ip("-n", namespace, "link", "set", "lo", "up")
        _ip("-n", namespace, "link", "set", inner, "up")
        _ip("-n", namespace, "route", "add", "default", "dev", inner)  # back to the host only
        server = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-I", "-c", _SERVER]
            + [str(lifetime_s), str(_HTTP_PORT), _ADDRESSES[0], *_ADDRESSES],
            stdout=subprocess.PIPE,
            text=True,
        )
        stack.callback(_stop, server)
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError("the stand-in internet's servers did not start")
        yield StandInInternet(listed=_ADDRESSES[0], other=_ADDRESSES[1])


def _remove_leftovers() -> None:
    """Remove what the stand-in of a killed process left (its routes would make this fail).

    Names carry their maker's pid; those of a live process are left alone. The pair's host
    end goes with its routes, the namespace after it.
    """
    from posttrainbench.trial.lock import pid_alive  # the trial package is heavy to import

    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    for tag in re.findall(r"^\d+: ptbsi(\d+)a[@:]", links, re.MULTILINE):
        if not pid_alive(int(tag)):
            _ip("link", "delete", f"ptbsi{tag}a", check=False)
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for tag in re.findall(r"^ptb-standin-(\d+)", namespaces, re.MULTILINE):
        if not pid_alive(int(tag)):
            _ip("netns", "delete", f"ptb-standin-{tag}", check=False)


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True)


def _stop(server: subprocess.Popen[str]) -> None:
    server.kill()
    server.wait()
