"""The model side of the playground: predictions, the inside view, training, saving."""
import time

import numpy as np
import pytest

import tomei
from tomei.tools.playground import PlaygroundError, TrainingSettings
from tomei.tools.playground.session import FASHION_NAMES_JA, TOP_UNITS

from .conftest import ONE, SEVEN, fresh_playground, small_data, stroke_image


def wait_until(condition, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_settings_defaults_and_limits():
    s = TrainingSettings()
    assert (s.epochs, s.batch_size, s.learning_rate) == (1, 32, 0.001)
    assert TrainingSettings.from_json({"epochs": 2.0}).epochs == 2
    for body, field in [({"epochs": 0}, "epochs"), ({"epochs": 51}, "epochs"),
                        ({"epochs": 1.5}, "epochs"), ({"epochs": True}, "epochs"),
                        ({"batch_size": "32"}, "batch_size"),
                        ({"learning_rate": float("nan")}, "learning_rate"),
                        ({"learning_rate": 0}, "learning_rate"), ({"path": "/etc"}, "unknown")]:
        with pytest.raises(PlaygroundError, match=field):
            TrainingSettings.from_json(body)
    with pytest.raises(PlaygroundError, match="JSON object"):
        TrainingSettings.from_json([1])


def test_predict_returns_what_the_model_saw_and_probabilities():
    pg = fresh_playground()
    img = stroke_image(ONE)
    result = pg.predict(img.tobytes(), 280, 280)
    assert not result["empty"]
    assert len(result["image"]) == 784 and len(result["probs"]) == 10
    assert abs(sum(result["probs"]) - 1) < 1e-3
    assert result["top"] == int(np.argmax(result["probs"]))
    # The same numbers as the model on the preprocessed image.
    seen = np.array(result["image"], np.float32).reshape(1, 28, 28)
    logits = pg.model(seen).numpy()[0]
    expected = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(result["probs"], expected, atol=2e-3)
    # The ink is centred: its centre of mass is near the middle of the 28x28 frame.
    ys, xs = np.indices((28, 28))
    assert abs((ys * seen[0]).sum() / seen.sum() - 13.5) < 1.5


def test_predict_empty_canvas_and_bad_sizes():
    pg = fresh_playground()
    assert pg.predict(bytes(280 * 280), 280, 280)["empty"] is True
    with pytest.raises(PlaygroundError, match="width"):
        pg.predict(bytes(10), 0, 10)
    with pytest.raises(PlaygroundError, match="height"):
        pg.predict(bytes(10), 1, 513)
    with pytest.raises(PlaygroundError, match="width\\*height = 100"):
        pg.predict(bytes(99), 10, 10)
    with pytest.raises(PlaygroundError, match="0 to 255"):
        pg.predict(np.full(100, 300), 10, 10)


def test_inside_shows_hidden_units_dropout_and_weights():
    pg = fresh_playground()
    img = stroke_image(SEVEN)
    result = pg.inside(img.tobytes(), 280, 280)
    assert result["layer"] == pg.model.layers[1].name
    assert len(result["activations"]) == 128 and min(result["activations"]) >= 0  # ReLU
    assert len(result["dropped"]) == 128 and result["rate"] == 0.2
    assert 0 < sum(result["dropped"]) < 128
    assert len(result["units"]) == TOP_UNITS
    acts = np.array(result["activations"])
    assert [u["unit"] for u in result["units"]] == list(np.argsort(-acts, kind="stable")[:TOP_UNITS])
    kernel = pg.model.layers[1].kernel.numpy()
    first = result["units"][0]
    np.testing.assert_allclose(first["weights"], kernel[:, first["unit"]], atol=1e-4)


def test_training_adds_points_and_stops(tmp_path):
    pg = fresh_playground(data=small_data(n_train=5600), save_path=str(tmp_path / "m.keras"),
                          tick=5)
    status = pg.start_training(TrainingSettings(epochs=3, batch_size=16))
    assert status["running"] and status["epochs"] == 3
    with pytest.raises(PlaygroundError, match="already running"):
        pg.start_training(TrainingSettings())
    with pytest.raises(PlaygroundError, match="stop it before saving"):
        pg.save()
    assert wait_until(lambda: len(pg.status()["curve"]) >= 4)
    pg.stop_training()
    assert wait_until(lambda: not pg.status()["running"])
    status = pg.status()
    assert status["error"] is None
    assert status["epoch"] < 3 or status["batch"] < status["batches"]  # stopped early
    first = status["curve"][0]
    assert first["loss"] is None and 0 <= first["val_accuracy"] <= 1  # the starting point
    assert all(np.isfinite(p["loss"]) for p in status["curve"][1:])
    assert len(status["fixed"]) == 8 and {"image", "label", "pred", "p"} <= set(status["fixed"][0])
    # The model lock is free again: predictions still work, and saving writes the file.
    assert not pg.predict(stroke_image(ONE).tobytes(), 280, 280)["empty"]
    assert pg.save() == str(tmp_path / "m.keras")
    loaded = tomei.keras.models.load_model(tmp_path / "m.keras")
    x = np.random.default_rng(0).random((2, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), pg.model.predict(x, verbose=0),
                               atol=1e-6)


def test_no_data_no_training_and_no_save_path():
    pg = fresh_playground()
    with pytest.raises(PlaygroundError, match="no training data"):
        pg.start_training(TrainingSettings())
    with pytest.raises(PlaygroundError, match="--save"):
        pg.save()
    assert "fixed" not in pg.status()


def test_fashion_class_names_in_japanese():
    names = list(tomei.keras.datasets.fashion_mnist.CLASS_NAMES)
    assert fresh_playground(class_names=names, lang="ja").class_names == FASHION_NAMES_JA
    assert fresh_playground(class_names=names, lang="en").class_names == names
