"""The item review workflow as an explicit transition table (status × command).

    draft ──submit──▶ submitted ──approve──▶ approved ──activate──▶ active ──retire──▶ retired
      ▲                 │  │                    │                                      │
      └────reject───────┘  └──withdraw (author)─┴──reject──────────────────────────────┘ reopen

Every (status, command) pair not in the table is illegal; tests walk all pairs. Review
commands (approve, reject) are refused to anyone who wrote any version of the item.
Every transition writes an ``ItemReview`` row and an audit entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import Session, col, select

from itembank.errors import N_, IllegalTransitionError, ItemValidationError, NotFoundError, SelfReviewError
from itembank.models import Item, ItemReview, ItemVersion
from itembank.models import ItemStatus as Status
from itembank.service import AuditSink

MAX_COMMENT_LENGTH = 2000


class Command(StrEnum):
    submit = "submit"  # the author asks for review
    withdraw = "withdraw"  # the author takes a submitted item back
    approve = "approve"  # a reviewer who is not an author accepts it
    reject = "reject"  # a reviewer sends it back to draft, with a comment
    activate = "activate"  # an approved item enters the pool exams draw from
    retire = "retire"  # no longer drawn
    reopen = "reopen"  # a retired item goes back to draft for revision
    revise = "revise"  # an edit of a non-draft item sends it back to draft (used by edit_item)


TRANSITIONS: dict[tuple[Status, Command], Status] = {
    (Status.draft, Command.submit): Status.submitted,
    (Status.submitted, Command.withdraw): Status.draft,
    (Status.submitted, Command.approve): Status.approved,
    (Status.submitted, Command.reject): Status.draft,
    (Status.approved, Command.reject): Status.draft,
    (Status.approved, Command.activate): Status.active,
    (Status.approved, Command.retire): Status.retired,
    (Status.active, Command.retire): Status.retired,
    (Status.retired, Command.reopen): Status.draft,
    (Status.submitted, Command.revise): Status.draft,
    (Status.approved, Command.revise): Status.draft,
    (Status.active, Command.revise): Status.draft,
    (Status.retired, Command.revise): Status.draft,
}

REVIEW_COMMANDS = frozenset({Command.approve, Command.reject})
# What a reviewer may do to many items at once from the list or the review queue.
BULK_COMMANDS = (Command.approve, Command.reject, Command.activate, Command.retire)


def next_status(status: Status, command: Command) -> Status:
    try:
        return TRANSITIONS[(status, command)]
    except KeyError:
        raise IllegalTransitionError(N_("cannot %(command)s an item that is %(status)s"),
                                     command=command.value, status=status.value) from None


def authors_of(session: Session, item: Item) -> set[str]:
    """Everyone who wrote the item or any of its versions."""
    names = session.exec(select(ItemVersion.created_by).where(ItemVersion.item_id == item.id)).all()
    return {item.created_by, *names}


def parse_command(raw: str) -> Command:
    try:
        return Command(raw)
    except ValueError:
        raise ItemValidationError({"command": N_("unknown action")}) from None


def _check(session: Session, item: Item, command: Command, actor: str, comment: str) -> Status:
    target = next_status(item.status, command)
    if command in REVIEW_COMMANDS and actor in authors_of(session, item):
        raise SelfReviewError(N_("item %(item)s: nobody may review an item they wrote"), item=item.id)
    if command == Command.withdraw and actor not in authors_of(session, item):
        raise IllegalTransitionError(N_("item %(item)s: only its authors may withdraw it"), item=item.id)
    if command == Command.reject and not comment.strip():
        raise ItemValidationError({"comment": N_("say why the item is rejected")})
    if len(comment) > MAX_COMMENT_LENGTH:
        raise ItemValidationError({"comment": N_("the comment is too long")})
    return target


def apply(session: Session, item: Item, command: Command, actor: str, record: AuditSink,
          comment: str = "") -> ItemReview:
    """Move one item; raises before writing anything when the move is not allowed."""
    target = _check(session, item, command, actor, comment)
    review = ItemReview(item_id=item.id, version_no=item.current_version, command=command.value,
                        from_status=item.status, to_status=target, actor=actor, comment=comment.strip())
    item.status = target
    session.add(item)
    session.add(review)
    session.flush()
    record(f"item.{command.value}", "item", item.id, {"from": review.from_status.value, "to": target.value,
                                                      "version": item.current_version, "comment": review.comment})
    return review


def transition(session: Session, item_id: int, command: Command, actor: str, record: AuditSink,
               comment: str = "") -> ItemReview:
    return apply(session, _locked(session, item_id), command, actor, record, comment)


@dataclass(frozen=True)
class Refusal:
    item_id: int
    reason: str  # the error's template
    params: dict


def bulk_transition(session: Session, item_ids: Iterable[int], command: Command, actor: str,
                    record: AuditSink, comment: str = "") -> list[ItemReview]:
    """All or nothing: every item is checked first; one refusal and none moves."""
    if command not in BULK_COMMANDS:
        raise ItemValidationError({"command": N_("this action cannot be applied to several items")})
    wanted = sorted(set(item_ids))
    if not wanted:
        raise ItemValidationError({"items": N_("choose at least one item")})
    locked = [_locked(session, item_id) for item_id in wanted]
    refusals = []
    for item in locked:
        try:
            _check(session, item, command, actor, comment)
        except (IllegalTransitionError, SelfReviewError) as exc:
            refusals.append(Refusal(item.id, exc.template, {**exc.params, "item": item.id}))
    if refusals:
        raise BulkRefusedError(refusals)
    return [apply(session, item, command, actor, record, comment) for item in locked]


class BulkRefusedError(IllegalTransitionError):
    def __init__(self, refusals: list[Refusal]):
        self.refusals = refusals
        super().__init__(N_("%(count)s of the chosen items cannot take this action; nothing was changed"),
                         count=len(refusals))


def history(session: Session, item_id: int) -> list[ItemReview]:
    return list(session.exec(select(ItemReview).where(ItemReview.item_id == item_id)
                             .order_by(col(ItemReview.id).desc())).all())


def review_queue(session: Session, reviewer: str) -> list[tuple[Item, ItemVersion]]:
    """Submitted items the reviewer did not write, oldest first."""
    rows = session.exec(select(Item, ItemVersion)
                        .join(ItemVersion, (col(ItemVersion.item_id) == Item.id)
                              & (col(ItemVersion.version_no) == Item.current_version))
                        .where(Item.status == Status.submitted).order_by(Item.id)).all()
    return [(item, version) for item, version in rows if reviewer not in authors_of(session, item)]


def _locked(session: Session, item_id: int) -> Item:
    item = session.exec(select(Item).where(Item.id == item_id).with_for_update()
                        .execution_options(populate_existing=True)).first()
    if item is None:
        raise NotFoundError(f"item {item_id} not found")
    return item
