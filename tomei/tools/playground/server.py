"""``tomei playground``: a local web page to draw digits, look inside and watch training.

    tomei playground [MODEL.keras] [--dataset mnist|fashion_mnist] [--port 8000]
                     [--host 127.0.0.1] [--save PATH.keras] [--lang en|ja] [--no-browser]

Without a model it builds the tutorial's model (Flatten -> Dense(128, relu) -> Dropout(0.2)
-> Dense(10)), trains it for ``--epochs`` epochs (default 1) and then serves the page.

The server is the standard library's ``ThreadingHTTPServer``; every file it sends ships
inside tomei (no CDN, works offline). Routes:

- ``GET /``                 the page (``index.html`` with the language filled in)
- ``GET /static/<name>``    ``app.js`` and ``style.css``
- ``GET /api/info``         class names, the model's layers, whether training is possible
- ``POST /api/predict``     a drawing -> the 28x28 input, the probabilities, the top class
- ``POST /api/inside``      a drawing -> hidden activations, dropout mask, top units' weights
- ``POST /api/train``       ``{"epochs", "batch_size", "learning_rate"}`` -> starts training
- ``POST /api/stop``        stops training after the current batch
- ``GET /api/status``       training progress, the live curve, predictions on fixed images
- ``POST /api/save``        saves the model to the path given with ``--save`` (never a path
  from the page)

A drawing is JSON ``{"width": W, "height": H, "pixels": BASE64}`` with ``W * H`` bytes of
grayscale (0-255), row by row. Bodies over :data:`MAX_BODY` bytes are refused (413) before
they are read; anything malformed gets 400 with a one-line reason.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources

from tomei.tools.cli_args import Parser, non_negative_integer, port, unwritable
from tomei.tools.messages import detect_lang, t
from tomei.tools.playground.session import Playground, PlaygroundError, TrainingSettings

__all__ = ["MAX_BODY", "PlaygroundServer", "main", "make_server"]

#: The largest request body accepted, in bytes (a 512x512 drawing in base64 is ~350 KB).
MAX_BODY = 1_000_000
#: at most this many bytes of a refused (too large) body are read and dropped before closing
DISCARD_LIMIT = 16 * MAX_BODY

_STATIC = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}


def _static_bytes(name: str) -> bytes:
    return resources.files("tomei.tools.playground").joinpath("static", name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    """One request; ``self.server.playground`` does the work."""

    server_version = "tomei-playground"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet: the terminal shows the URL, not every request
        pass

    # --- plumbing -----------------------------------------------------------------------------
    def _send(self, status, body: bytes, content_type: str):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; style-src 'self'")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status, value):
        self._send(status, json.dumps(value, ensure_ascii=False).encode("utf-8"),
                   "application/json; charset=utf-8")

    def _error(self, status, message):
        self._json(status, {"error": message})

    def _body(self):
        """The JSON body, or None after an error reply."""
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self._error(HTTPStatus.LENGTH_REQUIRED, "a Content-Length header is required.")
            return None
        if int(length) > MAX_BODY:
            self.close_connection = True
            self._error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                        f"the body has {length} bytes; at most {MAX_BODY} are accepted.")
            self._discard(int(length))
            return None
        raw = self.rfile.read(int(length))
        try:
            return json.loads(raw.decode("utf-8")) if raw else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            self._error(HTTPStatus.BAD_REQUEST, f"the body is not JSON: {exc}.")
            return None

    def _discard(self, length):
        """Reads and drops up to ``length`` bytes of a refused body (at most
        :data:`DISCARD_LIMIT`, 64 KiB at a time, for at most 2 s). Closing a socket that
        still holds unread bytes makes the kernel reset the connection, and the client,
        still sending, would then get a broken pipe instead of the reply: reading the rest
        lets it finish sending and read the 413. Nothing is kept."""
        remaining = min(length, DISCARD_LIMIT)
        deadline = time.monotonic() + 2.0
        try:
            self.connection.settimeout(0.5)
            while remaining > 0 and time.monotonic() < deadline:
                chunk = self.rfile.read1(min(remaining, 65536))
                if not chunk:
                    break
                remaining -= len(chunk)
        except OSError:  # the client gave up, or is slow: the reply was sent either way
            pass

    # --- routes -------------------------------------------------------------------------------
    def do_GET(self):  # noqa: N802 - the name http.server calls
        pg, path = self.server.playground, self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            page = _static_bytes("index.html").decode("utf-8").replace("{{lang}}",
                                                                      self.server.lang)
            self._send(HTTPStatus.OK, page.encode("utf-8"), "text/html; charset=utf-8")
        elif path.startswith("/static/") and path[len("/static/"):] in _STATIC:
            name = path[len("/static/"):]
            self._send(HTTPStatus.OK, _static_bytes(name), _STATIC[name])
        elif path == "/api/info":
            self._json(HTTPStatus.OK, {
                "names": pg.class_names, "lang": self.server.lang,
                "layers": [[layer.name, type(layer).__name__] for layer in pg.model.layers],
                "can_train": pg.x_train is not None, "can_save": bool(pg.save_path)})
        elif path == "/api/status":
            self._json(HTTPStatus.OK, pg.status())
        else:
            self._error(HTTPStatus.NOT_FOUND, f"no such page: {path}")

    def do_POST(self):  # noqa: N802
        pg, path = self.server.playground, self.path.split("?", 1)[0]
        routes = {"/api/predict": self._drawing_route(pg.predict),
                  "/api/inside": self._drawing_route(pg.inside),
                  "/api/train": lambda body: pg.start_training(TrainingSettings.from_json(body)),
                  "/api/stop": lambda body: pg.stop_training(),
                  "/api/save": lambda body: {"saved": pg.save()}}
        if path not in routes:
            self._error(HTTPStatus.NOT_FOUND, f"no such action: {path}")
            return
        body = self._body()
        if body is None:
            return
        try:
            self._json(HTTPStatus.OK, routes[path](body))
        except PlaygroundError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))

    @staticmethod
    def _drawing_route(method):
        def route(body):
            if not isinstance(body, dict) or set(body) != {"width", "height", "pixels"}:
                raise PlaygroundError('expected {"width": W, "height": H, "pixels": BASE64}.')
            if not isinstance(body["pixels"], str):
                raise PlaygroundError("pixels: expected a base64 string.")
            try:
                pixels = base64.b64decode(body["pixels"], validate=True)
            except (binascii.Error, ValueError):
                raise PlaygroundError("pixels: not valid base64.") from None
            return method(pixels, body["width"], body["height"])
        return route


class PlaygroundServer(ThreadingHTTPServer):
    """The HTTP server of one :class:`Playground`; ``lang`` is the page language."""

    daemon_threads = True
    request_queue_size = 64  # many drawing clients connect at once; the default 5 drops some

    def __init__(self, address, playground: Playground, lang: str = "en"):
        super().__init__(address, _Handler)
        self.playground, self.lang = playground, lang

    @property
    def url(self) -> str:
        """The page's address, e.g. ``http://127.0.0.1:8000/``."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/"


def make_server(playground: Playground, host: str = "127.0.0.1", port: int = 0,
                lang: str = "en") -> PlaygroundServer:
    """A server for ``playground`` bound to ``host:port`` (port 0: any free port). Call
    ``serve_forever()`` (or run it in a thread) and ``shutdown()`` when done."""
    return PlaygroundServer((host, port), playground, lang=lang)


# --- the command ------------------------------------------------------------------------------
def _parser():
    parser = Parser(
        prog="tomei playground",
        description="Draw a digit, look inside the network and watch it learn, in your browser.",
        description_ja="ブラウザーで数字を描き、ネットワークの中をのぞき、学ぶ様子を見ます。")
    parser.add_argument("model", metavar="MODEL.keras", nargs="?",
                        help="a saved model (default: train the tutorial's model first)",
                        help_ja="保存したモデル (既定: 先にチュートリアルのモデルを学習します)")
    parser.add_argument("--dataset", choices=["mnist", "fashion_mnist"], default=None,
                        help="the data to train on and the class names (default: the model's "
                             "own, else mnist)",
                        help_ja="学習に使うデータとクラス名 (既定: モデルのもの、なければ mnist)")
    parser.add_argument("--data-path", default=None, help="a local copy of the dataset",
                        help_ja="データセットの手元のコピー")
    parser.add_argument("--epochs", type=non_negative_integer, default=1,
                        help="epochs of training before the page opens when no model is given",
                        help_ja="モデルを指定しないとき、ページを開く前に学習するエポック数")
    parser.add_argument("--port", type=port, default=8000, help="port (default 8000; 0: any)",
                        help_ja="ポート番号 (既定 8000、0 は空いている任意のポート)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1: this computer only)",
                        help_ja="待ち受けるアドレス (既定 127.0.0.1: このコンピューターからのみ)")
    parser.add_argument("--save", metavar="PATH.keras", default=None,
                        help="where the page's Save button writes the model (default: the "
                             "model file given, or playground.keras)",
                        help_ja="ページの保存ボタンがモデルを書き出す先 (既定: 指定したモデルファイル、"
                                "なければ playground.keras)")
    parser.add_argument("--lang", choices=["en", "ja"], default=None,
                        help="page and message language (default: from LANG / LC_ALL)",
                        help_ja="ページとメッセージの言語 (既定: LANG / LC_ALL から)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser",
                        help_ja="ブラウザーを開きません")
    return parser


def _class_names(model, dataset):
    import tomei
    names = getattr(model, "class_names", None)
    if names:
        return list(names)
    if dataset == "fashion_mnist":
        return list(tomei.keras.datasets.fashion_mnist.CLASS_NAMES)
    return None


def _tutorial_model():
    import tomei as tf
    model = tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(128, activation="relu"),
        tf.keras.layers.Dropout(0.2),
        tf.keras.layers.Dense(10),
    ])
    model.compile(optimizer="adam",
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def main(argv=None) -> int:
    """Entry point of ``tomei playground``; returns the exit code (serves until Ctrl-C)."""
    args = _parser().parse_args(argv)
    lang = detect_lang(args.lang)
    if args.save and not args.save.endswith(".keras"):  # checked now, not at the Save button
        print(t("error_prefix", lang, message=t("save_not_keras", lang, path=args.save)),
              file=sys.stderr)
        return 2
    problem = args.save and unwritable(args.save, False, lang)
    if problem:
        print(t("error_prefix", lang, message=t("save_failed", lang, path=args.save,
                                               detail=problem)), file=sys.stderr)
        return 2
    import tomei

    if args.model:
        from tomei.tools.predict import load_model_or_error
        model, message = load_model_or_error(args.model, lang)
        if model is None:
            print(t("error_prefix", lang, message=message), file=sys.stderr)
            return 1
    else:
        model = _tutorial_model()
    dataset = args.dataset or getattr(model, "dataset_name", None) or (
        "fashion_mnist" if _class_names(model, None) == list(
            tomei.keras.datasets.fashion_mnist.CLASS_NAMES) else "mnist")
    print(t("loading_data", lang, dataset=dataset), flush=True)
    try:
        module = getattr(tomei.keras.datasets, dataset)
        data = module.load_data(args.data_path) if args.data_path else module.load_data()
    except (OSError, ValueError) as err:
        if not args.model:
            print(t("dataset_missing", lang, dataset=dataset, detail=str(err)), file=sys.stderr)
            return 1
        print(t("playground_no_data", lang, dataset=dataset), file=sys.stderr)
        data = None
    names = _class_names(model, dataset)
    if not getattr(model, "class_names", None):  # the saved file will know its classes
        model.class_names = names or [str(i) for i in range(10)]
        model.dataset_name = dataset
    save_path = args.save or args.model or "playground.keras"
    playground = Playground(model, class_names=names, data=data, save_path=save_path, lang=lang)
    if not args.model and args.epochs > 0:
        print(t("playground_training", lang, epochs=args.epochs), flush=True)
        playground.model.fit(playground.x_train, playground.y_train, epochs=args.epochs)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(t("playground_host_warning", lang, host=args.host), file=sys.stderr)
    try:
        server = make_server(playground, args.host, args.port, lang)
    except OSError as exc:
        print(t("error_prefix", lang, message=t("playground_port_busy", lang, port=args.port,
                                                detail=exc.strerror or exc)), file=sys.stderr)
        return 1
    print(t("playground_url", lang, url=server.url), flush=True)
    if not args.no_browser and os.environ.get("CI") is None:
        import webbrowser
        threading.Timer(0.5, webbrowser.open, args=(server.url,)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print(t("playground_stopped", lang), flush=True)
    finally:
        playground.stop_training()
        server.server_close()
    return 0
