"""MLLP framing: any chunking, garbage counted, oversize blocks rejected without buffering them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.mllp import MllpFramer, MllpFramingError, MllpRejection, frame

MSG_A = b"MSH|^~\\&|A|||||20260101000000||ORU^R01^ORU_R01|1|P|2.6\rPID|||1"
MSG_B = b"MSH|^~\\&|B|||||20260101000000||ORU^R01^ORU_R01|2|P|2.6"


def test_frame_wraps_in_start_and_end_bytes() -> None:
    assert frame(b"abc") == b"\x0babc\x1c\r"


def test_frame_refuses_a_message_holding_a_framing_byte() -> None:
    with pytest.raises(MllpFramingError):
        frame(b"a\x1cb")
    with pytest.raises(MllpFramingError):
        frame(b"a\x0bb")


def test_two_messages_in_one_chunk() -> None:
    framer = MllpFramer()
    assert framer.feed(frame(MSG_A) + frame(MSG_B)) == [MSG_A, MSG_B]
    assert framer.counters.messages == 2
    assert framer.counters.bytes_discarded == 0


def test_byte_by_byte_equals_whole() -> None:
    stream = b"noise" + frame(MSG_A) + b"\r\n" + frame(MSG_B)
    whole = MllpFramer().feed(stream)
    framer = MllpFramer()
    pieces: list[bytes | MllpRejection] = []
    for i in range(len(stream)):
        pieces.extend(framer.feed(stream[i : i + 1]))
    assert pieces == whole == [MSG_A, MSG_B]
    assert framer.counters.bytes_discarded == len(b"noise") + 2


def test_bytes_outside_a_block_are_discarded_and_counted() -> None:
    framer = MllpFramer()
    assert framer.feed(b"xyz\x1c\r" + frame(MSG_A) + b"tail") == [MSG_A]
    assert framer.counters.bytes_discarded == 5 + 4


def test_oversize_block_is_rejected_and_framer_resyncs() -> None:
    framer = MllpFramer(max_message_bytes=100)
    big = b"MSH|^~\\&|BIG|" + b"x" * 500
    out = framer.feed(frame(big) + frame(MSG_A))
    assert len(out) == 2
    rejection, message = out
    assert isinstance(rejection, MllpRejection)
    assert "100-byte limit" in rejection.reason
    assert rejection.head.startswith(b"MSH|^~\\&|BIG|")
    assert message == MSG_A
    assert framer.counters.rejected == 1
    assert framer.counters.bytes_discarded == len(big)


def test_oversize_block_is_not_buffered_while_it_streams_in() -> None:
    framer = MllpFramer(max_message_bytes=1000)
    framer.feed(b"\x0b" + b"x" * 900)
    out = framer.feed(b"x" * 200)
    assert len(out) == 1 and isinstance(out[0], MllpRejection)
    for _ in range(100):  # 1 MB more of the same block: nothing accumulates
        assert framer.feed(b"x" * 10_000) == []
    assert len(framer._block) == 0
    assert framer.feed(b"\x1c\r" + frame(MSG_B)) == [MSG_B]


def test_new_start_byte_inside_a_block_rejects_the_cut_block() -> None:
    framer = MllpFramer()
    out = framer.feed(b"\x0bMSH|cut short" + frame(MSG_A))
    assert isinstance(out[0], MllpRejection)
    assert "cut short" in out[0].reason
    assert out[0].head == b"MSH|cut short"
    assert out[1] == MSG_A


def test_end_byte_without_carriage_return_is_rejected() -> None:
    framer = MllpFramer()
    out = framer.feed(b"\x0bMSH|x\x1cZ" + frame(MSG_A))
    assert isinstance(out[0], MllpRejection)
    assert "0x0D" in out[0].reason
    assert out[1] == MSG_A


def test_end_byte_split_across_chunks() -> None:
    framer = MllpFramer()
    assert framer.feed(b"\x0b" + MSG_A + b"\x1c") == []
    assert framer.feed(b"\r") == [MSG_A]
    assert framer.feed(b"\x0b" + MSG_B + b"\x1c") == []
    out = framer.feed(b"\x0b" + MSG_A + b"\x1c\r")  # 0x1C then a new block: the first is bad
    assert isinstance(out[0], MllpRejection)
    assert out[1] == MSG_A


def test_max_message_bytes_must_be_positive() -> None:
    with pytest.raises(ValueError):
        MllpFramer(0)


@given(st.lists(st.binary(max_size=40), max_size=20), st.integers(min_value=1, max_value=64))
def test_any_chunking_gives_the_same_result(noise: list[bytes], chunk: int) -> None:
    stream = b"".join(n.replace(b"\x0b", b"") + frame(MSG_A) for n in noise) + frame(MSG_B)
    whole = MllpFramer(max_message_bytes=4096).feed(stream)
    framer = MllpFramer(max_message_bytes=4096)
    pieces: list[bytes | MllpRejection] = []
    for i in range(0, len(stream), chunk):
        pieces.extend(framer.feed(stream[i : i + chunk]))
    assert pieces == whole
    assert pieces[-1] == MSG_B


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    framer = MllpFramer(max_message_bytes=50)
    out = framer.feed(data)
    for item in out:
        assert isinstance(item, bytes | MllpRejection)
        if isinstance(item, bytes):
            assert len(item) <= 50
