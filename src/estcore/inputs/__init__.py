"""Input functions: numpy arrays to a stream of batches (``numpy_input_fn``)."""
__all__: list[str] = []
