"""The podman driver against real podman and the local registry's sample images."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from hspm.client.platform_agent.config import AgentConfig, PodmanSettings
from hspm.client.platform_agent.desired import InstanceSpec, TaskSpec
from hspm.client.platform_agent.drivers.podman import PodmanDriver
from hspm.common.testing import unavailable, unique
from hspm.devstack.agent_fixtures import remove_podman_storage

pytestmark = pytest.mark.timeout(300)


@pytest_asyncio.fixture
async def driver(tmp_path: Path, sample_images) -> AsyncIterator[PodmanDriver]:
    if not (shutil.which("podman") and shutil.which("slirp4netns")):
        unavailable("podman and slirp4netns are not installed (make deps installs them)")
    # podman refuses a runroot longer than 50 characters: pytest's folders can be longer.
    runroot = tempfile.mkdtemp(prefix="hspm-run-")
    settings = PodmanSettings(
        root=str(tmp_path / "storage"), runroot=runroot, insecure_registries=[sample_images.host]
    )
    made = PodmanDriver(AgentConfig(name=unique("agent"), podman=settings, stop_timeout_seconds=2))
    await made.prepare()
    try:
        yield made
    finally:
        leftovers = [c["Names"][0] for c in await made.podman.containers(made.owner)]
        await made.podman.remove(leftovers, 1)
        await made.close()
        # Not before podman's own cleanup processes are done with it: they would make it again.
        await remove_podman_storage(tmp_path / "storage", Path(runroot))


def spec(sample_images, sample: str, replicas: int = 2, cron: str | None = None) -> InstanceSpec:
    image = f"{sample_images.host}/{sample_images.repository(sample)}@{sample_images.digests[sample]}"
    web = TaskSpec("web", "web", replicas, 3, 32, 16, (8080,), ("--ignored",), (("APP_MODE", "agent"),))
    tasks = (web,) if cron is None else (web, TaskSpec("job", "job", 1, None, 32, None, (), (), (), cron))
    return InstanceSpec(unique("i"), "pl", "p", sample, None, image, "running", tasks)


async def test_replicas_run_limited_healthy_and_published(driver: PodmanDriver, sample_images) -> None:
    wanted = spec(sample_images, "good")
    await driver.start(wanted)
    health = await driver.wait_healthy(wanted, 60)
    assert health.ok, health.detail
    units = await driver.observe()
    assert {u.name for u in units} == driver.names(wanted) and all(u.running for u in units)
    bindings = await driver.bindings(wanted)
    replicas = bindings["tasks"]["web"]
    assert len(replicas) == 2 and all(r["url"].startswith("http://127.0.0.1:") for r in replicas)
    inspected = await driver.podman.check(
        "inspect", "--format", "{{.HostConfig.Memory}}", replicas[0]["container"]
    )
    assert inspected.strip() == str(32 * 2**20)
    await driver.start(wanted)  # again: nothing new
    assert len(await driver.observe()) == 2


async def test_a_removed_replica_is_made_again_and_nothing_twice(driver: PodmanDriver, sample_images) -> None:
    wanted = spec(sample_images, "good")
    await driver.start(wanted)
    victim = sorted(driver.names(wanted))[0]
    await driver.podman.remove([victim], 1)
    await driver.start(wanted)
    assert sorted(u.name for u in await driver.observe()) == sorted(driver.names(wanted))


async def test_an_image_that_never_becomes_healthy_is_reported(driver: PodmanDriver, sample_images) -> None:
    wanted = spec(sample_images, "no-health", replicas=1)
    await driver.start(wanted)
    health = await driver.wait_healthy(wanted, 5)
    assert not health.ok and "HEALTHCHECK" in health.detail
    await driver.remove(wanted.instance_id, {wanted.fingerprint})
    assert await driver.observe() == []


async def test_cron_tasks_run_once_per_due_minute(driver: PodmanDriver, sample_images) -> None:
    wanted = spec(sample_images, "good", replicas=1, cron="*/5 * * * *")
    await driver.start(wanted)
    assert driver.names(wanted) == {n for n in driver.names(wanted) if "-web-" in n}
    due = datetime(2026, 12, 2, 10, 5, tzinfo=UTC)
    (started,) = await driver.cron.run_due(due)
    assert started.endswith("-job-cron-202612021005")
    assert await driver.cron.run_due(due) == []  # the same minute never twice
    assert await driver.cron.run_due(datetime(2026, 12, 2, 10, 6, tzinfo=UTC)) == []  # not due
    await driver.remove(wanted.instance_id)
    assert await driver.podman.containers(f"io.hspm.instance={wanted.instance_id}") == []


def test_environment_files_live_in_a_private_directory_emptied_at_start(tmp_path: Path) -> None:
    """A killed agent's environment file (values may be secrets) does not outlive the next
    start, and is never written where other users can list it."""
    from hspm.client.platform_agent.drivers.podman_cli import Podman

    env_dir = tmp_path / "env"
    env_dir.mkdir(mode=0o755)
    (env_dir / "hspm-env-left").write_text("SECRET=1\n")
    podman = Podman(PodmanSettings(), env_dir)
    podman.sweep_env_files()
    assert list(env_dir.iterdir()) == [] and (env_dir.stat().st_mode & 0o777) == 0o700
