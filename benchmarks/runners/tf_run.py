"""TensorFlow/Keras runner: ``import tensorflow as tf`` and the tutorial's calls.

tf.keras is Keras 3 here; the orchestrator sets ``KERAS_BACKEND=tensorflow`` (a
``KERAS_BACKEND=torch`` left in the environment by the test command would otherwise change
it) and ``TF_CPP_MIN_LOG_LEVEL=2`` (quieter logs only). Thread settings are left at
TensorFlow's defaults and reported. Data comes from the shared IDX reader, not from tomei.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402  (standard library only)

_t0 = C.now()
import tensorflow as tf  # noqa: E402
IMPORT_S = C.now() - _t0


def main():
    import _keras_tutorial as K
    import numpy as np

    cfg = C.config_from_argv()
    run = K.run_scaling if cfg["mode"] == "scaling" else K.run_tutorial
    result = run(tf, cfg, IMPORT_S, tomei_loader=False)
    result["framework"] = "tf"
    versions = {"tensorflow": tf.__version__, "numpy": np.__version__}
    try:
        import keras
        versions["keras"] = keras.__version__
        versions["keras_backend"] = keras.backend.backend()
    except Exception:  # noqa: BLE001
        pass
    result["versions"] = versions
    result["threads"] = {
        "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
        "note": "0 = TensorFlow's default (all cores)",
    }
    return result


if __name__ == "__main__":
    C.run_guarded(main)
