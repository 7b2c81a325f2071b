"""Resumable iteration: a new iterator from get_state() continues exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from estcore.data import Dataset
from estcore.data.iterators import DatasetIterator
from estcore.errors import InvalidArgumentError
from estcore.inputs.resume import resume_scope

from .conftest import values

pytestmark = pytest.mark.smoke

PIPELINES = {
    "c_stream": lambda n, s: Dataset.from_tensor_slices(np.arange(n)).shuffle(n, seed=s)
    .repeat(2).batch(3),
    "c_stream_outer": lambda n, s: Dataset.from_tensor_slices(np.arange(n)).shuffle(n, seed=s)
    .batch(4).repeat(3),
    "c_stream_buffer": lambda n, s: Dataset.from_tensor_slices(np.arange(n)).shuffle(3, seed=s)
    .repeat().batch(4).take(25),
    "buffer": lambda n, s: Dataset.range(n).shuffle(4, seed=s).repeat(2).batch(3),
    "map": lambda n, s: Dataset.range(n).map(lambda x: x * 2).shuffle(n, seed=s).batch(2)
    .repeat(2),
}


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(sorted(PIPELINES)), n=st.integers(1, 40),
       seed=st.integers(0, 2**63), cut=st.integers(0, 60))
def test_resume_equals_uninterrupted(kind, n, seed, cut):
    make = PIPELINES[kind]
    full = values(make(n, seed))
    cut = min(cut, len(full))
    first = iter(make(n, seed))
    head = values(next(first) for _ in range(cut))
    state = json.loads(json.dumps(first.get_state()))
    first.close()
    ds = make(n, seed)
    with resume_scope(state):
        it = iter(ds)
    assert it.resumed
    assert head + values(it) == full


def test_a_state_of_another_pipeline_is_not_taken():
    it = iter(Dataset.range(10).batch(2))
    next(it)
    state = it.get_state()
    with resume_scope(state):
        other = iter(Dataset.range(10).batch(3))
    assert not other.resumed and values(other)[0] == [0, 1, 2]
    with pytest.raises(InvalidArgumentError, match="does not match"):
        DatasetIterator(Dataset.range(10).batch(3)._node, Dataset.range(1).options(),
                        state=state)


def test_unseeded_shuffle_resumes_with_the_stored_seed():
    ds = Dataset.range(30).shuffle(5).batch(4)
    it = iter(ds)
    head = [next(it).tolist() for _ in range(3)]
    state = it.get_state()
    rest = values(it)
    again = Dataset.range(30).shuffle(5).batch(4)  # a fresh random seed...
    with resume_scope(state):
        resumed = iter(again)
    assert resumed.resumed and values(resumed) == rest  # ...replaced by the stored one
    assert sorted(sum(head, []) + sum(rest, [])) == list(range(30))
