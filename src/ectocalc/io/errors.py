"""Turning pydantic validation errors into one located :class:`InputError`."""

from __future__ import annotations

from pydantic import ValidationError

from ectocalc.errors import InputError


def located(error: ValidationError, source: str, prefix: str = "") -> InputError:
    """The first validation problem as an :class:`InputError` with a dotted field path.

    Examples
    --------
    >>> from pydantic import BaseModel
    >>> class M(BaseModel):
    ...     age: int
    >>> try:
    ...     M.model_validate({"age": "x"})
    ... except ValidationError as e:
    ...     print(located(e, "case.yaml", "patient"))
    case.yaml: patient.age: Input should be a valid integer, unable to parse string as an integer
    """
    first = error.errors()[0]
    parts: list[str] = [prefix] if prefix else []
    for item in first["loc"]:
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(str(item))
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "json_invalid":  # fhir.resources reads a text where an object belongs
        message = f"expected an object, got {first.get('input')!r}"
    return InputError(source, ".".join(parts), message)
