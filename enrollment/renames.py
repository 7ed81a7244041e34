"""Who must know when a person's name changes.

Contributions numbers each bill's lines in person-name order (BillLine.position): a new name
moves the person's lines in every bill that holds them. Contributions registers its hook here
from its AppConfig.ready() (a registry, as portal.review's, instead of an import the wrong way);
every write of Person.name to a known person calls person_renamed() in the same transaction:
person_change_apply (an approved 个人信息变更) and person_prepare (a known person added again
under a new name).
"""

from __future__ import annotations

from collections.abc import Callable

_hooks: list[Callable[[int], None]] = []


def person_renamed_register(hook: Callable[[int], None]) -> None:
    """Register ``hook(person_id)``, called after a known person's name was saved."""
    if hook not in _hooks:
        _hooks.append(hook)


def person_renamed(person_id: int) -> None:
    """Tell the registered hooks that the person's name changed (call after saving it)."""
    for hook in _hooks:
        hook(person_id)
