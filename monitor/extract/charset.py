"""Decode a page's bytes to text, whatever its charset declarations say.

Vietnamese sites still serve pages in windows-1258 (the legacy Vietnamese code page,
which writes tone marks as *combining* characters), often with no declaration or with
a wrong one (a server default of iso-8859-1 on UTF-8 bytes, a template's
``<meta charset="utf-8">`` on windows-1258 bytes). ``decode_html`` validates every
declaration against the bytes before trusting it:

1. A byte-order mark wins.
2. Bytes that are valid UTF-8 and contain multi-byte sequences are UTF-8, whatever is
   declared: a single-byte text practically never forms valid multi-byte UTF-8.
3. Otherwise a declared charset (HTTP header first, then ``<meta>``) is used if it
   decodes the bytes strictly and is not a Western default (iso-8859-1, windows-1252,
   ascii) sitting on bytes that read as windows-1258 Vietnamese.
4. Otherwise the charset is detected: windows-1258 when decoding with it composes
   tone marks into Vietnamese letters, else charset_normalizer restricted to
   ``rules.DETECT_CHARSETS``, else windows-1252 with replacement characters.

The text is returned in Unicode NFC (windows-1258 and many CMSs produce decomposed
letters; search, hashing and dedupe need one form).
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from monitor.extract import rules

_META = re.compile(
    rb"""<meta[^>]+?charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
_HEADER = re.compile(r"""charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_WESTERN_DEFAULTS = {"iso8859-1", "iso8859-15", "cp1252", "ascii"}


def codec_name(label: str | bytes | None) -> str | None:
    """Python's canonical codec name for a charset label, None if unknown or empty.

    Labels are read as browsers read them, by the WHATWG Encoding Standard's table
    (``webencodings``): ``iso-8859-1``, ``latin1``, ``ascii`` and ``us-ascii`` all mean
    windows-1252, whose printable characters in 0x80-0x9F (curly quotes, €, dashes) pages
    labelled Latin-1 really use. Labels the table does not know fall back to
    ``rules.CHARSET_ALIASES`` and Python's own names."""
    if isinstance(label, bytes):
        label = label.decode("ascii", "ignore")
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    whatwg = _whatwg(label)
    if whatwg:
        return whatwg
    label = rules.CHARSET_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _whatwg(label: str) -> str | None:
    """Python's codec name for a WHATWG label, None if the table does not know it."""
    try:
        import webencodings
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    encoding = webencodings.lookup(label)
    if encoding is None or label in rules.CHARSET_NOT_WHATWG:
        return None
    try:
        return codecs.lookup(encoding.codec_info.name).name
    except LookupError:
        return None


def header_charset(content_type: str | bytes | None) -> str | None:
    """The charset of an HTTP Content-Type value (``text/html; charset=UTF-8`` → utf-8)."""
    if isinstance(content_type, bytes):
        content_type = content_type.decode("latin-1")
    if not content_type:
        return None
    if "=" not in content_type and "/" not in content_type:  # already a bare charset
        return codec_name(content_type)
    match = _HEADER.search(content_type)
    return codec_name(match.group(1)) if match else None


def meta_charset(body: bytes) -> str | None:
    """The charset a page declares in ``<meta charset>`` or ``http-equiv`` (first 4 KB)."""
    match = _META.search(body[:4096])
    return codec_name(match.group(1)) if match else None


def _utf8(body: bytes) -> str | None:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def composes_vietnamese(text: str) -> bool:
    """Decoded as windows-1258, does the text carry tone marks that compose into letters?

    windows-1258 writes ``ạ`` as ``a`` + COMBINING DOT BELOW. Western text decoded the
    same way almost never puts those bytes right after a letter they combine with.
    """
    composed = len(text) - len(unicodedata.normalize("NFC", text))
    return composed >= rules.CP1258_MIN_COMPOSED


def detect(body: bytes) -> str:
    """The most likely codec of bytes that are not UTF-8 and not reliably declared."""
    as_1258 = body.decode("cp1258", errors="replace")
    if composes_vietnamese(as_1258):
        return "cp1258"
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - charset_normalizer ships with requests
        return "cp1252"
    best = from_bytes(body, cp_isolation=rules.DETECT_CHARSETS).best()
    if best is None:
        return "cp1252"
    return codec_name(best.encoding) or "cp1252"


def decode_html(body: bytes, header_charset_: str | bytes | None = None) -> str:
    """Decode page bytes (see the module docstring); returns NFC text.

    ``header_charset_`` is the HTTP Content-Type value or just its charset (either form;
    None when the response had none).
    """
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return unicodedata.normalize("NFC", body.decode(codec, errors="replace"))
    text = _utf8(body)
    if text is not None and (not text.isascii() or body.isascii()):
        return unicodedata.normalize("NFC", text)  # valid UTF-8 (or plain ASCII)
    declared = [c for c in (header_charset(header_charset_), meta_charset(body)) if c]
    for codec in dict.fromkeys(declared):
        if codec in ("utf-8", "utf-8-sig"):
            continue  # declared UTF-8, but the bytes are not
        decoded = _strict(body, codec)
        if decoded is None:
            continue
        if codec in _WESTERN_DEFAULTS and composes_vietnamese(
                body.decode("cp1258", errors="replace")):
            break  # a server default over windows-1258 bytes: detect instead
        return unicodedata.normalize("NFC", decoded)
    codec = detect(body)
    return unicodedata.normalize("NFC", body.decode(codec, errors="replace"))
