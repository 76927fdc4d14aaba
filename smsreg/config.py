"""Configuration: config.yaml plus SMSREG_<SECTION>_<KEY> overrides, checked into frozen dataclasses.

Every key has a typed default below; a file or environment value that is unknown, of the wrong
type or out of range is rejected with a ConfigError that names the key.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from smsreg import errors

ENV_PREFIX = "SMSREG_"
DEFAULT_PATH = "config.yaml"


class Secret:
    """A string that never shows itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def _opt(default: Any, *, lo: float | None = None, hi: float | None = None,
         choices: tuple[str, ...] = ()) -> Any:
    """A dataclass field whose metadata carries its range or its allowed values."""
    meta = {"lo": lo, "hi": hi, "choices": choices}
    if isinstance(default, (list, frozenset, tuple)):
        return field(default_factory=lambda: default, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    url: Secret = _opt(Secret("postgresql://smsreg@127.0.0.1:5432/smsreg"))
    pool_min: int = _opt(2, lo=1, hi=100)
    pool_max: int = _opt(8, lo=1, hi=200)
    connect_timeout_s: float = _opt(5.0, lo=0.1, hi=120)
    statement_timeout_ms: int = _opt(5000, lo=0, hi=3_600_000)
    # How long one MO may wait for a reachable database before the SMSC gets a temporary
    # error; must stay well below the SMSC's own response timer.
    retry_budget_s: float = _opt(2.0, lo=0, hi=30)


@dataclass(frozen=True, slots=True)
class SmppConfig:
    host: str = _opt("")
    port: int = _opt(2775, lo=1, hi=65535)
    system_id: str = _opt("smsreg")
    password: Secret = _opt(Secret(""))
    system_type: str = _opt("")
    address_range: str = _opt("")
    tls: bool = _opt(False)
    source_addr: str = _opt("8188")
    source_addr_ton: int = _opt(3, lo=0, hi=6)
    source_addr_npi: int = _opt(0, lo=0, hi=18)
    dest_addr_ton: int = _opt(1, lo=0, hi=6)
    dest_addr_npi: int = _opt(1, lo=0, hi=18)
    enquire_link_s: float = _opt(30.0, lo=1, hi=3600)
    response_timeout_s: float = _opt(10.0, lo=0.1, hi=300)
    inactivity_s: float = _opt(120.0, lo=1, hi=86400)
    reconnect_min_s: float = _opt(1.0, lo=0.01, hi=600)
    reconnect_max_s: float = _opt(60.0, lo=0.01, hi=3600)
    workers: int = _opt(4, lo=1, hi=256)
    queue_size: int = _opt(1000, lo=1, hi=1_000_000)
    window: int = _opt(10, lo=1, hi=1000)
    max_tps: float = _opt(50.0, lo=0.1, hi=100_000)
    temp_error_status: int = _opt(0x64, lo=1, hi=0xFFFFFFFF)
    registered_delivery: bool = _opt(True)
    mo_default_alphabet: str = _opt("gsm", choices=("gsm", "latin1", "ascii"))
    latin1_codec: str = _opt("latin-1", choices=("latin-1", "cp1252"))
    concat_timeout_s: float = _opt(120.0, lo=1, hi=86400)
    submit_max_attempts: int = _opt(5, lo=1, hi=100)
    shutdown_grace_s: float = _opt(10.0, lo=0, hi=600)


@dataclass(frozen=True, slots=True)
class RegistrationConfig:
    accept_cmnd9: bool = _opt(True)
    min_age: int = _opt(14, lo=0, hi=120)
    strict_id_check: bool = _opt(True)
    extra_id_prefixes: frozenset[str] = _opt(frozenset())
    blocked_id_numbers: frozenset[str] = _opt(frozenset({"201499999"}))
    redelivery_window_s: int = _opt(600, lo=0, hi=7 * 86400)


@dataclass(frozen=True, slots=True)
class PasswordsConfig:
    # argon2id; OWASP minimum by default (architecture.md: ~22 ms a hash here).
    time_cost: int = _opt(2, lo=1, hi=100)
    memory_kib: int = _opt(19456, lo=8, hi=4_194_304)
    parallelism: int = _opt(1, lo=1, hi=64)


@dataclass(frozen=True, slots=True)
class RepliesConfig:
    gsm_only: bool = _opt(True)
    success: str = _opt(
        "TK: {0}, MK: {1} la tai khoan su dung HT Chinh quyen đien tu. "
        "De nghi anh chi doi mat khau trong vong 03 ngay de bao mat. Cam on!")
    syntax_error: str = _opt(
        "Loi. Tin nhan sai cu phap. Cu phap dung la: TK,Ho va ten,soCMND,nn.tt.nnnn "
        "(ngay thang nam sinh)")
    duplicate_id: str = _opt(
        "So CMND da duoc su dung de dang ky tai khoan tren he thong Chinh quyen dien tu")
    duplicate_phone: str = _opt(
        "So dien thoai nay da duoc su dung de dang ky tai khoan tren he thong Chinh quyen dien tu")
    reminder: str = _opt(
        "TK: {0}, MK moi: {1}. Mat khau cu da bi huy vi chua doi sau 03 ngay. "
        "De nghi anh chi doi mat khau de bao mat. Cam on!")


@dataclass(frozen=True, slots=True)
class ExpiryConfig:
    after: str = _opt("3d")  # a duration: 3d, 72h, 90m, 600s or plain seconds
    max_rotations: int = _opt(3, lo=0, hi=100)
    batch_size: int = _opt(200, lo=1, hi=100_000)
    metrics_file: str = _opt("")

    @property
    def after_s(self) -> float:
        return parse_duration("expiry.after", self.after)


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    enabled: bool = _opt(True)
    listen: str = _opt(":9108")


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    level: str = _opt("INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    format: str = _opt("text", choices=("text", "json"))


@dataclass(frozen=True, slots=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    smpp: SmppConfig = field(default_factory=SmppConfig)
    registration: RegistrationConfig = field(default_factory=RegistrationConfig)
    passwords: PasswordsConfig = field(default_factory=PasswordsConfig)
    replies: RepliesConfig = field(default_factory=RepliesConfig)
    expiry: ExpiryConfig = field(default_factory=ExpiryConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)


def load(path: str | os.PathLike[str] | None = None,
         environ: Mapping[str, str] | None = None) -> Config:
    """Read the YAML file (if it exists or was named) and apply environment overrides.

    Raises ConfigError naming the file or the offending key.
    """
    environ = os.environ if environ is None else environ
    named = path if path is not None else environ.get("SMSREG_CONFIG")
    raw = _read_yaml(Path(named) if named else Path(DEFAULT_PATH), must_exist=bool(named))
    sections: dict[str, Any] = {}
    for sec in dataclasses.fields(Config):
        data = raw.pop(sec.name, None)
        data = {} if data is None else data
        if not isinstance(data, dict):
            raise errors.ConfigError(f"{sec.name}: expected a mapping of keys")
        section_type = _hints(Config)[sec.name]
        sections[sec.name] = _build_section(sec.name, section_type, data, environ)
    if raw:
        raise errors.ConfigError(f"unknown section: {sorted(raw)[0]}")
    _check_env_names(environ)
    return Config(**sections)


def _read_yaml(path: Path, *, must_exist: bool) -> dict[str, Any]:
    if not path.exists():
        if must_exist:
            raise errors.ConfigError(f"config file not found: {path}")
        return {}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise errors.ConfigError(f"{path}: cannot read YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise errors.ConfigError(f"{path}: top level must be a mapping of sections")
    return dict(data)


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _build_section(name: str, cls: Any, data: dict[str, Any],
                   environ: Mapping[str, str]) -> Any:
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for key in data:
        if key not in hints:
            raise errors.ConfigError(f"unknown key: {name}.{key}")
    for fld in dataclasses.fields(cls):
        dotted = f"{name}.{fld.name}"
        env_name = f"{ENV_PREFIX}{name}_{fld.name}".upper()
        if env_name in environ:
            value = _from_env(dotted, hints[fld.name], environ[env_name])
        elif fld.name in data:
            value = _coerce(dotted, hints[fld.name], data[fld.name])
        else:
            continue
        _check_range(dotted, fld.metadata, value)
        values[fld.name] = value
    section = cls(**values)
    _check_section(name, section)
    return section


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _from_env(key: str, typ: Any, text: str) -> Any:
    """Environment values are strings; read them as the key's type."""
    if typ is bool:
        low = text.strip().lower()
        if low in _TRUE | _FALSE:
            return low in _TRUE
        raise errors.ConfigError(f"{key}: expected true or false, got {text!r}")
    if typ is int:
        return _coerce(key, typ, _int_text(key, text))
    if typ is float:
        try:
            return float(text)
        except ValueError:
            raise errors.ConfigError(f"{key}: expected a number") from None
    if typing.get_origin(typ) is frozenset:
        return _coerce(key, typ, [p.strip() for p in text.split(",") if p.strip()])
    return _coerce(key, typ, text)


def _int_text(key: str, text: str) -> int:
    if not re.fullmatch(r"\s*(0[xX][0-9a-fA-F]+|[0-9]+)\s*", text):
        raise errors.ConfigError(f"{key}: expected an integer, got {text!r}")
    return int(text.strip(), 0)


def _coerce(key: str, typ: Any, value: Any) -> Any:
    """Check a YAML value against the key's declared type (no silent conversions)."""
    if typ is Secret:
        if isinstance(value, Secret):
            return value
        if not isinstance(value, str):
            raise errors.ConfigError(f"{key}: expected a string")
        return Secret(value)
    if typ is bool:
        if not isinstance(value, bool):
            raise errors.ConfigError(f"{key}: expected true or false")
        return value
    if typ is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise errors.ConfigError(f"{key}: expected an integer")
        return value
    if typ is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise errors.ConfigError(f"{key}: expected a number")
        return float(value)
    if typ is str:
        if not isinstance(value, str):
            raise errors.ConfigError(f"{key}: expected a string")
        return value
    if typing.get_origin(typ) is frozenset:
        # Strings only: YAML reads 048 as the integer 40 and 0123 as octal 83.
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise errors.ConfigError(f"{key}: expected a list of quoted strings")
        return frozenset(value)
    raise errors.ConfigError(f"{key}: unsupported type {typ!r}")  # pragma: no cover


def _check_range(key: str, meta: Mapping[str, Any], value: Any) -> None:
    lo, hi, choices = meta.get("lo"), meta.get("hi"), meta.get("choices") or ()
    if isinstance(value, float) and not math.isfinite(value):
        raise errors.ConfigError(f"{key}: must be a finite number, got {value}")
    if lo is not None and value < lo:
        raise errors.ConfigError(f"{key}: must be at least {lo}, got {value}")
    if hi is not None and value > hi:
        raise errors.ConfigError(f"{key}: must be at most {hi}, got {value}")
    if choices and value not in choices:
        raise errors.ConfigError(f"{key}: must be one of {', '.join(choices)}, got {value!r}")


def _check_section(name: str, section: Any) -> None:
    """Rules that tie several keys of one section together."""
    if isinstance(section, DatabaseConfig) and section.pool_min > section.pool_max:
        raise errors.ConfigError("database.pool_min: must not exceed database.pool_max")
    if isinstance(section, SmppConfig):
        _check_smpp(section)
    if isinstance(section, RegistrationConfig):
        _check_registration(section)
    if isinstance(section, ExpiryConfig):
        section.after_s  # noqa: B018 - validates the duration
    if isinstance(section, MetricsConfig):
        parse_listen(f"{name}.listen", section.listen)
    if isinstance(section, RepliesConfig):
        for key in ("success", "reminder"):
            template = getattr(section, key)
            if "{0}" not in template or "{1}" not in template:
                raise errors.ConfigError(f"replies.{key}: must contain {{0}} (user name) and {{1}} (password)")


# SMPP 3.4 §4.1: C-Octet Strings including their NUL; longer values would be cut silently.
_SMPP_MAX_CHARS = {"system_id": 15, "password": 8, "system_type": 12, "address_range": 40, "source_addr": 20}


def _check_smpp(section: SmppConfig) -> None:
    if section.reconnect_min_s > section.reconnect_max_s:
        raise errors.ConfigError("smpp.reconnect_min_s: must not exceed smpp.reconnect_max_s")
    for key, limit in _SMPP_MAX_CHARS.items():
        value = getattr(section, key)
        text = value.reveal() if isinstance(value, Secret) else value
        if len(text) > limit or not text.isascii():
            raise errors.ConfigError(f"smpp.{key}: at most {limit} ASCII characters (SMPP 3.4)")


_ID_PREFIX = re.compile(r"[0-9]{3}")
_ID_NUMBER = re.compile(r"[0-9]{9}|[0-9]{12}")


def _check_registration(section: RegistrationConfig) -> None:
    for prefix in section.extra_id_prefixes:
        if not _ID_PREFIX.fullmatch(prefix):
            raise errors.ConfigError(f"registration.extra_id_prefixes: {prefix!r} is not 3 digits")
    for number in section.blocked_id_numbers:
        if not _ID_NUMBER.fullmatch(number):
            raise errors.ConfigError(f"registration.blocked_id_numbers: {number!r} is not 9 or 12 digits")


def parse_listen(key: str, value: str) -> tuple[str, int]:
    """'host:port' or ':port' → (host, port); an empty host means every interface."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isascii() or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise errors.ConfigError(f"{key}: expected host:port, got {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


_DURATION = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(key: str, text: str) -> float:
    """'3d', '72h', '90m', '600s' or '600' → seconds."""
    match = _DURATION.fullmatch(text)
    if not match or float(match[1]) <= 0:
        raise errors.ConfigError(f"{key}: expected a duration such as 3d, 72h or 600s, got {text!r}")
    return float(match[1]) * _UNIT_S[match[2]]


def _check_env_names(environ: Mapping[str, str]) -> None:
    """A misspelt override (SMSREG_SMPP_PASWORD) silently doing nothing is worse than an error.

    Only names whose second part is a config section are checked, so tooling variables such
    as SMSREG_TEST_DSN stay free.
    """
    sections = {sec.name for sec in dataclasses.fields(Config)}
    known = {f"{ENV_PREFIX}{sec.name}_{f.name}".upper()
             for sec in dataclasses.fields(Config)
             for f in dataclasses.fields(_hints(Config)[sec.name])}
    for name in environ:
        if not name.startswith(ENV_PREFIX) or name in known:
            continue
        section = name[len(ENV_PREFIX):].split("_", 1)[0].lower()
        if section in sections:
            raise errors.ConfigError(f"unknown environment override: {name}")


def describe(cfg: Config) -> dict[str, dict[str, Any]]:
    """The effective configuration as plain data, secrets masked (for check-config)."""
    out: dict[str, dict[str, Any]] = {}
    for sec in dataclasses.fields(cfg):
        section = getattr(cfg, sec.name)
        out[sec.name] = {}
        for fld in dataclasses.fields(section):
            value = getattr(section, fld.name)
            if isinstance(value, Secret):
                value = "***" if value else ""
            elif isinstance(value, frozenset):
                value = sorted(value)
            out[sec.name][fld.name] = value
    return out
