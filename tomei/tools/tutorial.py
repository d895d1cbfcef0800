"""``tomei tutorial``: the TensorFlow beginner tutorial, step by step, on tomei.

The steps are the tutorial's own, in its order: load the data and scale pixels by 1/255;
build Flatten -> Dense(128, relu) -> Dropout(0.2) -> Dense(10); look at the untrained
model's logits, softmax and loss; compile with Adam, sparse cross-entropy from logits and
accuracy; fit; evaluate; print the test loss and accuracy.
"""
from __future__ import annotations

import sys

import numpy as np

from tomei.tools.cli_args import (
    LANG_HELP_JA, Parser, fraction, non_negative_integer, positive_integer, unwritable,
)
from tomei.tools.messages import dataset_error, detect_lang, t

DATASETS = ("mnist", "fashion_mnist")


def build_parser() -> Parser:
    """The argparse parser of ``tomei tutorial`` (options, defaults and help texts)."""
    p = Parser(
        prog="tomei tutorial",
        description="The TensorFlow beginner tutorial, step by step, on tomei.",
        description_ja="TensorFlow の初心者向けチュートリアルを、tomei で 1 ステップずつ実行します。")
    p.add_argument("--dataset", choices=DATASETS, default="mnist",
                   help="mnist (downloaded once, SHA-256 verified) or fashion_mnist "
                        "(works offline from Debian's dataset-fashion-mnist). Default: mnist.",
                   help_ja="mnist (初回にダウンロードし SHA-256 で検証) または fashion_mnist "
                           "(Debian の dataset-fashion-mnist でオフラインでも動きます)。既定: mnist")
    p.add_argument("--data-path", default=None,
                   help="a local file or folder holding the dataset (skips the search).",
                   help_ja="データセットが入った手元のファイルかフォルダー (探さずにそこから読みます)")
    p.add_argument("--epochs", type=positive_integer, default=5, help="default 5",
                   help_ja="学習するエポック数 (既定 5)")
    p.add_argument("--batch-size", type=positive_integer, default=32, help="default 32",
                   help_ja="1 ステップで使う画像の枚数 (既定 32)")
    p.add_argument("--seed", type=non_negative_integer, default=None,
                   help="fix weights, dropout and shuffling (tomei.keras.utils.set_random_seed)",
                   help_ja="重み・ドロップアウト・シャッフルを毎回同じにします "
                           "(tomei.keras.utils.set_random_seed)")
    p.add_argument("--save", metavar="PATH.keras", default=None,
                   help="save the trained model (Keras 3 .keras file)",
                   help_ja="学習したモデルを保存します (Keras 3 の .keras ファイル)")
    p.add_argument("--report", metavar="DIR", default=None,
                   help="write a training report (PNG plots and index.html) to DIR",
                   help_ja="学習レポート (PNG の図と index.html) を DIR に書き出します")
    p.add_argument("--validation-split", type=fraction, default=0.0,
                   help="hold out this fraction of the training data, in [0, 1) (default 0.0)",
                   help_ja="訓練データのうち検証に回す割合、0 以上 1 未満 (既定 0.0)")
    p.add_argument("--lang", choices=("en", "ja"), default=None,
                   help="language of the messages (default: from the locale)",
                   help_ja=LANG_HELP_JA)
    return p


def load(name, path, lang="en"):
    """``tomei.keras.datasets.<name>.load_data()`` (from ``path`` when given).

    ``--data-path`` names a file or folder on this machine, taken as it is (an absolute path),
    never a name to look up in the Keras cache.

    Raises:
        FileNotFoundError: ``path`` does not exist (the message in ``lang``).
    """
    import os

    import tomei as tf
    module = getattr(tf.keras.datasets, name)
    if not path:
        return module.load_data()
    if not os.path.exists(path):
        title = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}.get(name, name)
        raise FileNotFoundError(t("data_path_missing", lang, path=repr(path), title=title))
    return module.load_data(os.path.abspath(path))


def main(argv=None) -> int:
    """Runs the tutorial with the options ``argv``; returns the exit code (0 on success, 2 for bad options)."""
    args = build_parser().parse_args(argv)
    lang = detect_lang(args.lang)
    if args.save and not args.save.endswith(".keras"):
        print(t("error_prefix", lang, message=t("save_not_keras", lang, path=args.save)),
              file=sys.stderr)
        return 2
    # where the results go is checked before training, so that minutes of training are not
    # thrown away by a name that cannot be written at the end
    for path, key, folder in ((args.save, "save_failed", False), (args.report, "out_dir_failed", True)):
        problem = path and unwritable(path, folder, lang)
        if problem:
            print(t("error_prefix", lang, message=t(key, lang, path=path, detail=problem)),
                  file=sys.stderr)
            return 2
    import tomei as tf  # the tutorial's `import tensorflow as tf`, on tomei

    if args.seed is not None:
        tf.keras.utils.set_random_seed(args.seed)

    # 1. Data: 28x28 grey images with pixel values 0-255, scaled to 0-1.
    print(t("loading_data", lang, dataset=args.dataset), flush=True)
    try:
        (x_train, y_train), (x_test, y_test) = load(args.dataset, args.data_path, lang)
    except tf.keras.datasets.DatasetNotFoundError as err:  # what was tried, and the ways out
        print(t("error_prefix", lang, message=dataset_error(err, lang)), file=sys.stderr)
        return 1
    except (OSError, ValueError) as err:  # a damaged or foreign file: its name and the problem
        print(t("dataset_missing", lang, dataset=args.dataset, detail=str(err)), file=sys.stderr)
        return 1
    x_train, x_test = x_train / 255.0, x_test / 255.0
    print(t("data_shapes", lang, train_shape=x_train.shape, test_shape=x_test.shape))

    # 2. The model.
    print(t("building_model", lang))
    model = tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(10),
    ])
    model.summary()

    # 3. What the untrained model says about the first image.
    predictions = model(x_train[:1]).numpy()
    print(t("untrained_predictions", lang))
    print(np.array2string(predictions, precision=4))
    print(t("untrained_softmax", lang))
    print(np.array2string(tf.nn.softmax(predictions).numpy(), precision=4))
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    print(t("untrained_loss", lang, value=float(loss_fn(y_train[:1], predictions).numpy())))

    # 4. Train and evaluate.
    model.compile(optimizer="adam", loss=loss_fn, metrics=["accuracy"])
    print(t("training_one" if args.epochs == 1 else "training", lang, epochs=args.epochs),
          flush=True)
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                        validation_split=args.validation_split)
    print(t("evaluating", lang), flush=True)
    test_loss, test_acc = model.evaluate(x_test, y_test, verbose=2)

    # 5. Probabilities, as the tutorial's probability_model shows.
    probability_model = tf.keras.Sequential([model, tf.keras.layers.Softmax()])
    print(t("probability_model", lang, n=5))
    print(np.array2string(probability_model(x_test[:5]).numpy(), precision=3, suppress_small=True))

    dataset_module = getattr(tf.keras.datasets, args.dataset)
    model.class_names = list(dataset_module.CLASS_NAMES)  # kept in the .keras file
    model.dataset_name = args.dataset
    code = 0
    if args.save:
        from tomei.tools.report import history_path_for, save_history
        try:
            model.save(args.save)
            save_history(history, history_path_for(args.save))  # curves for `tomei report`
            print(t("saved_model", lang, path=args.save))
        except OSError as err:  # the disk filled up, the folder went away: say so, go on
            print(t("error_prefix", lang, message=t("save_failed", lang, path=args.save,
                                                   detail=err.strerror or err)), file=sys.stderr)
            code = 1
    if args.report:
        from tomei.tools.report import write_report
        try:
            index = write_report(model, history, x_test, y_test, args.report,
                                 class_names=model.class_names, lang=lang)
            print(t("report_written", lang, path=index))
        except OSError as err:
            print(t("error_prefix", lang, message=t("out_dir_failed", lang, path=args.report,
                                                   detail=err.strerror or err)), file=sys.stderr)
            code = 1
    print(t("test_loss", lang, value=test_loss))
    print(t("test_accuracy", lang, value=test_acc, pct=100 * test_acc))
    return code

