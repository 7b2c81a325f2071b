"""The package version, one string (``estcore.__version__``, ``estcore --version`` and
the ``estcore_version`` of an export's metadata). Must not: import anything; differ from
``version`` in ``pyproject.toml``.
"""

__version__ = "0.1.0"
