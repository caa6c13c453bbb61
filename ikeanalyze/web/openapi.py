"""The OpenAPI document served at /openapi.json, written by hand: five routes do not need a
framework to describe them, and the text here is what a client author reads."""

from __future__ import annotations

from ikeanalyze import __version__
from ikeanalyze.web.uploads import FILE_FIELD, MAX_FILES, MAX_OPTION_BYTES, PASTE_FIELD


def _error(text: str) -> dict:
    return {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def document(max_mb: float, timeout: float, auth: bool) -> dict:
    form = {
        "type": "object",
        "properties": {
            FILE_FIELD: {"type": "array", "items": {"type": "string", "format": "binary"}, "maxItems": MAX_FILES,
                         "description": "Captures (pcap, pcapng, optionally gzipped) and FortiGate text files; "
                                        "all are analyzed together as one incident. The file name is only shown "
                                        "(it is the evidence `source`), never used as a path."},
            PASTE_FIELD: {"type": "string", "description": "Pasted FortiGate sniffer and/or IKE debug text "
                                                           "(its evidence `source` is `paste`)."},
            "local": {"type": "string", "maxLength": MAX_OPTION_BYTES,
                      "description": "Address(es) of the local gateway, comma-separated (CLI --local)."},
            "select": {"type": "string", "maxLength": MAX_OPTION_BYTES,
                       "description": "Rules to run, comma-separated: ALL, a family (IKE1), a code or a name "
                                      "(CLI --select)."},
            "ignore": {"type": "string", "maxLength": MAX_OPTION_BYTES,
                       "description": "Rules to skip, same forms (CLI --ignore)."},
        },
        "description": f"At least one file or a non-empty paste. At most {max_mb:g} MB in all.",
    }
    problems = {
        "400": _error("The form or an input cannot be used (unknown format, bad option, nothing to analyze)."),
        "413": _error(f"The body is larger than {max_mb:g} MB; refused before it is all read."),
        "415": _error("The body is not multipart/form-data."),
        "503": _error("Too many requests are waiting for an analysis worker; retry later."),
        "504": _error(f"The analysis ran longer than {timeout:g} s and was stopped."),
        "500": _error("An internal error; the server log has the details."),
    }
    if auth:
        problems["401"] = _error("No or wrong token: send `Authorization: Bearer TOKEN`.")
    doc = {
        "openapi": "3.1.0",
        "info": {
            "title": "ikeanalyze",
            "version": __version__,
            "description": "Upload IPsec/IKE evidence, get the incident report. Uploads are deleted when the "
                           "response has been sent; nothing is kept between requests.",
        },
        "paths": {
            "/api/analyze": {"post": {
                "summary": "Analyze uploads; the same JSON document as `ikeanalyze analyze --format json`.",
                "operationId": "analyze",
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": form}}},
                "responses": {"200": {"description": "The diagnosis (report schema, see the `schema` key).",
                                      "content": {"application/json": {"schema": {
                                          "$ref": "#/components/schemas/Report"}}}}, **problems},
            }},
            "/analyze": {"post": {
                "summary": "The upload page's form: the HTML incident report, with download links for it "
                           "and for the JSON (data: URLs, so the server keeps nothing).",
                "operationId": "analyzePage",
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": form}}},
                "responses": {"200": {"description": "The HTML report.", "content": {"text/html": {}}},
                              **{k: {"description": v["description"], "content": {"text/html": {}}}
                                 for k, v in problems.items()}},
            }},
            "/": {"get": {"summary": "The upload page (a plain form; works without JavaScript).",
                          "operationId": "page",
                          "responses": {"200": {"description": "HTML", "content": {"text/html": {}}}}}},
            "/healthz": {"get": {
                "summary": "Liveness for monitoring.", "operationId": "health",
                "responses": {"200": {"description": "Up.", "content": {"application/json": {"schema": {
                    "type": "object", "properties": {"status": {"const": "ok"}, "workers": {"type": "integer"},
                                                     "waiting": {"type": "integer"}}}}}}},
            }},
            "/openapi.json": {"get": {"summary": "This document.", "operationId": "openapi",
                                      "responses": {"200": {"description": "OpenAPI 3.1",
                                                            "content": {"application/json": {}}}}}},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error", "status"],
                      "properties": {"error": {"type": "string", "description": "What went wrong, one line."},
                                     "status": {"type": "integer"}}},
            "Report": {"type": "object", "required": ["schema", "findings", "inputs"],
                       "description": "ikeanalyze's report document (report/model.py): `schema` is its "
                                      "version, `findings` the ranked findings with evidence, `timeline` the "
                                      "incident, `inputs` what each input held and why lines were not events.",
                       "properties": {"schema": {"type": "integer"}, "findings": {"type": "array"},
                                      "timeline": {"type": "array"}, "inputs": {"type": "array"},
                                      "summary": {"type": "string"}}},
        }},
    }
    if auth:
        doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        doc["security"] = [{"bearer": []}]
    return doc
