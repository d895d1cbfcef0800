"""``tomei datasets``: where each dataset is, fetching one, and re-checking every copy.

    tomei datasets                 list each dataset: where it is (or where to put it), size, status
    tomei datasets fetch NAME      find or download NAME (mnist, fashion_mnist) into the Keras cache
    tomei datasets verify          re-hash every dataset file in every searched folder

The exit code is 0 on success, 1 when a dataset cannot be had or a file is corrupt, 2 for a
usage error.
"""

import argparse
import os
import sys

from tomei.keras.datasets import _discovery

__all__ = ["main"]

_ALIASES = {"fashion-mnist": "fashion_mnist", "fashionmnist": "fashion_mnist"}


def _parser():
    parser = argparse.ArgumentParser(
        prog="tomei datasets",
        description="Show, fetch and verify the datasets tomei can load.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("list", help="where each dataset is, its size and status (the default)")
    fetch = commands.add_parser("fetch", help="find or download a dataset into the Keras cache")
    fetch.add_argument("name", metavar="NAME", help="mnist or fashion_mnist")
    fetch.add_argument(
        "--timeout", type=float, default=30.0, help="seconds per network operation (default 30)"
    )
    commands.add_parser("verify", help="re-hash every dataset file found on this machine")
    return parser


def _format_size(size):
    return f"{size:,} bytes" if size else "-"


def _list(out):
    cache = _discovery.cache_folders(None, "datasets")[0]
    offline = "on" if _discovery.is_offline() else "off"
    print(f"Keras cache: {cache}   {_discovery.OFFLINE_ENV}: {offline}", file=out)
    extra = os.environ.get(_discovery.DATASETS_ENV)
    if extra:
        print(f"{_discovery.DATASETS_ENV}: {extra}", file=out)
    for status in _discovery.dataset_status():
        if status.found:
            state = "verified" if status.verified else "unverified"
            where = f"{status.location} ({status.source})"
        else:
            state = "missing"
            where = status.hint
        print(f"{status.title:<14} {state:<10} {_format_size(status.size):>18}  {where}", file=out)
    return 0


def _dataset_named(name):
    name = _ALIASES.get(name.lower(), name.lower())
    for dataset in _discovery.registered_datasets():
        if dataset.name == name:
            return dataset
    return None


def _fetch(name, timeout, out, err):
    dataset = _dataset_named(name)
    if dataset is None:
        known = ", ".join(d.name for d in _discovery.registered_datasets())
        print(
            f"tomei datasets fetch: unknown dataset {name!r}; expected one of: {known}.", file=err
        )
        return 2
    try:
        found = _discovery.obtain(dataset, timeout=timeout)
    except _discovery.DatasetNotFoundError as error:
        print(str(error), file=err)
        return 1
    location = found.paths[0] if len(found.paths) == 1 else found.folder
    print(f"{dataset.title}: {location} ({found.source}, verified)", file=out)
    return 0


def _verify(out):
    results = _discovery.verify_all()
    if not results:
        print("No dataset files found on this machine; nothing to verify.", file=out)
        return 0
    corrupt = 0
    for title, source, status in results:
        line = f"{status.status.upper():<10} {title:<14} {source:<14} {status.path}"
        if status.status == "ok":
            line += f"  ({_format_size(status.size)})"
        elif status.detail:
            line += f": {status.detail}"
        if status.status == "corrupt":
            corrupt += 1
        print(line, file=out)
    print(f"{len(results)} file(s) checked, {corrupt} corrupt.", file=out)
    if corrupt:
        print(
            "A corrupt file is never used: load_data() or 'tomei datasets fetch NAME' replaces one "
            "in the Keras cache; delete the others (or reinstall their package).",
            file=out,
        )
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
    if args.command in (None, "list"):
        return _list(out)
    if args.command == "fetch":
        return _fetch(args.name, args.timeout, out, err)
    return _verify(out)
