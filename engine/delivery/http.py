"""The one outbound HTTP client of the delivery channels: every webhook and robot call goes through
`post_json`. The target is resolved and checked against the allow-list first, and the connection goes to
the address that was checked (no DNS rebinding, no redirects followed), so a rule author cannot make the
server call into the private network.
"""
from __future__ import annotations

import http.client
import ipaddress
import json
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from engine.audit.changelog import masked_address
from engine.core.config import load_settings

MAX_ANSWER_BYTES = 64 * 1024
USER_AGENT = "CivicRules-Notify/1"


class Refused(Exception):
    """A target the allow-list forbids: a permanent failure, never retried."""


def _allow_list() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    hosts: set[str] = set()
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for item in load_settings().delivery.webhook_allow.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            hosts.add(item.lower().rstrip("."))
    return hosts, networks


NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
IPv4_COMPATIBLE = ipaddress.ip_network("::/96")
IPv4_TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # SIIT (RFC 2765)
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def reached(ip: Address) -> list[Address]:
    """Every address the packets may reach: the address itself and each IPv4 address an IPv6 form carries
    (mapped, compatible, translated, NAT64, 6to4 and Teredo), so no spelling hides a private one."""
    forms: list[Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            forms.append(ip.ipv4_mapped)
        if ip in IPv4_COMPATIBLE and int(ip) > 1:
            forms.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip in IPv4_TRANSLATED or any(ip in net for net in NAT64):
            forms.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        if ip.sixtofour is not None:
            forms.append(ip.sixtofour)
        if ip.teredo is not None:
            forms.extend(ip.teredo)
    return forms


def _public(ip: Address) -> bool:
    return ip.is_global and not ip.is_multicast and not (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local)


def check_address(address: str, host: str) -> Address:
    """Refuse an address the allow-list does not cover: any form of it private, loopback, link-local or reserved."""
    hosts, networks = _allow_list()
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 scope (fe80::1%eth0) names no other host
    forms = reached(ip)
    named = host.lower().rstrip(".") in hosts
    if named or all(_public(form) for form in forms) or any(form in net for form in forms for net in networks):
        return ip
    raise Refused(f"address {ip} of {host!r} is private, loopback, link-local or reserved and not in "
                  f"CIVICRULES_WEBHOOK_ALLOW / 目标地址 {ip} 属于内网、回环、链路本地或保留地址，且不在允许列表中")


def resolve_allowed(host: str, port: int) -> str:
    """The address to connect to: every address the host resolves to must be public or allowed."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConnectionError(f"cannot resolve {host!r}: {exc}") from exc
    addresses = [info[4][0] for info in infos]
    for address in addresses:
        check_address(address, host)
    return addresses[0]


def _connect(host: str, address: str, port: int, connect_timeout: float, read_timeout: float) -> socket.socket:
    """Connect to the checked address within `connect_timeout`, then check the peer the socket really reached
    before sending a byte; every later wait on the socket may take `read_timeout`."""
    sock = socket.create_connection((address, port), connect_timeout)
    try:
        check_address(sock.getpeername()[0], host)
    except Exception:
        sock.close()
        raise
    sock.settimeout(read_timeout)
    return sock


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, connect_timeout: float, read_timeout: float) -> None:
        super().__init__(host, port, timeout=read_timeout)
        self._address, self._connect_timeout = address, connect_timeout

    def connect(self) -> None:
        self.sock = _connect(self.host, self._address, self.port, self._connect_timeout, self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, connect_timeout: float, read_timeout: float) -> None:
        super().__init__(host, port, timeout=read_timeout, context=ssl.create_default_context())
        self._address, self._connect_timeout = address, connect_timeout

    def connect(self) -> None:
        sock = _connect(self.host, self._address, self.port, self._connect_timeout, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None


def post_json(url: str, body: bytes, headers: dict[str, str], connect_timeout: float, read_timeout: float) -> Answer:
    """POST to an allowed address; a receiver that does not accept within `connect_timeout` or goes silent for
    `read_timeout` (CIVICRULES_HTTP_*_TIMEOUT) ends the call with a timeout. Redirects are answers, not followed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = masked_address(url) if "://" in url else url[:4] + "…"  # never the key an address may carry
        raise Refused(f"not an http(s) URL: {shown!r} / 不是 http(s) 地址")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve_allowed(parts.hostname, port)
    connection_class = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    conn = connection_class(parts.hostname, port, address, connect_timeout, read_timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json; charset=utf-8",
                                                        "User-Agent": USER_AGENT, **headers})
        response = conn.getresponse()
        return Answer(response.status, response.read(MAX_ANSWER_BYTES))
    finally:
        conn.close()
