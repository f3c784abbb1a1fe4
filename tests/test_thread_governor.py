"""The training loop's thread-count policy (csrc/runtime/thread_governor.hpp).

Driven with made-up step times through the ``_native.ThreadGovernor`` test
binding: it must settle on the fastest count, follow a change of which count
is fastest, keep its probes of the other counts rare, ignore the slow first
step after a change of count and single slow steps, and climb to the best of
several counts. Whether ``fit`` uses it changes speed only (the results are
the same on any count: test_threads.py), which the last tests check.
"""

from __future__ import annotations

import numpy as np
import pytest

import pyfastnn
from pyfastnn import _native


def drive(governor, steps, step_time, switch_penalty=0.0):
    """Runs `steps` steps; step_time(threads, step) gives each one's duration.
    A step at another count than the previous one costs `switch_penalty` more."""
    chosen = []
    previous = None
    for step in range(steps):
        threads = governor.choose()
        seconds = step_time(threads, step)
        if previous is not None and threads != previous:
            seconds += switch_penalty
        governor.record(threads, seconds)
        chosen.append(threads)
        previous = threads
    return np.array(chosen)


def fixed(times):
    return lambda threads, step: times[threads]


def new_governor(max_threads=2):
    governor = _native.ThreadGovernor()
    governor.configure(max_threads, 64)
    return governor


def test_keeps_all_threads_when_they_are_faster() -> None:
    governor = new_governor()
    chosen = drive(governor, 3000, fixed({2: 500e-6, 1: 700e-6}))
    assert governor.best == 2
    assert np.mean(chosen == 1) < 0.03  # probes only
    assert np.mean(chosen[1000:] == 1) < 0.02


def test_moves_to_one_thread_when_it_is_faster() -> None:
    governor = new_governor()
    chosen = drive(governor, 3000, fixed({2: 1100e-6, 1: 700e-6}))
    assert governor.best == 1
    assert np.mean(chosen[30:] == 2) < 0.03


def test_follows_changes_of_the_fastest_count() -> None:
    fast, slow = {2: 500e-6, 1: 700e-6}, {2: 1100e-6, 1: 700e-6}

    def step_time(threads, step):
        return (slow if 1000 <= step < 2000 else fast)[threads]

    chosen = drive(new_governor(), 3000, step_time)
    assert np.mean(chosen[1010:2000] == 1) > 0.97  # two threads got slow: left at once
    assert np.mean(chosen[2300:3000] == 2) > 0.97  # and found again by a probe
    assert np.mean(chosen[1010:1100] == 1) > 0.9


def test_ignores_the_first_step_after_a_change_of_count() -> None:
    """The first step on another count pays for data in the other cores'
    caches; judged on that step, one thread would never look faster."""
    governor = new_governor()
    drive(governor, 2000, fixed({2: 1000e-6, 1: 700e-6}), switch_penalty=3000e-6)
    assert governor.best == 1


def test_single_slow_steps_do_not_flip_it() -> None:
    rng = np.random.default_rng(0)
    spikes = rng.random(4000) < 0.05

    def step_time(threads, step):
        base = {2: 500e-6, 1: 700e-6}[threads] * (1 + 0.05 * rng.standard_normal())
        return base * (5 if spikes[step] else 1)

    chosen = drive(new_governor(), 4000, step_time)
    assert np.mean(chosen == 2) > 0.95


def test_climbs_to_the_best_of_several_counts() -> None:
    times = {8: 900e-6, 4: 600e-6, 2: 400e-6, 1: 650e-6}
    governor = new_governor(8)
    chosen = drive(governor, 3000, fixed(times))
    assert governor.best == 2
    assert np.mean(chosen[1000:] == 2) > 0.95
    assert set(np.unique(chosen)) <= set(times)


def test_one_thread_is_the_only_choice_with_one() -> None:
    governor = new_governor(1)
    chosen = drive(governor, 100, fixed({1: 1e-3}))
    assert np.all(chosen == 1) and governor.best == 1


def test_configure_keeps_or_forgets() -> None:
    governor = new_governor()
    drive(governor, 500, fixed({2: 1100e-6, 1: 700e-6}))
    assert governor.best == 1
    governor.configure(2, 64)  # same key: keeps what it measured
    assert governor.best == 1
    governor.configure(2, 32)  # another batch size: starts over
    assert governor.best == 2


def drive_blocks(governor, steps, step_time, counted=lambda step: True):
    """`drive` as the epoch loop does it: through GovernorBlocks."""
    blocks = _native.GovernorBlocks()
    chosen = []
    for step in range(steps):
        threads = blocks.choose(governor)
        blocks.record(governor, step_time(threads, step), counted(step))
        chosen.append(threads)
    return np.array(chosen)


BLOCK = _native.GovernorBlocks.STEPS_PER_SAMPLE


def rare_slow_steps(threads, step):
    """Two threads: fast steps, but every 5th one waits for a descheduled
    worker (mean 1.3 ms); one thread: always 0.9 ms."""
    if threads == 1:
        return 900e-6
    return 3000e-6 if step % 5 == 0 else 500e-6


def test_blocks_see_the_rare_slow_steps_that_single_steps_hide() -> None:
    assert drive(new_governor(), 4000, rare_slow_steps)[2000:].mean() > 1.9  # medians: 2
    governor = new_governor()
    chosen = drive_blocks(governor, 4000, rare_slow_steps)
    assert governor.best == 1
    assert np.mean(chosen[2000:] == 1) > 0.95


def test_blocks_hold_one_count_and_give_one_sample_each() -> None:
    governor = new_governor()
    chosen = drive_blocks(governor, 4000, fixed({2: 500e-6, 1: 700e-6}))
    assert governor.best == 2
    runs = np.split(chosen, np.flatnonzero(np.diff(chosen)) + 1)
    assert all(len(r) % BLOCK == 0 for r in runs)  # counts change only between blocks
    assert all(len(r) == BLOCK for r in runs if r[0] == 1)  # a failed probe: one block
    assert 0 < np.mean(chosen == 1) < 0.05


def test_blocks_leave_out_the_first_step_after_a_change() -> None:
    """That step pays for data in the other cores' caches (3 ms here): counted,
    one thread would never look faster."""
    governor = new_governor()
    blocks = _native.GovernorBlocks()
    previous = None
    for _ in range(4000):
        threads = blocks.choose(governor)
        seconds = {2: 1000e-6, 1: 700e-6}[threads]
        if previous is not None and threads != previous:
            seconds += 3000e-6
        blocks.record(governor, seconds)
        previous = threads
    assert governor.best == 1


def test_blocks_of_uncounted_steps_give_no_sample() -> None:
    governor = new_governor()
    # one thread would look faster, but none of its steps ran on its count
    chosen = drive_blocks(
        governor, 2000, fixed({2: 1100e-6, 1: 700e-6}), counted=lambda step: False
    )
    assert governor.best == 2 and np.all(chosen == 2)
    blocks = _native.GovernorBlocks()
    with pytest.raises(ValueError, match="seconds"):
        blocks.record(governor, float("nan"))


def test_bad_input() -> None:
    governor = _native.ThreadGovernor()
    with pytest.raises(ValueError, match="max_threads"):
        governor.configure(0, 1)
    governor.configure(2, 1)
    for bad in (float("nan"), float("inf"), -1.0):
        with pytest.raises(ValueError, match="seconds"):
            governor.record(2, bad)
    governor.record(3, 1e-3)  # not a candidate: ignored
    assert governor.choose() in (1, 2)
    for bad in ("yes", 1, None):
        with pytest.raises(TypeError, match="enabled"):
            pyfastnn.set_adaptive_threads(bad)


@pytest.fixture
def restore_runtime():
    threads, adaptive = pyfastnn.get_num_threads(), pyfastnn.get_adaptive_threads()
    yield
    pyfastnn.set_num_threads(threads)
    pyfastnn.set_adaptive_threads(adaptive)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_fit_gives_the_same_result_adaptive_or_not(restore_runtime, optimizer) -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(3000, 784)).astype(np.float32)
    y = rng.integers(0, 26, size=3000)
    pyfastnn.set_num_threads(2)
    results = []
    for adaptive in (True, False):
        pyfastnn.set_adaptive_threads(adaptive)
        assert pyfastnn.get_adaptive_threads() is adaptive
        model = pyfastnn.MLP([784, 256, 26], dtype="float32", seed=0)
        history = model.fit(X, y, epochs=2, batch_size=64, optimizer=optimizer, lr=1e-3)
        results.append((model.params.copy(), [e.train_loss for e in history.epochs]))
    assert np.array_equal(results[0][0], results[1][0])
    assert results[0][1] == results[1][1]
