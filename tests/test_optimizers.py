"""The optimisers (SGD with momentum or Nesterov momentum, Adam, AdamW, RMSprop)
and gradient clipping by global norm, in every backend.

- each rule's step against its formula written out per element;
- the NumPy twins against torch.optim on the same gradients;
- loop, vector and native agree over a few epochs (batch 1 and a partial last
  batch, dropout, l2, with and without clipping), and the learning rate is
  read from the optimiser on every epoch;
- the native fused steps with clipping (deferred at batch 1, one pass after
  the backward otherwise) equal the unfused reference_step;
- clipping: the clipped gradient's norm is at most c, and below c nothing changes;
- bad hyper-parameters raise ValueError naming the argument.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

import pyfastnn
from pyfastnn import MLP, _native
from pyfastnn._targets import Target
from pyfastnn.backends import BACKENDS, EpochPlan
from pyfastnn.optim import (
    DEFAULT_LR,
    SGD,
    Adam,
    AdamW,
    RMSprop,
    check_clip_norm,
    clip_gradient,
    make_optimizer,
)

OPTIMIZERS = {
    "sgd": SGD(0.05),
    "momentum": SGD(0.05, momentum=0.9),
    "nesterov": SGD(0.05, momentum=0.9, nesterov=True),
    "adam": Adam(0.01),
    "adamw": AdamW(0.01, weight_decay=0.1),
    "rmsprop": RMSprop(0.01, alpha=0.9),
    "rmsprop-momentum": RMSprop(0.01, alpha=0.9, momentum=0.5),
}


def blobs(n: int, d: int, k: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=3.0, size=(k, d))
    y = rng.integers(0, k, size=n)
    return centers[y] + rng.normal(size=(n, d)), y


# ---- each rule against its formula, element by element ---------------------------


def formula_steps(name: str, opt, p0: np.ndarray, grads: list[np.ndarray]) -> np.ndarray:
    """The rules written out per element in Python floats (PyTorch's docs)."""
    p = [float(x) for x in p0]
    n = len(p)
    s1, s2 = [0.0] * n, [0.0] * n
    for t, g in enumerate(grads, start=1):
        for i in range(n):
            gi = float(g[i])
            if name == "sgd":
                p[i] -= opt.lr * gi
            elif name in ("momentum", "nesterov"):
                s1[i] = opt.momentum * s1[i] + gi
                d = gi + opt.momentum * s1[i] if name == "nesterov" else s1[i]
                p[i] -= opt.lr * d
            elif name in ("adam", "adamw"):
                if name == "adamw":
                    p[i] *= 1 - opt.lr * opt.weight_decay
                s1[i] = opt.beta1 * s1[i] + (1 - opt.beta1) * gi
                s2[i] = opt.beta2 * s2[i] + (1 - opt.beta2) * gi * gi
                m_hat = s1[i] / (1 - opt.beta1**t)
                v_hat = s2[i] / (1 - opt.beta2**t)
                p[i] -= opt.lr * m_hat / (math.sqrt(v_hat) + opt.eps)
            else:
                s2[i] = opt.alpha * s2[i] + (1 - opt.alpha) * gi * gi
                step = gi / (math.sqrt(s2[i]) + opt.eps)
                if opt.momentum:
                    s1[i] = opt.momentum * s1[i] + step
                    step = s1[i]
                p[i] -= opt.lr * step
    return np.array(p)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_step_matches_the_written_out_formula(name) -> None:
    rng = np.random.default_rng(3)
    opt = OPTIMIZERS[name]
    p0 = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(4)]
    params = p0.copy()
    state = opt.init_state(params.size, np.float64)
    for t, g in enumerate(grads, start=1):
        opt.step(params, g.copy(), state, t)
    expected = formula_steps(name, opt, p0, grads)
    np.testing.assert_allclose(params, expected, rtol=1e-13, atol=1e-15)
    assert not np.allclose(params, p0)


def test_nesterov_and_momentum_in_closed_form() -> None:
    """Two steps from 0 at lr 0.1, momentum 0.9: momentum gives
    -0.19 g1 - 0.1 g2; Nesterov -0.271 g1 - 0.19 g2."""
    g1, g2 = np.array([1.0, -2.0]), np.array([0.5, 0.25])
    expected = {False: -0.19 * g1 - 0.1 * g2, True: -0.271 * g1 - 0.19 * g2}
    for nesterov, want in expected.items():
        opt = SGD(0.1, momentum=0.9, nesterov=nesterov)
        p = np.zeros(2)
        state = opt.init_state(2, np.float64)
        for t, g in enumerate((g1, g2), 1):
            opt.step(p, g, state, t)
        np.testing.assert_allclose(p, want, rtol=1e-14)


def test_adamw_decay_is_decoupled_from_the_moments() -> None:
    """With a zero gradient AdamW only shrinks: p (1 - lr wd)^t; Adam stays put."""
    p = np.array([1.0, -2.0, 3.0])
    a, w = p.copy(), p.copy()
    adam, adamw = Adam(0.1), AdamW(0.1, weight_decay=0.5)
    sa, sw = adam.init_state(3, np.float64), adamw.init_state(3, np.float64)
    for t in range(1, 4):
        adam.step(a, np.zeros(3), sa, t)
        adamw.step(w, np.zeros(3), sw, t)
    np.testing.assert_array_equal(a, p)
    np.testing.assert_allclose(w, p * (1 - 0.05) ** 3, rtol=1e-15)
    np.testing.assert_array_equal(sw["m"], 0.0)


# ---- against torch.optim ---------------------------------------------------------


def torch_optimizer(name: str, opt, params):
    torch = pytest.importorskip("torch")
    if name in ("sgd", "momentum", "nesterov"):
        return torch.optim.SGD(params, lr=opt.lr, momentum=opt.momentum, nesterov=opt.nesterov)
    if name == "adam":
        return torch.optim.Adam(params, lr=opt.lr, betas=(opt.beta1, opt.beta2), eps=opt.eps)
    if name == "adamw":
        return torch.optim.AdamW(
            params,
            lr=opt.lr,
            betas=(opt.beta1, opt.beta2),
            eps=opt.eps,
            weight_decay=opt.weight_decay,
        )
    return torch.optim.RMSprop(
        params, lr=opt.lr, alpha=opt.alpha, eps=opt.eps, momentum=opt.momentum
    )


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_steps_match_torch_optim(name) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    opt = OPTIMIZERS[name]
    p0 = rng.standard_normal(50)
    grads = [rng.standard_normal(50) * 0.3 for _ in range(6)]
    ours = p0.copy()
    state = opt.init_state(ours.size, np.float64)
    theirs = torch.tensor(p0.copy(), dtype=torch.float64, requires_grad=True)
    topt = torch_optimizer(name, opt, [theirs])
    for t, g in enumerate(grads, start=1):
        opt.step(ours, g.copy(), state, t)
        theirs.grad = torch.tensor(g, dtype=torch.float64)
        topt.step()
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-13)


# ---- backends agree --------------------------------------------------------------


def fit_params(backend: str, opt, batch_size: int, clip_norm, epochs: int = 3, **options):
    X, y = blobs(23, 4, 3)
    model = MLP([4, 6, 5, 3], "tanh", dtype="float64", backend=backend, seed=2)
    history = model.fit(
        X,
        y,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=opt,
        clip_norm=clip_norm,
        seed=7,
        train_metrics=False,
        **options,
    )
    return model.params, [e.train_loss for e in history.epochs]


@pytest.mark.parametrize("clip_norm", [None, 0.2], ids=["plain", "clipped"])
@pytest.mark.parametrize("batch_size", [1, 5], ids=["batch1", "partial-last"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_backends_agree(name, batch_size, clip_norm) -> None:
    opt = OPTIMIZERS[name]
    options = dict(dropout=0.2, l2=1e-3)
    native, native_loss = fit_params("native", opt, batch_size, clip_norm, **options)
    for backend in ("vector", "loop"):
        params, loss = fit_params(backend, opt, batch_size, clip_norm, **options)
        np.testing.assert_allclose(native, params, rtol=1e-10, atol=1e-12, err_msg=backend)
        np.testing.assert_allclose(native_loss, loss, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("batch_size", [1, 5])
@pytest.mark.parametrize("name", ["nesterov", "adamw", "rmsprop-momentum"])
def test_clipping_changes_the_steps(name, batch_size) -> None:
    """0.2 is below the gradients' norm here: the clipped run differs; a
    threshold above every norm changes nothing (to rounding: at batch 5 the
    clipped step is one pass after the backward instead of fused into it)."""
    opt = OPTIMIZERS[name]
    plain, _ = fit_params("native", opt, batch_size, None, epochs=1)
    clipped, _ = fit_params("native", opt, batch_size, 0.2, epochs=1)
    assert not np.allclose(plain, clipped, rtol=1e-6)
    large, _ = fit_params("native", opt, batch_size, 1e6, epochs=1)
    np.testing.assert_allclose(plain, large, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("backend", ["native", "vector"])
def test_learning_rate_is_read_on_every_epoch(backend) -> None:
    """train_epoch with a new lr each epoch (as a schedule does) equals the
    loop backend doing the same, and differs from the constant lr."""
    X, y = blobs(20, 4, 3)
    spec = MLP([4, 5, 3], dtype="float64", backend="loop", seed=1).spec
    p0 = MLP([4, 5, 3], dtype="float64", seed=1).params
    target = Target(labels=y.astype(np.int64), values=None)
    results = {}
    for run, lrs in (("loop", (0.3, 0.03, 0.003)), (backend, (0.3, 0.03, 0.003)),
                     ("constant", (0.3, 0.3, 0.3))):  # fmt: skip
        be = BACKENDS["loop" if run == "loop" else backend]
        params = p0.copy()
        opt = Adam(0.3)
        state = opt.init_state(params.size, np.float64)
        grad = np.zeros_like(params)
        for epoch, lr in enumerate(lrs):
            plan = EpochPlan(4, steps_before=epoch * 5, epoch=epoch, clip_norm=1.0)
            be.train_epoch(
                spec, params, grad, X, target, None, plan, dataclasses.replace(opt, lr=lr), state
            )
        results[run] = params
    np.testing.assert_allclose(results[backend], results["loop"], rtol=1e-10, atol=1e-12)
    assert not np.allclose(results[backend], results["constant"])


# ---- native fused steps with clipping == reference_step --------------------------

NATIVE = {  # name: OptimizerSpec keywords, state arrays
    "sgd": (dict(kind="sgd"), ()),
    "nesterov": (dict(kind="sgd", momentum=0.9, nesterov=True), ("velocity",)),
    "adam": (dict(kind="adam"), ("m", "v")),
    "adamw": (dict(kind="adamw", weight_decay=0.1), ("m", "v")),
    "rmsprop": (dict(kind="rmsprop", alpha=0.9), ("square_avg",)),
    "rmsprop-momentum": (
        dict(kind="rmsprop", alpha=0.9, momentum=0.5),
        ("square_avg", "velocity"),
    ),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("penalty", [(0.0, 0.0), (1e-3, 1e-2)], ids=["plain", "l1-l2"])
@pytest.mark.parametrize("batch_size", [1, 8], ids=["deferred", "fused"])
@pytest.mark.parametrize("name", list(NATIVE))
def test_fused_clipped_steps_equal_the_reference(name, batch_size, penalty, dtype) -> None:
    rng = np.random.default_rng(1)
    sizes, n, clip = [6, 9, 7, 3], 30, 0.5
    X = rng.standard_normal((n, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], n).astype(np.int64)
    net = (_native.Network32 if dtype == np.float32 else _native.Network64)(sizes, 1, 0.0, 0)
    P = net.num_params
    p0 = (rng.standard_normal(P) * 0.5).astype(dtype)
    keywords, names = NATIVE[name]
    opt = _native.OptimizerSpec(lr=0.05, **keywords)
    l1, l2 = penalty
    fused = {"params": p0.copy(), **{s: np.zeros(P, dtype) for s in names}}
    ref = {"params": p0.copy(), **{s: np.zeros(P, dtype) for s in names}}
    grad = np.zeros(P, dtype)
    norms = []
    steps = 0
    for epoch in range(2):
        order = np.random.default_rng(epoch).permutation(n).astype(np.int64)
        spec = _native.EpochSpec(batch_size, l1, l2, 0.25, seed=7, epoch=epoch,
                                 steps_before=steps, clip_norm=clip)  # fmt: skip
        _, batches, failed = net.train_epoch(fused["params"], grad, X, y, order, spec, opt, fused)
        assert failed == -1
        for b, lo in enumerate(range(0, n, batch_size)):
            rows = order[lo : lo + batch_size]
            before = ref["params"].copy()
            net.loss_and_grad(before, X[rows], y[rows], l1, l2, grad, None, 0.25, 7, epoch, b)
            norms.append(float(np.linalg.norm(grad.astype(np.float64))))
            net.reference_step(
                ref["params"], grad, X[rows], y[rows], l1=l1, l2=l2, dropout=0.25, seed=7,
                epoch=epoch, step=b, t=steps + b + 1, optimizer=opt, state=ref, clip_norm=clip,
            )  # fmt: skip
        steps += batches
    assert max(norms) > clip  # clipping took part
    rtol, atol = (1e-12, 1e-14) if dtype == np.float64 else (1e-4, 1e-5)
    for key in fused:
        np.testing.assert_allclose(fused[key], ref[key], rtol=rtol, atol=atol, err_msg=key)


@pytest.mark.parametrize("batch_size", [1, 64])
def test_clipped_native_epochs_do_not_depend_on_the_thread_count(batch_size) -> None:
    """The norm's sum runs in fixed pieces: the same bits on 1 and 2 threads
    (a network of ~100K parameters, above the parallel thresholds)."""
    X, y = blobs(128 if batch_size > 1 else 6, 300, 4)
    out = []
    before = pyfastnn.get_num_threads()
    try:
        for threads in (1, 2):
            pyfastnn.set_num_threads(threads)
            model = MLP([300, 300, 4], dtype="float64", seed=0)
            model.fit(X, y, epochs=1, batch_size=batch_size, optimizer="adamw", clip_norm=0.1,
                      l1=1e-5, train_metrics=False)  # fmt: skip
            out.append(model.params)
    finally:
        pyfastnn.set_num_threads(before)
    assert out[0].size > 2**16
    np.testing.assert_array_equal(out[0], out[1])


# ---- clipping itself -------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_clip_gradient_bounds_the_norm(dtype) -> None:
    rng = np.random.default_rng(5)
    g = (rng.standard_normal(1000) * 3).astype(dtype)
    before = g.copy()
    norm = clip_gradient(g, 2.0)
    assert norm == pytest.approx(np.linalg.norm(before.astype(np.float64)), rel=1e-6)
    assert np.linalg.norm(g.astype(np.float64)) <= 2.0 * (1 + 1e-6)
    assert np.linalg.norm(g.astype(np.float64)) == pytest.approx(2.0, rel=1e-6)
    np.testing.assert_allclose(g, before * (2.0 / norm), rtol=1e-6)  # direction kept
    small = before / norm  # norm 1 < 2: unchanged
    kept = small.copy()
    clip_gradient(kept, 2.0)
    np.testing.assert_array_equal(kept, small)


def test_native_clipped_sgd_step_has_norm_at_most_c() -> None:
    """One batch of all rows, plain SGD: (p_before - p_after) / lr is the
    clipped gradient; its norm is c when ||g|| > c, and g itself when below."""
    X, y = blobs(16, 4, 3)
    for clip, expect_clipped in ((0.05, True), (1e3, False)):
        model = MLP([4, 8, 3], dtype="float64", seed=3)
        p0 = model.params.copy()
        gflat = model.loss_and_grad(X, y, l2=1e-2)[1].flat.copy()
        model.fit(X, y, epochs=1, batch_size=16, lr=0.1, l2=1e-2, clip_norm=clip,
                  shuffle=False, train_metrics=False)  # fmt: skip
        step = (p0 - model.params) / 0.1
        if expect_clipped:
            assert np.linalg.norm(gflat) > clip
            assert np.linalg.norm(step) == pytest.approx(clip, rel=1e-10)
            np.testing.assert_allclose(step, gflat * clip / np.linalg.norm(gflat), rtol=1e-9)
        else:
            np.testing.assert_allclose(step, gflat, rtol=1e-9, atol=1e-12)


# ---- names, defaults and bad input -----------------------------------------------


def test_default_learning_rates_come_from_one_table() -> None:
    assert set(DEFAULT_LR) == {"sgd", "adam", "adamw", "rmsprop"}
    for name, cls in (("sgd", SGD), ("adam", Adam), ("adamw", AdamW), ("rmsprop", RMSprop)):
        made = make_optimizer(name)
        assert type(made) is cls
        assert made.lr == DEFAULT_LR[name] == cls().lr
        assert make_optimizer(name.upper(), lr=0.5).lr == 0.5
    custom = RMSprop(0.1, momentum=0.3)
    assert make_optimizer(custom) is custom
    assert make_optimizer(custom, lr=0.2) == RMSprop(0.2, momentum=0.3)
    assert pyfastnn.AdamW is AdamW and pyfastnn.RMSprop is RMSprop


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: SGD(0.1, nesterov=True), "nesterov"),
        (lambda: SGD(0.1, momentum=0.0, nesterov=True), "nesterov"),
        (lambda: SGD(-0.1), "lr"),
        (lambda: SGD(0.1, momentum=1.0), "momentum"),
        (lambda: AdamW(weight_decay=-0.1), "weight_decay"),
        (lambda: AdamW(weight_decay=float("nan")), "weight_decay"),
        (lambda: AdamW(beta1=1.0), "beta1"),
        (lambda: AdamW(lr=0.0), "lr"),
        (lambda: RMSprop(alpha=1.0), "alpha"),
        (lambda: RMSprop(alpha=-0.1), "alpha"),
        (lambda: RMSprop(eps=0.0), "eps"),
        (lambda: RMSprop(momentum=-0.5), "momentum"),
        (lambda: make_optimizer("adagrad"), "optimizer"),
        (lambda: check_clip_norm(0.0), "clip_norm"),
        (lambda: check_clip_norm(-1.0), "clip_norm"),
        (lambda: check_clip_norm(float("nan")), "clip_norm"),
        (lambda: check_clip_norm(float("inf")), "clip_norm"),
    ],
)
def test_bad_hyper_parameters_name_the_argument(make, name) -> None:
    with pytest.raises(ValueError, match=name):
        make()


def test_bad_types_raise_type_error() -> None:
    with pytest.raises(TypeError, match="nesterov"):
        SGD(0.1, momentum=0.9, nesterov="yes")
    with pytest.raises(TypeError, match="clip_norm"):
        check_clip_norm("1.0")
    with pytest.raises(TypeError, match="optimizer"):
        make_optimizer(3)


@pytest.mark.parametrize("clip_norm", [0.0, -2.0, float("nan")])
def test_fit_rejects_bad_clip_norm_before_training(clip_norm) -> None:
    X, y = blobs(10, 3, 2)
    model = MLP([3, 4, 2], dtype="float64")
    p0 = model.params.copy()
    with pytest.raises(ValueError, match="clip_norm"):
        model.fit(X, y, clip_norm=clip_norm)
    np.testing.assert_array_equal(model.params, p0)


@pytest.mark.parametrize(
    ("keywords", "name"),
    [
        (dict(kind="sgd", nesterov=True), "nesterov"),
        (dict(kind="adamw", weight_decay=-1.0), "weight_decay"),
        (dict(kind="rmsprop", alpha=1.5), "alpha"),
        (dict(kind="adagrad"), "optimizer"),
    ],
)
def test_native_specs_check_their_arguments(keywords, name) -> None:
    with pytest.raises(ValueError, match=name):
        _native.OptimizerSpec(lr=0.1, **keywords)


@pytest.mark.parametrize("clip_norm", [0.0, -1.0, float("nan"), float("inf")])
def test_native_epoch_spec_checks_clip_norm(clip_norm) -> None:
    with pytest.raises(ValueError, match="clip_norm"):
        _native.EpochSpec(4, clip_norm=clip_norm)
    assert _native.EpochSpec(4).clip_norm is None
    assert _native.EpochSpec(4, clip_norm=2.5).clip_norm == 2.5


def test_native_rmsprop_needs_its_state() -> None:
    net = _native.Network64([3, 4, 2], 1, 0.0, 0)
    P = net.num_params
    opt = _native.OptimizerSpec("rmsprop", lr=0.1, momentum=0.5)
    spec = _native.EpochSpec(2)
    X, y = np.zeros((4, 3)), np.zeros(4, np.int64)
    with pytest.raises(ValueError, match="square_avg: required"):
        net.train_epoch(np.zeros(P), np.zeros(P), X, y, None, spec, opt, {})
    with pytest.raises(ValueError, match="velocity: required"):
        net.train_epoch(np.zeros(P), np.zeros(P), X, y, None, spec, opt,
                        {"square_avg": np.zeros(P)})  # fmt: skip


# ---- a native fit against a PyTorch training loop --------------------------------


@pytest.mark.parametrize("name", ["nesterov", "adamw", "rmsprop-momentum"])
@pytest.mark.parametrize("clip_norm", [None, 0.3], ids=["plain", "clipped"])
def test_native_fit_matches_a_torch_training_loop(name, clip_norm) -> None:
    """The same minibatches (storage order, batch 4, a partial last one) through
    torch: cross-entropy on the logits, loss + l2 sum W^2, the global norm
    clipped as g min(1, c / ||g||) (clip_grad_norm_ adds 1e-6 to the norm, so
    it is written out), then torch.optim's step."""
    torch = pytest.importorskip("torch")
    opt = OPTIMIZERS[name]
    X, y = blobs(18, 4, 3)
    l2 = 1e-3
    model = MLP([4, 6, 3], "tanh", dtype="float64", seed=5)
    module = model.to_torch()[:-1]  # logits: drop the Softmax
    model.fit(X, y, epochs=2, batch_size=4, optimizer=opt, l2=l2, clip_norm=clip_norm,
              shuffle=False, train_metrics=False)  # fmt: skip
    params = list(module.parameters())
    weights = [p for p in params if p.dim() == 2]
    topt = torch_optimizer(name, opt, params)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    norms = []
    for _ in range(2):
        for lo in range(0, len(X), 4):
            topt.zero_grad()
            logits = module(Xt[lo : lo + 4])
            loss = torch.nn.functional.cross_entropy(logits, yt[lo : lo + 4])
            loss = loss + l2 * sum((w * w).sum() for w in weights)
            loss.backward()
            norm = math.sqrt(sum(float((p.grad * p.grad).sum()) for p in params))
            norms.append(norm)
            if clip_norm is not None and norm > clip_norm:
                for p in params:
                    p.grad.mul_(clip_norm / norm)
            topt.step()
    if clip_norm is not None:
        assert max(norms) > clip_norm
    theirs = MLP.from_torch(module, output="softmax").params
    np.testing.assert_allclose(model.params, theirs, rtol=1e-11, atol=1e-13)
