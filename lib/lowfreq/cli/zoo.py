"""`python -m lowfreq zoo {list,train,probe,table}`: train the zoo and run the book's probes."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from lowfreq import experiments
from lowfreq.cli.models import zoo_record_mismatch
from lowfreq.core import paths
from lowfreq.core.paths import Folders
from lowfreq.core.tiers import DEFAULT_TIER, TIERS, dry_run_tier
from lowfreq.core.utils import resolve_device
from lowfreq.experiments import probe
from lowfreq.experiments.cluster import ClusterConfig, submit_zoo
from lowfreq.models import zoo

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("zoo", help="train the model zoo and run the probes of the book")
    sub = p.add_subparsers(dest="zoo_command", required=True)
    helps = {
        "list": "list the zoo recipes of a tier",
        "train": "train zoo models (resumable; existing weights are reused)",
        "probe": "train, then run every probe (resumable, cached under results/<tier>/)",
        "table": "print Table B from cached results",
        "pca-sweep": "train the pca recipe with several K and pick the K matching the blur model's accuracy",
    }
    for cmd, help_ in helps.items():
        q = sub.add_parser(cmd, help=help_)
        q.add_argument("names", nargs="*", help="model names (default: every zoo recipe of the tier)")
        q.add_argument("--tier", default=DEFAULT_TIER, choices=TIERS)
        q.add_argument("--family", default="cifar10", choices=zoo.FAMILIES,
                       help="which zoo when no names are given: cifar10 (Figs 2-5, default), imagenette (the Fig 6 stand-in, "
                            "in_*) or strength (the strength sweep of issue 20, e12_* and air_*)")
        q.add_argument("--threads", type=int, default=None, help="torch CPU threads")
        q.add_argument("--results", default=None, metavar="DIR",
                       help="the results cache (default: $LOWFREQ_RESULTS_DIR, else results/ of the checkout)")
        q.add_argument("--model-dir", default=None, metavar="DIR",
                       help="the weights (default: $LOWFREQ_MODEL_DIR, else models/ of the checkout)")
        q.add_argument("--data-dir", default=None, metavar="DIR",
                       help="the data sets (default: $LOWFREQ_DATA_DIR, else data/ of the checkout)")
        if cmd in ("train", "probe", "pca-sweep"):
            q.add_argument("--jobs", type=int, default=None,
                           help="models trained / probed at a time on the CPU, one thread each (default: 2 on a CPU with "
                                ">= 2 cores, measured faster there; 1 on a GPU)")
        q.add_argument("--device", default=None,
                       help="cpu (default), cuda, cuda:N or auto (cuda when a GPU is present); every stage runs there")
        if cmd == "table":
            q.add_argument("--markdown", action="store_true", help="a Markdown table (for results/<tier>/TABLE.md)")
        if cmd == "pca-sweep":
            q.add_argument("--k", type=int, nargs="+", default=[64, 128, 256, 512])
            q.add_argument("--recipe", default="pca", help="the PCA recipe to sweep: pca (default) or in_pca (Imagenette)")
            q.add_argument("--reference", default=None,
                           help="blur model whose clean accuracy K should match (default: blur_s1.5; in_blur_s3.0 for in_pca)")
        if cmd == "probe":
            q.add_argument("--probes", default=",".join(experiments.runs.stages()), help="comma-separated stages")
            q.add_argument("--cluster", choices=("slurm", "local"), default=None,
                           help="one job per model through submitit: slurm (a cluster; results on a shared filesystem) "
                                "or local (processes on this machine)")
            q.add_argument("--cluster-folder", default="submitit-jobs", help="with --cluster: the jobs' logs (shared)")
            q.add_argument("--slurm-partition", default=None, help="with --cluster slurm: the partition")
            q.add_argument("--gpus-per-job", type=int, default=1, help="with --cluster slurm: GPUs per job")
            q.add_argument("--attack-jobs", type=int, default=None, metavar="N",
                           help="models attacked at a time (default: --jobs); Brendel-Bethge's solver runs on the CPU "
                                "even when the model is on a GPU, so a GPU machine gains from more")
            q.add_argument("--corruption-workers", type=int, default=None, metavar="N",
                           help="CPU worker processes that make the corruption stage's corrupted image sets in the "
                                "background while the models train (default: 0 on a CPU, where they would compete with "
                                "training; on a GPU all cores but one per --jobs and one more)")
            q.add_argument("--dry-run", action="store_true",
                           help="with --tier full: the whole full tier on a CPU in minutes (same recipes and code paths, "
                                "sizes cut to a few images and steps), written to a scratch folder")
            q.add_argument("--scratch", default=None, metavar="DIR",
                           help="with --dry-run: the folder for its weights and results (default: a new temporary folder)")
            q.add_argument("--time-as", default=None, metavar="LABEL",
                           help="store the run's wall / CPU seconds per stage as results/<tier>/timing/LABEL-*.json "
                                "(e.g. fig2_neural; the book's chapters show it)")


def _mismatches(names: list[str], tier: str, folders: Folders) -> dict[str, str]:
    """{name: one line} for the zoo models among `names` whose weights file at `tier` is not the one their
    committed trained record names (:func:`lowfreq.cli.models.zoo_record_mismatch`), each printed to stderr."""
    out = {}
    for n in names:
        try:
            line = zoo_record_mismatch(n, tier, folders=folders)
        except (KeyError, ValueError, OSError):  # not a zoo model at this tier, or a damaged file (reported where loaded)
            continue
        if line is not None:
            out[n] = line
            print(f"lowfreq: warning: {line}", file=sys.stderr)
    return out


#: Table B columns of the registered probes that the printed table leaves out (spreads and success rates).
_NOT_SHOWN = ("f05_std_cpp", "f_rev_std_nyq", "attack_success")


def _probe_columns(tier: str) -> list[str]:
    """The Table B columns of every registered zoo probe (Probe.summary_row), in the registry's order."""
    cfg = experiments.tiers.tier_config(tier)
    return [c for kind in probe.names(zoo=True) for c in (probe.get(kind).from_tier(cfg).summary_row(None) or {})]


def run(args: argparse.Namespace) -> int:
    """Execute a parsed `zoo` command; returns the exit status."""
    if args.threads:
        torch.set_num_threads(args.threads)
    # resolved before anything runs: --device cuda without a GPU is an error even when nothing is left to compute
    device = resolve_device(args.device)
    if args.device == "auto":
        print(f"device: {device} (auto: {'a GPU was found' if device.type == 'cuda' else 'no GPU, so the CPU'})")
    args.device = device
    folders = paths.folders(data=args.data_dir, models=args.model_dir, results=args.results)
    names = args.names or [r.name for r in zoo.recipes(args.tier, family=args.family, replicas=True)]
    jobs = getattr(args, "jobs", None)
    if jobs is None:
        jobs = 2 if device.type == "cpu" and (os.cpu_count() or 1) >= 2 else 1
    workers = getattr(args, "corruption_workers", None)
    if workers is None:
        workers = 0 if device.type == "cpu" else max(1, (os.cpu_count() or 1) - jobs - 1)
    if args.zoo_command == "pca-sweep":
        ref = args.reference or ("in_blur_s3.0" if args.recipe == "in_pca" else "blur_s1.5")
        out = experiments.runs.pca_k_sweep(args.tier, args.k, reference=ref, recipe_name=args.recipe, device=args.device, jobs=jobs,
                                           folders=folders)
        print(f"reference {out['reference']}: test accuracy {out['reference_acc']:.4f}")
        for k, a in out["acc_by_k"].items():
            print(f"  K = {k:>4s}: test accuracy {a:.4f}")
        print(f"closest: K = {out['chosen_k']} (configured for tier {args.tier}: {out['configured_k']})")
        return 0
    if args.zoo_command == "list":
        for r in zoo.recipes(args.tier, family=args.family, replicas=True):
            print(f"{r.name:14s} {r.group:6s} {r.arch:16s} epochs={r.epochs:<3d} subset={r.train_subset}  {r.notes}")
        return 0
    if args.zoo_command == "train":
        t0 = time.perf_counter()
        for n in names:
            zoo.recipe(n, args.tier)
        experiments.runs.run(args.tier, names, probes=["train"], device=args.device, jobs=jobs, folders=folders)
        for n in names:
            rec = experiments.probes.trained_record(n, args.tier, device=args.device, need_weights=True, progress=False,
                                                    folders=folders)
            print(f"{n:14s} test accuracy {rec.payload['test_acc']:.4f}   train {rec.payload['train_time_s']:.0f} s")
        print(f"total wall time {time.perf_counter() - t0:.0f} s")
        return 0
    if args.zoo_command == "probe":
        if args.dry_run:
            dry = dry_run_tier(args.tier).name  # ValueError naming the tiers that have one
            scratch = Path(args.scratch) if args.scratch else Path(tempfile.mkdtemp(prefix="lowfreq-dry-run-"))
            names = args.names or [r.name for r in zoo.recipes(dry, family=args.family, replicas=True)]
            print(f"dry run of the {args.tier} tier ({len(names)} recipes) in {scratch}")
            t0 = time.perf_counter()
            times = experiments.runs.run(dry, names, probes=args.probes.split(","), device=args.device,
                                    folders=paths.folders(data=args.data_dir, results=scratch / "results",
                                                          models=scratch / "models"),
                                    jobs=jobs, attack_jobs=args.attack_jobs, corruption_workers=workers)
            print(f"dry run: {time.perf_counter() - t0:.0f} s wall;", {k: round(v) for k, v in times.items()})
            return 0
        if args.cluster:
            cfg = ClusterConfig(executor=args.cluster, folder=args.cluster_folder, slurm_partition=args.slurm_partition,
                                gpus_per_job=args.gpus_per_job)
            out = submit_zoo(args.tier, names, config=cfg, stages=args.probes.split(","), device=str(args.device),
                             folders=folders)
            for n, times in out.items():
                print(f"{n:16s}", {k: round(v) for k, v in times.items()})
            return 0
        _mismatches(names, args.tier, folders)
        if args.time_as:
            t = experiments.runs.timed_run(args.tier, names, args.time_as, probes=args.probes.split(","), device=args.device,
                                      jobs=jobs, attack_jobs=args.attack_jobs, corruption_workers=workers,
                                      folders=folders)
            times = t["stages_wall_s"]
            print(f"total {t['wall_s']:.0f} s wall, {t['cpu_s']:.0f} s CPU ({t['jobs']} jobs, {t['threads']} threads)")
        else:
            times = experiments.runs.run(args.tier, names, probes=args.probes.split(","), device=args.device, jobs=jobs,
                                    attack_jobs=args.attack_jobs, corruption_workers=workers, folders=folders)
        print("wall seconds per stage:", {k: round(v) for k, v in times.items()})
        return 0
    differs = _mismatches(names, args.tier, folders)
    rows = experiments.runs.summary_table(args.tier, names, compute=False, folders=folders)
    for r in rows:
        if r["model"] in differs:  # a changed file's trained record holds its checkpoint's own fields, not a measurement
            r["test_acc"] = r["train_time_s"] = None
    cols = ["model", "group", "test_acc", "train_time_s", "clean_acc", "corruption_acc", "mean_eps", "median_eps", "f05_cpp", "f_rev_nyq"]
    cols += [c for c in _probe_columns(args.tier) if c not in cols and c not in _NOT_SHOWN]  # a new probe's own columns
    scale = {"mean_eps": 255.0, "median_eps": 255.0}

    def cell(r: dict, c: str) -> str:
        v = r.get(c)
        if isinstance(v, float):
            return f"{v * scale.get(c, 1.0):.1f}" if c == "train_time_s" else f"{v * scale.get(c, 1.0):.4f}"
        return "-" if v is None else str(v)

    header = [c + (" (x255)" if c in scale else "") for c in cols]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(cols))
        for r in rows:
            print("| " + " | ".join(cell(r, c) for c in cols) + " |")
        total = sum(r.get("train_time_s") or 0.0 for r in rows)
        print(f"\nTier {args.tier}: {len(rows)} models, total training time {total:.0f} s (sum of the recorded per-model times).")
        return 0
    print(" ".join(f"{h:>16s}" for h in header))
    for r in rows:
        print(" ".join(f"{cell(r, c):>16s}" for c in cols))
    return 0
