"""``slopelab train``: minibatch training with a run folder, checkpoints and resume."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from slopelab.checkpoint import (
    Progress,
    check_saved_plan,
    load_checkpoint,
    read_progress,
    save_checkpoint,
)
from slopelab.commands import interrupts, ranks, summary
from slopelab.commands.arguments import (
    add_common_arguments,
    add_data_arguments,
    add_loss_arguments,
    add_optimizer_arguments,
    positive_int,
)
from slopelab.commands.console import Console, console_for
from slopelab.commands.interrupts import interrupt_flag
from slopelab.commands.optimizer_setup import build_optimizer, idle_steps_note
from slopelab.commands.runfolder import (
    add_in_memory_argument,
    discard_if_unused,
    finish_run,
    load_prepared,
    start_run,
)
from slopelab.commands.train_config import (
    EPOCHS_FLAG_FIX,
    check_against_data,
    check_extension,
    check_run_length,
    check_streaming,
    checked_config,
    checkpoint_plan,
    refuse_diverged,
    train_config,
    what_resuming_does,
)
from slopelab.data.prepare import Prepared, prepare_data
from slopelab.data.stream import (
    split_loss_and_accuracy,
    split_predictions,
)
from slopelab.distributed import Reducer, World, abort_on_failure
from slopelab.environment import blas_threads, describe_environment
from slopelab.errors import CommandError, InterruptedRun
from slopelab.history import Budget, History
from slopelab.losses import get_loss
from slopelab.model import SavedModel, save_model
from slopelab.optim import Optimizer
from slopelab.problem import Problem, is_streamed, split_accuracy
from slopelab.runs import (
    CHECKPOINT,
    METRICS,
    MODEL,
    MetricsLog,
    RunError,
    hold_run_folder,
    read_config,
    read_history,
    remove_leftovers,
    write_config,
)
from slopelab.train import DescentConfig, DescentState, descend, start_state, steps_per_epoch

DESCRIPTION = """Train a linear classifier with minibatch SGD (or any update rule) and write a run
folder: config.json, metrics.jsonl, model.npz, checkpoint.npz, results.json and figures. With no
arguments it trains softmax on scikit-learn's digits in about a second. Ctrl-C saves a
checkpoint; continue with --resume RUN (add --epochs N to train a finished run longer)."""

# With --resume the run's own config.json decides everything except these.
RESUME_OPTIONS = {"resume", "epochs", "json", "no_progress", "threads", "distributed"}
PROG = "slopelab train"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help=summary("train"), description=DESCRIPTION)
    add_data_arguments(parser)
    add_loss_arguments(parser, elasticnet=True)
    add_optimizer_arguments(parser, epochs=50)
    parser.add_argument(
        "--patience",
        type=positive_int,
        metavar="EPOCHS",
        help="early stopping: stop when validation accuracy has not improved "
        "for EPOCHS epochs and keep the best weights",
    )
    parser.add_argument(
        "--average",
        type=positive_int,
        nargs="?",
        const=1,
        metavar="START",
        help="averaged SGD: the model is the mean of the iterates from update START on "
        "(default 1, the first update); training goes on from the last iterate",
    )
    parser.add_argument(
        "--resume",
        metavar="RUN",
        help="continue the interrupted run in folder RUN with the settings in its config.json "
        "(only --epochs may be given with it, to train longer; and --threads, --json, "
        "--no-progress)",
    )
    add_in_memory_argument(parser)
    add_common_arguments(parser)
    ranks.add_distributed_argument(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    world = ranks.join(args)
    with blas_threads(ranks.threads_per_rank(args, world)):
        if world is not None and not world.is_root:
            return _follow(world)
        console = console_for(args)
        handoff = ranks.Handoff(world)
        with handoff.root_start():
            if args.resume:
                return _resume(args, console, handoff)
            prepared, run_dir, config = start_run(
                args,
                "train",
                console,
                lambda prepared: train_config(args, prepared),
                resume="slopelab train --resume",
                environment={"ranks": ranks.count(world)},
            )
            start = start_training(config, prepared, run_dir)
            handoff.send((str(run_dir), config, False, None))
        with hold_run_folder(run_dir):
            with abort_on_failure(world, PROG, lambda: discard_if_unused(run_dir)):
                result = train_run(config, prepared, run_dir, console, start, world=world)
            return finish_run(console, run_dir, result)


def _follow(world: World) -> int:
    """A rank other than 0: train alongside rank 0 on the run folder and config it hands
    over, on the same data (refused if its fingerprint differs), printing and writing nothing."""
    try:
        run_dir, config, resume, threads = ranks.Handoff(world).receive()
    except ranks.RootFailed as failed:
        return failed.code
    console = ranks.QuietConsole()

    def discard_new_folder() -> None:  # what rank 0's CLI would do, had the abort spared it
        if not resume:
            discard_if_unused(Path(run_dir))

    with abort_on_failure(world, PROG, discard_new_folder), blas_threads(threads):
        prepared = prepare_data(config["data"])
        start = start_training(config, prepared, Path(run_dir), resume=resume)
        result = train_run(config, prepared, Path(run_dir), console, start, world=world)
    return ranks.FOLLOWER_EXIT.get(result["status"], 0)


def flag_actions() -> dict[str, argparse.Action]:
    """The flags of ``slopelab train`` by destination: their types and choices are the rules
    a resumed run's config.json is held to."""
    subparsers = argparse.ArgumentParser().add_subparsers()
    add_parser(subparsers)
    return {action.dest: action for action in subparsers.choices["train"]._actions}


def _resume(args: argparse.Namespace, console: Console, handoff: ranks.Handoff) -> int:
    """Continue the run in ``--resume``'s folder. Everything that can be checked without the
    data is checked first (the flags, config.json, how the run ended), then the data loads and
    one line says what happens: training from the start, from a step, or nothing to do."""
    refused = sorted(args.given - RESUME_OPTIONS)
    if refused:
        flags = ", ".join("--" + name.replace("_", "-") for name in refused)
        raise CommandError(
            f"--resume continues {args.resume} with the settings in its config.json, so "
            f"{flags} cannot be given with it; drop them, or start a new run"
        )
    run_dir = Path(args.resume)
    config = checked_config(read_config(run_dir), run_dir, flag_actions())
    with hold_run_folder(run_dir):
        remove_leftovers(run_dir)
        progress = read_progress(run_dir)
        refuse_diverged(run_dir, progress)
        planned = config["training"]["epochs"]
        if "epochs" in args.given:
            check_extension(run_dir, progress, planned, args.epochs)
            config = {**config, "training": {**config["training"], "epochs": args.epochs}}
        prepared = load_prepared(config["data"], console)
        if "epochs" in args.given:
            request = f"--epochs {args.epochs}"
            check_run_length(config["training"], len(prepared.y_train), request, EPOCHS_FLAG_FIX)
        check_against_data(config, run_dir, len(prepared.y_train))
        check_streaming(config["training"], prepared.X_train)
        check_saved_plan(run_dir, checkpoint_plan(config))
        extended = config["training"]["epochs"] != planned
        config, threads, rethreaded = _resumed_threads(config, args)
        config, reranked = ranks.record_ranks(config, handoff.world)
        start = start_training(config, prepared, run_dir, resume=True)
        console.say(what_resuming_does(run_dir, start.progress, config, start.problem.num_examples))
        handoff.send((str(run_dir), config, True, threads))
        with blas_threads(threads), abort_on_failure(handoff.world, PROG):
            result = train_run(
                config,
                prepared,
                run_dir,
                console,
                start,
                save_config=extended or rethreaded or reranked,
                world=handoff.world,
            )
        return finish_run(console, run_dir, result)


def _resumed_threads(
    config: dict[str, Any], args: argparse.Namespace
) -> tuple[dict[str, Any], int | None, bool]:
    """The BLAS threads a resumed run continues with: the run's own (``training.threads`` in its
    config.json), or a new ``--threads`` given with ``--resume``, then recorded in the config
    with the environment it runs in. Returns the config, the threads to apply here (None when
    the command line's ``--threads`` already applies, or none was ever given) and whether the
    config changed."""
    training = config["training"]
    if "threads" not in args.given:
        return config, training.get("threads"), False
    if training.get("threads") == args.threads:
        return config, None, False
    changed = {**config, "training": {**training, "threads": args.threads}}
    return {**changed, "environment": describe_environment()}, None, True


@dataclass
class Start:
    """What a run starts (or continues) from: the problem, the update rule and the loop's
    knobs, the RNG, and the state, history and progress (None: from the first step)."""

    problem: Problem
    optimizer: Optimizer
    descent: DescentConfig
    plan: dict[str, Any]
    rng: np.random.Generator
    state: DescentState
    history: History
    progress: Progress | None
    resumed: bool = False


def start_training(
    config: dict[str, Any], prepared: Prepared, run_dir: Path, resume: bool = False
) -> Start:
    """The start of a run as ``config`` says, on ``prepared``; with ``resume``, from the
    checkpoint in ``run_dir`` (a RunError when it or metrics.jsonl does not fit the run).
    Rank 0 calls it before handing the run over, so what it refuses is one line of rank 0's."""
    training = config["training"]
    loss = get_loss(config["loss"]["loss"], config["loss"]["penalty"], _l1_ratio(config))
    if is_streamed(prepared.X_train):  # its epochs are block shuffles of the training seed
        prepared.X_train.seed = training["seed"]
    problem = Problem(loss, prepared.X_train, prepared.y_train, prepared.X_val, prepared.y_val)
    optimizer = build_optimizer(config["optimizer"])
    descent = DescentConfig(
        reg=config["loss"]["reg"],
        batch_size=None if training.get("full_batch") else training["batch_size"],
        sampling=training["sampling"],
        patience=training["patience"],
        average=training.get("average"),  # absent from runs older than --average
    )
    plan = checkpoint_plan(config)
    rng = np.random.default_rng(training["seed"])
    if resume:
        state, history, progress = _resumed(run_dir, problem, optimizer, rng, plan)
    else:
        state, history, progress = start_state(problem, optimizer, rng), History("sgd"), None
    return Start(problem, optimizer, descent, plan, rng, state, history, progress, resume)


def train_run(
    config: dict[str, Any],
    prepared: Prepared,
    run_dir: Path,
    console: Console,
    start: Start,
    save_config: bool = False,
    world: World | None = None,
) -> dict[str, Any]:
    """Train (or continue training) as ``config`` says from ``start``; write everything into
    ``run_dir``. ``save_config``: write ``config`` once the checkpoint is known to fit it
    (``--epochs``). ``world``: one of several MPI ranks, each training on its shard of every
    batch; a rank other than 0 writes nothing and returns only the run's ``status``."""
    training = config["training"]
    problem, optimizer, descent, plan, rng = (
        start.problem,
        start.optimizer,
        start.descent,
        start.plan,
        start.rng,
    )
    state, history = start.state, start.history
    resume = start.resumed
    budget = Budget(epochs=training["epochs"])
    writes = world is None or world.is_root
    metrics = MetricsLog(run_dir) if writes else ranks.QuietMetrics()
    reducer = Reducer(world) if world is not None else None
    if resume:
        if save_config and writes:
            write_config(run_dir, config)
        metrics.rewrite(history)

    total_steps = training["epochs"] * steps_per_epoch(problem.num_examples, descent.batch_size)
    idle = idle_steps_note(optimizer.learning_rate, total_steps)
    if idle and not resume:
        console.say(f"note: {idle}")
    if world is not None:
        world.comm.Barrier()  # the training time starts once every rank has loaded its data
    with interrupt_flag() as interrupted, console.bar(total_steps, "train") as bar:
        bar.update(state.step)
        epochs_seen = [len(history.epochs)]

        def on_step(current: DescentState, current_history: History) -> None:
            bar.update(1)
            if len(current_history.epochs) > epochs_seen[0]:
                epochs_seen[0] = len(current_history.epochs)
                _epoch_line(console, current_history, training["epochs"], bar)
                metrics.sync(current_history)
                if writes:
                    save_checkpoint(run_dir, current, rng, plan)

        def stop_requested() -> bool:
            return interrupted[0]

        history = descend(
            problem,
            optimizer,
            descent,
            budget,
            rng,
            state=state,
            history=history,
            on_step=on_step,
            stop_requested=reducer.agreed_stop(stop_requested) if reducer else stop_requested,
            reducer=reducer,
        )
        if world is not None:  # a Ctrl-C now is flagged: it cannot break the collective call
            reducer.check_same_params(history.params)
            world.together = False  # the last collective call: from here on rank 0 goes alone
    if world is not None and not world.is_root:
        interrupts.ignore_from_now()  # rank 0 alone decides how the job ends
        return {"status": history.status}
    metrics.sync(history)
    save_checkpoint(run_dir, state, rng, plan)
    if history.status == "interrupted":
        raise InterruptedRun(
            f"stopped at step {state.step} of {total_steps}; checkpoint saved in {run_dir}. "
            f"Resume with: slopelab train --resume {run_dir}"
        )
    if history.status == "diverged":
        from slopelab import plots

        plots.loss_curve(history, run_dir / "loss.png")
        raise CommandError(
            f"{history.message}; the run folder {run_dir} is kept for inspection "
            "(config.json, metrics.jsonl, loss.png)"
        )
    return _finish(config, prepared, run_dir, history, console)


def _resumed(
    run_dir: Path,
    problem: Problem,
    optimizer: Optimizer,
    rng: np.random.Generator,
    plan: dict[str, Any],
) -> tuple[DescentState, History, Progress | None]:
    """The state and history of a run from its checkpoint and the steps of ``metrics.jsonl``
    the checkpoint has reached, and how far it got (None: no checkpoint). A run killed before
    its first checkpoint starts over: its config.json holds every knob and the seed, so that
    is the same run."""
    if not (run_dir / CHECKPOINT).exists():
        return start_state(problem, optimizer, rng), History("sgd"), None
    state = load_checkpoint(run_dir, problem, optimizer, rng, plan)
    history = read_history(run_dir, "sgd", up_to_step=state.step)
    if len(history.steps) != state.step:
        raise RunError(
            f"{run_dir / METRICS} holds {len(history.steps)} of the {state.step} steps in "
            "the checkpoint; it was cut or edited, so the run cannot continue its record; "
            f"restore it, or remove {run_dir / CHECKPOINT} to train the run again from the start"
        )
    return state, history, Progress(state.step, state.examples, state.status, state.message)


def _epoch_line(console: Console, history: History, epochs: int, bar: Any) -> None:
    record = history.epochs[-1]
    previous = history.epochs[-2].step if len(history.epochs) > 1 else 0
    mean_loss = float(np.mean([step.loss for step in history.steps[previous:]]))
    line = (
        f"epoch {record.epoch:5.1f}/{epochs}  loss {mean_loss:.4f}  "
        f"train (running) {record.train_accuracy:6.1%}  val {record.val_accuracy:6.1%}  "
        f"lr {history.steps[-1].learning_rate:.3g}  {record.seconds:6.1f} s"
    )
    if console.progress_enabled:
        bar.write(line, file=console.stream)
    else:
        console.say(line)


def _finish(
    config: dict[str, Any], prepared: Prepared, run_dir: Path, history: History, console: Console
) -> dict[str, Any]:
    params = history.params
    dataset = prepared.dataset
    model = SavedModel(
        params,
        prepared.preprocessor,
        dataset.class_names,
        meta={
            "loss": config["loss"]["loss"],
            "penalty": config["loss"]["penalty"],
            "l1_ratio": _l1_ratio(config),
            "dataset": dataset.name,
            "data": {**config["data"], "sha256": dataset.sha256},
            "image_shape": dataset.image_shape,
            "feature_names": dataset.feature_names,
            "label_column": dataset.label_column,
        },
    )
    save_model(run_dir / MODEL, model)
    figures = _figures(run_dir, history, prepared, params)
    loss = get_loss(config["loss"]["loss"], config["loss"]["penalty"], _l1_ratio(config))
    final_loss, train_accuracy = split_loss_and_accuracy(
        loss, params, prepared.X_train, prepared.y_train, config["loss"]["reg"]
    )
    result = {
        "train_accuracy": train_accuracy,
        "val_accuracy": split_accuracy(params, prepared.X_val, prepared.y_val),
        "test_accuracy": split_accuracy(params, prepared.X_test, prepared.y_test),
        "final_loss": final_loss,  # of the returned W, on the whole training split
        "last_batch_loss": history.final_loss,
        "epochs": history.examples / len(prepared.y_train),
        "steps": len(history.steps),
        "seconds": history.seconds,
        "status": history.status,
        "message": history.message,
        "sparsity": history.sparsity,  # the fraction of W that is exactly 0.0
        "averaged_from": config["training"].get("average"),
        "run_dir": str(run_dir),
        "figures": [str(path) for path in figures],
    }
    console.say()
    console.table(
        ["split", "accuracy", "examples"],
        [
            ["train", f"{result['train_accuracy']:.2%}", len(prepared.y_train)],
            ["val", f"{result['val_accuracy']:.2%}", len(prepared.y_val)],
            ["test", f"{result['test_accuracy']:.2%}", len(prepared.y_test)],
        ],
    )
    console.say(
        f"training loss of the final weights {result['final_loss']:.4f} (all "
        f"{len(prepared.y_train)} training examples) after {result['steps']} updates "
        f"({result['epochs']:.1f} epochs) in {result['seconds']:.3g} s of training; "
        f"{history.message}"
    )
    console.say(_model_line(config, history))
    console.say(
        f"run folder: {run_dir} (model.npz, metrics.jsonl, "
        + ", ".join(path.name for path in figures)
        + ")"
    )
    return result


def _l1_ratio(config: dict[str, Any]) -> float:
    """The run's ``--l1-ratio`` (runs older than the elastic net have none: the default)."""
    return config["loss"].get("l1_ratio", 0.15)


def _model_line(config: dict[str, Any], history: History) -> str:
    """What the saved weights are: averaged or not, and how many of them are exactly 0.0."""
    start = config["training"].get("average")
    what = (
        f"the model is the average of the iterates from update {start} on"
        if start is not None
        else "the model is the last iterate"
    )
    W = history.params["W"]
    zeros = int((W == 0.0).sum())
    return f"{what}; sparsity: {zeros} of {W.size} weights ({history.sparsity:.1%}) are exactly 0"


def _figures(run_dir: Path, history: History, prepared: Prepared, params: dict) -> list[Path]:
    from slopelab import plots

    dataset = prepared.dataset
    figures = [
        plots.loss_curve(history, run_dir / "loss.png"),
        plots.accuracy_curves(history, run_dir / "accuracy.png"),
        plots.confusion_matrix(
            prepared.y_test,
            split_predictions(params, prepared.X_test),
            dataset.class_names,
            run_dir / "confusion.png",
        ),
    ]
    if dataset.image_shape is not None:
        figures.append(
            plots.weight_templates(
                params["W"], dataset.image_shape, dataset.class_names, run_dir / "weights.png"
            )
        )
    return figures
