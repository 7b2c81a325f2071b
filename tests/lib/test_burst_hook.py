"""The link between the two compiled modules: the input pipeline's workers report their
bursts to the kernels' thread pool (``estcore._lib.__init__`` wires it at import)."""

import numpy as np
import pytest

from estcore._lib import _kernels, _pipeline
from estcore.inputs import numpy_input_fn


def test_hook_is_the_named_capsule():
    assert "estcore.est_burst_fn" in repr(_kernels._own_burst_hook())


def test_set_burst_hook_rejects_anything_but_that_capsule():
    with pytest.raises((TypeError, ValueError)):
        _pipeline._set_burst_hook(object())


def test_streams_run_with_and_without_the_hook():
    x = np.arange(300, dtype=np.float32).reshape(100, 3)
    try:
        for hook in (None, _kernels._own_burst_hook()):
            _pipeline._set_burst_hook(hook)
            got = np.concatenate([b for b in numpy_input_fn(x, batch_size=7, shuffle=False)()])
            np.testing.assert_array_equal(got, x)
    finally:
        _pipeline._set_burst_hook(_kernels._own_burst_hook())
