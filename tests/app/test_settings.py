"""The service's settings: files and variables, clear errors, and the Kafka client they make."""

from __future__ import annotations

from pathlib import Path

import pytest
from flowmaster.service.kafka import client_config
from flowmaster.service.settings import Settings, SettingsError

BASE = {
    "FM_SECRET_KEY": "k", "FM_PG_HOST": "db", "FM_PG_PASSWORD": "p", "FM_REDIS_NODES": "r1:6379,r2:6379",
    "FM_REDIS_PASSWORD": "p", "FM_KAFKA_BOOTSTRAP": "b1:9092", "FM_KAFKA_PASSWORD": "p",
}


def test_variables_files_and_secret_files(tmp_path: Path):
    settings_file = tmp_path / "api.yaml"
    settings_file.write_text("listen_port: 8100\nrate_limit: 7\nsession_ttl: 2h\n")
    secret = tmp_path / "kafka_password"
    secret.write_text("from-file\n")
    s = Settings.load({**BASE, "FM_SETTINGS_FILE": str(settings_file), "FM_RATE_LIMIT": "9",
                       "FM_KAFKA_PASSWORD_FILE": str(secret)})
    assert s.listen_port == 8100 and s.session_ttl == 7200.0
    assert s.rate_limit == 9  # a variable wins over the file
    assert s.kafka_password.get_secret_value() == "from-file"  # FM_X_FILE wins over FM_X
    assert s.redis_nodes == ["r1:6379", "r2:6379"]


def test_one_error_names_every_bad_setting():
    with pytest.raises(SettingsError) as exc:
        Settings.load({**BASE, "FM_LISTEN_PORT": "70000", "FM_SESSION_TTL": "soon", "FM_PG_HOST": ""} | {"FM_PG_PASSWORD": ""},
                      pg_password=None)
    message = str(exc.value)
    assert "listen_port" in message and "session_ttl" in message and "pg_password" in message


def test_plaintext_kafka_has_no_tls_settings():
    config = client_config(Settings.load(BASE))
    assert config["security.protocol"] == "SASL_PLAINTEXT" and "ssl.ca.location" not in config


def test_a_tls_listener_is_trusted_through_the_given_ca():
    config = client_config(Settings.load({**BASE, "FM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                                          "FM_KAFKA_SSL_CA_FILE": "/etc/flowmaster/kafka-ca/ca.crt"}))
    assert config["security.protocol"] == "SASL_SSL"
    assert config["ssl.ca.location"] == "/etc/flowmaster/kafka-ca/ca.crt"


def test_an_unknown_kafka_protocol_is_refused_by_name():
    with pytest.raises(SettingsError, match="kafka_security_protocol"):
        Settings.load({**BASE, "FM_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT"})
