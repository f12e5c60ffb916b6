"""Keys typed ahead of a lagging app are applied in order, each where focus is at that moment.

Textual puts a key into the message queue of the widget focused when the key arrives,
and runs the key's binding only after the event has bubbled up, message by message, to
the App. A key that moves focus (Tab, Enter, /, n) therefore takes effect after the keys
typed right behind it were already handled by the old widget: ``msum Tab zz`` gave
methods ``msumzz``, and an ``s`` after Enter in the filter was typed into it
(Textualize/textual#1199 is the same race with Enter). ``KeysInOrder`` runs a key's
binding as the widget takes the key from its queue, before the next key, and passes keys
queued for it after focus moved on to the widget that has focus now. Focus itself moves
synchronously here (``Screen.set_focus``; ``Widget.focus`` is deferred by ``call_later``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import events
from textual.widgets import Input


class KeysInOrder:
    """Mixin for a focusable leaf widget (a table, an input)."""

    BINDS_PRINTABLE = True  # False for text inputs: a letter typed there is text, not a key

    async def _on_key(self: Any, event: events.Key) -> None:
        target = self.app.focused or self.app.screen
        if target is not self:  # focus moved after this key was queued: pass it on
            event.prevent_default()
            event.stop()
            if self.is_attached:
                target._forward_event(events.Key(event.key, event.character))  # as App does
            return
        if self.BINDS_PRINTABLE or not event.is_printable:
            # the bindings Textual would check once the key bubbled to the App (a private
            # App method: should it change, keys are merely handled later again, as before)
            if await self.app._check_bindings(event.key):
                event.prevent_default()
                event.stop()


class RoutedInput(KeysInOrder, Input):
    """An Input whose Enter acts at once (``on_enter``) instead of posting Submitted."""

    BINDS_PRINTABLE = False

    def __init__(self, *args: Any, on_enter: Callable[[], object] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_enter = on_enter

    async def action_submit(self) -> None:
        if self.on_enter is None:
            await super().action_submit()
        else:
            self.on_enter()  # e.g. move focus: synchronously, before the next key is read
