"""tf.saved_model: a clear refusal that names the formats tomei does write."""
import pytest

import tomei as tf


def test_save_and_load_explain_the_alternatives(tmp_path):
    model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])
    with pytest.raises(NotImplementedError, match=r"\.keras.*ONNX"):
        tf.saved_model.save(model, str(tmp_path / "m"))
    with pytest.raises(NotImplementedError, match=r"SavedModel.*\.keras"):
        tf.saved_model.load(str(tmp_path / "m"))
    assert not (tmp_path / "m").exists()
