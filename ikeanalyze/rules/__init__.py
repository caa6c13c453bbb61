"""Every rule module, imported explicitly so the registry is static and greppable."""

from ikeanalyze.rules import (  # noqa: F401
    ike101_oneway_nat_keepalive,
    ike102_udp_path_stalled,
    ike103_ike_over_tcp,
    ike104_manual_tcp_fallback,
    ike105_sa_init_unanswered,
    ike106_natt_port_blocked,
    ike107_fragments_lost,
    ike108_esp_one_way,
    ike109_network_unreachable,
    ike110_tcp_transport_broken,
    ike111_nat_mapping_changed,
    ike201_p1_proposal_mismatch,
    ike202_p2_proposal_mismatch,
    ike203_ts_mismatch,
    ike204_psk_mismatch,
    ike205_invalid_ke,
    ike206_peer_id_mismatch,
    ike207_cert_auth_failure,
    ike208_user_auth_failure,
    ike209_gateway_refused,
    ike210_negotiation_timeout,
    ike211_aggressive_dh_mismatch,
    ike212_eap_no_response,
    ike213_auth_daemon_restart,
    ike214_no_selector_match,
    ike301_dpd_failure,
    ike302_rekey_failure,
    ike303_unknown_spi,
    ike304_ike_retransmissions,
    ike901_unrecognised_input,
    ike902_truncated_input,
    ike903_no_ike_content,
)
from ikeanalyze.rules.registry import REGISTRY, Rule, resolve, run, select, thresholds_for

__all__ = ["REGISTRY", "Rule", "resolve", "run", "select", "thresholds_for"]
