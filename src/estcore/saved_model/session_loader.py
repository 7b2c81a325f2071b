"""TF1's ``tf.saved_model.loader.load(sess, tags, export_dir)``: an export into a Session.

>>> with tf.Session(graph=tf.Graph()) as sess:
...     meta = tf.saved_model.loader.load(sess, [tf.saved_model.tag_constants.SERVING], path)
...     sig = meta.signature_def["serving_default"]
...     sess.run(sig.outputs["probabilities"].name, {sig.inputs["examples"].name: batch})

What it does, next to TF 1.15's:

==========================  ===============================================================
tags                        an estcore export holds one graph, tagged as saved_model.json's
                            ``"tags"`` says (``["serve"]``, as TF's Estimator exports; a
                            file without the field counts as ``["serve"]``). Other tags:
                            TF's RuntimeError "MetaGraphDef associated with tags ...
                            could not be found in SavedModel, ...".
the graph                   rebuilt into ``sess.graph`` with every check of
                            :func:`estcore.saved_model.load` (:func:`loader.rebuild`), after
                            a complete check in a private graph, so that a broken export
                            leaves ``sess.graph`` as it was.
names                       TF's: nodes keep the export's names, inside the current name
                            scope; ``import_scope="imp"`` puts them under ``imp/`` (a
                            scope in use becomes ``imp_1/``); a name the graph already has
                            gets ``_1``, ``_2``...
signature_def names         relative to the import scope, as TF's (fetch
                            ``"imp/" + sig.outputs[k].name``). They name the tensors this
                            load built: where the graph already had a name, TF's name
                            the earlier node, estcore's the renamed one (and a WARNING
                            says how many nodes were renamed).
variables                   the export's values, written into ``sess``. They are not in
                            the graph's collections: ``tf.global_variables()`` does not
                            list them and ``global_variables_initializer()`` leaves them
                            alone (TF's would reset them to their initial values).
``**saver_kwargs``          accepted and ignored (TF builds a Saver with them).
missing saved_model.json    TF's OSError "SavedModel file does not exist at: ...".
==========================  ===============================================================

The returned :class:`MetaGraphDef` has TF's fields that describe the signatures:
``signature_def[key].inputs / .outputs`` (:class:`TensorInfo`: ``name``, ``dtype`` as TF's
DataType number, ``tensor_shape`` with ``dim[i].size``, -1 unknown), ``method_name``
(``"tensorflow/serving/predict"``...), ``meta_info_def.tags``. It holds no ``graph_def``.

Owns: the TF1 loading API and its MetaGraphDef-like objects. Must not: validate export
data itself (the loader does) or import the estimator.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from estcore.export import format as fmt
from estcore.graph.dtypes import DType, as_dtype
from estcore.graph.ir import Graph, get_default_graph
from estcore.saved_model.loader import (
    check_not_a_base_dir,
    checked_predictor,
    read_export,
    read_signatures,
    rebuild,
)
from estcore.summary.graph_def import DT_ENUM

__all__ = ["load", "maybe_saved_model_directory", "get_tensor_from_tensor_info",
           "MetaGraphDef", "MetaInfoDef", "SignatureDef", "TensorInfo", "TensorShapeProto",
           "DataType"]

logger = logging.getLogger("estcore")

DEFAULT_TAGS = ("serve",)  # what an export without a "tags" field is tagged
# estcore's method names (saved_model.json) -> TF's
METHOD_NAMES = {"predict": "tensorflow/serving/predict",
                "classify": "tensorflow/serving/classify",
                "regress": "tensorflow/serving/regress"}


class DataType(int):
    """A TensorInfo's ``dtype``: TF's DataType number (``1`` for float32, ``7`` string),
    equal to that number and to the matching estcore dtype, as TF's; ``tf.as_dtype`` and
    ``np.dtype`` take it (numpy reads its ``dtype`` attribute)."""

    def __new__(cls, dtype: DType) -> DataType:
        self = super().__new__(cls, DT_ENUM[dtype.name])
        self._dtype = dtype
        return self

    @property
    def dtype(self) -> np.dtype:
        return self._dtype.np

    def __eq__(self, other: object) -> bool:
        if isinstance(other, DType):
            return other is self._dtype
        return int.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = int.__hash__

    def __reduce__(self) -> tuple:
        return _data_type, (self._dtype.name,)

    def __repr__(self) -> str:
        return int.__repr__(self)


def _data_type(name: str) -> DataType:
    """Unpickling of :class:`DataType` (the estcore dtype by name)."""
    return DataType(as_dtype(name))


class TensorShapeProto:
    """TF's TensorShapeProto: ``dim`` (each with ``size``, -1 when unknown, and ``name``)
    and ``unknown_rank``."""

    class Dim:
        __slots__ = ("size", "name")

        def __init__(self, size: int, name: str = ""):
            self.size = size
            self.name = name

        def __repr__(self) -> str:
            return f"Dim(size={self.size})"

    __slots__ = ("dim", "unknown_rank")

    def __init__(self, dims: list | None):
        self.unknown_rank = dims is None
        self.dim = [] if dims is None else [self.Dim(-1 if d is None else d) for d in dims]

    def __repr__(self) -> str:
        if self.unknown_rank:
            return "TensorShapeProto(unknown_rank=True)"
        return f"TensorShapeProto(dim={[d.size for d in self.dim]})"


class TensorInfo:
    """One signature input or output: ``name`` (the tensor to feed or fetch, relative to
    the import scope), ``dtype`` (:class:`DataType`), ``tensor_shape``."""

    __slots__ = ("name", "dtype", "tensor_shape")

    def __init__(self, name: str, dtype: DType, shape: list | None):
        self.name = name
        self.dtype = DataType(dtype)
        self.tensor_shape = TensorShapeProto(shape)

    def __repr__(self) -> str:
        return f"TensorInfo(name={self.name!r}, dtype={self.dtype}, {self.tensor_shape})"


class SignatureDef:
    """``inputs`` and ``outputs`` (key -> :class:`TensorInfo`) and TF's ``method_name``."""

    __slots__ = ("inputs", "outputs", "method_name")

    def __init__(self, inputs: dict, outputs: dict, method_name: str):
        self.inputs = inputs
        self.outputs = outputs
        self.method_name = method_name

    def __repr__(self) -> str:
        return (f"SignatureDef(method_name={self.method_name!r}, inputs={self.inputs}, "
                f"outputs={self.outputs})")


class MetaInfoDef:
    """``tags`` and the version that wrote the export (``tensorflow_version`` in
    ``tf.VERSION``'s form, ``"1.15.0+estcore.<version>"``)."""

    __slots__ = ("tags", "tensorflow_version", "tensorflow_git_version")

    def __init__(self, tags: list, estcore_version: str):
        self.tags = list(tags)
        self.tensorflow_version = f"1.15.0+estcore.{estcore_version}"
        self.tensorflow_git_version = f"estcore-{estcore_version}"

    def __repr__(self) -> str:
        return f"MetaInfoDef(tags={self.tags}, tensorflow_version={self.tensorflow_version!r})"


class MetaGraphDef:
    """What :func:`load` returns: ``signature_def`` (key -> :class:`SignatureDef`),
    ``meta_info_def``; ``collection_def`` and ``asset_file_def`` are empty."""

    __slots__ = ("signature_def", "meta_info_def", "collection_def", "asset_file_def")

    def __init__(self, signature_def: dict, meta_info_def: MetaInfoDef):
        self.signature_def = signature_def
        self.meta_info_def = meta_info_def
        self.collection_def: dict = {}
        self.asset_file_def: list = []

    def __repr__(self) -> str:
        return (f"MetaGraphDef(tags={self.meta_info_def.tags}, "
                f"signature_def={sorted(self.signature_def)})")


def maybe_saved_model_directory(export_dir: str | bytes | os.PathLike) -> bool:
    """True when ``export_dir`` holds an estcore export's ``saved_model.json`` (TF's
    ``maybe_saved_model_directory`` / ``contains_saved_model``: nothing is read; True is
    no promise that it loads). A TensorFlow SavedModel (``saved_model.pb``) gives False:
    estcore cannot load it."""
    return os.path.isfile(os.path.join(os.fsdecode(os.fspath(export_dir)), fmt.GRAPH_FILE))


def _missing(path: str) -> OSError:
    """TF's OSError for a directory without the graph file, with what is there instead."""
    hint = ""
    if os.path.isfile(os.path.join(path, "saved_model.pb")) or \
            os.path.isfile(os.path.join(path, "saved_model.pbtxt")):
        hint = (" (it holds a TensorFlow SavedModel, saved_model.pb: estcore loads the "
                "exports estcore writes; export the model with estcore)")
    elif os.path.isdir(path):
        try:
            check_not_a_base_dir(path)
        except fmt.ExportFormatError as e:  # names the exports it holds
            hint = f" ({e})"
    return OSError(f"SavedModel file does not exist at: {path}{os.sep}{fmt.GRAPH_FILE}{hint}")


def _tags(path: str, data: dict) -> list[str]:
    tags = data.get("tags")
    if tags is None:
        return list(DEFAULT_TAGS)
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise fmt.ExportFormatError(f"Cannot load the export at {path}: \"tags\" must be a "
                                    f"list of strings, got {str(tags)[:200]}")
    return tags


def load(sess: Any, tags: Any, export_dir: str | bytes | os.PathLike,
         import_scope: str | None = None, **saver_kwargs: Any) -> MetaGraphDef:
    """Build an export's graph into ``sess.graph`` and its variables into ``sess``
    (TF1's ``tf.saved_model.loader.load``; module docstring for the details).

    Args:
        sess: the Session to load into.
        tags: the export's tags, e.g. ``[tf.saved_model.tag_constants.SERVING]``.
        export_dir: the timestamped export directory (str, bytes or path).
        import_scope: a name scope for the nodes built.
        **saver_kwargs: ignored.

    Returns:
        A :class:`MetaGraphDef`.

    Raises:
        OSError: ``export_dir`` holds no saved_model.json.
        RuntimeError: the export is not tagged ``tags``, or ``sess.graph`` is finalized.
        ExportFormatError (a ValueError): a damaged or invalid export (as
            :func:`estcore.saved_model.load`).
        ValueError: ``import_scope`` is not a valid scope name.
    """
    del saver_kwargs  # TF builds a Saver with them; the values come from the export here
    path = os.fsdecode(os.fspath(export_dir))
    if not maybe_saved_model_directory(path):
        raise _missing(path)
    graph = getattr(sess, "graph", None)
    if not isinstance(graph, Graph) or not hasattr(sess, "set_variable_values"):
        raise TypeError(f"`sess` must be a tf.Session. Received: {type(sess).__name__}")
    export = read_export(path)
    available = _tags(path, export.data)
    if set(tags) != set(available):
        raise RuntimeError(
            f"MetaGraphDef associated with tags {str(tags).strip('[]')} could not be found "
            f"in SavedModel, with available tags '{[set(available)]}'. An estcore export "
            "holds one graph; its tags are the \"tags\" of saved_model.json.")
    graph._check_not_finalized()
    checked_predictor(export)  # every check, in a private graph: sess.graph stays clean
    built = rebuild(path, export.data, export.variables, export.consts, graph=graph,
                    import_scope=import_scope)
    if built.renamed:
        shown = ", ".join(built.renamed[:3]) + (", ..." if len(built.renamed) > 3 else "")
        logger.warning("Loading %s: the graph already had %d of its node names (%s); those "
                       "nodes were built as <name>_N and the signature_def returned names "
                       "them (TF's names the earlier nodes).", path, len(built.renamed), shown)
    if built.variables:
        sess.set_variable_values(built.variables)
    signatures = read_signatures(path, export.data, built.tensors)
    n = len(built.scope)

    def infos(specs: dict) -> dict[str, TensorInfo]:
        return {k: TensorInfo(s.tensor_name[n:], as_dtype(s.dtype_name), s.shape)
                for k, s in specs.items()}

    signature_def = {name: SignatureDef(infos(sig.inputs), infos(sig.outputs),
                                        METHOD_NAMES.get(sig.method_name, sig.method_name))
                     for name, sig in signatures.items()}
    version = export.data.get("estcore_version")
    return MetaGraphDef(signature_def, MetaInfoDef(available, str(version)))


def get_tensor_from_tensor_info(tensor_info: Any, graph: Graph | None = None,
                                import_scope: str | None = None) -> Any:
    """The tensor a :class:`TensorInfo` names in ``graph`` (default: the default graph),
    under ``import_scope`` (TF's ``tf.saved_model.utils.get_tensor_from_tensor_info``).

    Raises:
        KeyError: the graph has no such tensor.
    """
    graph = graph if graph is not None else get_default_graph()
    name = tensor_info.name
    if import_scope:
        name = f"{import_scope.rstrip('/')}/{name}"
    return graph.get_tensor_by_name(name)
