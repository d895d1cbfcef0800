"""``tf.saved_model``: TensorFlow's SavedModel directories, which tomei does not write or read.

A SavedModel stores a TensorFlow graph (``saved_model.pb``) that only TensorFlow can run,
and tomei has no graph. Both functions raise NotImplementedError saying what to use instead:
``model.save("name.keras")`` (Keras 3 format, which real Keras also opens) and ONNX export
(``tomei.keras.saving.export_onnx`` or ``tomei export``) for serving.
"""

_INSTEAD = ("Save the whole model with model.save('my_model.keras') (the Keras 3 format, "
            "which tomei and Keras both load with tf.keras.models.load_model), or the legacy "
            "model.save('my_model.h5'); for serving outside Python, export ONNX with "
            "tomei.keras.saving.export_onnx(model, 'model.onnx') or `tomei export my_model.keras`.")


def save(obj, export_dir, signatures=None, options=None):
    """Raises NotImplementedError: tomei cannot write a TensorFlow SavedModel directory."""
    raise NotImplementedError(f"tf.saved_model.save: tomei cannot write TensorFlow SavedModel "
                              f"directories (they hold a TensorFlow graph; tomei has none). "
                              f"{_INSTEAD}")


def load(export_dir, tags=None, options=None):
    """Raises NotImplementedError: tomei cannot run a TensorFlow SavedModel graph."""
    raise NotImplementedError(f"tf.saved_model.load: tomei cannot load TensorFlow SavedModel "
                              f"directories (received {str(export_dir)!r}); only TensorFlow can "
                              f"run their graph. {_INSTEAD}")
