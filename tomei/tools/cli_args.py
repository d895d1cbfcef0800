"""The argument parser of every ``tomei`` command, speaking the language of ``--lang``.

argparse writes its own texts in English ("usage:", "error:", "invalid choice", "unrecognized
arguments", ...). :class:`Parser` is ``argparse.ArgumentParser`` with those texts, and the
option checks below, taken from :mod:`tomei.tools.messages`, so ``tomei tutorial --epochs abc
--lang ja`` answers in Japanese from the first line to the last. The language comes from
``--lang`` wherever it stands on the command line (before or after a sub-command), else from
the locale (:func:`~tomei.tools.messages.detect_lang`). In English the output is argparse's,
unchanged.
"""
from __future__ import annotations

import argparse
import math
import os
import re
import sys

from tomei.tools.messages import detect_lang, t

# The language of the parse in progress: the option checks (argparse ``type`` functions,
# which receive only the text) and nested sub-command parsers read it.
_parsing_lang: list = []

# argparse's English messages (Python 3.9 to 3.13), each with the key of its translation
_ARGPARSE_TEXTS = [
    (re.compile(r"invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)$"),
     "arg_invalid_choice"),
    (re.compile(r"invalid (?P<type>\S+) value: (?P<value>.+)$"), "arg_invalid_value"),
    (re.compile(r"expected one argument$"), "arg_expected_one"),
    (re.compile(r"unrecognized arguments: (?P<args>.+)$"), "arg_unrecognized"),
    (re.compile(r"the following arguments are required: (?P<args>.+)$"), "arg_required"),
]
# help texts several commands share
LANG_HELP_JA = "メッセージの言語 (既定: ロケール LANG / LC_ALL から)"
MODEL_HELP_JA = "model.save() で保存したモデル"

# argparse's headings and its own option's help, with the keys of their translations
_HEADINGS = [(re.compile(r"^(options|optional arguments):$", re.M), "help_options"),
             (re.compile(r"^positional arguments:$", re.M), "help_positional"),
             (re.compile(r"show this help message and exit"), "help_help")]
_ARGUMENT = re.compile(r"argument (?P<arg>\S+?): (?P<detail>.+)$", re.S)


def lang_in(argv) -> "str | None":
    """The value of the last ``--lang X`` or ``--lang=X`` in ``argv``; None when absent."""
    found = None
    for i, word in enumerate(argv):
        if word == "--lang" and i + 1 < len(argv):
            found = argv[i + 1]
        elif word.startswith("--lang="):
            found = word.split("=", 1)[1]
    return found


def current_lang(parser=None) -> str:
    """'en' or 'ja': the language of the parse in progress, else of ``parser``'s last parse
    (``parse_args`` reports unknown arguments after it), else from the locale."""
    if _parsing_lang:
        return _parsing_lang[-1]
    return getattr(parser, "_lang", None) or detect_lang()


def translate(message: str, lang: str) -> str:
    """One of argparse's error messages in ``lang`` (unchanged in English, and when it is
    not one of argparse's known texts)."""
    if lang == "en":
        return message
    match = _ARGUMENT.match(message)
    if match:
        return t("arg_error", lang, arg=match["arg"], detail=translate(match["detail"], lang))
    for pattern, key in _ARGPARSE_TEXTS:
        match = pattern.match(message)
        if match:
            return t(key, lang, **match.groupdict())
    return message


def unwritable(path, folder, lang="en"):
    """Why ``path`` cannot be written, in ``lang``, or None when it can (as far as can be
    told without writing): a file wanted where a folder stands or the other way round
    (``folder``: the path is to be a folder), or no permission to create it in the nearest
    folder that exists."""
    if os.path.exists(path) and os.path.isdir(path) != folder:
        return t("path_is_folder" if not folder else "path_is_file", lang)
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        return t("path_under_file", lang, parent=parent)
    if not os.access(parent, os.W_OK | os.X_OK):
        return t("path_not_writable", lang, parent=parent)
    return None


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose usage line, help and errors are in the user's
    language.

    Args (besides argparse's):
        description_ja: the Japanese ``description``. ``add_argument`` takes ``help_ja``,
            the Japanese ``help`` of that option, likewise.
        help_ja: for a sub-command (``add_parser(name, help=..., help_ja=...)``), its line
            in the parent's help.

    Sub-command parsers made with ``add_subparsers`` are Parsers too. Errors exit with
    status 2, as argparse's.
    """

    def __init__(self, *args, description_ja=None, help_ja=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.description_ja, self.help_ja = description_ja, help_ja

    def add_argument(self, *args, help_ja=None, **kwargs):
        action = super().add_argument(*args, **kwargs)
        action.help_ja = help_ja
        return action

    def parse_known_args(self, args=None, namespace=None):
        args = list(sys.argv[1:] if args is None else args)
        given = lang_in(args)
        outer = _parsing_lang[-1] if _parsing_lang else None
        _parsing_lang.append(detect_lang(given) if given or outer is None else outer)
        self._lang = _parsing_lang[-1]
        try:
            return super().parse_known_args(args, namespace)
        finally:
            _parsing_lang.pop()

    def format_usage(self):
        return self._with_prefix(super().format_usage())

    def format_help(self):
        lang = current_lang(self)
        if lang == "en":
            return super().format_help()
        actions = list(self._actions)
        for action in self._actions:  # a sub-command's line: argparse keeps it apart
            for line in getattr(action, "_choices_actions", ()):
                line.help_ja = getattr(action.choices.get(line.dest), "help_ja", None)
                actions.append(line)
        english = [(action, action.help) for action in actions]
        description = self.description
        try:
            for action, _ in english:
                action.help = getattr(action, "help_ja", None) or action.help
            self.description = self.description_ja or description
            text = super().format_help()
        finally:
            for action, help_ in english:
                action.help = help_
            self.description = description
        for heading, key in _HEADINGS:
            text = heading.sub(t(key, lang), text)
        return self._with_prefix(text)

    def _with_prefix(self, text):
        lang = current_lang(self)
        english = t("usage_prefix", "en")
        if lang != "en" and text.startswith(english):
            return t("usage_prefix", lang) + text[len(english):]
        return text

    def error(self, message):
        lang = current_lang(self)
        self.print_usage(sys.stderr)
        self.exit(2, t("usage_error", lang, prog=self.prog, message=translate(message, lang)) + "\n")


# --- option checks (argparse ``type`` functions) ------------------------------------------------
# Each raises ArgumentTypeError with its text in the language of the parse; argparse prints it
# after "argument --epochs: ". (For any other error argparse would print "invalid <function
# name> value: 'abc'".)

def _refuse(key, text):
    raise argparse.ArgumentTypeError(t(key, current_lang(), text=repr(text)))


def _integer(text, key):
    try:
        return int(text)
    except ValueError:
        _refuse(key, text)


def positive_integer(text):
    """An int >= 1, else ArgumentTypeError naming what was received."""
    value = _integer(text, "arg_positive_integer")
    if value < 1:
        _refuse("arg_positive_integer", text)
    return value


def non_negative_integer(text):
    """An int >= 0, else ArgumentTypeError naming what was received."""
    value = _integer(text, "arg_non_negative_integer")
    if value < 0:
        _refuse("arg_non_negative_integer", text)
    return value


def _number(text, key, ok):
    """``text`` as a float for which ``ok(value)`` holds, else ArgumentTypeError (``key``)."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not ok(value):
        _refuse(key, text)
    return value


def fraction(text):
    """A float in [0, 1), as ``validation_split`` takes (NaN and infinities are refused)."""
    return _number(text, "arg_fraction", lambda v: 0.0 <= v < 1.0)


def positive_seconds(text):
    """A finite float > 0 (a timeout in seconds)."""
    return _number(text, "arg_positive_number", lambda v: v > 0 and math.isfinite(v))


def port(text):
    """A TCP port: an integer from 0 (any free port) to 65535."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        _refuse("arg_port", text)
    return value
