"""Flood mode: a window of MOs in flight, every MO acked and matched to its reply."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from smsreg.smsc import FloodResult, MoSpec, Simulator
from tests.smsc.conftest import WAIT_S
from tests.smsc.esme import Esme

MOS = 300


def _echo_esme(connect: Callable[..., Esme]) -> Esme:
    """An ESME that answers each MO with a reply to its sender, before acking it."""
    holder: list[Esme] = []

    def reply_then_ack(pdu: Any) -> int:
        holder[0].submit(b"MK: x", destination=pdu.source_addr.decode())
        return 0

    esme = connect(status_for=reply_then_ack)
    holder.append(esme)
    return esme


def test_flood_keeps_the_window_and_matches_replies(smsc: Simulator, connect: Callable[..., Esme]) -> None:
    esme = _echo_esme(connect)
    specs = (MoSpec(text=f"TK,{n}", source=f"849{n:08d}") for n in range(MOS))
    result = smsc.flood(specs, window=16, reply_timeout_s=10)
    assert (result.sent, result.acked, result.failed, result.missing_replies) == (MOS, MOS, 0, 0)
    assert len(result.ack_latencies_s) == len(result.reply_latencies_s) == MOS
    assert all(lat >= 0 for lat in result.ack_latencies_s)
    assert result.mo_per_s > 0 and result.summary()["acked"] == MOS
    assert len(esme.received) == MOS and len(smsc.replies) == MOS


def test_flood_never_exceeds_the_window() -> None:
    # A long response timer: the test acks by hand and must not race a redelivery.
    with Simulator(response_timeout_s=30) as smsc:
        esme = Esme(smsc.address, status_for=lambda _pdu: None).bind()
        try:
            specs = [MoSpec(text=f"TK,{n}", source=f"849{n:08d}") for n in range(8)]
            results: list[FloodResult] = []
            flood = threading.Thread(target=lambda: results.append(smsc.flood(specs, window=4, reply_timeout_s=0)))
            flood.start()
            first = esme.wait_received(4, WAIT_S)
            time.sleep(0.2)
            assert len(esme.received) == 4  # the window is full: nothing more until an ack
            for pdu in first:
                esme.ack(pdu)
            for pdu in esme.wait_received(8, WAIT_S)[4:]:
                esme.ack(pdu)
            flood.join(WAIT_S)
            assert results and results[0].acked == 8
        finally:
            esme.close()


def test_flood_without_an_esme_times_out(smsc: Simulator) -> None:
    with pytest.raises(TimeoutError):
        smsc.flood([MoSpec(text="TK,1", source="1"), MoSpec(text="TK,2", source="2")], window=1,
                   ack_timeout_s=0.3)  # fmt: skip


def test_percentile_is_nearest_rank() -> None:
    values = [0.4, 0.1, 0.3, 0.2]
    assert FloodResult.percentile(values, 50) == 0.2
    assert FloodResult.percentile(values, 100) == 0.4
    assert FloodResult.percentile([], 50) is None


def test_a_paced_load_is_not_held_back_for_batching(smsc: Simulator, connect: Callable[..., Esme]) -> None:
    # MOs taken together go out in one write; one must not wait for the iterator's next sleep.
    _echo_esme(connect)

    def paced() -> Iterator[MoSpec]:
        for n in range(8):
            if n:
                time.sleep(0.15)
            yield MoSpec(text=f"TK,{n}", source=f"849{n:08d}")

    result = smsc.flood(paced(), window=16, reply_timeout_s=10)
    assert result.acked == 8
    assert max(result.ack_latencies_s) < 0.1, result.ack_latencies_s


def test_a_fast_iterator_still_fills_the_window_in_one_go(smsc: Simulator, connect: Callable[..., Esme]) -> None:
    esme = _echo_esme(connect)
    specs = [MoSpec(text=f"TK,{n}", source=f"849{n:08d}") for n in range(64)]
    result = smsc.flood(iter(specs), window=32, reply_timeout_s=10)
    assert (result.acked, result.missing_replies) == (64, 0) and len(esme.received) == 64
