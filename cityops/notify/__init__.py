"""Webhook notifications for warnings (and daily snapshots).

Configuration: each ``[[notifications]]`` entry of the TOML file is a :class:`NotificationTarget`::

    [[notifications]]
    name = "防汛值班群"
    format = "dingtalk"  # generic | wecom | dingtalk | feishu
    url = "https://oapi.dingtalk.com/robot/send?access_token=${DINGTALK_TOKEN}"
    secret = "${DINGTALK_SECRET}"  # the group bot's 加签 secret
    events = ["raised", "escalated", "resolved"]
    min_level = "yellow"

``${NAME}`` in ``url`` and ``secret`` is looked up in the environment when a message is sent, so tokens
never live in the file.

What is sent is a :class:`Notification`. :func:`build_request` turns one into the exact HTTP request for
a target's format (pure: no I/O); :func:`deliver` sends it to every target that wants it, with retries,
and reports one :class:`DeliveryRecord` per target to a ``log`` callback; it never raises for a delivery
problem. :class:`Notifier` runs :func:`deliver` on one background thread, so the warning evaluation never
waits for a slow or dead endpoint; in the server it delivers from the warehouse's outbox (at least once,
across restarts, with the same ``message_id`` each time), elsewhere from a bounded queue in memory.

The modules, in the order a message travels:

- :mod:`~cityops.notify.message` — what is sent: :class:`Notification`, :class:`DeliveryRecord`;
- :mod:`~cityops.notify.wording` — labels, headline, facts; feed text made safe; the template renderer;
- :mod:`~cityops.notify.formats` — the generic, WeCom, DingTalk and Feishu formats (documented there):
  bodies, signatures, :func:`build_request`; the bot markdown comes from ``templates/*.md.j2``;
- :mod:`~cityops.notify.delivery` — :func:`deliver`: sending with retries;
- :mod:`~cityops.notify.notifier` — :class:`Notifier`: background delivery from the outbox or a queue.
"""

from cityops.base.targets import LEVEL_RANK, EventKind, Format, Level, NotificationTarget
from cityops.notify.delivery import MAX_ANSWER_BYTES, RATE_LIMIT_CODES, deliver
from cityops.notify.formats import (
    SCHEMA,
    WECOM_COLOUR,
    WECOM_MAX_BYTES,
    NotifyConfigError,
    build_request,
    dingtalk_payload,
    dingtalk_sign,
    feishu_payload,
    feishu_sign,
    generic_payload,
    generic_signature,
    wecom_image_payload,
    wecom_payload,
)
from cityops.notify.message import EVENTS, DeliveryRecord, Notification
from cityops.notify.notifier import Notifier
from cityops.notify.wording import EVENT_ZH, LEVEL_ZH, STATE_ZH, headline, level_label

__all__ = [
    "EVENTS",
    "EVENT_ZH",
    "LEVEL_RANK",
    "LEVEL_ZH",
    "MAX_ANSWER_BYTES",
    "RATE_LIMIT_CODES",
    "SCHEMA",
    "STATE_ZH",
    "WECOM_COLOUR",
    "WECOM_MAX_BYTES",
    "DeliveryRecord",
    "EventKind",
    "Format",
    "Level",
    "Notification",
    "NotificationTarget",
    "Notifier",
    "NotifyConfigError",
    "build_request",
    "deliver",
    "dingtalk_payload",
    "dingtalk_sign",
    "feishu_payload",
    "feishu_sign",
    "generic_payload",
    "generic_signature",
    "headline",
    "level_label",
    "wecom_image_payload",
    "wecom_payload",
]
