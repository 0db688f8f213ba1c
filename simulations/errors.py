"""Errors raised by the simulations package.

Every error derives from :class:`SimulationError`, so callers (the CLI, the web layer)
can catch one base and map it to a clear message.

Tree::

    SimulationError
    ├── ScenarioError                 a scenario file is rejected (file, line, field)
    ├── ExpressionError               an expression cannot be compiled or evaluated
    │   ├── ExpressionSyntaxError     not a valid expression, or forbidden syntax
    │   ├── UnknownNameError          a name that is no variable, argument or function
    │   ├── ExpressionTypeError       operands of the wrong type
    │   └── ExpressionLimitError      too long, too deep, exponent too large
    ├── ActionLogError                a recorded/submitted action list is malformed
    ├── ActionRejectedError           an action refused by the runtime (e.g. after the end)
    └── NumericalError                the dynamics produced a non-finite value
"""

from __future__ import annotations


class SimulationError(Exception):
    """Base of every error raised by :mod:`simulations`."""


class ExpressionError(SimulationError):
    """An expression in a scenario cannot be compiled or evaluated."""

    def __init__(self, message: str, *, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column

    def __str__(self) -> str:
        if self.column is None:
            return self.message
        return f"{self.message} (at column {self.column})"


class ExpressionSyntaxError(ExpressionError):
    """Text that does not parse, or uses syntax outside the expression language."""


class UnknownNameError(ExpressionError):
    """A name that is neither a variable, an action argument nor a function."""


class ExpressionTypeError(ExpressionError):
    """Operands whose types do not fit the operator (e.g. ``level + 'open'``)."""


class ExpressionLimitError(ExpressionError):
    """An expression exceeding a size, depth or exponent limit."""


class ScenarioError(SimulationError):
    """A scenario file rejected with the file, line and field at fault."""

    def __init__(self, message: str, *, file: str, line: int | None, field: str) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.field or '<document>'}: {self.message}"


class ActionLogError(SimulationError):
    """An action list (ACTIONS.json or a stored log) that cannot be replayed."""


class ActionRejectedError(SimulationError):
    """An action the runtime refuses outright (unknown, bad arguments, session ended)."""


class NumericalError(SimulationError):
    """The dynamics produced NaN or infinity."""
