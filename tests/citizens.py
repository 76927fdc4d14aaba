"""Test citizens: distinct valid phones, identity numbers and registration texts, by number."""

from __future__ import annotations


def phone(n: int) -> str:
    """A distinct valid Vietnamese mobile number (canonical form) per n."""
    return f"8490{n:07d}"


def id_number(n: int) -> str:
    """A distinct 12-digit CCCD number valid for a man born in 1990 in Da Nang (048, 0, 90)."""
    return f"048090{n:06d}"


def reg_text(n: int, name: str = "Nguyen Van An") -> str:
    return f"TK,{name},{id_number(n)},01.02.1990"
