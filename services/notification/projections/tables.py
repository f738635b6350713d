"""The notification service's tables (created by its migrations).

`notification_deliveries`: one row per (notice, recipient) — unique — written in the
transaction that issues the notice (the consumer's, with its inbox record): the recipient's
inbox item and, when they are mailed, the mail's state (`pending` → `sent` | `refused`;
`digest` → `digested` for a reviewer's daily digest; `inbox` when no mail goes out).
`notification_cases` (case → unit), `notification_units` and `notification_contacts` (a
unit's contacts) say who the applicants of a case are; `notification_people` holds each
person known from their token, with their preferences (written over HTTP: not a projection,
like `notification_attempts` and `notification_reads` below): the worker's tries and the read
marks live in tables of their own, so that a rebuild compares only what events wrote.
`notification_deadlines` holds each base's deadlines the notifier reminds of (one row per
deadline: open, met or ended, and the leads reminded), from the `deadlines-<base>` streams.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, UniqueConstraint

from shared.schema import Position

ID = 120
metadata = MetaData()

deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("seq", Position, primary_key=True, autoincrement=True),
    Column("delivery_id", String(64), nullable=False, unique=True),
    Column("notice_id", String(ID), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("stream_id", String(ID + 20), nullable=False),
    Column("user_id", String(200), index=True),
    Column("email", String(320)),
    Column("language", String(2), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("case_id", String(ID), nullable=False),
    Column("unit_name", String(200)),
    Column("facts", Text, nullable=False),  # JSON object of the facts
    Column("status", String(10), nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", String(40)),
    Column("last_error", Text),
    Column("message_id", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("sent_at", String(40)),
    UniqueConstraint("notice_id", "recipient", name="uq_notification_once"),
)

cases = Table(
    "notification_cases",
    metadata,
    Column("case_id", String(ID), primary_key=True),
    Column("unit_id", String(ID), nullable=False),
    Column("unit_name", String(200), nullable=False),
    Column("jurisdiction", String(12), nullable=False),
)

units = Table(
    "notification_units",
    metadata,
    Column("unit_id", String(ID), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("jurisdiction", String(12), nullable=False),
)

contacts = Table(
    "notification_contacts",
    metadata,
    Column("unit_id", String(ID), primary_key=True),
    Column("email", String(320), primary_key=True),
    Column("name", String(200), nullable=False),
)

people = Table(
    "notification_people",
    metadata,
    Column("user_id", String(200), primary_key=True),
    Column("roles", Text, nullable=False),  # space-separated
    Column("org_id", String(ID), index=True),
    Column("jurisdictions", Text, nullable=False),  # space-separated
    Column("email", String(320)),
    Column("language", String(2), nullable=False),
    Column("email_enabled", Integer, nullable=False),
    Column("opt_out", Text, nullable=False),  # space-separated kinds
    Column("digest", String(10), nullable=False),  # off | daily
    Column("seen_at", String(40), nullable=False),
)

#: A base's deadlines (`domain/deadlines.py`): the scheduler's tick reads the open ones near
#: their day. `due_on`/`known_on` are null while only the deadline's meeting has been read.
deadlines = Table(
    "notification_deadlines",
    metadata,
    Column("deadline_id", String(ID), primary_key=True),
    Column("base_id", String(ID), nullable=False, index=True),
    Column("case_id", String(ID), nullable=False),
    Column("obligation", String(30), nullable=False),
    Column("due_on", String(10), index=True),
    Column("known_on", String(10)),
    Column("status", String(10), nullable=False),  # open | met | ended
    Column("reminded", Text, nullable=False),  # space-separated lead days, ascending
    Column("upstream", String(200)),
    Column("facts", Text, nullable=False),  # JSON object of the facts
)

# Not projections (no event writes them; a rebuild leaves them alone):

#: The delivery worker's tries of each pending mail: how many, when the next is due (the
#: service's clock), the last failure (SMTP code and text only), and until when a worker holds
#: the row for a send (real time: a process's claim, not a case's time).
attempts = Table(
    "notification_attempts",
    metadata,
    Column("delivery_id", String(64), primary_key=True),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", String(40), nullable=False),
    Column("last_error", Text),
    Column("claimed_until", String(40)),
)

#: A person's read marks (written over HTTP, kept apart from the projected deliveries).
reads = Table(
    "notification_reads",
    metadata,
    Column("delivery_id", String(64), primary_key=True),
    Column("user_id", String(200), nullable=False, index=True),
    Column("read_at", String(40), nullable=False),
)
