"""Learning-rate schedules: each one's values against its formula or against the
library it copies (PyTorch's schedulers, scikit-learn's optimiser classes fed the
same loss sequence), and through ``fit`` in the three backends."""

from __future__ import annotations

import inspect
import math
import types

import numpy as np
import pytest

from pyfastnn import MLP, SGD, Adam, schedules
from pyfastnn.schedules import (
    Adaptive,
    Constant,
    CosineWarmup,
    ExponentialDecay,
    InvScaling,
    ReduceOnPlateau,
    StepDecay,
)
from pyfastnn.training import EpochRecord

BACKENDS = ("loop", "vector", "native")


def rates(schedule, n: int, base: float = 0.1, records=None, n_samples: int = 10) -> list[float]:
    """The rates of ``n`` epochs, calling ``update`` after each as fit does."""
    state = schedule.init_state()
    out = []
    for e in range(n):
        out.append(schedule.lr(e, base, state))
        record = records[e] if records is not None else EpochRecord(e + 1, 1.0, 0.0)
        schedule.update(state, record, n_samples)
    return out


def loss_records(losses, val=False) -> list[EpochRecord]:
    if val:
        return [EpochRecord(i + 1, 9.0, 0.0, val_loss=v) for i, v in enumerate(losses)]
    return [EpochRecord(i + 1, v, 0.0) for i, v in enumerate(losses)]


def plateau_losses(n: int = 80, seed: int = 0, period: int = 13) -> list[float]:
    """Losses that fall, stall for ``period`` epochs and fall again (ties and
    near-ties included)."""
    rng = np.random.default_rng(seed)
    out, value = [], 1.0
    for i in range(n):
        if (i // period) % 2 == 0:
            value *= rng.uniform(0.9, 0.99)
        out.append(value * (1 + rng.choice([0.0, 1e-6, 2e-4, 0.05])))
    return out


# ---- the formulas ------------------------------------------------------------


def test_constant_step_and_exponential_follow_their_formulas() -> None:
    assert rates(Constant(), 5, base=0.3) == [0.3] * 5
    assert rates(StepDecay(3, gamma=0.5), 8) == [0.1 * 0.5 ** (e // 3) for e in range(8)]
    assert rates(ExponentialDecay(0.9), 6) == [0.1 * 0.9**e for e in range(6)]


def test_step_and_exponential_agree_with_pytorch() -> None:
    torch = pytest.importorskip("torch")
    for ours, make in [
        (StepDecay(4, gamma=0.3), lambda o: torch.optim.lr_scheduler.StepLR(o, 4, gamma=0.3)),
        (ExponentialDecay(0.8), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.8)),
    ]:
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        sched = make(opt)
        theirs = []
        for _ in range(13):
            theirs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        np.testing.assert_allclose(rates(ours, 13), theirs, rtol=1e-12)


def test_cosine_warmup_rises_linearly_then_follows_half_a_cosine() -> None:
    s = CosineWarmup(total_epochs=12, warmup_epochs=3, min_lr=0.01)
    lr = rates(s, 15, base=0.5)
    assert lr[:3] == pytest.approx([0.5 / 3, 1.0 / 3, 0.5])
    for e in range(3, 15):
        p = min(1.0, (e - 3) / 9)
        assert lr[e] == pytest.approx(0.01 + 0.49 * 0.5 * (1 + math.cos(math.pi * p)), abs=1e-15)
    assert lr[3] == 0.5 and lr[12] == lr[14] == pytest.approx(0.01)
    assert all(a > b for a, b in zip(lr[3:12], lr[4:13]))  # strictly falling
    # without warm-up it starts at the base rate; the midpoint is the mean
    lr = rates(CosineWarmup(10), 6, base=0.2)
    assert lr[0] == 0.2 and lr[5] == pytest.approx(0.1)


def test_reduce_on_plateau_agrees_with_pytorch() -> None:
    torch = pytest.importorskip("torch")
    losses = plateau_losses()
    for kw in [dict(), dict(factor=0.5, patience=2, threshold=1e-3, min_lr=1e-3)]:
        ours = rates(ReduceOnPlateau(**kw), len(losses), records=loss_records(losses))
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kw)
        theirs = []
        for v in losses:
            theirs.append(opt.param_groups[0]["lr"])
            sched.step(v)
        assert ours == pytest.approx(theirs, rel=1e-12)
        assert min(ours) < 0.1  # the sequence made it reduce


def test_reduce_on_plateau_watches_validation_loss_when_there_is_one() -> None:
    losses = [1.0] * 4  # flat validation loss, falling training loss
    records = [EpochRecord(i + 1, 1.0 / (i + 1), 0.0, val_loss=v) for i, v in enumerate(losses)]
    assert rates(ReduceOnPlateau(patience=1), 4, records=records) == pytest.approx(
        [0.1, 0.1, 0.1, 0.01]
    )
    # monitor="train_loss" ignores it: the training loss keeps falling
    assert rates(ReduceOnPlateau(patience=1, monitor="train_loss"), 4, records=records) == [0.1] * 4


def test_invscaling_agrees_with_scikit_learn() -> None:
    opt_mod = pytest.importorskip("sklearn.neural_network._stochastic_optimizers")
    n, power_t = 37, 0.4
    sk = opt_mod.SGDOptimizer([np.zeros(2)], 0.05, lr_schedule="invscaling", power_t=power_t)
    theirs, t = [], 0
    for _ in range(9):
        theirs.append(sk.learning_rate)
        t += n  # scikit-learn's t_: samples seen
        sk.iteration_ends(t)
    assert rates(InvScaling(power_t), 9, base=0.05, n_samples=n) == theirs
    # t0 continues from samples already seen
    assert rates(InvScaling(power_t, t0=2 * n), 3, base=0.05, n_samples=n) == theirs[2:5]


def sklearn_adaptive(values, early_stopping: bool, tol: float, n_iter_no_change: int):
    """The rates (and the epoch it stops after) of scikit-learn's own code: its
    MLP's ``_update_no_improvement_count`` on a stand-in object and its
    ``SGDOptimizer(lr_schedule="adaptive")``, in the order of ``_fit_stochastic``."""
    mlp = pytest.importorskip("sklearn.neural_network._multilayer_perceptron")
    opt_mod = pytest.importorskip("sklearn.neural_network._stochastic_optimizers")
    opt = opt_mod.SGDOptimizer([np.zeros(1)], 0.1, lr_schedule="adaptive")
    scores = iter(values)
    fake = types.SimpleNamespace(
        tol=tol,
        loss_curve_=[],
        best_loss_=np.inf,
        validation_scores_=[],
        best_validation_score_=-np.inf,
        _no_improvement_count=0,
        verbose=False,
        coefs_=[],
        intercepts_=[],
        _score=lambda X, y, sample_weight=None: next(scores),
    )
    update = mlp.BaseMultilayerPerceptron._update_no_improvement_count
    # (self, early_stopping, X_val, y_val[, sample_weight_val]) across versions
    data = (None,) * (len(inspect.signature(update).parameters) - 2)
    out = []
    for epoch, v in enumerate(values):
        out.append(opt.learning_rate)
        if not early_stopping:
            fake.loss_curve_.append(v)
        update(fake, early_stopping, *data)
        opt.iteration_ends(epoch)
        if fake._no_improvement_count > n_iter_no_change:
            if opt.trigger_stopping("", False):
                return out, epoch
            fake._no_improvement_count = 0
    return out, None


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("n_iter_no_change", [1, 3])
def test_adaptive_agrees_with_scikit_learn(early_stopping: bool, n_iter_no_change: int) -> None:
    losses = plateau_losses(120, seed=3)
    tol = 1e-3
    if early_stopping:  # scores: higher is better
        values = [1 - v for v in losses]
        records = [EpochRecord(i + 1, 9.0, 0.0, val_accuracy=v) for i, v in enumerate(values)]
        monitor = "val_accuracy"
    else:
        values, records, monitor = losses, loss_records(losses), "train_loss"
    theirs, stop = sklearn_adaptive(values, early_stopping, tol, n_iter_no_change)
    schedule = Adaptive(tol=tol, n_iter_no_change=n_iter_no_change, monitor=monitor)
    state, ours, stopped = schedule.init_state(), [], None
    for e, record in enumerate(records):
        ours.append(schedule.lr(e, 0.1, state))
        if schedule.update(state, record, 10) is not None:
            stopped = e
            break
    assert ours == theirs  # the same divisions by 5, bit for bit
    assert stopped == stop
    assert len(set(ours)) > 2  # the sequence made it divide more than once


def test_names_stand_for_documented_schedules() -> None:
    assert schedules.make_schedule(None, 10) == Constant()
    assert schedules.make_schedule("step", 10) == StepDecay(3)
    assert schedules.make_schedule("cosine", 7) == CosineWarmup(7)
    assert schedules.make_schedule("exponential", 4).gamma == pytest.approx(0.01**0.25)
    assert schedules.make_schedule("plateau", 1) == ReduceOnPlateau()
    assert schedules.make_schedule("invscaling", 1) == InvScaling()
    assert schedules.make_schedule("adaptive", 1) == Adaptive()
    assert set(schedules.NAMES) == {
        "constant", "step", "exponential", "cosine", "plateau", "invscaling", "adaptive"
    }  # fmt: skip


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: StepDecay(0), "step_size"),
        (lambda: StepDecay(2, gamma=-1.0), "gamma"),
        (lambda: ExponentialDecay(float("nan")), "gamma"),
        (lambda: CosineWarmup(5, warmup_epochs=5), "warmup_epochs"),
        (lambda: CosineWarmup(5, min_lr=-1.0), "min_lr"),
        (lambda: ReduceOnPlateau(factor=1.0), "factor"),
        (lambda: ReduceOnPlateau(monitor="accuracy"), "monitor"),
        (lambda: InvScaling(power_t=-0.5), "power_t"),
        (lambda: Adaptive(n_iter_no_change=0), "n_iter_no_change"),
        (lambda: schedules.make_schedule("linear", 3), "lr_schedule"),
    ],
)
def test_bad_schedule_parameters_are_named(make, match) -> None:
    with pytest.raises(ValueError, match=match):
        make()


# ---- through fit ---------------------------------------------------------------


def problem(n: int = 40, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    return X, y


def net(backend: str = "native", dtype: str = "float64") -> MLP:
    return MLP([4, 6, 3], "tanh", dtype=dtype, backend=backend, seed=2)


def test_fit_records_each_epochs_rate() -> None:
    X, y = problem()
    history = net().fit(X, y, epochs=6, lr=0.2, lr_schedule=StepDecay(2, gamma=0.5))
    assert history.lr == [0.2, 0.2, 0.1, 0.1, 0.05, 0.05]
    assert [e["lr"] for e in history.as_dict()["epochs"]] == history.lr
    history = net().fit(X, y, epochs=3, lr_schedule=lambda e: 0.1 / (e + 1))
    assert history.lr == [0.1, 0.05, 0.1 / 3]
    assert net().fit(X, y, epochs=2, optimizer="adam").lr == [0.001, 0.001]  # DEFAULT_LR


def test_a_constant_schedule_trains_exactly_like_a_fixed_rate() -> None:
    X, y = problem()
    a, b = net(), net()
    a.fit(X, y, epochs=3, lr=0.07, optimizer="adam")
    b.fit(X, y, epochs=3, lr=1.0, optimizer="adam", lr_schedule=lambda e: 0.07)
    np.testing.assert_array_equal(a.params, b.params)


@pytest.mark.parametrize(
    "optimizer", [SGD(lr=0.1, momentum=0.9), Adam(lr=0.01)], ids=["momentum", "adam"]
)
def test_backends_agree_under_a_changing_rate(optimizer) -> None:
    """The native epoch reads the rate of the optimiser it gets at every call."""
    X, y = problem()
    schedule = CosineWarmup(6, warmup_epochs=2)
    models = {b: net(b) for b in BACKENDS}
    for m in models.values():
        m.fit(X, y, epochs=6, batch_size=8, optimizer=optimizer, lr_schedule=schedule)
    for b in ("vector", "native"):
        np.testing.assert_allclose(models[b].params, models["loop"].params, rtol=1e-10, atol=1e-12)
    # and the schedule mattered: a constant rate ends elsewhere
    fixed = net("native")
    fixed.fit(X, y, epochs=6, batch_size=8, optimizer=optimizer)
    assert np.abs(fixed.params - models["native"].params).max() > 1e-4


def test_adaptive_can_stop_training() -> None:
    X, y = problem()
    history = net().fit(
        X, y, epochs=20, lr=1e-6, lr_schedule=Adaptive(tol=10.0, n_iter_no_change=1)
    )
    # epoch 1 sets the best; epochs 2 and 3 fail to improve: 2 > n_iter_no_change
    assert len(history.epochs) == 3 and history.stopped_early
    assert "1e-06" in history.stop_reason and "lr_schedule" in history.stop_reason
    history = net().fit(X, y, epochs=7, lr=0.1, lr_schedule=Adaptive(tol=10.0, n_iter_no_change=1))
    assert history.lr == pytest.approx([0.1, 0.1, 0.1, 0.02, 0.02, 0.004, 0.004])


@pytest.mark.parametrize(
    "schedule, error, match",
    [
        (lambda e: 0.0, ValueError, "lr_schedule.*epoch 0"),
        (lambda e: float("nan"), ValueError, "lr_schedule"),
        (lambda e: 0.1 if e < 2 else -1.0, ValueError, "lr_schedule.*epoch 2"),
        (lambda e: "fast", TypeError, "lr_schedule"),
        (42, TypeError, "lr_schedule"),
        ("warm", ValueError, "lr_schedule"),
    ],
)
def test_bad_rates_from_a_schedule_are_named(schedule, error, match) -> None:
    X, y = problem()
    with pytest.raises(error, match=match):
        net().fit(X, y, epochs=4, lr_schedule=schedule)


def test_a_schedule_watching_validation_needs_it_before_training() -> None:
    X, y = problem()
    model = net()
    before = model.params.copy()
    for schedule in (ReduceOnPlateau(monitor="val_loss"), Adaptive(monitor="val_accuracy")):
        with pytest.raises(ValueError, match="monitor.*X_val"):
            model.fit(X, y, epochs=2, lr_schedule=schedule)
    np.testing.assert_array_equal(model.params, before)
