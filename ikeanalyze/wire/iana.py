"""Protocol numbers of IKEv1/ISAKMP, IKEv2 and IPsec, named once.

Every table cites the IANA registry it was transcribed from (read 2025; numbers are
permanent, names follow the registry's short form). Code compares against the named
constants (``exchange == EXCHANGE_IKE_SA_INIT``), never bare numbers.

Name vocabulary used in the event table:

* IKEv2 exchanges drop the ``IKE_`` prefix as FortiOS does (``SA_INIT``, ``AUTH``,
  ``CREATE_CHILD_SA``, ``INFORMATIONAL``, ``INTERMEDIATE``); IKEv1 exchanges use the
  registry's words (``Identity Protection`` = main mode, ``Aggressive``, ``Quick Mode``,
  ``Informational``, ``Transaction`` = mode-config/XAUTH).
* payloads use the RFC notation (IKEv2: ``SA KE IDi IDr CERT CERTREQ AUTH Nonce N D V TSi
  TSr SK CP EAP SKF``; IKEv1: ``SA P T KE ID CERT CR HASH SIG NONCE N D VID ATTR NAT-D
  NAT-OA FRAG``).
* notify types use the registry names (IKEv2 underscores, IKEv1 hyphens).
"""

from __future__ import annotations

# --------------------------------------------------------------------------- IKEv2
# https://www.iana.org/assignments/ikev2-parameters/ikev2-parameters.xhtml#ikev2-parameters-1
EXCHANGE_IKE_SA_INIT = 34
EXCHANGE_IKE_AUTH = 35
EXCHANGE_CREATE_CHILD_SA = 36
EXCHANGE_INFORMATIONAL = 37
EXCHANGE_IKE_SESSION_RESUME = 38
EXCHANGE_GSA_AUTH = 39
EXCHANGE_GSA_REGISTRATION = 40
EXCHANGE_GSA_REKEY = 41
EXCHANGE_IKE_INTERMEDIATE = 43  # RFC 9242
EXCHANGE_IKE_FOLLOWUP_KE = 44  # RFC 9370
EXCHANGES_V2: dict[int, str] = {
    EXCHANGE_IKE_SA_INIT: "SA_INIT",
    EXCHANGE_IKE_AUTH: "AUTH",
    EXCHANGE_CREATE_CHILD_SA: "CREATE_CHILD_SA",
    EXCHANGE_INFORMATIONAL: "INFORMATIONAL",
    EXCHANGE_IKE_SESSION_RESUME: "SESSION_RESUME",
    EXCHANGE_GSA_AUTH: "GSA_AUTH",
    EXCHANGE_GSA_REGISTRATION: "GSA_REGISTRATION",
    EXCHANGE_GSA_REKEY: "GSA_REKEY",
    EXCHANGE_IKE_INTERMEDIATE: "INTERMEDIATE",
    EXCHANGE_IKE_FOLLOWUP_KE: "FOLLOWUP_KE",
}

# Header flags (RFC 7296 §3.1)
FLAG_V2_INITIATOR = 0x08
FLAG_V2_VERSION = 0x10
FLAG_V2_RESPONSE = 0x20
# IKEv1 header flags (RFC 2408 §3.1)
FLAG_V1_ENCRYPTION = 0x01
FLAG_V1_COMMIT = 0x02
FLAG_V1_AUTH_ONLY = 0x04

# https://www.iana.org/assignments/ikev2-parameters/ikev2-parameters.xhtml#ikev2-parameters-2
PAYLOAD_NONE = 0
PAYLOAD_SA = 33
PAYLOAD_KE = 34
PAYLOAD_IDI = 35
PAYLOAD_IDR = 36
PAYLOAD_CERT = 37
PAYLOAD_CERTREQ = 38
PAYLOAD_AUTH = 39
PAYLOAD_NONCE = 40
PAYLOAD_NOTIFY = 41
PAYLOAD_DELETE = 42
PAYLOAD_VENDOR_ID = 43
PAYLOAD_TSI = 44
PAYLOAD_TSR = 45
PAYLOAD_SK = 46
PAYLOAD_CP = 47
PAYLOAD_EAP = 48
PAYLOAD_GSPM = 49
PAYLOAD_IDG = 50
PAYLOAD_GSA = 51
PAYLOAD_KD = 52
PAYLOAD_SKF = 53  # RFC 7383
PAYLOAD_PS = 54

# Traffic selector types (RFC 7296 §3.13.1; IANA "IKEv2 Traffic Selector Types"): the
# address ranges, with the length of one address.
TS_IPV4_ADDR_RANGE = 7
TS_IPV6_ADDR_RANGE = 8
TS_ADDRESS_BYTES = {TS_IPV4_ADDR_RANGE: 4, TS_IPV6_ADDR_RANGE: 16}
PAYLOADS_V2: dict[int, str] = {
    PAYLOAD_SA: "SA",
    PAYLOAD_KE: "KE",
    PAYLOAD_IDI: "IDi",
    PAYLOAD_IDR: "IDr",
    PAYLOAD_CERT: "CERT",
    PAYLOAD_CERTREQ: "CERTREQ",
    PAYLOAD_AUTH: "AUTH",
    PAYLOAD_NONCE: "Nonce",
    PAYLOAD_NOTIFY: "N",
    PAYLOAD_DELETE: "D",
    PAYLOAD_VENDOR_ID: "V",
    PAYLOAD_TSI: "TSi",
    PAYLOAD_TSR: "TSr",
    PAYLOAD_SK: "SK",
    PAYLOAD_CP: "CP",
    PAYLOAD_EAP: "EAP",
    PAYLOAD_GSPM: "GSPM",
    PAYLOAD_IDG: "IDg",
    PAYLOAD_GSA: "GSA",
    PAYLOAD_KD: "KD",
    PAYLOAD_SKF: "SKF",
    PAYLOAD_PS: "PS",
}

# https://www.iana.org/assignments/ikev2-parameters/ikev2-parameters.xhtml#ikev2-parameters-14
NOTIFY_UNSUPPORTED_CRITICAL_PAYLOAD = 1
NOTIFY_INVALID_IKE_SPI = 4
NOTIFY_INVALID_MAJOR_VERSION = 5
NOTIFY_INVALID_SYNTAX = 7
NOTIFY_INVALID_MESSAGE_ID = 9
NOTIFY_INVALID_SPI = 11
NOTIFY_NO_PROPOSAL_CHOSEN = 14
NOTIFY_INVALID_KE_PAYLOAD = 17
NOTIFY_AUTHENTICATION_FAILED = 24
NOTIFY_SINGLE_PAIR_REQUIRED = 34
NOTIFY_NO_ADDITIONAL_SAS = 35
NOTIFY_INTERNAL_ADDRESS_FAILURE = 36
NOTIFY_FAILED_CP_REQUIRED = 37
NOTIFY_TS_UNACCEPTABLE = 38
NOTIFY_INVALID_SELECTORS = 39
NOTIFY_TEMPORARY_FAILURE = 43
NOTIFY_CHILD_SA_NOT_FOUND = 44
NOTIFY_INITIAL_CONTACT = 16384
NOTIFY_NAT_DETECTION_SOURCE_IP = 16388
NOTIFY_NAT_DETECTION_DESTINATION_IP = 16389
NOTIFY_COOKIE = 16390
NOTIFY_REDIRECT = 16407
NOTIFY_IKEV2_FRAGMENTATION_SUPPORTED = 16430
NOTIFY_INTERMEDIATE_EXCHANGE_SUPPORTED = 16438
NOTIFY_V2_ERROR_MAX = 16383  # types below 16384 are errors (RFC 7296 §3.10.1)

NOTIFY_V2_ERRORS: dict[int, str] = {
    1: "UNSUPPORTED_CRITICAL_PAYLOAD",
    4: "INVALID_IKE_SPI",
    5: "INVALID_MAJOR_VERSION",
    7: "INVALID_SYNTAX",
    9: "INVALID_MESSAGE_ID",
    11: "INVALID_SPI",
    14: "NO_PROPOSAL_CHOSEN",
    17: "INVALID_KE_PAYLOAD",
    24: "AUTHENTICATION_FAILED",
    34: "SINGLE_PAIR_REQUIRED",
    35: "NO_ADDITIONAL_SAS",
    36: "INTERNAL_ADDRESS_FAILURE",
    37: "FAILED_CP_REQUIRED",
    38: "TS_UNACCEPTABLE",
    39: "INVALID_SELECTORS",
    40: "UNACCEPTABLE_ADDRESSES",
    41: "UNEXPECTED_NAT_DETECTED",
    42: "USE_ASSIGNED_HoA",
    43: "TEMPORARY_FAILURE",
    44: "CHILD_SA_NOT_FOUND",
    45: "INVALID_GROUP_ID",
    46: "AUTHORIZATION_FAILED",
    47: "STATE_NOT_FOUND",
}
NOTIFY_V2_STATUS: dict[int, str] = {
    16384: "INITIAL_CONTACT",
    16385: "SET_WINDOW_SIZE",
    16386: "ADDITIONAL_TS_POSSIBLE",
    16387: "IPCOMP_SUPPORTED",
    16388: "NAT_DETECTION_SOURCE_IP",
    16389: "NAT_DETECTION_DESTINATION_IP",
    16390: "COOKIE",
    16391: "USE_TRANSPORT_MODE",
    16392: "HTTP_CERT_LOOKUP_SUPPORTED",
    16393: "REKEY_SA",
    16394: "ESP_TFC_PADDING_NOT_SUPPORTED",
    16395: "NON_FIRST_FRAGMENTS_ALSO",
    16396: "MOBIKE_SUPPORTED",
    16397: "ADDITIONAL_IP4_ADDRESS",
    16398: "ADDITIONAL_IP6_ADDRESS",
    16399: "NO_ADDITIONAL_ADDRESSES",
    16400: "UPDATE_SA_ADDRESSES",
    16401: "COOKIE2",
    16402: "NO_NATS_ALLOWED",
    16403: "AUTH_LIFETIME",
    16404: "MULTIPLE_AUTH_SUPPORTED",
    16405: "ANOTHER_AUTH_FOLLOWS",
    16406: "REDIRECT_SUPPORTED",
    16407: "REDIRECT",
    16408: "REDIRECTED_FROM",
    16409: "TICKET_LT_OPAQUE",
    16410: "TICKET_REQUEST",
    16411: "TICKET_ACK",
    16412: "TICKET_NACK",
    16413: "TICKET_OPAQUE",
    16414: "LINK_ID",
    16415: "USE_WESP_MODE",
    16416: "ROHC_SUPPORTED",
    16417: "EAP_ONLY_AUTHENTICATION",
    16418: "CHILDLESS_IKEV2_SUPPORTED",
    16419: "QUICK_CRASH_DETECTION",
    16420: "IKEV2_MESSAGE_ID_SYNC_SUPPORTED",
    16421: "IPSEC_REPLAY_COUNTER_SYNC_SUPPORTED",
    16422: "IKEV2_MESSAGE_ID_SYNC",
    16423: "IPSEC_REPLAY_COUNTER_SYNC",
    16424: "SECURE_PASSWORD_METHODS",
    16425: "PSK_PERSIST",
    16426: "PSK_CONFIRM",
    16427: "ERX_SUPPORTED",
    16428: "IFOM_CAPABILITY",
    16429: "SENDER_REQUEST_ID",
    16430: "IKEV2_FRAGMENTATION_SUPPORTED",
    16431: "SIGNATURE_HASH_ALGORITHMS",
    16432: "CLONE_IKE_SA_SUPPORTED",
    16433: "CLONE_IKE_SA",
    16434: "PUZZLE",
    16435: "USE_PPK",
    16436: "PPK_IDENTITY",
    16437: "NO_PPK_AUTH",
    16438: "INTERMEDIATE_EXCHANGE_SUPPORTED",
    16439: "IP4_ALLOWED",
    16440: "IP6_ALLOWED",
    16441: "ADDITIONAL_KEY_EXCHANGE",
    16442: "USE_AGGFRAG",
    16443: "SUPPORTED_AUTH_METHODS",
}
NOTIFY_V2: dict[int, str] = {**NOTIFY_V2_ERRORS, **NOTIFY_V2_STATUS}

# Protocol IDs in proposals: ikev2-parameters-18; IKEv1: isakmp-registry-4
PROTOCOLS_V2: dict[int, str] = {1: "IKE", 2: "AH", 3: "ESP"}
PROTOCOLS_V1: dict[int, str] = {1: "ISAKMP", 2: "IPSEC_AH", 3: "IPSEC_ESP", 4: "IPCOMP"}

# https://www.iana.org/assignments/ikev2-parameters/ikev2-parameters.xhtml#ikev2-parameters-3
TRANSFORM_ENCR = 1
TRANSFORM_PRF = 2
TRANSFORM_INTEG = 3
TRANSFORM_DH = 4  # "Key Exchange Method (KE)" since RFC 9370
TRANSFORM_ESN = 5
TRANSFORM_TYPES: dict[int, str] = {
    TRANSFORM_ENCR: "ENCR",
    TRANSFORM_PRF: "PRF",
    TRANSFORM_INTEG: "INTEG",
    TRANSFORM_DH: "DH",
    TRANSFORM_ESN: "ESN",
    **{5 + n: f"ADDKE{n}" for n in range(1, 8)},  # RFC 9370
}
# Transform attribute types (ikev2-parameters-21)
ATTR_KEY_LENGTH = 14

# https://www.iana.org/assignments/ikev2-parameters/ikev2-parameters.xhtml#ikev2-parameters-5
ENCR: dict[int, str] = {
    1: "DES_IV64",
    2: "DES",
    3: "3DES",
    4: "RC5",
    5: "IDEA",
    6: "CAST",
    7: "BLOWFISH",
    8: "3IDEA",
    9: "DES_IV32",
    11: "NULL",
    12: "AES_CBC",
    13: "AES_CTR",
    14: "AES_CCM_8",
    15: "AES_CCM_12",
    16: "AES_CCM_16",
    18: "AES_GCM_8",
    19: "AES_GCM_12",
    20: "AES_GCM_16",
    21: "NULL_AUTH_AES_GMAC",
    23: "CAMELLIA_CBC",
    24: "CAMELLIA_CTR",
    25: "CAMELLIA_CCM_8",
    26: "CAMELLIA_CCM_12",
    27: "CAMELLIA_CCM_16",
    28: "CHACHA20_POLY1305",
    29: "AES_CCM_8_IIV",
    30: "AES_GCM_16_IIV",
    31: "CHACHA20_POLY1305_IIV",
}
# https://www.iana.org/assignments/ikev2-parameters/ikev2-parameters.xhtml#ikev2-parameters-6
PRF: dict[int, str] = {
    1: "PRF_HMAC_MD5",
    2: "PRF_HMAC_SHA1",
    3: "PRF_HMAC_TIGER",
    4: "PRF_AES128_XCBC",
    5: "PRF_HMAC_SHA2_256",
    6: "PRF_HMAC_SHA2_384",
    7: "PRF_HMAC_SHA2_512",
    8: "PRF_AES128_CMAC",
    9: "PRF_HMAC_STREEBOG_512",
}
# https://www.iana.org/assignments/ikev2-parameters/ikev2-parameters.xhtml#ikev2-parameters-7
INTEG: dict[int, str] = {
    0: "NONE",
    1: "AUTH_HMAC_MD5_96",
    2: "AUTH_HMAC_SHA1_96",
    3: "AUTH_DES_MAC",
    4: "AUTH_KPDK_MD5",
    5: "AUTH_AES_XCBC_96",
    6: "AUTH_HMAC_MD5_128",
    7: "AUTH_HMAC_SHA1_160",
    8: "AUTH_AES_CMAC_96",
    9: "AUTH_AES_128_GMAC",
    10: "AUTH_AES_192_GMAC",
    11: "AUTH_AES_256_GMAC",
    12: "AUTH_HMAC_SHA2_256_128",
    13: "AUTH_HMAC_SHA2_384_192",
    14: "AUTH_HMAC_SHA2_512_256",
}
# https://www.iana.org/assignments/ikev2-parameters/ikev2-parameters.xhtml#ikev2-parameters-8
# (the IKEv1 Group Description values, ipsec-registry-10, use the same numbers)
DH_GROUPS: dict[int, str] = {
    0: "NONE",
    1: "MODP_768",
    2: "MODP_1024",
    3: "EC2N_155",
    4: "EC2N_185",
    5: "MODP_1536",
    14: "MODP_2048",
    15: "MODP_3072",
    16: "MODP_4096",
    17: "MODP_6144",
    18: "MODP_8192",
    19: "ECP_256",
    20: "ECP_384",
    21: "ECP_521",
    22: "MODP_1024_S160",
    23: "MODP_2048_S224",
    24: "MODP_2048_S256",
    25: "ECP_192",
    26: "ECP_224",
    27: "BRAINPOOL_P224",
    28: "BRAINPOOL_P256",
    29: "BRAINPOOL_P384",
    30: "BRAINPOOL_P512",
    31: "CURVE25519",
    32: "CURVE448",
    33: "GOST3410_2012_256",
    34: "GOST3410_2012_512",
    35: "ML_KEM_512",
    36: "ML_KEM_768",
    37: "ML_KEM_1024",
}
ESN: dict[int, str] = {0: "NO_ESN", 1: "ESN"}
TRANSFORM_IDS: dict[int, dict[int, str]] = {
    TRANSFORM_ENCR: ENCR,
    TRANSFORM_PRF: PRF,
    TRANSFORM_INTEG: INTEG,
    TRANSFORM_DH: DH_GROUPS,
    TRANSFORM_ESN: ESN,
}

# --------------------------------------------------------------------------- IKEv1
# https://www.iana.org/assignments/isakmp-registry/isakmp-registry.xhtml#isakmp-registry-2
EXCHANGE_V1_BASE = 1
EXCHANGE_V1_IDENTITY_PROTECTION = 2  # main mode
EXCHANGE_V1_AUTH_ONLY = 3
EXCHANGE_V1_AGGRESSIVE = 4
EXCHANGE_V1_INFORMATIONAL = 5
EXCHANGE_V1_TRANSACTION = 6  # mode-config / XAUTH (draft-dukes-ike-mode-cfg)
EXCHANGE_V1_QUICK_MODE = 32  # RFC 2409
EXCHANGE_V1_NEW_GROUP_MODE = 33
EXCHANGES_V1: dict[int, str] = {
    0: "NONE",
    EXCHANGE_V1_BASE: "Base",
    EXCHANGE_V1_IDENTITY_PROTECTION: "Identity Protection",
    EXCHANGE_V1_AUTH_ONLY: "Authentication Only",
    EXCHANGE_V1_AGGRESSIVE: "Aggressive",
    EXCHANGE_V1_INFORMATIONAL: "Informational",
    EXCHANGE_V1_TRANSACTION: "Transaction",
    EXCHANGE_V1_QUICK_MODE: "Quick Mode",
    EXCHANGE_V1_NEW_GROUP_MODE: "New Group Mode",
}

# https://www.iana.org/assignments/isakmp-registry/isakmp-registry.xhtml#isakmp-registry-1
PAYLOAD_V1_SA = 1
PAYLOAD_V1_PROPOSAL = 2
PAYLOAD_V1_TRANSFORM = 3
PAYLOAD_V1_KE = 4
PAYLOAD_V1_NOTIFY = 11
PAYLOAD_V1_VENDOR_ID = 13
PAYLOAD_V1_NAT_D = 20  # RFC 3947
PAYLOAD_V1_FRAGMENT = 132  # IKEv1 fragmentation (Cisco/Microsoft, private use)
PAYLOADS_V1: dict[int, str] = {
    1: "SA",
    2: "P",
    3: "T",
    4: "KE",
    5: "ID",
    6: "CERT",
    7: "CR",
    8: "HASH",
    9: "SIG",
    10: "NONCE",
    11: "N",
    12: "D",
    13: "VID",
    14: "ATTR",
    15: "SAK",
    16: "SAT",
    17: "KD",
    18: "SEQ",
    19: "POP",
    20: "NAT-D",
    21: "NAT-OA",
    22: "GAP",
    130: "NAT-D",  # draft-ietf-ipsec-nat-t-ike-01..03
    131: "NAT-OA",  # draft-ietf-ipsec-nat-t-ike-01..04
    132: "FRAG",
}

# https://www.iana.org/assignments/isakmp-registry/isakmp-registry.xhtml#isakmp-registry-16
# (RFC 2408 §3.14.1 errors; status 16384+; RFC 3706 DPD in the private range)
NOTIFY_V1_R_U_THERE = 36136
NOTIFY_V1_R_U_THERE_ACK = 36137
NOTIFY_V1: dict[int, str] = {
    1: "INVALID-PAYLOAD-TYPE",
    2: "DOI-NOT-SUPPORTED",
    3: "SITUATION-NOT-SUPPORTED",
    4: "INVALID-COOKIE",
    5: "INVALID-MAJOR-VERSION",
    6: "INVALID-MINOR-VERSION",
    7: "INVALID-EXCHANGE-TYPE",
    8: "INVALID-FLAGS",
    9: "INVALID-MESSAGE-ID",
    10: "INVALID-PROTOCOL-ID",
    11: "INVALID-SPI",
    12: "INVALID-TRANSFORM-ID",
    13: "ATTRIBUTES-NOT-SUPPORTED",
    14: "NO-PROPOSAL-CHOSEN",
    15: "BAD-PROPOSAL-SYNTAX",
    16: "PAYLOAD-MALFORMED",
    17: "INVALID-KEY-INFORMATION",
    18: "INVALID-ID-INFORMATION",
    19: "INVALID-CERT-ENCODING",
    20: "INVALID-CERTIFICATE",
    21: "CERT-TYPE-UNSUPPORTED",
    22: "INVALID-CERT-AUTHORITY",
    23: "INVALID-HASH-INFORMATION",
    24: "AUTHENTICATION-FAILED",
    25: "INVALID-SIGNATURE",
    26: "ADDRESS-NOTIFICATION",
    27: "NOTIFY-SA-LIFETIME",
    28: "CERTIFICATE-UNAVAILABLE",
    29: "UNSUPPORTED-EXCHANGE-TYPE",
    30: "UNEQUAL-PAYLOAD-LENGTHS",
    16384: "CONNECTED",
    24576: "RESPONDER-LIFETIME",  # RFC 2407 §4.6.3
    24577: "REPLAY-STATUS",
    24578: "INITIAL-CONTACT",
    NOTIFY_V1_R_U_THERE: "R-U-THERE",  # RFC 3706
    NOTIFY_V1_R_U_THERE_ACK: "R-U-THERE-ACK",
    40501: "UNITY-LOAD-BALANCE",
}
NOTIFY_V1_ERROR_MAX = 8191

# https://www.iana.org/assignments/ipsec-registry/ipsec-registry.xhtml#ipsec-registry-2
# IKEv1 phase-1 (Oakley) SA attribute classes
OAKLEY_ENCRYPTION = 1
OAKLEY_HASH = 2
OAKLEY_AUTH_METHOD = 3
OAKLEY_GROUP = 4
OAKLEY_LIFE_TYPE = 11
OAKLEY_LIFE_DURATION = 12
OAKLEY_KEY_LENGTH = 14
OAKLEY_ATTRIBUTES: dict[int, str] = {
    1: "Encryption",
    2: "Hash",
    3: "Auth",
    4: "Group",
    5: "Group Type",
    6: "Group Prime",
    7: "Group Generator One",
    8: "Group Generator Two",
    9: "Group Curve A",
    10: "Group Curve B",
    11: "Life Type",
    12: "Life Duration",
    13: "PRF",
    14: "Key Length",
    15: "Field Size",
    16: "Group Order",
}
# ipsec-registry-3
OAKLEY_ENCRYPTION_ALGS: dict[int, str] = {
    1: "DES-CBC",
    2: "IDEA-CBC",
    3: "Blowfish-CBC",
    4: "RC5-R16-B64-CBC",
    5: "3DES-CBC",
    6: "CAST-CBC",
    7: "AES-CBC",
    8: "CAMELLIA-CBC",
}
# ipsec-registry-4
OAKLEY_HASH_ALGS: dict[int, str] = {
    1: "MD5",
    2: "SHA",
    3: "Tiger",
    4: "SHA2-256",
    5: "SHA2-384",
    6: "SHA2-512",
}
# ipsec-registry-5 (+ XAUTH / hybrid values from draft-beaulieu-ike-xauth-02, private use)
OAKLEY_AUTH_METHODS: dict[int, str] = {
    1: "PSK",
    2: "DSS",
    3: "RSA-SIG",
    4: "RSA-ENC",
    5: "RSA-ENC-REV",
    9: "ECDSA-SHA256-P256",
    10: "ECDSA-SHA384-P384",
    11: "ECDSA-SHA512-P521",
    64221: "HybridInitRSA",
    64222: "HybridRespRSA",
    64223: "HybridInitDSS",
    64224: "HybridRespDSS",
    65001: "XAUTHInitPreShared",
    65002: "XAUTHRespPreShared",
    65003: "XAUTHInitDSS",
    65004: "XAUTHRespDSS",
    65005: "XAUTHInitRSA",
    65006: "XAUTHRespRSA",
    65007: "XAUTHInitRSAEncryption",
    65008: "XAUTHRespRSAEncryption",
    65009: "XAUTHInitRSARevisedEncryption",
    65010: "XAUTHRespRSARevisedEncryption",
}
OAKLEY_LIFE_TYPES: dict[int, str] = {1: "seconds", 2: "kilobytes"}
OAKLEY_VALUES: dict[int, dict[int, str]] = {
    OAKLEY_ENCRYPTION: OAKLEY_ENCRYPTION_ALGS,
    OAKLEY_HASH: OAKLEY_HASH_ALGS,
    OAKLEY_AUTH_METHOD: OAKLEY_AUTH_METHODS,
    OAKLEY_GROUP: DH_GROUPS,
    OAKLEY_LIFE_TYPE: OAKLEY_LIFE_TYPES,
}

# IPsec DOI (phase 2) SA attributes, https://www.iana.org/assignments/isakmp-registry/isakmp-registry.xhtml#isakmp-registry-20
IPSEC_ATTRIBUTES: dict[int, str] = {
    1: "SA Life Type",
    2: "SA Life Duration",
    3: "Group",
    4: "Encapsulation Mode",
    5: "Auth",
    6: "Key Length",
    7: "Key Rounds",
    10: "ECN Tunnel",
    11: "ESN",
}
IPSEC_ENCAPSULATION: dict[int, str] = {
    1: "Tunnel",
    2: "Transport",
    3: "UDP-Encapsulated-Tunnel",
    4: "UDP-Encapsulated-Transport",
    61443: "UDP-Encapsulated-Tunnel(draft)",
    61444: "UDP-Encapsulated-Transport(draft)",
}
IPSEC_AUTH_ALGS: dict[int, str] = {
    1: "HMAC-MD5",
    2: "HMAC-SHA",
    3: "DES-MAC",
    4: "KPDK",
    5: "HMAC-SHA2-256",
    6: "HMAC-SHA2-384",
    7: "HMAC-SHA2-512",
}
IPSEC_VALUES: dict[int, dict[int, str]] = {
    1: OAKLEY_LIFE_TYPES,
    3: DH_GROUPS,
    4: IPSEC_ENCAPSULATION,
    5: IPSEC_AUTH_ALGS,
}
# Transform IDs in IKEv1 proposals: isakmp-registry-5 (ISAKMP), -6 (AH), -7 (ESP)
TRANSFORM_IDS_V1: dict[int, dict[int, str]] = {
    1: {1: "KEY_IKE"},
    2: {2: "AH_MD5", 3: "AH_SHA", 4: "AH_DES", 5: "AH_SHA2-256", 6: "AH_SHA2-384", 7: "AH_SHA2-512"},
    3: {
        1: "ESP_DES_IV64",
        2: "ESP_DES",
        3: "ESP_3DES",
        4: "ESP_RC5",
        5: "ESP_IDEA",
        6: "ESP_CAST",
        7: "ESP_BLOWFISH",
        8: "ESP_3IDEA",
        9: "ESP_DES_IV32",
        10: "ESP_RC4",
        11: "ESP_NULL",
        12: "ESP_AES",
        13: "ESP_AES_CTR",
        14: "ESP_AES_CCM_8",
        15: "ESP_AES_CCM_12",
        16: "ESP_AES_CCM_16",
        18: "ESP_AES_GCM_8",
        19: "ESP_AES_GCM_12",
        20: "ESP_AES_GCM_16",
        21: "ESP_NULL_AUTH_AES_GMAC",
    },
}

# --------------------------------------------------------------------------- vendor IDs
# Exact-match vendor IDs. Sources (checked byte for byte): Wireshark
# epan/dissectors/packet-isakmp.c (VID_* arrays), strongSwan
# src/libcharon/sa/ikev2/tasks/ike_vendor.c, libreswan programs/pluto/vendorid.c
# (Fortinet entries are MD5 of the quoted strings, recomputed here).
VENDOR_IDS: dict[bytes, str] = {
    bytes.fromhex("4a131c81070358455c5728f20e95452f"): "RFC 3947 NAT-T",
    bytes.fromhex("7d9419a65310ca6f2c179d9215529d56"): "draft-ietf-ipsec-nat-t-ike-03",
    bytes.fromhex("cd60464335df21f87cfdb2fc68b6a448"): "draft-ietf-ipsec-nat-t-ike-02",
    bytes.fromhex("90cb80913ebb696e086381b5ec427b1f"): "draft-ietf-ipsec-nat-t-ike-02\\n",
    bytes.fromhex("16f6ca16e4a4066d83821a0f0aeaa862"): "draft-ietf-ipsec-nat-t-ike-01",
    bytes.fromhex("4485152d18b6bbcd0be8a8469579ddcc"): "draft-ietf-ipsec-nat-t-ike-00",
    bytes.fromhex("27bab5dc01ea0760ea4e3190ac27c0d0"): "draft-stenberg-ipsec-nat-traversal-01",
    bytes.fromhex("6105c422e76847e43f9684801292aecd"): "draft-stenberg-ipsec-nat-traversal-02",
    bytes.fromhex("50760f624c63e5c53eea386c685ca083"): "draft-huttunen-ipsec-esp-in-udp-01",
    bytes.fromhex("afcad71368a1f1c96b8696fc77570100"): "RFC 3706 DPD",
    bytes.fromhex("09002689dfd6b71280a224dec33b81e5"): "XAUTH",
    bytes.fromhex("4048b7d56ebce88525e7de7f00d6c2d3"): "IKE Fragmentation",
    bytes.fromhex("4048b7d56ebce88525e7de7f00d6c2d380000000"): "Cisco Fragmentation",
    bytes.fromhex("4048b7d56ebce88525e7de7f00d6c2d3c0000000"): "Cisco Fragmentation",
    bytes.fromhex("12f5f28c457168a9702d9fe274cc0100"): "Cisco Unity 1.0",
    bytes.fromhex("12f5f28c457168a9702d9fe274cc02d4"): "Cisco Unity",
    bytes.fromhex("1f07f70eaa6514d3b0fa96542a500100"): "Cisco VPN Concentrator",
    b"CISCO-DELETE-REASON": "Cisco Delete Reason",
    b"FLEXVPN-SUPPORTED": "Cisco FlexVPN Supported",
    b"CISCO(COPYRIGHT)&Copyright (c) 2009 Cisco Systems, Inc.": "Cisco Copyright (c) 2009",
    bytes.fromhex("882fe56d6fd20dbc2251613b2ebe5beb"): "strongSwan",
    bytes.fromhex("1e2b516905991c7d7c96fcbfb587e46100000002"): "MS NT5 ISAKMPOAKLEY (Windows 2000)",
    bytes.fromhex("1e2b516905991c7d7c96fcbfb587e46100000003"): "MS NT5 ISAKMPOAKLEY (Windows XP SP1)",
    bytes.fromhex("1e2b516905991c7d7c96fcbfb587e46100000004"): "MS NT5 ISAKMPOAKLEY (Windows 2003/XP SP2)",
    bytes.fromhex("1e2b516905991c7d7c96fcbfb587e46100000005"): "MS NT5 ISAKMPOAKLEY (Windows Vista)",
    bytes.fromhex("1e2b516905991c7d7c96fcbfb587e46100000007"): "MS NT5 ISAKMPOAKLEY v7",
    bytes.fromhex("1e2b516905991c7d7c96fcbfb587e46100000008"): "MS NT5 ISAKMPOAKLEY v8",
    bytes.fromhex("1e2b516905991c7d7c96fcbfb587e46100000009"): "MS NT5 ISAKMPOAKLEY v9",
    bytes.fromhex("fb1de3cdf341b7ea16b7e5be0855f120"): "MS-Negotiation Discovery Capable",
    bytes.fromhex("26244d38eddb61b3172a36e3d0cfb819"): "Vid-Initial-Contact",
    bytes.fromhex("621b04bb09882ac1e15935fefa24aeee"): "GSSAPI",
    bytes.fromhex("b4f01ca951e9da8d0bafbbd34ad3044e"): "Fortinet Endpoint Control",
    bytes.fromhex("4c53427b6d465d1b337bb755a37a7fef"): "FortiClient Connect License",
    bytes.fromhex("c1dc4350476b98a429b91781914ca43e"): "FortiClient EAP Extension",
}
# Vendor IDs recognised by a prefix (the tail carries a version or flags).
VENDOR_ID_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (bytes.fromhex("1e2b516905991c7d7c96fcbfb587e461"), "MS NT5 ISAKMPOAKLEY"),
    (bytes.fromhex("4048b7d56ebce88525e7de7f00d6c2d3"), "Cisco Fragmentation"),
    (bytes.fromhex("f4ed19e0c114eb516faaac0ee37daf2807b4381f"), "Check Point"),
    (b"OpenIKED", "OpenIKED"),
)


# --------------------------------------------------------------------------- EAP
# IKEv2 carries EAP (RFC 7296 §2.16) and FortiOS relays it to RADIUS; fnbamd prints the
# packets in hex. https://www.iana.org/assignments/eap-numbers/eap-numbers.xhtml
# "Packet Codes" (RFC 3748 §4):
EAP_CODE_REQUEST = 1
EAP_CODE_RESPONSE = 2
EAP_CODE_SUCCESS = 3
EAP_CODE_FAILURE = 4
# "Method Types" (RFC 3748 §5): the registry's names, except where the short name an
# engineer meets in NPS, FortiOS and FortiClient differs (in brackets: the registry's).
EAP_TYPE_IDENTITY = 1
EAP_TYPE_NOTIFICATION = 2
EAP_TYPE_NAK = 3  # "Legacy Nak" (RFC 3748 §5.3.1): the methods the peer wants instead
EAP_TYPE_MD5_CHALLENGE = 4
EAP_TYPE_OTP = 5
EAP_TYPE_GTC = 6
EAP_TYPE_TLS = 13
EAP_TYPE_TTLS = 21
EAP_TYPE_PEAP = 25
EAP_TYPE_MS_EAP_AUTHENTICATION = 26  # the type Microsoft registered for EAP-MSCHAPv2; NPS and FortiClient send it
EAP_TYPE_MSCHAP_V2 = 29
EAP_TYPE_FAST = 43
EAP_TYPE_PWD = 52
EAP_TYPE_TEAP = 55
EAP_TYPE_EXPANDED = 254  # Expanded Types (RFC 3748 §5.7): a vendor ID and type follow
EAP_METHODS: dict[int, str] = {
    EAP_TYPE_IDENTITY: "Identity",
    EAP_TYPE_NOTIFICATION: "Notification",
    EAP_TYPE_NAK: "Nak",
    EAP_TYPE_MD5_CHALLENGE: "MD5-Challenge",
    EAP_TYPE_OTP: "OTP",  # One-Time Password (OTP)
    EAP_TYPE_GTC: "GTC",  # Generic Token Card (GTC)
    EAP_TYPE_TLS: "EAP-TLS",
    EAP_TYPE_TTLS: "EAP-TTLS",
    EAP_TYPE_PEAP: "PEAP",
    EAP_TYPE_MS_EAP_AUTHENTICATION: "EAP-MSCHAPv2",  # MS-EAP-Authentication
    EAP_TYPE_MSCHAP_V2: "EAP-MSCHAP-V2",
    EAP_TYPE_FAST: "EAP-FAST",
    EAP_TYPE_PWD: "EAP-pwd",
    EAP_TYPE_TEAP: "TEAP",
    EAP_TYPE_EXPANDED: "Expanded Type",
}
# Methods that are not an authentication method: a Request of one of these offers nothing.
EAP_NOT_METHODS = frozenset({EAP_TYPE_IDENTITY, EAP_TYPE_NOTIFICATION, EAP_TYPE_NAK})


def eap_method_name(mtype: int) -> str:
    """A method type's name with its number (``PEAP (type 25)``)."""
    return f"{EAP_METHODS.get(mtype, 'EAP method')} (type {mtype})"


def vendor_name(vid: bytes) -> str:
    """A known vendor ID's name, else ``vid:<hex>`` (first 16 bytes)."""
    name = VENDOR_IDS.get(vid)
    if name is not None:
        return name
    for prefix, pname in VENDOR_ID_PREFIXES:
        if vid.startswith(prefix):
            return pname
    return "vid:" + vid[:16].hex()


def exchange_name(version: int, exchange: int) -> str:
    table = EXCHANGES_V2 if version == 2 else EXCHANGES_V1
    return table.get(exchange, f"exchange-{exchange}")


def payload_name(version: int, ptype: int) -> str:
    table = PAYLOADS_V2 if version == 2 else PAYLOADS_V1
    return table.get(ptype, f"payload-{ptype}")


def notify_name(version: int, ntype: int) -> str:
    table = NOTIFY_V2 if version == 2 else NOTIFY_V1
    return table.get(ntype, f"notify-{ntype}")
