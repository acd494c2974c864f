"""Ctrl-C and SIGTERM inside a training loop stop it at a safe point, never inside a step or a write."""

import os
import signal

import pytest

from kerascenes.runs import raise_if_stopped, safe_points, stopping_signals


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_inside_safe_points_waits_for_the_next_safe_point(signum):
    reached = []
    with stopping_signals():
        with pytest.raises(KeyboardInterrupt, match=signal.Signals(signum).name):
            with safe_points():
                os.kill(os.getpid(), signum)
                reached.append("after the signal")  # the step in progress is not cut short
                raise_if_stopped()
                reached.append("after the safe point")
    assert reached == ["after the signal"]


def test_a_second_signal_stops_at_once_and_one_after_the_last_safe_point_is_raised_at_the_end():
    with stopping_signals():
        with pytest.raises(KeyboardInterrupt):
            with safe_points():
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)  # impatient: raised here
                pytest.fail("the second Ctrl-C did not stop the block")
        with pytest.raises(KeyboardInterrupt):
            with safe_points():
                os.kill(os.getpid(), signal.SIGINT)
        raise_if_stopped()  # nothing left pending


def test_outside_safe_points_a_signal_stops_at_once_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with stopping_signals():
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            pytest.fail("SIGTERM did not stop the block")
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_an_ignored_ctrl_c_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a background job
    try:
        with stopping_signals():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_keras_fit_stops_between_batches_after_a_signal_in_a_step():
    import keras
    import numpy as np

    from kerascenes.classify.callbacks import StopAtSafePoint

    seen = []

    class SignalInBatch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)
            if batch == 1:
                os.kill(os.getpid(), signal.SIGINT)

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse")
    x, y = np.zeros((40, 3), "float32"), np.zeros((40, 2), "float32")
    with stopping_signals(), pytest.raises(KeyboardInterrupt):
        with safe_points():
            model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=[SignalInBatch(), StopAtSafePoint()])
    assert seen == [0, 1]  # batch 1 ended; batch 2 never began


def test_a_worker_thread_neither_defers_nor_takes_the_main_threads_ctrl_c():
    import threading

    from kerascenes.runs import _Stop

    seen = {}

    def worker():
        with safe_points():
            seen["deferring"] = _Stop.deferring
            raise_if_stopped()  # the main thread's pending signal is not raised here

    with stopping_signals(), pytest.raises(KeyboardInterrupt):
        with safe_points():
            os.kill(os.getpid(), signal.SIGINT)
            thread = threading.Thread(target=worker)
            thread.start()
            thread.join()
            assert _Stop.pending == "SIGINT"
            raise_if_stopped()
    assert seen == {"deferring": True}  # the main thread's block, unchanged by the worker
