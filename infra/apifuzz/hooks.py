"""Schemathesis hooks for pledge's local stack (loaded by apifuzz_test.go).

The confirm and unsubscribe routes take a signed token that only a mail
carries: a generated one is never valid, so on its own the fuzzer would
only ever see those routes refuse a link. This hook puts a real token in
place of the generated one in about half the cases: one of the links the
local SES emulator captured (the sign-ups the fuzzer makes), or one the Go
test signed (PLEDGE_TOKENS, {"confirm": [...], "unsubscribe": [...]}, live
and expired), so that the fuzzer also drives sign-up -> confirm ->
preferences, and an expired link, with bodies of its own making.
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
LINK = re.compile(r"/(confirm|unsubscribe)\?t=([A-Za-z0-9_.%-]+)")
SIGNED = json.loads(os.environ.get("PLEDGE_TOKENS") or "{}")
_tokens = {"confirm": [], "unsubscribe": []}
_read_at = [0.0]


def tokens(kind):
    """The tokens of every captured link of kind, re-read at most every 2 s."""
    if MAILBOX and time.monotonic() - _read_at[0] > 2:
        _read_at[0] = time.monotonic()
        with urllib.request.urlopen(MAILBOX + "/store", timeout=5) as r:
            store = json.load(r)
        found = {"confirm": set(), "unsubscribe": set()}
        for mail in store.get("emails", []):
            for k, t in LINK.findall((mail.get("body") or {}).get("text") or ""):
                found[k].add(urllib.parse.unquote(t))
        for k, ts in found.items():
            _tokens[k] = sorted(ts)
    return SIGNED.get(kind, []) + _tokens[kind]


@schemathesis.hook
def before_call(ctx, case, kwargs):
    path, method = case.operation.path, case.operation.method.upper()
    kind = {"/confirm": "confirm", "/unsubscribe": "unsubscribe"}.get(path)
    if kind is None:
        return
    confirm_body = kind == "confirm" and method == "POST"
    if confirm_body and not isinstance(case.body, dict):
        return
    generated = case.body.get("t") if confirm_body else (case.query or {}).get("t")
    # Deterministic per generated value: a case replays as it ran.
    h = zlib.crc32(repr(generated).encode())
    pool = tokens(kind)
    if h % 2 or not pool:
        return
    real = pool[(h // 2) % len(pool)]
    if confirm_body:
        case.body["t"] = real
    else:
        case.query = dict(case.query or {}, t=real)


@schemathesis.deserializer("text/html")
def html(ctx, response):
    """A page is text: its schema (a string; none for a HEAD) is checked."""
    return response.content.decode("utf-8")
