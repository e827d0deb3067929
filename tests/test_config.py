"""Configuration: read once from an environment mapping into one immutable Config.

A bad value raises ConfigError whose message names the variable.
"""

from __future__ import annotations

import dataclasses

import pytest

from example_app import __version__
from example_app.config import ENVIRONMENT_VARIABLES, Config, ConfigError, load_config

# --- defaults ------------------------------------------------------------------------------


def test_empty_environment_gives_the_defaults():
    assert load_config({}) == Config(
        port=8000,
        log_level="INFO",
        version=__version__,
        git_commit=None,
        max_body_bytes=1024 * 1024,
        processes=2,
        metrics_dir=None,
        service_name="example-app",
    )


def test_config_defaults_match_load_config_defaults():
    assert Config() == load_config({})


def test_service_name_is_example_app():
    assert load_config({}).service_name == "example-app"


DEFAULTS = [
    ("PORT", "port", 8000),
    ("VCAP_APP_PORT", "port", 8000),
    ("LOG_LEVEL", "log_level", "INFO"),
    ("VERSION", "version", __version__),
    ("GIT_COMMIT", "git_commit", None),
    ("MAX_BODY_BYTES", "max_body_bytes", 1024 * 1024),
    ("WEB_CONCURRENCY", "processes", 2),
    ("PROMETHEUS_MULTIPROC_DIR", "metrics_dir", None),
    ("OUTBOUND_TIMEOUT", "outbound_timeout", 2.0),
    ("REDIS_URL", "redis_url", None),
    ("PRICING_URL", "pricing", None),
    ("VCAP_SERVICES", "redis_url", None),
]


@pytest.mark.parametrize(("variable", "attribute", "default"), DEFAULTS)
def test_empty_variable_gives_the_default(variable, attribute, default):
    assert getattr(load_config({variable: ""}), attribute) == default


@pytest.mark.parametrize(
    ("variable", "attribute", "default"),
    [row for row in DEFAULTS if row[0] not in ("GIT_COMMIT", "PROMETHEUS_MULTIPROC_DIR")],
)
def test_whitespace_only_validated_variable_gives_the_default(variable, attribute, default):
    assert getattr(load_config({variable: " \t "}), attribute) == default


# --- PORT and VCAP_APP_PORT ----------------------------------------------------------------


def test_port_is_read_from_port():
    assert load_config({"PORT": "8080"}).port == 8080


def test_port_is_read_from_vcap_app_port_when_port_is_unset():
    assert load_config({"VCAP_APP_PORT": "9090"}).port == 9090


def test_port_beats_vcap_app_port():
    assert load_config({"PORT": "8080", "VCAP_APP_PORT": "9090"}).port == 8080


def test_empty_port_falls_back_to_vcap_app_port():
    # An empty variable counts as unset everywhere else in the configuration.
    assert load_config({"PORT": "", "VCAP_APP_PORT": "9090"}).port == 9090


@pytest.mark.parametrize(("raw", "port"), [("1", 1), ("65535", 65535), (" 8080 ", 8080)])
def test_port_accepts_integers_from_1_to_65535(raw, port):
    assert load_config({"PORT": raw}).port == port


@pytest.mark.parametrize("raw", ["0", "65536", "-1", "abc", "80.5", "0x50", "8080abc"])
@pytest.mark.parametrize("variable", ["PORT", "VCAP_APP_PORT"])
def test_invalid_port_raises_config_error_naming_the_variable(variable, raw):
    with pytest.raises(ConfigError, match=rf"^{variable} must be an integer from 1 to 65535"):
        load_config({variable: raw})


def test_invalid_vcap_app_port_is_ignored_when_port_is_set():
    assert load_config({"PORT": "8080", "VCAP_APP_PORT": "nope"}).port == 8080


def test_config_error_quotes_the_bad_value():
    with pytest.raises(ConfigError, match=r"got 'abc'$"):
        load_config({"PORT": "abc"})


def test_config_error_is_a_value_error():
    assert issubclass(ConfigError, ValueError)


# --- LOG_LEVEL -----------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])
def test_log_level_accepts_each_level(level):
    assert load_config({"LOG_LEVEL": level}).log_level == level


@pytest.mark.parametrize(
    ("raw", "level"), [("debug", "DEBUG"), ("Warning", "WARNING"), (" error ", "ERROR")]
)
def test_log_level_is_case_insensitive(raw, level):
    assert load_config({"LOG_LEVEL": raw}).log_level == level


@pytest.mark.parametrize("raw", ["verbose", "WARN", "FATAL", "10", "INFO DEBUG"])
def test_invalid_log_level_raises_config_error_naming_the_variable(raw):
    with pytest.raises(ConfigError, match=r"^LOG_LEVEL must be one of DEBUG, INFO, WARNING"):
        load_config({"LOG_LEVEL": raw})


# --- VERSION -------------------------------------------------------------------------------


def test_version_is_read_from_version():
    assert load_config({"VERSION": "1.2.3-rc.1+build.7"}).version == "1.2.3-rc.1+build.7"


def test_version_is_stripped():
    assert load_config({"VERSION": "  1.2.3 "}).version == "1.2.3"


def test_version_of_100_characters_is_accepted():
    assert load_config({"VERSION": "v" * 100}).version == "v" * 100


@pytest.mark.parametrize("raw", ["v" * 101, "1.0\n", "1.0\tbeta", "1.0\x1b[31m"])
def test_invalid_version_raises_config_error_naming_the_variable(raw):
    with pytest.raises(ConfigError, match=r"^VERSION must be printable text"):
        load_config({"VERSION": raw})


# --- GIT_COMMIT ----------------------------------------------------------------------------


def test_git_commit_is_read_from_git_commit():
    commit = "0123456789abcdef0123456789abcdef01234567"

    assert load_config({"GIT_COMMIT": commit}).git_commit == commit


def test_empty_git_commit_is_none():
    assert load_config({"GIT_COMMIT": ""}).git_commit is None


# --- MAX_BODY_BYTES ------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "size"), [("1", 1), ("65536", 65536), (str(2**31), 2**31)])
def test_max_body_bytes_accepts_integers_from_1_to_2_to_the_31(raw, size):
    assert load_config({"MAX_BODY_BYTES": raw}).max_body_bytes == size


@pytest.mark.parametrize("raw", ["0", "-5", str(2**31 + 1), "1MB", "1e6"])
def test_invalid_max_body_bytes_raises_config_error_naming_the_variable(raw):
    with pytest.raises(ConfigError, match=r"^MAX_BODY_BYTES must be an integer from 1 to"):
        load_config({"MAX_BODY_BYTES": raw})


# --- WEB_CONCURRENCY -----------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "processes"), [("1", 1), ("4", 4), ("64", 64)])
def test_web_concurrency_sets_processes_from_1_to_64(raw, processes):
    assert load_config({"WEB_CONCURRENCY": raw}).processes == processes


@pytest.mark.parametrize("raw", ["0", "65", "-2", "two", "2.0"])
def test_invalid_web_concurrency_raises_config_error_naming_the_variable(raw):
    with pytest.raises(ConfigError, match=r"^WEB_CONCURRENCY must be an integer from 1 to 64"):
        load_config({"WEB_CONCURRENCY": raw})


# --- PROMETHEUS_MULTIPROC_DIR --------------------------------------------------------------


def test_prometheus_multiproc_dir_sets_metrics_dir():
    config = load_config({"PROMETHEUS_MULTIPROC_DIR": "/tmp/metrics"})

    assert config.metrics_dir == "/tmp/metrics"


# --- the object ----------------------------------------------------------------------------


def test_config_is_frozen():
    config = load_config({})

    with pytest.raises(dataclasses.FrozenInstanceError):
        config.port = 1  # type: ignore[misc]


def test_unknown_variables_are_ignored():
    assert load_config({"HOME": "/root", "DEBUG": "yes"}) == Config()


class RecordingEnvironment(dict):
    """An environment that remembers every variable asked for, present or not."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.asked.add(key)
        return super().__contains__(key)


def test_every_variable_the_config_reads_is_listed_in_environment_variables():
    environ = RecordingEnvironment()
    load_config(environ)
    assert environ.asked
    assert environ.asked <= set(ENVIRONMENT_VARIABLES)
