"""``tf.app``: ``run`` and ``flags``, as in TF 1.x.

``tf.app.run(main=None, argv=None)`` parses the flags defined with ``tf.app.flags`` /
``tf.flags`` from ``argv`` (``sys.argv`` by default), leaving unknown arguments in place
(TF1's ``known_only``), calls ``main(remaining_argv)`` (``__main__.main`` when ``main`` is
None) and exits with its return value through ``sys.exit``, as TF1 did. A flag value that
does not parse prints the error and exits with status 1.

Difference (docs/compat.md): absl's ``app.run`` extras (``--helpfull``, absl's logging
handler on the root logger, ``--run_with_pdb``) are not set up: estcore's run only parses
the flags and calls ``main``. Must not: touch logging.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn

from estcore.compat.v1 import flags as flags
from estcore.compat.v1._namespace import missing

__all__ = ["run", "flags"]

__getattr__ = missing("tf.app")


def run(main: Callable[[list[str]], Any] | None = None,
        argv: list[str] | None = None) -> NoReturn:
    """Parse the flags, call ``main(argv)``, ``sys.exit`` with its result.

    Args:
        main: the program's main function, taking the list of arguments left after
            the flags were parsed (``argv[0]`` first). Default: ``__main__.main``.
        argv: the arguments (``sys.argv`` by default).
    """
    if main is None:
        main = getattr(sys.modules.get("__main__"), "main", None)
        if main is None:
            raise ValueError("tf.app.run() with no `main` calls the function `main` of the "
                             "__main__ module, which has none: pass main=<your function>")
    if not callable(main):
        raise TypeError(f"tf.app.run: `main` must be callable. Received: {main!r}")
    args = list(sys.argv if argv is None else argv)
    try:
        remaining = flags.FLAGS(args, known_only=True)
    except flags.Error as e:
        sys.stderr.write(f"FATAL Flags parsing error: {e}\n")
        sys.exit(1)
    sys.exit(main(remaining))
