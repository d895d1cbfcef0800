"""Predict round-trip of ``tomei playground`` with many drawing clients at once.

    python benchmarks/playground_bench.py [--clients 20] [--requests 30] [--think-ms 100]
                                          [--json PATH]

The server (the tutorial's model, untrained: the cost of a prediction does not depend on the
weights) runs in its own process, as ``tomei playground`` does. Each client is a thread that
keeps one connection open, as a browser does, and sends 280x280 drawings (a different stroke
each time) to ``/api/predict``; between an answer and its next stroke it waits ``--think-ms``
(default 100 ms: someone finishing ten strokes a second, faster than anyone draws). It times
each round trip (request sent -> JSON parsed) and reports the median, 90th percentile and
maximum, and the requests served per second. ``--think-ms 0`` is the saturation test: every
client asks again the moment it is answered.

The issue's bar: a median under 50 ms with 20 drawing clients on the 2-core build machine.
"""
from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

import numpy as np

SERVER = r"""
import sys, tomei
from tomei.tools.playground import Playground, make_server
from tomei.tools.playground.server import _tutorial_model
tomei.keras.utils.set_random_seed(0)
server = make_server(Playground(_tutorial_model()))
print(server.url, flush=True)
server.serve_forever()
"""


def drawing(rng):
    """A random thick stroke on a 280x280 black canvas, as the page sends it."""
    img = np.zeros((280, 280), np.uint8)
    x0, y0, x1, y1 = rng.integers(40, 240, 4)
    for t in np.linspace(0, 1, 200):
        x, y = int(x0 + t * (x1 - x0)), int(y0 + t * (y1 - y0))
        img[max(0, y - 10):y + 10, max(0, x - 10):x + 10] = 255
    body = {"width": 280, "height": 280, "pixels": base64.b64encode(img.tobytes()).decode()}
    return json.dumps(body).encode()


def client(url, bodies, times, think_s=0.0):
    """Sends each body over one kept-alive connection; appends each round trip's seconds."""
    where = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    try:
        for body in bodies:
            start = time.perf_counter()
            conn.request("POST", "/api/predict", body, {"Content-Type": "application/json"})
            json.loads(conn.getresponse().read())
            times.append(time.perf_counter() - start)
            time.sleep(think_s)
    finally:
        conn.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=30, help="per client")
    parser.add_argument("--think-ms", type=float, default=100.0,
                        help="pause between an answer and the next stroke (0: saturate)")
    parser.add_argument("--json", default=None, help="write the result here")
    args = parser.parse_args(argv)

    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))] +
        [p for p in [os.environ.get("PYTHONPATH")] if p]))
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, env=env,
                              text=True)
    try:
        url = server.stdout.readline().strip()
        rng = np.random.default_rng(0)
        bodies = [[drawing(rng) for _ in range(args.requests)] for _ in range(args.clients)]
        client(url, bodies[0][:3], [])  # warm up
        times: list[float] = []
        threads = [threading.Thread(target=client, args=(url, b, times, args.think_ms / 1000))
                   for b in bodies]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(timeout=10)
    ms = sorted(1000 * t for t in times)
    result = {"clients": args.clients, "requests": len(ms), "think_ms": args.think_ms,
              "median_ms": round(statistics.median(ms), 1),
              "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 1), "max_ms": round(ms[-1], 1),
              "requests_per_s": round(len(ms) / wall, 1), "cores": os.cpu_count()}
    print(f"{result['clients']} clients ({args.think_ms:g} ms between strokes), "
          f"{result['requests']} predictions: median "
          f"{result['median_ms']} ms, p90 {result['p90_ms']} ms, max {result['max_ms']} ms, "
          f"{result['requests_per_s']} requests/s on {result['cores']} cores")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
