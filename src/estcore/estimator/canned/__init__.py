"""The premade ("canned") estimators of TF 1.15's ``tf.estimator`` and the heads under them.

Modules: ``head`` (the ``_Head`` interface, the regression head and the head factories),
``classifier_heads`` (binary and multi-class heads), ``dnn``, ``linear``,
``dnn_linear_combined``, ``baseline``, ``optimizers`` (an optimizer given as a string, class
or instance), ``metric_keys``, ``prediction_keys``, ``parsing_utils``
(``classifier_parse_example_spec`` / ``regressor_parse_example_spec``) and ``extenders``
(``add_metrics``). The public names are re-exported by ``estcore.estimator``.

Must not: hold code (this ``__init__``); be imported by a module below the estimator.
"""
