"""The app's settings as the deployment derives them from the spec (fmctl/app_settings.py):
they load into the app's own Settings for every environment, carry the spec's numbers, and
hold no secret; the rendered settings file says the same."""

from __future__ import annotations

import pytest
import yaml
from flowmaster.service.settings import Settings

from fmctl.app_settings import COMMANDS, app_processes, app_secret_refs, as_env, bare_app_settings
from fmctl.render import render_one, spec_data
from fmctl.spec.loader import load_spec

ENVS = ("local", "dev", "staging", "prod")


@pytest.fixture(scope="module", params=ENVS)
def data(request) -> dict:
    return spec_data(load_spec(request.param).spec)


def _with_secrets(data: dict, settings: dict) -> dict:
    return {**settings, **{k: f"test-{k}" for k in app_secret_refs(data)}}


def test_every_service_the_app_runs_gets_valid_settings(data: dict):
    processes = app_processes(data)
    assert {p["service"] for p in processes} == set(COMMANDS) & set(data["app"]["services"])
    for p in processes:
        loaded = Settings(**_with_secrets(data, bare_app_settings(data, p["service"])))
        assert loaded.listen_port == data["app"]["services"][p["service"]]["port"]
        assert loaded.environment == data["name"]
        assert loaded.relay_in_service is False  # the worker service relays
        assert loaded.rate_limit == data["app"]["api"]["rate_limit"]
        assert loaded.idempotency_ttl == data["app"]["api"]["idempotency_ttl"] / 1000
        assert loaded.session_ttl == data["redis"]["uses"]["sessions"]["ttl"] / 1000
        assert loaded.relay_delivery_timeout == data["app"]["outbox"]["delivery_timeout"] / 1000
        assert len(loaded.redis_nodes) == len(data["redis"]["shards"])
        assert len(loaded.kafka_bootstrap) == len(data["kafka"]["brokers"])


def test_the_same_settings_reach_the_app_as_variables(data: dict):
    env = as_env(_with_secrets(data, bare_app_settings(data, "api")))
    assert Settings.load(env) == Settings(**_with_secrets(data, bare_app_settings(data, "api")))


def test_settings_hold_no_secret_and_every_secret_is_a_reference(data: dict):
    settings = bare_app_settings(data, "api")
    refs = app_secret_refs(data)
    assert not set(refs) & set(settings)
    assert all(r.split(":", 1)[0] in {"secret", "vault", "env"} for r in refs.values())
    required_secrets = {n for n, f in Settings.model_fields.items() if f.is_required() and n not in settings}
    assert required_secrets <= set(refs), "a required setting is neither derived nor a secret"


def test_a_service_without_a_command_is_refused_by_name(data: dict):
    with pytest.raises(ValueError, match=r"app\.services\.logging_console: the FlowMaster app has no command"):
        bare_app_settings(data, "logging_console")


@pytest.mark.parametrize("env", ENVS)
def test_the_rendered_settings_file_is_the_derived_mapping(env: str):
    spec = load_spec(env).spec
    data = spec_data(spec)
    for p in app_processes(data):
        rendered = yaml.safe_load(render_one(spec, "flowmaster/settings.yaml.j2", p))
        assert rendered == bare_app_settings(data, p["service"])
