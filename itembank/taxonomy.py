"""Occupations and their appraisal-element trees (module → element → point)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, select

from itembank.errors import ItemValidationError
from itembank.levels import Importance, Level
from itembank.models import AppraisalNode, NodeKind, Occupation

KINDS_BY_DEPTH = (NodeKind.module, NodeKind.element, NodeKind.point)


def get_or_create_occupation(session: Session, code: str, name: str, name_en: str = "") -> Occupation:
    occupation = session.exec(select(Occupation).where(Occupation.code == code)).first()
    if occupation is None:
        occupation = Occupation(code=code, name=name, name_en=name_en)
        session.add(occupation)
        session.flush()
    return occupation


def import_tree(session: Session, occupation: Occupation, level: Level, tree: list[dict[str, Any]]
                ) -> dict[str, AppraisalNode]:
    """Create the nodes of a nested tree; returns them by code. Weights must add up."""
    _check_weights(tree, "appraisal_tree", total=100.0)
    nodes: dict[str, AppraisalNode] = {}
    _add_nodes(session, occupation, level, tree, None, 0, nodes)
    return nodes


def _check_weights(children: list[dict[str, Any]], where: str, total: float | None) -> None:
    weights = [c.get("weight") for c in children]
    if total is not None and all(w is not None for w in weights) and abs(sum(weights) - total) > 1e-6:
        raise ItemValidationError({where: f"weights add up to {sum(weights):g}, expected {total:g}"})
    for child in children:
        if child.get("children"):
            _check_weights(child["children"], child["code"], child.get("weight"))


def _add_nodes(session: Session, occupation: Occupation, level: Level, children: list[dict[str, Any]],
               parent: AppraisalNode | None, depth: int, nodes: dict[str, AppraisalNode]) -> None:
    if depth >= len(KINDS_BY_DEPTH):
        raise ItemValidationError({"appraisal_tree": "the tree is deeper than module → element → point"})
    for spec in children:
        kind = KINDS_BY_DEPTH[depth] if spec.get("children") or depth == 2 else NodeKind.point
        node = AppraisalNode(occupation_id=occupation.id, level=level, parent_id=parent.id if parent else None,
                             kind=kind, code=spec["code"], name=spec["name"], name_en=spec.get("name_en", ""),
                             weight=spec.get("weight"),
                             importance=Importance(spec["importance"]) if spec.get("importance") else None)
        session.add(node)
        session.flush()
        nodes[node.code] = node
        if spec.get("children"):
            _add_nodes(session, occupation, level, spec["children"], node, depth + 1, nodes)
