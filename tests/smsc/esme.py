"""A small ESME for driving the simulator: a real smpplib Client plus a reader thread.

It answers deliver_sm / data_sm with a status chosen by the test (None: no answer at all),
answers SMSC unbind and enquire_link, and collects submit_sm_resp by sequence number.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

StatusFor = Callable[[Any], "int | None"]


class _Sequences:
    """smpplib's generator is not thread-safe; the reader and the test thread both send."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sequence = 0

    @property
    def sequence(self) -> int:
        return self._sequence

    def next_sequence(self) -> int:
        with self._lock:
            self._sequence += 1
            return self._sequence


class Esme:
    """One bound connection to the simulator."""

    def __init__(self, address: tuple[str, int], *, status_for: StatusFor | None = None) -> None:
        self.client = smpplib.client.Client(
            address[0], address[1], timeout=0.3, allow_unknown_opt_params=True,
            sequence_generator=_Sequences(),
        )  # fmt: skip
        self.status_for: StatusFor = status_for or (lambda _pdu: 0)
        self.received: list[Any] = []  # deliver_sm / data_sm PDUs, in order
        self.others: list[Any] = []  # unbind, generic_nack, ...
        self.resps: dict[int, Any] = {}  # submit_sm_resp / data_sm_resp by sequence
        self.disconnected = threading.Event()
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def connect(self) -> None:
        """TCP connect only (for tests that bind by hand)."""
        self.client.connect()

    def bind(self, system_id: str = "smsreg", password: str = "secret", mode: str = "transceiver") -> Esme:
        """Connect, bind and start the reader. Raises smpplib PDUError on a refused bind."""
        self.client.connect()
        getattr(self.client, f"bind_{mode}")(system_id=system_id, password=password)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop the reader and close the socket (no unbind)."""
        self._stop.set()
        if self.client._socket is not None:
            with contextlib.suppress(OSError):
                self.client._socket.shutdown(socket.SHUT_RDWR)  # wakes the reader at once
        if self._thread.is_alive():
            self._thread.join(2)
        if self.client._socket is not None:
            self.client.disconnect()

    def send(self, pdu: Any) -> None:
        with self._send_lock:
            self.client.send_pdu(pdu)

    def submit(self, text: bytes = b"hello", *, destination: str = "84905123456", **fields: Any) -> int:
        """Send a submit_sm; return its sequence number."""
        fields.setdefault("source_addr", "8188")
        fields.setdefault("short_message", text)
        pdu = smpplib.smpp.make_pdu("submit_sm", client=self.client, destination_addr=destination, **fields)
        self.send(pdu)
        return int(pdu.sequence)

    def wait_resp(self, sequence: int, timeout: float = 5.0) -> Any:
        """The submit_sm_resp for sequence, or None on timeout."""
        with self._cond:
            self._cond.wait_for(lambda: sequence in self.resps, timeout)
            return self.resps.get(sequence)

    def wait_received(self, n: int, timeout: float = 5.0) -> list[Any]:
        """Wait for at least n deliver_sm / data_sm; return all received so far."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.received) >= n, timeout)
            return list(self.received)

    def wait_other(self, command: str, timeout: float = 5.0) -> Any:
        """The first non-MO PDU named command, or None on timeout."""
        def find() -> Any:
            return next((p for p in self.others if p.command == command), None)

        with self._cond:
            self._cond.wait_for(lambda: find() is not None, timeout)
            return find()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                pdu = self.client.read_pdu()
            except TimeoutError:
                continue
            except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError):
                break
            self._handle(pdu)
        self.disconnected.set()

    def _handle(self, pdu: Any) -> None:
        if pdu.command in ("deliver_sm", "data_sm"):
            self._answer_mo(pdu)
        elif pdu.command in ("submit_sm_resp", "data_sm_resp"):
            with self._cond:
                self.resps[pdu.sequence] = pdu
                self._cond.notify_all()
        elif pdu.command == "enquire_link":
            self._reply("enquire_link_resp", pdu)
        else:
            if pdu.command == "unbind":
                self._reply("unbind_resp", pdu)
            with self._cond:
                self.others.append(pdu)
                self._cond.notify_all()

    def _answer_mo(self, pdu: Any) -> None:
        status = self.status_for(pdu)
        with self._cond:
            self.received.append(pdu)
            self._cond.notify_all()
        if status is not None:
            self._reply(f"{pdu.command}_resp", pdu, status=status)

    def ack(self, mo: Any, status: int = 0) -> None:
        """Answer a deliver_sm / data_sm by hand (for a status_for that returned None)."""
        self._reply(f"{mo.command}_resp", mo, status=status)

    def _reply(self, command: str, request: Any, status: int = 0) -> None:
        resp = smpplib.smpp.make_pdu(command, client=self.client, status=status)
        resp.sequence = request.sequence
        try:
            self.send(resp)
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError):
            pass
