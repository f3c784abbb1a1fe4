"""PyTorch in and out: every model kind x activation x output x dtype through
``to_torch`` and back through ``MLP.from_torch``; hand-built torch stacks in;
fine-tuning in PyTorch keeps a trained model's accuracy. Skipped without torch."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from _interop_helpers import DTYPES, MODEL_CASES, case_id, inputs, make_model

import pyfastnn

torch = pytest.importorskip("torch")
nn = torch.nn
torch_io = pytest.importorskip("pyfastnn.interop.torch_io")

# rounding of a small network whose logits reach ~50 (sparse maps subtract them)
TOLERANCE = {"float32": 1e-5, "float64": 1e-12}


@pytest.fixture(autouse=True)
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # the machine is shared; the networks are tiny
    yield
    torch.set_num_threads(before)


def _same_unused_b(spec, other):
    """``spec`` with ``other``'s relumax_b when the output is not relumax (unused)."""
    return spec if spec.output == "relumax" else replace(spec, relumax_b=other.relumax_b)


def _torch_forward(module, X: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return module(torch.from_numpy(X)).numpy()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MODEL_CASES, ids=case_id)
def test_round_trip(case, dtype):
    model = make_model(*case, dtype)
    module = model.to_torch()
    X = inputs(32, model.n_inputs, dtype)
    out = _torch_forward(module, X)
    assert out.dtype == np.dtype(dtype)
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(out, model.forward(X), rtol=tol, atol=tol)
    back = pyfastnn.MLP.from_torch(module, loss=model.loss_name)
    assert back.spec == _same_unused_b(model.spec, back.spec)
    assert np.array_equal(back.params, model.params)
    back = type(model).from_torch(module) if case[0] != "mlp" else back
    assert type(back) is type(model)
    assert np.array_equal(back.params, model.params)


@pytest.mark.parametrize("dtype", DTYPES)
def test_hand_built_stacks(dtype):
    """Modules as a PyTorch user writes them, Dropout and bias=False included."""
    torch.manual_seed(0)
    tdtype = getattr(torch, dtype)
    stacks = [
        (nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3)), "softmax"),
        (nn.Sequential(nn.Linear(5, 8), nn.GELU(), nn.Linear(8, 3), nn.Softmax(dim=1)), None),
        (nn.Sequential(nn.Linear(5, 4, bias=False), nn.Linear(4, 1), nn.Sigmoid()), None),
        (
            nn.Sequential(
                nn.Linear(5, 6),
                nn.LeakyReLU(0.3),
                nn.Linear(6, 6),
                nn.LeakyReLU(0.3),
                nn.Linear(6, 2),
            ),
            None,
        ),  # fmt: skip
        (nn.Sequential(nn.Linear(5, 6), nn.Softplus(), nn.Linear(6, 3)), None),
    ]
    X = inputs(16, 5, dtype)
    for module, output in stacks:
        module = module.to(tdtype).eval()
        model = pyfastnn.MLP.from_torch(module, output=output)
        expected = _torch_forward(module, X)
        if output == "softmax":
            expected = torch.softmax(torch.from_numpy(expected), dim=-1).numpy()
        np.testing.assert_allclose(model.forward(X), expected, rtol=1e-5, atol=1e-6)
    assert model.activation == "softplus" and model.output == "identity"


@pytest.mark.parametrize(
    "module, message",
    [
        (lambda: nn.Linear(3, 2), "nn.Sequential"),
        (lambda: nn.Sequential(nn.ReLU()), "no nn.Linear"),
        (lambda: nn.Sequential(nn.ReLU(), nn.Linear(3, 2)), r"module\[0\]"),
        (lambda: nn.Sequential(nn.Linear(3, 4), nn.Linear(5, 2)), r"module\[1\].*in_features"),
        (lambda: nn.Sequential(nn.Linear(3, 4), nn.ELU(), nn.Linear(4, 2)), r"module\[1\]"),
        (lambda: nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Tanh(), nn.Linear(4, 2)), r"\[2\]"),
        (
            lambda: nn.Sequential(
                nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2)
            ),
            "different activations",
        ),  # fmt: skip
        (lambda: nn.Sequential(nn.Linear(3, 2), nn.LogSoftmax(dim=-1)), "output map"),
        (lambda: nn.Sequential(nn.Linear(3, 2), nn.Softmax(dim=0)), "output map"),
        (lambda: nn.Sequential(nn.Linear(3, 4), nn.GELU("tanh"), nn.Linear(4, 2)), "approximate"),
        (lambda: nn.Sequential(nn.Linear(3, 4), nn.Softplus(beta=2), nn.Linear(4, 2)), "beta"),
        (lambda: nn.Sequential(nn.Linear(3, 4).double(), nn.Linear(4, 2)), "mixed dtypes"),
        (lambda: nn.Sequential(nn.Linear(3, 4).half()), "float32 or float64"),
    ],
)
def test_unsupported_modules_are_named(module, message):
    with pytest.raises((TypeError, ValueError), match=message):
        pyfastnn.MLP.from_torch(module())


def test_output_must_agree_with_the_module():
    module = nn.Sequential(nn.Linear(3, 2), nn.Sigmoid())
    with pytest.raises(ValueError, match="output"):
        pyfastnn.MLP.from_torch(module, output="softmax")


def test_sparse_output_modules_train_in_torch():
    """Sparsemax/Relumax modules give probabilities and gradients (autograd)."""
    z = torch.tensor([[3.0, 1.0, -2.0], [0.1, 0.2, 0.3]], dtype=torch.float64, requires_grad=True)
    for m in (torch_io.Sparsemax(), torch_io.Relumax(0.5)):
        p = m(z)
        assert torch.allclose(p.sum(dim=1), torch.ones(2, dtype=torch.float64))
        assert torch.autograd.gradcheck(lambda x, m=m: m(x), (z.detach() + 0.01).requires_grad_())
    assert torch_io.Sparsemax()(z)[0].tolist() == [1.0, 0.0, 0.0]


def test_fine_tune_in_torch_keeps_accuracy():
    """Train in pyfastnn, fine-tune in PyTorch, bring back: same forward, accuracy kept."""
    from pyfastnn.data import synthetic

    X, y = synthetic.make_moons(800, noise=0.2, seed=1)
    X_test, y_test = X[600:].astype(np.float32), y[600:]
    X, y = X[:600].astype(np.float32), y[:600]
    model = pyfastnn.MLP([2, 16, 2], "tanh", "softmax", dtype="float32", seed=0)
    model.fit(X, y, epochs=30, optimizer="adam", lr=0.01, seed=0)
    before = model.score(X, y)
    assert before > 0.85

    module = model.to_torch()
    opt = torch.optim.Adam(module.parameters(), lr=1e-3)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    for _ in range(100):
        opt.zero_grad()
        loss = nn.functional.nll_loss(torch.log(module(Xt) + 1e-12), yt)
        loss.backward()
        opt.step()
    back = pyfastnn.MLP.from_torch(module)
    assert not np.array_equal(back.params, model.params)  # torch did change them
    np.testing.assert_allclose(back.forward(X), _torch_forward(module, X), rtol=1e-5, atol=1e-6)
    assert back.score(X, y) >= before - 0.01
    assert back.score(X_test, y_test) >= model.score(X_test, y_test) - 0.02


def test_linear_model_classes():
    """LogisticRegression/Perceptron.from_torch build their own class, one layer only."""
    lr = pyfastnn.LogisticRegression.from_torch(nn.Sequential(nn.Linear(4, 3), nn.Softmax(-1)))
    assert type(lr) is pyfastnn.LogisticRegression and lr.layer_sizes == (4, 3)
    logits = nn.Sequential(nn.Linear(4, 3).double())
    lr = pyfastnn.LogisticRegression.from_torch(logits, output="softmax")
    assert lr.dtype == np.float64
    assert type(pyfastnn.Perceptron.from_torch(logits)) is pyfastnn.Perceptron
    with pytest.raises(ValueError, match="'softmax' outputs, got 'identity'"):
        pyfastnn.LogisticRegression.from_torch(logits)
    with pytest.raises(ValueError, match="one layer"):
        pyfastnn.Perceptron.from_torch(nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 3)))
