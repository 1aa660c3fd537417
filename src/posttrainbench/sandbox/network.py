"""The agent's network: its own namespace, a user-mode stack, a filter and an egress log.

Policies (``NetworkPolicy.mode``):

- ``internet`` (the default; the paper lets agents download data and packages): any
  address outside this host.
- ``allow``: only the listed hosts (names resolved once, when the sandbox starts; IPv4
  addresses or CIDR ranges; each with an optional port).
- ``none``: no interface but the sandbox's own loopback (the backend unshares the network;
  nothing below runs).

In ``internet`` and ``allow`` the agent gets a fresh network namespace whose only way out
is ``slirp4netns --disable-host-loopback`` (a user-mode TCP/IP stack: the agent's
connections become ordinary sockets of the slirp4netns process on the host). Inside the
namespace an nftables filter, installed before the agent starts and out of its reach (it
holds no capability), drops whatever the policy does not allow, and in every mode the
host itself: its loopback (through the stack's gateway), each of its own addresses (where
services bound to ``0.0.0.0`` listen: dashboard, judge, evaluation servers), the subnets
of its container bridges and link-local addresses (cloud metadata). Other trials sit
behind their own stacks, with no address the agent could reach. DNS goes to the stack's
resolver, which forwards it to the host's. A packet capture on the namespace's interface
writes every outbound connection (time, address, port, bytes each way, the DNS names that
resolved to the address) to the egress log (:mod:`posttrainbench.sandbox._capture`).
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from posttrainbench.errors import UserError

__all__ = [
    "INTERNET",
    "NETWORK_MODES",
    "NO_NETWORK",
    "NetworkPolicy",
    "NetworkTools",
    "agent_network",
    "allowed_destinations",
    "filter_ruleset",
    "joined_network",
    "network_tools",
    "parse_allow_entry",
]

NetworkMode = Literal["internet", "none", "allow"]
NETWORK_MODES: tuple[NetworkMode, ...] = ("internet", "none", "allow")
"""The policies, the default first."""

_TAP = "tap0"
_GATEWAY = "10.0.2.2"
"""slirp4netns's gateway: the host's loopback, unless ``--disable-host-loopback``."""
_DNS = "10.0.2.3"
"""slirp4netns's DNS forwarder (to the host's resolvers)."""
_ALWAYS_BLOCKED = (_GATEWAY + "/32", "169.254.0.0/16", "0.0.0.0/8", "224.0.0.0/4")
"""The host through the stack's gateway, link-local (cloud metadata), "this network",
multicast; the host's own addresses are added when the sandbox starts."""
_READY_TIMEOUT_S = 10.0
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})(?:/\d{1,2})?")
_INSTALL = {
    "ip": "iproute2",
    "nsenter": "util-linux",
    "slirp4netns": "slirp4netns",
    "nft": "nftables",
}
"""Command -> the Debian/Ubuntu package that provides it."""


@dataclass(frozen=True)
class AllowedDestination:
    """One ``allow`` entry, resolved: an IPv4 network and an optional port."""

    network: ipaddress.IPv4Network
    port: int | None = None


def parse_allow_entry(text: str) -> tuple[str, int | None]:
    """``NAME``, ``1.2.3.4`` or ``1.2.3.0/24``, each with an optional ``:PORT`` -> (host, port).

    Raises:
        ValueError: The entry is not of that form (IPv6 is not supported).
    """
    entry = text.strip()
    host, sep, port = entry.rpartition(":")
    if not sep:
        host, port = entry, ""
    if not _HOST.fullmatch(host) or (sep and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ValueError(
            f"{text!r} is not NAME, an IPv4 address or an IPv4 CIDR range, with an optional "
            ":PORT (1-65535)"
        )
    if "/" in host:
        ipaddress.IPv4Network(host, strict=False)  # raises ValueError when malformed
    return host, int(port) if sep else None


class NetworkPolicy(BaseModel):
    """What the agent's network may reach (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: NetworkMode = "internet"
    """``internet`` (default), ``none`` or ``allow``."""
    allow: tuple[str, ...] = Field(default=())
    """With ``allow``: hosts as ``NAME``, ``NAME:PORT``, IPv4 address or CIDR range, with an
    optional ``:PORT``. Names are resolved once, when the sandbox starts."""

    @model_validator(mode="after")
    def _hosts_match_the_mode(self) -> NetworkPolicy:
        if self.mode == "allow" and not self.allow:
            raise ValueError("network 'allow' needs at least one host (--allow-host, allow_hosts)")
        if self.mode != "allow" and self.allow:
            raise ValueError(f"hosts are allowed only with network 'allow', not {self.mode!r}")
        for entry in self.allow:
            parse_allow_entry(entry)
        return self

    @classmethod
    def from_options(cls, mode: str, allow: Sequence[str] = ()) -> NetworkPolicy:
        """The policy of ``--network MODE --allow-host HOST...``.

        Raises:
            UserError: An unknown mode, or hosts that do not fit it.
        """
        try:
            return cls.model_validate({"mode": mode, "allow": tuple(allow)})
        except ValidationError as error:
            problems = "; ".join(
                problem["msg"].removeprefix("Value error, ") for problem in error.errors()
            )
            raise UserError(f"Invalid network policy: {problems}.") from error

    @property
    def isolated(self) -> bool:
        """True for ``none``: no interface but loopback, nothing to start."""
        return self.mode == "none"

    def describe(self) -> str:
        """One line for logs: ``internet``, ``none``, ``allow pypi.org, 1.2.3.4:443``."""
        return self.mode + (" " + ", ".join(self.allow) if self.allow else "")


INTERNET = NetworkPolicy()
"""The default policy."""
NO_NETWORK = NetworkPolicy(mode="none")
"""The policy of sandboxes that must not talk to anything (code execution in evaluation)."""


def allowed_destinations(policy: NetworkPolicy) -> list[AllowedDestination]:
    """The ``allow`` entries as IPv4 networks; names are resolved now (IPv4 only).

    Raises:
        UserError: A name does not resolve.
    """
    destinations = []
    for entry in policy.allow:
        host, port = parse_allow_entry(entry)
        try:
            networks = [ipaddress.IPv4Network(host, strict=False)]
        except ValueError:
            networks = [ipaddress.IPv4Network(address) for address in _resolve(host)]
        destinations += [AllowedDestination(network, port) for network in networks]
    return destinations


def _resolve(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError as error:
        raise UserError(
            f"The allowed host {host!r} does not resolve ({error}); fix the name or list its "
            "address instead."
        ) from error
    return sorted({str(info[4][0]) for info in infos})


def host_addresses() -> list[ipaddress.IPv4Network]:
    """Every IPv4 address of this host's interfaces (where its services listen), as /32s."""
    shown = subprocess.run(
        ["ip", "-j", "-4", "addr", "show"], capture_output=True, text=True, check=True
    )
    addresses = {
        ipaddress.IPv4Network(info["local"])
        for link in json.loads(shown.stdout)
        for info in link.get("addr_info", ())
        if info.get("family") == "inet" and not ipaddress.IPv4Address(info["local"]).is_loopback
    }
    return sorted(addresses)


def bridged_networks(routes: Sequence[dict[str, object]]) -> list[ipaddress.IPv4Network]:
    """The local networks of interfaces other than the default route's (``ip -j route``).

    Container bridges (docker0, podman's, libvirt's) hold services of this host: their
    subnets are refused like the host's own addresses. The default route's own subnet
    (the LAN) stays reachable, as are routes set by hand.
    """
    uplinks = {route.get("dev") for route in routes if route.get("dst") == "default"}
    return sorted(
        ipaddress.IPv4Network(str(route["dst"]), strict=False)
        for route in routes
        if route.get("protocol") == "kernel"
        and route.get("dev") not in uplinks
        and route.get("dst") not in (None, "default")
    )


def host_networks() -> list[ipaddress.IPv4Network]:
    """What of this host the agent must not reach: its addresses and its bridges' subnets."""
    shown = subprocess.run(
        ["ip", "-j", "-4", "route", "show", "table", "main"],
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted({*host_addresses(), *bridged_networks(json.loads(shown.stdout))})


def filter_ruleset(
    policy: NetworkPolicy,
    blocked: Sequence[ipaddress.IPv4Network],
    allowed: Sequence[AllowedDestination] = (),
) -> str:
    """The nftables ruleset of the agent's namespace (a pure function of its arguments).

    Output only: the agent's own loopback, then the host (``blocked``) refused, then DNS to
    the stack's resolver, then the policy; everything else (IPv6 included) is refused.
    """
    refuse = "reject with icmpx type admin-prohibited"
    host = [*map(ipaddress.IPv4Network, _ALWAYS_BLOCKED), *blocked]
    ranges = ", ".join(str(network) for network in host)
    rules = [
        'oifname "lo" accept',
        f"ip daddr {{ {ranges} }} {refuse}",
        f"ip daddr {_DNS} meta l4proto {{ tcp, udp }} th dport 53 accept",
    ]
    if policy.mode == "internet":
        rules.append("meta nfproto ipv4 accept")
    for destination in allowed:
        port = (
            f" meta l4proto {{ tcp, udp }} th dport {destination.port}"
            if destination.port is not None
            else ""
        )
        rules.append(f"ip daddr {destination.network}{port} accept")
    rules.append(refuse)
    body = "\n".join(f"    {rule}" for rule in rules)
    return (
        "table inet ptb_agent {\n  chain output {\n"
        "    type filter hook output priority filter; policy drop;\n"
        f"{body}\n  }}\n}}\n"
    )


@dataclass(frozen=True)
class NetworkTools:
    """The host commands a networked sandbox needs, where found."""

    found: dict[str, str | None]
    """Command -> its path (None when missing)."""

    @property
    def missing(self) -> list[str]:
        """The commands not found."""
        return [name for name, path in self.found.items() if path is None]

    def unavailable_reason(self) -> str | None:
        """Why the ``internet``/``allow`` policies cannot run here (None when they can)."""
        if os.geteuid() != 0:
            return (
                "the network policies 'internet' and 'allow' create a network namespace, "
                "which needs root; run the harness as root or use --network none"
            )
        if self.missing:
            packages = " ".join(dict.fromkeys(_INSTALL[name] for name in self.missing))
            return (
                f"{', '.join(self.missing)} not found; the agent's network needs them: "
                f"apt-get install {packages} (or bash scripts/install.sh), or use --network none"
            )
        return None


def network_tools() -> NetworkTools:
    """Look for the commands in ``_INSTALL`` on PATH and in the system directories."""
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", "/sbin", "/bin"])
    return NetworkTools({name: shutil.which(name, path=path) for name in _INSTALL})


@dataclass(frozen=True)
class AgentNetwork:
    """A started network namespace: what to prefix the sandbox command with."""

    path: Path
    """The namespace (``/run/netns/NAME``)."""
    nsenter: str

    def wrap(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside the namespace (``nsenter`` execs it: same process)."""
        return [self.nsenter, f"--net={self.path}", "--", *argv]


_names = itertools.count()


@contextmanager
def joined_network(
    policy: NetworkPolicy, egress_log: Path | None
) -> Iterator[Callable[[Sequence[str]], list[str]]]:
    """What a backend prefixes its command with to run in the agent's network.

    ``none`` needs nothing started (the backend unshares the network itself): the argv is
    returned as it is. ``internet`` and ``allow`` start :func:`agent_network`.
    """
    if policy.isolated:
        yield list
        return
    with agent_network(policy, egress_log) as network:
        yield network.wrap


@contextmanager
def agent_network(policy: NetworkPolicy, egress_log: Path | None) -> Iterator[AgentNetwork]:
    """Start the agent's namespace, stack, filter and capture; tear all down at the end.

    Args:
        policy: ``internet`` or ``allow`` (``none`` needs none of this).
        egress_log: Where the capture appends one JSON line per connection (None: no log).

    Raises:
        UserError: A command is missing, the harness is not root, or an allowed name does
            not resolve.
    """
    tools = network_tools()
    reason = tools.unavailable_reason()
    if reason is not None:
        raise UserError(f"Network policy '{policy.mode}': {reason}.")
    found = {name: path for name, path in tools.found.items() if path is not None}
    allowed = allowed_destinations(policy)  # before anything is started: may fail
    ruleset = filter_ruleset(policy, host_networks(), allowed)
    _remove_stale_namespaces(found["ip"])
    name = f"ptb-{os.getpid()}-{next(_names)}"
    with ExitStack() as stack:
        _run([found["ip"], "netns", "add", name])
        stack.callback(
            subprocess.run, [found["ip"], "netns", "delete", name], check=False, capture_output=True
        )
        network = AgentNetwork(Path("/run/netns") / name, found["nsenter"])
        stack.enter_context(_slirp(found["slirp4netns"], network.path))
        _run(network.wrap([found["nft"], "-f", "-"]), ruleset)
        if egress_log is not None:
            stack.enter_context(_capture(network, egress_log))
        yield network


def _remove_stale_namespaces(ip: str) -> None:
    """Delete the namespaces of harnesses that died without removing theirs (SIGKILL)."""
    folder = Path("/run/netns")
    for entry in folder.glob("ptb-*-*") if folder.is_dir() else ():
        match = re.fullmatch(r"ptb-(\d+)-\d+", entry.name)
        if match is None:
            continue
        try:
            os.kill(int(match.group(1)), 0)
        except ProcessLookupError:
            subprocess.run([ip, "netns", "delete", entry.name], check=False, capture_output=True)
        except PermissionError:
            pass  # alive, another user's


def _run(argv: Sequence[str], stdin: str | None = None) -> None:
    """Run a setup command of the agent's network; a clear error when the host refuses it."""
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise UserError(
            f"Cannot set up the agent's network: `{' '.join(argv)}` failed "
            f"({done.stderr.strip()}). Creating network namespaces needs root with "
            "CAP_SYS_ADMIN and CAP_NET_ADMIN (in a container: run it privileged); or use "
            "--network none."
        )


@contextmanager
def _slirp(slirp4netns: str, namespace: Path) -> Iterator[None]:
    """slirp4netns attached to ``namespace``, configured and ready; stopped at the end."""
    ready_read, ready_write = os.pipe()
    exit_read, exit_write = os.pipe()
    argv = [slirp4netns, "--configure", "--mtu=65520", "--disable-host-loopback"]
    argv += ["--enable-seccomp", f"--ready-fd={ready_write}"]
    argv += [f"--exit-fd={exit_read}", "--netns-type=path", str(namespace), _TAP]
    try:
        process = subprocess.Popen(
            argv,
            pass_fds=(ready_write, exit_read),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    finally:
        os.close(ready_write)
        os.close(exit_read)
    try:
        _wait_ready(ready_read, process, "slirp4netns")
        yield
    finally:
        os.close(exit_write)  # slirp4netns exits when this closes
        os.close(ready_read)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def _wait_ready(fd: int, process: subprocess.Popen[bytes], what: str) -> None:
    """Wait until ``process`` writes to ``fd``; a clear error if it dies or hangs."""
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        readable, _, _ = select.select([fd], [], [], 0.05)
        if readable and os.read(fd, 64):
            return
        if process.poll() is not None:
            error = process.stderr.read().decode(errors="replace") if process.stderr else ""
            raise UserError(f"{what} failed to set up the agent's network: {error.strip()}")
    process.kill()
    raise UserError(f"{what} did not set up the agent's network in {_READY_TIMEOUT_S:.0f} s.")


@contextmanager
def _capture(network: AgentNetwork, egress_log: Path) -> Iterator[None]:
    """The egress capture (:mod:`posttrainbench.sandbox._capture`) in the namespace."""
    egress_log.parent.mkdir(parents=True, exist_ok=True)
    ready_read, ready_write = os.pipe()
    argv = network.wrap(
        [sys.executable, "-I", "-S", str(Path(__file__).with_name("_capture.py")), _TAP]
    )
    try:
        process = subprocess.Popen(
            [*argv, str(egress_log), str(ready_write)],
            pass_fds=(ready_write,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    finally:
        os.close(ready_write)
    try:
        _wait_ready(ready_read, process, "the egress capture")
        yield
    finally:
        os.close(ready_read)
        process.send_signal(signal.SIGTERM)  # it writes the open connections, then exits
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
