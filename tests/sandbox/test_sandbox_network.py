"""The network policy's parts: policy parsing, the nftables filter, the egress capture's parsers.

The policy against a real agent is tested in tests/trial/test_network_policy.py.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import ssl
import struct
import subprocess

import pytest

from posttrainbench.errors import UserError
from posttrainbench.sandbox import NetworkPolicy
from posttrainbench.sandbox._capture import _dns, _server_name
from posttrainbench.sandbox.network import (
    NetworkTools,
    allowed_destinations,
    bridged_networks,
    filter_ruleset,
    parse_allow_entry,
)

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("entry", "parsed"),
    [
        ("pypi.org", ("pypi.org", None)),
        ("files.pythonhosted.org:443", ("files.pythonhosted.org", 443)),
        ("192.0.2.7", ("192.0.2.7", None)),
        (" 198.51.100.0/24:8080 ", ("198.51.100.0/24", 8080)),
    ],
)
def test_allow_entries_parse(entry: str, parsed: tuple[str, int | None]) -> None:
    assert parse_allow_entry(entry) == parsed


@pytest.mark.parametrize(
    "entry",
    ["", "a b", "https://pypi.org", "pypi.org:0", "pypi.org:65536", "[::1]:443", "10.0.0.0/33"],
)
def test_bad_allow_entries_are_refused(entry: str) -> None:
    with pytest.raises(ValueError):
        parse_allow_entry(entry)


@pytest.mark.parametrize(
    ("mode", "hosts", "message"),
    [
        ("open", (), "'internet', 'none' or 'allow'"),
        ("allow", (), "needs at least one host"),
        ("none", ("pypi.org",), "only with network 'allow'"),
        ("allow", ("pypi.org:http",), "optional :PORT"),
    ],
)
def test_bad_policies_are_one_clear_error(mode: str, hosts: tuple[str, ...], message: str) -> None:
    with pytest.raises(UserError, match=message):
        NetworkPolicy.from_options(mode, hosts)


def test_allowed_names_resolve_and_addresses_stay() -> None:
    # localhost resolves from /etc/hosts: no query leaves the machine.
    policy = NetworkPolicy(mode="allow", allow=("localhost:80", "192.0.2.0/28"))
    destinations = {(str(d.network), d.port) for d in allowed_destinations(policy)}
    assert destinations == {("127.0.0.1/32", 80), ("192.0.2.0/28", None)}


def test_missing_tools_name_the_packages_to_install() -> None:
    tools = NetworkTools({"ip": "/usr/sbin/ip", "slirp4netns": None, "nft": None})
    reason = tools.unavailable_reason()
    assert reason is not None
    if "root" not in reason:
        assert "apt-get install slirp4netns nftables" in reason and "--network none" in reason


@pytest.mark.parametrize("mode", ["internet", "allow"])
def test_the_filter_is_valid_nftables(mode: str) -> None:
    nft = shutil.which("nft", path="/usr/sbin:/usr/bin:/sbin")
    if nft is None or shutil.which("unshare") is None:
        pytest.skip("nft or unshare missing (apt-get install nftables util-linux)")
    allow = ("192.0.2.7:443", "198.51.100.0/24") if mode == "allow" else ()
    policy = NetworkPolicy(mode=mode, allow=allow)  # type: ignore[arg-type]
    host = [ipaddress.IPv4Network("192.0.2.2/32")]
    ruleset = filter_ruleset(policy, host, allowed_destinations(policy))
    # Checked by the kernel in a throwaway namespace (nothing is installed).
    check = ["unshare", "--net", nft, "--check", "-f", "-"]
    checked = subprocess.run(check, input=ruleset, capture_output=True, text=True)
    if checked.returncode != 0 and "Operation not permitted" in checked.stderr:
        pytest.skip("creating a network namespace needs root here")
    assert checked.returncode == 0, checked.stderr
    # The host is refused before anything is accepted, and only allow lists destinations.
    assert ruleset.index("192.0.2.2/32") < ruleset.index("ip daddr 10.0.2.3")
    assert ("meta nfproto ipv4 accept" in ruleset) is (mode == "internet")
    assert ("ip daddr 192.0.2.7/32 meta l4proto { tcp, udp } th dport 443" in ruleset) is (
        mode == "allow"
    )


def test_the_server_name_of_a_real_tls_client_hello() -> None:
    context = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = context.wrap_bio(incoming, outgoing, server_hostname="API.Anthropic.com")
    with pytest.raises(ssl.SSLWantReadError):
        client.do_handshake()
    assert _server_name(outgoing.read()) == "api.anthropic.com"
    assert _server_name(b"GET / HTTP/1.1\r\nHost: api.openai.com:443\r\n\r\n") == "api.openai.com"
    assert _server_name(b"\x00\x01binary") is None


def test_dns_answers_name_their_addresses() -> None:
    name = b"".join(bytes([len(part)]) + part for part in (b"api", b"openai", b"com")) + b"\0"
    question = struct.pack("!HHHHHH", 7, 0x8180, 1, 2, 0, 0) + name + struct.pack("!HH", 1, 1)
    answers = b"".join(
        b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(address)
        for address in ("198.51.100.7", "198.51.100.8")
    )
    assert _dns(question + answers) == ("api.openai.com", ["198.51.100.7", "198.51.100.8"])


def test_container_bridges_are_host_networks_and_the_lan_is_not() -> None:
    routes: list[dict[str, object]] = [
        {"dst": "default", "gateway": "192.0.2.1", "dev": "eth0"},
        {"dst": "192.0.2.0/24", "dev": "eth0", "protocol": "kernel"},
        {"dst": "172.17.0.0/16", "dev": "docker0", "protocol": "kernel"},
        {"dst": "10.88.0.0/16", "dev": "podman0", "protocol": "kernel"},
        {"dst": "198.51.100.9", "dev": "veth0"},  # a route set by hand
    ]
    assert [str(net) for net in bridged_networks(routes)] == ["10.88.0.0/16", "172.17.0.0/16"]
