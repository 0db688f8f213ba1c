"""Automated assembly of parallel fixed forms as a 0-1 program (pure numpy/scipy).

See :func:`assemble_forms`; infeasible specifications raise
:class:`InfeasibleAssemblyError` naming each constraint group that cannot be met and
by how much.
"""

from .assembler import (
    AssembledForms,
    AssemblyError,
    AssemblyOptions,
    ConstraintShortfall,
    InfeasibleAssemblyError,
    assemble_forms,
)
from .preview import FormPreview, preview_form

__all__ = ["AssembledForms", "AssemblyError", "AssemblyOptions", "ConstraintShortfall",
           "FormPreview", "InfeasibleAssemblyError", "assemble_forms", "preview_form"]
