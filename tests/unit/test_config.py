"""config.load: defaults, the shipped config.yaml, SMSREG_<SECTION>_<KEY> overrides for every key,
type/range/choice checks that name the key, and secrets that never show themselves.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

from smsreg import config, errors

ROOT = Path(config.__file__).resolve().parent.parent


def load_yaml(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> config.Config:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return config.load(path, environ or {})


def env_name(section: str, key: str) -> str:
    return f"SMSREG_{section}_{key}".upper()


def all_keys() -> list[tuple[str, dataclasses.Field[Any]]]:
    sections = {s.name: s for s in dataclasses.fields(config.Config)}
    hints = {name: config._hints(config.Config)[name] for name in sections}
    return [(name, fld) for name in sections for fld in dataclasses.fields(hints[name])]


# Keys whose valid values have a shape of their own.
SPECIAL_VALUES: dict[str, tuple[str, Any]] = {
    "metrics.listen": ("127.0.0.1:9200", "127.0.0.1:9200"),
    "expiry.after": ("72h", "72h"),
    "registration.extra_id_prefixes": (" 097 ,098,", frozenset({"097", "098"})),
    "registration.blocked_id_numbers": ("123456789,201499999", frozenset({"123456789", "201499999"})),
    "replies.success": ("OK {0} {1}", "OK {0} {1}"),
    "replies.reminder": ("MK {1} cho {0}", "MK {1} cho {0}"),
}


def override_for(section: str, fld: dataclasses.Field[Any]) -> tuple[str, Any]:
    """A valid environment value for a key, different from its default, and the value it must give."""
    dotted = f"{section}.{fld.name}"
    if dotted in SPECIAL_VALUES:
        return SPECIAL_VALUES[dotted]
    default = getattr(getattr(config.Config(), section), fld.name)
    lo, hi, choices = fld.metadata["lo"], fld.metadata["hi"], fld.metadata["choices"]
    if isinstance(default, bool):
        return ("false", False) if default else ("yes", True)
    if isinstance(default, config.Secret):
        return "s3cr3t", config.Secret("s3cr3t")  # smpp.password: at most 8 characters
    if choices:
        other = next(c for c in choices if c != default)
        return other, other
    if isinstance(default, int):
        value = default + 1 if hi is None or default + 1 <= hi else default - 1
        return str(value), value
    if isinstance(default, float):
        number = default + 0.5 if hi is None or default + 0.5 <= hi else float(lo)
        return repr(number), number
    if isinstance(default, str):
        return f"x{default}y", f"x{default}y"
    raise AssertionError(f"no override rule for {dotted}: {default!r}")


# --- defaults --------------------------------------------------------------------------------------


def test_defaults_load_without_a_file() -> None:
    cfg = config.load("/dev/null", {})
    assert cfg == config.Config()
    assert cfg.database.pool_min == 2 and cfg.smpp.temp_error_status == 0x64
    assert cfg.registration.blocked_id_numbers == frozenset({"201499999"})
    assert cfg.registration.min_age == 14 and cfg.registration.redelivery_window_s == 600
    assert cfg.replies.gsm_only is True
    assert cfg.expiry.after_s == 3 * 86400


def test_a_missing_default_file_means_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert config.load(None, {}) == config.Config()


def test_the_shipped_config_yaml_documents_the_code_defaults() -> None:
    shipped = config.load(ROOT / "config.yaml", {})
    defaults = config.Config()
    differing = [
        f"{section}.{fld.name}" for section, fld in all_keys()
        if getattr(getattr(shipped, section), fld.name) != getattr(getattr(defaults, section), fld.name)
    ]
    assert differing == ["database.url"]  # the dev database; the code default is production's


def test_smsreg_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("smpp:\n  port: 2776\n")
    assert config.load(None, {"SMSREG_CONFIG": str(path)}).smpp.port == 2776


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(errors.ConfigError, match="not found"):
        config.load(tmp_path / "nope.yaml", {})
    with pytest.raises(errors.ConfigError, match="not found"):
        config.load(None, {"SMSREG_CONFIG": str(tmp_path / "nope.yaml")})


# --- environment overrides ---------------------------------------------------------------------------


@pytest.mark.parametrize(("section", "fld"), all_keys(), ids=lambda v: getattr(v, "name", v))
def test_every_key_is_overridable_from_the_environment(section: str, fld: dataclasses.Field[Any]) -> None:
    text, expected = override_for(section, fld)
    cfg = config.load("/dev/null", {env_name(section, fld.name): text})
    value = getattr(getattr(cfg, section), fld.name)
    assert value == expected
    assert value != getattr(getattr(config.Config(), section), fld.name)
    assert type(value) is type(expected)


def test_all_overrides_at_once() -> None:
    environ = {}
    expected = {}
    for section, fld in all_keys():
        text, value = override_for(section, fld)
        environ[env_name(section, fld.name)] = text
        expected[f"{section}.{fld.name}"] = value
    cfg = config.load("/dev/null", environ)
    assert {f"{s}.{f.name}": getattr(getattr(cfg, s), f.name) for s, f in all_keys()} == expected


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    cfg = load_yaml(tmp_path, "smpp:\n  port: 2776\n  host: a\n", {"SMSREG_SMPP_PORT": "2777"})
    assert (cfg.smpp.port, cfg.smpp.host) == (2777, "a")


@pytest.mark.parametrize(("text", "value"), [
    ("1", True), ("true", True), ("TRUE", True), (" Yes ", True), ("on", True),
    ("0", False), ("false", False), ("No", False), ("OFF", False),
])
def test_bool_from_env(text: str, value: bool) -> None:
    assert config.load("/dev/null", {"SMSREG_SMPP_TLS": text}).smpp.tls is value


@pytest.mark.parametrize("text", ["", "2", "y", "enabled", "truee"])
def test_bad_bool_from_env(text: str) -> None:
    with pytest.raises(errors.ConfigError, match=r"smpp\.tls"):
        config.load("/dev/null", {"SMSREG_SMPP_TLS": text})


@pytest.mark.parametrize(("text", "value"), [("100", 100), (" 12 ", 12), ("0x58", 0x58), ("0X14", 0x14)])
def test_int_from_env_decimal_and_hex(text: str, value: int) -> None:
    assert config.load("/dev/null", {"SMSREG_SMPP_TEMP_ERROR_STATUS": text}).smpp.temp_error_status == value


@pytest.mark.parametrize("text", ["", "12.0", "1e3", "-1", "+5", "0x", "١٢", "twelve", "1_000"])
def test_bad_int_from_env(text: str) -> None:
    with pytest.raises(errors.ConfigError, match=r"smpp\.window"):
        config.load("/dev/null", {"SMSREG_SMPP_WINDOW": text})


@pytest.mark.parametrize(("text", "value"), [("2.5", 2.5), ("7", 7.0), ("1e1", 10.0), (" 3 ", 3.0)])
def test_float_from_env(text: str, value: float) -> None:
    assert config.load("/dev/null", {"SMSREG_SMPP_MAX_TPS": text}).smpp.max_tps == value


@pytest.mark.parametrize("text", ["", "fast", "1,5", "nan", "NaN", "inf", "-inf"])
def test_bad_float_from_env(text: str) -> None:
    with pytest.raises(errors.ConfigError, match=r"smpp\.max_tps"):
        config.load("/dev/null", {"SMSREG_SMPP_MAX_TPS": text})


@pytest.mark.parametrize(("text", "value"), [
    ("", frozenset()), ("048", frozenset({"048"})), (" 048 , ,049,", frozenset({"048", "049"})),
])
def test_list_from_env(text: str, value: frozenset[str]) -> None:
    cfg = config.load("/dev/null", {"SMSREG_REGISTRATION_EXTRA_ID_PREFIXES": text})
    assert cfg.registration.extra_id_prefixes == value


@pytest.mark.parametrize("name", ["SMSREG_SMPP_PASWORD", "SMSREG_DATABASE_URI", "SMSREG_REPLIES_SUCCES",
                                  "SMSREG_LOGGING_LEVELS"])
def test_a_misspelt_override_is_an_error(name: str) -> None:
    with pytest.raises(errors.ConfigError, match=name):
        config.load("/dev/null", {name: "x"})


def test_tool_variables_are_not_overrides() -> None:
    environ = {"SMSREG_TEST_DSN": "x", "SMSREG_CONFIG": "/dev/null", "SMSREG_PATHS_SQL_DIR": "/tmp"}
    assert config.load("/dev/null", environ) == config.Config()


@pytest.mark.parametrize(("name", "value", "key"), [
    ("SMSREG_SMPP_PORT", "0", "smpp.port"),
    ("SMSREG_SMPP_PORT", "65536", "smpp.port"),
    ("SMSREG_DATABASE_POOL_MAX", "201", "database.pool_max"),
    ("SMSREG_LOGGING_LEVEL", "debug", "logging.level"),
    ("SMSREG_SMPP_MO_DEFAULT_ALPHABET", "utf8", "smpp.mo_default_alphabet"),
    ("SMSREG_METRICS_LISTEN", "9108", "metrics.listen"),
    ("SMSREG_EXPIRY_AFTER", "3 days", "expiry.after"),
    ("SMSREG_REPLIES_SUCCESS", "TK {0}", "replies.success"),
    ("SMSREG_REGISTRATION_EXTRA_ID_PREFIXES", "48", "registration.extra_id_prefixes"),
    ("SMSREG_REGISTRATION_EXTRA_ID_PREFIXES", "097,0x9", "registration.extra_id_prefixes"),
    ("SMSREG_REGISTRATION_BLOCKED_ID_NUMBERS", "201499999,2014 9999", "registration.blocked_id_numbers"),
])
def test_a_bad_env_value_names_the_key(name: str, value: str, key: str) -> None:
    with pytest.raises(errors.ConfigError, match=re.escape(key)):
        config.load("/dev/null", {name: value})


# --- the file ------------------------------------------------------------------------------------------


def test_yaml_values_of_every_type(tmp_path: Path) -> None:
    cfg = load_yaml(tmp_path, """
database: {url: "postgresql://u:pw@h/db", pool_min: 1, pool_max: 3, connect_timeout_s: 2}
smpp: {tls: true, temp_error_status: 0x58, max_tps: 12.5, password: "pw"}
registration: {extra_id_prefixes: ["097", "098"], blocked_id_numbers: []}
metrics: {listen: "[::1]:9200"}
expiry: {after: 90m}
logging: {level: DEBUG, format: json}
""")
    assert cfg.database.url.reveal() == "postgresql://u:pw@h/db"
    assert (cfg.database.pool_min, cfg.database.pool_max) == (1, 3)
    assert cfg.database.connect_timeout_s == 2.0 and isinstance(cfg.database.connect_timeout_s, float)
    assert (cfg.smpp.tls, cfg.smpp.temp_error_status, cfg.smpp.max_tps) == (True, 0x58, 12.5)
    assert cfg.smpp.password == config.Secret("pw")
    assert cfg.registration.extra_id_prefixes == frozenset({"097", "098"})
    assert cfg.registration.blocked_id_numbers == frozenset()
    assert config.parse_listen("metrics.listen", cfg.metrics.listen) == ("::1", 9200)
    assert cfg.expiry.after_s == 5400
    assert (cfg.logging.level, cfg.logging.format) == ("DEBUG", "json")


def test_empty_file_and_empty_section_mean_defaults(tmp_path: Path) -> None:
    assert load_yaml(tmp_path, "") == config.Config()
    assert load_yaml(tmp_path, "smpp:\n") == config.Config()


@pytest.mark.parametrize(("text", "key"), [
    ("smtp:\n  host: x\n", "smtp"),                                 # unknown section
    ("smpp:\n  hostname: x\n", "smpp.hostname"),                    # unknown key
    ("smpp:\n  port: '2775'\n", "smpp.port"),                       # string for int
    ("smpp:\n  port: 2775.0\n", "smpp.port"),                       # float for int
    ("smpp:\n  port: true\n", "smpp.port"),                         # bool for int
    ("smpp:\n  tls: 'yes'\n", "smpp.tls"),                          # string for bool
    ("smpp:\n  tls: 1\n", "smpp.tls"),                              # int for bool
    ("smpp:\n  max_tps: fast\n", "smpp.max_tps"),                   # string for float
    ("smpp:\n  max_tps: false\n", "smpp.max_tps"),                  # bool for float
    ("smpp:\n  max_tps: .nan\n", "smpp.max_tps"),                   # NaN passes no range check
    ("smpp:\n  host: 5\n", "smpp.host"),                            # int for str
    ("smpp:\n  password: 1234\n", "smpp.password"),                 # int for a secret
    ("registration:\n  blocked_id_numbers: '201499999'\n", "registration.blocked_id_numbers"),
    ("registration:\n  extra_id_prefixes: [[1]]\n", "registration.extra_id_prefixes"),
    # What parse.Rules refuses must be refused here, by key, not later by a traceback in the worker.
    ("registration:\n  extra_id_prefixes: ['48']\n", "registration.extra_id_prefixes"),
    ("registration:\n  extra_id_prefixes: ['04a']\n", "registration.extra_id_prefixes"),
    ("registration:\n  extra_id_prefixes: [077]\n", "registration.extra_id_prefixes"),  # YAML octal: 63
    ("registration:\n  blocked_id_numbers: ['20149999x']\n", "registration.blocked_id_numbers"),
    ("registration:\n  blocked_id_numbers: [01234567]\n", "registration.blocked_id_numbers"),  # octal
    ("smpp:\n  port: 0\n", "smpp.port"),                            # below range
    ("smpp:\n  port: 70000\n", "smpp.port"),                        # above range
    ("database:\n  statement_timeout_ms: -1\n", "database.statement_timeout_ms"),
    ("database:\n  connect_timeout_s: 0.01\n", "database.connect_timeout_s"),
    ("registration:\n  redelivery_window_s: 604801\n", "registration.redelivery_window_s"),
    ("logging:\n  level: TRACE\n", "logging.level"),                # not a choice
    ("logging:\n  format: xml\n", "logging.format"),
    ("smpp:\n  latin1_codec: utf-8\n", "smpp.latin1_codec"),
    ("database:\n  pool_min: 5\n  pool_max: 4\n", "database.pool_min"),
    ("smpp:\n  reconnect_min_s: 10\n  reconnect_max_s: 5\n", "smpp.reconnect_min_s"),
    ("metrics:\n  listen: '9108'\n", "metrics.listen"),
    ("metrics:\n  listen: 'localhost:'\n", "metrics.listen"),
    ("metrics:\n  listen: ':99999'\n", "metrics.listen"),
    ("metrics:\n  listen: ':http'\n", "metrics.listen"),
    ("replies:\n  success: 'TK: {0}, thanks'\n", "replies.success"),
    ("replies:\n  success: 'MK: {1}'\n", "replies.success"),
    ("replies:\n  reminder: 'no placeholders'\n", "replies.reminder"),
    ("expiry:\n  after: 0d\n", "expiry.after"),
    ("expiry:\n  after: 3w\n", "expiry.after"),
    ("smpp:\n  system_id: abcdefghijklmnop\n", "smpp.system_id"),  # SMPP C-Octet String limits
    ("smpp:\n  password: '123456789'\n", "smpp.password"),
    ("smpp:\n  source_addr: 'Đà Nẵng'\n", "smpp.source_addr"),
    ("smpp: 5\n", "smpp"),                                          # section not a mapping
    ("smpp: [port]\n", "smpp"),
    ("smpp: false\n", "smpp"),
])
def test_a_bad_file_value_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(errors.ConfigError, match=re.escape(key)):
        load_yaml(tmp_path, text)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "smpp: {port: [\n"])
def test_a_file_that_is_not_a_mapping_is_an_error(tmp_path: Path, text: str) -> None:
    with pytest.raises(errors.ConfigError, match=r"config\.yaml"):
        load_yaml(tmp_path, text)


def test_other_braces_in_a_reply_template_are_allowed(tmp_path: Path) -> None:
    cfg = load_yaml(tmp_path, "replies:\n  success: '{x} TK {0} MK {1} {}'\n")
    assert cfg.replies.success == "{x} TK {0} MK {1} {}"


@pytest.mark.parametrize(("text", "seconds"), [
    ("3d", 259200), ("72h", 259200), ("90m", 5400), ("600s", 600), ("600", 600), (" 1.5h ", 5400)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert config.parse_duration("k", text) == seconds


@pytest.mark.parametrize(("text", "parsed"), [
    (":9108", ("0.0.0.0", 9108)), ("127.0.0.1:80", ("127.0.0.1", 80)), ("[::]:9108", ("::", 9108))])
def test_parse_listen(text: str, parsed: tuple[str, int]) -> None:
    assert config.parse_listen("k", text) == parsed


# --- secrets -------------------------------------------------------------------------------------------


def test_secrets_never_show_in_repr_or_str() -> None:
    cfg = config.load("/dev/null", {"SMSREG_DATABASE_URL": "postgresql://app:dbpass-42@db/smsreg",
                                    "SMSREG_SMPP_PASSWORD": "hunter2"})
    for text in (repr(cfg), str(cfg), repr(cfg.database), str(cfg.smpp), repr(cfg.smpp.password),
                 str(cfg.database.url), f"{cfg.smpp.password}", "%s" % (cfg.smpp.password,)):  # noqa: UP031
        assert "hunter2" not in text and "dbpass-42" not in text
    assert cfg.smpp.password.reveal() == "hunter2"
    assert cfg.database.url.reveal() == "postgresql://app:dbpass-42@db/smsreg"


def test_describe_masks_secrets_and_shows_the_rest() -> None:
    cfg = config.load("/dev/null", {"SMSREG_SMPP_PASSWORD": "hunter2", "SMSREG_SMPP_PORT": "2776"})
    described = config.describe(cfg)
    assert "hunter2" not in repr(described)
    assert described["smpp"]["password"] == "***"
    assert described["database"]["url"] == "***"
    assert described["smpp"]["port"] == 2776
    assert described["registration"]["blocked_id_numbers"] == ["201499999"]
    assert set(described) == {s.name for s in dataclasses.fields(config.Config)}
    assert config.describe(config.load("/dev/null", {}))["smpp"]["password"] == ""


def test_secret_equality_and_truth() -> None:
    assert config.Secret("a") == config.Secret("a") != config.Secret("b")
    assert config.Secret("a") != "a"
    assert not config.Secret("") and config.Secret("x")


def test_config_is_frozen() -> None:
    cfg = config.Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.smpp.port = 1  # type: ignore[misc]
