"""InputError.from_validation: one pydantic error -> one line naming the file, the video and the field."""
from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError

from admfit.errors import InputError


class _Inner(BaseModel):
    end_s: float = Field(gt=0)


class _Outer(BaseModel):
    name: str
    inner: _Inner


def _error(**values) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        _Outer(**values)
    return caught.value


def test_the_field_is_the_dotted_location_with_the_scalar_that_failed():
    error = InputError.from_validation(_error(name="a", inner={"end_s": -1}), file="gt.json", video="v1")
    assert (error.file, error.video, error.field) == ("gt.json", "v1", "inner.end_s")
    assert error.message.endswith("(got -1)") and "greater than 0" in error.message
    assert str(error).startswith("gt.json, video 'v1', field 'inner.end_s': ")
    assert "\n" not in str(error)


def test_prefix_rename_field_and_context():
    error = _error(name="a", inner={"end_s": 0})
    assert InputError.from_validation(error, prefix="meta.config").field == "meta.config.inner.end_s"
    assert InputError.from_validation(error, rename={"inner.end_s": "point"}).field == "point"
    assert InputError.from_validation(error, field="segment").field == "segment"
    assert InputError.from_validation(error, context="line 12").message.startswith("line 12: ")


def test_a_whole_object_is_not_echoed():
    error = InputError.from_validation(_error(name="a", inner=[1, 2]))
    assert "got" not in error.message and error.field == "inner"
