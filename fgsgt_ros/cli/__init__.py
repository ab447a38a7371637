"""The ``fgsgt`` command line: one entry point, sub-commands registered by each area.

Each area module exposes ``register(subparsers)`` that adds its sub-command(s) and sets
``func`` (a callable taking the parsed args and returning an exit code). Errors that a user can fix
are raised as ``UserError`` and printed as one line with exit code 2, never as a traceback.

The package sits above every layer it serves (no layer imports it): ``cli/data.py`` (generate,
data sets), ``cli/train.py``, ``cli/evaluate.py`` (eval, calibrate), ``cli/model.py``
(``model-info`` and ``export-onnx``, which load a model the tracker's way).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional

# Areas that contribute sub-commands; a missing optional dependency hides only that area.
COMMAND_MODULES = (
    "fgsgt_ros.cli.evaluate",
    "fgsgt_ros.cli.train",
    "fgsgt_ros.cli.data",
    "fgsgt_ros.cli.model",
)


class UserError(Exception):
    """A problem with the user's input: printed as one clear line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    from fgsgt_ros import __version__

    parser = argparse.ArgumentParser(prog="fgsgt", description="FGSGT thermal tracker tools")
    parser.add_argument("--version", action="version", version=f"fgsgt_ros {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("fgsgt_ros"):
                continue  # area not present in this build
            raise
        module.register(subparsers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"fgsgt {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"fgsgt {args.command}: interrupted", file=sys.stderr)
        return 130

