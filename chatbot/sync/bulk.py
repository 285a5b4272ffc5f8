"""``chatbot_sync``'s engine: send one kind of data to chatbot-node in batches, resumably.

The position reached is saved in :class:`chatbot.models.SyncState` after every batch chatbot-node
accepts. A run that fails leaves the state "failed" with the cursor at the last accepted record; the
next run resumes after it (unless told to start over), so nothing is sent twice and nothing skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.utils import timezone

from chatbot.conf import chatbot_settings
from chatbot.models import SyncState
from chatbot.shop import get_shop
from chatbot.shop.base import SYNC_KINDS
from chatbot.sync.client import DATASET_NAMES, DATASET_TYPES, SyncError, auth_headers, post, sync_path
from chatbot.sync.encoding import encode

#: Called after each batch with (records done in this pass, total or None).
Progress = Callable[[int, int | None], None]

#: A run that has sent nothing for this long (longer than any request's timeout) is taken for dead,
#: and another run of the kind may take over from its cursor.
RUN_LEASE = timedelta(minutes=5)


def run_lease() -> timedelta:
    """``RUN_LEASE``, or twice the longest a batch request may take when the timeouts are longer."""
    request = float(chatbot_settings.CONNECT_TIMEOUT) + float(chatbot_settings.READ_TIMEOUT)
    return max(RUN_LEASE, timedelta(seconds=2 * request))


REFUSED_HINT = "chatbot-node's JWT_SECRET must be the same as CHATBOT_SSO_SECRET"


def check_answer(kind: str, data: object) -> None:
    """chatbot-node answers 200 for any dataset type, even one it cannot read: the batch only counts
    when the answer names the expected type."""
    expected = DATASET_NAMES[kind]
    if not isinstance(data, dict) or data.get("success") is not True:
        raise SyncError(f"chatbot-node did not accept the batch: {str(data)[:200]}")
    filed = data.get("datasetType")
    if filed != expected:
        raise SyncError(
            f"chatbot-node filed the batch under {'dataset type ' + repr(filed) if filed else 'no dataset type'}, "
            f"not {expected!r}: CHATBOT['SYNC_PATH'] must put the type number ({{type}}) in the path"
        )


class SyncInProgress(Exception):
    """Another run is sending this kind right now; two would send every batch twice."""

    def __init__(self, state: SyncState):
        seen = state.heartbeat_at.isoformat(timespec="seconds") if state.heartbeat_at else "?"
        super().__init__(
            f"another chatbot_sync run is sending {state.kind} (last batch at {seen}). Wait for it to "
            f"finish; a run that sent nothing for {run_lease().seconds // 60} minutes is taken over, or "
            "use --force if it is known to have died."
        )


@dataclass
class SyncReport:
    kind: str
    batches: int
    records: int
    resumed_from: int
    total: int | None
    dry_run: bool
    ok: bool = True
    error: str = ""


def sync(
    kind: str,
    *,
    batch_size: int = 100,
    full: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    force: bool = False,
) -> SyncReport:
    """Send every ``kind`` record after the saved cursor (from the start when ``full`` or after a
    completed pass). Raises :class:`SyncError` after recording the failure, and
    :class:`SyncInProgress` (changing nothing) while another run of ``kind`` is alive, unless ``force``."""
    if kind not in SYNC_KINDS:
        raise ValueError(f"Unknown kind {kind!r}; choose from {', '.join(SYNC_KINDS)}")
    if batch_size < 1:
        raise ValueError("batch size must be at least 1")
    shop = get_shop()
    state, _ = SyncState.objects.get_or_create(kind=kind)
    resuming = not full and state.result in (SyncState.Result.FAILED, SyncState.Result.RUNNING) and state.cursor
    cursor = state.cursor if resuming else 0
    done_before = state.records_sent if resuming else 0
    total = shop.count_for_sync(kind, cursor)
    report = SyncReport(kind, 0, 0, cursor, total, dry_run)
    if dry_run:
        for batch in getattr(shop, f"iter_{kind}")(cursor, batch_size):
            report.batches += 1
            report.records += len(batch)
            if progress:
                progress(report.records, total)
        return report

    headers = auth_headers()
    now = timezone.now()
    claim = SyncState.objects.filter(pk=state.pk)
    if not force:
        # One statement decides between two runs started together: the second finds the first's mark.
        claim = claim.exclude(result=SyncState.Result.RUNNING, heartbeat_at__gt=now - run_lease())
    started = {
        "cursor": cursor,
        "records_sent": done_before,
        "batches_sent": state.batches_sent if resuming else 0,
        "result": SyncState.Result.RUNNING,
        "last_error": "",
        "started_at": now,
        "finished_at": None,
        "heartbeat_at": now,
    }
    if not claim.update(**started):
        state.refresh_from_db()
        raise SyncInProgress(state)
    for name, value in started.items():
        setattr(state, name, value)
    with requests.Session() as session:
        try:
            for batch in getattr(shop, f"iter_{kind}")(cursor, batch_size):
                body = {
                    "shopId": chatbot_settings.SHOP_ID,
                    "type": DATASET_TYPES[kind],
                    "batch": state.batches_sent + 1,
                    "cursor": cursor,
                    "items": [record.data for record in batch],
                }
                answer = post(sync_path(kind), encode(body), headers, session=session, refused_hint=REFUSED_HINT)
                check_answer(kind, answer.data)
                cursor = batch[-1].id
                report.batches += 1
                report.records += len(batch)
                state.cursor = cursor
                state.batches_sent += 1
                state.records_sent += len(batch)
                state.heartbeat_at = timezone.now()
                state.save(update_fields=["cursor", "batches_sent", "records_sent", "heartbeat_at"])
                if progress:
                    progress(report.records, total)
        except SyncError as exc:
            state.result = SyncState.Result.FAILED
            state.last_error = exc.detail[:2000]
            state.finished_at = timezone.now()
            state.save(update_fields=["result", "last_error", "finished_at"])
            report.ok, report.error = False, exc.detail
            raise
    state.result = SyncState.Result.OK
    state.finished_at = state.last_success_at = timezone.now()
    state.save(update_fields=["result", "finished_at", "last_success_at"])
    return report
