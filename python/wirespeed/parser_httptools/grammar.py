"""Strategy: this module owns the byte classes of the HTTP grammar (RFC 9110 §5.5, §5.6, RFC
9112 §3, RFC 3986 §3.2.2) in the forms the twin's scanners use: regex character classes to
build productions from, the runs of a class compiled once, and the same classes as byte
strings for `bytes.translate` and as sets for the one scanner that looks at single bytes. It
mirrors rust/chars.rs (tchar, field-value, qdtext, quoted-pair, reg-name, OWS, and the target
bytes of `ascii_run`), with HEXDIG added, which framing.rs reads with `char::to_digit`.
Nothing here parses: the productions built from these classes are kept with the rules that use
them, as in the Rust crate (the request line's in request_line.py, the field line's in
fields.py, the chunk line's in framing.py).
"""

from __future__ import annotations

import re

# tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|"
#         / "~" / DIGIT / ALPHA (RFC 9110 §5.6.2)
TCHAR = rb"!#$%&'*+\-.^_`|~0-9A-Za-z"
TOKEN_RUN = re.compile(rb"[" + TCHAR + rb"]*")
# request-target bytes allowed by the rules: visible ASCII, 0x21..0x7E.
TARGET_RUN = re.compile(rb"[\x21-\x7e]*")
# field-value bytes: HTAB, SP, VCHAR, obs-text (no CTL, no DEL) (RFC 9110 §5.5).
FIELD_VALUE = rb"[\t\x20-\x7e\x80-\xff]*"
VALUE_RUN = re.compile(FIELD_VALUE)
# qdtext, and the byte after the backslash of a quoted-pair (RFC 9110 §5.6.4).
QDTEXT = rb"\t \x21\x23-\x5b\x5d-\x7e\x80-\xff"
QPAIR = rb"\t \x21-\x7e\x80-\xff"
# reg-name / IPv4address bytes of an authority's host: unreserved / pct-encoded / sub-delims
# (RFC 3986 §3.2.2).
REG_NAME = rb"A-Za-z0-9\-._~%!$&'()*+,;="
# HEXDIG, the digits of a chunk size (RFC 9112 §7.1).
HEX_RUN = re.compile(rb"[0-9A-Fa-f]*")
# OWS / BWS = *( SP / HTAB ) (RFC 9110 §5.6.3).
OWS = b" \t"

# For bytes.translate(None, delete): what is left after deleting the allowed bytes is bad.
TCHAR_BYTES = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TARGET_BYTES = bytes(range(0x21, 0x7F))
# As sets of byte values, for the scanner that names the fault of a chunk-size line.
TCHAR_SET = frozenset(TCHAR_BYTES)
QDTEXT_SET = frozenset(b"\t \x21" + bytes(range(0x23, 0x5C)) + bytes(range(0x5D, 0x7F)) + bytes(range(0x80, 0x100)))
FIELD_VALUE_SET = frozenset(b"\t" + bytes(range(0x20, 0x7F)) + bytes(range(0x80, 0x100)))
CR, LF, SP, HTAB = 0x0D, 0x0A, 0x20, 0x09
