"""FM_* settings of the FlowMaster service, built from the spec by the same function the
deployment role and the Helm chart's values use (fmctl.app_settings)."""

from __future__ import annotations

from fmctl.app_settings import app_secret_refs, as_env, bare_app_settings
from fmctl.verify.report import Context


def service_env(ctx: Context, **overrides: str) -> dict[str, str]:
    env = as_env(bare_app_settings(ctx.data, "api"))
    env.update({f"FM_{k.upper()}": ctx.secret(ref) for k, ref in app_secret_refs(ctx.data).items()})
    # Tests start their own processes: the relay runs inside the API unless a test starts it
    # apart (the deployment always runs it as the `worker` service).
    env["FM_RELAY_IN_SERVICE"] = "true"
    env.update(overrides)
    return env
