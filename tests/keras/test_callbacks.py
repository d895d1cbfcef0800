"""EarlyStopping, ReduceLROnPlateau, LearningRateScheduler, CSVLogger and model.stop_training."""
import csv
import os
import sys

import numpy as np
import pytest

import tomei
from tomei.keras import Input, Sequential, callbacks, layers, optimizers

RNG = np.random.default_rng(0)
X = RNG.normal(size=(32, 3)).astype(np.float32)
Y = (X @ np.array([[1.0], [-2.0], [0.5]], np.float32)).astype(np.float32)


def _model(lr=0.05):
    tomei.keras.utils.set_random_seed(0)
    m = Sequential([Input((3,)), layers.Dense(1)])
    m.compile(optimizers.SGD(lr), "mse", metrics=["mae"])
    return m


class _Replay(callbacks.Callback):
    """Overwrites the logged monitor value with a scripted sequence (runs before the others)."""

    def __init__(self, values, key="val_loss"):
        super().__init__()
        self.values, self.key = values, key

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]


def _fit(values, *cbs, key="val_loss", epochs=None, model=None):
    model = model or _model()
    history = model.fit(X, Y, epochs=epochs or len(values), verbose=0,
                        validation_data=(X, Y), callbacks=[_Replay(values, key), *cbs])
    return model, history


VALUES = [1.0, 0.8, 0.81, 0.79, 0.7999, 0.85, 0.9, 0.6, 0.61, 0.62]


def test_early_stopping_defaults():
    es = callbacks.EarlyStopping()
    assert (es.monitor, es.min_delta, es.patience, es.verbose, es.mode, es.baseline,
            es.restore_best_weights, es.start_from_epoch) == \
        ("val_loss", 0, 0, 0, "auto", None, False, 0)


@pytest.mark.parametrize("kwargs, stopped, best_epoch", [
    (dict(patience=0), 2, 1),           # 0.81 is no gain on 0.8: stop at once
    (dict(patience=2), 5, 3),           # best 0.79 at epoch 3, then 2 epochs without gain
    (dict(patience=2, min_delta=0.02), 3, 1),  # 0.81 and 0.79 are not 0.02 below 0.8
    (dict(patience=1, baseline=0.75), 2, 1),  # improvements that miss the baseline keep waiting
    (dict(patience=2, start_from_epoch=5), 9, 7),  # watches from epoch 5: best 0.6 at 7
])
def test_early_stopping_stops_at_best_epoch_plus_patience(kwargs, stopped, best_epoch):
    es = callbacks.EarlyStopping(**kwargs)
    model, history = _fit(VALUES, es)
    assert (es.stopped_epoch, es.best_epoch) == (stopped, best_epoch)
    assert history.epoch == list(range(stopped + 1))
    if "baseline" not in kwargs:
        assert stopped == es.best_epoch + max(es.patience, 1)
    if "baseline" not in kwargs and "min_delta" not in kwargs:
        assert es.best == min(VALUES[kwargs.get("start_from_epoch", 0):stopped + 1])
    assert model.stop_training is True


def test_early_stopping_mode_max_and_auto_accuracy():
    acc = [0.5, 0.6, 0.55, 0.58, 0.7, 0.69, 0.68, 0.9]
    for es in (callbacks.EarlyStopping(monitor="val_acc", patience=2, mode="max"),
               callbacks.EarlyStopping(monitor="val_accuracy", patience=2)):
        _fit(acc, es, key=es.monitor)
        assert (es.best_epoch, es.stopped_epoch, es.best) == (1, 3, 0.6)
    with pytest.raises(ValueError, match="mode='min' or mode='max'"):
        _fit(acc, callbacks.EarlyStopping(monitor="val_banana"), key="val_banana")


def test_early_stopping_restores_best_weights():
    seen = []
    record = callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(model.get_weights()))
    es = callbacks.EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    model = _model()
    _fit(VALUES, es, record, model=model)
    for got, best in zip(model.get_weights(), seen[es.best_epoch]):
        np.testing.assert_array_equal(got, best)


def test_early_stopping_warns_for_a_missing_monitor():
    with pytest.warns(UserWarning, match="val_nothing.*not available"):
        _fit([1.0, 1.0], callbacks.EarlyStopping(monitor="val_nothing"))


def test_stop_training_from_a_lambda_callback_ends_fit_after_the_batch():
    model = _model()
    stop = callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: setattr(model, "stop_training", batch == 2))
    history = model.fit(X, Y, batch_size=4, epochs=5, verbose=0, callbacks=[stop])
    assert history.epoch == [0]
    assert model.optimizer.iterations == 3


def test_reduce_lr_on_plateau():
    cb = callbacks.ReduceLROnPlateau(patience=1, factor=0.5, min_lr=0.01, cooldown=1)
    model, history = _fit(VALUES, cb)
    # the rate is logged before that epoch's reduction: cuts at epochs 2, 4 (after the
    # 1-epoch cooldown) and 5, the last one stopped by min_lr
    np.testing.assert_allclose(history.history["learning_rate"],
                               [0.05, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.01, 0.01, 0.01, 0.01],
                               rtol=1e-6)
    assert model.optimizer.learning_rate == pytest.approx(0.01)
    with pytest.raises(ValueError, match="factor >= 1.0; received factor=1.5"):
        callbacks.ReduceLROnPlateau(factor=1.5)
    defaults = callbacks.ReduceLROnPlateau()
    assert (defaults.monitor, defaults.factor, defaults.patience, defaults.min_delta,
            defaults.cooldown, defaults.min_lr) == ("val_loss", 0.1, 10, 1e-4, 0, 0.0)


def test_learning_rate_scheduler_both_signatures():
    seen = []
    probe = callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: seen.append(model.optimizer.learning_rate))
    model = _model()
    history = model.fit(X, Y, epochs=3, verbose=0, callbacks=[
        callbacks.LearningRateScheduler(lambda epoch, lr: lr * 0.5), probe])
    np.testing.assert_allclose(seen, [0.025, 0.0125, 0.00625])
    np.testing.assert_allclose(history.history["learning_rate"], seen)
    model = _model()
    model.fit(X, Y, epochs=2, verbose=0,
              callbacks=[callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))])
    assert model.optimizer.learning_rate == pytest.approx(0.05)


def test_learning_rate_scheduler_rejects_non_floats(capsys):
    with pytest.raises(ValueError, match="must be a float; received 'fast'"):
        _model().fit(X, Y, verbose=0,
                     callbacks=[callbacks.LearningRateScheduler(lambda e, lr: "fast")])
    _model().fit(X, Y, verbose=0, epochs=1,
                 callbacks=[callbacks.LearningRateScheduler(lambda e, lr: 0.01, verbose=1)])
    out = capsys.readouterr().out
    assert "Epoch 1: LearningRateScheduler setting learning rate to 0.01." in out


def test_csv_logger_writes_sorted_columns_and_appends(tmp_path):
    path = tmp_path / "log.csv"
    _model().fit(X, Y, epochs=2, verbose=0, validation_data=(X, Y),
                 callbacks=[callbacks.CSVLogger(path)])
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    history = _model().fit(X, Y, epochs=2, verbose=0, validation_data=(X, Y),
                           callbacks=[callbacks.CSVLogger(path, separator=";", append=True)])
    lines = open(path).read().splitlines()
    assert len(lines) == 5 and lines[3].startswith("0;")  # no second header
    assert float(lines[4].split(";")[1]) == pytest.approx(history.history["loss"][1])


def test_csv_logger_adds_val_columns_when_there_is_no_validation(tmp_path):
    path = tmp_path / "log.csv"
    _model().fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(str(path))])
    rows = list(csv.reader(open(path)))
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert rows[1][3:] == ["NA", "NA"]


# --- TerminateOnNaN ---------------------------------------------------------------------------

def test_terminate_on_nan_stops_on_a_nan_or_infinite_batch_loss(capsys):
    model = Sequential([Input((2,)), layers.Dense(1)])
    cb = callbacks.TerminateOnNaN()
    cb.set_model(model)
    for loss in (0.5, None, 1e30):  # finite values and a missing loss leave training going
        cb.on_train_batch_end(0, {"loss": loss} if loss is not None else {})
        assert not model.stop_training
    cb.on_train_batch_end(7, {"loss": float("inf")})
    assert model.stop_training
    assert "Batch 7: Invalid loss, terminating training" in capsys.readouterr().out
    model.stop_training = False
    cb.on_train_batch_end(8, {"loss": float("nan")})
    assert model.stop_training


def test_terminate_on_nan_in_fit(capsys):
    model = Sequential([Input((3,)), layers.Dense(1)])

    def sqrt_of_minus_one(y_true, y_pred):  # NaN from the first batch on
        return tomei.reduce_mean(tomei.sqrt(y_pred * 0 - 1.0), axis=-1)
    model.compile("sgd", sqrt_of_minus_one)
    x, y = np.ones((64, 3), np.float32), np.zeros((64, 1), np.float32)
    with pytest.warns(Warning):
        history = model.fit(x, y, batch_size=16, epochs=3, verbose=0,
                            callbacks=[callbacks.TerminateOnNaN()])
    assert "Batch 0: Invalid loss, terminating training" in capsys.readouterr().out
    assert len(history.history["loss"]) == 1


# --- TensorBoard ------------------------------------------------------------------------------


def _read_events(folder):
    """(tag, step, value or None) of every summary in the event files of ``folder``, read as
    TensorBoard does: TFRecord frames (length, masked CRC-32C of it, data, masked CRC-32C of
    the data; every CRC checked), each an Event protocol buffer."""
    import glob
    import struct
    from tensorboardX.crc32c import crc32c
    from tensorboardX.proto.event_pb2 import Event

    def masked(data):
        crc = crc32c(data)
        return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF

    out = []
    files = glob.glob(os.path.join(folder, "events.out.tfevents.*"))
    assert len(files) == 1, files
    with open(files[0], "rb") as f:
        raw = f.read()
    pos = 0
    while pos < len(raw):
        header = raw[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        assert struct.unpack("<I", raw[pos + 8:pos + 12])[0] == masked(header)
        data = raw[pos + 12:pos + 12 + length]
        assert struct.unpack("<I", raw[pos + 12 + length:pos + 16 + length])[0] == masked(data)
        pos += 16 + length
        event = Event.FromString(data)
        for v in event.summary.value:
            out.append((v.tag, event.step, v.simple_value if v.HasField("simple_value")
                        else None))
    return out


def test_tensorboard_writes_keras_tags_in_readable_event_files(tmp_path):
    import tomei
    from tomei.keras import Input, Sequential, callbacks, layers
    tomei.keras.utils.set_random_seed(0)
    model = Sequential([Input((3,)), layers.Dense(1, name="dense")])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    x = np.random.default_rng(0).normal(size=(40, 3)).astype("float32")
    y = x.sum(axis=1)
    board = callbacks.TensorBoard(tmp_path / "logs", histogram_freq=1, update_freq=3)
    history = model.fit(x, y, batch_size=10, validation_split=0.25, epochs=2, verbose=0,
                        callbacks=[board])
    train = _read_events(tmp_path / "logs" / "train")
    val = _read_events(tmp_path / "logs" / "validation")
    scalars = {(t, s): v for t, s, v in train if v is not None}
    for epoch in (0, 1):
        assert scalars[("epoch_loss", epoch)] == pytest.approx(history.history["loss"][epoch])
        assert scalars[("epoch_mae", epoch)] == pytest.approx(history.history["mae"][epoch])
        assert scalars[("epoch_learning_rate", epoch)] == pytest.approx(0.01)
        assert ("dense/kernel/histogram", epoch) in {(t, s) for t, s, _ in train}
    assert sorted(s for t, s, _ in train if t == "batch_loss") == [3, 6]  # 3 batches/epoch
    assert ("keras/text_summary", 0) in {(t, s) for t, s, _ in train}  # config (write_graph)
    val_scalars = {(t, s): v for t, s, v in val}
    assert val_scalars[("epoch_loss", 1)] == pytest.approx(history.history["val_loss"][1])
    assert ("evaluation_loss_vs_iterations", 6) in val_scalars


def test_tensorboard_refuses_what_it_cannot_do_and_names_a_missing_writer(monkeypatch):
    from tomei.keras import callbacks
    with pytest.raises(NotImplementedError, match="profile_batch"):
        callbacks.TensorBoard(profile_batch=2)
    with pytest.raises(NotImplementedError, match="write_images"):
        callbacks.TensorBoard(write_images=True)
    with pytest.raises(ValueError, match="update_freq"):
        callbacks.TensorBoard(update_freq="sometimes")
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"pip install 'tomei\[tensorboard\]'"):
        callbacks.TensorBoard()


@pytest.mark.parametrize("make", [
    lambda **kw: callbacks.EarlyStopping(**kw), lambda **kw: callbacks.ReduceLROnPlateau(**kw),
    lambda **kw: callbacks.ModelCheckpoint("m.keras", **kw)])
def test_a_misspelt_mode_or_verbose_is_refused(make):
    with pytest.raises(ValueError, match=r"\(\): mode must be one of 'auto', 'min', 'max'; "
                                         r"received mode='maximum'"):
        make(mode="maximum")
    with pytest.raises(ValueError, match=r"\(\): verbose must be one of 0, 1, 2.*'yes'"):
        make(verbose="yes")
    assert make(mode="max", verbose=True).verbose == 1


def test_learning_rate_scheduler_checks_verbose():
    with pytest.raises(ValueError, match=r"^LearningRateScheduler\(\): verbose"):
        callbacks.LearningRateScheduler(lambda epoch, lr: lr, verbose="loud")


def test_one_callback_is_taken_as_a_list_of_one_as_in_keras():
    model = Sequential([Input((3,)), layers.Dense(2)])
    model.compile("sgd", "mse")
    stop = callbacks.EarlyStopping(monitor="loss", patience=0)
    model.fit(np.ones((8, 3)), np.ones((8, 2)), epochs=3, callbacks=stop, verbose=0)
    assert stop.model is model
    assert callbacks.callbacks_argument(None) == [] and callbacks.callbacks_argument((stop,)) == [stop]
    with pytest.raises(TypeError, match=r"callbacks must be a list of Callback instances.*received "
                                        r"str"):
        model.fit(np.ones((8, 3)), np.ones((8, 2)), callbacks="early_stopping", verbose=0)
