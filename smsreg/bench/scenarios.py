"""The five scenarios and the citizen messages they send.

Every MO has its own source number (the simulator matches a reply to its MO by MSISDN), and
every valid registration its own identity number, so each one should create an account.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from smsreg.smsc import MoSpec

VALID = "registration"
WRONG = "wrong_syntax"

# Texts a citizen gets the wrong-syntax reply for (no hashing, no account).
_WRONG_TEXTS = (
    "TK Nguyen Van An 15.08.1990",
    "Dang ky tai khoan",
    "TK,Nguyen Van An,048090,01.02.1990",
    "tk;Le Thi Cuc;12345;1/1/1990",
)


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    count: int = 0                # messages (flood); 0 for paced
    valid_every: int = 0          # every Nth message is a valid registration (0: none)
    only_valid: bool = False
    rate_per_s: float = 0.0       # paced: MOs offered per second
    duration_s: float = 0.0       # paced: for this long
    rss_every: int = 0            # soak: sample the worker's RSS every this many MOs

    def scaled(self, scale: float) -> Scenario:
        """The same scenario with counts and durations multiplied by scale (never below a floor)."""
        return dataclasses.replace(self, count=_at_least(self.count * scale, 100) if self.count else 0,
                       duration_s=max(5.0, self.duration_s * scale) if self.duration_s else 0.0,
                       rss_every=_at_least(self.rss_every * scale, 10) if self.rss_every else 0)

    @property
    def paced(self) -> bool:
        return self.rate_per_s > 0

    @property
    def total(self) -> int:
        return round(self.rate_per_s * self.duration_s) if self.paced else self.count


def _at_least(value: float, floor: int) -> int:
    return max(floor, round(value))


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("replies", "20,000 wrong-syntax MOs, flooded (no hashing)", count=20_000),
    Scenario("registrations", "2,000 valid distinct registrations, flooded (argon2 as configured)",
             count=2_000, only_valid=True),
    Scenario("mixed", "10,000 MOs, 10 % valid registrations, flooded", count=10_000, valid_every=10),
    Scenario("paced", "50 MOs/s for 60 s, 10 % valid registrations", rate_per_s=50, duration_s=60,
             valid_every=10),
    Scenario("soak", "100,000 MOs, 10 % valid, flooded; worker RSS every 10,000", count=100_000,
             valid_every=10, rss_every=10_000),
)}


def phone(n: int) -> str:
    """A distinct canonical Vietnamese mobile number per n (n < 10**8)."""
    return f"849{n:08d}"


def id_number(n: int) -> str:
    """A distinct 12-digit CCCD (Da Nang, a man born in 1990) per n (n < 10**6)."""
    return f"048090{n:06d}"


def registration_text(n: int) -> str:
    return f"TK,Nguyen Van An,{id_number(n)},01.02.1990"


def kind_of(scenario: Scenario, i: int) -> str:
    if scenario.only_valid or (scenario.valid_every and i % scenario.valid_every == 0):
        return VALID
    return WRONG


def messages(scenario: Scenario) -> Iterator[tuple[MoSpec, str]]:
    """(MO, kind) for each message of the scenario, in sending order."""
    valid = 0
    for i in range(scenario.total):
        kind = kind_of(scenario, i)
        if kind == VALID:
            text = registration_text(valid)
            valid += 1
        else:
            text = _WRONG_TEXTS[i % len(_WRONG_TEXTS)]
        yield MoSpec(text=text, source=phone(i)), kind


def select(names: str) -> list[Scenario]:
    """'all' or a comma-separated list of scenario names. Raises ValueError for an unknown name."""
    if names.strip() in ("", "all"):
        return list(SCENARIOS.values())
    chosen = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if name not in SCENARIOS:
            raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)} or all")
        chosen.append(SCENARIOS[name])
    return chosen
