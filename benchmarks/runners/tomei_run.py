"""tomei runner: ``import tomei as tf`` and the tutorial's calls, in a fresh process.

Started by ``benchmarks/tutorial_bench.py``; prints one ``@@BENCH@@ {json}`` line.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402  (standard library only)

os.environ.setdefault("TOMEI_OFFLINE", "1")   # never download inside a benchmark

_t0 = C.now()
import tomei as tf  # noqa: E402
IMPORT_S = C.now() - _t0


def main():
    import _keras_tutorial as K
    import numpy as np

    cfg = C.config_from_argv()
    run = K.run_scaling if cfg["mode"] == "scaling" else K.run_tutorial
    result = run(tf, cfg, IMPORT_S, tomei_loader=True)
    result["framework"] = "tomei"
    result["versions"] = {"tomei": tf.__version__, "numpy": np.__version__}
    result["threads"] = _threads()
    from tomei.engine import fused
    result["threads"]["fused_kernels"] = fused.status()   # TOMEI_FUSED, numba, cache
    return result


def _threads():
    """BLAS pools as NumPy sees them. tomei's fit/evaluate/predict limit BLAS to one thread
    for batches of 256 or fewer (trainer._blas_threads), and keep every core above that."""
    try:
        from threadpoolctl import threadpool_info
        return {"blas": [{k: p.get(k) for k in ("internal_api", "num_threads", "version")}
                         for p in threadpool_info() if p.get("user_api") == "blas"]}
    except Exception as exc:  # noqa: BLE001
        return {"blas": f"unavailable: {exc}"}


if __name__ == "__main__":
    C.run_guarded(main)
