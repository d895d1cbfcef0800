"""``tomei datasets``: where each dataset is, fetching one, and re-checking every copy.

    tomei datasets                 list each dataset: where it is (or where to put it), size, status
    tomei datasets fetch NAME      find or download NAME (mnist, fashion_mnist) into the Keras cache
    tomei datasets verify          re-hash every dataset file in every searched folder

``--lang ja`` (or a Japanese locale) prints the messages in Japanese. The exit code is 0 on
success, 1 when a dataset cannot be had or a file is corrupt, 2 for a usage error.
"""

import argparse
import os
import sys
from dataclasses import dataclass, field

from tomei.keras.datasets import DatasetNotFoundError, discovery, fashion_mnist, mnist
from tomei.keras.utils.cache import cache_folders
from tomei.tools.cli_args import LANG_HELP_JA, Parser, positive_seconds
from tomei.tools.messages import dataset_error, dataset_lines, detect_lang, t

__all__ = ["DatasetStatus", "dataset_status", "main", "registered_datasets", "verify_all"]

_ALIASES = {"fashion-mnist": "fashion_mnist", "fashionmnist": "fashion_mnist"}


@dataclass
class DatasetStatus:
    """What ``tomei datasets`` shows for one dataset.

    Attributes:
        name, title: e.g. ``'fashion_mnist'``, ``'Fashion-MNIST'``.
        found: True when a complete, verified copy was found.
        location: the folder (or file) holding it, or the folder where to put it.
        source: 'TOMEI_DATASETS', 'Keras cache', 'system', or '' when not found.
        size: total bytes of the files found (0 when not found).
        verified: True when every file matched its published SHA-256.
        files: the :class:`~tomei.keras.datasets.discovery.FileStatus` of each file of the
            form found (or of the first form).
        placement: when missing, the ``(key, fields)`` line saying where to put it.
    """

    name: str
    title: str
    found: bool
    location: str
    source: str
    size: int
    verified: bool
    files: list = field(default_factory=list)
    placement: tuple = ()


def registered_datasets():
    """The specs of every dataset ``tomei datasets`` knows, with default arguments."""
    return [mnist.spec(), fashion_mnist.spec()]


def dataset_status(datasets=None):
    """Where each dataset is, its size and whether it verifies; or where to put it.

    Args:
        datasets: list of :class:`~tomei.keras.datasets.spec.Dataset`, or None for every
            registered dataset.

    Returns:
        list of :class:`DatasetStatus`, one per dataset, in the order given.
    """
    report = []
    for dataset in datasets if datasets is not None else registered_datasets():
        found = discovery.find_local(dataset)
        if found is None:
            first = dataset.filesets[0]
            folder = discovery.cache_folder_for(first)
            files = discovery.check_fileset(first, folder)
            placement = discovery.placement_lines(dataset)[0]
            report.append(
                DatasetStatus(
                    dataset.name, dataset.title, False, folder, "", 0, False, files, placement
                )
            )
            continue
        files = discovery.check_fileset(found.fileset, found.folder)
        size = sum(s.size or 0 for s in files)
        location = found.paths[0] if len(found.paths) == 1 else found.folder
        report.append(
            DatasetStatus(
                dataset.name, dataset.title, True, location, found.source, size, True, files
            )
        )
    return report


def verify_all(datasets=None):
    """Re-hashes every existing dataset file in every searched folder.

    Returns:
        list of ``(dataset_title, source, FileStatus)`` for each file that exists, each path
        once, with status 'ok', 'corrupt' or 'unverified'.
    """
    discovery.forget_verifications()
    results = []
    seen = set()
    for dataset in datasets if datasets is not None else registered_datasets():
        for source, folder, fileset in discovery.search_plan(dataset):
            for status in discovery.check_fileset(fileset, folder):
                if status.status == "missing" or status.path in seen:
                    continue
                seen.add(status.path)
                results.append((dataset.title, source, status))
    return results


def _parser():
    parser = Parser(
        prog="tomei datasets",
        description="Show, fetch and verify the datasets tomei can load.",
        description_ja="tomei が読み込めるデータセットを表示・取得・検証します。",
    )
    lang_help = "language of the messages (default: from the locale)"
    parser.add_argument("--lang", choices=("en", "ja"), default=None, help=lang_help,
                        help_ja=LANG_HELP_JA)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    listing = commands.add_parser(
        "list", help="where each dataset is, its size and status (the default)",
        help_ja="各データセットの場所・大きさ・状態 (既定)",
        description_ja="各データセットの場所・大きさ・状態を表示します (既定のコマンド)。")
    fetch = commands.add_parser(
        "fetch", help="find or download a dataset into the Keras cache",
        help_ja="データセットを探すかダウンロードして Keras のキャッシュへ",
        description_ja="データセットを探すかダウンロードして、Keras のキャッシュに置きます。")
    fetch.add_argument("name", metavar="NAME", help="mnist or fashion_mnist",
                       help_ja="mnist または fashion_mnist")
    fetch.add_argument("--timeout", type=positive_seconds, default=30.0,
                       help="seconds per network operation (default 30)",
                       help_ja="ネットワーク操作 1 回あたりの秒数 (既定 30)")
    verify = commands.add_parser(
        "verify", help="re-hash every dataset file found on this machine",
        help_ja="このコンピューターにあるデータセットのファイルをすべて検証し直す",
        description_ja="このコンピューターにあるデータセットのファイルをすべてハッシュで検証し直します。")
    for command in (listing, fetch, verify):  # --lang after the sub-command too
        command.add_argument("--lang", choices=("en", "ja"), default=argparse.SUPPRESS,
                             help=lang_help, help_ja=LANG_HELP_JA)
    return parser


def _format_size(size, lang):
    return t("ds_bytes", lang, size=f"{size:,}") if size else "-"


def _source_name(source, lang):
    return t(f"ds_source_{source.replace(' ', '_').lower()}", lang) if source else ""


def _list(out, lang):
    cache = cache_folders(None, "datasets")[0]
    offline = t("ds_on" if discovery.is_offline() else "ds_off", lang)
    print(t("ds_cache", lang, cache=cache, env=discovery.OFFLINE_ENV, state=offline), file=out)
    extra = os.environ.get(discovery.DATASETS_ENV)
    if extra:
        print(f"{discovery.DATASETS_ENV}: {extra}", file=out)
    for status in dataset_status():
        if status.found:
            state = t("ds_verified", lang)
            where = f"{status.location} ({_source_name(status.source, lang)})"
        else:
            state = t("ds_missing", lang)
            put = dataset_lines([status.placement], lang).strip().lstrip("- ")
            if discovery.is_offline():  # `tomei datasets fetch` could not download either
                way = t("ds_downloads_disabled", lang, env=discovery.OFFLINE_ENV)
            else:
                way = t("ds_or_fetch", lang, name=status.name)
            where = f"{put}; {way}"
        print(f"{status.title:<14} {state:<10} {_format_size(status.size, lang):>18}  {where}", file=out)
    return 0


def _dataset_named(name):
    name = _ALIASES.get(name.lower(), name.lower())
    for dataset in registered_datasets():
        if dataset.name == name:
            return dataset
    return None


def _fetch(name, timeout, out, err, lang):
    dataset = _dataset_named(name)
    if dataset is None:
        known = ", ".join(d.name for d in registered_datasets())
        print(t("error_prefix", lang, message=t("unknown_dataset", lang, dataset=name,
                                                 choices=known)), file=err)
        return 2
    try:
        found = discovery.obtain(dataset, timeout=timeout)
    except DatasetNotFoundError as error:
        print(t("error_prefix", lang, message=dataset_error(error, lang)), file=err)
        return 1
    location = found.paths[0] if len(found.paths) == 1 else found.folder
    print(t("ds_fetched", lang, title=dataset.title, location=location,
            source=_source_name(found.source, lang)), file=out)
    return 0


def _verify(out, lang):
    results = verify_all()
    if not results:
        print(t("ds_nothing_to_verify", lang), file=out)
        return 0
    corrupt = 0
    for title, source, status in results:
        word = t(f"ds_status_{status.status}", lang)
        line = f"{word:<10} {title:<14} {_source_name(source, lang):<14} {status.path}"
        if status.status == "ok":
            line += f"  ({_format_size(status.size, lang)})"
        elif status.detail:
            line += f": {status.detail}"
        if status.status == "corrupt":
            corrupt += 1
        print(line, file=out)
    print(t("ds_checked", lang, count=len(results), corrupt=corrupt), file=out)
    if corrupt:
        print(t("ds_corrupt_hint", lang), file=out)
        return 1
    return 0


def main(argv=None):
    """Runs ``tomei datasets`` with ``argv`` (the words after ``datasets``).

    Returns:
        int, the exit code: 0 success, 1 a dataset missing or a file corrupt, 2 usage error.
    """
    out, err = sys.stdout, sys.stderr
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_request:  # --help, or a usage error already printed by argparse
        return exit_request.code if isinstance(exit_request.code, int) else 2
    lang = detect_lang(args.lang)
    if args.command in (None, "list"):
        return _list(out, lang)
    if args.command == "fetch":
        return _fetch(args.name, args.timeout, out, err, lang)
    return _verify(out, lang)
