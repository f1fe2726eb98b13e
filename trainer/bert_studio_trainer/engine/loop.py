"""The fine-tuning loop: one Trainer per run, driven by a validated spec and a task."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import set_seed

from ..analysis.dynamics import DYNAMICS_NPZ, recorder_for
from ..data.collate import PACKING_TASKS, Packer, packer_for
from ..families import _position_offset
from ..spec import Spec, SpecError
from ..tasks import build_task
from ..tasks.base import Batch, EvalResult, Feature, Task, collapsed_class
from . import compile_policy
from .checkpoint import (
    TrainState,
    clean_partial,
    finish_checkpoint,
    latest_checkpoint,
    load_checkpoint,
    save_rank_rng,
    tmp_dir_for,
)
from .control import StopControl
from .dropout_masks import fast_dropout_masks, serial_bernoulli
from .events import EventLog
from .freezing import Freezing
from .gradients import Gradients
from .head_positions import PRUNING_TASKS, HeadPositions, head_positions_for
from .metrics_util import memory_mb
from .optim import build_optimizer, build_scheduler, group_learning_rates
from .outputs import save_best, write_model_dir
from .runtime import Runtime, eval_mode
from .sampler import epoch_batches, num_batches


class Trainer:
    def __init__(self, spec: Spec, run_dir: Path, runtime: Runtime, events: EventLog,
                 control: StopControl, resume: bool = False) -> None:
        self.spec, self.run_dir, self.rt, self.events, self.control = spec, run_dir, runtime, events, control
        self.resume = resume
        # A study's pruner (sweep.py): called after each evaluation; a reason it returns ends the run there.
        self.on_eval: Callable[[int, dict[str, float]], str | None] | None = None
        self.stop_reason: str | None = None
        self.task: Task = build_task(spec)
        metric = spec.t("metric_for_best_model") or self.task.default_metric
        if metric not in self.task.metric_names:
            raise SpecError(f"The {spec.task} task does not compute {metric!r}; use one of "
                            f"{', '.join(self.task.metric_names)}.", "training.metric_for_best_model")
        self.metric = metric
        self.task.validate_spec(spec)

    # ---- setup -------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Read and tokenize data, build the model and optimizer; data errors are SpecErrors."""
        spec, task = self.spec, self.task
        train = self._load(spec.data.train, "train")
        if spec.data.max_train_samples:
            train = train[: spec.data.max_train_samples]
        if not train:
            raise SpecError(f"No training examples in {spec.data.train}; give a file with at least one example.",
                            "data.train")
        task.fit_labels(train)
        self.eval_examples: list[Any] = []
        if spec.data.validation:
            self.eval_examples = self._load(spec.data.validation, "validation")
            if spec.data.max_eval_samples:
                self.eval_examples = self.eval_examples[: spec.data.max_eval_samples]
        self.control.check_starting()
        self.tokenizer = task.build_tokenizer(spec.model)
        set_seed(spec.t("seed"))
        self.raw_model = task.build_model(spec.model).to(self.rt.device)
        # Saved in every config.json (checkpoints, best/, model/, onnx/): the length it was trained at.
        self.raw_model.config.bert_studio_trained_max_length = spec.t("max_seq_length")
        self.raw_model.train()
        self.control.check_starting()
        t0 = time.perf_counter()
        self.features = task.build_train_features(train, self.tokenizer)
        self.eval_features = task.build_eval_features(self.eval_examples, self.tokenizer) if self.eval_examples else []
        self.control.check_starting()
        for note in task.notes:
            self.events.log("warning", note)
        self.events.log("info", f"{len(train)} training examples -> {len(self.features)} features, "
                        f"{len(self.eval_examples)} eval examples, tokenized in {time.perf_counter() - t0:.1f}s")
        self.lengths = [len(f["input_ids"]) for f in self.features]
        # Batches are padded to their longest feature, rounded up to a multiple of 8 on a GPU (tensor
        # cores) and not at all on a CPU: there the rounding only adds work (SST-2: 30% more tokens
        # than real instead of 5%), and a length-grouped batch of one length needs no attention mask.
        self.pad_multiple = 8 if self.rt.device.type == "cuda" else 1
        self.packer = self._packer()
        self.heads = self._head_positions()
        bs, accum = spec.t("per_device_train_batch_size"), spec.t("gradient_accumulation_steps")
        per_epoch = num_batches(len(self.features), bs, self.rt.world_size)
        if per_epoch == 0:
            raise SpecError(f"Fewer training examples ({len(self.features)}) than processes ({self.rt.world_size}); give "
                            "more examples or start fewer processes.", "data.train")
        self.steps_per_epoch = math.ceil(per_epoch / accum)
        max_steps = spec.t("max_steps")
        self.max_steps = max_steps if max_steps > 0 else max(1, math.ceil(spec.t("num_train_epochs") * self.steps_per_epoch))
        self.freezing = Freezing(self.raw_model, spec.training)
        self.optimizer = build_optimizer(self.raw_model, spec.t("learning_rate"), spec.t("weight_decay"), self.rt.device,
                                         self.freezing.lr_scales(), self.freezing.trainable_parameters())
        self.scheduler = build_scheduler(self.optimizer, spec.t("warmup_ratio"), self.max_steps)
        self.state = TrainState(world_size=self.rt.world_size)
        # Per-example training dynamics (analysis/dynamics.py), from the training forward passes.
        self.dynamics, note = recorder_for(spec, task, self.features, train, self.rt.world_size)
        if note:
            self.events.log("info", note)
        if self.dynamics:
            self.dynamics.attach(self.raw_model)
        if self.resume:
            self._resume()
        self.freezing.apply(self.state.step, self.state.epoch)
        self._params_event()
        self.model: torch.nn.Module = self.raw_model
        # training.torch_compile: true compiles now; "auto" times the first eager steps (compile_policy).
        self.compile_pending: _CompileTimer | None = None
        compile_now, note = compile_policy.upfront(spec.t("torch_compile"), self.rt.distributed, self.packer is not None)
        if note:
            self.events.log("info", note)
        if compile_now:
            self.model = torch.compile(self.model)
        elif compile_now is None:
            self.compile_pending = _CompileTimer()
        # The word-embedding gradient kept by rows (engine/gradients.py): one eager process only.
        self.grads = Gradients(self.raw_model, self.optimizer, rows=not compile_now and not self.rt.distributed)
        if self.grads.rows is not None:
            self.events.log("info", "word-embedding gradient kept by rows: the rows a batch touches are written, "
                            "clipped and zeroed, the rest stay exactly zero (same gradients)")
        # Dropout masks from 32-bit draws where ATen's CPU Bernoulli is a serial loop (engine/dropout_masks.py).
        self.fast_masks = self.rt.device.type == "cpu" and serial_bernoulli()
        if self.fast_masks:
            self.events.log("info", "dropout masks from 32-bit random draws: this CPU's bernoulli_ is PyTorch's "
                            "serial loop (it uses MKL on Intel CPUs only)")
        if self.rt.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.rt.device.index] if self.rt.device.type == "cuda" else None
            self.model = DDP(self.model, device_ids=ids)

    def _packer(self) -> Packer | None:
        """training.packing: a Packer where the model gives the same outputs on packed rows, else None
        (logged either way)."""
        if self.task.name not in PACKING_TASKS or not self.spec.t("packing"):
            return None
        if self.spec.t("torch_compile") is True:
            self.events.log("warning", "training.packing is off under training.torch_compile (every new packed "
                            "layout would recompile); training on padded batches")
            return None
        packer, note = packer_for(self.raw_model, self.features, self.task.collate,
                                  _position_offset(self.raw_model.base_model))
        self.events.log("info" if packer else "warning", note)
        return packer

    def _head_positions(self) -> HeadPositions | None:
        """training.prune_last_layer: the last layer at the head's positions only, where the model's
        logits stay the full model's (engine/head_positions.py); logged either way."""
        if self.task.name not in PRUNING_TASKS or not self.spec.t("prune_last_layer"):
            return None
        heads, note = head_positions_for(self.raw_model, self.features, self.task.collate, self.packer)
        self.events.log("info", note)
        return heads

    def _load(self, path: Path, split: str) -> list[Any]:
        """The task's examples of one split; a reader's error on the file names the spec field."""
        try:
            return self.task.load_examples(path, split)
        except SpecError as e:
            if e.field == "data":
                raise SpecError(str(e), f"data.{split}") from e
            raise

    def _resume(self) -> None:
        clean_partial(self.run_dir)
        ckpt = latest_checkpoint(self.run_dir)
        if ckpt is None:
            self.events.log("warning", "--resume: no complete checkpoint yet; starting from the beginning")
            return
        self.state = load_checkpoint(ckpt, self.raw_model, self.optimizer, self.scheduler, self.rt.rank)
        if self.dynamics and not self.dynamics.load(ckpt / DYNAMICS_NPZ):
            self.events.log("warning", f"{ckpt.name} has no matching {DYNAMICS_NPZ}: training dynamics start afresh")
        if self.state.world_size != self.rt.world_size:
            self.events.log("warning", f"resuming with {self.rt.world_size} processes, saved with "
                            f"{self.state.world_size}: the data order will differ")
        rel = str(ckpt.relative_to(self.run_dir))
        self.events.set_status(step=self.state.step, last_checkpoint=rel, best_metric=self.state.best)
        self.events.log("info", f"resumed from {rel} at step {self.state.step}")

    # ---- the loop ----------------------------------------------------------------------------
    def run(self) -> str:
        """Train to the end, an early stop or a stop request. Returns the final state."""
        masks = fast_dropout_masks() if self.fast_masks else contextlib.nullcontext()
        try:
            with masks:
                return self._run()
        finally:
            self.grads.dense()

    def _run(self) -> str:
        spec, st = self.spec, self.state
        self.control.check_starting()
        self.control.training_started()  # from here a stop checkpoints at the end of the step
        self.events.set_status(max_steps=self.max_steps, step=st.step)
        self.events.state("running", f"{spec.task} on {self.rt.device}, {self.max_steps} steps")
        bs, accum = spec.t("per_device_train_batch_size"), spec.t("gradient_accumulation_steps")
        logging_steps, eval_steps, save_steps = spec.t("logging_steps"), spec.t("eval_steps"), spec.t("save_steps")
        window = _Window()
        last_saved = st.step
        while st.step < self.max_steps:
            batches = epoch_batches(self.lengths, bs, spec.t("seed"), st.epoch, spec.t("group_by_length"),
                                    self.rt.world_size, self.rt.rank)
            groups = [batches[i:i + accum] for i in range(0, len(batches), accum)]
            while st.batch_group < len(groups) and st.step < self.max_steps:
                if self.freezing.schedule and self.freezing.apply(st.step, st.epoch):
                    self._unfrozen()
                started = time.perf_counter()
                window.add(*self._train_step(groups[st.batch_group]))
                st.step += 1
                if self.compile_pending:
                    self._maybe_compile(time.perf_counter() - started)
                st.batch_group += 1
                stop_requested = self.rt.any_true(self.control.requested(st.step))
                if st.step % logging_steps == 0 or st.step == self.max_steps:
                    self._log_step(window)
                stop_early = False
                if self.eval_features and (st.step % eval_steps == 0 or st.step == self.max_steps):
                    stop_early = self._evaluate()
                if stop_early:
                    self.events.log("info", self.stop_reason or f"early stopping: {self.metric} did not improve in "
                                    f"{st.evals_without_improvement} evaluations")
                    self.max_steps = st.step
                # A stop asked for on the last step (or with early stopping) comes too late to
                # stop anything: training is done, so the run finishes (model, export) as completed.
                stop_now = stop_requested and st.step < self.max_steps
                if stop_requested and not stop_now:
                    self.events.log("info", f"stop requested at the final step {st.step}: finishing the run")
                if st.step % save_steps == 0 or stop_now:
                    self._checkpoint()
                    last_saved = st.step
                if stop_now:
                    self.events.set_status(step=st.step)
                    self.events.state("stopped", f"stopped at step {st.step}; resume with --resume")
                    return "stopped"
            if st.batch_group >= len(groups):
                st.epoch += 1
                st.batch_group = 0
        if last_saved != st.step:
            self._checkpoint()
        self.grads.dense()  # the embedding's own forward again, for the model written and exported
        self._finish()
        return "completed"

    def _maybe_compile(self, step_seconds: float) -> None:
        """training.torch_compile "auto": after TIMED_STEPS eager steps (the first one not counted),
        compile when the rest of the run pays for it (compile_policy.decide), and decide only once."""
        timer = self.compile_pending
        assert timer is not None
        mean = timer.tick(step_seconds)
        if mean is None:
            return
        self.compile_pending = None
        compile_now, why = compile_policy.decide(self.rt.device.type, mean, self.max_steps - self.state.step)
        self.events.log("info", why)
        if compile_now:
            self.grads.complete()  # the dense path keeps every trained parameter's gradient (zeros), as zeroed
            self.grads.dense()
            self.model = torch.compile(self.raw_model)

    def _train_step(self, micro_batches: Sequence[list[int]]) -> tuple[dict[str, torch.Tensor], torch.Tensor | None, int, int, float]:
        """One optimizer step over `accum` micro-batches. Losses stay on the device (no sync per step)."""
        model, task, rt = self.model, self.task, self.rt
        totals: dict[str, torch.Tensor] = {}
        samples = tokens = 0
        for i, idx in enumerate(micro_batches):
            batch = task.collate([self.features[j] for j in idx], self.pad_multiple)
            unpack: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
            if self.packer:  # several examples per row (data/collate.py); the head sees them unpacked
                batch, index = self.packer.pack(batch)
                index = index.to(rt.device)
                unpack = self.packer.unpacking(index)
            if self.heads:  # the last layer only where the head reads: its output is already unpacked
                unpack = self.heads.pruning(index[:, 0] if self.packer else None)
            batch = _to_device(batch, rt.device)
            samples += len(idx)
            tokens += sum(self.lengths[j] for j in idx)
            sync = not rt.distributed or i == len(micro_batches) - 1
            ctx = model.no_sync() if not sync else contextlib.nullcontext()  # type: ignore[operator]
            if self.dynamics:
                self.dynamics.watch(self.state.epoch, idx, batch)
            with ctx:
                with rt.autocast(), unpack:
                    losses = task.training_step(model, batch)
                (losses["loss"] / len(micro_batches)).backward()
            for k, v in losses.items():
                totals[k] = totals.get(k, 0) + v.detach().float() / len(micro_batches)
        grad_norm = None
        self.grads.complete()
        max_norm = self.spec.t("max_grad_norm")
        if max_norm > 0:
            grad_norm = self.grads.clip(max_norm)
        lr = self.scheduler.get_last_lr()[0]
        self.group_lrs = group_learning_rates(self.optimizer, self.scheduler)
        self.optimizer.step()
        self.scheduler.step()
        # Gradients.zero: the dense path zeroes in place; with rows the embedding's rows are zeroed and
        # the rest freed. Either way a parameter that has never trained has no gradient, so AdamW
        # still leaves it and its state alone (freezing only ever opens blocks).
        self.grads.zero()
        return totals, grad_norm, samples, tokens, lr

    def _log_step(self, w: _Window) -> None:
        st = self.state
        elapsed = max(time.perf_counter() - w.start, 1e-9)
        ws = self.rt.world_size
        fields = {
            "step": st.step, "max_steps": self.max_steps,
            "epoch": round(st.epoch + st.batch_group / max(self.steps_per_epoch, 1), 4),
            **w.means(), "learning_rate": w.lr,
            "grad_norm": float(w.last_grad_norm) if w.last_grad_norm is not None else None,
            "samples_per_second": w.samples * ws / elapsed, "tokens_per_second": w.tokens * ws / elapsed,
            "memory_mb": memory_mb(self.rt.device),
            **({"group_learning_rates": self.group_lrs} if self.group_lrs else {}),
        }
        self.events.emit("step", **fields)
        self.events.set_status(step=st.step)
        if self.rt.is_main:
            from .events import log

            log.info("step %d/%d loss %.4f lr %.2e %.1f samples/s", st.step, self.max_steps, fields["loss"],
                     w.lr, fields["samples_per_second"])
        w.reset()

    def _params_event(self) -> None:
        """The `params` event and its log line: trainable parameters, and each block's state and rate."""
        fields = self.freezing.summary(self.state.step)
        self.events.emit("params", **fields)
        self.events.log("info", self.freezing.describe(fields))

    def _unfrozen(self) -> None:
        """Gradual unfreezing opened a block: report it; DDP learns the new trainable set on a new wrapper."""
        self._params_event()
        if self.rt.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.rt.device.index] if self.rt.device.type == "cuda" else None
            self.model = DDP(self.model.module, device_ids=ids)  # type: ignore[arg-type]

    # ---- evaluation --------------------------------------------------------------------------
    def run_batches(self, features: Sequence[Feature]) -> Iterator[tuple[list[int], Batch, dict[str, torch.Tensor]]]:
        """Eval forward passes, longest features first (less padding), outputs moved to CPU."""
        order = sorted(range(len(features)), key=lambda i: -len(features[i]["input_ids"]))
        bs = self.spec.t("per_device_eval_batch_size")
        with eval_mode(self.raw_model), torch.inference_mode():
            for s in range(0, len(order), bs):
                idx = order[s:s + bs]
                batch = self.task.collate([features[i] for i in idx], self.pad_multiple)
                with self.rt.autocast():
                    out = self.raw_model(**_to_device(batch, self.rt.device))
                cpu = {k: v.detach().float().cpu() for k, v in out.items() if isinstance(v, torch.Tensor)}
                yield idx, batch, cpu

    def evaluate(self) -> EvalResult:
        return self.task.evaluate(self.raw_model, self.eval_examples, self.eval_features, self.run_batches)

    def _evaluate(self) -> bool:
        """Evaluate on rank 0, track the best model; returns whether to stop early (on every rank)."""
        st = self.state
        stop = False
        if self.rt.is_main:
            t0 = time.perf_counter()
            result = self.evaluate()
            value = result.metrics.get(self.metric)
            self.events.emit("eval", step=st.step, metrics=result.metrics, **result.tables)
            shown = ", ".join(f"{k} {v:.4f}" for k, v in result.metrics.items())
            self.events.log("info", f"eval step {st.step}: {shown} ({time.perf_counter() - t0:.1f}s)")
            collapsed = collapsed_class(result.pred_counts, result.gold_counts)
            if collapsed is not None:
                self.events.log("warning", self._collapse_message(*collapsed))
            if value is not None and self.task.is_better(self.metric, value, st.best["value"] if st.best else None):
                st.best = {"name": self.metric, "value": value, "step": st.step}
                st.evals_without_improvement = 0
                save_best(self.run_dir, self.raw_model, self.tokenizer)
                self.events.set_status(best_metric=st.best)
            else:
                st.evals_without_improvement += 1
            patience = self.spec.t("early_stopping_patience")
            stop = patience is not None and st.evals_without_improvement >= patience
            if self.on_eval is not None:
                self.stop_reason = self.on_eval(st.step, result.metrics)
                stop = stop or self.stop_reason is not None
        self.rt.barrier()
        return self.rt.any_true(stop)

    def _collapse_message(self, label: str, pred_share: float, gold_share: float) -> str:
        lr = self.spec.t("learning_rate")
        return (f"eval step {self.state.step}: {pred_share:.1%} of the predictions are {label!r}, which is only "
                f"{gold_share:.0%} of the validation data: the model has collapsed to one class. Raise "
                f"training.learning_rate (now {lr:g}; try {lr * 4:g}), train longer (num_train_epochs or max_steps), "
                "or check that the labels are right.")

    # ---- checkpoints and outputs -------------------------------------------------------------
    def _checkpoint(self) -> None:
        st, rt = self.state, self.rt
        tmp = tmp_dir_for(self.run_dir, st.step)
        if rt.is_main:
            tmp.mkdir(parents=True, exist_ok=True)
        rt.barrier()
        save_rank_rng(tmp, rt.rank)
        rt.barrier()
        if rt.is_main:
            if self.dynamics:
                self.dynamics.save(tmp / DYNAMICS_NPZ)
            keep = self.spec.t("save_total_limit")
            final = finish_checkpoint(self.run_dir, tmp, st.step, self.raw_model, self.tokenizer,
                                      self.optimizer, self.scheduler, st, keep)
            rel = str(final.relative_to(self.run_dir))
            # status.json first: whoever sees the checkpoint event finds a status at least as new
            # (its step otherwise lags until the next logging step).
            self.events.set_status(step=st.step, last_checkpoint=rel)
            self.events.emit("checkpoint", step=st.step, path=rel)
            if self.dynamics:
                self.dynamics.write_run_files(self.run_dir)
        rt.barrier()

    def _finish(self) -> None:
        if not self.rt.is_main:
            return
        use_best = self.state.best is not None
        model_dir = write_model_dir(self.run_dir, self.raw_model, self.tokenizer, use_best)
        self.task.save_extras(model_dir)
        self.events.log("info", f"model written to {model_dir.name}/" + (f" (best {self.metric} at step "
                        f"{self.state.best['step']})" if use_best and self.state.best else ""))


class _CompileTimer:
    """Times eager optimizer steps for training.torch_compile "auto": the first is warm-up, and only
    the steps themselves count (not the evaluations, checkpoints or events between them)."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0

    def tick(self, step_seconds: float) -> float | None:
        """Call after each step with its duration; the mean once TIMED_STEPS steps after the first are in."""
        self.count += 1
        if self.count > 1:
            self.total += step_seconds
        return self.total / (self.count - 1) if self.count > compile_policy.TIMED_STEPS else None


class _Window:
    """Accumulates step figures between two step events; tensors are read (synced) only at log time."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sums: dict[str, torch.Tensor] = {}
        self.n = 0
        self.samples = self.tokens = 0
        self.lr = 0.0
        self.last_grad_norm: torch.Tensor | None = None
        self.start = time.perf_counter()

    def add(self, losses: dict[str, torch.Tensor], grad_norm: torch.Tensor | None, samples: int, tokens: int,
            lr: float) -> None:
        self.n += 1
        for k, v in losses.items():
            self.sums[k] = self.sums[k] + v if k in self.sums else v
        self.samples += samples
        self.tokens += tokens
        self.lr = lr
        self.last_grad_norm = grad_norm

    def means(self) -> dict[str, float]:
        """loss first, then extra losses (mlm_loss, nsp_loss), averaged over the window's steps."""
        return {k: float(v) / max(self.n, 1) for k, v in self.sums.items()}


def _to_device(batch: Batch, device: torch.device) -> Batch:
    if device.type == "cpu":
        return batch
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}

