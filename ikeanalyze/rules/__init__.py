"""Every rule module, imported explicitly so the registry is static and greppable."""

from ikeanalyze.rules import (  # noqa: F401
    ike101_oneway_nat_keepalive,
    ike102_udp_path_stalled,
    ike103_ike_over_tcp,
    ike104_manual_tcp_fallback,
)
from ikeanalyze.rules.registry import REGISTRY, Rule, resolve, run, select, thresholds_for

__all__ = ["REGISTRY", "Rule", "resolve", "run", "select", "thresholds_for"]
