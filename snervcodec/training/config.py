"""Training configuration: the paper's recipe (Sec. 3.5, 4.1) as defaults, named presets on top.

Precedence: defaults < model < preset < the pipeline's defaults (codec/plan.py: the rdo recipe's
learning rate, tune, mse_start, lr_schedule and qat_proxy) < explicit options.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Literal, get_args

from ..errors import ConfigError

PresetName = Literal["fast", "medium", "slow"]
CompileMode = Literal["off", "default", "reduce-overhead", "max-autotune"]
COMPILE_MODES: tuple[str, ...] = get_args(CompileMode)  # torch.compile's modes, or off
LrSchedule = Literal["phases", "one", "open-fit", "open"]  # training/phases.py rdo_phases
LR_SCHEDULES: tuple[str, ...] = get_args(LrSchedule)
QatProxy = Literal["noise", "mixed"]  # the rdo noise phase's quantiser (compress/qat.py)
QAT_PROXIES: tuple[str, ...] = get_args(QatProxy)
# The rdo pipeline's float fit / noise / straight-through shares of its epochs (or seconds): 70/20/10 and
# 40/45/15 were no better on carphone (10 epochs, 0.1 bpp, an earlier state of the pipeline;
# docs/design-notes.md "Phase shares and the last phase").
RDO_SHARES: tuple[float, float, float] = (0.5, 0.35, 0.15)
# Options of the rdo pipeline's phases (training/phases.py rdo_phases); the paper's fit and fine-tune and
# ``snervcodec.fit`` (a fit alone) have no use for them and refuse them (TrainConfig.rdo_options_set).
RDO_PHASE_OPTIONS = ("lr_schedule", "qat_lr", "phase_shares", "fit_average", "qat_proxy", "carry_moments")


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 300
    steps: int = 0  # > 0: train this many steps (batches) instead of ``epochs`` (resolve_epochs)
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    warmup: float = 0.1  # fraction of iterations with linear warm-up from 0.1x to 1x, then the cosine (to 0 by default)
    batch_size: int = 0  # frames per step; 0 = the device's measured default (DEFAULT_BATCH)
    lr_batch_rule: Literal["sqrt", "linear", "none"] = "sqrt"  # lr x sqrt(batch) (or x batch) above batch 1
    time_limit: float = 0.0  # seconds for all training phases (0: by epochs); the schedule follows the clock
    grad_clip: float = 1.0
    seed: int = 0
    eval_every: int = 0  # epochs between evaluations; 0 = about ten evaluations per run
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    channels_last: bool = True
    compile: CompileMode = "off"  # torch.compile of the training step (runtime.StepFunctions)
    loss_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)  # frame, normalised LL, HF bands
    tune: Literal["paper", "psnr", "ssim", "mixed"] = "paper"  # the distortion trained on (training/loss.py)
    mse_start: float = 0.0  # fraction of the first (fit) phase trained on MSE alone before ``tune``'s distortion
    qat_lr: float = 1.0  # rdo: the quantised phases' peak learning rate, a fraction of the fit's
    # rdo: a cosine per phase; one cosine over all of them; the fit's cosine stopped half-way (at half its
    # peak, not annealed into a minimum that rounding throws it out of), the quantised phases each their own
    # ("open-fit"); or the noise phase's stopped half-way too, the last phase alone annealing ("open")
    lr_schedule: LrSchedule = "phases"  # the rdo encoder's default is "open" (codec/plan.py)
    phase_shares: tuple[float, float, float] = RDO_SHARES  # rdo: fit / noise / straight-through
    fit_average: float = 0.0  # rdo: the fit ends on the mean of its weights over this last fraction of it
    # rdo: the noise phase's quantiser: additive noise for the values and the rate, or "mixed" (the values
    # rounded straight-through, the rate on noise)
    qat_proxy: QatProxy = "noise"  # the rdo encoder's default is "mixed" (codec/plan.py)
    # rdo: the quantised phases' Adam starts from the previous phase's moments instead of afresh
    carry_moments: bool = False

    def __post_init__(self):
        try:  # a list (JSON) or any sequence of numbers: a tuple of floats, comparable with the default
            shares = tuple(float(f) for f in self.phase_shares)
        except (TypeError, ValueError):
            raise ConfigError(f"phase_shares must be three fractions, got {self.phase_shares!r}") from None
        object.__setattr__(self, "phase_shares", shares)

    def validate(self) -> "TrainConfig":
        if self.epochs < 0:
            raise ConfigError(f"epochs must be >= 0, got {self.epochs}")
        if not 0 <= self.steps <= 10**9:
            raise ConfigError(f"steps must be in 0..1e9 (0: by epochs), got {self.steps}")
        if self.batch_size < 0:
            raise ConfigError(f"batch size must be >= 1 (or 0 for the device default), got {self.batch_size}")
        if not self.time_limit >= 0 or self.time_limit > 1e7:
            raise ConfigError(f"time limit must be a positive number of seconds, got {self.time_limit}")
        if self.lr_batch_rule not in ("sqrt", "linear", "none"):
            raise ConfigError(f"unknown learning-rate batch rule {self.lr_batch_rule!r}")
        if self.compile not in COMPILE_MODES:
            raise ConfigError(f"unknown compile mode {self.compile!r} ({', '.join(COMPILE_MODES)})")
        if not (0.0 <= self.warmup < 1.0):
            raise ConfigError(f"warm-up fraction must be in [0, 1), got {self.warmup}")
        if self.tune not in ("paper", "psnr", "ssim", "mixed"):
            raise ConfigError(f"unknown tune {self.tune!r} (paper, psnr, ssim, mixed)")
        if not 0.0 <= self.mse_start <= 1.0:
            raise ConfigError(f"mse_start must be a fraction in [0, 1], got {self.mse_start}")
        if not 0.0 < self.qat_lr <= 1.0:
            raise ConfigError(f"qat_lr must be a fraction in (0, 1], got {self.qat_lr}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(f"unknown lr_schedule {self.lr_schedule!r} ({', '.join(LR_SCHEDULES)})")
        if len(self.phase_shares) != 3 or not all(0.0 < f < 1.0 for f in self.phase_shares) \
                or abs(sum(self.phase_shares) - 1.0) > 1e-6:
            raise ConfigError(f"phase_shares must be three fractions in (0, 1) adding up to 1, got {self.phase_shares}")
        if self.qat_proxy not in QAT_PROXIES:
            raise ConfigError(f"unknown qat_proxy {self.qat_proxy!r} ({', '.join(QAT_PROXIES)})")
        if not 0.0 <= self.fit_average < 1.0:
            raise ConfigError(f"fit_average must be a fraction in [0, 1), got {self.fit_average}")
        if not self.lr > 0 or self.lr > 1:
            raise ConfigError(f"learning rate must be in (0, 1], got {self.lr}")
        return self

    def rdo_options_set(self) -> list[str]:
        """The names of the rdo-phase options (:data:`RDO_PHASE_OPTIONS`) set away from their defaults."""
        return [n for n in RDO_PHASE_OPTIONS if getattr(self, n) != getattr(_DEFAULTS, n)]


_DEFAULTS = TrainConfig()

# Frames per step when --batch-size is not given, by device type (docs/usage.md "Batch size", measured by
# benchmarks/gpu_check.py and benchmarks/cpu_batch.py).
DEFAULT_BATCH = {"cpu": 1, "cuda": 8, "mps": 1}


def resolve_batch_size(tc: TrainConfig, device_type: str) -> int:
    return tc.batch_size or DEFAULT_BATCH.get(device_type, 1)


def resolve_epochs(tc: TrainConfig, n_frames: int, device_type: str) -> TrainConfig:
    """``tc`` with ``steps`` turned into epochs of ``n_frames`` frames (at least one), so that a short
    clip gets as many updates as a long one; unchanged without ``steps``."""
    if not tc.steps:
        return tc
    per_epoch = -(-n_frames // resolve_batch_size(tc, device_type))
    return replace(tc, epochs=max(1, -(-tc.steps // per_epoch)))


def batch_lr_scale(tc: TrainConfig, batch_size: int) -> float:
    """Learning-rate multiplier for ``batch_size`` frames per step (1.0 at batch 1)."""
    if tc.lr_batch_rule == "sqrt":
        return batch_size ** 0.5
    return float(batch_size) if tc.lr_batch_rule == "linear" else 1.0


# Epoch budgets. The paper trains 300 epochs and reports quality rising up to 2400.
PRESETS: dict[str, dict] = {
    "fast": {"epochs": 100},
    "medium": {"epochs": 300},
    "slow": {"epochs": 1200},
}


def make_train_config(preset: str | None = None, model: str | None = None, **overrides) -> TrainConfig:
    """defaults < model defaults < preset < overrides (``None`` overrides are ignored).

    A model's registry entry may set its own warm-up (SNeRV(T): 20% of the iterations instead of
    10%, docs/paper/architecture.md "Training")."""
    from ..models.registry import spec_by_name

    values: dict = {}
    if model is not None:
        values["warmup"] = spec_by_name(model).warmup
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r} (one of {', '.join(PRESETS)})")
        values.update(PRESETS[preset])
    names = {f.name for f in fields(TrainConfig)}
    for k, v in overrides.items():
        if k not in names:
            raise ConfigError(f"unknown training option {k!r}")
        if v is not None:
            values[k] = v
    return replace(TrainConfig(), **values).validate()
