"""The command line `python -m lowfreq GROUP COMMAND ...` (also installed as `lowfreq`).

Command groups live in their own modules. A group module defines
  add_parser(subparsers) -> None   # subparsers.add_parser("<group>", ...) plus its own sub-commands
  run(args) -> int                 # execute the parsed command, return the exit status
and is registered with one line in :data:`GROUPS` (or at run time with :func:`register_group`).
Errors a user can fix (ValueError, OSError such as FileNotFoundError/ConnectionError, KeyError,
RuntimeError) print one line `lowfreq: error: ...` to stderr and exit with status 2; set
LOWFREQ_DEBUG=1 to see the traceback instead. Ctrl-C and SIGTERM interrupt cleanly (clean-up code
runs: an interrupted import leaves nothing behind) with status 130 / 143; a closed output pipe
(`python -m lowfreq data info | head -1`) ends quietly with status 141, as other Unix tools do.
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from typing import Any, Sequence

from lowfreq import __version__

__all__ = ["GROUPS", "register_group", "build_parser", "main"]

#: group name -> module implementing add_parser(subparsers) / run(args). Add new groups here.
GROUPS: dict[str, str] = {
    "data": "lowfreq.cli.data",
    "models": "lowfreq.cli.models",
    "probe": "lowfreq.cli.probe",
    "zoo": "lowfreq.cli.zoo",
}

_USER_ERRORS = (ValueError, OSError, KeyError, RuntimeError)


def register_group(name: str, module: str) -> None:
    """Add (or replace) a command group: `module` must define add_parser(subparsers) and run(args)."""
    GROUPS[name] = module


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, one sub-command per registered group."""
    parser = argparse.ArgumentParser(
        prog="python -m lowfreq",
        description="lowfreq: reproduce Li et al. 2023, 'Robust deep learning object recognition models rely on low "
        "frequency information in natural images'.",
    )
    parser.add_argument("--version", action="version", version=f"lowfreq {__version__}")
    sub = parser.add_subparsers(dest="group", metavar="{" + ",".join(GROUPS) + "}")
    sub.required = True
    for name, module in GROUPS.items():
        mod = importlib.import_module(module)
        before = set(sub.choices)
        mod.add_parser(sub)
        if name not in sub.choices or set(sub.choices) - before != {name}:
            raise RuntimeError(f"command group module {module} must add exactly the sub-parser {name!r}")
    return parser


def _one_line(exc: BaseException) -> str:
    msg = str(exc) if not isinstance(exc, KeyError) else str(exc.args[0] if exc.args else exc)
    msg = " ".join(msg.split())
    return msg or type(exc).__name__


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every clean-up (finally) block runs."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise _Terminated()


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so that Python's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (e.g. captured in tests)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` (default sys.argv[1:]), run the command, return the exit status (2 on errors)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    module = importlib.import_module(GROUPS[args.group])
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if in_main_thread else None
    try:
        status = int(module.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, where it is handled, not at interpreter exit
        return status
    except BrokenPipeError:
        _quiet_stdout()
        return 141
    except _Terminated:
        print("lowfreq: terminated", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print("lowfreq: interrupted", file=sys.stderr)
        return 130
    except _USER_ERRORS as exc:
        if os.environ.get("LOWFREQ_DEBUG"):
            raise
        print(f"lowfreq: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
