"""Renders a Kustomize directory in Python, for the features deploy/k8s uses: `resources`
(files and directories), `namespace`, `images` and JSON 6902 `patches` with a target.
Anything else in a kustomization is refused, so a manifest change that needs more fails
here instead of rendering differently from `kubectl kustomize`."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "StorageClass",
    "IngressClass",
}
POD_TEMPLATE_PATHS = (
    ("spec", "template", "spec"),
    ("spec", "jobTemplate", "spec", "template", "spec"),
)

Resource = dict[str, Any]


class UnsupportedKustomization(ValueError):
    pass


def render(directory: Path) -> list[Resource]:
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - SUPPORTED
    if unsupported:
        raise UnsupportedKustomization(f"{directory}: {sorted(unsupported)}")
    resources: list[Resource] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        if path.is_dir():
            resources.extend(render(path))
        else:
            resources.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    for image in kustomization.get("images", []):
        for resource in resources:
            _set_image(resource, image)
    for patch in kustomization.get("patches", []):
        _apply_patch(resources, patch, directory)
    if "namespace" in kustomization:
        for resource in resources:
            _set_namespace(resource, kustomization["namespace"])
    return resources


def _set_namespace(resource: Resource, namespace: str) -> None:
    if resource["kind"] == "Namespace":
        resource["metadata"]["name"] = namespace
    elif resource["kind"] not in CLUSTER_SCOPED:
        resource["metadata"]["namespace"] = namespace


def _set_image(resource: Resource, image: dict[str, str]) -> None:
    for path in POD_TEMPLATE_PATHS:
        spec = _dig(resource, path)
        if spec is None:
            continue
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            name = container["image"].split("@")[0].rsplit(":", 1)[0]
            if ":" in container["image"] and "/" in container["image"].rsplit(":", 1)[1]:
                name = container["image"].split("@")[0]  # a registry port, not a tag
            if name != image["name"]:
                continue
            new = image.get("newName", name)
            if "digest" in image:
                container["image"] = f"{new}@{image['digest']}"
            elif "newTag" in image:
                container["image"] = f"{new}:{image['newTag']}"
            else:
                container["image"] = new


def _dig(document: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(document, dict) or key not in document:
            return None
        document = document[key]
    return document


def _matches(resource: Resource, target: dict[str, str]) -> bool:
    group, _, version = resource["apiVersion"].rpartition("/")
    checks = {
        "kind": resource["kind"],
        "name": resource["metadata"]["name"],
        "group": group,
        "version": version,
        "namespace": resource["metadata"].get("namespace"),
    }
    unknown = set(target) - set(checks)
    if unknown:
        raise UnsupportedKustomization(f"patch target fields {sorted(unknown)}")
    return all(checks[key] == value for key, value in target.items())


def _apply_patch(resources: list[Resource], patch: dict[str, Any], directory: Path) -> None:
    if set(patch) - {"target", "patch", "path"} or "target" not in patch:
        raise UnsupportedKustomization(f"only JSON 6902 patches with a target: {patch}")
    text = patch["patch"] if "patch" in patch else (directory / patch["path"]).read_text()
    operations = yaml.safe_load(text)
    if not isinstance(operations, list):
        raise UnsupportedKustomization("only JSON 6902 patches (a list of operations)")
    targets = [r for r in resources if _matches(r, patch["target"])]
    if not targets:
        raise ValueError(f"patch target matches nothing: {patch['target']}")
    for resource in targets:
        for operation in operations:
            _apply_operation(resource, operation)


def _apply_operation(document: Resource, operation: dict[str, Any]) -> None:
    keys = [p.replace("~1", "/").replace("~0", "~") for p in operation["path"].split("/")[1:]]
    parent = document
    for key in keys[:-1]:
        parent = parent[int(key)] if isinstance(parent, list) else parent[key]
    last = keys[-1]
    op = operation["op"]
    value = copy.deepcopy(operation.get("value"))
    if isinstance(parent, list):
        index = len(parent) if last == "-" else int(last)
        if op == "add":
            parent.insert(index, value)
        elif op == "replace":
            parent[index] = value
        elif op == "remove":
            del parent[index]
        else:
            raise UnsupportedKustomization(op)
        return
    if op in ("replace", "remove") and last not in parent:
        raise ValueError(f"{operation['path']} does not exist")
    if op in ("add", "replace"):
        parent[last] = value
    elif op == "remove":
        del parent[last]
    else:
        raise UnsupportedKustomization(op)
