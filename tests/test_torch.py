"""pyfastnn.torch: gradcheck of every map and loss, equality with the entmax package,
any dim and layout, errors, and a model with a sparse attention layer that learns."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pt = pytest.importorskip("pyfastnn.torch")

F64 = torch.float64


def _x(*shape, seed=0, dtype=F64, grad=True):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g, dtype=dtype) * 2).requires_grad_(grad)


MAPS = {
    "sparsemax": pt.sparsemax,
    "entmax15": pt.entmax15,
    "entmax_bisect_1.3": lambda x, dim=-1: pt.entmax_bisect(x, 1.3, dim),
    "entmax_bisect_2.5": lambda x, dim=-1: pt.entmax_bisect(x, 2.5, dim),
    "relumax": lambda x, dim=-1: pt.relumax(x, 0.9, dim),
    "softmax": pt.softmax,
}


@pytest.mark.parametrize("name", MAPS)
@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_gradcheck_maps(name, dim) -> None:
    X = _x(4, 5, 3, seed=dim + 3)
    assert torch.autograd.gradcheck(lambda x: MAPS[name](x, dim=dim), (X,))


def test_gradcheck_alpha_tensor() -> None:
    X = _x(5, 6, seed=1)
    alpha = torch.tensor(1.4, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, a: pt.entmax_bisect(x, a), (X, alpha))
    per_row = torch.tensor([[1.2], [1.5], [1.5], [2.0], [2.7]], dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, a: pt.entmax_bisect(x, a), (X, per_row))
    rows = torch.cat([pt.entmax_bisect(X[i : i + 1], float(per_row[i].detach())) for i in range(5)])
    torch.testing.assert_close(pt.entmax_bisect(X, per_row), rows, rtol=0, atol=1e-15)


LOSSES = {
    "sparsemax": pt.sparsemax_loss,
    "entmax15": pt.entmax15_loss,
    "entmax_bisect": lambda x, t: pt.entmax_bisect_loss(x, t, 1.7),
}


@pytest.mark.parametrize("name", LOSSES)
def test_gradcheck_losses(name) -> None:
    X = _x(6, 5, seed=7)
    y = torch.tensor([0, 4, 2, 2, 1, 3])
    assert torch.autograd.gradcheck(lambda x: LOSSES[name](x, y), (X,))
    assert (LOSSES[name](X, y) >= -1e-12).all()


@pytest.fixture(scope="module")
def ref():
    return pytest.importorskip("entmax")


@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("shape", [(7, 1), (9, 26), (3, 1000)])
def test_equals_the_entmax_package(ref, dtype, shape) -> None:
    X = _x(*shape, seed=shape[1], dtype=dtype)
    G = torch.randn(shape, dtype=dtype)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == torch.float32 else dict(rtol=1e-9, atol=1e-12)
    pairs = [
        (pt.sparsemax, ref.sparsemax),
        (pt.entmax15, ref.entmax15),
        (lambda x: pt.entmax_bisect(x, 1.3), lambda x: ref.entmax_bisect(x, 1.3, n_iter=100)),
    ]
    for ours, theirs in pairs:
        a, b = ours(X), theirs(X)
        torch.testing.assert_close(a, b, **tol)
        (ga,) = torch.autograd.grad(a, X, G)
        (gb,) = torch.autograd.grad(b, X, G)
        torch.testing.assert_close(ga, gb, **tol)
    y = torch.randint(0, shape[1], (shape[0],))
    for ours, theirs in [
        (pt.SparsemaxLoss(), ref.SparsemaxLoss()),
        (pt.Entmax15Loss(reduction="sum"), ref.Entmax15Loss(k=None, reduction="sum")),
        (pt.EntmaxBisectLoss(1.6, reduction="none"),
         ref.EntmaxBisectLoss(1.6, n_iter=100, reduction="none")),
    ]:  # fmt: skip
        a, b = ours(X, y), theirs(X, y)
        torch.testing.assert_close(a, b, **tol)
        (ga,) = torch.autograd.grad(a.sum(), X)
        (gb,) = torch.autograd.grad(b.sum(), X)
        torch.testing.assert_close(ga, gb, **tol)


def test_sparsemax_bisect_names_equal_the_entmax_package(ref) -> None:
    X = _x(6, 9, seed=12)
    y = torch.randint(0, 9, (6,))
    torch.testing.assert_close(pt.sparsemax_bisect(X), ref.sparsemax_bisect(X, n_iter=100))
    torch.testing.assert_close(pt.SparsemaxBisect()(X), pt.sparsemax(X), rtol=0, atol=0)
    torch.testing.assert_close(
        pt.SparsemaxBisectLoss(reduction="sum")(X, y),
        ref.SparsemaxBisectLoss(n_iter=100, reduction="sum")(X, y),
    )
    torch.testing.assert_close(pt.sparsemax_bisect_loss(X, y), pt.sparsemax_loss(X, y))


def test_alpha_gradient_equals_the_entmax_package(ref) -> None:
    X = _x(4, 8, seed=2)
    G = torch.randn(4, 8, dtype=F64)
    a1 = torch.tensor(1.6, dtype=F64, requires_grad=True)
    a2 = torch.tensor(1.6, dtype=F64, requires_grad=True)
    (g1,) = torch.autograd.grad((pt.entmax_bisect(X, a1) * G).sum(), a1)
    (g2,) = torch.autograd.grad((ref.entmax_bisect(X, a2, n_iter=100) * G).sum(), a2)
    torch.testing.assert_close(g1, g2, rtol=1e-8, atol=1e-10)


def test_ignore_index_and_reductions() -> None:
    X = _x(5, 4, seed=4)
    y = torch.tensor([1, -100, 3, 0, -100])
    per = pt.entmax15_loss(X, torch.where(y < 0, 0, y))
    mean = pt.Entmax15Loss()(X, y)
    torch.testing.assert_close(mean, per[[0, 2, 3]].mean())
    none = pt.Entmax15Loss(reduction="none")(X, y)
    assert none[1] == 0 and none[4] == 0
    (g,) = torch.autograd.grad(mean, X)
    assert (g[[1, 4]] == 0).all() and (g[[0, 2, 3]] != 0).any()
    s = pt.SparsemaxLoss(ignore_index=2, reduction="sum")(X, torch.tensor([2, 2, 1, 0, 3]))
    torch.testing.assert_close(s, pt.sparsemax_loss(X[2:], torch.tensor([1, 0, 3])).sum())
    with pytest.raises(ValueError, match="^reduction:"):
        pt.SparsemaxLoss(reduction="avg")


def test_any_dim_and_layout_match_rows() -> None:
    X = _x(3, 4, 6, seed=9, grad=False)
    for dim in (0, 1, 2, -2):
        got = pt.entmax15(X, dim=dim)
        rows = X.movedim(dim, -1).reshape(-1, X.shape[dim])
        want = pt.entmax15(rows).reshape(X.movedim(dim, -1).shape).movedim(-1, dim)
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    T = X.transpose(0, 2)  # non-contiguous
    torch.testing.assert_close(pt.sparsemax(T), pt.sparsemax(T.contiguous()), rtol=0, atol=0)
    v = pt.entmax_bisect(X[0, 0], 1.5)  # 1-D
    torch.testing.assert_close(v, pt.entmax15(X[0, 0]), rtol=0, atol=1e-15)
    assert pt.entmax15(X.float()).dtype == torch.float32


def test_no_copy_when_contiguous() -> None:
    from pyfastnn.torch import _rows

    X = _x(4, 5, grad=True)
    assert _rows(X, 1).data_ptr() == X.data_ptr()
    assert _rows(X.view(2, 2, 5), 2).data_ptr() == X.data_ptr()
    assert _rows(X.t(), 0).data_ptr() == X.data_ptr()  # dim 0 of the transpose is last in memory


def test_errors() -> None:
    X = _x(2, 3)
    with pytest.raises(ValueError, match="^X: expected a CPU tensor"):
        pt.sparsemax(torch.empty(2, 3, device="meta"))
    with pytest.raises(TypeError, match="^X:"):
        pt.entmax15(torch.ones(2, 3, dtype=torch.int64))
    with pytest.raises(TypeError, match="^X:"):
        pt.entmax15(np.ones((2, 3)))
    with pytest.raises(ValueError, match="^dim:"):
        pt.entmax15(X, dim=2)
    for alpha in (1.0, 0.3, float("nan"), torch.tensor(0.9), torch.tensor([[1.5], [1.0]])):
        with pytest.raises(ValueError, match="^alpha:"):
            pt.entmax_bisect(X, alpha)
    with pytest.raises(ValueError, match="^alpha:"):
        pt.EntmaxBisectLoss(alpha=1.0)
    with pytest.raises(ValueError, match="^target:"):
        pt.entmax15_loss(X, torch.tensor([0, 3]))
    with pytest.raises(TypeError, match="^target:"):
        pt.sparsemax_loss(X, torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="^b:"):
        pt.relumax(X, 0.0)


def test_nan_rows_stay_nan() -> None:
    X = torch.tensor([[0.0, float("nan"), 1.0], [0.0, 1.0, 2.0]], dtype=F64)
    P = pt.entmax15(X)
    assert torch.isnan(P[0]).all() and torch.isfinite(P[1]).all()


@pytest.fixture
def one_torch_thread():
    """torch's backward threads spin against other processes on a loaded 2-core
    machine (4x slower here); the test is about learning, not threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("mapping", ["sparsemax", "entmax15"])
def test_sparse_attention_learns_a_toy_task(mapping, one_torch_thread) -> None:
    """Which of L tokens is flagged? The value of that token is the class: a model
    must attend to the flagged token. A one-head attention with a sparse map learns it."""
    torch.manual_seed(0)
    L, C, N = 6, 4, 256
    values = torch.randint(0, C, (N, L))
    flag = torch.randint(0, L, (N,))
    flagged = (torch.arange(L)[None, :] == flag[:, None]).double()[:, :, None]
    tokens = torch.cat([torch.nn.functional.one_hot(values, C).double(), flagged], dim=-1)
    target = values[torch.arange(N), flag]
    attend = pt.Sparsemax(dim=1) if mapping == "sparsemax" else pt.Entmax15(dim=1)

    class Model(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.score = torch.nn.Linear(C + 1, 1).double()
            self.out = torch.nn.Linear(C + 1, C).double()

        def forward(self, x):
            weights = attend(self.score(x).squeeze(-1))  # (N, L), sparse
            return self.out((weights[:, :, None] * x).sum(1))

    model = Model()
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    loss_fn = pt.Entmax15Loss() if mapping == "entmax15" else pt.SparsemaxLoss()
    for _ in range(80):
        opt.zero_grad()
        loss = loss_fn(model(tokens), target)
        loss.backward()
        opt.step()
    acc = (model(tokens).argmax(1) == target).double().mean().item()
    assert acc > 0.95, acc


@pytest.mark.filterwarnings("ignore:Dynamo does not know how to trace")
def test_torch_compile_runs_the_functions_eagerly() -> None:
    X = _x(3, 5, grad=False)
    f = torch.compile(lambda x: pt.entmax15(x * 2) + 1, backend="eager")
    torch.testing.assert_close(f(X), pt.entmax15(X * 2) + 1)
