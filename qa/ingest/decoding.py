"""Bytes of an article file -> text, or a ValueError saying why it is not text."""

from __future__ import annotations

import codecs
import unicodedata

# UTF-32 before UTF-16: the UTF-32 little-endian mark starts with the UTF-16 one.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SNIFF = 8192  # bytes (or characters) looked at to tell text from binary


def _utf16_without_mark(data: bytes) -> str | None:
    """UTF-16 text with no byte-order mark: mostly-ASCII text has a NUL in every other byte."""
    head = data[:_SNIFF]
    if len(data) % 2 or len(head) < 4:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = len(head) // 2
    for encoding, zeros, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros >= half * 0.3 and others == 0:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                return None
    return None


def decode_bytes(data: bytes) -> str:
    """Decode a text file; the result is what paragraph offsets index.

    A byte-order mark decides (UTF-8, UTF-16, UTF-32; the mark is dropped). Without one:
    UTF-8; else UTF-16 when every other byte is NUL; else Windows-1252 (Latin-1's printable
    characters plus the curly quotes and dashes Windows editors write); else Latin-1.

    Raises ValueError for data that looks binary (NUL bytes, or over 5% control characters
    in the first 8 KiB), so that a PNG renamed .txt is skipped rather than indexed as noise.
    """
    for mark, encoding in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError as error:
                raise ValueError(
                    f"starts with a {encoding.upper()} byte-order mark but is not valid "
                    f"{encoding.upper()} ({error.reason} at byte {error.start})"
                ) from None
            break
    else:
        if b"\x00" in data[:_SNIFF]:
            utf16 = _utf16_without_mark(data)
            if utf16 is None:
                raise ValueError("looks like a binary file, not text (it has NUL bytes)")
            text = utf16
        else:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                try:
                    text = data.decode("cp1252")
                except UnicodeDecodeError:
                    text = data.decode("latin-1")
    head = text[:_SNIFF]
    control = sum(
        1 for char in head if char not in "\t\n\r\x0b\x0c" and unicodedata.category(char) == "Cc"
    )
    if control > len(head) * 0.05:
        raise ValueError("looks like a binary file, not text (it has control characters)")
    return text
