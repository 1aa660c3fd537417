"""The podman/docker and apptainer backends, as command lines (no engine runs here)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from posttrainbench.errors import UserError
from posttrainbench.sandbox import (
    NO_NETWORK,
    ApptainerSandbox,
    ContainerSettings,
    Mount,
    SandboxRequest,
    build_apptainer_argv,
    build_oci_argv,
    get_sandbox,
)
from posttrainbench.sandbox.containers import apptainer_environment, write_env_file

SECRET = "sk-not-on-the-command-line"


def request(tmp_path: Path, **options: object) -> SandboxRequest:
    workspace = tmp_path / "trial" / "workspace"
    defaults: dict[str, object] = {
        "argv": ["claude", "-p"],
        "cwd": workspace,
        "env": {"PATH": "/usr/bin:/bin", "HOME": str(workspace), "API_KEY": SECRET},
        "time_limit_s": 60.0,
        "output_path": tmp_path / "raw.jsonl",
        "mounts": [
            Mount(workspace, writable=True),
            Mount(Path("/models/qwen")),
            Mount(workspace / "task"),
        ],
    }
    return SandboxRequest(**{**defaults, **options})  # type: ignore[arg-type]


def option_values(argv: list[str], option: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == option]


SETTINGS = ContainerSettings(
    image="localhost/ptb-agent:1",
    engine_args=("--cgroup-manager=cgroupfs", "--storage-driver=vfs", "--runtime", "runc"),
    user="1000:1000",
)


def test_podman_argv_isolates_and_mounts_only_the_trial(tmp_path: Path) -> None:
    req = request(tmp_path, network=NO_NETWORK, stdin_path=tmp_path / "prompt.txt")
    argv = build_oci_argv(req, SETTINGS, engine="podman", name="ptb-x", env_file=tmp_path / "e")
    assert argv[:6] == ["podman", *SETTINGS.engine_args, "run"]
    for flag in ("--rm", "--init", "--read-only", "--interactive"):
        assert flag in argv
    assert option_values(argv, "--cap-drop") == ["ALL"]
    assert option_values(argv, "--security-opt") == ["no-new-privileges"]
    assert option_values(argv, "--network") == ["none"]
    assert option_values(argv, "--ulimit") == ["nofile=65536:65536", "nproc=65536:65536"]
    assert option_values(argv, "--user") == ["1000:1000"]
    workspace = tmp_path / "trial" / "workspace"
    # Parents before children; only the workspace writable.
    assert option_values(argv, "--mount") == [
        "type=bind,source=/models/qwen,target=/models/qwen,readonly",
        f"type=bind,source={workspace},target={workspace}",
        f"type=bind,source={workspace / 'task'},target={workspace / 'task'},readonly",
    ]
    assert option_values(argv, "--env-file") == [str(tmp_path / "e")]
    assert option_values(argv, "--workdir") == [str(workspace)]
    assert argv[-3:] == ["localhost/ptb-agent:1", "claude", "-p"]
    assert not any(SECRET in arg for arg in argv)
    assert "--device" not in argv and "--gpus" not in argv


def test_gpus_by_cdi_for_podman_and_by_device_list_for_docker(tmp_path: Path) -> None:
    req = request(tmp_path, gpus=(2, 3))
    podman = build_oci_argv(req, SETTINGS, engine="podman")
    assert option_values(podman, "--device") == ["nvidia.com/gpu=2", "nvidia.com/gpu=3"]
    docker = build_oci_argv(req, SETTINGS, engine="docker")
    assert option_values(docker, "--gpus") == ['"device=2,3"']
    assert option_values(docker, "--network") == ["bridge"]


def test_the_env_file_is_private_and_renumbers_the_gpus(tmp_path: Path) -> None:
    req = request(tmp_path, gpus=(2, 3), env={"CUDA_VISIBLE_DEVICES": "2,3", "K": SECRET})
    path = tmp_path / "env"
    write_env_file(req, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().splitlines() == ["CUDA_VISIBLE_DEVICES=0,1", f"K={SECRET}"]
    with pytest.raises(UserError, match="newline"):
        write_env_file(request(tmp_path, env={"K": "a\nb"}), tmp_path / "env2")


def test_apptainer_argv_matches_the_published_harness_and_hides_the_env(tmp_path: Path) -> None:
    req = request(tmp_path, gpus=(1,), network=NO_NETWORK)
    settings = ContainerSettings(image="/images/agent.sif")
    argv = build_apptainer_argv(req, settings)
    assert argv[:2] == ["apptainer", "exec"]
    for flag in ("--contain", "--cleanenv", "--writable-tmpfs", "--nv", "--pid", "--no-home"):
        assert flag in argv
    assert option_values(argv, "--network") == ["none"]
    workspace = tmp_path / "trial" / "workspace"
    assert option_values(argv, "--bind") == [
        "/models/qwen:/models/qwen:ro",
        f"{workspace}:{workspace}:rw",
        f"{workspace / 'task'}:{workspace / 'task'}:ro",
    ]
    assert argv[-3:] == ["/images/agent.sif", "claude", "-p"]
    assert not any(SECRET in arg for arg in argv)
    env = apptainer_environment(
        request(tmp_path, gpus=(1,), env={"CUDA_VISIBLE_DEVICES": "1", "K": SECRET}),
        host={"PATH": "/usr/bin", "APPTAINERENV_LEAK": "x"},
    )
    # --nv shows every GPU node, so the host numbering is kept.
    assert env == {
        "PATH": "/usr/bin",
        "APPTAINERENV_CUDA_VISIBLE_DEVICES": "1",
        "APPTAINERENV_K": SECRET,
    }


def test_a_container_backend_without_engine_or_image_says_how_to_fix_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PTB_CONTAINER_IMAGE", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UserError, match="apptainer` is not installed"):
        get_sandbox("apptainer")
    engine = tmp_path / "apptainer"
    engine.write_text("#!/bin/sh\n")
    engine.chmod(0o755)
    with pytest.raises(UserError, match="set PTB_CONTAINER_IMAGE"):
        get_sandbox("apptainer")
    monkeypatch.setenv("PTB_CONTAINER_ARGS", "--storage-driver=vfs --runtime runc")
    monkeypatch.setenv("PTB_CONTAINER_IMAGE", "img")
    assert isinstance(get_sandbox("apptainer"), ApptainerSandbox)
    assert ContainerSettings.from_environment().engine_args == (
        "--storage-driver=vfs",
        "--runtime",
        "runc",
    )
