"""One registry pattern for everything that is looked up by name (tasks, formats, metrics, methods,
compositions). Adding an entry is one decorator; an unknown name is a one-line error listing the
known ones."""
from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from adapterstilts.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str | None = None) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            key = name or getattr(obj, "name", None) or obj.__name__  # type: ignore[attr-defined]
            if key in self._entries:
                raise ValueError(f"{self.kind} {key!r} is registered twice")
            self._entries[key] = obj
            return obj

        return decorator

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UserError(self.unknown(name)) from None

    def unknown(self, name: object, what: str | None = None) -> str:
        """The one-line error for a name not registered (``what``: how to call it, default the registry's
        kind, e.g. "--compose"): the nearest name first ("did you mean"), then all."""
        import difflib

        known = ", ".join(sorted(self._entries)) or "none"
        close = difflib.get_close_matches(str(name).lower(), list(self._entries), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown {what or self.kind} {name!r}; {hint}choose one of: {known}"

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._entries.items())

    def names(self) -> list[str]:
        return sorted(self._entries)
