"""Reply texts (domain.md §8, §11.5): rendering, GSM folding, and what each reply costs in segments."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from smsreg import codec, config, passwords, replies
from smsreg.replies import Outcome

DEFAULTS = config.RepliesConfig()
UCS2 = dataclasses.replace(DEFAULTS, gsm_only=False)
LONGEST_USERNAME = "048090012345"
CMND9 = "201234567"

password_st = st.text(alphabet=passwords.ALPHABET, min_size=passwords.LENGTH, max_size=passwords.LENGTH)
username_st = st.one_of(st.text(alphabet="0123456789", min_size=12, max_size=12),
                        st.text(alphabet="0123456789", min_size=9, max_size=9))


def test_the_shipped_templates_are_the_code_defaults() -> None:
    assert config.load(Path(__file__).resolve().parents[2] / "config.yaml", {}).replies == DEFAULTS


@given(username=username_st, password=password_st)
def test_every_default_reply_is_one_gsm_segment(username: str, password: str) -> None:
    for key in ("success", "syntax_error", "duplicate_id", "duplicate_phone", "reminder"):
        text = replies.render_template(DEFAULTS, key, username, password)
        assert codec.is_gsm(text), key
        assert codec.gsm_septets(text) <= codec.SINGLE_SEPTETS, key
        assert codec.segment_count(text) == 1, key
        assert [p.data_coding for p in codec.split_mt(text, reference=1)] == [codec.DC_GSM]


@given(password=password_st)
def test_success_reply_contains_username_and_password(password: str) -> None:
    text = replies.render(DEFAULTS, Outcome.OK, LONGEST_USERNAME, password)
    assert text == (f"TK: {LONGEST_USERNAME}, MK: {password} la tai khoan su dung HT Chinh quyen dien tu. "
                    "De nghi anh chi doi mat khau trong vong 03 ngay de bao mat. Cam on!")


def test_section_8_table() -> None:
    """Characters and segments exactly as domain.md §8 lists them."""
    pw = "Abcdefg2"
    assert len(replies.render_template(DEFAULTS, "success", LONGEST_USERNAME, pw)) == 143
    assert len(replies.render_template(DEFAULTS, "success", CMND9, pw)) == 140
    # The fixed part is 123 septets once đ is folded: one segment while username + password ≤ 37.
    assert codec.gsm_septets(replies.render_template(DEFAULTS, "success")) == 123
    assert codec.segment_count(replies.render_template(DEFAULTS, "success", "1" * 29, pw)) == 1
    assert codec.segment_count(replies.render_template(DEFAULTS, "success", "1" * 30, pw)) == 2
    assert [len(replies.render(DEFAULTS, o) or "") for o in (
        Outcome.SYNTAX_ERROR, Outcome.DUPLICATE_ID, Outcome.DUPLICATE_PHONE)] == [96, 78, 88]


@given(username=username_st, password=password_st)
def test_verbatim_success_reply_is_ucs2_in_three_segments(username: str, password: str) -> None:
    text = replies.render(UCS2, Outcome.OK, username, password)
    assert text is not None and "đien tu" in text
    assert not codec.is_gsm(text)
    parts = codec.split_mt(text, reference=7)
    assert len(parts) == codec.segment_count(text) == 3
    assert {p.data_coding for p in parts} == {codec.DC_UCS2}


def test_verbatim_other_replies_stay_one_gsm_segment() -> None:
    for outcome in (Outcome.SYNTAX_ERROR, Outcome.DUPLICATE_ID, Outcome.DUPLICATE_PHONE):
        text = replies.render(UCS2, outcome)
        assert text is not None and codec.is_gsm(text) and codec.segment_count(text) == 1


def test_syntax_and_duplicate_replies_are_the_source_texts() -> None:
    assert replies.render(DEFAULTS, Outcome.SYNTAX_ERROR) == (
        "Loi. Tin nhan sai cu phap. Cu phap dung la: TK,Ho va ten,soCMND,nn.tt.nnnn (ngay thang nam sinh)")
    assert replies.render(DEFAULTS, Outcome.DUPLICATE_ID) == (
        "So CMND da duoc su dung de dang ky tai khoan tren he thong Chinh quyen dien tu")
    assert replies.render(DEFAULTS, Outcome.DUPLICATE_PHONE) == (
        "So dien thoai nay da duoc su dung de dang ky tai khoan tren he thong Chinh quyen dien tu")
    # A username or password passed along with a rejection changes nothing.
    assert replies.render(DEFAULTS, Outcome.DUPLICATE_ID, "048090012345", "Abcdefg2") == \
        replies.render(DEFAULTS, Outcome.DUPLICATE_ID)


def test_outcomes_without_a_reply() -> None:
    assert replies.render(DEFAULTS, Outcome.REDELIVERY, "048090012345", "Abcdefg2") is None
    assert replies.render(DEFAULTS, Outcome.INVALID_SENDER) is None
    assert set(replies.TEMPLATE_KEY) == set(Outcome) - {Outcome.REDELIVERY, Outcome.INVALID_SENDER}


def test_other_braces_in_a_template_survive() -> None:
    cfg = dataclasses.replace(DEFAULTS, success="{x} TK {0} MK {1} {} {2} {0!r} {{1}}")
    assert replies.render(cfg, Outcome.OK, "201234567", "Abcdefg2") == \
        "{x} TK 201234567 MK Abcdefg2 {} {2} {0!r} {Abcdefg2}"
    cfg = dataclasses.replace(DEFAULTS, syntax_error="Sai cu phap {ten}: TK,{ho ten},...")
    assert replies.render(cfg, Outcome.SYNTAX_ERROR) == "Sai cu phap {ten}: TK,{ho ten},..."


def test_placeholders_can_come_in_any_order_and_repeat() -> None:
    cfg = dataclasses.replace(DEFAULTS, success="MK {1} / TK {0} / MK {1}")
    assert replies.render(cfg, Outcome.OK, "201234567", "Abcdefg2") == "MK Abcdefg2 / TK 201234567 / MK Abcdefg2"


def test_gsm_only_folds_an_operator_template() -> None:
    cfg = dataclasses.replace(DEFAULTS, duplicate_id="Số CMND đã được sử dụng. Cảm ơn!")
    assert replies.render(cfg, Outcome.DUPLICATE_ID) == "So CMND da duoc su dung. Cam on!"
    verbatim = dataclasses.replace(cfg, gsm_only=False)
    assert replies.render(verbatim, Outcome.DUPLICATE_ID) == "Số CMND đã được sử dụng. Cảm ơn!"
