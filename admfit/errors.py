"""One exception type for bad user input, so every front end can report it in one line."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, TypeVar

if TYPE_CHECKING:  # pydantic is a dependency, but importing it here is not needed to raise
    from pydantic import BaseModel, ValidationError

    Model = TypeVar("Model", bound=BaseModel)


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

    @classmethod
    def from_validation(cls, error: ValidationError, *, file=None, video: str | None = None,
                        field: str | None = None, prefix: str = "", rename: Mapping[str, str] | None = None,
                        context: str = "") -> InputError:
        """The first problem pydantic found, as one InputError.

        The field is pydantic's dotted location (``annotations.3.segment.0``), renamed by ``rename`` (a model
        field -> the name the user wrote, e.g. a CSV column) and put under ``prefix``; ``field`` replaces it
        outright. The message is pydantic's on one line, with the offending value when it is a scalar (a whole
        object would not fit on the line), after ``context`` (e.g. ``line 12``)."""
        detail = error.errors()[0]
        location = ".".join(str(part) for part in detail["loc"])
        location = (rename or {}).get(location, location)
        if field is None:
            field = ".".join(part for part in (prefix, location) if part) or None
        message = " ".join(str(detail["msg"]).split())  # a model validator's message may span lines
        if "input" in detail and not isinstance(detail["input"], (dict, list)):
            message += f" (got {detail['input']!r})"
        if context:
            message = f"{context}: {message}"
        return cls(message, file=file, video=video, field=field)

    def _render(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.video is not None:
            where.append(f"video {self.video!r}")
        if self.field:
            where.append(f"field {self.field!r}")
        return (": ".join([", ".join(where), self.message]) if where else self.message)


def validated(model: type[Model], values: Mapping[str, Any], **where) -> Model:
    """``model(**values)``; what pydantic refuses as one InputError, placed by ``where`` (the keywords of
    ``InputError.from_validation``: file, prefix, ...). pydantic loads here, not on ``import admfit.errors``."""
    from pydantic import ValidationError

    try:
        return model(**values)
    except ValidationError as error:
        raise InputError.from_validation(error, **where) from None


class Notice(UserWarning):
    """Something admfit decided for the user that they should know (e.g. subset 'test' read as 'Test').

    Raised with ``warnings.warn``; the command-line apps print it as one ``note: ...`` line on stderr, once per
    command (the default warning filter shows each message once)."""
