"""Well-known IPsec ports (IANA service name registry)."""

IKE_PORT = 500  # isakmp, RFC 7296 §2
IKE_NATT_PORT = 4500  # ipsec-nat-t, RFC 3948
# FortiOS `config system settings / set ike-tcp-port` default; RFC 8229 itself names no port.
FORTIOS_IKE_TCP_PORT = 443


def given_tcp_ports(options) -> frozenset[int]:
    """The `--ike-tcp-port`s of ``options``, as the user gave them (4500 among them or not)."""
    return frozenset(getattr(options, "ike_tcp_ports", ()) or ())


def tcp_ike_ports(options) -> frozenset[int]:
    """The TCP ports whose streams a capture reader keeps as IKE over TCP even without the
    `IKETCP` prefix: TCP 4500, IKE's own port (a connection reset there is IKE110's
    evidence, in a capture as in sniffer text), and the `--ike-tcp-port`s of ``options``."""
    return given_tcp_ports(options) | {IKE_NATT_PORT}
