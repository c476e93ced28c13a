"""The cluster path (#13): one job per model through submitit (SLURM on a cluster, local processes
elsewhere), all jobs writing to one results cache on a shared filesystem.

Each job runs :func:`lowfreq.experiments.runs.run` for a single model (train, then every probe), so jobs
are independent: a job that dies or is preempted is simply submitted again and resumes from the cached
pieces, and a model whose results are complete costs nothing. Paths travel to the jobs explicitly
(results, models, data), so the jobs need the shared filesystem, not this process's environment.

    python -m lowfreq zoo probe --tier full --cluster slurm --cluster-folder /shared/lowfreq-jobs \\
        --slurm-partition gpu --gpus-per-job 1
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Sequence

from lowfreq.core import paths
from lowfreq.core.paths import Folders
from lowfreq.experiments.runs import STAGES, run
from lowfreq.models import zoo

__all__ = ["ClusterConfig", "submit_zoo", "run_one"]


@dataclasses.dataclass(frozen=True)
class ClusterConfig:
    """Where and how the per-model jobs run. executor: 'slurm', 'local' (processes on this machine)
    or 'debug' (in this process, for tests); folder: submitit's logs and pickles (on the shared
    filesystem for SLURM); the rest are SLURM settings (ignored by the local executors)."""

    executor: str = "slurm"
    folder: str = "submitit-jobs"
    slurm_partition: str | None = None
    gpus_per_job: int = 1
    cpus_per_job: int = 8
    timeout_min: int = 240
    mem_gb: int = 32


def run_one(tier: str, name: str, stages: Sequence[str], device: str, results_root: str, model_dir: str,
            data_root: str) -> dict[str, float]:
    """The body of one job: every stage of one model (resumable through the results cache)."""
    return run(tier, [name], probes=list(stages), device=device, progress=False,
               folders=paths.folders(results=results_root, models=model_dir, data=data_root))


def submit_zoo(tier: str, names: Sequence[str] | None = None, *, config: ClusterConfig = ClusterConfig(),
               stages: Sequence[str] = STAGES, device: str = "auto", folders: Folders | None = None,
               wait: bool = True) -> dict[str, Any]:
    """Submit one job per model of `names` (default: the tier's zoo) and, with wait=True, wait for them.
    Returns {name: per-stage seconds} (wait=True) or {name: the submitit job}. Jobs that fail raise
    when waited for, naming the model and the job's log folder. folders: where data, weights and results
    live (None: lowfreq.core.paths.folders())."""
    import submitit  # optional: only the cluster path needs it (pip install submitit)

    names = list(names) if names is not None else [r.name for r in zoo.recipes(tier, replicas=True)]
    f = folders or paths.folders()
    dirs = [str(Path(d).resolve()) for d in (f.results, f.models, f.data)]
    if config.executor == "debug":
        ex = submitit.DebugExecutor(folder=config.folder)
    elif config.executor == "local":
        ex = submitit.LocalExecutor(folder=config.folder)
        ex.update_parameters(timeout_min=config.timeout_min)
    elif config.executor == "slurm":
        ex = submitit.AutoExecutor(folder=config.folder, cluster="slurm")
        ex.update_parameters(timeout_min=config.timeout_min, gpus_per_node=config.gpus_per_job,
                             cpus_per_task=config.cpus_per_job, mem_gb=config.mem_gb, name="lowfreq",
                             **({"slurm_partition": config.slurm_partition} if config.slurm_partition else {}))
    else:
        raise ValueError(f"unknown executor {config.executor!r}; use 'slurm', 'local' or 'debug'")
    jobs = {n: ex.submit(run_one, tier, n, list(stages), device, *dirs) for n in names}
    if not wait:
        return jobs
    out: dict[str, Any] = {}
    for n, job in jobs.items():
        try:
            out[n] = job.result()
        except Exception as exc:  # noqa: BLE001 - name the model and where its log is
            raise RuntimeError(f"the job of {n} ({job.job_id}) failed: {str(exc).strip().splitlines()[-1][:200]}; "
                               f"its log is in {config.folder}; submit again to resume") from None
    return out
