"""How the project writes an address and port, and reads it back: `192.0.2.1:500`, and for
IPv6 `[2001:db8::1]:500` (RFC 3986's brackets, as RFC 5952 section 6 recommends), since
`2001:db8::1:500` is itself an IPv6 address. Every message, fact and `--peer` goes through here."""

from __future__ import annotations

import ipaddress
import math


def endpoint(address: object, port: object = None) -> str:
    """`address:port`, the IPv6 address in brackets; the address alone when ``port`` is
    None or NaN (ESP has no port)."""
    text = str(address)
    if port is None or (isinstance(port, float) and math.isnan(port)) or _missing(port):
        return text
    return f"[{text}]:{int(port)}" if ":" in text else f"{text}:{int(port)}"


def gateway_end(address: object, port: object = None) -> str:
    """A gateway's end as its own lines name it: port 0 (a tunnel list's `x.x.x.x:0`, `IPsec
    SA connect 6 a->b:0`: a port not chosen) is no port."""
    known = not (port is None or (isinstance(port, float) and math.isnan(port)) or _missing(port)) and int(port) != 0
    return endpoint(address, port if known else None)


def _missing(value: object) -> bool:
    # pandas' NA and NaT (without importing pandas: this module is on the start-up path)
    return type(value).__name__ in ("NAType", "NaTType")


def split(text: str) -> tuple[str, int | None]:
    """(address, port) of an endpoint :func:`endpoint` wrote, or of an address alone: an
    IPv6 address without brackets has no port (`2001:db8::1:500` is an address)."""
    if text.startswith("["):
        address, _, rest = text[1:].partition("]")
        return address, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if text.count(":") == 1:
        address, _, port = text.partition(":")
        if port.isdigit() and address:
            return address, int(port)
    return text, None


PORT_MAX = 65535


def parse(text: str) -> tuple[str, int | None]:
    """(address, port) of what a person typed (`--peer`): `IP`, `IP:PORT` or `[IPv6]:PORT`,
    strictly: a ValueError names what is wrong (a port that is not 0-65535 in ASCII digits,
    a `[` without its `]`)."""
    if text.startswith("["):
        address, close, rest = text[1:].partition("]")
        if not close or not address or (rest and not rest.startswith(":")):
            raise ValueError("an IPv6 address in brackets is `[2001:db8::1]` or `[2001:db8::1]:4500`")
        port = rest[1:] if rest else None
    elif text.count(":") == 1:
        address, _, port = text.partition(":")
    else:
        address, port = text, None
    if not address:
        raise ValueError("no address")
    if port is None:
        return address, None
    if not (port.isascii() and port.isdigit()) or int(port) > PORT_MAX:
        raise ValueError(f"the port must be a number from 0 to {PORT_MAX}")
    return address, int(port)


def host(text: str) -> str:
    """The address of an endpoint (or the text itself when it is an address)."""
    return split(text)[0]


def address(text: object) -> str | None:
    """The address of an endpoint text when it is one, else None: published pastes blank
    the gateway (`x.x.x.x:0`, `y.y.y.y`, `<redacted>`, `*.*.*.*`, `(client's ip):885`), and
    a sentence or a debug filter naming that placeholder would read as an address."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return str(ipaddress.ip_address(host(text)))
    except ValueError:
        return None


def endpoints(addresses, ports):
    """:func:`endpoint` of pandas columns, whole column: `address:port`, IPv6 in brackets
    (the port as the column prints it)."""
    text = addresses.astype(str)
    return text.where(~text.str.contains(":", regex=False), "[" + text + "]") + ":" + ports.astype(str)
