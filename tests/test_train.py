"""tf.train.latest_checkpoint reads TensorFlow's checkpoint state file."""
import tomei as tf


def test_latest_checkpoint(tmp_path):
    assert tf.train.latest_checkpoint(str(tmp_path)) is None
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "cp-0005.ckpt"\n'
                                         'all_model_checkpoint_paths: "cp-0000.ckpt"\n')
    assert tf.train.latest_checkpoint(str(tmp_path)) == str(tmp_path / "cp-0005.ckpt")
    (tmp_path / "other").write_text('model_checkpoint_path: "/abs/cp.ckpt"\n')
    assert tf.train.latest_checkpoint(str(tmp_path), latest_filename="other") == "/abs/cp.ckpt"
