"""``keras.utils.text_dataset_from_directory``: a folder of .txt files -> a batched Dataset.

Files are found and split exactly as Keras 3 does it, so that the same ``seed`` puts the same
files in the training and validation subsets:

1. classes: the sorted names of ``directory``'s sub-folders (names starting with '.' are
   skipped), or ``class_names`` in the order given;
2. files: per class, every ``.txt`` file (any case) below that sub-folder, folders visited in
   sorted path order and files sorted by name within each;
3. shuffle (default): the list of paths, then the list of labels, each shuffled by
   ``np.random.RandomState(seed).shuffle`` (two generators with the same seed, so pairs stay
   together);
4. split: the last ``int(validation_split * n)`` files are the validation subset, the
   others the training subset;
5. the training (or unsplit) files are shuffled again on each pass through the Dataset with
   a buffer of ``8 * batch_size`` elements (tomei's own random stream, as TensorFlow's is its
   own), read, and batched.
"""
from __future__ import annotations

import os

import numpy as np

from tomei.data import Dataset
from tomei.engine.tensor import Tensor

_LABEL_MODES = ("int", "categorical", "binary", None)
_SUBSETS = ("training", "validation", "both", None)


def index_directory(directory, labels="inferred", class_names=None, shuffle=True, seed=None,
                    follow_links=False, formats=(".txt",), verbose=True):
    """(file paths, labels or None, class names) in Keras 3's order (module doc, steps 1-3).

    Args:
        directory: the folder. labels: 'inferred' (from sub-folders), None, or a list/tuple
            of ints, one per file in sorted walk order.
        class_names: optional subset/order of the sub-folder names ('inferred' only).
        shuffle: default True: shuffle paths and labels with ``seed``. seed: int or None
            (None: a random seed). follow_links: also walk folders reached by symlinks.
        formats: accepted file endings, compared in lower case.
        verbose: print "Found N files belonging to C classes." as Keras.

    Raises:
        ValueError: a missing folder; class_names that are not sub-folders, or given with
            explicit or no labels; a labels list of the wrong length.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"text_dataset_from_directory: directory {directory!r} does not exist "
                         f"or is not a folder.")
    if labels == "inferred":
        subdirs = [d for d in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, d)) and not d.startswith(".")]
        if class_names is not None:
            if not set(class_names) <= set(subdirs):
                raise ValueError(f"text_dataset_from_directory: class_names must be names of "
                                 f"sub-folders of {directory!r}: expected some of {subdirs}; "
                                 f"received class_names={list(class_names)}.")
            subdirs = list(class_names)
    else:
        if class_names is not None:
            raise ValueError("text_dataset_from_directory: class_names can only be given with "
                             "labels='inferred' (with a labels list the class names are the "
                             "sorted labels; with labels=None there are none).")
        subdirs = [""]
    filenames, found_labels = [], []
    for index, subdir in enumerate(subdirs):
        folder = os.path.join(directory, subdir)
        walk = sorted(os.walk(folder, followlinks=bool(follow_links)), key=lambda w: w[0])
        for root, _, files in walk:
            for name in sorted(files):
                if name.lower().endswith(tuple(formats)):
                    filenames.append(os.path.join(subdir, os.path.relpath(
                        os.path.join(root, name), folder)))
                    found_labels.append(index)
    if labels == "inferred":
        labels = np.asarray(found_labels, dtype=np.int32)
        names = list(subdirs)
    elif labels is None:
        names = None
    else:
        if len(labels) != len(filenames):
            raise ValueError(f"text_dataset_from_directory: labels has {len(labels)} entries "
                             f"but {directory!r} holds {len(filenames)} files.")
        names = [str(label) for label in sorted(set(labels))]
        labels = np.asarray(labels)
    if verbose:
        print(f"Found {len(filenames)} files." if labels is None else
              f"Found {len(filenames)} files belonging to {len(names)} classes.")
    paths = [os.path.join(directory, f) for f in filenames]
    if shuffle:
        if seed is None:
            seed = np.random.randint(1e6)
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    return paths, labels, names


def training_or_validation_split(samples, labels, validation_split, subset, verbose=True):
    """The subset's part of ``samples`` and ``labels``: validation is the last
    ``int(validation_split * n)`` (module doc, step 4); all of them without a split."""
    if not validation_split:
        return samples, labels
    n_val = int(validation_split * len(samples))
    if subset == "training":
        if verbose:
            print(f"Using {len(samples) - n_val} files for training.")
        cut = slice(None, -n_val)  # n_val == 0 leaves nothing, as in Keras
    else:
        if verbose:
            print(f"Using {n_val} files for validation.")
        cut = slice(-n_val, None) if n_val else slice(0, 0)
    return samples[cut], None if labels is None else labels[cut]


def text_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                class_names=None, batch_size=32, max_length=None, shuffle=True,
                                seed=None, validation_split=None, subset=None,
                                follow_links=False, format="tf", verbose=True):
    """A ``tomei.data.Dataset`` of (texts, labels) batches read from ``directory``.

    ``directory/<class>/*.txt`` gives one class per sub-folder (the IMDB tutorial's
    ``aclImdb/train/pos`` and ``.../neg``). Files are found, shuffled and split as Keras 3 does
    (module doc).

    Args:
        labels: 'inferred' (default), None (texts only), or a list of ints, one per file
            in sorted walk order.
        label_mode: 'int' (int32 labels, shape (batch,)), 'categorical' (float32 one-hot,
            (batch, classes)), 'binary' (float32, (batch, 1); exactly two classes), or None.
        class_names: with 'inferred': which sub-folders, in which order.
        batch_size: default 32; None yields single elements.
        max_length: keep at most this many bytes of each file.
        shuffle: default True. seed: int; required with validation_split and shuffle.
        validation_split: a fraction in (0, 1). subset: 'training', 'validation', or 'both'
            (returns the two datasets).
        follow_links: default False. format: 'tf' only. verbose: print what was found.

    Returns:
        A Dataset whose elements are (Tensor of strings (UTF-8 bytes, shape (batch,)), labels)
        or only the strings, with the attribute ``class_names``; a pair of them for
        subset='both'.

    Raises:
        ValueError: a bad label_mode, subset, validation_split, or a split without seed;
            'binary' without exactly 2 classes; no .txt files in the (sub)set.
        NotImplementedError: format other than 'tf'.
    """
    if label_mode not in _LABEL_MODES:
        raise ValueError(f"text_dataset_from_directory: label_mode must be one of "
                         f"{_LABEL_MODES}; received label_mode={label_mode!r}.")
    if format != "tf":
        raise NotImplementedError(f"text_dataset_from_directory: format='tf' only (a tomei "
                                  f"Dataset); received format={format!r}.")
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    elif labels != "inferred" and not isinstance(labels, (list, tuple)):
        raise ValueError(f"text_dataset_from_directory: labels must be 'inferred', None, or a "
                         f"list/tuple of ints; received labels={labels!r}.")
    _check_split(validation_split, subset, shuffle, seed)
    if batch_size is not None and (not isinstance(batch_size, (int, np.integer))
                                   or isinstance(batch_size, bool) or batch_size < 1):
        raise ValueError(f"text_dataset_from_directory: batch_size must be a positive int or "
                         f"None; received batch_size={batch_size!r}.")
    if max_length is not None and (not isinstance(max_length, (int, np.integer))
                                   or max_length < 0):
        raise ValueError(f"text_dataset_from_directory: max_length must be None or an int >= "
                         f"0; received max_length={max_length!r}.")
    if seed is None:
        seed = np.random.randint(1e6)
    paths, found, names = index_directory(directory, labels, class_names, shuffle, seed,
                                          follow_links, verbose=verbose)
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f"text_dataset_from_directory: label_mode='binary' needs exactly 2 "
                         f"classes; found class_names={names}.")
    buffer = batch_size * 8 if batch_size is not None else 1024
    build = dict(label_mode=label_mode, num_classes=len(names) if names else 0,
                 max_length=max_length, batch_size=batch_size, class_names=names)
    if subset == "both":
        parts = [training_or_validation_split(paths, found, validation_split, s, verbose)
                 for s in ("training", "validation")]
        for (p, _), which in zip(parts, ("training", "validation")):
            if not p:
                raise ValueError(f"text_dataset_from_directory: no {which} .txt files in "
                                 f"{directory!r}.")
        return (_dataset(*parts[0], shuffle=shuffle, buffer=buffer, seed=seed, **build),
                _dataset(*parts[1], shuffle=False, buffer=buffer, seed=seed, **build))
    paths, found = training_or_validation_split(paths, found, validation_split, subset, verbose)
    if not paths:
        raise ValueError(f"text_dataset_from_directory: no .txt files in {directory!r}"
                         f"{' for subset ' + repr(subset) if subset else ''}.")
    return _dataset(paths, found, shuffle=shuffle, buffer=buffer, seed=seed, **build)


def _check_split(validation_split, subset, shuffle, seed):
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"text_dataset_from_directory: validation_split must be between 0 "
                         f"and 1; received validation_split={validation_split!r}.")
    if bool(validation_split) != bool(subset):
        raise ValueError(f"text_dataset_from_directory: validation_split and subset go "
                         f"together; received validation_split={validation_split!r}, "
                         f"subset={subset!r}.")
    if subset not in _SUBSETS:
        raise ValueError(f"text_dataset_from_directory: subset must be one of {_SUBSETS}; "
                         f"received subset={subset!r}.")
    if validation_split and shuffle and seed is None:
        raise ValueError("text_dataset_from_directory: with validation_split and shuffle=True "
                         "give a seed, so that the training and validation subsets do not "
                         "overlap (the same seed in both calls).")


def _read(path, max_length):
    with open(path, "rb") as fh:
        content = fh.read() if max_length is None else fh.read(max_length)
    return Tensor(np.array(content))  # the bytes, as tf.io.read_file gives them


def _dataset(paths, labels, label_mode, num_classes, max_length, batch_size, class_names,
             shuffle, buffer, seed):
    path_array = np.array(paths, dtype=str)
    if label_mode is None:
        ds = Dataset.from_tensor_slices(path_array)
    else:
        labels = np.asarray(labels)
        if label_mode == "int":
            values = labels.astype(np.int32)
        elif label_mode == "binary":
            values = labels.astype(np.float32)[:, None]
        else:
            values = np.eye(num_classes, dtype=np.float32)[labels]
        ds = Dataset.from_tensor_slices((path_array, values))
    if shuffle:
        ds = ds.shuffle(buffer_size=buffer, seed=seed)
    if label_mode is None:
        ds = ds.map(lambda p: _read(_path(p), max_length))
    else:
        ds = ds.map(lambda p, y: (_read(_path(p), max_length), y))
    if batch_size is not None:
        ds = ds.batch(batch_size)
    ds = ds.prefetch(-1)
    ds.class_names = class_names
    return ds


def _path(p):
    value = p.numpy() if isinstance(p, Tensor) else p
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
