"""What our log shipping does to one log line, reproduced from its own config files.

`filebeat.yml` (ndjson parser options), `ingest-pipeline.json` (processors) and `index-template.json`
(field types) are read, never restated, so a test using this checks the shipped configuration itself.
Only the processor types our pipeline uses are implemented; any other one raises.
"""

from __future__ import annotations

import ipaddress
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

ELK_DIR = Path(__file__).resolve().parents[2] / "infra" / "elk"
FILEBEAT = ELK_DIR / "filebeat.yml"
PIPELINE = ELK_DIR / "ingest-pipeline.json"
TEMPLATE = ELK_DIR / "index-template.json"


class MappingError(ValueError):
    """A log line that Filebeat or Elasticsearch would not index as we expect."""


def ndjson_options(path: Path = FILEBEAT) -> dict[str, Any]:
    config = yaml.safe_load(path.read_text())
    for source in config["filebeat.inputs"]:
        for parser in source.get("parsers", []):
            if "ndjson" in parser:
                return dict(parser["ndjson"])
    raise MappingError("filebeat.yml has no ndjson parser")


def expand_keys(document: dict[str, Any]) -> dict[str, Any]:
    """Dotted keys become nested objects (filebeat's `expand_keys`); a clash is an error, as there."""
    expanded: dict[str, Any] = {}
    for key, value in document.items():
        value = expand_keys(value) if isinstance(value, dict) else value
        *parents, leaf = key.split(".")
        node = expanded
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise MappingError(f"key {key!r} clashes with a value")
        if isinstance(node.get(leaf), dict) and isinstance(value, dict):
            node[leaf] = {**node[leaf], **value}
        elif leaf in node:
            raise MappingError(f"key {key!r} appears twice")
        else:
            node[leaf] = value
    return expanded


def decode_line(line: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The event Filebeat's ndjson parser makes of one container log line."""
    options = ndjson_options() if options is None else options
    try:
        document = json.loads(line)
    except json.JSONDecodeError as exc:
        raise MappingError(f"not JSON: {line[:80]!r}") from exc
    if not isinstance(document, dict):
        raise MappingError("a log line must be a JSON object")
    if options.get("expand_keys"):
        document = expand_keys(document)
    target = options.get("target", "")
    return {target: document} if target else document


def _get(event: dict[str, Any], dotted: str) -> Any:
    node: Any = event
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _put(event: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    node = event
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


_CONVERTERS = {"long": int, "integer": int, "float": float, "double": float, "string": str}


def apply_pipeline(event: dict[str, Any], pipeline: dict[str, Any] | None = None) -> dict[str, Any]:
    pipeline = json.loads(PIPELINE.read_text()) if pipeline is None else pipeline
    for processor in pipeline["processors"]:
        ((kind, spec),) = processor.items()
        value = _get(event, spec["field"])
        if value is None and kind != "set":
            if not spec.get("ignore_missing"):
                raise MappingError(f"{kind}: field {spec['field']} is missing")
            continue
        if kind == "convert":
            try:
                _put(event, spec["field"], _CONVERTERS[spec["type"]](value))
            except ValueError as exc:
                raise MappingError(f"convert {spec['field']}={value!r} to {spec['type']}") from exc
        elif kind == "lowercase":
            _put(event, spec["field"], str(value).lower())
        elif kind == "set":
            stamp = "{{{_ingest.timestamp}}}"
            _put(
                event, spec["field"], datetime.now().isoformat() if spec["value"] == stamp else spec["value"]
            )
        else:
            raise NotImplementedError(f"pipeline processor {kind} is not reproduced here")
    return event


def template_fields(path: Path = TEMPLATE) -> dict[str, str]:
    """Dotted field name -> mapped type, from the index template."""
    fields: dict[str, str] = {}

    def walk(properties: dict[str, Any], prefix: str) -> None:
        for name, spec in properties.items():
            if "properties" in spec:
                walk(spec["properties"], f"{prefix}{name}.")
            else:
                fields[f"{prefix}{name}"] = spec["type"]

    walk(json.loads(path.read_text())["template"]["mappings"]["properties"], "")
    return fields


def leaves(event: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in event.items():
        if isinstance(value, dict):
            flat.update(leaves(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _fits(kind: str, value: Any) -> bool:
    if value is None:
        return True
    if kind in ("keyword", "match_only_text", "text"):
        return isinstance(value, str)
    if kind in ("long", "integer"):
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("float", "double"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "date":
        return isinstance(value, str) and datetime.fromisoformat(value.replace("Z", "+00:00")) is not None
    if kind == "ip":
        return isinstance(value, str) and ipaddress.ip_address(value) is not None
    raise NotImplementedError(f"mapping type {kind}")


def type_problems(event: dict[str, Any], fields: dict[str, str] | None = None) -> list[str]:
    """Mapped fields whose value Elasticsearch would reject or index as another type."""
    fields = template_fields() if fields is None else fields
    problems = []
    for name, value in leaves(event).items():
        kind = fields.get(name)
        try:
            fits = kind is None or _fits(kind, value)
        except ValueError:
            fits = False
        if not fits:
            problems.append(f"{name}={value!r} is not a {kind}")
    return problems


def ship(line: str) -> dict[str, Any]:
    """Decode, run the pipeline, check the types: the document Elasticsearch would store."""
    event = apply_pipeline(decode_line(line))
    problems = type_problems(event)
    if problems:
        raise MappingError("; ".join(problems))
    return event
