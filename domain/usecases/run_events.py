"""The log lines of a run's life: one when it starts sending, one when it is over.

Only ids, the channel and counts go into them (as ``extra`` fields, so JSON logs carry
them as fields of their own): never the content, never an address.
"""

from __future__ import annotations

import logging

from domain.runs import MailingRun

log = logging.getLogger("mailforge.runs")


def run_started(run: MailingRun, recipients: int) -> None:
    channel = run.content.get("channel")
    log.info(
        "Run started: run %s of mailing %s, %d recipients via %s%s",
        run.id,
        run.mailing_id,
        recipients,
        channel,
        " (test)" if run.is_test else "",
        extra={
            "mailing_id": run.mailing_id,
            "run_id": run.id,
            "channel": channel,
            "recipients": recipients,
            "test": run.is_test,
        },
    )


def run_finished(run: MailingRun) -> None:
    t = run.totals
    duration = None
    if run.started_at is not None and run.finished_at is not None:
        duration = round((run.finished_at - run.started_at).total_seconds(), 3)
    log.info(
        "Run finished: run %s of mailing %s %s in %s s: delivered=%d failed=%d refused=%d"
        " not sent=%d",
        run.id,
        run.mailing_id,
        run.status.value,
        duration,
        t.delivered,
        t.failed,
        t.refused,
        t.pending + t.sending,
        extra={
            "mailing_id": run.mailing_id,
            "run_id": run.id,
            "status": run.status.value,
            "channel": run.content.get("channel"),
            "delivered": t.delivered,
            "failed": t.failed,
            "refused": t.refused,
            "not_sent": t.pending + t.sending,
            "duration_s": duration,
            "test": run.is_test,
        },
    )
