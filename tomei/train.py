"""``tf.train``: finding the newest TensorFlow checkpoint in a folder."""
import os
import re


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The path of the newest checkpoint recorded in ``checkpoint_dir``, or None.

    As TensorFlow does, reads the state file ``checkpoint`` (or ``latest_filename``) that
    TensorFlow's checkpoint manager writes, whose line ``model_checkpoint_path: "cp-0005.ckpt"``
    names the newest checkpoint; a relative name is joined to ``checkpoint_dir``. Returns None
    when there is no state file or it names no checkpoint. (Keras 3 ``ModelCheckpoint`` writes
    ``.weights.h5`` files and no state file, so with Keras 3 too this returns None for them.)
    """
    state = os.path.join(os.fspath(checkpoint_dir), latest_filename or "checkpoint")
    if not os.path.isfile(state):
        return None
    with open(state, encoding="utf-8", errors="replace") as f:
        match = re.search(r'^model_checkpoint_path:\s*"(.*)"\s*$', f.read(), re.MULTILINE)
    if not match:
        return None
    path = match.group(1)
    return path if os.path.isabs(path) else os.path.join(os.fspath(checkpoint_dir), path)
