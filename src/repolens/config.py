"""A repository's own configuration, `.repolens.yml`, as a typed model.

It is a stranger's file: read with `documents.yaml`'s bounds, each part
validated on its own, and whatever is wrong (a bad type, an unknown key, a
file that cannot be read) is a warning with the defaults kept, never a crash."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from repolens import documents
from repolens.roles import Role

NAMES = (".repolens.yml", ".repolens.yaml")
MAX_BYTES = 64_000

RepoPath = Annotated[str, Field(min_length=1, max_length=1000)]


class PlanConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paths: list[RepoPath] = Field(default=[], max_length=20)

    @model_validator(mode="before")
    @classmethod
    def _path_alone(cls, value: Any) -> Any:
        if isinstance(value, dict) and "path" in value and "paths" not in value:
            return {"paths": value["path"], **{k: v for k, v in value.items() if k != "path"}}
        return value

    @field_validator("paths", mode="before")
    @classmethod
    def _one_path(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


Patterns = Annotated[list[Annotated[str, Field(min_length=1, max_length=500)]],
                    Field(max_length=200)]  # fmt: skip


class RepositoryConfig(BaseModel):
    plan: PlanConfig = PlanConfig()
    exclude: Patterns = []  # gitignore-style patterns of files never analysed
    roles: dict[Role, Patterns] = {}  # e.g. {fixture: ["data/**"]}: overrides the usual places


def read(text: str, source: str = NAMES[0]) -> tuple[RepositoryConfig, list[str]]:
    """The configuration in TEXT and the warnings about it."""
    try:
        data = documents.yaml(text, MAX_BYTES)
    except documents.Unreadable as exc:
        return RepositoryConfig(), [f"{source} is ignored: {exc}"]
    if data is None:
        return RepositoryConfig(), []
    if not isinstance(data, dict):
        return RepositoryConfig(), [f"{source} is ignored: its top level is not a mapping"]
    warnings = [f"{source}: unknown key {str(key)[:100]!r} is ignored"
                for key in data if key not in RepositoryConfig.model_fields]  # fmt: skip
    parts: dict[str, Any] = {}
    for name in RepositoryConfig.model_fields:
        if name not in data:
            continue
        given = {"paths": data[name]} if name == "plan" and not isinstance(data[name], dict) \
            else data[name]  # fmt: skip
        try:
            parts[name] = _ADAPTERS[name].validate_python(given)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in error['loc']) or name}: "
                                 f"{error['msg']}" for error in exc.errors()[:5])  # fmt: skip
            warnings.append(f"{source}: {name} is ignored ({problems})")
    return RepositoryConfig(**parts), warnings


_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    name: TypeAdapter(field.annotation or Any)
    for name, field in RepositoryConfig.model_fields.items()
}
