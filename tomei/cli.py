"""The ``tomei`` command: ``tomei tutorial``, ``tomei datasets``, ``tomei report`` ...

Each subcommand lives in ``tomei/tools/<name>.py`` as ``main(argv) -> exit code`` and is
imported only when used, so ``tomei --help`` stays fast.
"""
from __future__ import annotations

import importlib
import sys
import warnings

COMMANDS = {
    "tutorial": ("tomei.tools.tutorial", "Run the TensorFlow beginner tutorial (MNIST / Fashion-MNIST)."),
    "datasets": ("tomei.tools.datasets_cmd", "List, fetch and verify datasets."),
    "summary": ("tomei.tools.model_cmds", "Print the summary of a saved .keras model."),
    "export": ("tomei.tools.model_cmds", "Export a saved .keras model to ONNX."),
    "report": ("tomei.tools.report", "Write a training report (PNG plots + index.html)."),
    "predict": ("tomei.tools.predict", "Classify your own image files with a saved model."),
    "playground": ("tomei.tools.playground", "Draw digits and watch the network learn, in a browser."),
}


def usage(lang=None) -> str:
    """The text of ``tomei --help``: one line per subcommand of ``COMMANDS``, in ``lang``
    ('en' or 'ja'; default from the locale, see ``tomei.tools.messages.detect_lang``)."""
    from tomei.tools.messages import CLI_HELP_JA, detect_lang, t
    lang = detect_lang(lang)
    lines = [t("cli_usage", lang), "", t("cli_commands", lang)]
    for name, (_, help_) in COMMANDS.items():
        text = CLI_HELP_JA.get(name, help_) if lang == "ja" else help_
        lines.append(f"  {name:<10} {text}")
    lines += ["", t("cli_more", lang)]
    return "\n".join(lines)


def main(argv=None) -> int:
    """Runs ``tomei COMMAND [options]``; ``argv`` default ``sys.argv[1:]``.

    Returns the exit code: the subcommand's, 2 for no or an unknown command, 130 when
    interrupted with Ctrl-C, 0 for ``--help`` and ``--version``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    lead, argv = _leading_lang(argv)  # `tomei --lang ja tutorial` == `tomei tutorial --lang ja`
    if not argv or argv[0] in ("-h", "--help"):
        from tomei.tools.cli_args import lang_in
        print(usage(lang_in(lead + argv)))
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from tomei import __version__
        print(f"tomei {__version__}")
        return 0
    name, rest = argv[0], argv[1:] + lead
    if name not in COMMANDS:
        from tomei.tools.cli_args import lang_in
        from tomei.tools.messages import detect_lang, t
        lang = detect_lang(lang_in(rest))  # --lang ja, wherever it stands
        print(f"{t('unknown_command', lang, name=name)}\n\n{usage(lang)}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    entry = getattr(module, f"main_{name}", None) or module.main
    try:
        with warnings.catch_warnings():  # the library's warnings, as one line each
            warnings.showwarning = _warning_printer(rest)
            return int(entry(rest) or 0)
    except KeyboardInterrupt:
        from tomei.tools.cli_args import lang_in
        from tomei.tools.messages import detect_lang, t
        print("\n" + t("interrupted", detect_lang(lang_in(rest))), file=sys.stderr)
        return 130


def _leading_lang(argv):
    """Splits ``--lang X`` / ``--lang=X`` given before the command off ``argv``: returns
    (those words, the rest). Every command takes ``--lang``; the dispatcher hands them on after
    the command's own arguments, so ``tomei --lang ja`` prints the Japanese help."""
    lead = []
    while argv:
        if argv[0].startswith("--lang="):
            lead, argv = lead + argv[:1], argv[1:]
        elif argv[0] == "--lang" and len(argv) > 1:
            lead, argv = lead + argv[:2], argv[2:]
        else:
            break
    return lead, argv


def _warning_printer(argv):
    """A ``warnings.showwarning`` for the commands: ``warning: <message>`` (``警告: ...`` under
    --lang ja) on stderr, without Python's file name, line number and source line."""
    def show(message, category, filename, lineno, file=None, line=None):
        from tomei.tools.cli_args import lang_in
        from tomei.tools.messages import detect_lang, t
        print(t("warning_prefix", detect_lang(lang_in(argv)), message=str(message)),
              file=file or sys.stderr)
    return show


if __name__ == "__main__":
    sys.exit(main())
