"""Well-known IPsec ports (IANA service name registry)."""

IKE_PORT = 500  # isakmp, RFC 7296 §2
IKE_NATT_PORT = 4500  # ipsec-nat-t, RFC 3948
# FortiOS `config system settings / set ike-tcp-port` default; RFC 8229 itself names no port.
FORTIOS_IKE_TCP_PORT = 443
