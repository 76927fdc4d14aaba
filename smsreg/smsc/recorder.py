"""Thread-safe store of what the simulator saw: submits, reassembled replies, MOs, counters."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable

from smsreg import codec
from smsreg.smsc import fastpath, pdus
from smsreg.smsc.records import Counters, MoHandle, ReceiptSent, Reply, Submit

logger = logging.getLogger(__name__)

ReplyListener = Callable[[Reply], None]
_PartKey = tuple[str, str, int, int]  # source, destination, reference, total


def decode_text(payload: bytes, data_coding: int) -> str | None:
    """Text of user data (UDH already removed), or None if it is not decodable text."""
    return fastpath.decode_text(payload, data_coding)


def split_concat(fields: pdus.SubmitFields) -> tuple[tuple[int, int, int] | None, bytes]:
    """((reference, total, seqnum) or None, user data without UDH) of one submit."""
    data = fields.user_data
    if fields.esm_class & pdus.ESM_UDHI:
        concat, data = codec.split_udh(data)
        if concat is not None:
            return (concat.reference, concat.total, concat.seq), data
    if fields.sar is not None and fields.sar[1] > 1:
        return fields.sar, data
    return None, data


class Recorder:
    """Collects records; every public method may be called from any thread."""

    def __init__(self) -> None:
        # Entered through the RLock itself: Condition.__enter__ is a Python-level call per use.
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self.counters = Counters()
        self._submits: list[Submit] = []
        self._replies: list[Reply] = []
        self._duplicates: list[Reply] = []
        self._mo_log: list[MoHandle] = []
        self._receipts: list[ReceiptSent] = []
        self._partial: dict[_PartKey, dict[int, tuple[Submit, bytes]]] = {}
        self._seen: set[tuple[str, str]] = set()
        self._listeners: list[ReplyListener] = []

    def bump(self, name: str, n: int = 1) -> None:
        """Add n to one counter."""
        with self._lock:
            setattr(self.counters, name, getattr(self.counters, name) + n)

    def snapshot(self) -> Counters:
        """A copy of the counters."""
        with self._lock:
            return dataclasses.replace(self.counters)

    def add_listener(self, listener: ReplyListener) -> None:
        """Call listener(reply) on the reading thread for each completed reply."""
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: ReplyListener) -> None:
        """Stop calling listener."""
        with self._lock:
            self._listeners.remove(listener)

    def add_mo(self, handle: MoHandle) -> None:
        """Log an MO as it is first queued."""
        with self._lock:
            self._mo_log.append(handle)

    def add_receipt(self, receipt: ReceiptSent) -> None:
        """Log a delivery receipt as it is queued."""
        with self._lock:
            self._receipts.append(receipt)
            self.counters.receipts += 1

    def add_submit(self, submit: Submit, fields: pdus.SubmitFields) -> Reply | None:
        """Record an accepted submit; return the Reply it completes, if any."""
        concat, data = split_concat(fields)
        with self._lock:
            self._submits.append(submit)
            self.counters.submits += 1
            parts = self._collect(submit, concat, data)
            if parts is None:
                return None
            reply = self._make_reply(parts)
            self._store(reply)
            listeners = list(self._listeners)
            self._cond.notify_all()
        for listener in listeners:
            listener(reply)
        return reply

    def _collect(self, submit: Submit, concat: tuple[int, int, int] | None,
                 data: bytes) -> list[tuple[Submit, bytes]] | None:  # fmt: skip
        """The parts of the reply this submit completes, in order; None while incomplete."""
        if concat is None:
            return [(submit, data)]
        reference, total, seqnum = concat
        key = (submit.source, submit.destination, reference, total)
        parts = self._partial.setdefault(key, {})
        parts[seqnum] = (submit, data)  # a resent segment replaces the first copy
        if len(parts) < total:
            return None
        del self._partial[key]
        return [parts[n] for n in sorted(parts)]

    def _make_reply(self, parts: list[tuple[Submit, bytes]]) -> Reply:
        first, payload = parts[0]
        submits: tuple[Submit, ...] = (first,)
        if len(parts) > 1:  # the generators only for concatenated replies, the rarer kind
            payload = b"".join(data for _, data in parts)
            submits = tuple(submit for submit, _ in parts)
        return Reply(
            destination=first.destination,
            source=first.source,
            data_coding=first.data_coding,
            esm_class=first.esm_class,
            text=decode_text(payload, first.data_coding),
            parts=submits,
            payload=payload,
            received_at=time.monotonic(),
        )

    def _store(self, reply: Reply) -> None:
        self._replies.append(reply)
        self.counters.replies += 1
        key = (reply.destination, reply.text if reply.text is not None else reply.payload.hex())
        if key in self._seen:
            # The classic cause: a submit_sm resent after its resp was lost.
            self._duplicates.append(reply)
            self.counters.duplicates += 1
            logger.warning("duplicate reply to %s (%d so far)", reply.destination, len(self._duplicates))
        self._seen.add(key)

    def wait_replies(self, n: int, timeout: float) -> list[Reply]:
        """Wait until at least n replies were recorded; return all of them (fewer on timeout)."""
        with self._lock:
            self._cond.wait_for(lambda: len(self._replies) >= n, timeout)
            return list(self._replies)

    @property
    def replies(self) -> list[Reply]:
        """Every completed reply, in arrival order."""
        with self._lock:
            return list(self._replies)

    @property
    def duplicates(self) -> list[Reply]:
        """Replies whose destination and text repeat an earlier reply."""
        with self._lock:
            return list(self._duplicates)

    @property
    def submits(self) -> list[Submit]:
        """Every accepted submit_sm / data_sm PDU."""
        with self._lock:
            return list(self._submits)

    @property
    def incomplete(self) -> int:
        """Concatenated replies still missing segments."""
        with self._lock:
            return len(self._partial)

    @property
    def mo_log(self) -> list[MoHandle]:
        """Every MO sent, with its attempts and final status."""
        with self._lock:
            return list(self._mo_log)

    @property
    def receipts(self) -> list[ReceiptSent]:
        """Every delivery receipt queued."""
        with self._lock:
            return list(self._receipts)
