"""The app that `fmctl up` deployed (role flowmaster), as a newcomer and an operator see it.

- the README's walk-through runs as written, against the deployed app behind the edge, and
  its events arrive on Kafka;
- the verifier's app checks pass (version, readiness, 401s, schema head, outbox drained);
- an unauthenticated client is refused by the API (directly and through the edge) and by /metrics.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from fmctl.app_settings import app_processes
from fmctl.verify import run as verify
from fmctl.verify.report import Context

pytestmark = pytest.mark.live
ROOT = Path(__file__).resolve().parents[2]
BLOCKS = re.compile(r"```sh\n(.*?)```", re.S)


def walkthrough() -> str:
    text = (ROOT / "README.md").read_text()
    start, end = text.index("<!-- walkthrough:start"), text.index("<!-- walkthrough:end -->")
    blocks = BLOCKS.findall(text[start:end])
    assert len(blocks) >= 4, "the README's walk-through lost its shell blocks"
    return "\n".join(blocks)


def test_the_readme_walkthrough_runs_as_written(platform: Context):
    missing = [t for t in ("curl", "jq", "uuidgen", "openssl") if shutil.which(t) is None]
    if missing:
        pytest.fail(f"the walk-through needs {', '.join(missing)} (.ci/run installs them)")
    le = f"wt-{secrets.token_hex(4)}"  # a legal entity of this run: reruns never clash
    env = {**os.environ, "LE": le, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", walkthrough()], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, f"the walk-through failed ({proc.returncode}):\n{out[-3000:]}\n{proc.stderr[-3000:]}"
    assert re.search(r'\{"passed":\d+,"failed":0\}', out), out
    assert '{"version":"1.0.0"}' in out
    assert '"status":"waiting"' in out and '"approvalLevel"' in out
    assert '{"status":"completed"}' in out
    events = re.findall(r'\{"event_type":"([a-z_.]+)","actor":"[^"]+"\}', out)
    assert events == ["process.created", "draft.saved", "approval.recorded", "version.published",
                      "instance.started", "instance.completed"], out
    assert re.findall(r'^"(human_task\.\w+)"$', out, re.M) == ["human_task.ready", "human_task.completed"], out


def test_the_verifier_finds_the_app_as_the_spec_says(platform: Context):
    checks = list(verify(platform, ["app"]))
    bad = [c for c in checks if not c.ok]
    assert checks and not bad, bad


def test_an_unauthenticated_client_is_refused(platform: Context):
    spec = platform.spec
    api = next(p for p in app_processes(platform.data) if p["http"])
    base = f"http://{api['address']}:{api['port']}"
    edge = f"http://{platform.address(spec.gateway.edge_host)}:{spec.gateway.http_port}"
    assert requests.get(f"{base}/api/v1/processes", timeout=10).status_code == 401
    assert requests.get(f"{base}/api/v1/processes", headers={"Authorization": "Bearer forged"}, timeout=10).status_code == 401
    assert requests.get(f"{base}/metrics", auth=(spec.monitoring.admin_user, "wrong"), timeout=10).status_code == 401
    assert requests.post(f"{base}/api/v1/sessions", json={"username": "nobody", "password": "wrong"},
                         timeout=10).status_code == 401
    # Through the edge: no credentials is refused by nginx, a forged one by the app.
    assert requests.get(f"{edge}/api/v1/processes", timeout=10).status_code == 401
    assert requests.get(f"{edge}/api/v1/processes", headers={"Authorization": "Bearer forged"}, timeout=10).status_code == 401


def _pid(program: str) -> int:
    out = subprocess.run(["supervisorctl", "pid", program], capture_output=True, text=True).stdout.strip()
    return int(out) if out.isdigit() else 0


def test_a_hand_edited_settings_file_is_restored_and_the_service_restarted(platform: Context):
    """Drift on the host: `up --tags app` puts the spec's settings back and restarts the API on them."""
    if platform.spec.service_manager != "supervisor":
        pytest.skip("reads process ids from supervisor")
    from tests.live.conftest import fmctl

    host = platform.spec.app.host
    settings = Path(f"/etc/flowmaster/app/{host}/api.yaml")
    program = f"fm-flowmaster-api-{host}"
    original, before = settings.read_text(), _pid(program)
    assert before, f"{program} does not run"
    settings.write_text(original + 'log_level: "DEBUG"\n')  # a valid setting the spec does not set
    try:
        proc = fmctl("up", "--env", "local", "--tags", "app", "--json")
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert json.loads(proc.stdout)["changed"] >= 2  # the file, the restart
    finally:
        if settings.read_text() != original:  # the role failed: leave the host as it was
            settings.write_text(original)
    assert settings.read_text() == original
    after = _pid(program)
    assert after and after != before
    bad = [c for c in verify(platform, ["app"]) if not c.ok]
    assert not bad, bad


BROKEN_MIGRATION = '''"""Fails on purpose: the failed-deploy drill of tests/live/test_app.py."""
revision = "0099"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    raise RuntimeError("deliberately broken migration (drill)")


def downgrade() -> None:
    pass
'''


@pytest.mark.slow
def test_a_failed_migration_leaves_the_running_release_serving(platform: Context, tmp_path: Path):
    """Deploy a build whose new migration fails: the deploy stops before the switch, the running
    release keeps serving on an unchanged schema with its live settings untouched (a marker line in
    them survives), and the next ordinary deploy puts everything back as the spec says."""
    if platform.spec.service_manager != "supervisor":
        pytest.skip("reads process ids from supervisor")
    from tests.live.conftest import fmctl

    host = platform.spec.app.host
    home = Path(f"/opt/flowmaster/app/{host}")
    program = f"fm-flowmaster-api-{host}"
    src = tmp_path / "app"
    shutil.copytree(ROOT / "app", src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    (src / "flowmaster/migrations/versions/0099_broken_for_the_drill.py").write_text(BROKEN_MIGRATION)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path / "dist"),
                    str(src)], check=True, env={**os.environ, "SOURCE_DATE_EPOCH": "315532800"}, timeout=300)
    [wheel] = (tmp_path / "dist").glob("*.whl")
    current, pid = (home / "current").resolve(), _pid(program)
    releases = set((home / "releases").iterdir())
    settings = Path(f"/etc/flowmaster/app/{host}/api.yaml")
    original = settings.read_text()
    settings.write_text(original + "# marker: a failed deploy must not rewrite this file\n")
    try:
        proc = fmctl("up", "--env", "local", "--tags", "app", "--var", f"flowmaster_wheel={wheel}", "--json")
        assert proc.returncode != 0, "a deploy whose migration fails must fail"
        log = Path(json.loads(proc.stdout)["log"]).read_text()
        assert "deliberately broken migration" in log
        assert (home / "current").resolve() == current  # no switch
        assert _pid(program) == pid  # no restart
        assert settings.read_text().endswith("# marker: a failed deploy must not rewrite this file\n")
        bad = [c for c in verify(platform, ["app"]) if not c.ok]  # serving, schema still at this tree's head
        assert not bad, bad
    finally:
        for release in set((home / "releases").iterdir()) - releases:
            shutil.rmtree(release)
    restored = fmctl("up", "--env", "local", "--tags", "app", "--json")
    assert restored.returncode == 0, restored.stdout[-2000:]
    assert settings.read_text() == original
    again = fmctl("up", "--env", "local", "--tags", "app", "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["changed"] == 0, again.stdout[-2000:]
