"""ikeanalyze: diagnose IPsec/IKE problems from captures and FortiGate text.

    >>> import ikeanalyze
    >>> d = ikeanalyze.analyze(["samples/forticlient-udp-fallback-tcp.txt"])
    >>> ikeanalyze.render(d, "json")

Heavy modules (pandas, pyarrow) are imported on first use, so `ikeanalyze --help` is fast.
"""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["load", "diagnose", "render", "analyze", "__version__"]


def __getattr__(name: str):
    if name in ("load", "diagnose", "render", "analyze", "focus"):
        from ikeanalyze import api

        return getattr(api, name)
    raise AttributeError(name)
