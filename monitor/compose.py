"""What a chat is sent for an alert: a message, a reply to its story's message, an edit of that
message (or of the grouped message it went out in), or an item of a digest."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import replace

from monitor.errors import ChatBlocked, DeliveryError
from monitor.render import DigestItem, grouped_items, relaid_part
from monitor.sink import Sink
from monitor.store import MessageAlert, PendingAlert, Store, StoryAlert

logger = logging.getLogger(__name__)


def digest_items(
    batch: Sequence[tuple[PendingAlert, StoryAlert | None, bool]],
) -> list[DigestItem]:
    """Lay out a digest: one item per report, other outlets' same report listed under it.

    A follow-up (a new development) is an item of its own; a report of a story the chat was
    told about before, with nothing else of that story here, is a short "More on" item.
    """
    items: list[DigestItem] = []
    lead_of: dict[str, int] = {}  # story -> index of its first item in this digest
    for pending, root, _ in batch:
        story = pending.story
        if pending.kind == "same" and story is not None and story in lead_of:
            index = lead_of[story]
            lead = items[index]
            items[index] = replace(
                lead, sources=(pending.alert, *lead.sources), ids=(*lead.ids, pending.id)
            )
            continue
        if story is not None:
            lead_of.setdefault(story, len(items))
        items.append(
            DigestItem(
                alert=pending.alert,
                ids=(pending.id,),
                followup=pending.kind == "followup",
                update=pending.kind == "same" and root is not None,
            )
        )
    return items


async def _edit_group(
    store: Store, sink: Sink, pending: PendingAlert, message_id: str, chat_id: str
) -> str | None:
    """Add a report to the grouped message its story went out in, under that story's item.

    The message is laid out again from the alerts it carries, with its own title and item
    numbers; when it would no longer fit, the report is sent as a reply to it instead.
    """
    members = store.alerts.in_message(pending.alert.chat, message_id)
    layout = next((m.part for m in members if m.part), None)
    items = _group_items(members, pending)
    part = None
    if layout is not None:
        found = json.loads(layout)
        part = relaid_part(items, str(found["title"]), int(found["first"]))
    if part is None:
        return await sink.send(pending.alert, chat_id, reply_to=message_id)
    await sink.edit_digest(message_id, part, chat_id)
    return message_id


def _group_items(members: Sequence[MessageAlert], pending: PendingAlert) -> list[DigestItem]:
    """The items of a grouped message, with `pending` listed under its story's item."""
    reports = [(m.id, m.alert, m.story, m.kind) for m in members]
    return grouped_items([*reports, (pending.id, pending.alert, pending.story, "same")])


async def deliver_one(
    store: Store, sink: Sink, pending: PendingAlert, root: StoryAlert | None, chat_id: str
) -> str | None:
    """Send the alert, or edit its story's message when it is the same report again.

    A story whose first alert went out in a digest is not edited (that message is the digest);
    its later reports are sent as messages of their own.
    """
    alert = pending.alert
    if pending.story is None or root is None or root.message_id is None:
        return await sink.send(alert, chat_id)  # new, or this chat has not seen the story yet
    if root.via == "digest":
        return await sink.send(alert, chat_id)
    if pending.kind == "followup":
        return await sink.send(alert, chat_id, reply_to=root.message_id)
    if root.via == "group":
        return await _edit_group(store, sink, pending, root.message_id, chat_id)
    earlier = store.alerts.of_story(alert.chat, pending.story, before=pending.id)
    sources = [
        a.alert
        for a in reversed(earlier)
        if a.id != root.id and a.kind == "same" and a.message_id == root.message_id
    ]
    try:
        await sink.edit(root.message_id, root.alert, chat_id, [alert, *sources])
    except DeliveryError as exc:
        if not exc.permanent or isinstance(exc, ChatBlocked):
            raise
        logger.warning(
            "cannot edit the story message in chat %s (%s); sending anew", alert.chat, exc
        )
        return await sink.send(alert, chat_id)
    return root.message_id
