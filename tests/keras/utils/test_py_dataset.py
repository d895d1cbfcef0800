"""keras.utils.PyDataset in fit/evaluate/predict, with its epoch hooks and shuffling."""
import numpy as np
import pytest

import tomei as tf
from tomei.keras import layers


class Squares(tf.keras.utils.PyDataset):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.visits, self.epochs_ended = [], 0

    def __len__(self):
        return 5

    def __getitem__(self, index):
        self.visits.append(index)
        x = (np.arange(4, dtype="float32")[:, None] + 4 * index) / 20
        return x, x ** 2

    def on_epoch_end(self):
        self.epochs_ended += 1


def regressor():
    model = tf.keras.Sequential([layers.Dense(4, activation="relu"), layers.Dense(1)])
    model.compile("adam", "mse")
    return model


def test_fit_visits_every_batch_in_a_new_order_each_epoch():
    tf.keras.utils.set_random_seed(3)
    data = Squares()
    history = regressor().fit(data, epochs=4, verbose=0)
    assert len(history.history["loss"]) == 4 and data.epochs_ended == 4
    epochs = [data.visits[i * 5:(i + 1) * 5] for i in range(4)]
    assert all(sorted(e) == list(range(5)) for e in epochs)
    assert len({tuple(e) for e in epochs}) > 1


def test_evaluate_and_predict_keep_the_order():
    data, model = Squares(), regressor()
    assert model.predict(data, verbose=0).shape == (20, 1) and data.visits == list(range(5))
    assert np.isfinite(model.evaluate(data, verbose=0))
    with pytest.raises(ValueError, match="does not take y"):
        model.fit(data, np.ones(20))


def test_arguments():
    assert Squares(workers=4, max_queue_size=2).workers == 4
    with pytest.raises(NotImplementedError, match="use_multiprocessing"):
        Squares(use_multiprocessing=True)
    with pytest.raises(ValueError, match="workers"):
        Squares(workers=0)
