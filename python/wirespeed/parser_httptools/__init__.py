"""Strategy: this package is the httptools (llhttp) twin of the Rust request parser, with the
same constructor and the same events. It owns the httptools backend of `RequestParser` and
nothing else: it turns received bytes into the events documented in `wirespeed.parser`, by the
wire rules both backends share (tests/RULES.md), and reports every failure as a `wirespeed.errors.ParseFault`:
the error kinds of rust/error.rs, each with its status and detail phrase, so that both
backends answer alike, to the word. llhttp parses and validates the header fields (names,
values, CRLFs, obs-fold) through `on_header` and `on_headers_complete`. Python owns what
llhttp cannot do by the rules or does not expose: the byte offsets of each message (for
pipelining and the limits), the request line, the framing checks, Content-Length bodies,
chunked bodies and trailers, and the naming of every fault. All of it works on whole slices
with C-level primitives (`bytes.find`/`count`/`translate`, slicing, compiled regexes); no
Python loop runs per byte (except once, to name the fault of a refused chunk-size line), and
a head that arrives whole costs one llhttp call. It must not import the Rust extension.

Its modules mirror the modules of the Rust crate one to one, wherever the twin has the same
concern, so that a rule is found under the same module name on both sides:

    grammar.py       rust/chars.rs          the byte classes of the grammar
    request_line.py  rust/request_line.rs   the request line, the target forms, Host values
    fields.py        rust/fields.rs         field lines: a section's first fault, its stand-in
    head.py          rust/head.rs           a head: llhttp for its field lines, its limits,
                                            Host, Content-Length, Transfer-Encoding, Expect
    framing.py       rust/framing.rs        Content-Length and chunked bodies, trailers
    parser.py        rust/parser.rs         `RequestParser`: the feed loop and its events
    state.py         (part of parser.rs)    the states and the slots the modules share

rust/error.rs is mirrored by `wirespeed.errors.ParseFault`, which tests/test_differential.py
compares with it, and rust/limits.rs holds the limits the Rust parser reads from
`wirespeed.config.Config`, where the twin reads them too. rust/field_names.rs has no twin: the
twin keeps field names as lowercased bytes, and the five it gives a meaning to are one set in
head.py. Nor has rust/head_progress.rs, which spares the Rust parser parsing an unfinished
head again from its first byte with every feed: the twin has nothing to spare there, as every
part goes on from where the last feed stopped (see below). lib.rs and python.rs are the
extension's glue.

A compiled pattern that one module takes from another and calls methods on is bound there by
assignment (`_TOKEN_RUN = grammar.TOKEN_RUN`), not by `from .grammar import TOKEN_RUN`:
CPython 3.11 compiles `NAME.match(...)` on a name that an import binds as an attribute load
and a call, which makes a bound method object with every call, and on a name bound by
assignment as a method call, which makes none.

The twin is a package whose files mirror the Rust modules one to one, rather than one shared
table of rules that both backends are generated from, because the strictness of each backend
lives in its code paths, not in data. Where one input breaks several rules, the break whose
bytes come first wins, so the same bytes fed whole or in any pieces give the same events. A
limit counts as broken at the byte that passes it: the first head byte past `max_head_size`
(431), the first target byte past `max_target_length` (414), the end of field line
`max_headers + 1` (431). Which fault a byte names, the order of the judgements, the readings of
rules that leave room (each stated in the module that applies it) and the holding of unfinished
input are how the scanners are written, and each side writes them its own way: the Rust crate
with byte-at-a-time scanners behind httparse, the twin with whole-slice C-level primitives
around llhttp, whose own verdicts it never reports. What is data is kept as data already: the
limits are one list that both read (`Config`), the error kinds one list per side that a test
compares, and the byte classes one table per side, which grammar.py states as chars.rs does. A
shared table could add at most the regular shapes (the version, a Host value, a chunk
extension); the rest would still be written twice, and a table interpreted in Python would be
the per-byte loop the twin is built to avoid. So the twin keeps the Rust crate's modules, and
the differential tests keep the two equal: a change to a Rust module has its counterpart in the
twin's module of the same name.

Intentional differences from the Rust parser:

None. Every rule is implemented as written, so no input llhttp refuses or accepts on its own
reaches the events: the request line, message framing, chunked decoding and trailers are done
in Python for exactly that reason (see request_line.py and head.py), and the head size is
counted exactly rather than approximated. The one case table (tests/parser_cases.py and
tests/attack_cases.py, run on both backends by tests/test_parser.py and on the Rust parser by
cargo test) and the hypothesis differential test in tests/test_differential.py find
no disagreement in the events, error details included: every error names the same fault, in
the same words, as the Rust parser's, and where one input has several faults both name the
same first one.

What arrives a few bytes at a time is not scanned again with every feed, so a part of a
message trickled in byte by byte costs linear time. How each part is held is said where it is
read: the request line in request_line.py, the header section in head.py, chunk-size lines
and trailer sections in framing.py.
"""

from .parser import RequestParser

__all__ = ["RequestParser"]
