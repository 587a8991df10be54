"""Domain errors with stable codes that clients can branch on."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain was broken; ``code`` is stable, ``field`` names the input at fault."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class InvalidTransition(DomainError):
    """An event would move an order backwards or out of a final state."""

    def __init__(self, current: str, target: str) -> None:
        super().__init__(
            "ORDER_INVALID_TRANSITION", f"an order that is {current} cannot become {target}"
        )
        self.current = current
        self.target = target
