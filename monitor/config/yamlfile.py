"""Read one YAML config file into its model, every problem worded as `file: key: problem`;
write data back as YAML. The only module that uses PyYAML."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)

# a watchlist is text written by people; anything larger is a mistake
MAX_CONFIG_BYTES = 1024 * 1024


def read_model(directory: Path, file: str, model: type[M], problems: list[str]) -> M | None:
    """Read `directory/file` into `model`; on failure add its problems and return None."""
    path = directory / file
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.append(f"{file}: <file>: not found in {directory}")
        return None
    except OSError as exc:
        problems.append(f"{file}: <file>: cannot be read ({exc.strerror})")
        return None
    if len(raw) > MAX_CONFIG_BYTES:
        problems.append(f"{file}: <file>: larger than {MAX_CONFIG_BYTES} bytes")
        return None
    try:
        data = _load(raw)
    except yaml.YAMLError as exc:
        problems.append(f"{file}: {_yaml_where(exc)}: invalid YAML: {_yaml_problem(exc)}")
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems += [f"{file}: {_path(error['loc'])}: {_message(error)}" for error in exc.errors()]
        return None


def parse_model(text: str, model: type[M]) -> M | None:
    """Read YAML text into `model` as `read_model` would; None when it is not one."""
    try:
        return model.model_validate(_load(text.encode()))
    except (yaml.YAMLError, ValidationError):
        return None


def yaml_text(data: object, width: int = 100) -> str:
    """Write data as YAML the way our files read: keys in order, umlauts as they are."""
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=width)


def _decimal_int(loader: Any, node: Any) -> Any:
    """Read a number with a leading zero as decimal (as YAML 1.2 does), not as octal:
    `-01001234567890` is the chat -1001234567890, not some other number."""
    digits = str(node.value).replace("_", "")
    if re.fullmatch(r"[+-]?0\d+", digits):
        return int(digits)
    return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases, so a small file cannot expand into a huge document."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in config files", event.start_mark
            )
        return super().compose_node(parent, index)


_NoAliasLoader.add_constructor("tag:yaml.org,2002:int", _decimal_int)

_CLoader: type[Any] | None = getattr(yaml, "CSafeLoader", None)
if _CLoader is not None:

    class _FastLoader(_CLoader):  # type: ignore[misc,valid-type]
        """libyaml's parser with our constructors: a feed list of 1,000 entries in 0.016 s
        instead of 0.12 s, the shipped topics.yaml in 2 ms instead of 12. It cannot refuse
        aliases while it reads; `_load` refuses them before anything is constructed."""

    _FastLoader.add_constructor("tag:yaml.org,2002:int", _decimal_int)


def _load(raw: bytes) -> Any:
    """Parse one YAML document; an alias (`*name`) is refused with where it stands."""
    if _CLoader is not None:
        try:
            loaded = _load_fast(raw)
        except yaml.YAMLError:
            loaded = None  # the pure-Python parser below says what is wrong, and where, as always
        if loaded is not None:
            return loaded[0]
    return yaml.load(raw, Loader=_NoAliasLoader)


def _load_fast(raw: bytes) -> tuple[Any] | None:
    """Parse with libyaml; None when the document uses an alias (the caller refuses it)."""
    loader = _FastLoader(raw)
    try:
        node = loader.get_single_node()
        if node is None:
            return (None,)
        if _has_alias(node):
            return None
        return (loader.construct_document(node),)
    finally:
        loader.dispose()


def _has_alias(root: yaml.Node) -> bool:
    """Whether a composed document uses an alias: libyaml gives the anchored node itself
    for each alias, so the document is a tree exactly when no node is reached twice."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return True
        seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack += node.value
        elif isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                stack += (key, value)
    return False


def _yaml_where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "<document>"


def _yaml_problem(exc: yaml.YAMLError) -> str:
    return str(getattr(exc, "problem", None) or exc).strip()


def _path(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic error location as `feeds[2].interval`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "<document>"


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind in {"model_type", "dict_type"}:
        return "expected a mapping of keys to values"
    message = str(error["msg"]).removeprefix("Value error, ")
    return message[0].lower() + message[1:] if message else str(kind)
