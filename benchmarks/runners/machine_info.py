"""Describes the machine for the benchmark report; prints one ``@@BENCH@@ {json}`` line.

Run in its own process (it imports NumPy and threadpoolctl) so the orchestrator stays small.
"""
import io
import os
import platform
import subprocess
import sys
from contextlib import redirect_stdout
from importlib import metadata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

DISTRIBUTIONS = ("tomei", "numpy", "threadpoolctl", "numba", "llvmlite", "tensorflow",
                 "tensorflow-cpu", "keras", "jax", "jaxlib", "torch", "psutil", "pyinstrument")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"],
                                  capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine()


def memory_gb():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) * 1024 / 1e9, 1)
    except OSError:
        return None


def versions():
    out = {}
    for name in DISTRIBUTIONS:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def numpy_blas():
    import numpy as np

    out = {"numpy": np.__version__}
    try:
        config = np.show_config(mode="dicts")     # NumPy >= 1.26
        deps = config.get("Build Dependencies", {})
        out["build"] = {k: {kk: deps[k].get(kk) for kk in ("name", "version", "found")}
                        for k in ("blas", "lapack") if k in deps}
    except TypeError:                             # older NumPy: capture the printout
        buf = io.StringIO()
        with redirect_stdout(buf):
            np.show_config()
        out["build"] = buf.getvalue()
    try:
        from threadpoolctl import threadpool_info
        out["threadpools"] = [{k: p.get(k) for k in ("user_api", "internal_api", "version",
                                                     "num_threads", "threading_layer",
                                                     "architecture")}
                              for p in threadpool_info()]
    except ImportError:
        out["threadpools"] = "threadpoolctl not installed"
    return out


def git_commit():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, timeout=10).stdout
        return (head + ("+uncommitted changes" if dirty.strip() else "")) or None
    except (OSError, subprocess.SubprocessError):
        return None


def main():
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "cpus_available": affinity,
        "memory_gb": memory_gb(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions(),
        "blas": numpy_blas(),
        "tomei_git": git_commit(),
    }


if __name__ == "__main__":
    C.run_guarded(main)
