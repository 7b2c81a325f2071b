"""estcore.checkpoint.warm_starting: WarmStartSettings, variable selection, warm-start values."""

import numpy as np
import pytest

from estcore.checkpoint.saver import Saver
from estcore.checkpoint.warm_starting import (
    WarmStartSettings,
    select_variables,
    warm_start_values,
)

pytestmark = pytest.mark.smoke

TRAINABLE = ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias"]
GLOBAL = TRAINABLE + ["dense/kernel/Adam", "dense/kernel/Adam_1", "beta1_power", "global_step"]


def test_warm_start_settings_validation():
    with pytest.raises(ValueError) as info:
        WarmStartSettings("")
    assert str(info.value) == "`ckpt_to_initialize_from` MUST be set in WarmStartSettings"
    s = WarmStartSettings("/ckpt")
    assert s.vars_to_warm_start == ".*" and s.var_name_to_prev_var_name == {}
    assert s.var_name_to_vocab_info == {}
    with pytest.raises(TypeError, match=r"^var_name_to_vocab_info\['a'\] must be a VocabInfo"):
        WarmStartSettings("/c", var_name_to_vocab_info={"a": object()})


def test_selection_rules():
    assert select_variables(".*", TRAINABLE, GLOBAL) == TRAINABLE
    assert select_variables("dense/", TRAINABLE, GLOBAL) == ["dense/kernel", "dense/bias"]
    assert select_variables("kernel", TRAINABLE, GLOBAL) == []  # re.match: prefix only
    assert select_variables(["dense/kernel", "global"], TRAINABLE, GLOBAL) == [
        "dense/kernel", "dense/kernel/Adam", "dense/kernel/Adam_1", "global_step"]
    assert select_variables(None, TRAINABLE, GLOBAL) == []

    class V:
        def __init__(self, name):
            self.name, self.shape, self.initializer = name + ":0", (), None

    assert select_variables([V("dense/bias")], TRAINABLE, GLOBAL) == ["dense/bias"]
    with pytest.raises(ValueError, match="must be all `Variable` or all `str`"):
        select_variables(["a", V("b")], TRAINABLE, GLOBAL)
    with pytest.raises(ValueError, match="`vars_to_warm_start must be a `list` or `str`"):
        select_variables(3, TRAINABLE, GLOBAL)


def make_ckpt(tmp_path):
    values = {"dense/kernel": np.ones((4, 8), np.float32), "dense/bias": np.zeros(8, np.float32),
              "old/kernel": np.full((8, 3), 2.0, np.float32), "global_step": np.int64(7)}
    Saver().save(values, str(tmp_path / "model.ckpt"), global_step=7)
    return values


def test_warm_start_values(tmp_path, estcore_log):
    src = make_ckpt(tmp_path)
    shapes = {"dense/kernel": [4, 8], "dense/bias": [8], "dense_1/kernel": [8, 3]}
    settings = WarmStartSettings(str(tmp_path), vars_to_warm_start=["dense"],
                                 var_name_to_prev_var_name={"dense_1/kernel": "old/kernel"})
    values = warm_start_values(settings, list(shapes), list(shapes), shapes)
    assert set(values) == {"dense/kernel", "dense/bias", "dense_1/kernel"}
    np.testing.assert_array_equal(values["dense_1/kernel"], src["old/kernel"])
    assert f"Warm-starting from: {tmp_path}" in estcore_log()
    assert "Warm-started 3 variables." in estcore_log()
    # checkpoint prefix works too
    prefix = str(tmp_path / "model.ckpt-7")
    assert set(warm_start_values(WarmStartSettings(prefix, "dense/"), ["dense/bias"],
                                 ["dense/bias"], {"dense/bias": [8]})) == {"dense/bias"}


def test_warm_start_errors(tmp_path):
    make_ckpt(tmp_path)
    shapes = {"dense/kernel": [4, 8], "x/y": [1]}
    with pytest.raises(ValueError, match="^You provided the following variables in "
                                         "var_name_to_prev_var_name that were not used"):
        warm_start_values(WarmStartSettings(str(tmp_path), "dense",
                                            var_name_to_prev_var_name={"nope": "a"}),
                          list(shapes), list(shapes), shapes)
    with pytest.raises(ValueError, match="^Tensor x/y is not found in"):
        warm_start_values(WarmStartSettings(str(tmp_path), "x"), list(shapes), list(shapes),
                          shapes)
    with pytest.raises(ValueError, match=r"^Shape of variable dense/kernel \(\[4, 9\]\) doesn't "
                                         "match"):
        warm_start_values(WarmStartSettings(str(tmp_path), "dense"), ["dense/kernel"],
                          ["dense/kernel"], {"dense/kernel": [4, 9]})
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="Couldn't find 'checkpoint' file"):
        warm_start_values(WarmStartSettings(str(tmp_path / "empty")), [], [], {})
    with pytest.raises(ValueError, match="Couldn't find a checkpoint at"):
        warm_start_values(WarmStartSettings(str(tmp_path / "nope")), [], [], {})
