"""Reading dependency names out of manifests, build files, Dockerfiles,
compose files and CI configuration. Each reader takes a file's text and
returns names; a file that does not parse gives none."""

from __future__ import annotations

import configparser
import re
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import Any

from repolens import documents

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def requirement_names(lines: Iterable[str]) -> list[str]:
    names = []
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = _REQUIREMENT.match(line)
        if match:
            names.append(match.group(1))
    return names


def requirements_txt(text: str) -> list[str]:
    return requirement_names(text.splitlines())


def pyproject_toml(text: str) -> list[str]:
    data = documents.toml(text)
    project = data.get("project", {})
    specs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        specs += extra
    for group in data.get("dependency-groups", {}).values():
        specs += [item for item in group if isinstance(item, str)]
    specs += data.get("build-system", {}).get("requires", [])
    poetry = data.get("tool", {}).get("poetry", {})
    names = requirement_names(specs)
    names += [n for n in poetry.get("dependencies", {}) if n != "python"]
    names += list(poetry.get("dev-dependencies", {}))
    for group in poetry.get("group", {}).values():
        names += list(group.get("dependencies", {}))
    return names


def setup_cfg(text: str) -> list[str]:
    parser = configparser.ConfigParser()
    parser.read_string(text)
    specs = parser.get("options", "install_requires", fallback="").splitlines()
    if parser.has_section("options.extras_require"):
        for _, value in parser.items("options.extras_require"):
            specs += value.splitlines()
    return requirement_names(specs)


def pipfile(text: str) -> list[str]:
    data = documents.toml(text)
    return list(data.get("packages", {})) + list(data.get("dev-packages", {}))


def package_json(text: str) -> list[str]:
    data = documents.json(text)
    names: list[str] = []
    for key in ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies"):
        names += list(data.get(key) or {})
    return names


def cargo_toml(text: str) -> list[str]:
    data = documents.toml(text)
    names: list[str] = []
    for key in ("dependencies", "dev-dependencies", "build-dependencies"):
        names += list(data.get(key, {}))
    names += list(data.get("workspace", {}).get("dependencies", {}))
    return names


def go_mod(text: str) -> list[str]:
    names = []
    in_block = False
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if line.startswith("require ("):
            in_block = True
        elif in_block and line == ")":
            in_block = False
        elif in_block and line:
            names.append(line.split()[0])
        elif line.startswith("require "):
            names.append(line.split()[1])
    return names


def gemfile(text: str) -> list[str]:
    return re.findall(r"""^\s*gem\s+['"]([^'"]+)['"]""", text, re.M)


def pom_xml(text: str) -> list[str]:
    blocks = re.findall(r"<dependency>(.*?)</dependency>", text, re.S)
    return [m.group(1).strip() for b in blocks if (m := re.search(r"<artifactId>(.*?)<", b))]


def build_gradle(text: str) -> list[str]:
    configurations = "implementation|api|testImplementation|compileOnly|runtimeOnly"
    pattern = rf"""(?:{configurations})\s*\(?\s*['"][^:'"]+:([^:'"]+)"""
    return re.findall(pattern, text)


def dockerfile_images(text: str) -> list[str]:
    return [
        match.group(1)
        for match in re.finditer(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)", text, re.M | re.I)
        if match.group(1).lower() != "scratch"
    ]


def compose_images(text: str) -> list[str]:
    data: Any = documents.yaml(text) or {}
    services = data.get("services", {}) if isinstance(data, dict) else {}
    return [str(s["image"]) for s in services.values() if isinstance(s, dict) and "image" in s]


MANIFESTS: dict[str, Callable[[str], list[str]]] = {
    "pyproject.toml": pyproject_toml,
    "setup.cfg": setup_cfg,
    "Pipfile": pipfile,
    "package.json": package_json,
    "Cargo.toml": cargo_toml,
    "go.mod": go_mod,
    "Gemfile": gemfile,
    "pom.xml": pom_xml,
    "build.gradle": build_gradle,
    "build.gradle.kts": build_gradle,
}

CI_SYSTEMS = {
    ".github/workflows/": "GitHub Actions",
    ".gitlab-ci.yml": "GitLab CI",
    "Jenkinsfile": "Jenkins",
    ".circleci/config.yml": "CircleCI",
    "azure-pipelines.yml": "Azure Pipelines",
    ".travis.yml": "Travis CI",
    ".woodpecker.yml": "Woodpecker CI",
    ".gitea/workflows/": "Gitea Actions",
}


def reader_for(path: str) -> Callable[[str], list[str]] | None:
    name = PurePosixPath(path).name
    if name in MANIFESTS:
        return MANIFESTS[name]
    if re.fullmatch(r"requirements.*\.txt", name) or (
        name.endswith(".txt") and "requirements" in PurePosixPath(path).parts[:-1]
    ):
        return requirements_txt
    return None


def is_dockerfile(path: str) -> bool:
    name = PurePosixPath(path).name
    return name == "Dockerfile" or name.startswith("Dockerfile.") or name.endswith(".dockerfile")


def is_compose(path: str) -> bool:
    return bool(re.fullmatch(r"(docker-)?compose(\.[\w-]+)?\.ya?ml", PurePosixPath(path).name))


def ci_system(path: str) -> str | None:
    for marker, system in CI_SYSTEMS.items():
        if path == marker or (marker.endswith("/") and path.startswith(marker)):
            return system
    return None
