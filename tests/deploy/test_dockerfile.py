"""The image's recipe, checked without a Docker engine: pinned bases, an unprivileged user,
no secrets, runtime dependencies from their own hash-locked set, and an entrypoint that
starts every process the suite declares."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from clinicpay import cli
from clinicpay.suite import processes

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = {"pytest", "ruff", "playwright", "localstripe", "hypothesis", "testcontainers"}
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|TOKEN|PRIVATE|_KEY\b|API_KEY)", re.IGNORECASE)


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    return instructions((ROOT / "Dockerfile").read_text())


def stages(dockerfile) -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for keyword, rest in dockerfile:
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, rest))
    return result


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: str) -> dict[str, str]:
    return {
        normalized(m.group(1)): m.group(2)
        for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==([^\s\\]+)", lock, re.MULTILINE)
    }


def test_every_base_image_is_pinned_to_an_exact_version_or_digest(dockerfile):
    args = dict(
        rest.split("=", 1) for keyword, rest in dockerfile if keyword == "ARG" and "=" in rest
    )
    bases = [rest.split()[0] for keyword, rest in dockerfile if keyword == "FROM"]
    assert len(bases) >= 2, "a build stage and a runtime stage"
    stage_names = {rest.split()[-1] for keyword, rest in dockerfile if " AS " in rest.upper()}
    for base in bases:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base)
        if image in stage_names:
            continue
        assert re.search(r"@sha256:[0-9a-f]{64}$", image) or re.search(
            r":\d+\.\d+\.\d+[\w.-]*$", image
        ), f"{image} is not pinned"


def test_the_runtime_stage_runs_as_an_unprivileged_user(dockerfile):
    final = stages(dockerfile)[-1]
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users, "the final stage sets USER"
    user = users[-1].split(":")[0]
    assert user.isdigit() and int(user) >= 1000, "a numeric, non-root uid (runAsNonRoot)"
    assert "PYTHONDONTWRITEBYTECODE=1" in " ".join(r for k, r in final if k == "ENV")


def test_no_secret_is_baked_into_the_image(dockerfile):
    for keyword, rest in dockerfile:
        if keyword in ("ENV", "ARG", "LABEL"):
            names = re.findall(r"(\w+)=", rest) or [rest.split()[0]]
            assert not [n for n in names if SECRET_NAME.search(n)], rest
        if keyword in ("COPY", "ADD"):
            assert ".env" not in rest and "secret" not in rest.lower(), rest
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*")] == "*", "the build context excludes everything not named"


def test_dependencies_come_from_the_runtime_lock_with_hashes(dockerfile):
    runs = " ".join(rest for keyword, rest in dockerfile if keyword == "RUN")
    assert "--require-hashes" in runs and "-r requirements-runtime.lock" in runs
    runtime = pins((ROOT / "requirements-runtime.lock").read_text())
    everything = pins((ROOT / "requirements.lock").read_text())
    assert runtime and not DEV_ONLY & runtime.keys()
    assert {name: everything.get(name) for name in runtime} == runtime, "the locks agree"
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for requirement in declared:
        name = normalized(re.split(r"[<>=\[ ]", requirement, maxsplit=1)[0])
        assert name in runtime, name


def test_the_runtime_lock_is_closed_under_dependencies():
    """What the image installs with --no-deps must already hold every dependency: walk the
    declared requirements through the installed packages' metadata (same versions)."""
    runtime = pins((ROOT / "requirements-runtime.lock").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pending = [Requirement(r) for r in project["dependencies"]]
    seen: set[tuple[str, frozenset[str]]] = set()
    while pending:
        requirement = pending.pop()
        name = normalized(requirement.name)
        if (name, frozenset(requirement.extras)) in seen:
            continue
        seen.add((name, frozenset(requirement.extras)))
        assert name in runtime, f"{name} is needed at run time but not in the runtime lock"
        assert metadata.version(name) == runtime[name], name
        for line in metadata.requires(name) or []:
            needed = Requirement(line)
            extras = requirement.extras or {""}
            if needed.marker is None or any(
                needed.marker.evaluate({"extra": extra}) for extra in extras
            ):
                pending.append(needed)


def test_the_image_holds_every_package_directory(dockerfile):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    roots = {path.split("/")[0] for path in project["tool"]["setuptools"]["package-dir"].values()}
    copied = {rest.split()[0].rstrip("/") for keyword, rest in dockerfile if keyword == "COPY"}
    assert roots <= copied


def test_the_entrypoint_starts_every_process_of_the_suite(dockerfile):
    entrypoint = [rest for keyword, rest in dockerfile if keyword == "ENTRYPOINT"][-1]
    assert entrypoint == '["clinicpay"]'
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["clinicpay"] == "clinicpay.cli:main"
    for process in processes():
        with pytest.raises(SystemExit) as exit_:
            cli.main([*process.args, "--help"])
        assert exit_.value.code == 0, process.name
