"""``tomei predict``: classify your own image files with a saved model.

    tomei predict MODEL.keras IMAGE... [--show OUT.png] [--dataset mnist|fashion_mnist] [--lang ja]

The class names printed are those stored in the model file (``tomei tutorial --save`` stores
them), unless ``--dataset`` says otherwise; a model without them prints the digits 0-9.

Each image (PNG or JPEG, any size, dark ink on light paper or light ink on dark, anywhere in
the picture) is turned into an MNIST-style 28x28 image by :func:`preprocess_digit`, then the
model classifies it. For each image one line starts with the predicted class, followed by
the three most likely classes with their probabilities. ``--show OUT.png`` writes the 28x28
image(s) the model saw (side by side when there are several).

Exit code: 0 when every image was classified, 1 when an image or the model could not be used
(one line on stderr each, no traceback), 2 for a usage error.
"""
from __future__ import annotations

import os
import sys
import warnings

import numpy as np

from tomei.tools.cli_args import LANG_HELP_JA, MODEL_HELP_JA, Parser
from tomei.tools.messages import detect_lang, print_error, t

__all__ = [
    "MAX_PIXELS",
    "ImageError",
    "class_names_for",
    "classify",
    "fit_to_model",
    "main",
    "model_class_names",
    "preprocess_digit",
    "probabilities",
]

#: Images with more pixels than this are refused before they are decoded (50 megapixels).
MAX_PIXELS = 50_000_000

#: Normalised brightness above which a pixel counts as ink when cropping.
INK_THRESHOLD = 0.25

#: Smallest brightness range (0..1) between background and ink for an image to have ink.
MIN_CONTRAST = 0.1

DIGIT_NAMES = [str(i) for i in range(10)]


class ImageError(ValueError):
    """An image that cannot be used. ``key`` and ``fmt`` give the message in any language
    (``tomei.tools.messages.t(err.key, lang, **err.fmt)``); ``str(err)`` is the English text."""

    def __init__(self, key, **fmt):
        self.key, self.fmt = key, fmt
        super().__init__(t(key, "en", **fmt))


def _open_image(image_or_path, max_pixels):
    """A loaded PIL image from a path, a PIL image or an array; checks size before decoding."""
    from PIL import Image, UnidentifiedImageError
    if isinstance(image_or_path, Image.Image):
        image = image_or_path
        _check_size(image.size, "<image>", max_pixels)
        return image
    if isinstance(image_or_path, np.ndarray):
        arr = image_or_path
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)) \
                or arr.size == 0:
            raise ValueError(f"image_or_path: expected an array of shape (H, W), (H, W, 3) or "
                             f"(H, W, 4); received shape {arr.shape}.")
        _check_size((arr.shape[1], arr.shape[0]), "<array>", max_pixels)
        if arr.dtype.kind == "f":
            arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255)
        return Image.fromarray(arr.astype(np.uint8))
    if not isinstance(image_or_path, (str, os.PathLike)):
        raise TypeError(f"image_or_path: expected a file path, a PIL image or a NumPy array; "
                        f"received {type(image_or_path).__name__}.")
    path = os.fspath(image_or_path)
    if not os.path.isfile(path):
        raise ImageError("image_missing", path=path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)  # reads the header only
            _check_size(image.size, path, max_pixels)
            image.load()
    except ImageError:
        raise
    except Image.DecompressionBombError:
        raise ImageError("image_too_large_pillow", path=path, limit=max_pixels) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageError("image_not_image", path=path) from None
    return image


def _check_size(size, path, max_pixels):
    width, height = size
    if width * height > max_pixels:
        raise ImageError("image_too_large", path=path, width=width, height=height,
                         pixels=width * height, limit=max_pixels)
    if width == 0 or height == 0:
        raise ImageError("image_empty", path=path)


def _to_gray(image) -> np.ndarray:
    """Grayscale float32 in [0, 1]; transparent pixels become white paper."""
    from PIL import Image, ImageOps
    try:
        image = ImageOps.exif_transpose(image)  # phone photos: honour the rotation tag
    except (OSError, ValueError, TypeError, KeyError, AttributeError, SyntaxError):
        pass  # a broken EXIF block must not stop a prediction
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(paper, rgba)
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(image, dtype=np.float32)
        low, high = float(arr.min()), float(arr.max())
        return (arr - low) / (high - low) if high > low else np.zeros_like(arr)
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def _border(arr: np.ndarray) -> np.ndarray:
    w = max(1, min(arr.shape) // 50)  # a ring 2% of the short side wide, at least 1 pixel
    return np.concatenate([arr[:w].ravel(), arr[-w:].ravel(), arr[:, :w].ravel(),
                           arr[:, -w:].ravel()])


def preprocess_digit(image_or_path, max_pixels: int = MAX_PIXELS, name=None) -> np.ndarray:
    """Turns a picture of one handwritten digit (or object) into an MNIST-style input.

    Steps, as in the making of MNIST (LeCun et al., 1998):
    1. grayscale in [0, 1] (transparent areas count as white paper);
    2. if the border pixels are light (median > 0.5) the image is inverted, so the ink is
       light on black as in MNIST;
    3. the brightness is stretched so the background (median border value) is 0 and the
       brightest ink 1; values below ``INK_THRESHOLD`` (0.25) become 0 (paper texture, shade);
    4. cropped to the bounding box of the ink;
    5. scaled so the longer side is 20 pixels, keeping the aspect ratio (box filter when
       shrinking, bilinear when enlarging);
    6. pasted into a 28x28 black square and shifted so the centre of mass of the ink is at
       the centre of the square (as far as the 28x28 frame allows).

    Args:
        image_or_path: a file path (PNG, JPEG or anything Pillow reads), a ``PIL.Image`` or a
            NumPy array of shape (H, W), (H, W, 3) or (H, W, 4) (uint8 0-255 or float 0-1).
        max_pixels: refuse images with more pixels than this (default 50,000,000), checked
            from the file header before decoding.
        name: optional label for the image in error messages (default: the path).

    Returns:
        float32 ndarray of shape (28, 28), values in [0, 1], ink bright on 0.

    Raises:
        ImageError (a ValueError): the file is missing, is not an image, is too large, or has
            no ink (no brightness difference of at least ``MIN_CONTRAST`` = 0.1).
        TypeError / ValueError: ``image_or_path`` of an unsupported type or array shape.
    """
    from PIL import Image
    label = name or (os.fspath(image_or_path) if isinstance(image_or_path, (str, os.PathLike))
                     else "<image>")
    gray = _to_gray(_open_image(image_or_path, max_pixels))
    if float(np.median(_border(gray))) > 0.5:
        gray = 1.0 - gray
    background = float(np.median(_border(gray)))
    top = float(gray.max())
    if top - background < MIN_CONTRAST:
        raise ImageError("image_empty", path=label)
    ink = np.clip((gray - background) / (top - background), 0.0, 1.0)
    ink[ink < INK_THRESHOLD] = 0.0
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    ink = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = ink.shape
    scale = 20.0 / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    # Shrinking averages the pixels each output pixel covers (a box filter: anti-aliased, no
    # ringing); enlarging a tiny drawing interpolates bilinearly.
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    small = Image.fromarray((ink * 255).round().astype(np.uint8)).resize(
        (new_w, new_h), resample)
    digit = np.asarray(small, dtype=np.float32) / 255.0
    out = np.zeros((28, 28), dtype=np.float32)
    top_row, left = (28 - new_h) // 2, (28 - new_w) // 2
    out[top_row:top_row + new_h, left:left + new_w] = digit
    total = float(out.sum())
    if total <= 0:
        raise ImageError("image_empty", path=label)
    ys, xs = np.indices(out.shape)
    cy, cx = float((ys * out).sum() / total), float((xs * out).sum() / total)
    dy = int(np.clip(round(13.5 - cy), -top_row, 28 - new_h - top_row))
    dx = int(np.clip(round(13.5 - cx), -left, 28 - new_w - left))
    centred = np.zeros_like(out)
    centred[top_row + dy:top_row + dy + new_h, left + dx:left + dx + new_w] = digit
    return centred


# --- the model side ---------------------------------------------------------------------------
def fit_to_model(model, images: np.ndarray) -> np.ndarray:
    """Reshapes a batch of (N, 28, 28) images to what ``model`` expects, e.g. (N, 784).

    Raises:
        ValueError: the model's input shape does not hold 28*28 values per sample.
    """
    images = np.asarray(images)
    shape = getattr(model, "input_shape", None)
    if isinstance(shape, list) or shape is None:
        return images
    per_sample = tuple(shape[1:])
    if any(d is None for d in per_sample) or per_sample == images.shape[1:]:
        return images
    if int(np.prod(per_sample)) != int(np.prod(images.shape[1:])):
        raise ValueError(t("model_input_mismatch", "en", expected=tuple(shape),
                           received=images.shape))
    return images.reshape((images.shape[0],) + per_sample)


def model_class_names(model):
    """The class names stored in the model file (``model.class_names``), or None."""
    names = getattr(model, "class_names", None)
    return [str(name) for name in names] if names else None


def probabilities(outputs) -> np.ndarray:
    """Rows of class probabilities: ``outputs`` as they are when each row already is a
    probability distribution (values in [0, 1] summing to 1), else their softmax (logits)."""
    out = np.asarray(outputs, dtype=np.float64)
    if out.ndim == 1:
        out = out[None]
    if out.min() >= 0 and out.max() <= 1 and np.allclose(out.sum(axis=-1), 1.0, atol=1e-3):
        return out
    z = out - out.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def class_names_for(dataset: str | None, n: int) -> list:
    """Names for ``n`` classes: digits for MNIST, article names for Fashion-MNIST."""
    if dataset in ("fashion_mnist", "fashion-mnist") and n == 10:
        from tomei.keras.datasets.fashion_mnist import CLASS_NAMES
        return list(CLASS_NAMES)
    if n == 10:
        return list(DIGIT_NAMES)
    return [str(i) for i in range(n)]


def classify(model, images, class_names=None, top=3) -> list:
    """Classifies preprocessed images.

    Args:
        model: a tomei.keras model taking 28x28 images. images: (N, 28, 28) or (28, 28) in
            [0, 1] (as :func:`preprocess_digit` returns). class_names: optional list of names.
        top: how many of the most likely classes to return (default 3).

    Returns:
        For each image a list of ``top`` pairs ``(class name, probability)``, most likely first.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 2:
        images = images[None]
    probs = probabilities(model.predict(fit_to_model(model, images), verbose=0))
    names = class_names or class_names_for(None, probs.shape[1])
    result = []
    for row in probs:
        order = np.argsort(-row, kind="stable")[:top]
        result.append([(names[i] if i < len(names) else str(i), float(row[i])) for i in order])
    return result


def load_model_or_error(path, lang):
    """Loads a saved model; returns (model, None) or (None, one-line message)."""
    if not os.path.isfile(path):
        return None, t("model_missing", lang, path=path)
    try:
        from tomei.keras.models import load_model
        return load_model(path), None
    except ImportError as exc:
        return None, t("saving_unavailable", lang, detail=exc)
    except Exception as exc:  # noqa: BLE001 - any unreadable file becomes one line
        from tomei.tools.model_cmds import load_error_detail
        return None, t("model_unreadable", lang, path=path, detail=load_error_detail(exc, path))


def _save_png(array_2d, path):
    from PIL import Image
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    from tomei.keras.utils.atomic_write import atomic_path
    with atomic_path(path) as tmp:
        Image.fromarray((np.clip(array_2d, 0, 1) * 255).round().astype(np.uint8)).save(tmp, "PNG")


def _parser():
    parser = Parser(
        prog="tomei predict",
        description="Classify your own image files (a photo or scan of a digit) with a saved model.",
        description_ja="手元の画像 (数字を書いた紙の写真やスキャン) を保存したモデルで分類します。")
    parser.add_argument("model", metavar="MODEL.keras", help="a model saved with model.save()",
                        help_ja=MODEL_HELP_JA)
    parser.add_argument("images", metavar="IMAGE", nargs="+", help="PNG or JPEG files",
                        help_ja="PNG または JPEG のファイル")
    parser.add_argument("--show", metavar="OUT.png",
                        help="write the 28x28 image(s) the model saw to this PNG file",
                        help_ja="モデルが見た 28x28 の画像をこの PNG ファイルに書き出します")
    parser.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default=None,
                        help="which class names to print (default: the names stored in the "
                             "model file, else the digits 0-9)",
                        help_ja="表示するクラス名 (既定: モデルファイルに記録された名前、なければ数字 0-9)")
    parser.add_argument("--lang", choices=["en", "ja"], default=None,
                        help="message language (default: from LANG / LC_ALL)", help_ja=LANG_HELP_JA)
    return parser


def main(argv=None) -> int:
    """Entry point of ``tomei predict``; returns the exit code."""
    args = _parser().parse_args(argv)
    lang = detect_lang(args.lang)
    if not os.path.isfile(args.model):
        print_error(t("model_missing", lang, path=args.model), lang)
        return 1
    status, prepared = 0, []
    for path in args.images:
        try:
            prepared.append((path, preprocess_digit(path)))
        except ImageError as exc:
            print_error(t(exc.key, lang, **exc.fmt), lang)
            status = 1
    if not prepared:
        return status
    model, message = load_model_or_error(args.model, lang)
    if model is None:
        print_error(message, lang)
        return 1
    images = np.stack([img for _, img in prepared])
    try:
        fit_to_model(model, images)
    except ValueError:
        print_error(t("model_input_mismatch", lang, expected=tuple(model.input_shape),
                 received=images.shape), lang)
        return 1
    outputs = model.predict(fit_to_model(model, images), verbose=0)
    probs = probabilities(outputs)
    names = class_names_for(args.dataset, probs.shape[1])
    if args.dataset is None:
        stored = model_class_names(model)
        if stored and len(stored) == probs.shape[1]:
            names = stored
    for (path, _), row in zip(prepared, probs):
        order = np.argsort(-row, kind="stable")[:3]
        print(t("predict_result", lang, label=names[order[0]], path=path))
        for rank, i in enumerate(order, 1):
            print(t("predict_top", lang, rank=rank, label=names[i], prob=float(row[i])))
    if args.show:
        try:
            _save_png(np.concatenate([img for _, img in prepared], axis=1), args.show)
        except OSError as exc:
            print_error(t("show_failed", lang, path=args.show, detail=exc.strerror or exc), lang)
            return 1
        print(t("predict_shown", lang, path=args.show))
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    sys.exit(main())
