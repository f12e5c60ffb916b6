"""The screen every compt screen builds on: failed workers go to the app's error handler."""

from __future__ import annotations

from textual.screen import Screen
from textual.worker import Worker, WorkerState

from tui.messages import WorkerFailed


class ComptScreen(Screen):
    """Forwards worker failures as one typed message, so one handler shows them all."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.app.post_message(WorkerFailed(event.worker.error, event.worker.name))
