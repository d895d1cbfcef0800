"""Showing text that came from a file (layer and class names, messages quoting them) on a
terminal without letting it drive the terminal.

A name in a model file is untrusted: an escape sequence (``\\x1b[2J`` clears the screen,
``\\x1b]0;...`` retitles the window), a carriage return or backspaces that overwrite what was
printed, or a right-to-left override that reverses how the rest of the line reads. tomei
prints such names through :func:`printable`, which shows every control and formatting
character as a visible escape instead.
"""
from __future__ import annotations

import unicodedata

__all__ = ["printable"]

# Control (Cc), format (Cf: bidi overrides, zero-width chars), surrogates (Cs), private use
# (Co), unassigned (Cn), line and paragraph separators (Zl, Zp).
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _escape(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text, limit: int | None = 200, keep_newlines: bool = False) -> str:
    """``text`` (any object, through ``str``) safe to print on a terminal.

    Control and invisible formatting characters become visible escapes (``\\x1b``,
    ``\\u202e``); letters of every script, digits, punctuation and spaces stay as they are.

    Args:
        limit: default 200: longer text is cut to this many characters plus "…" (a name
            from a file cannot flood the screen); None keeps it all.
        keep_newlines: default False; True keeps ``\\n`` (for multi-line messages).

    Returns:
        str.
    """
    text = str(text)
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    if text.isprintable():  # the common case: nothing to do
        return text
    out = []
    for ch in text:
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch == " " or unicodedata.category(ch) not in _UNSAFE_CATEGORIES:
            out.append(ch)
        else:
            out.append(_escape(ch))
    return "".join(out)
