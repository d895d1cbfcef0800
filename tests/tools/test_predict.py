"""``tomei predict``: MNIST-style preprocessing of the user's own pictures, and its errors.

The test draws its own glyphs with Pillow: a ring, a bar, a cross and a T. A tiny model
learns them from clean 28x28 MNIST-style drawings (light ink on black, 20 px box, centred).
The same glyphs drawn large, off-centre, dark on light paper (or light on dark), as PNG or
JPEG, must reach the model as images it classifies like the clean ones.
"""
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

import tomei
from tomei.keras import layers
from tomei.tools import predict
from tomei.tools.predict import ImageError, preprocess_digit

CLASSES = ("ring", "bar", "cross", "tee")


def draw(glyph, canvas, box, width, ink=255, paper=0, mode="L"):
    """The glyph inside ``box`` (x0, y0, x1, y1) on a ``canvas`` (w, h) image."""
    img = Image.new(mode, canvas, paper)
    d = ImageDraw.Draw(img)
    x0, y0, x1, y1 = box
    cx = (x0 + x1) / 2
    if glyph == "ring":
        d.ellipse(box, outline=ink, width=width)
    elif glyph == "bar":
        d.line([(cx, y0), (cx, y1)], fill=ink, width=width)
    elif glyph == "cross":
        d.line([(x0, y0), (x1, y1)], fill=ink, width=width)
        d.line([(x0, y1), (x1, y0)], fill=ink, width=width)
    else:  # tee
        d.line([(x0, y0 + width / 2), (x1, y0 + width / 2)], fill=ink, width=width)
        d.line([(cx, y0), (cx, y1)], fill=ink, width=width)
    return img


def clean(glyph, rng=None):
    """A 28x28 MNIST-style original: light ink on black, about 20 px tall, with its centre
    of mass moved to the middle of the square (as MNIST's digits)."""
    dx, dy, w = (0, 0, 2) if rng is None else (*rng.integers(-1, 2, 2), int(rng.integers(2, 4)))
    a = np.asarray(draw(glyph, (28, 28), (4, 4, 23, 23), w), dtype=np.float32) / 255.0
    ys, xs = np.indices(a.shape)
    cy, cx = (ys * a).sum() / a.sum(), (xs * a).sum() / a.sum()
    return np.roll(a, (round(13.5 - cy) + dy, round(13.5 - cx) + dx), axis=(0, 1))


@pytest.fixture(scope="module")
def model():
    tomei.keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = np.stack([clean(g, rng) for _ in range(40) for g in CLASSES])
    y = np.tile(np.arange(len(CLASSES)), 40)
    m = tomei.keras.Sequential([layers.Flatten(input_shape=(28, 28)),
                                layers.Dense(32, activation="relu"), layers.Dense(len(CLASSES))])
    m.compile(optimizer="adam", metrics=["accuracy"],
              loss=tomei.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    m.fit(x, y, epochs=25, batch_size=16, verbose=0)
    return m


def label_of(m, images):
    return m.predict(np.asarray(images, np.float32).reshape(-1, 28, 28), verbose=0).argmax(1)


def photo(glyph, tmp_path, fmt="png", reverse=False, canvas=(1200, 900), box=(700, 80, 1000, 380)):
    """A large, off-centre drawing on slightly noisy paper (dark ink) or a dark board."""
    ink, paper = ((40, 45, 60), (225, 220, 205)) if not reverse else ((240, 240, 230), (30, 30, 35))
    img = draw(glyph, canvas, box, width=30, ink=ink, paper=paper, mode="RGB")
    noise = np.random.default_rng(1).integers(-12, 13, (canvas[1], canvas[0], 3))
    arr = np.clip(np.asarray(img).astype(int) + noise, 0, 255).astype(np.uint8)
    path = tmp_path / f"{glyph}_{'rev' if reverse else 'ink'}.{fmt}"
    Image.fromarray(arr).save(path, quality=85) if fmt == "jpg" else Image.fromarray(arr).save(path)
    return path


def test_the_model_knows_the_clean_glyphs(model):
    assert label_of(model, [clean(g) for g in CLASSES]).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("fmt, reverse", [("png", False), ("jpg", False), ("png", True)])
def test_photos_are_classified_like_the_originals(model, tmp_path, fmt, reverse):
    originals = label_of(model, [clean(g) for g in CLASSES])
    seen = [preprocess_digit(photo(g, tmp_path, fmt, reverse)) for g in CLASSES]
    assert label_of(model, seen).tolist() == originals.tolist()
    # and the naive way (shrink the whole picture) does not see the same thing
    naive = [np.asarray(Image.open(photo(g, tmp_path, fmt, reverse)).convert("L").resize((28, 28)),
                        np.float32) / 255 for g in CLASSES]
    assert label_of(model, naive).tolist() != originals.tolist()


def test_transparent_png_with_black_ink(model, tmp_path):
    img = draw("cross", (300, 500), (20, 200, 220, 400), 20, ink=(0, 0, 0, 255),
               paper=(0, 0, 0, 0), mode="RGBA")
    img.save(tmp_path / "t.png")
    assert label_of(model, [preprocess_digit(tmp_path / "t.png")]).tolist() == [2]


def test_mnist_conventions(tmp_path):
    out = preprocess_digit(photo("tee", tmp_path))
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() == 0.0 and 0.8 < out.max() <= 1.0
    assert out[0].max() == 0 and out[:, 0].max() == 0  # background black, ink light
    rows, cols = np.flatnonzero(out.any(1)), np.flatnonzero(out.any(0))
    assert max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) == 20  # longest side 20 px
    ys, xs = np.indices(out.shape)
    assert abs((ys * out).sum() / out.sum() - 13.5) <= 0.75  # centre of mass in the middle
    assert abs((xs * out).sum() / out.sum() - 13.5) <= 0.75
    # aspect ratio kept: a tall thin bar stays tall and thin
    bar = preprocess_digit(photo("bar", tmp_path))
    assert np.flatnonzero(bar.any(0)).size <= 4 and np.flatnonzero(bar.any(1)).size == 20
    # the same glyph, light on dark, gives nearly the same input
    assert np.abs(preprocess_digit(photo("tee", tmp_path, reverse=True)) - out).mean() < 0.03


def test_arrays_and_pil_images(tmp_path):
    img = draw("ring", (100, 60), (50, 5, 95, 55), 6, ink=20, paper=250)
    a = preprocess_digit(img)
    np.testing.assert_array_equal(a, preprocess_digit(np.asarray(img)))
    np.testing.assert_allclose(a, preprocess_digit(np.asarray(img) / 255.0), atol=1 / 255)
    with pytest.raises(ValueError, match=r"expected an array of shape \(H, W\).*\(2, 3, 5\)"):
        preprocess_digit(np.zeros((2, 3, 5)))
    with pytest.raises(TypeError, match="expected a file path, a PIL image or a NumPy array"):
        preprocess_digit(42)


def png_header(width, height):
    """A PNG whose header claims ``width`` x ``height``, with almost no pixel data."""
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(
            ">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 8))
            + chunk(b"IEND", b""))


def test_errors(tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    Image.new("RGB", (64, 48), (200, 200, 200)).save(tmp_path / "blank.png")
    (tmp_path / "huge.png").write_bytes(png_header(10_000, 8_000))  # 80 MP, data missing
    (tmp_path / "bomb.png").write_bytes(png_header(20_000, 20_000))  # past Pillow's own limit
    cases = {"missing.png": "image_missing", "notes.png": "image_not_image",
             "blank.png": "image_empty", "huge.png": "image_too_large",
             "bomb.png": "image_too_large_pillow"}
    for name, key in cases.items():
        with pytest.raises(ImageError) as exc:
            preprocess_digit(tmp_path / name)
        assert exc.value.key == key, name
        assert str(tmp_path / name) in str(exc.value)
    with pytest.raises(ImageError, match=r"10000x8000 = 80,000,000 pixels, more than the limit"):
        preprocess_digit(tmp_path / "huge.png")
    with pytest.raises(ImageError, match="more than the limit of 100"):
        preprocess_digit(photo("bar", tmp_path), max_pixels=100)


def run_cli(*args, lang="en"):
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    return subprocess.run([sys.executable, "-m", "tomei", "predict", *map(str, args),
                           "--lang", lang], capture_output=True, text=True, env=env, timeout=60,
                          check=False)


def test_command_errors_are_one_line(tmp_path):
    proc = run_cli(tmp_path / "m.keras", tmp_path / "a.png")
    assert proc.returncode == 1
    assert proc.stderr == f"error: No such model file: {tmp_path / 'm.keras'}\n"
    (tmp_path / "m.keras").write_bytes(b"never read: every image fails first")
    (tmp_path / "notes.png").write_text("text")
    Image.new("L", (30, 30), 255).save(tmp_path / "blank.png")
    (tmp_path / "huge.png").write_bytes(png_header(9000, 9000))
    proc = run_cli(tmp_path / "m.keras", tmp_path / "notes.png", tmp_path / "blank.png",
                   tmp_path / "huge.png")
    assert proc.returncode == 1 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 3 and all(line.startswith("error: ") for line in lines)
    assert "is not an image" in lines[0] and "has no ink" in lines[1]
    assert "more than the limit" in lines[2] and "Traceback" not in proc.stderr


def test_command_output(model, tmp_path, monkeypatch, capsys):
    """Predicted class first, then the top 3; --show writes what the model saw."""
    monkeypatch.setattr(predict, "load_model_or_error", lambda path, lang: (model, None))
    (tmp_path / "m.keras").write_bytes(b"stand-in: the loader is replaced above")
    images = [photo("cross", tmp_path), photo("ring", tmp_path, "jpg")]
    code = predict.main([str(tmp_path / "m.keras"), *map(str, images), "--show",
                         str(tmp_path / "seen.png"), "--lang", "en"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == f"2    ({images[0]})" and out[4] == f"0    ({images[1]})"
    assert out[1].startswith("  1. 2 ") and out[1].endswith("%") and out[3].startswith("  3. ")
    probs = [float(line.split()[-1].rstrip("%")) for line in out[1:4]]
    assert probs == sorted(probs, reverse=True) and sum(probs) <= 100.01
    with Image.open(tmp_path / "seen.png") as seen:
        assert seen.size == (56, 28)  # the two 28x28 inputs side by side
        pixels = np.asarray(seen, np.float32) / 255
    np.testing.assert_allclose(pixels[:, :28], preprocess_digit(images[0]), atol=1 / 255)
    assert out[-1] == f"The 28x28 image the model saw: {tmp_path / 'seen.png'}"


@pytest.fixture
def saved(model, tmp_path):
    saving = pytest.importorskip("tomei.keras.saving")
    if not (hasattr(saving, "save_model") and hasattr(saving, "load_model")):
        pytest.skip("model.save lands with tomei.keras.saving")
    path = tmp_path / "glyphs.keras"
    model.save(str(path))
    return path


def test_command_on_a_saved_model(saved, tmp_path):
    img = photo("tee", tmp_path)
    proc = run_cli(saved, img, "--show", tmp_path / "seen.png")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"3    ({img})"
    with Image.open(tmp_path / "seen.png") as seen:
        assert seen.size == (28, 28)
    proc = run_cli(saved, img, lang="ja")
    assert proc.returncode == 0 and proc.stdout.splitlines()[0].startswith("3 ")


def test_class_names_come_from_the_model_file(model, tmp_path, monkeypatch):
    """A model saved with class names prints them with no --dataset; --dataset still wins."""
    names = [f"shape {i}" for i in range(len(CLASSES))]
    monkeypatch.setattr(model, "class_names", names, raising=False)
    monkeypatch.setattr(model, "dataset_name", "glyphs", raising=False)
    path = tmp_path / "clothes.keras"
    model.save(str(path))
    img = photo("tee", tmp_path)
    proc = run_cli(path, img)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == f"shape 3    ({img})"
    proc = run_cli(path, img, "--dataset", "mnist")
    assert proc.stdout.splitlines()[0] == f"3    ({img})"
