"""YAML configuration for every command: ``--config FILE``, overridden by command-line flags.

A config file is a YAML mapping, either flat (option names of one command) or with one
section per command::

    generate: {bg_dir: ../shared/data/real/bg, fg_dir: ../shared/data/real/fg, size: 128}
    train:    {epochs: 4, batch_size: 32, lr: 0.0015}

Keys are the long option names with ``-`` or ``_`` (``batch_size`` = ``--batch-size``).
The file is turned into command-line tokens placed *before* the user's own flags, so
argparse validates types and choices, and flags given on the command line win (argparse
keeps the last value). Unknown keys, malformed YAML and wrong types are one-line errors.
``maskdepth config show COMMAND [--config FILE] [flags]`` prints the effective settings.
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from .errors import MaskDepthError


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


def _options(sub: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    out = {}
    for a in sub._actions:
        longs = [s for s in a.option_strings if s.startswith("--")]
        if longs and a.dest not in ("help", "config"):
            out[longs[0][2:].replace("-", "_")] = a
    return out


def config_tokens(cfg: dict, sub: argparse.ArgumentParser, command: str, commands: set[str], source: str) -> list[str]:
    """Command-line tokens for ``command`` from a loaded config (see module docstring).

    Raises MaskDepthError for unknown keys or values of the wrong kind.
    """
    if any(k in commands for k in cfg):
        unknown_sections = [k for k in cfg if k not in commands]
        if unknown_sections:
            raise MaskDepthError(f"{source}: unknown section(s) {', '.join(map(str, unknown_sections))} (commands: {', '.join(sorted(commands))})")
        cfg = cfg.get(command) or {}
        if not isinstance(cfg, dict):
            raise MaskDepthError(f"{source}: section {command!r} must be a mapping")
    opts = _options(sub)
    tokens: list[str] = []
    unknown = [str(k) for k in cfg if str(k).replace("-", "_") not in opts]
    if unknown:
        raise MaskDepthError(f"{source}: unknown key(s) for `{command}`: {', '.join(unknown)}")
    for k, v in cfg.items():
        a = opts[str(k).replace("-", "_")]
        flag = a.option_strings[-1] if a.option_strings[-1].startswith("--") else a.option_strings[0]
        if a.nargs == 0:  # store_true / store_false
            if not isinstance(v, bool):
                raise MaskDepthError(f"{source}: {k} must be true or false, got {v!r}")
            if v != a.default:
                tokens.append(flag)
            continue
        if v is None:
            continue
        if isinstance(v, (dict, list)):
            raise MaskDepthError(f"{source}: {k} must be a single value, got {type(v).__name__}")
        if callable(a.type):
            try:
                a.type(str(v))
            except (TypeError, ValueError, argparse.ArgumentTypeError):
                raise MaskDepthError(f"{source}: {k} must be of type {getattr(a.type, '__name__', a.type)}, got {v!r}") from None
        if a.choices is not None and str(v) not in [str(c) for c in a.choices]:
            raise MaskDepthError(f"{source}: {k} must be one of {', '.join(map(str, a.choices))}, got {v!r}")
        tokens += [flag, str(v).lower() if isinstance(v, bool) else str(v)]
    return tokens


def expand_argv(argv: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """Insert the tokens of ``--config FILE`` right after the command name in ``argv``."""
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands = set(subs.choices)
    idx = next((i for i, t in enumerate(argv) if t in commands), None)
    if idx is None or argv[idx] == "config":  # `config show` expands its own command
        return argv
    rest = argv[idx + 1 :]
    path = None
    for i, t in enumerate(rest):
        if t == "--config" and i + 1 < len(rest):
            path = rest[i + 1]
        elif t.startswith("--config="):
            path = t.split("=", 1)[1]
    if path is None:
        return argv
    command = argv[idx]
    tokens = config_tokens(load_config(path), subs.choices[command], command, commands - {"config"}, path)
    return argv[: idx + 1] + tokens + rest


def effective(args: argparse.Namespace) -> dict[str, Any]:
    """The settings a parsed command will run with (for ``config show``)."""
    return {k: v for k, v in sorted(vars(args).items()) if k not in ("func", "command", "config", "show_command")}
