"""Where Paysage may POST a storefront's status changes: a URL given by an API client is a server-side
request forgery waiting to happen (the metadata service, the database, the admin on localhost), so in qa
and prod only https to a host whose every address is public is taken, checked when the URL is registered
and again before each delivery (a name that resolved to a public address may later resolve to a private
one). Redirects are never followed by the sender. In dev, where storefronts and simulators run locally,
http and local addresses are allowed."""

import ipaddress
import socket
from collections.abc import Callable
from urllib.parse import urlsplit

from portal.pci import card_numbers_find

Resolve = Callable[[str, int], list[str]]


class CallbackUrlRefused(ValueError):
    pass


def host_addresses(host: str, port: int) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)})


def _address_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def callback_url_check(url: str, *, production: bool, resolve: Resolve | None = None) -> None:
    """Refuse, naming why, a URL Paysage must not call."""
    resolve = resolve or host_addresses
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise CallbackUrlRefused("must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise CallbackUrlRefused("must not carry credentials")
    if card_numbers_find(url):
        # A URL is stored and called as it is: it cannot be masked, so one holding a card number is refused.
        raise CallbackUrlRefused("must not hold a card number")
    if not production:
        return
    if parts.scheme != "https":
        raise CallbackUrlRefused("must use https")
    try:
        port = parts.port or 443
        addresses = resolve(parts.hostname, port)
    except (OSError, ValueError) as exc:
        raise CallbackUrlRefused(f"host {parts.hostname} does not resolve") from exc
    if not addresses or not all(_address_public(address) for address in addresses):
        raise CallbackUrlRefused(f"host {parts.hostname} is not a public address")
