"""Who the client is: the peer, unless the peer is one of the hall's own proxies.

Behind nginx every request comes from nginx's address. The client's own address is then the one
nginx appends to `X-Forwarded-For`, and only nginx may say so: a header sent by anyone else is
ignored, or a guesser would name a new address with each try. The hall's config lists its
proxies (`[server] trusted_proxies`, addresses or CIDR networks); for a request from one of
them, the client is the right-most `X-Forwarded-For` entry that is not itself a trusted proxy
(proxies append, so entries left of that were written by the client and prove nothing).

Everything that asks "who is this" reads `REMOTE_ADDR` (Flask's `request.remote_addr`): the
login lockout, the audit trail, the rate limits, the socket gate. The proxy's own address stays
in `hall.proxy_addr`.

`X-Forwarded-Proto` (did the client come over https: HSTS, Secure cookies, the Socket.IO origin)
is the proxy's word too: with proxies listed, the header from anyone else is dropped. With none
listed it is believed as before, so a hall behind a TLS proxy it has not listed yet keeps its
Secure cookies.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _address(text: str):
    text = text.strip()
    if text.startswith("[") and "]" in text:       # [v6]:port
        text = text[1:text.index("]")]
    elif text.count(":") == 1:                     # v4:port
        text = text.split(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    ip = _address(address or "")
    return ip is not None and any(ip in net for net in proxies)


def client_address(peer: str, forwarded_for: str, proxies: tuple[Network, ...]) -> str:
    """The client's address for a request from `peer` carrying this X-Forwarded-For."""
    if not proxies or not trusted(peer, proxies):
        return peer
    for entry in reversed([e for e in forwarded_for.split(",") if e.strip()]):
        ip = _address(entry)
        if ip is None:
            return peer                  # garbage from a client, past our proxies: the last trusted hop
        if not any(ip in net for net in proxies):
            return str(ip)
        peer = str(ip)
    return peer


class TrustedProxies:
    """WSGI middleware: REMOTE_ADDR becomes the client's address (see the module's notes)."""

    def __init__(self, app, proxies: Iterable[str]):
        self.app = app
        self.proxies = networks(proxies)

    def __call__(self, environ, start_response):
        peer = environ.get("REMOTE_ADDR", "")
        from_proxy = trusted(peer, self.proxies)
        environ["hall.proxy_addr"] = peer if from_proxy else ""
        if self.proxies and not from_proxy:
            environ.pop("HTTP_X_FORWARDED_PROTO", None)
        environ["REMOTE_ADDR"] = client_address(peer, environ.get("HTTP_X_FORWARDED_FOR", ""), self.proxies)
        return self.app(environ, start_response)
