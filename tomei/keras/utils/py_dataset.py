"""``keras.utils.PyDataset``: batches produced by Python code, one index at a time."""


class PyDataset:
    """Base class for a dataset of batches written in Python (Keras 3 ``PyDataset``).

    Subclass it and define ``__len__`` (the number of batches per epoch) and
    ``__getitem__(index)`` returning one batch: ``x``, ``(x,)``, ``(x, y)`` or
    ``(x, y, sample_weight)`` (arrays or Tensors). ``fit`` calls ``on_epoch_begin`` and
    ``on_epoch_end`` around each epoch, and with ``shuffle=True`` (fit's default) visits the
    batch indices in a new random order each epoch, as Keras does. An infinite dataset
    defines ``num_batches`` returning None instead of ``__len__``.

    Args:
        workers, use_multiprocessing, max_queue_size: Keras's settings for loading batches
            on background threads or processes. tomei loads them in the calling thread, in
            order; the batches (and so the results) are the same, only not overlapped with
            training.

    Raises:
        NotImplementedError: ``use_multiprocessing=True`` (tomei never starts processes).
        ValueError: ``workers`` < 1 or ``max_queue_size`` < 1.

    Example::

        class Squares(keras.utils.PyDataset):
            def __init__(self, **kwargs):
                super().__init__(**kwargs)
            def __len__(self):
                return 10
            def __getitem__(self, i):
                x = np.arange(4, dtype="float32")[:, None] + 4 * i
                return x, x ** 2
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        if use_multiprocessing:
            raise NotImplementedError("PyDataset(use_multiprocessing=True): tomei loads batches "
                                      "in the calling process; remove use_multiprocessing.")
        for name, value in (("workers", workers), ("max_queue_size", max_queue_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"PyDataset: {name} must be a positive integer; received "
                                 f"{name}={value!r}.")
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    workers = property(lambda self: getattr(self, "_workers", 1))
    use_multiprocessing = property(lambda self: getattr(self, "_use_multiprocessing", False))
    max_queue_size = property(lambda self: getattr(self, "_max_queue_size", 10))

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index) "
                                  f"returning one batch.")

    @property
    def num_batches(self):
        """Batches per epoch: ``len(self)``; None for an infinite dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must define __len__ (or a "
                                  f"num_batches property returning None when infinite).")

    def on_epoch_begin(self):
        """Called before each epoch; override to prepare one."""

    def on_epoch_end(self):
        """Called after each epoch; override to, e.g., reshuffle your own indices."""
