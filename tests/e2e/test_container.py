"""The container image, built from the Dockerfile and run as the image says.

No Docker engine is needed: podman builds the image (chroot isolation, and no registry:
the base image must be present locally, which `.ci/container-base` sees to) and buildah
runs it on the host's network. The test reads the image's own entrypoint and command and
runs exactly those, with settings passed the way an operator passes them (`-e`), then
checks what an operator would: liveness and readiness, the image's own HEALTHCHECK, a
signed slash command answered from the demo data, and that the service is not root.

Where podman or buildah is missing these tests are skipped; with `CI` set they fail, as
the PostgreSQL tests do, because CI must prove the image. The first build downloads and
installs the dependencies (minutes); later ones reuse podman's layer cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from tests.e2e.slack_requests import SECRET, header, slash
from tests.fakes.slack_api import FakeSlack, _free_port

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT = 30 * 60
SECRET_NAMES = re.compile(r"TOKEN|SECRET|PASSWORD|DATABASE_URL", re.IGNORECASE)


def _run(*command: str, timeout: float = 120) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        # Settings passed with --env are named, not shown: they include secrets.
        shown = " ".join(re.sub(r"^(--env=[^=]+)=.*", r"\1=…", part) for part in command)
        raise AssertionError(f"{shown} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


@pytest.fixture(scope="module")
def container_tools() -> None:
    missing = [tool for tool in ("podman", "buildah") if shutil.which(tool) is None]
    if missing:
        message = f"{' and '.join(missing)} not installed: the image cannot be built and run"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def image(container_tools: None, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The id of the image built from the working tree's Dockerfile."""
    work = tmp_path_factory.mktemp("image")
    log = work / "build.log"
    iid = work / "image.id"
    with log.open("w") as output:
        built = subprocess.run(
            [
                "podman",
                "build",
                "--isolation=chroot",
                "--pull=never",
                "--format=docker",
                f"--iidfile={iid}",
                "--tag=localhost/closeloop:test",
                str(ROOT),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    if built.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise AssertionError(
            f"podman build failed ({built.returncode}); without a registry the Dockerfile's "
            f"base image must be present locally (.ci/container-base):\n{tail}"
        )
    return iid.read_text().strip()


def inspected(image_id: str) -> dict[str, Any]:
    (found,) = json.loads(_run("podman", "image", "inspect", image_id))
    return dict(found)


@pytest.fixture
def working_container(image: str) -> Iterator[str]:
    """A container of the image (buildah's working container), removed afterwards."""
    name = f"closeloop-test-{uuid.uuid4().hex[:12]}"
    _run("buildah", "from", "--pull=never", f"--name={name}", image)
    try:
        yield name
    finally:
        _run("buildah", "rm", name)


def in_container(name: str, *command: str, env: dict[str, str] | None = None) -> str:
    settings = [f"--env={key}={value}" for key, value in (env or {}).items()]
    return _run(
        "buildah", "run", "--isolation=chroot", "--network=host", *settings, name, "--", *command
    )


@pytest.mark.container
def test_the_image_holds_no_secrets_no_data_and_not_the_tests(
    image: str, working_container: str
) -> None:
    config = inspected(image)["Config"]
    names = [entry.split("=", 1)[0] for entry in config.get("Env") or []]
    assert [name for name in names if SECRET_NAMES.search(name)] == []
    assert "CLOSELOOP_DEMO" not in names
    user = config.get("User") or ""
    assert user and user.split(":")[0] not in ("", "0", "root"), f"runs as {user!r}"

    data = config["WorkingDir"]
    assert in_container(working_container, "ls", "-A", data) == ""  # no database, no .env
    files = in_container(
        working_container,
        "python3",
        "-c",
        "import importlib.metadata as m; print('\\n'.join(str(f) for f in m.files('closeloop')))",
    ).split()
    packages = {path.split("/")[0] for path in files if not path.startswith("..")}
    assert {"adapters", "bot", "metrics_core"} <= packages
    assert not packages & {"tests", "benchmarks"}, packages


@dataclass(frozen=True)
class Running:
    """The image's command running in a container, and what it was given."""

    base: str
    port: int
    env: dict[str, str]
    container: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def running(
    image: str, working_container: str, slack: FakeSlack, tmp_path: Path
) -> Iterator[Running]:
    """The image's own entrypoint and command, with the demo data and Slack configured."""
    config = inspected(image)["Config"]
    command = [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]
    port = _free_port()
    env = {
        "CLOSELOOP_PORT": str(port),
        "CLOSELOOP_DEMO": "1",
        "SLACK_BOT_TOKEN": "xoxb-test-token",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
    }
    settings = [f"--env={key}={value}" for key, value in env.items()]
    log = tmp_path / "container.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [
                "buildah",
                "run",
                "--isolation=chroot",
                "--network=host",
                *settings,
                working_container,
                "--",
                *command,
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, to stop everything it starts
        )
    try:
        yield Running(f"http://127.0.0.1:{port}", port, env, working_container, process, log)
    finally:
        _stop(process)


@pytest.mark.container
async def test_the_image_runs_its_command_and_answers_slack_as_a_user(
    image: str, running: Running, slack: FakeSlack
) -> None:
    await _ready(running, within=180)
    async with aiohttp.ClientSession() as client:
        async with client.get(f"{running.base}/healthz") as response:
            assert (response.status, await response.json()) == (200, {"status": "ok"})
        async with client.get(f"{running.base}/readyz") as response:
            assert response.status == 200

    # The image's own HEALTHCHECK, run in the container with the container's settings.
    check = inspected(image)["Healthcheck"]["Test"]
    assert check[0] == "CMD" and "/healthz" in " ".join(check)
    await asyncio.to_thread(in_container, running.container, *check[1:], env=running.env)

    # Listening on every interface, as it must to be reachable from outside the container.
    assert _listening_addresses(running.port) == {"0.0.0.0"}  # noqa: S104

    # The demo data, asked for with CLOSELOOP_DEMO=1, answers a signed slash command.
    status, _, _ = await slack.command(
        f"{running.base}/slack/events", slash("/health", "acme", slack.response_url("image"))
    )
    assert status == 200
    answer = await slack.answer_to("image", within=30)
    assert header(answer) == "Acme Corp — health"

    # The service itself, not only the image's configuration, runs as a user.
    uids = _uids_of(running.process.pid, "closeloop serve")
    assert uids, "no `closeloop serve` process found in the container"
    assert all(uid != 0 for uid in uids), uids


async def _ready(running: Running, within: float) -> None:
    """Wait for /readyz: the migrations and the demo data load come first."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as client:
        while time.monotonic() < deadline:
            if running.process.poll() is not None:
                raise AssertionError(f"the container stopped:\n{running.output()}")
            with contextlib.suppress(aiohttp.ClientError):
                async with client.get(f"{running.base}/readyz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.5)
    raise AssertionError(f"not ready in {within:.0f} s:\n{running.output()}")


def _listening_addresses(port: int) -> set[str]:
    """The IPv4 addresses a socket listens on at `port` (the host's network, shared)."""
    found: set[str] = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            found.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


def _uids_of(group: int, command: str) -> list[int]:
    """The real and effective uids of the processes in a process group running `command`."""
    uids: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != group:
                continue
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            status = (entry / "status").read_text()
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
        if command in " ".join(Path(a.decode()).name for a in argv if a):
            line = next(line for line in status.splitlines() if line.startswith("Uid:"))
            uids.extend(int(value) for value in line.split()[1:3])
    return uids


def _stop(running: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the whole group (the service stops gracefully), SIGKILL if it lingers."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(running.pid, signal.SIGTERM)
    try:
        running.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(running.pid, signal.SIGKILL)
        running.wait(timeout=10)
    # Whatever of the group outlived buildah itself.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(running.pid, signal.SIGKILL)


# --- docker-compose.yml and its example settings -------------------------------------------


def test_compose_runs_two_replicas_on_one_postgresql_with_the_example_settings() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    replicas = {
        name: s for name, s in services.items() if s.get("build") in (".", {"context": "."})
    }
    assert len(replicas) == 2, list(services)
    ports = [port for s in replicas.values() for port in s["ports"]]
    assert len({port.rsplit(":", 1)[0] for port in ports}) == 2, ports  # two host ports
    assert {port.rsplit(":", 1)[1] for port in ports} == {"3000"}
    (url,) = {s["environment"]["DATABASE_URL"] for s in replicas.values()}
    database_host = re.search(r"@([^:/]+)", url)
    assert database_host is not None, url
    database = services[database_host.group(1)]
    assert database["image"].split(":")[0] in ("postgres", "docker.io/library/postgres")
    volume = database["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]

    example = (ROOT / ".env.example").read_text()
    settings = dict(
        line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#")
    )
    used = set(re.findall(r"\$\{(\w+)", (ROOT / "docker-compose.yml").read_text()))
    assert used <= set(settings), f"{used - set(settings)} not in .env.example"
    # Secrets are named, never given: what is set in the example holds no secret value.
    assert {
        name: value for name, value in settings.items() if value and SECRET_NAMES.search(name)
    } == {}
