"""``tomei summary`` and ``tomei export``: look inside a saved model, or convert it.

    tomei summary MODEL.keras              print model.summary() of a saved model
    tomei export MODEL.keras MODEL.onnx    write the model as ONNX (needs the onnx package)

Both accept ``--lang en|ja`` (default: from LANG / LC_ALL). Exit codes: 0 success, 1 a missing,
damaged or unsupported model (one line on stderr, no traceback), 2 a usage error.
"""
from __future__ import annotations

import os

from tomei.tools.cli_args import LANG_HELP_JA, MODEL_HELP_JA, Parser, positive_integer
from tomei.tools.messages import detect_lang, print_error, t

__all__ = ["main_summary", "main_export", "load_error_detail"]


def _one_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def load_error_detail(exc, path) -> str:
    """The first line of ``load_model``'s error, for the ``model_unreadable`` message.

    That message already says "Cannot load the model PATH: ", so a "Cannot load PATH: " (or
    "Refusing to load PATH: ") the error starts with is left out rather than said twice.
    """
    text = _one_line(exc)
    path = os.fspath(path)
    for lead in (f"Cannot load {path}: ", f"Refusing to load {path}: "):
        if text.startswith(lead) and len(text) > len(lead):
            return text[len(lead):]
    return text


def _parse(parser, argv):
    try:
        return parser.parse_args(argv), None
    except SystemExit as request:  # --help (0) or a usage error already printed (2)
        return None, request.code if isinstance(request.code, int) else 2


def _load(path, lang, compile):
    """(model, None) or (None, one-line message). Nothing from the file is executed."""
    if not os.path.isfile(path):
        return None, t("model_missing", lang, path=path)
    from tomei.keras.saving import load_model
    try:
        return load_model(path, compile=compile), None
    except Exception as exc:  # noqa: BLE001 - any unreadable file becomes one line
        if compile:  # e.g. a custom loss: the architecture may still load
            try:
                return load_model(path, compile=False), None
            except Exception:  # noqa: BLE001
                pass
        return None, t("model_unreadable", lang, path=path, detail=load_error_detail(exc, path))


def _lang_option(parser):
    parser.add_argument("--lang", choices=["en", "ja"], default=None,
                        help="message language (default: from LANG / LC_ALL)", help_ja=LANG_HELP_JA)


def summary_parser() -> Parser:
    """The parser of ``tomei summary`` (its options and their help in both languages)."""
    parser = Parser(prog="tomei summary", description="Print the summary of a saved .keras model.",
                    description_ja="保存した .keras モデルの概要 (summary) を表示します。")
    parser.add_argument("model", metavar="MODEL.keras", help="a model saved with model.save()",
                        help_ja=MODEL_HELP_JA)
    _lang_option(parser)
    return parser


def export_parser() -> Parser:
    """The parser of ``tomei export`` (its options and their help in both languages)."""
    parser = Parser(prog="tomei export", description="Export a saved .keras model to ONNX.",
                    description_ja="保存した .keras モデルを ONNX に書き出します。")
    parser.add_argument("model", metavar="MODEL.keras", help="a model saved with model.save()",
                        help_ja=MODEL_HELP_JA)
    parser.add_argument("output", metavar="OUT.onnx", help="the ONNX file to write",
                        help_ja="書き出す ONNX ファイル")
    parser.add_argument("--opset", type=positive_integer, default=17,
                        help="ONNX opset (default 17, min 17)",
                        help_ja="ONNX の opset (既定 17、17 以上)")
    _lang_option(parser)
    return parser


def main_summary(argv=None) -> int:
    """``tomei summary MODEL.keras``: prints the Keras summary table of a saved model.

    Returns:
        int exit code: 0 printed, 1 missing or unreadable file, 2 usage error.
    """
    args, code = _parse(summary_parser(), argv)
    if args is None:
        return code
    lang = detect_lang(args.lang)
    model, message = _load(args.model, lang, compile=True)
    if model is None:
        print_error(message, lang)
        return 1
    model.summary()
    return 0


def main_export(argv=None) -> int:
    """``tomei export MODEL.keras OUT.onnx [--opset N]``: converts a saved model to ONNX.

    Returns:
        int exit code: 0 written, 1 missing/unreadable model, unsupported layer or missing
        onnx package, 2 usage error.
    """
    args, code = _parse(export_parser(), argv)
    if args is None:
        return code
    lang = detect_lang(args.lang)
    model, message = _load(args.model, lang, compile=False)
    if model is None:
        print_error(message, lang)
        return 1
    from tomei.keras.saving import export_onnx
    try:
        path = export_onnx(model, args.output, opset=args.opset)
    except ImportError as exc:  # the one missing package: said in the user's language
        print_error(t("onnx_missing", lang, detail=exc.__cause__ or exc.__context__ or exc), lang)
        return 1
    except (NotImplementedError, ValueError, OSError) as exc:
        print_error(_one_line(exc), lang)
        return 1
    print(t("exported", lang, model=args.model, path=path, opset=args.opset))
    return 0
