"""The Python API page (docs/python-api.md) is rendered by mkdocstrings from the docstrings, and
mkdocstrings silently leaves out what has none. So: every public object of ``qa`` is on that
page, and it and its public methods have a docstring of their own."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
from pathlib import Path

import pytest

import qa

API_PAGE = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"


def documented() -> dict[str, object]:
    """The ``::: module.name`` blocks of the API page, resolved to their objects."""
    found = {}
    for target in re.findall(r"^::: ([\w.]+)$", API_PAGE.read_text(encoding="utf-8"), re.M):
        module, _, name = target.rpartition(".")
        found[target] = getattr(importlib.import_module(module), name)
    return found


def own_docstring(obj: object) -> str:
    """The object's own docstring: not one inherited, nor the signature dataclasses write."""
    if inspect.isclass(obj):
        doc = vars(obj).get("__doc__") or ""
        if dataclasses.is_dataclass(obj) and doc.startswith(f"{obj.__name__}("):
            return ""
        return doc.strip()
    return (getattr(obj, "__doc__", None) or "").strip()


def public_members(cls: type) -> list[str]:
    """Methods and properties the class defines itself (mkdocstrings lists those)."""
    return [
        name
        for name, value in vars(cls).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or isinstance(value, property | classmethod | staticmethod))
    ]


def test_every_public_object_is_on_the_api_page() -> None:
    on_page = {id(obj) for obj in documented().values()}
    missing = [name for name in qa.__all__ if id(getattr(qa, name)) not in on_page]
    assert not missing, f"add '::: module.name' for these to {API_PAGE.name}: {missing}"


@pytest.mark.parametrize("target", sorted(documented()))
def test_documented_object_has_a_docstring(target: str) -> None:
    obj = documented()[target]
    assert own_docstring(obj), f"{target} has no docstring of its own"
    if inspect.isclass(obj):
        bare = []
        for name in public_members(obj):
            member = inspect.getattr_static(obj, name)
            if isinstance(member, classmethod | staticmethod):
                member = member.__func__
            if not own_docstring(member):
                bare.append(name)
        assert not bare, f"{target}: public members without a docstring: {bare}"


def test_own_docstring_sees_through_dataclass_signatures() -> None:
    @dataclasses.dataclass
    class Bare:
        x: int

    @dataclasses.dataclass
    class Told:
        """Says what it is."""

        x: int

    assert own_docstring(Bare) == "" and own_docstring(Told) == "Says what it is."
