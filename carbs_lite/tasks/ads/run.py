"""`carbs-lite run`: tune the built-in ads simulator, keeping the study on disk as it goes.

The study is saved after every suggestion and every result, so a Ctrl-C loses at most the run
in flight, and ``--switch early_stopping=on`` stops runs whose curve shows they will not join
the front (``carbs_lite.early_stopping``; the summary line says how many training days that
saved), and the same command (or ``--study PATH``) resumes: the interrupted suggestion is
trained first. A resumed run draws fresh simulator noise (the simulator is seeded per process).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from carbs_lite.cli.common import (
    CommandError,
    nonnegative_float,
    nonnegative_int,
    positive_float,
    positive_int,
    report_path,
    writable_file,
)

DEFAULT_STUDY = "carbs-lite-study.json"


def add_run_command(commands: argparse._SubParsersAction, switch_option: Any) -> None:
    """Register `carbs-lite run` and its options."""
    run = commands.add_parser("run", help="tune the built-in ads simulator and write a report")
    run.add_argument("--tries", type=positive_int, default=10, help="training runs in all")
    run.add_argument("--days", type=positive_int, default=60, help="training days per run")
    run.add_argument("--min-qps", type=positive_float, default=3500.0, help="the QPS floor")
    run.add_argument("--seed", type=nonnegative_int, default=0, help="seeds tuner and simulator")
    run.add_argument(
        "--noise-scale",
        type=nonnegative_float,
        default=None,
        help="simulator GLOBAL_NOISE_SCALE (default 1)",
    )
    run.add_argument("--study", default=DEFAULT_STUDY, help="the study file, resumed if present")
    run.add_argument("--out", default="carbs-lite-report.html", help="HTML report path")
    switch_option(run)
    run.set_defaults(func=cmd_run)


def _format_try(result: Any) -> str:
    status = "ok" if result.feasible else ("diverged" if result.diverged else "qps too low")
    if result.stopped:
        status = f"stopped on day {result.days}"
    score = "-" if result.diverged else f"{result.score:+.5f}"
    line = (
        f"try {result.index + 1:2d}  ne={result.ne:.6f}  qps={result.qps:8.1f}  "
        f"score={score:>8s}  {status:11s}  arch={json.dumps(result.arch)}"
    )
    return line + (f"\n        stopped: {result.stopped}" if result.stopped else "")


def _study(args: argparse.Namespace, simulator: dict[str, Any]) -> Any:
    """The study at ``--study``, resumed when it matches the arguments and its runs were
    trained with the same ``simulator`` settings (``_simulator_settings``), else a new one."""
    from carbs_lite.config import TunerConfig
    from carbs_lite.heuristics import Heuristics
    from carbs_lite.state import JOURNAL_FORMAT, load_state, study_file_format
    from carbs_lite.tasks.ads.tuning import arch_tuner
    from carbs_lite.tuner import Tuner

    config = TunerConfig(**args.settings)
    fresh = arch_tuner(args.min_qps, args.seed, args.heuristics, config, tries=args.tries)
    path = Path(args.study)
    if not path.exists():
        return fresh
    if study_file_format(path) == JOURNAL_FORMAT:
        raise CommandError(
            f"{path} is a study journal; run keeps its study in a snapshot file (drive a "
            "journal with suggest and observe, or pass another --study)"
        )
    try:
        study = Tuner.from_state(load_state(path))
    except (OSError, ValueError) as error:
        raise CommandError(f"{path}: cannot resume it ({error}); pass another --study") from None
    wanted, found = fresh.to_state(), study.to_state()
    for name in ("seed", "params", "tries"):
        if getattr(wanted, name) != getattr(found, name):
            raise CommandError(
                f"{path} holds a study with another {'budget of tries' if name == 'tries' else name}"
                "; pass --study NEW to start afresh"
            )
    # only what the arguments set must match (the QPS floor, as the cost cap, and the
    # switches given): the study keeps the rest of the config and heuristics it was made with,
    # so a study begun before an upgrade that changed a default still resumes
    if wanted.config.max_suggestion_cost != found.config.max_suggestion_cost:
        raise CommandError(
            f"{path} holds a study with another --min-qps; pass --study NEW to start afresh"
        )
    stored = {"config": found.config.to_json(), "heuristics": found.heuristics.to_json()}
    for name in sorted({text.partition("=")[0] for text in args.switch}):
        kind = "config" if name in args.settings else "heuristics"
        if getattr(getattr(wanted, kind), name) != getattr(getattr(found, kind), name):
            raise CommandError(
                f"{path} holds a study with {name}={stored[kind][name]}; pass --study NEW to "
                "start afresh"
            )
    for observation in found.observations:
        for name, value in simulator.items():
            if observation.extra.get(name, value) != value:
                raise CommandError(
                    f"{path} holds runs trained with --{name.replace('_', '-')} "
                    f"{observation.extra[name]:g}; pass --study NEW to start afresh"
                )
    done = len(found.observations)
    defaults = Heuristics().to_json()
    kept = [f"{k}={v}" for k, v in stored["heuristics"].items() if defaults[k] != v]
    settings = f" (its heuristics: {', '.join(kept)})" if kept else ""
    print(f"resuming {path}: {done} of {args.tries} tries done{settings}")
    return study


def _simulator_settings(args: argparse.Namespace, config: dict[str, Any]) -> dict[str, Any]:
    """What each finished run records of the simulator it was trained in, beside its QPS
    (``Observation.extra``), so that a resumed study does not mix training lengths or noise."""
    return {"days": args.days, "noise_scale": float(config["GLOBAL_NOISE_SCALE"])}


def _resume_command(args: argparse.Namespace) -> str:
    """The `carbs-lite run` command that resumes this one: a study resumes only under the
    settings it was made with, so it repeats each of them."""
    words = ["carbs-lite", "run", "--study", args.study, "--out", args.out]
    words += ["--tries", str(args.tries), "--days", str(args.days)]
    words += ["--min-qps", str(args.min_qps), "--seed", str(args.seed)]
    if args.noise_scale is not None:
        words += ["--noise-scale", str(args.noise_scale)]
    for switch in args.switch:
        words += ["--switch", switch]
    return shlex.join(words)


def cmd_run(args: argparse.Namespace) -> int:
    """Tune the simulator for ``--tries`` tries, print each, write the report."""
    from carbs_lite.tasks.ads.simulator import ModelPerformanceAPI, get_default_model_config_dict
    from carbs_lite.tasks.ads.tuning import run_tries

    config = get_default_model_config_dict()
    config["SEED"] = args.seed
    if args.noise_scale is not None:
        config["GLOBAL_NOISE_SCALE"] = args.noise_scale
    api = ModelPerformanceAPI(config)
    report_path(args.out)  # before hours of tuning, not after
    writable_file(args.study, "--study")
    simulator = _simulator_settings(args, config)
    study = _study(args, simulator)
    print(
        f"tuning the built-in ads simulator: {args.tries} tries, {args.days} days, "
        f"qps > {args.min_qps:g}; study kept in {args.study}"
    )
    try:
        finished = run_tries(
            api,
            study,
            args.tries,
            args.days,
            on_try=lambda t: print(_format_try(t), flush=True),
            checkpoint=lambda: study.save(args.study),
            extra=simulator,
        )
    except KeyboardInterrupt:
        kept = len(study.to_state().observations)
        if not Path(args.study).exists():
            # the study is saved after each finished try: none finished, none saved
            print("interrupted before any try finished; nothing was kept", file=sys.stderr)
            return 130
        print(
            f"interrupted: {kept} finished tries are kept in {args.study}; "
            f"`{_resume_command(args)}` resumes",
            file=sys.stderr,
        )
        return 130
    stopped = [t for t in finished if t.stopped]
    if stopped:
        saved = len(stopped) * args.days - sum(t.days for t in stopped)
        print(f"{len(stopped)} run(s) stopped early, saving {saved} of their training days")
    best = study.best()
    if best is None:
        print("no feasible try")
    else:
        ne, qps = best.output, 1.0 / best.cost
        print(
            f"best feasible: arch={json.dumps(best.params['arch'])} ne={ne:.6f} qps={qps:.1f} "
            f"score={api.get_score(ne):+.5f}"
        )
    print(f"report: {study.report(args.out)}")
    return 0
