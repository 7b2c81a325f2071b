"""Dense linear algebra TF 1.x programs use: MatrixInverse, MatrixDeterminant,
MatrixSolve, Cholesky (numpy / LAPACK kernels over ``[..., M, M]`` batches) with TF's
gradients.

A singular matrix (inverse, solve) or one that is not positive definite (Cholesky) is an
InvalidArgumentError with TF's text, never a matrix of NaNs. Gradients:
``d inv = -inv^T g inv^T``, ``d det = g det inv^T``, solve's ``(solve(A^T, g),
-solve(A^T, g) x^T)`` and Cholesky's (Murray 2016, TF's ``CholeskyGrad``), built from
these ops and matmul.

Owns: these rows. Must not: reach the plan's C paths (Python kernels).
"""

from __future__ import annotations

import numpy as np

from estcore import errors
from estcore.graph.ops import array_ops as A
from estcore.graph.ops import math_ops as M
from estcore.graph.ops.core import constant, convert_to_tensor, make, row
from estcore.graph.shapes import TensorShape

__all__ = ["matrix_inverse", "matrix_determinant", "matrix_solve", "cholesky"]


def _square(ctx, i: int, what: str):
    s = ctx.shapes[i]
    if not ctx.dtypes[i].is_floating:
        raise ctx.fail(f"expects a floating-point `{what}`, got {ctx.dtypes[i].name}",
                       TypeError)
    if s.rank is not None and s.rank < 2:
        raise ctx.fail(f"`{what}` must have rank >= 2, got shape {ctx.fmt(i)}")
    if s.rank is not None and None not in s.dims[-2:] and s.dims[-1] != s.dims[-2]:
        raise ctx.fail(f"`{what}` must be a (batch of) square matrix, got shape {ctx.fmt(i)}")
    return s


def _adj(x):
    """The last two dimensions swapped (real dtypes: the adjoint)."""
    rank = x.shape.rank
    return A.transpose(x, list(range(rank - 2)) + [rank - 1, rank - 2])


def _inv(a: np.ndarray, node) -> np.ndarray:
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        raise errors.InvalidArgumentError(f"{node.type} '{node.name}': Input is not "
                                          "invertible.") from None


def _inverse_build(k):
    a, o = k.ins[0], k.outs[0]

    def run():
        m = np.swapaxes(a, -1, -2) if k.attrs["adjoint"] else a
        o[...] = _inv(m, k.node)
    return run


def _inverse_grad(op, g):
    ainv = op.outputs[0]
    # TF: -ainv^H g ainv^H (for the adjoint case the roles swap)
    if op.attrs["adjoint"]:
        return [-M.matmul(ainv, M.matmul(g[0], ainv, transpose_a=True))]
    return [-M.matmul(ainv, M.matmul(g[0], ainv, transpose_b=True), transpose_a=True)]


row("MatrixInverse", lambda ctx: [(ctx.dtypes[0], _square(ctx, 0, "input"))], _inverse_build,
    _inverse_grad)


def _det_infer(ctx):
    s = _square(ctx, 0, "input")
    return [(ctx.dtypes[0], TensorShape(None) if s.rank is None else TensorShape(s.dims[:-2]))]


def _det_build(k):
    a, o = k.ins[0], k.outs[0]

    def run():
        o[...] = np.linalg.det(a)
    return run


def _det_grad(op, g):
    a, det = op.inputs[0], op.outputs[0]
    scale = A.expand_dims(A.expand_dims(g[0] * det, -1), -1)
    return [scale * matrix_inverse(a, adjoint=True)]


row("MatrixDeterminant", _det_infer, _det_build, _det_grad)


def _solve_infer(ctx):
    a = _square(ctx, 0, "matrix")
    b = ctx.shapes[1]
    if ctx.dtypes[1] != ctx.dtypes[0]:
        raise ctx.fail(f"`rhs` must have the dtype of `matrix` ({ctx.dtypes[0].name}), got "
                       f"{ctx.dtypes[1].name}", TypeError)
    if a.rank is not None and b.rank is not None:
        if b.rank != a.rank or (a.dims[-1] is not None and b.dims[-2] is not None
                                and a.dims[-1] != b.dims[-2]):
            raise ctx.fail(f"`rhs` must be [..., M, K] for `matrix` [..., M, M], got "
                           f"{ctx.fmt(1)} and {ctx.fmt(0)}")
    return [(ctx.dtypes[0], b)]


def _solve_build(k):
    a, b = k.ins
    o = k.outs[0]

    def run():
        m = np.swapaxes(a, -1, -2) if k.attrs["adjoint"] else a
        try:
            o[...] = np.linalg.solve(m, b)
        except np.linalg.LinAlgError:
            raise errors.InvalidArgumentError(f"MatrixSolve '{k.node.name}': Input matrix is "
                                              "not invertible.") from None
    return run


def _solve_grad(op, g):
    a, x = op.inputs[0], op.outputs[0]
    adjoint = op.attrs["adjoint"]
    grad_b = matrix_solve(a, g[0], adjoint=not adjoint)
    if adjoint:
        grad_a = -M.matmul(x, grad_b, transpose_b=True)
    else:
        grad_a = -M.matmul(grad_b, x, transpose_b=True)
    return [grad_a, grad_b]


row("MatrixSolve", _solve_infer, _solve_build, _solve_grad)


def _cholesky_build(k):
    a, o = k.ins[0], k.outs[0]

    def run():
        try:
            o[...] = np.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            raise errors.InvalidArgumentError(
                f"Cholesky '{k.node.name}': Cholesky decomposition was not successful. The "
                "input might not be valid.") from None
    return run


def _cholesky_grad(op, g):
    low = op.outputs[0]
    n = low.shape.dims[-1]
    if n is None:
        raise ValueError("Cholesky gradient: the matrix size must be known when the graph "
                         f"is built. Received: shape {low.shape}")
    low_inv = matrix_inverse(low)
    middle = M.matmul(low, g[0], transpose_a=True)
    eye = np.eye(n)
    # tril(middle) with its diagonal halved
    weights = constant((np.tril(np.ones((n, n))) - 0.5 * eye).astype(low.dtype.np),
                       dtype=low.dtype)
    middle = middle * weights
    grad = M.matmul(M.matmul(low_inv, middle, transpose_a=True), low_inv)
    return [(grad + _adj(grad)) * 0.5]


row("Cholesky", lambda ctx: [(ctx.dtypes[0], _square(ctx, 0, "input"))], _cholesky_build,
    _cholesky_grad)


def matrix_inverse(input, adjoint=False, name=None):  # noqa: A002 - TF name
    """TF's ``tf.linalg.inv`` / ``tf.matrix_inverse``: the inverse of each ``[..., M, M]``
    float matrix (of its transpose with ``adjoint``); a singular one is an
    InvalidArgumentError."""
    return make("MatrixInverse", [convert_to_tensor(input)], {"adjoint": bool(adjoint)},
                name=name or "MatrixInverse")


def matrix_determinant(input, name=None):  # noqa: A002 - TF name
    """TF's ``tf.linalg.det`` / ``tf.matrix_determinant``: ``[..., M, M]`` -> ``[...]``."""
    return make("MatrixDeterminant", [convert_to_tensor(input)],
                name=name or "MatrixDeterminant")


def matrix_solve(matrix, rhs, adjoint=False, name=None):
    """TF's ``tf.linalg.solve`` / ``tf.matrix_solve``: ``X`` with ``matrix @ X = rhs``
    (``matrix^T @ X`` with ``adjoint``); ``matrix`` ``[..., M, M]``, ``rhs`` ``[..., M,
    K]``."""
    return make("MatrixSolve", [convert_to_tensor(matrix), convert_to_tensor(rhs)],
                {"adjoint": bool(adjoint)}, name=name or "MatrixSolve")


def cholesky(input, name=None):  # noqa: A002 - TF name
    """TF's ``tf.linalg.cholesky`` / ``tf.cholesky``: the lower-triangular ``L`` with
    ``L @ L^T = input`` for each symmetric positive-definite ``[..., M, M]`` matrix (only
    the lower triangle is read, as TF)."""
    return make("Cholesky", [convert_to_tensor(input)], name=name or "Cholesky")
