"""Outcomes and the reply texts they produce: template rendering and GSM folding (pure)."""

from __future__ import annotations

import enum

from smsreg import codec, config


class Outcome(enum.StrEnum):
    OK = "ok"
    SYNTAX_ERROR = "syntax_error"
    DUPLICATE_ID = "duplicate_id"
    DUPLICATE_PHONE = "duplicate_phone"
    REDELIVERY = "redelivery"          # an SMSC re-sent an MO we already stored: no second reply
    INVALID_SENDER = "invalid_sender"  # not a Vietnamese mobile: stored, never answered


# The outcomes that queue a reply, and the replies.* template each one uses.
TEMPLATE_KEY = {
    Outcome.OK: "success",
    Outcome.SYNTAX_ERROR: "syntax_error",
    Outcome.DUPLICATE_ID: "duplicate_id",
    Outcome.DUPLICATE_PHONE: "duplicate_phone",
}


def render_template(cfg: config.RepliesConfig, key: str, username: str = "", password: str = "") -> str:
    """Fill {0} (user name) and {1} (password); fold to GSM 03.38 when replies.gsm_only.

    str.replace, not str.format: an operator's template may contain other braces.
    """
    template: str = getattr(cfg, key)
    text = template.replace("{0}", username).replace("{1}", password)
    return codec.fold_to_gsm(text) if cfg.gsm_only else text


def render(cfg: config.RepliesConfig, outcome: Outcome, username: str = "", password: str = "") -> str | None:
    key = TEMPLATE_KEY.get(outcome)
    return None if key is None else render_template(cfg, key, username, password)
