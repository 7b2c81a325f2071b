"""Loading format_version 2 (control-flow sub-graphs): what is accepted, what is refused."""

from __future__ import annotations

import json
import os
import random
import shutil

import pytest

import estcore.saved_model as sm
from estcore.export import ExportFormatError

from .export_json import edit_json


def _node(data, pred):
    return next(n for n in data["graph"]["nodes"] if pred(n))


def _outer_cond(data):
    """The Cond node whose true branch holds the dense layer (two captures)."""
    return _node(data, lambda n: n["type"] == "Cond" and len(
        n["attrs"]["cap_pos"][1]) == 2)


def test_v2_export_loads_and_runs(exported, models):
    est, path = exported("cond")
    pred = sm.load(path)
    assert pred.meta["format_version"] == 2
    x, _ = models.data(5)
    assert pred({"x": x})["classes"].tolist() == models.predict_all(est, x)["classes"].tolist()


def test_unknown_version_names_the_known_ones(exported):
    _, path = exported("cond")
    edit_json(path, lambda d: d.update(format_version=3))
    with pytest.raises(ExportFormatError, match="format_version 3; this estcore reads "
                                                "format_version 1 or 2 only"):
        sm.load(path)


def test_body_in_a_version_1_file_is_refused(exported):
    _, path = exported("cond")
    edit_json(path, lambda d: d.update(format_version=1))
    with pytest.raises(ExportFormatError, match=r"sub-graph \(\$body\) in a format_version 1 "
                                                "file"):
        sm.load(path)


def test_control_list_in_a_version_1_file_is_refused(exported):
    _, path = exported("mlp")

    def craft(d):
        d["graph"]["nodes"][-1]["control"] = [d["graph"]["nodes"][0]["name"]]
    edit_json(path, craft)
    with pytest.raises(ExportFormatError, match="'control' needs format_version 2"):
        sm.load(path)


def test_control_naming_an_unknown_node_is_refused(exported):
    _, path = exported("cond")

    def craft(d):
        _node(d, lambda n: n.get("control"))["control"] = ["no/such/node"]
    edit_json(path, craft)
    with pytest.raises(ExportFormatError, match="names nodes not defined earlier"):
        sm.load(path)


def test_recorded_captures_must_match(exported):
    _, path = exported("cond")

    def craft(d):
        body = _outer_cond(d)["attrs"]["branches"][1]["$body"]
        body["captures"] = list(reversed(body["captures"]))
    edit_json(path, craft)
    with pytest.raises(ExportFormatError, match="the sub-graph reads captures"):
        sm.load(path)


def test_cond_must_feed_each_branch_its_captures(exported):
    _, path = exported("cond")

    def craft(d):
        cap_pos = _outer_cond(d)["attrs"]["cap_pos"]
        cap_pos[1] = list(reversed(cap_pos[1]))
    edit_json(path, craft)
    with pytest.raises(ExportFormatError, match="feeds branch 1"):
        sm.load(path)


@pytest.mark.parametrize("bad", [[[5, 2]], [[0, 10**6]], [[-1, 3]], "all", [[0, True]]])
def test_bad_ranges_are_refused(exported, bad):
    _, path = exported("cond")

    def craft(d):
        _outer_cond(d)["attrs"]["branches"][0]["$body"]["ranges"] = bad
    edit_json(path, craft)
    with pytest.raises(ExportFormatError, match="range"):
        sm.load(path)


def test_body_with_unknown_keys_or_tensors_is_refused(exported):
    _, path = exported("cond")

    def extra_key(d):
        _outer_cond(d)["attrs"]["branches"][0]["$body"]["code"] = "print(1)"
    edit_json(path, extra_key)
    with pytest.raises(ExportFormatError, match="needs exactly the keys"):
        sm.load(path)


def test_body_output_must_be_defined_earlier(exported):
    _, path = exported("cond")

    def craft(d):
        _outer_cond(d)["attrs"]["branches"][0]["$body"]["outputs"] = ["later:0"]
    edit_json(path, craft)
    with pytest.raises(ExportFormatError, match="name tensors not defined earlier"):
        sm.load(path)


def _paths(o, p=()):
    if isinstance(o, dict):
        for k, v in o.items():
            yield from _paths(v, (*p, k))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from _paths(v, (*p, i))
    yield p


def test_mutated_control_flow_fields_fail_as_format_errors(exported, tmp_path):
    """Any junk in a sub-graph, cap_pos, control list or MapFn attribute loads or fails
    with ExportFormatError (never another exception)."""
    _, path = exported("cond")
    with open(os.path.join(path, "saved_model.json")) as f:
        graph = json.load(f)["graph"]
    keys = ("branches", "body", "cap_pos", "control", "n_elems", "static", "$body")
    targets = [p for p in _paths(graph) if p and any(k in p for k in keys)]
    junk = [None, 0, -1, 10**9, "x", [], {}, [[0, 1]], {"$body": {}}, True, 1.5,
            ["Relu:0"], [[1, 0]]]
    rng = random.Random(0)
    for i in range(40):
        target, value = rng.choice(targets), rng.choice(junk)
        d = str(tmp_path / f"m{i}")
        shutil.copytree(path, d)

        def craft(data, target=target, value=value):
            o = data["graph"]
            for k in target[:-1]:
                o = o[k]
            o[target[-1]] = value
        edit_json(d, craft)
        try:
            sm.load(d)
        except ExportFormatError:
            pass
