"""Keras 3 runner (multi-backend Keras, not tf.keras): ``import keras`` on the backend that
``KERAS_BACKEND`` names (the orchestrator sets ``jax`` or ``torch``), and the tutorial's calls.

The tutorial code is shared with the TensorFlow and tomei runners (``_keras_tutorial.py``,
written against a module called ``tf``); here ``tf`` is a small stand-in whose ``keras`` is
Keras 3 itself and whose ``nn.softmax`` is ``keras.ops.softmax``. Keras 3 returns backend
arrays (a JAX array, a torch tensor that requires grad) where TensorFlow returns an
``EagerTensor``, so the tutorial's ``.numpy()`` becomes ``keras.ops.convert_to_numpy``.
``fit`` compiles the train step as Keras does by default on each backend (``jit_compile``
"auto": XLA on JAX; plain eager on torch). Threads are the backend's defaults and are
reported. Data comes from the shared IDX reader, not from tomei.
"""
import os
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402  (standard library only)

_t0 = C.now()
import keras  # noqa: E402  (imports the backend: jax or torch)
IMPORT_S = C.now() - _t0


def as_tf_module():
    """The two names the tutorial uses from ``tf`` besides ``tf.keras``."""
    return types.SimpleNamespace(keras=keras, nn=types.SimpleNamespace(softmax=keras.ops.softmax))


def backend_info() -> dict:
    backend = keras.backend.backend()
    out = {"keras": keras.__version__, "keras_backend": backend}
    if backend == "jax":
        import jax
        import jaxlib

        out.update(jax=jax.__version__, jaxlib=jaxlib.__version__)
        threads = {"devices": [str(d) for d in jax.devices()],
                   "note": "XLA's CPU client uses all cores by default"}
    elif backend == "torch":
        import torch

        out["torch"] = torch.__version__
        threads = {"num_threads": torch.get_num_threads(),
                   "num_interop_threads": torch.get_num_interop_threads()}
    else:
        threads = {}
    return out, threads


def main():
    import _keras_tutorial as K
    import numpy as np

    cfg = C.config_from_argv()
    if cfg.get("torch_threads") and keras.backend.backend() == "torch":
        import torch

        torch.set_num_threads(int(cfg["torch_threads"]))
    run = K.run_scaling if cfg["mode"] == "scaling" else K.run_tutorial
    result = run(as_tf_module(), cfg, IMPORT_S, tomei_loader=False,
                 to_numpy=keras.ops.convert_to_numpy)
    result["framework"] = f"keras-{keras.backend.backend()}"
    versions, threads = backend_info()
    versions["numpy"] = np.__version__
    result["versions"] = versions
    result["threads"] = threads
    return result


if __name__ == "__main__":
    C.run_guarded(main)
