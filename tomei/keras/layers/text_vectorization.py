"""TextVectorization: raw strings -> token ids, multi-hot, counts or TF-IDF vectors.

The pipeline, applied to each string:

1. standardize: 'lower_and_strip_punctuation' (default) lower-cases ASCII letters and
   deletes the punctuation characters ``!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'``; 'lower';
   'strip_punctuation'; None; or your callable.
2. split: 'whitespace' (default: runs of whitespace separate tokens, empty tokens are
   dropped); 'character'; None (the whole string is one token); or your callable.
3. ngrams (optional): the token n-grams, joined by one space.
4. lookup: each token's index in the vocabulary, and the output mode's encoding.

The vocabulary comes from ``adapt(texts)`` or the ``vocabulary`` argument. As Keras, index 0
is the padding ('') and index 1 the out-of-vocabulary token '[UNK]' in 'int' mode; in the
other modes index 0 is '[UNK]' and there is no padding entry.
"""
from __future__ import annotations

import collections
import math
import os

import numpy as np

from tomei.engine.string_ops import as_strings, lower, regex_replace
from tomei.engine.tensor import Tensor
from tomei.keras.layers.layer import Layer
from tomei.keras.serialization import register

MASK_TOKEN = ""
OOV_TOKEN = "[UNK]"
# The characters Keras's default standardization deletes (a regular-expression class).
PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")
_MODES = ("int", "multi_hot", "count", "tf_idf")


@register("keras.layers")
class TextVectorization(Layer):
    """Turns strings into integer sequences or fixed-size vectors (Keras 3 semantics).

    Args:
        max_tokens: optional int, the vocabulary size *including* the special tokens
            ('' and '[UNK]' in 'int' mode, '[UNK]' otherwise). adapt keeps the most frequent
            tokens. Default None: no limit.
        standardize: see the module docstring. A callable receives a NumPy array of
            strings (shape (batch,)) and returns strings of the same shape (an array, list
            or Tensor of strings, e.g. from ``tf.strings.regex_replace``).
        split: 'whitespace', 'character', None, or a callable taking the NumPy array of
            standardized strings (batch,) and returning, per string, a sequence of tokens.
        ngrams: None, an int n (all 1..n-grams) or a tuple of sizes, e.g. (1, 2).
        output_mode: 'int' (default): token ids, int64, shape (batch, length), 0-padded;
            'multi_hot': int64 (batch, vocabulary size), 1 where a token occurs;
            'count': how often each token occurs (int64); 'tf_idf' (float32): count times the token's
            inverse document frequency log(1 + n_documents / (1 + document_frequency))
            (adapt learns it; '[UNK]' gets the mean of the others). 'binary' and 'tf-idf'
            are accepted as the old names.
        output_sequence_length: 'int' mode only: pad with 0 or cut every row to this
            length. Default None: pad to the longest row in the batch.
        pad_to_max_tokens: non-'int' modes: output width max_tokens even when the
            vocabulary is smaller. Default False.
        vocabulary: optional list/array of tokens (optionally starting with the special
            tokens in their order) or the path of a text file with one token per line.
        idf_weights: 'tf_idf' with ``vocabulary``: one weight per vocabulary entry.
        sparse, ragged: True is not supported (NotImplementedError).
        encoding: 'utf-8' (the only one supported).

    Input: strings, shape (batch,) or (batch, 1): a list, a NumPy array (unicode or bytes),
    or a Tensor of strings. Output: a Tensor as described under ``output_mode``.

    The layer has no weights; its vocabulary and idf weights are state.

    Raises:
        ValueError: an unknown standardize/split/output_mode, output_sequence_length with a
            non-'int' mode, a vocabulary with repeated tokens or larger than max_tokens,
            idf_weights without 'tf_idf' or of the wrong length, inputs of another rank,
            adapt on a layer given a vocabulary.
        RuntimeError: a non-'int' mode called before it has a vocabulary.
        NotImplementedError: sparse=True, ragged=True, another encoding.

    Sources: Keras 3 ``keras.layers.TextVectorization`` and ``StringLookup`` documentation
    (vocabulary order: by count, ties by token, both descending); TF-IDF: Sparck Jones
    (1972), "A statistical interpretation of term specificity", in Keras's smoothed form.
    """

    _autocast = False
    _same_input_shape = False
    _takes_strings = True  # fit/evaluate/predict let text through to this layer

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None,
                 vocabulary_size=None, has_input_vocabulary=None, **kwargs):
        if isinstance(kwargs.get("dtype"), (str, dict)):
            kwargs.pop("dtype")  # Keras writes its float32 policy; the output dtype is fixed
        super().__init__(name=name, **kwargs)
        if not (standardize is None or callable(standardize) or standardize in _STANDARDIZE):
            raise ValueError(f"TextVectorization: standardize must be one of {_STANDARDIZE}, "
                             f"None or a callable; received standardize={standardize!r}.")
        if not (split is None or callable(split) or split in _SPLIT):
            raise ValueError(f"TextVectorization: split must be one of {_SPLIT}, None or a "
                             f"callable; received split={split!r}.")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in _MODES:
            raise ValueError(f"TextVectorization: output_mode must be one of {_MODES}; "
                             f"received output_mode={output_mode!r}.")
        if not (ngrams is None or _is_int(ngrams) or isinstance(ngrams, (tuple, list))
                and ngrams and all(_is_int(n) and n > 0 for n in ngrams)) or \
                _is_int(ngrams) and ngrams < 1:
            raise ValueError(f"TextVectorization: ngrams must be None, a positive int or a "
                             f"tuple of them; received ngrams={ngrams!r}.")
        if output_sequence_length is not None:
            if output_mode != "int":
                raise ValueError(f"TextVectorization: output_sequence_length is for "
                                 f"output_mode='int' only; received output_mode="
                                 f"{output_mode!r} with output_sequence_length="
                                 f"{output_sequence_length!r}.")
            if not _is_int(output_sequence_length) or output_sequence_length < 0:
                raise ValueError(f"TextVectorization: output_sequence_length must be None or "
                                 f"a non-negative int; received {output_sequence_length!r}.")
        if max_tokens is not None and (not _is_int(max_tokens) or max_tokens < 2):
            raise ValueError(f"TextVectorization: max_tokens must be None or an int >= 2 "
                             f"(it counts the special tokens); received "
                             f"max_tokens={max_tokens!r}.")
        if pad_to_max_tokens and max_tokens is None and output_mode != "int":
            raise ValueError("TextVectorization: pad_to_max_tokens=True needs max_tokens.")
        for flag, value in (("sparse", sparse), ("ragged", ragged)):
            if value:
                raise NotImplementedError(f"TextVectorization({flag}=True) is not supported "
                                          f"by tomei (no sparse or ragged tensors); received "
                                          f"{flag}={value!r}. Leave it False.")
        if str(encoding).lower().replace("-", "") != "utf8":
            raise NotImplementedError(f"TextVectorization supports encoding='utf-8' only; "
                                      f"received encoding={encoding!r}.")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(f"TextVectorization: idf_weights is for output_mode='tf_idf' "
                             f"only; received output_mode={output_mode!r}.")
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.standardize = standardize
        self.split = split
        self.ngrams = tuple(ngrams) if isinstance(ngrams, list) else ngrams
        self._ngram_sizes = tuple(range(1, ngrams + 1)) if _is_int(ngrams) else self.ngrams
        self.output_mode = output_mode
        self.output_sequence_length = output_sequence_length
        self.pad_to_max_tokens = bool(pad_to_max_tokens)
        self.encoding = "utf-8"
        self._input_vocabulary = vocabulary
        self._input_idf_weights = idf_weights
        self._has_input_vocabulary = vocabulary is not None if has_input_vocabulary is None \
            else bool(has_input_vocabulary)
        self._tokens: list[str] = []  # the learned/given tokens, special tokens excluded
        self._index: dict[str, int] = {}
        self.idf_weights = None  # 'tf_idf': float32 (vocabulary_size,) after adapt
        # From a Keras config: the size of the vocabulary its asset file will bring, so that
        # the layers after this one are built with the right width before it is read.
        self._saved_vocabulary_size = vocabulary_size if vocabulary is None else None
        self.built = True
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)
        elif output_mode == "tf_idf" and idf_weights is not None:
            raise ValueError("TextVectorization: idf_weights needs a vocabulary too.")

    def _convert_inputs(self, inputs):
        return as_strings(inputs, f"TextVectorization '{self.name}'")  # no numeric Tensor

    # --- vocabulary -----------------------------------------------------------------
    def _special_tokens(self) -> list[str]:
        return [MASK_TOKEN, OOV_TOKEN] if self.output_mode == "int" else [OOV_TOKEN]

    def _set_tokens(self, tokens):
        self._tokens = list(tokens)
        start = len(self._special_tokens())
        self._index = {t: i + start for i, t in enumerate(self._tokens)}

    def get_vocabulary(self, include_special_tokens=True) -> list[str]:
        """The vocabulary in index order; with the special tokens first by default."""
        return (self._special_tokens() if include_special_tokens else []) + list(self._tokens)

    def vocabulary_size(self) -> int:
        """Number of indices the layer produces, special tokens included."""
        return len(self._special_tokens()) + len(self._tokens)

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Sets the vocabulary (and for 'tf_idf' the idf weights) directly.

        Args:
            vocabulary: a list/tuple/array/Tensor of tokens, or the path of a UTF-8 text
                file with one token per line. It may start with the special tokens in
                their order ('', '[UNK]' for 'int'; '[UNK]' otherwise).
            idf_weights: 'tf_idf' only, required there: one float per vocabulary entry;
                without leading special tokens, '[UNK]' gets their mean.

        Raises:
            ValueError: empty, repeated tokens, a special token elsewhere, more entries
                than max_tokens, missing or mis-sized idf_weights, a missing file.
        """
        if isinstance(vocabulary, (str, os.PathLike)):
            path = os.fspath(vocabulary)
            if not os.path.isfile(path):
                raise ValueError(f"TextVectorization: vocabulary file {path!r} does not exist.")
            if self.output_mode == "tf_idf":
                raise ValueError("TextVectorization: output_mode='tf_idf' cannot load its "
                                 "vocabulary from a file; pass a list and idf_weights.")
            with open(path, encoding="utf-8") as fh:
                vocabulary = [line.rstrip("\n").rstrip("\r") for line in fh]
        vocab = [str(t) for t in as_strings(vocabulary, "vocabulary").reshape(-1).tolist()]
        if not vocab:
            raise ValueError("TextVectorization: cannot set an empty vocabulary.")
        special = self._special_tokens()
        has_special = vocab[:len(special)] == special
        tokens = vocab[len(special):] if has_special else vocab
        repeated = sorted(t for t, n in collections.Counter(tokens).items() if n > 1)
        if repeated:
            raise ValueError(f"TextVectorization: the vocabulary repeats tokens: {repeated}.")
        misplaced = [t for t in special if t in tokens]
        if misplaced:
            raise ValueError(f"TextVectorization: the vocabulary holds the reserved token(s) "
                             f"{misplaced} at an unexpected place; leave them out, or put "
                             f"exactly {special} first.")
        size = len(special) + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError(f"TextVectorization: the vocabulary has {size} entries with the "
                             f"special tokens; max_tokens is {self.max_tokens}.")
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("TextVectorization: output_mode='tf_idf' with a vocabulary "
                                 "needs idf_weights.")
            weights = np.asarray(idf_weights.value if isinstance(idf_weights, Tensor)
                                 else idf_weights, dtype=np.float64)
            if weights.ndim != 1 or len(weights) != len(vocab):
                raise ValueError(f"TextVectorization: idf_weights must be 1-D with one weight "
                                 f"per vocabulary entry ({len(vocab)}); received shape "
                                 f"{weights.shape}.")
            if not has_special:
                weights = np.concatenate([np.full(len(special), np.mean(weights)), weights])
            self.idf_weights = self._pad_idf(weights.astype(np.float32))
        elif idf_weights is not None:
            raise ValueError(f"TextVectorization: idf_weights is for output_mode='tf_idf' "
                             f"only; received output_mode={self.output_mode!r}.")
        self._set_tokens(tokens)

    def load_vocabulary_asset(self, text: str):
        """Sets the vocabulary from Keras's saved ``vocabulary.txt`` (one token per line,
        special tokens first), unless the layer already has one from its config."""
        if self._tokens:
            return
        if self.output_mode == "tf_idf":
            raise NotImplementedError(
                f"TextVectorization '{self.name}': reading a Keras file's 'tf_idf' vocabulary "
                f"and idf weights is not supported by tomei yet; re-create the layer with "
                f"vocabulary=... and idf_weights=...")
        self.set_vocabulary(text.split("\n"))
        expected = self._saved_vocabulary_size
        if expected and expected != self.vocabulary_size():
            raise ValueError(f"TextVectorization '{self.name}': the saved vocabulary has "
                             f"{self.vocabulary_size()} entries; the config says {expected}.")

    def _pad_idf(self, weights):
        if self.pad_to_max_tokens and self.max_tokens is not None:
            weights = np.pad(weights, (0, self.max_tokens - len(weights)))
        return weights.astype(np.float32)

    # --- adapt ------------------------------------------------------------------------
    def adapt(self, data, batch_size=None, steps=None):
        """Learns the vocabulary (and for 'tf_idf' the document frequencies) from ``data``.

        Args:
            data: strings: a list, a NumPy array, a Tensor (one batch), or a tf.data
                Dataset / iterable of batches of strings (``(x, y)`` batches use x).
            batch_size: accepted for Keras compatibility (the data is read in one pass).
            steps: optional int: read at most this many batches of an iterable.

        Raises:
            ValueError: the layer was given a vocabulary; inputs of the wrong rank.
        """
        if self._has_input_vocabulary:
            raise ValueError(f"TextVectorization '{self.name}' was given a vocabulary; it "
                             f"cannot be adapted. Create it without `vocabulary`.")
        counts = collections.Counter()
        doc_freq = collections.Counter()
        n_docs = 0
        for batch in _string_batches(data, steps):
            for tokens in self._tokenize(batch):
                counts.update(tokens)
                if self.output_mode == "tf_idf":
                    doc_freq.update(set(tokens))
                n_docs += 1
        counts.pop(MASK_TOKEN, None)
        counts.pop(OOV_TOKEN, None)
        # by count, ties by token, both descending (Keras sorts this way)
        tokens = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
        if self.max_tokens is not None:
            tokens = tokens[:self.max_tokens - len(self._special_tokens())]
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            idf = np.array([math.log(1 + n_docs / (1 + doc_freq[t])) for t in tokens],
                           dtype=np.float32)
            oov = np.float32(idf.mean()) if len(idf) else np.float32(0)
            self.idf_weights = self._pad_idf(np.concatenate([[oov], idf]))

    # --- the pipeline ---------------------------------------------------------------
    def _standardize(self, strings: np.ndarray) -> np.ndarray:
        mode = self.standardize
        if mode in ("lower", "lower_and_strip_punctuation"):
            strings = as_strings(lower(strings))
        if mode in ("strip_punctuation", "lower_and_strip_punctuation"):
            strings = as_strings(regex_replace(strings, PUNCTUATION, ""))
        if callable(mode):
            result = as_strings(mode(strings), "the standardize callable's result")
            if result.shape != strings.shape:
                raise ValueError(f"TextVectorization: standardize returned shape "
                                 f"{result.shape} for input of shape {strings.shape}; it must "
                                 f"return one string per input string.")
            strings = result
        return strings

    def _split(self, strings: np.ndarray) -> list[list[str]]:
        if self.split == "whitespace":
            return [s.split() for s in strings.tolist()]
        if self.split == "character":
            return [list(s) for s in strings.tolist()]
        if self.split is None:
            return [[s] for s in strings.tolist()]
        result = self.split(strings)
        rows = [list(as_strings(r, "the split callable's result").reshape(-1).tolist())
                for r in (result.value if isinstance(result, Tensor) else result)]
        if len(rows) != len(strings):
            raise ValueError(f"TextVectorization: split returned {len(rows)} rows for "
                             f"{len(strings)} strings.")
        return rows

    def _tokenize(self, inputs) -> list[list[str]]:
        """Standardized, split (and n-grammed) tokens of each string of a batch."""
        strings = as_strings(inputs, f"TextVectorization '{self.name}'")
        if strings.ndim == 2 and strings.shape[1] == 1:
            strings = strings[:, 0]
        elif strings.ndim == 0:
            strings = strings.reshape(1)
        if strings.ndim != 1:
            raise ValueError(f"TextVectorization '{self.name}' expects strings of shape "
                             f"(batch,) or (batch, 1); received shape {strings.shape}.")
        rows = self._split(self._standardize(strings))
        if self._ngram_sizes:
            rows = [_ngrams(r, self._ngram_sizes) for r in rows]
        return rows

    def call(self, inputs):
        index = self._index
        oov = 1 if self.output_mode == "int" else 0
        if self.split is None and self.output_mode == "int":
            return self._lookup_whole_strings(inputs)
        rows = self._tokenize(inputs)
        if self.output_mode == "int":
            ids = [[0 if t == MASK_TOKEN else index.get(t, oov) for t in r] for r in rows]
            length = self.output_sequence_length
            if length is None:
                length = max((len(r) for r in ids), default=0)
            out = np.zeros((len(ids), length), dtype=np.int64)
            for i, r in enumerate(ids):
                r = r[:length]
                out[i, :len(r)] = r
            return Tensor(out)
        if not self._tokens and not self.pad_to_max_tokens:
            raise RuntimeError(f"TextVectorization '{self.name}' with output_mode="
                               f"{self.output_mode!r} needs a vocabulary before it is called: "
                               f"call adapt(...) or pass vocabulary=[...].")
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        out = np.zeros((len(rows), depth), dtype=np.int64)
        for i, r in enumerate(rows):
            for t in r:
                out[i, index.get(t, oov)] += 1
        if self.output_mode == "multi_hot":
            out = np.minimum(out, 1)
        elif self.output_mode == "tf_idf":
            if self.idf_weights is None:
                raise RuntimeError(f"TextVectorization '{self.name}': output_mode='tf_idf' "
                                   f"needs idf weights (adapt, or idf_weights=...).")
            out = out.astype(np.float32) * self.idf_weights[:depth]
        return Tensor(out)

    def _lookup_whole_strings(self, inputs):
        """split=None, 'int' mode: each standardized string is one token; the output keeps
        the input's shape ((batch,) or (batch, 1)), cut or padded on the last axis to
        output_sequence_length when that is set (as Keras)."""
        strings = as_strings(inputs, f"TextVectorization '{self.name}'")
        if strings.ndim == 0 or strings.ndim > 2:
            raise ValueError(f"TextVectorization '{self.name}' expects strings of shape "
                             f"(batch,) or (batch, 1); received shape {strings.shape}.")
        flat = self._standardize(strings.reshape(-1))
        ids = np.array([0 if t == MASK_TOKEN else self._index.get(t, 1) for t in flat.tolist()],
                       dtype=np.int64).reshape(strings.shape)
        length = self.output_sequence_length
        if length is not None:
            ids = ids[..., :length]
            pad = [(0, 0)] * (ids.ndim - 1) + [(0, length - ids.shape[-1])]
            ids = np.pad(ids, pad)
        return Tensor(ids)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
        if not self._tokens and self._saved_vocabulary_size:
            depth = self.max_tokens if self.pad_to_max_tokens else self._saved_vocabulary_size
        return (input_shape[0], depth)

    # --- config ---------------------------------------------------------------------
    def get_config(self):
        vocabulary = self._input_vocabulary
        if vocabulary is not None and not isinstance(vocabulary, (str, os.PathLike)):
            vocabulary = [str(t) for t in as_strings(vocabulary).reshape(-1).tolist()]
        idf = self._input_idf_weights
        if vocabulary is None and self._tokens:
            # Adapted: unlike Keras (which writes an asset file beside the config), the
            # config carries the learned vocabulary, so a saved model is self-contained and
            # Keras loads it as a layer with a fixed vocabulary.
            vocabulary = self.get_vocabulary()
            if self.output_mode == "tf_idf":
                idf = self.idf_weights[:self.vocabulary_size()]
        return {**super().get_config(), "max_tokens": self.max_tokens,
                "standardize": self.standardize if not callable(self.standardize)
                else _callable_name(self.standardize, "standardize"),
                "split": self.split if not callable(self.split)
                else _callable_name(self.split, "split"),
                "ngrams": self.ngrams, "output_mode": self.output_mode,
                "output_sequence_length": self.output_sequence_length,
                "pad_to_max_tokens": self.pad_to_max_tokens, "sparse": False, "ragged": False,
                "vocabulary": None if vocabulary is None else
                (os.fspath(vocabulary) if isinstance(vocabulary, os.PathLike) else vocabulary),
                "idf_weights": None if idf is None else np.asarray(
                    idf.value if isinstance(idf, Tensor) else idf).tolist(),
                "encoding": self.encoding, "vocabulary_size": self.vocabulary_size()}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        for key in ("standardize", "split"):
            if isinstance(config.get(key), dict):
                raise NotImplementedError(
                    f"TextVectorization: the config names a custom {key} function "
                    f"({config[key].get('config', config[key])!r}); tomei does not load "
                    f"functions from files. Create the layer in your script with {key}=...")
        config.pop("dtype", None)
        return cls(**config)


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _ngrams(tokens: list[str], sizes) -> list[str]:
    """All n-grams of each size in ``sizes`` (in that order), joined by one space."""
    out = []
    for n in sizes:
        out.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    return out


def _callable_name(fn, what):
    return {"module": getattr(fn, "__module__", None), "class_name": "function",
            "config": getattr(fn, "__name__", repr(fn)), "registered_name": "function"}


def _string_batches(data, steps):
    """Batches of strings from adapt's ``data`` (one batch for a list, array or Tensor)."""
    if isinstance(data, (str, bytes)):
        yield [data]
        return
    if isinstance(data, (list, tuple, np.ndarray, Tensor)) or \
            type(data).__name__ in ("Series", "DataFrame"):
        yield data
        return
    if not hasattr(data, "__iter__"):
        raise TypeError(f"TextVectorization.adapt expects strings (a list, array, Tensor) or "
                        f"a Dataset/iterable of batches of strings; received "
                        f"{type(data).__name__}.")
    for i, batch in enumerate(data):
        if steps is not None and i >= steps:
            return
        yield batch[0] if isinstance(batch, tuple) else batch
