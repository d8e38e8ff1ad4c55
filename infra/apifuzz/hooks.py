"""Schemathesis hooks for pledge's local stack (loaded by apifuzz_test.go).

The confirm, unsubscribe and privacy request routes take a signed token
that only a mail carries: a generated one is never valid, so on its own
the fuzzer would only ever see those routes refuse a link. This hook puts
a real token of the route's purpose in place of the generated one in
about half the cases: one of the links the local SES emulator captured
(the sign-ups and privacy requests the Go test and the fuzzer make), or
one the Go test signed (PLEDGE_TOKENS, {"confirm": [...], "unsubscribe":
[...], "privacy-verify": [...], "privacy-status": [...], "privacy-export":
[...], "privacy-move": [...]}, live and expired), so that the fuzzer also
drives sign-up -> confirm -> preferences, a privacy request -> verify ->
status / cancel / export, a correction's new address -> move, and expired
links, with bodies of its own making.
PLEDGE_MAILBOX_URL is the emulator's URL.
"""

import json
import os
import re
import time
import urllib.parse
import urllib.request
import zlib

import schemathesis

MAILBOX = os.environ.get("PLEDGE_MAILBOX_URL", "")
# The route of each link in a mail, and the purpose of its token.
KINDS = {
    "/confirm": "confirm",
    "/unsubscribe": "unsubscribe",
    "/privacy/verify": "privacy-verify",
    "/privacy/status": "privacy-status",
    "/privacy/export": "privacy-export",
    "/privacy/correct": "privacy-move",
}
# The operations that carry the token in their body, not in the query.
IN_BODY = {("POST", "/confirm"), ("POST", "/privacy/verify"), ("POST", "/privacy/correct")}
LINK = re.compile(r"(/confirm|/unsubscribe|/privacy/verify|/privacy/status|/privacy/export|/privacy/correct)\?t=([A-Za-z0-9_.%-]+)")
SIGNED = json.loads(os.environ.get("PLEDGE_TOKENS") or "{}")
_tokens = {k: [] for k in KINDS.values()}
_read_at = [0.0]


def tokens(kind):
    """The tokens of every captured link of kind, re-read at most every 2 s."""
    if MAILBOX and time.monotonic() - _read_at[0] > 2:
        _read_at[0] = time.monotonic()
        with urllib.request.urlopen(MAILBOX + "/store", timeout=5) as r:
            store = json.load(r)
        found = {k: set() for k in KINDS.values()}
        for mail in store.get("emails", []):
            for route, t in LINK.findall((mail.get("body") or {}).get("text") or ""):
                found[KINDS[route]].add(urllib.parse.unquote(t))
        for k, ts in found.items():
            _tokens[k] = sorted(ts)
    return SIGNED.get(kind, []) + _tokens[kind]


@schemathesis.hook
def before_call(ctx, case, kwargs):
    path, method = case.operation.path, case.operation.method.upper()
    kind = KINDS.get(path)
    if kind is None:
        return
    in_body = (method, path) in IN_BODY
    if in_body and not isinstance(case.body, dict):
        return
    generated = case.body.get("t") if in_body else (case.query or {}).get("t")
    # Deterministic per generated value: a case replays as it ran.
    h = zlib.crc32(repr(generated).encode())
    pool = tokens(kind)
    if h % 2 or not pool:
        return
    real = pool[(h // 2) % len(pool)]
    if in_body:
        case.body["t"] = real
    else:
        case.query = dict(case.query or {}, t=real)


@schemathesis.deserializer("text/html")
def html(ctx, response):
    """A page is text: its schema (a string; none for a HEAD) is checked."""
    return response.content.decode("utf-8")
