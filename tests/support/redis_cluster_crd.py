"""The chart's RedisCluster CRD, read for the tests: schema lookups and custom resource
validation the way the API server applies the schema (strict field validation)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]
CRD_FILE = ROOT / "charts" / "redslot" / "crds" / "redisclusters.redslot.dev.yaml"


def crd() -> dict[str, Any]:
    return yaml.safe_load(CRD_FILE.read_text())


def crd_schema() -> dict[str, Any]:
    return crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def field(schema: dict[str, Any], path: str) -> dict[str, Any]:
    for name in path.split("."):
        if schema.get("type") == "array":
            schema = schema["items"]
        schema = schema["properties"][name]
    return schema


def strict_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The CRD schema as the API server applies it with strict field validation."""
    out = {k: v for k, v in schema.items() if not k.startswith("x-kubernetes")}
    if "properties" in out:
        out["properties"] = {k: strict_json_schema(v) for k, v in out["properties"].items()}
        if "additionalProperties" not in out and not schema.get(
                "x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    for key in ("items", "additionalProperties"):
        if isinstance(out.get(key), dict):
            out[key] = strict_json_schema(out[key])
    return out


def validate_custom_resource(doc: dict[str, Any], crds: list[dict[str, Any]]) -> None:
    group, version = doc["apiVersion"].split("/")
    definition = next(c for c in crds if c["spec"]["group"] == group
                      and c["spec"]["names"]["kind"] == doc["kind"])
    served = next(v for v in definition["spec"]["versions"] if v["name"] == version)
    schema = strict_json_schema(served["schema"]["openAPIV3Schema"])
    schema["properties"].update(apiVersion={"const": doc["apiVersion"]},
                                kind={"const": doc["kind"]}, metadata={"type": "object"})
    jsonschema.validate(doc, schema)


def rules(schema: dict[str, Any]) -> list[str]:
    return [" ".join(r["rule"].split()) for r in schema.get("x-kubernetes-validations", [])]
