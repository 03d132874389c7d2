"""Options defined once: dataclass fields → command-line flags, YAML keys and run configs.

A command's settings are declared once, as a dataclass whose fields carry their help text
(:func:`option`), or as plain ``add`` calls for the few options that are not settings of a
library object (``--quiet``, ``--resume``). :class:`CommandOptions` derives the argparse
flags from them (``batch_size`` → ``--batch-size``; ``bool`` fields get ``--x/--no-x``) and
remembers every option, so a YAML file can be checked and applied with public argparse
calls only (``set_defaults``):

    generate: {bg_dir: ../shared/data/real/bg, fg_dir: ../shared/data/real/fg, size: 128}
    train:    {epochs: 4, batch_size: 32, lr: 0.0015, pretrained: false}

**YAML keys are the field names** (the ``dest`` of each flag). A file is either flat (one
command's keys) or has one section per command. Values of the wrong type, unknown keys,
unknown sections and malformed YAML are one-line errors naming the file. Flags given on the
command line override the file. ``maskdepth config show COMMAND [--config FILE] [flags]``
prints the effective settings; ``maskdepth train`` writes them to ``RUN_DIR/config.yaml``,
and ``maskdepth train --config RUN_DIR/config.yaml`` replays the run.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from .errors import MaskDepthError

_MISSING = dataclasses.MISSING


def option(
    default: Any = _MISSING,
    help: str = "",
    *,
    default_factory: Any = _MISSING,
    flags: Sequence[str] = (),
    choices: Sequence[Any] | None = None,
    metavar: str | None = None,
    parse: Callable[[str], Any] | None = None,
    cli: bool = True,
) -> Any:
    """A dataclass field that is also a command-line option and a YAML key.

    Args:
        default, default_factory: as :func:`dataclasses.field` (neither: a required setting).
        help: the flag's help text (also the setting's documentation).
        flags: extra flag spellings (e.g. ``("-n", "--num-samples")``); ``--field-name`` is always one.
        choices: the allowed values.
        metavar: the flag's placeholder in ``--help``.
        parse: turns the flag's text into the field's value (for lists and mappings); it may
            raise :class:`MaskDepthError` or ``ValueError`` for bad text.
        cli: ``False`` keeps the field out of the command line and YAML.
    """
    meta = {"help": help, "flags": tuple(flags), "choices": choices, "metavar": metavar, "parse": parse, "cli": cli}
    kw: dict[str, Any] = {"metadata": meta}
    if default is not _MISSING:
        kw["default"] = default
    if default_factory is not _MISSING:
        kw["default_factory"] = default_factory
    return dataclasses.field(**kw)


@dataclasses.dataclass
class Option:
    """One option of a command: what argparse got, kept so YAML can be checked against it."""

    dest: str
    flag: str
    kind: str  # "value", "switch" (store_true) or "bool" (--x/--no-x)
    convert: Callable[[str], Any] | None = None
    py_type: type | None = None
    choices: Sequence[Any] | None = None
    required: bool = False


def _base_type(tp: Any) -> Any:
    """``Optional[T]`` → ``T``; other annotations unchanged."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else tp
    return tp


def _is_native(tp: Any, v: Any) -> bool:
    """Whether a YAML value already has the field's type (so it needs no text conversion)."""
    if tp is None or isinstance(v, bool):
        return tp is bool
    origin = typing.get_origin(tp) or tp
    if origin in (dict, list):
        return isinstance(v, origin)
    if tp is float:
        return isinstance(v, (int, float))
    return tp in (int, str) and isinstance(v, tp)


def _wrap(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except (MaskDepthError, ValueError, TypeError) as e:
            raise argparse.ArgumentTypeError(Exception.__str__(e)) from None  # argparse names the flag, not e.param

    convert.__name__ = getattr(parse, "__name__", "value")
    return convert


class CommandOptions:
    """The options of one (sub)command: adds them to its parser and records them.

    Args:
        parser: the command's ``argparse.ArgumentParser``.
        name: the command name, for messages.
    """

    def __init__(self, parser: argparse.ArgumentParser, name: str) -> None:
        self.parser, self.name = parser, name
        self.options: dict[str, Option] = {}
        self.dataclasses: list[type] = []

    def add(self, *flags: str, required: bool = False, **kw: Any) -> None:
        """``parser.add_argument`` for a long option (``--x``), remembered for YAML.

        ``required=True`` is checked after a config file is applied (:meth:`check`), not by argparse,
        so a YAML file may supply it.
        """
        dest = kw.get("dest") or next(f for f in flags if f.startswith("--"))[2:].replace("-", "_")
        action = kw.get("action")
        kind = "switch" if action == "store_true" else "bool" if action is argparse.BooleanOptionalAction else "value"
        if required:
            kw["help"] = (kw.get("help") or "") + " (required)"
        self.parser.add_argument(*flags, **kw)
        long = [f for f in flags if f.startswith("--")]
        self.options[dest] = Option(dest, long[-1] if kind == "value" else long[0], kind, kw.get("type"), None, kw.get("choices"), required)

    def add_dataclass(self, cls: type, *, unset_defaults: bool = False, exclude: Sequence[str] = (), required: Sequence[str] = ()) -> None:
        """Add one option per field of dataclass ``cls`` (fields made with :func:`option`).

        Args:
            unset_defaults: the flags default to ``None`` ("not given", so a preset can fill in)
                while the help shows the field's default.
            exclude: field names left out.
            required: field names that must be given (flag or YAML).
        """
        hints = typing.get_type_hints(cls)
        self.dataclasses.append(cls)
        for f in dataclasses.fields(cls):
            meta = f.metadata
            if f.name in exclude or not meta.get("cli", True):
                continue
            tp = _base_type(hints[f.name])
            default = f.default if f.default is not _MISSING else (f.default_factory() if f.default_factory is not _MISSING else None)
            shown = default if not isinstance(default, bool) else ("on" if default else "off")
            shown = ",".join(map(str, default)) if isinstance(default, (list, tuple)) else shown  # as the flag is typed
            helptext = (meta.get("help", "") + ("" if default is None else f" (default {shown})")).replace(
                "%", "%%"
            )  # argparse formats help
            kw: dict[str, Any] = {"dest": f.name, "help": helptext, "default": None if unset_defaults else default}
            flags = [f"--{f.name.replace('_', '-')}", *meta.get("flags", ())]
            flags = [x for x in flags if x.startswith("-") and not x.startswith("--")] + [
                x for x in dict.fromkeys(flags) if x.startswith("--")
            ]
            if tp is bool:
                kw["action"] = argparse.BooleanOptionalAction
            else:
                parse = meta.get("parse")
                kw["type"] = _wrap(parse) if parse else tp
                if meta.get("choices") is not None:
                    kw["choices"] = meta["choices"]
                if meta.get("metavar"):
                    kw["metavar"] = meta["metavar"]
            self.add(*flags, required=f.name in required, **kw)
            self.options[f.name].py_type = tp

    # ------------------------------------------------------------------ YAML

    def _convert(self, key: str, text: str, source: str) -> Any:
        o = self.options[key]
        try:
            return o.convert(text) if o.convert else text
        except (argparse.ArgumentTypeError, TypeError, ValueError, MaskDepthError):
            name = getattr(o.convert, "__name__", "value")
            raise MaskDepthError(f"{source}: {key} must be of type {name}, got {text!r}") from None

    def _value(self, key: str, v: Any, source: str) -> Any:
        o = self.options[key]
        if o.kind in ("switch", "bool"):
            if not isinstance(v, bool):
                raise MaskDepthError(f"{source}: {key} must be true or false, got {v!r}")
            return v
        if v is None:
            return None
        if _is_native(o.py_type, v):
            if isinstance(v, list) and o.convert:  # a list field: check it as its flag text would be
                v = self._convert(key, ",".join(map(str, v)), source)
        elif isinstance(v, (dict, list)):
            raise MaskDepthError(f"{source}: {key} must be a single value, got {type(v).__name__}")
        else:
            v = self._convert(key, str(v), source)
        if o.choices is not None and v not in o.choices:
            raise MaskDepthError(f"{source}: {key} must be one of {', '.join(map(str, o.choices))}, got {v!r}")
        return v

    def apply(self, mapping: dict, source: str) -> None:
        """Check a command's YAML settings and make them this parser's defaults (flags still win).

        Raises: MaskDepthError for unknown keys and values of the wrong type.
        """
        unknown = [str(k) for k in mapping if str(k) not in self.options]
        if unknown:
            raise MaskDepthError(f"{source}: unknown key(s) for `{self.name}`: {', '.join(unknown)}")
        values = {k: self._value(k, v, source) for k, v in mapping.items()}
        self.parser.set_defaults(**{k: v for k, v in values.items() if v is not None})

    def check(self, args: argparse.Namespace) -> None:
        """Exit with argparse's one-line usage error when a required option is still missing."""
        missing = [o.flag for o in self.options.values() if o.required and getattr(args, o.dest, None) is None]
        if missing:
            self.parser.error(f"the following arguments are required: {', '.join(missing)}")

    def effective(self, args: argparse.Namespace) -> dict[str, Any]:
        """The settings a parsed command will run with, keyed by field name (for ``config show``)."""
        return {k: getattr(args, k) for k in self.options if k != "config"}


def build(cls: type, args: argparse.Namespace, **extra: Any) -> Any:
    """An instance of dataclass ``cls`` from parsed ``args`` (its fields' dests) plus ``extra``.

    Fields whose parsed value is ``None`` keep the dataclass default.
    """
    kw = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if getattr(args, f.name, None) is not None}
    return cls(**{**kw, **extra})


def load_config(path: str) -> dict:
    """Read a YAML config file. Raises MaskDepthError when missing, malformed or not a mapping."""
    p = Path(path)
    if not p.is_file():
        raise MaskDepthError(f"config file not found: {p}")
    try:
        data = yaml.safe_load(p.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise MaskDepthError(f"{p}: malformed YAML{where}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise MaskDepthError(f"{p}: unreadable config ({e})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MaskDepthError(f"{p}: a config must be a YAML mapping of option: value")
    return data


def section(cfg: dict, command: str, commands: Sequence[str], source: str) -> dict:
    """The part of a loaded config that belongs to ``command``: its section, or the whole flat file.

    Raises: MaskDepthError for unknown sections or a section that is not a mapping.
    """
    if not any(k in commands for k in cfg):
        return cfg
    unknown = [str(k) for k in cfg if k not in commands]
    if unknown:
        raise MaskDepthError(f"{source}: unknown section(s) {', '.join(unknown)} (commands: {', '.join(sorted(commands))})")
    out = cfg.get(command) or {}
    if not isinstance(out, dict):
        raise MaskDepthError(f"{source}: section {command!r} must be a mapping")
    return out


def to_yaml(command: str, settings: dict[str, Any]) -> str:
    """``settings`` as a one-section YAML config that ``maskdepth COMMAND --config`` reads back."""
    plain = {k: (list(v) if isinstance(v, tuple) else v) for k, v in settings.items()}
    return yaml.safe_dump({command: plain}, sort_keys=False)
