"""The live views' refresh slows while the CPU trains and painting takes more than its budget, and
only then (``ui/train/pacing.RefreshPacer``), measured on clocks the test drives."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QObject

from convviz.ui.train.pacing import RefreshPacer


class Clocks:
    """A GUI thread that spends ``load`` of each wall second on the CPU."""

    def __init__(self) -> None:
        self.cpu = self.wall = 0.0

    def spend(self, seconds: float, load: float) -> None:
        self.wall += seconds
        self.cpu += seconds * load


@pytest.fixture
def pacer(qapp):
    clocks = Clocks()
    owner = QObject()
    made = RefreshPacer(owner, fastest_ms=200, slowest_ms=500, budget=0.04,
                        cpu_clock=lambda: clocks.cpu, wall_clock=lambda: clocks.wall)
    made.clocks, made.owner = clocks, owner
    made.start()
    yield made
    made.stop()


def ticks(pacer: RefreshPacer, load_per_refresh: float, count: int = 12) -> list[int]:
    """Intervals after ``count`` refreshes that each cost ``load_per_refresh`` CPU seconds."""
    intervals = []
    for _ in range(count):
        seconds = pacer.interval() / 1000
        pacer.clocks.spend(seconds, load_per_refresh / seconds)
        pacer._timer.setInterval(pacer.next_interval())
        intervals.append(pacer.interval())
    return intervals


def test_an_unpaced_run_refreshes_at_the_fastest_rate_whatever_it_costs(pacer):
    assert set(ticks(pacer, 0.05)) == {200}


def test_a_costly_refresh_slows_to_the_budget_and_no_further(pacer):
    pacer.paced = True
    # 12 ms a refresh: 6 % of a core at 200 ms, 4 % at 300 ms
    intervals = ticks(pacer, 0.012)
    assert intervals == sorted(intervals) and abs(intervals[-1] - 300) <= 3
    # 40 ms a refresh would need a second: the slowest allowed is 500 ms
    assert ticks(pacer, 0.040)[-1] == 500


def test_the_rate_comes_back_when_painting_gets_cheap(pacer):
    pacer.paced = True
    assert ticks(pacer, 0.040)[-1] == 500
    assert ticks(pacer, 0.004)[-1] == 200  # 2 % of a core at the fastest rate


def test_a_new_run_starts_at_the_fastest_rate(pacer):
    pacer.paced = True
    ticks(pacer, 0.040)
    pacer.start()
    assert pacer.interval() == 200
    pacer.clocks.spend(5.0, 0.5)  # the time between two runs is not a refresh's cost
    assert pacer.next_interval() == 200
