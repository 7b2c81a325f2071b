"""``BaselineClassifier`` and ``BaselineRegressor``: a bias only, the model to beat.

TF 1.15's v1 classes: the logits are one bias variable ``baseline/bias`` (zeros,
``[logits_dimension]``) repeated for each example, so the model learns the label
distribution (classifier) or the label mean (regressor) and ignores the features; the
optimizer defaults to ``'Ftrl'`` with learning rate 0.3. As in TF, the classifier and
regressor take no ``warm_start_from``; the batch size comes from the first feature that
is not the weight column.

Owns the baseline logits and the two estimator classes. Must not: compute the loss,
metrics or predictions (the head does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from estcore.estimator.canned.classifier_heads import binary_logistic_or_multi_class_head
from estcore.estimator.canned.dnn import check_head
from estcore.estimator.canned.head import Head, regression_head
from estcore.estimator.canned.optimizers import (
    check_optimizer,
    get_optimizer_instance,
    premade_minimize,
)
from estcore.estimator.estimator import Estimator
from estcore.estimator.run_config import RunConfig
from estcore.graph import dtypes
from estcore.graph.initializers import zeros_initializer
from estcore.graph.ops.array_ops import ones, shape, stack
from estcore.graph.ops.core import convert_to_tensor
from estcore.graph.ops.math_ops import multiply
from estcore.graph.variables import get_variable, variable_scope
from estcore.losses.losses_impl import Reduction

__all__ = ["BaselineClassifier", "BaselineRegressor", "BaselineEstimator", "baseline_logit_fn"]

LEARNING_RATE = 0.3


def _weight_key(weight_column: Any) -> str | None:
    if weight_column is None or isinstance(weight_column, str):
        return weight_column
    key = getattr(weight_column, "key", None)
    if not isinstance(key, str):
        raise TypeError("Weight column must be either a string or _NumericColumn. Given type: "
                        f"{type(weight_column)}.")
    return key


def _batch_size(features: Any, weight_key: str | None):
    """The batch size: the first dimension of the first feature (not the weight column)."""
    if not isinstance(features, dict):
        return shape(convert_to_tensor(features))[0]
    for key in sorted(features):
        if key != weight_key:
            value = features[key]
            dense = getattr(value, "dense_shape", None)
            return dense[0] if dense is not None else shape(convert_to_tensor(value))[0]
    raise ValueError("features must hold at least one feature besides the weight column; "
                     f"got keys {sorted(features)}.")


def baseline_logit_fn(features: Any, num_outputs: int, weight_column: Any = None):
    """Logits ``[batch, num_outputs]``: the ``baseline/bias`` variable for each example."""
    batch_size = _batch_size(features, _weight_key(weight_column))
    with variable_scope("baseline"):
        bias = get_variable("bias", shape=[num_outputs], dtype=dtypes.float32,
                            initializer=zeros_initializer())
        return multiply(bias, ones(stack([batch_size, num_outputs])))


def _model_fn(head: Head, optimizer: Any, weight_column: Any) -> Callable:
    check_optimizer(optimizer)

    def model_fn(features, labels, mode, config):
        del config  # unused, as in TF
        logits = baseline_logit_fn(features, head.logits_dimension, weight_column)

        def train_op_fn(loss):
            opt = get_optimizer_instance(optimizer, learning_rate=LEARNING_RATE)
            return premade_minimize(opt, loss)

        return head.create_estimator_spec(features=features, mode=mode, logits=logits,
                                          labels=labels, train_op_fn=train_op_fn)

    return model_fn


class BaselineClassifier(Estimator):
    """A classifier that predicts the label distribution it saw (TF 1.15's
    ``tf.estimator.BaselineClassifier``).

    Args:
        model_dir: where checkpoints and summaries go.
        n_classes: number of label classes.
        weight_column: a feature key or numeric column of example weights.
        label_vocabulary: the class names when labels are strings.
        optimizer: ``'Ftrl'`` (default, learning rate 0.3), another name, an Optimizer
            or a callable returning one.
        config: a RunConfig.
        loss_reduction: how the loss is reduced over the batch (``Reduction.SUM``).
    """

    def __init__(self, model_dir: Any = None, n_classes: int = 2, weight_column: Any = None,
                 label_vocabulary: Sequence[str] | None = None, optimizer: Any = "Ftrl",
                 config: RunConfig | None = None, loss_reduction: str = Reduction.SUM):
        head = binary_logistic_or_multi_class_head(n_classes, weight_column, label_vocabulary,
                                                   loss_reduction)
        super().__init__(model_fn=_model_fn(head, optimizer, weight_column),
                         model_dir=model_dir, config=config)


class BaselineRegressor(Estimator):
    """A regressor that predicts the mean label it saw (TF 1.15's
    ``tf.estimator.BaselineRegressor``).

    Args: as :class:`BaselineClassifier`, with ``label_dimension`` in place of
    ``n_classes`` and ``label_vocabulary``.
    """

    def __init__(self, model_dir: Any = None, label_dimension: int = 1,
                 weight_column: Any = None, optimizer: Any = "Ftrl",
                 config: RunConfig | None = None, loss_reduction: str = Reduction.SUM):
        head = regression_head(label_dimension=label_dimension, weight_column=weight_column,
                               loss_reduction=loss_reduction)
        super().__init__(model_fn=_model_fn(head, optimizer, weight_column),
                         model_dir=model_dir, config=config)


class BaselineEstimator(Estimator):
    """The bias-only model with a given head (TF 1.15's ``tf.estimator.BaselineEstimator``).

    Args: ``head`` (a :class:`~estcore.estimator.canned.head.Head`), ``model_dir``,
    ``optimizer`` (``'Ftrl'``, learning rate 0.3), ``config``.
    """

    def __init__(self, head: Head, model_dir: Any = None, optimizer: Any = "Ftrl",
                 config: RunConfig | None = None):
        super().__init__(model_fn=_model_fn(check_head(head), optimizer, None),
                         model_dir=model_dir, config=config)
