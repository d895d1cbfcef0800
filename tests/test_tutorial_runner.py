"""benchmarks/tutorials: cells from notebooks, the import swap, local data, the kernel run
on a small notebook written here, and the comparison that fails when tomei misses a cell."""
import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "tutorials"))
import run_tutorials  # noqa: E402


def write_notebook(path, cells):
    nb = {"cells": [{"cell_type": "markdown", "source": ["# title"]}] +
          [{"cell_type": "code", "source": c.splitlines(keepends=True)} for c in cells]}
    path.write_text(json.dumps(nb))
    return str(path)


def test_cells_from_notebooks_and_keras_io_scripts(tmp_path):
    nb = write_notebook(tmp_path / "a.ipynb", ["import tensorflow as tf", "x = 1"])
    assert run_tutorials.notebook_cells(nb) == ["import tensorflow as tf", "x = 1"]
    script = tmp_path / "b.py"
    script.write_text('"""\nTitle: t\n"""\n\n"""\n## Setup\n"""\nimport numpy as np\n'
                      'from tensorflow import keras\n\n"""\n## Run\n"""\nprint(1)\n')
    assert run_tutorials.notebook_cells(str(script)) == [
        "import numpy as np\nfrom tensorflow import keras", "print(1)"]


def test_only_import_lines_change_for_tomei():
    source = ("import tensorflow as tf\nfrom tensorflow.keras import layers\n"
              "from tensorflow import keras\nprint('tensorflow')\n")
    assert run_tutorials.swap_imports(source) == (
        "import tomei as tf\nfrom tomei.keras import layers\nfrom tomei import keras\n"
        "print('tensorflow')\n")
    cell = "pd.read_csv('http://example.invalid/data/auto-mpg.data', sep=' ')"
    assert run_tutorials.rewrite(cell, "tensorflow", {"auto-mpg.data": "/tmp/a"}, []) == \
        "pd.read_csv('/tmp/a', sep=' ')"


def test_kernel_runs_cells_and_records_fits(tmp_path, monkeypatch):
    write_notebook(tmp_path / "t.ipynb", [
        "import tensorflow as tf\nimport numpy as np",
        "%%time\nds = tf.data.Dataset.from_tensor_slices((np.ones((8, 2)), np.ones(8)))",
        "model = tf.keras.Sequential([tf.keras.layers.Dense(1, input_shape=(2,))])\n"
        "model.compile('sgd', 'mse')\nhistory = model.fit(ds.batch(4), epochs=5, verbose=0)",
        "1 / 0",
        "# only a comment",
        "print(tf.reduce_sum([1, 2]))",
    ])
    spec = {"docs": "t.ipynb", "data": [], "headline": {"epochs_run": "len(history.epoch)"}}
    monkeypatch.setitem(run_tutorials.TUTORIALS, "test/tiny", spec)
    out = tmp_path / "r.json"
    code = run_tutorials.main(["--docs", str(tmp_path), "--only", "test/tiny", "--libs", "tomei",
                               "--max-epochs", "2", "--json", str(out)])
    assert code == 0
    result = json.loads(out.read_text())["results"][0]
    assert [c["status"] for c in result["cells"]] == ["ok", "ok", "ok", "error", "skipped", "ok"]
    assert result["cells"][3]["error"].startswith("ZeroDivisionError")
    assert result["headline"] == {"epochs_run": 2.0}  # fit's epochs capped at 2
    assert result["records"][0]["call"] == "fit" and result["records"][0]["epochs"] == 2


def test_comparison_fails_when_tomei_misses_a_cell_tensorflow_ran():
    def run(lib, statuses):
        return {"tutorial": "t", "lib": lib, "stand_in": [], "headline": {},
                "cells": [{"index": i, "status": s, "error": "E: boom" if s == "error" else ""}
                          for i, s in enumerate(statuses)]}
    results = [run("tomei", ["ok", "error", "ok"]), run("tensorflow", ["ok", "ok", "error"])]
    rows = run_tutorials.compare(results)
    assert rows[0]["both"] == [0] and rows[0]["tomei_missing"] == {1: "E: boom"}
    table = run_tutorials.markdown(results, rows)
    assert "| t | 1 / 2 | 3 |" in table and "cell 1: `E: boom`" in table


@pytest.mark.parametrize("kind", ["auto_mpg", "ecg", "higgs", "imdb"])
def test_stand_ins_have_the_layout_the_tutorials_read(tmp_path, kind):
    import numpy as np
    urls = run_tutorials.prepare_data([kind], str(tmp_path), str(tmp_path / "home"), None, None,
                                      np.random.default_rng(0))
    if kind == "auto_mpg":
        first = open(urls["auto-mpg.data"]).readline()
        assert len(first.split("\t")[0].split()) == 8 and '"car 0"' in first
    elif kind == "ecg":
        assert np.loadtxt(urls["ecg.csv"], delimiter=",").shape == (4998, 141)
    elif kind == "higgs":
        assert (tmp_path / "home" / "datasets" / "HIGGS.csv.gz").stat().st_size > 0
    else:
        import tarfile
        names = tarfile.open(tmp_path / "aclImdb_v1_archive").getnames()
        assert "aclImdb/train/pos/1181_9.txt" in names and "aclImdb/train/unsup" in names
