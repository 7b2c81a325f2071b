"""TF1's ``tf.contrib.predictor``: a Session with named feed and fetch tensors.

>>> predict_fn = tf.contrib.predictor.from_saved_model(export_dir)
>>> predict_fn({"examples": serialized})["probabilities"]     # dict of numpy arrays
>>> predict_fn.feed_tensors, predict_fn.fetch_tensors          # key -> Tensor

:func:`from_saved_model` loads an export with TF1's ``tf.saved_model.loader.load``
(:mod:`estcore.saved_model.session_loader`) into a new Session; the Estimator's
``from_estimator`` (:mod:`estcore.estimator.exporting`) traces the model_fn and restores
the newest checkpoint instead. Both give a :class:`SessionPredictor`. Unlike
:class:`estcore.saved_model.Predictor`, it checks only the input keys (TF's rule: unknown
keys are an error, a missing or None value is not fed) and leaves dtypes and shapes to
``Session.run``.

Owns: TF's contrib Predictor classes. Must not: import the estimator.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from estcore.export.export_output import DEFAULT_SERVING_SIGNATURE_DEF_KEY
from estcore.graph.ir import Graph
from estcore.graph.session import Session
from estcore.saved_model import session_loader

__all__ = ["SessionPredictor", "SavedModelPredictor", "from_saved_model", "DEFAULT_TAGS"]

logger = logging.getLogger("estcore")

DEFAULT_TAGS = "serve"
_DEFAULT_INPUT_ALTERNATIVE_FORMAT = "default_input_alternative:{}"


class SessionPredictor:
    """TF's ``tf.contrib.predictor`` Predictor: call it with a dict of arrays.

    Attributes:
        graph: the graph holding the model.
        session: the Session that runs it.
        feed_tensors: input key -> placeholder.
        fetch_tensors: output key -> tensor.
    """

    def __init__(self, graph: Graph, session: Any, feed_tensors: dict, fetch_tensors: dict):
        self._graph = graph
        self._session = session
        self._feed_tensors = feed_tensors
        self._fetch_tensors = fetch_tensors

    @property
    def graph(self) -> Graph:
        return self._graph

    @property
    def session(self) -> Any:
        return self._session

    @property
    def feed_tensors(self) -> dict:
        return self._feed_tensors

    @property
    def fetch_tensors(self) -> dict:
        return self._fetch_tensors

    def __call__(self, input_dict: dict) -> dict[str, np.ndarray]:
        """Run the fetch tensors on ``input_dict`` (key -> array-like).

        Raises:
            ValueError: a key of ``input_dict`` is not a key of ``feed_tensors``.
        """
        unexpected = set(input_dict) - set(self._feed_tensors)
        if unexpected:
            raise ValueError(f"Got unexpected keys in input_dict: {unexpected}")
        feed_dict = {}
        for key, tensor in self._feed_tensors.items():
            value = input_dict.get(key)
            if value is not None:
                feed_dict[tensor] = value
        return self._session.run(fetches=self._fetch_tensors, feed_dict=feed_dict)

    def __repr__(self) -> str:
        return (f"{type(self).__name__} with feed tensors {self._feed_tensors} and "
                f"fetch_tensors {self._fetch_tensors}")


def _signature_def(meta: Any, key: str | None, path: str) -> Any:
    """TF's lookup: ``key`` (default ``serving_default``), else
    ``default_input_alternative:<key>`` with a WARNING."""
    key = key or DEFAULT_SERVING_SIGNATURE_DEF_KEY
    sigs = meta.signature_def
    if key in sigs:
        return sigs[key]
    alternative = _DEFAULT_INPUT_ALTERNATIVE_FORMAT.format(key)
    if alternative not in sigs:
        raise ValueError(f'Got signature_def_key "{key}". Available signatures are '
                         f"{list(sigs)} (in {path}). Original error:\n{KeyError(key)}")
    logger.warning('Could not find signature def "%s". Using "%s" instead', key, alternative)
    return sigs[alternative]


class SavedModelPredictor(SessionPredictor):
    """A predictor over an export (TF's ``SavedModelPredictor``; see
    :func:`from_saved_model`)."""

    def __init__(self, export_dir: Any, signature_def_key: str | None = None,
                 signature_def: Any = None, input_names: dict | None = None,
                 output_names: dict | None = None, tags: Any = None,
                 graph: Graph | None = None, config: Any = None):
        if (input_names is None) != (output_names is None):
            raise ValueError("input_names and output_names must both be specified or both "
                             "be unspecified.")
        if (signature_def_key is not None) + (signature_def is not None) \
                + (input_names is not None) > 1:
            raise ValueError("You must specify at most one of signature_def_key OR "
                             "signature_def OR (input_names AND output_names).")
        tags = tags or DEFAULT_TAGS
        tag_list = ([t.strip() for t in tags.split(",")] if isinstance(tags, str)
                    else list(tags))
        graph = graph if graph is not None else Graph()
        with graph.as_default():
            session = Session(graph=graph, config=config)
            meta = session_loader.load(session, tag_list, export_dir)
        if input_names is None:
            if signature_def is None:
                signature_def = _signature_def(meta, signature_def_key,
                                               os.fsdecode(os.fspath(export_dir)))
            input_names = {k: v.name for k, v in signature_def.inputs.items()}
            output_names = {k: v.name for k, v in signature_def.outputs.items()}
        super().__init__(graph, session,
                         {k: graph.get_tensor_by_name(v) for k, v in input_names.items()},
                         {k: graph.get_tensor_by_name(v) for k, v in output_names.items()})


def from_saved_model(export_dir: Any, signature_def_key: str | None = None,
                     signature_def: Any = None, input_names: dict | None = None,
                     output_names: dict | None = None, tags: Any = None,
                     graph: Graph | None = None, config: Any = None) -> SavedModelPredictor:
    """A predictor over the export at ``export_dir`` (TF's
    ``tf.contrib.predictor.from_saved_model``).

    Args:
        export_dir: the timestamped export directory.
        signature_def_key: the signature to run (default ``serving_default``; when
            missing, ``default_input_alternative:<key>`` if the export has it).
        signature_def: a SignatureDef (``meta.signature_def[key]`` of
            ``tf.saved_model.loader.load``) naming the tensors instead.
        input_names, output_names: key -> tensor name, both or neither, instead.
        tags: comma-separated tags (TF's form, default ``"serve"``) or a list.
        graph: the graph to load into (default a new one).
        config: the Session's config.

    Raises:
        ValueError: more than one of ``signature_def_key``, ``signature_def`` and the
            names is given, only one of the names, or an unknown signature key.
        OSError, RuntimeError, ExportFormatError: as ``tf.saved_model.loader.load``.
    """
    return SavedModelPredictor(export_dir, signature_def_key=signature_def_key,
                               signature_def=signature_def, input_names=input_names,
                               output_names=output_names, tags=tags, graph=graph,
                               config=config)
