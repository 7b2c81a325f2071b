"""The Estimator with estcore's numpy_input_fn: the seed workflow and stream forms."""

import numpy as np
import pytest

from estcore.estimator import Estimator, RunConfig
from estcore.estimator.inputs import numpy_input_fn
from estcore.summary import FileWriterCache

from .test_estimator import X, Y, linear_model_fn

IDS = np.arange(len(X), dtype=np.int64)


@pytest.fixture(autouse=True)
def _close_writers():
    yield
    FileWriterCache.clear()


def recording(base_input_fn, log):
    """Wrap an input_fn, recording the ids of every batch it yields."""

    def input_fn():
        stream = base_input_fn()  # created inside the Estimator's seed_scope

        def batches():
            for features, labels in stream:
                log.append(features["id"].copy())
                yield features, labels

        return batches()

    return input_fn


def run_epochs(model_dir, epochs=3):
    est = Estimator(linear_model_fn, model_dir=str(model_dir), params={},
                    config=RunConfig(tf_random_seed=1, log_step_count_steps=None))
    orders = []
    for _ in range(epochs):
        log = []
        est.train(input_fn=recording(numpy_input_fn(x={"x": X, "id": IDS}, y=Y,
                                                    batch_size=64, num_epochs=1,
                                                    shuffle=True), log))
        orders.append(np.concatenate(log))
    return est, orders


def test_seed_workflow_one_epoch_per_call(tmp_path):
    est, orders = run_epochs(tmp_path / "a")
    steps_per_epoch = -(-len(X) // 64)
    assert est.get_variable_value("global_step") == 3 * steps_per_epoch
    for order in orders:  # each call is exactly one epoch
        np.testing.assert_array_equal(np.sort(order), IDS)
    assert not np.array_equal(orders[0], orders[1])  # a different order every call
    assert not np.array_equal(orders[1], orders[2])
    _, again = run_epochs(tmp_path / "b")  # ... and reproducible
    for first, second in zip(orders, again, strict=True):
        np.testing.assert_array_equal(first, second)


def test_streams_without_labels_and_array_features(tmp_path):
    est = Estimator(linear_model_fn, model_dir=str(tmp_path), params={},
                    config=RunConfig(tf_random_seed=1, log_step_count_steps=None))
    est.train(numpy_input_fn(x=X, y=Y, batch_size=100, num_epochs=1, shuffle=False))
    preds = list(est.predict(numpy_input_fn(x=X[:30], batch_size=8, shuffle=False)))
    assert len(preds) == 30
    evals = est.evaluate(numpy_input_fn(x={"x": X}, y=Y, batch_size=300, shuffle=False))
    assert evals["global_step"] == 10 and 0 <= evals["acc"] <= 1


def test_input_state_in_checkpoint_resumes_stream(tmp_path):
    from estcore.checkpoint.state import CheckpointReader

    est = Estimator(linear_model_fn, model_dir=str(tmp_path), params={},
                    config=RunConfig(tf_random_seed=1, log_step_count_steps=None))
    fn = numpy_input_fn(x={"x": X}, y=Y, batch_size=50, num_epochs=None, shuffle=True)
    est.train(fn, steps=7)
    state = CheckpointReader(est.latest_checkpoint()).meta["input_state"]
    assert state["batches_consumed"] >= 7
    resumed = fn(state=state)
    batch = next(resumed)
    resumed.close()
    assert batch[0]["x"].shape == (50, 4)
