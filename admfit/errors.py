"""One exception type for bad user input, so every front end can report it in one line."""
from __future__ import annotations


class InputError(ValueError):
    """Bad user input: names the file, the video and the field at fault.

    The CLI prints ``str(error)`` on one line and exits with code 2; library callers
    can read the attributes to build their own message.
    """

    def __init__(self, message: str, *, file: str | None = None, video: str | None = None,
                 field: str | None = None):
        self.message = message
        self.file = None if file is None else str(file)
        self.video = video
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.video is not None:
            where.append(f"video {self.video!r}")
        if self.field:
            where.append(f"field {self.field!r}")
        return (": ".join([", ".join(where), self.message]) if where else self.message)
