"""Wire formats estcore reads and writes without protobuf: :mod:`estcore.proto.wire`.

Sits at the bottom of the layers (next to :mod:`estcore.errors`): the graph's
``tf.train.Example`` codec and the summary event files both build on it, so it imports
nothing from estcore.

The package ``__init__`` holds no code. Must not: import anything from estcore.
"""
