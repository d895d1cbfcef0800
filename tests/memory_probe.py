"""Peak-memory measurement for tests that must stay bounded (decompression bombs, endless
downloads): ``with peak_memory() as probe: ...`` then ``probe["peak"]`` is the rise in bytes.

tests/conftest.py puts this folder on sys.path, so any test module can ``from memory_probe
import peak_memory``.
"""
import contextlib
import tracemalloc

__all__ = ["peak_memory"]


def _read_status(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


@contextlib.contextmanager
def peak_memory():
    """Measures the peak memory the block adds above what the process held when it began.

    Yields a dict; after the block its "peak" is the rise in bytes. On Linux this is the
    resident set's high-water mark (VmHWM, reset through /proc/self/clear_refs), which sees
    NumPy, HDF5 and zlib alike; elsewhere Python-level allocations (tracemalloc, which NumPy
    reports to).
    """
    result = {"peak": None, "how": None}
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        baseline = _read_status("VmRSS")
        result["how"] = "VmHWM"
    except OSError:
        baseline = None
        tracemalloc.start()
        result["how"] = "tracemalloc"
    try:
        yield result
    finally:
        if baseline is not None:
            result["peak"] = _read_status("VmHWM") - baseline
        else:
            result["peak"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
