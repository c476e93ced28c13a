"""`python -m lowfreq models ...`: list the registry, fetch published weights, verify files.

    python -m lowfreq models list [--group G] [--source S]
    python -m lowfreq models fetch NAME... | --all [--model-dir DIR] [--force]
    python -m lowfreq models verify [NAME...] [--accept] [--model-dir DIR]

`fetch` needs a network (run it on a connected machine and copy the model directory, or the
single files it prints, to the offline one). `verify` re-checks weights files without writing:
published files against the published hash prefix and the sha256 recorded in models/manifest.json,
the authors' checkpoints against their published sha256, and trained zoo files by loading them into
their recipe (a damaged one names the command that retrains it) and comparing the fingerprint of the
loaded weights with the one their committed 'trained' record names (status 'differs' when the file
was changed or trained elsewhere); it exits with status 1 when a file is bad or differs. `verify NAME --accept` loads a published file replaced on purpose with every check and
records its sha256 in place of the old record.
"""
from __future__ import annotations

import argparse
from typing import Any

from lowfreq.core import paths
from lowfreq.core.paths import Folders
from lowfreq.core.cache import ResultCache
from lowfreq.data.archive import DataNotFoundError
from lowfreq.experiments.instances import trained_inputs, zoo_weights_fingerprint
from lowfreq.models import authors
from lowfreq.models import registry
from lowfreq.models import published
from lowfreq.models import zoo
from lowfreq.training import train

__all__ = ["add_parser", "run", "zoo_record_mismatch"]

_MD_HELP = "weights directory (default: $LOWFREQ_MODEL_DIR, else <repo>/models)"


def add_parser(subparsers: Any) -> None:
    """Register the `models` command group (list / fetch / verify) on a top-level subparsers object."""
    p = subparsers.add_parser(
        "models", help="list models, fetch published weights, verify weight files", description="The model registry."
    )
    sub = p.add_subparsers(dest="models_command", metavar="{list,fetch,verify}")
    sub.required = True

    pl = sub.add_parser("list", help="a table of the registered models and whether their weights are present")
    # dest must not be "group": the top-level parser stores the command group there
    pl.add_argument("--group", dest="filter_group", default=None, choices=registry.GROUPS, help="only this group")
    pl.add_argument("--source", dest="filter_source", default=None, choices=registry.SOURCES, help="only this source")
    pl.add_argument("--model-dir", default=None, help=_MD_HELP)

    pf = sub.add_parser("fetch", help="download published weights (needs a network)")
    pf.add_argument("names", nargs="*", metavar="NAME", help="published model names (see `models list --source robustbench`)")
    pf.add_argument("--all", action="store_true", help="every published model (RobustBench and torch.hub)")
    pf.add_argument("--model-dir", default=None, help=_MD_HELP)
    pf.add_argument("--force", action="store_true", help="download again even when a good file is present")
    pf.add_argument("--no-progress", action="store_true", help="no progress bars")

    pv = sub.add_parser("verify", help="re-check weights files (format, sha256; zoo files by loading them)")
    pv.add_argument("names", nargs="*", metavar="NAME", help="models to check (default: every published, authors' and zoo file)")
    pv.add_argument("--accept", action="store_true",
                    help="for named published models: load the file with every check and record its sha256 (a file replaced on purpose)")
    pv.add_argument("--model-dir", default=None, help=_MD_HELP)


def _zoo_presence(name: str, tiers: tuple[str, ...], model_dir: Any) -> str:
    """'yes (cpu, full)' / 'no' for a zoo entry: which tiers have trained weights."""

    have = [t for t in tiers if train.weights_path(zoo.recipe(name, t), model_dir=model_dir).exists()]
    return f"yes ({', '.join(have)})" if have else "no"


def _presence(spec: registry.ModelSpec, model_dir: Any) -> str:
    if spec.source in ("robustbench", "torchhub"):

        return "yes" if published.weights_path(spec.name, model_dir=model_dir).is_file() else "no"
    if spec.source == "zoo":
        return _zoo_presence(spec.name, spec.tiers, model_dir)
    return "?"


def zoo_record_mismatch(name: str, tier: str, *, folders: Folders | None = None) -> str | None:
    """One line when the weights file of zoo model `name` at `tier` is not the one its committed 'trained'
    record names (the fingerprint of the loaded weights, :func:`lowfreq.core.cache.model_fingerprint`,
    differs from the record's ``weights_fingerprint``): the file was changed, or trained on another
    machine. None when the file is absent, matches, or there is no record (or no training-data identity)
    to compare with. Its results are another instance's, kept beside the committed ones."""
    r = zoo.recipe(name, tier)
    f = folders or paths.folders()
    local = zoo_weights_fingerprint(r, folders=f)
    if local is None:
        return None
    try:
        rec = ResultCache(tier, root=f.results).load("trained", name, trained_inputs(r, f))
    except DataNotFoundError:
        return None
    recorded = None if rec is None else rec.payload.get("weights_fingerprint")
    if recorded is None or recorded == local:
        return None
    return (f"{name} [{tier}]: the weights file {zoo.weights_path(r, model_dir=f.models)} has fingerprint {local[:16]}, "
            f"but the committed trained record names {str(recorded)[:16]} (the file was changed or trained elsewhere); "
            "its results are another instance's: restore the file, or remove it and `python -m lowfreq zoo train "
            f"{name} --tier {tier}`")


def _zoo_checks(name: str, model_dir: Any) -> list[published.VerifyResult]:
    """Load every trained weights file of zoo model `name` (all tiers) into its recipe and compare its
    fingerprint with its committed trained record's: 'ok', 'bad' (does not load) or 'differs'."""
    out = []
    for tier in registry.get_spec(name).tiers:
        r = zoo.recipe(name, tier)
        path = zoo.weights_path(r, model_dir=model_dir)
        if not path.exists():
            continue
        try:
            zoo.load_trained(r, model_dir=model_dir)
        except (ValueError, OSError) as exc:
            out.append(published.VerifyResult(f"{name} [{tier}]", path, "bad", str(exc), None))
            continue
        differs = zoo_record_mismatch(name, tier, folders=paths.folders(models=model_dir))
        if differs is not None:
            out.append(published.VerifyResult(f"{name} [{tier}]", path, "differs", differs.split(": ", 1)[1], None))
        else:
            out.append(published.VerifyResult(f"{name} [{tier}]", path, "ok", "loads into its recipe; its fingerprint is "
                                              "the trained record's (or no record to compare with)", None))
    return out


def _check(name: str, model_dir: Any) -> list[published.VerifyResult]:
    spec = registry.get_spec(name)  # unknown names: a ValueError with close matches
    if spec.source in ("robustbench", "torchhub"):
        return [published.verify(name, model_dir=model_dir)]
    if spec.source == "authors":
        return [authors.verify_authors(name, model_dir=model_dir)]
    if spec.source == "zoo":
        return _zoo_checks(name, model_dir)
    return []


def _verify(args: argparse.Namespace) -> int:
    if args.accept:
        if not args.names:
            raise ValueError("--accept needs the names of the published models whose files you replaced on purpose")
        for n in args.names:
            if n not in published.PUBLISHED:
                spec = registry.get_spec(n)
                raise ValueError(f"--accept is for published models; {n!r} is a {spec.source} model")
        for n in args.names:
            r = published.accept(n, model_dir=args.model_dir)
            print(f"{n}: {r.detail}")
        return 0
    names = args.names or [*published.PUBLISHED, *authors.AUTHORS, *registry.list_models(source="zoo")]
    results = [r for n in names for r in _check(n, args.model_dir)]
    if not args.names:  # the whole directory: list absent authors' and zoo files not at all
        results = [r for r in results if r.status != "missing" or r.name in published.PUBLISHED]
    rows = [(r.name, r.status, "" if r.status == "missing" and not args.names else r.detail) for r in results]
    if not rows:
        print(f"no weights files for {', '.join(names)} in {paths.model_dir(args.model_dir)}")
        return 0
    print(_table(rows, ("name", "status", "detail")))
    counts = {s: sum(r.status == s for r in results) for s in ("ok", "unrecorded", "missing", "bad", "differs")}
    print(", ".join(f"{v} {k}" for k, v in counts.items() if k != "differs" or v)
          + f"; weights directory: {paths.model_dir(args.model_dir)}")
    return 1 if counts["bad"] or counts["differs"] else 0


def _table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(tuple("-" * w for w in widths)), *map(line, rows)])


def run(args: argparse.Namespace) -> int:
    """Execute a parsed `models` command; returns the exit status. Errors propagate as exceptions."""
    if args.models_command == "list":
        names = registry.list_models(group=args.filter_group, source=args.filter_source)
        rows = []
        for n in names:
            s = registry.get_spec(n)
            rows.append((n, s.group, s.source, s.dataset, _presence(s, args.model_dir)))
        print(_table(rows, ("name", "group", "source", "dataset", "weights")))
        print(f"{len(rows)} models; weights directory: {paths.model_dir(args.model_dir)}")
        return 0


    if args.models_command == "fetch":
        if args.all and args.names:
            raise ValueError("give model names or --all, not both")
        if not args.all and not args.names:
            raise ValueError("name the models to fetch (see `python -m lowfreq models list`) or pass --all")
        names = list(published.PUBLISHED) if args.all else args.names
        for n in names:
            if n not in published.PUBLISHED:
                spec = registry.get_spec(n)  # unknown names: a ValueError with close matches
                raise ValueError(
                    f"{n!r} is a {spec.source} model, not a published one: it is trained, not fetched "
                    f"(python -m lowfreq zoo train {n})"
                )
        for n in names:
            path = published.fetch(n, model_dir=args.model_dir, force=args.force, progress=not args.no_progress)
            print(f"{n}: {path}")
        return 0

    if args.models_command == "verify":
        return _verify(args)

    raise ValueError(f"unknown models command {args.models_command!r}")
