"""A training run on its own QThread: the loop is plain Python (``convviz.train.Trainer``); this
object only starts it, forwards its records to the GUI thread and passes on pause/resume/stop.

The run trains a frozen copy of the design made on the GUI thread, so edits made while it runs
cannot reach it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QThread, Signal

from ...messages import first_line


class TrainingRun(QObject):
    #: Each record of the run (StartRecord … EndRecord), delivered on the GUI thread.
    record = Signal(object)
    #: The run could not start (the design does not fit the data, a bad setting): one line.
    failed = Signal(str)
    #: The thread is done (after the EndRecord or the failure).
    finished = Signal()

    def __init__(self, design, dataset, config, initial_state=None, snapshot_rate: float = 10.0) -> None:
        super().__init__()
        from ...train import TrainControl

        self.control = TrainControl()
        self._args = (design, dataset, config, initial_state, snapshot_rate)
        self._thread = QThread()
        self._thread.setObjectName("convviz-training")
        self.moveToThread(self._thread)
        self._thread.started.connect(self._run)
        # Both go once the thread has ended (deleteLater posted to a finished thread would never run).
        self._thread.finished.connect(self.deleteLater)
        self._thread.finished.connect(self._thread.deleteLater)

    def start(self) -> None:
        self._thread.start()

    def pause(self) -> None:
        self.control.pause()

    def resume(self) -> None:
        self.control.resume()

    def stop(self) -> None:
        """Ask the run to end after the current step; it keeps the weights trained so far."""
        self.control.stop()

    @property
    def running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, msecs: int = 30000) -> bool:
        return self._thread.wait(msecs)

    def _run(self) -> None:
        from ...train import Trainer

        design, dataset, config, initial_state, snapshot_rate = self._args
        try:
            trainer = Trainer(design, dataset, config, control=self.control, initial_state=initial_state,
                              report_rate=10.0, snapshot_rate=snapshot_rate)
            for record in trainer:
                self.record.emit(record)
        except (ValueError, RuntimeError, OSError) as exc:  # TrainError, ConfigError, DatasetError, torch
            self.failed.emit(first_line(exc))
        except Exception as exc:  # a bug: the message still reaches the user, the thread still ends
            import traceback

            traceback.print_exc()
            self.failed.emit(f"{type(exc).__name__}: {first_line(exc)}")
        finally:
            self._args = None  # the design copy, the dataset and the initial weights are not needed now
            self.finished.emit()
            self._thread.quit()
