"""The SMSC's answers to ESME requests: bind, unbind, enquire_link, submit_sm, data_sm, responses."""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from smsreg.smsc import fastpath, pdus, receipts
from smsreg.smsc.delivery import Dispatcher
from smsreg.smsc.esme import RECEIVER, TRANSCEIVER, TRANSMITTER, EsmeLink
from smsreg.smsc.faults import Faults
from smsreg.smsc.recorder import Recorder, decode_text, split_concat
from smsreg.smsc.records import ReceiptSent, Reply, Submit

logger = logging.getLogger(__name__)

BIND_MODES = {
    pdus.BIND_RECEIVER: RECEIVER,
    pdus.BIND_TRANSMITTER: TRANSMITTER,
    pdus.BIND_TRANSCEIVER: TRANSCEIVER,
}
_MO_RESPONSES = frozenset({pdus.DELIVER_SM | pdus.RESP_BIT, pdus.DATA_SM | pdus.RESP_BIT})


@dataclass(slots=True)
class Settings:
    """Behaviour that tests may change while the simulator runs (plain attribute writes)."""

    system_id: str = "smsreg"
    password: str = field(default="secret", repr=False)
    smsc_system_id: str = "smsreg-sim"
    receipts: bool = True
    receipt_delay_s: float = 0.0
    receipt_states: dict[str, int] = field(default_factory=dict)  # destination → message_state


def _str(value: bytes | None) -> str:
    return (value or b"").decode("latin-1")


class SmscProtocol:
    """Turns the PDUs read on a link into answers, records and deliveries."""

    def __init__(self, *, settings: Settings, recorder: Recorder, dispatcher: Dispatcher, faults: Faults,
                 on_bound: Callable[[EsmeLink], None], on_closed: Callable[[EsmeLink], None]) -> None:  # fmt: skip
        self._settings = settings
        self._recorder = recorder
        self._dispatcher = dispatcher
        self._faults = faults
        self._on_bound = on_bound
        self._on_closed = on_closed
        # Real SMSCs hand out opaque hex ids; a random start keeps runs distinguishable.
        self._ids = itertools.count(random.randrange(1 << 32))
        self._stamp = fastpath.MinuteStamp()
        self._requests: dict[int, Callable[[EsmeLink, int, int, bytes], None]] = {
            pdus.BIND_RECEIVER: self._on_bind,
            pdus.BIND_TRANSMITTER: self._on_bind,
            pdus.BIND_TRANSCEIVER: self._on_bind,
            pdus.UNBIND: self._on_unbind,
            pdus.ENQUIRE_LINK: self._on_enquire_link,
            pdus.SUBMIT_SM: self._on_submit,
            pdus.DATA_SM: self._on_submit,
        }

    def on_frame(self, link: EsmeLink, frame: bytes) -> None:
        """Dispatch one PDU read from link."""
        _, command_id, status, sequence = pdus.header(frame)
        if command_id & pdus.RESP_BIT:
            self._on_response(link, command_id, status, sequence)
            return
        if self._faults.silenced_for() > 0:
            self._recorder.bump("silenced")
            return
        handler = self._requests.get(command_id)
        if handler is None:
            logger.info("link %d: unsupported command 0x%08x; generic_nack", link.link_id, command_id)
            self._nack(link, sequence, pdus.ESME_RINVCMDID)
            return
        handler(link, command_id, sequence, frame)

    def on_framing_error(self, link: EsmeLink, error: pdus.FramingError) -> None:
        """Garbage on the stream: nack it and let the link close (resync is impossible)."""
        logger.warning("link %d: %s; closing it", link.link_id, error)
        self._recorder.bump("malformed")
        self._nack(link, 0, pdus.ESME_RINVCMDLEN)

    def on_closed(self, link: EsmeLink) -> None:
        """Redeliver what was in flight on that link elsewhere."""
        logger.info("link %d (%s) closed", link.link_id, link.peer)
        self._on_closed(link)
        self._dispatcher.on_link_closed(link.link_id)

    def next_message_id(self) -> str:
        """A fresh SMSC message id."""
        return f"{next(self._ids):010x}"

    def _nack(self, link: EsmeLink, sequence: int, status: int) -> None:
        self._recorder.bump("generic_nacks")
        link.send(pdus.pack(pdus.GENERIC_NACK, sequence, status=status))

    def _on_response(self, link: EsmeLink, command_id: int, status: int, sequence: int) -> None:
        if command_id in _MO_RESPONSES:
            self._dispatcher.on_response(link.link_id, sequence, status)
        elif command_id == pdus.GENERIC_NACK:
            # The ESME refused one of our PDUs outright; treat it as an error response.
            self._dispatcher.on_response(link.link_id, sequence, status or pdus.ESME_RSYSERR)
        elif command_id == pdus.UNBIND | pdus.RESP_BIT:
            link.send_and_close(b"")

    def _on_bind(self, link: EsmeLink, command_id: int, sequence: int, frame: bytes) -> None:
        if link.mode is not None:
            link.send(pdus.response(command_id, sequence, pdus.ESME_RALYBND))
            return
        try:
            bind = pdus.parse(frame)
        except pdus.MalformedPdu:
            self._recorder.bump("malformed")
            link.send(pdus.response(command_id, sequence, pdus.ESME_RSYSERR))
            return
        status = self._check_credentials(_str(bind.system_id), _str(bind.password))
        if status != pdus.ESME_ROK:
            self._recorder.bump("bind_failures")
            logger.warning("link %d: bind refused for system_id %r (status 0x%02x)",
                           link.link_id, _str(bind.system_id), status)  # fmt: skip
            link.send(pdus.response(command_id, sequence, status))
            return
        link.send(pdus.response(command_id, sequence, message_id=self._settings.smsc_system_id))
        link.flush()  # out of this thread's batch: other threads may deliver as soon as it is bound
        # Only now may deliver_sm flow: before the bind_resp it would be read as the answer.
        link.system_id = _str(bind.system_id)
        link.mode = BIND_MODES[command_id]
        self._recorder.bump("binds")
        logger.info("link %d (%s) bound as %s, system_id %r", link.link_id, link.peer, link.mode, link.system_id)
        self._on_bound(link)

    def _check_credentials(self, system_id: str, password: str) -> int:
        if system_id != self._settings.system_id:
            return pdus.ESME_RBINDFAIL
        if password != self._settings.password:
            return pdus.ESME_RINVPASWD
        return pdus.ESME_ROK

    def _on_unbind(self, link: EsmeLink, command_id: int, sequence: int, frame: bytes) -> None:
        logger.info("link %d: unbind requested by the ESME", link.link_id)
        link.send_and_close(pdus.response(command_id, sequence))

    def _on_enquire_link(self, link: EsmeLink, command_id: int, sequence: int, frame: bytes) -> None:
        link.send(pdus.response(command_id, sequence))

    def _on_submit(self, link: EsmeLink, command_id: int, sequence: int, frame: bytes) -> None:
        if not link.can_transmit:
            link.send(pdus.response(command_id, sequence, pdus.ESME_RINVBNDSTS))
            return
        try:
            fields = pdus.parse_submit(frame)
        except pdus.MalformedPdu as exc:
            logger.warning("link %d: undecodable submit (%s)", link.link_id, exc)
            self._recorder.bump("malformed")
            link.send(pdus.response(command_id, sequence, pdus.ESME_RSYSERR))
            return
        throttled = self._faults.take_throttle()
        if throttled is not None:
            self._recorder.bump("throttled")
            self._recorder.bump("submits")
            link.send(pdus.response(command_id, sequence, throttled))
            return
        submit, reply = self._accept(link, command_id, sequence, fields)
        if self._faults.take_lost_resp():
            logger.info("link %d: submit accepted as %s, dropping the link instead of answering",
                        link.link_id, submit.message_id)  # fmt: skip
            self._recorder.bump("lost_resps")
            link.abort()
        else:
            link.send(pdus.response(command_id, sequence, message_id=submit.message_id))
        if self._settings.receipts and fields.registered_delivery & 1:
            # A one-part reply's text is this submit's text: decoded once, not twice.
            text = reply.text if reply is not None and len(reply.parts) == 1 else None
            if text is None:
                text = decode_text(split_concat(fields)[1], fields.data_coding)
            self._queue_receipt(submit, text)

    def _accept(self, link: EsmeLink, command_id: int, sequence: int,
                fields: pdus.SubmitFields) -> tuple[Submit, Reply | None]:  # fmt: skip
        submit = Submit(
            link_id=link.link_id,
            sequence=sequence,
            command_id=command_id,
            source=fields.source,
            destination=fields.destination,
            esm_class=fields.esm_class,
            data_coding=fields.data_coding,
            registered_delivery=fields.registered_delivery,
            raw=fields.user_data,
            message_id=self.next_message_id(),
            received_at=time.monotonic(),
        )
        return submit, self._recorder.add_submit(submit, fields)

    def _queue_receipt(self, submit: Submit, text: str | None) -> None:
        settings = self._settings
        state = settings.receipt_states.get(submit.destination, receipts.DELIVERED)
        delivery = receipts.build_receipt_now(submit, text, state, self._stamp.now())
        self._recorder.add_receipt(ReceiptSent(submit.message_id, submit.destination, state, delivery))
        at = time.monotonic() + settings.receipt_delay_s if settings.receipt_delay_s > 0 else None
        self._dispatcher.dispatch(delivery, at=at)
