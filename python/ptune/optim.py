"""Optimizers: AdamW, SGD and Adafactor over a soft prompt, with clipping and schedules."""

import ctypes

from . import _lib
from . import _structs as S
from ._handle import Handle, cstr, enum_value, fill
from .errors import check
from .prompt import Prompt

OPTIMIZER_KEYS = tuple(name for name, _ in S.OptimizerParams._fields_ if name != "struct_size") + ("betas",)


def optimizer_params(kwargs):
    """An OptimizerParams filled by ptune_optimizer_params_init, then from keyword arguments named
    as the C fields (kind, lr, beta1, beta2, eps, weight_decay, momentum, nesterov,
    max_grad_norm, schedule, total_steps, warmup_steps, grad_accum_steps, adafactor_eps1,
    adafactor_eps2, adafactor_clip_threshold, adafactor_decay_rate, adafactor_scale_parameter,
    adafactor_warmup_init), plus betas=(beta1, beta2). kind: "adamw" | "sgd" | "adafactor";
    schedule: "linear" | "constant" | "cosine"."""
    op = S.OptimizerParams()
    _lib.ptune_optimizer_params_init_sized(ctypes.byref(op), ctypes.sizeof(op))

    def kind(st, v):
        st.kind = enum_value(v, S.OPTIMIZER_KIND, "optimizer kind")

    def schedule(st, v):
        st.schedule = enum_value(v, S.SCHEDULE, "schedule")

    def betas(st, v):
        st.beta1, st.beta2 = (float(x) for x in v)

    fill(op, kwargs, {"kind": kind, "schedule": schedule, "betas": betas}, "optimizer")
    return op


class Optimizer(Handle):
    """An optimizer for prompts shaped like `prompt` (state zeroed). Keyword arguments map to
    ptune_optimizer_params (see optimizer_params); the default LINEAR schedule needs
    total_steps."""

    _kind = "optimizer"
    _free_fn = "ptune_optimizer_free"

    def __init__(self, prompt, **params):
        if not isinstance(prompt, Prompt):
            raise TypeError("Optimizer needs a ptune.Prompt (for its shape)")
        op = optimizer_params(params)
        out = ctypes.c_void_p()
        with prompt._use() as p:
            check(_lib.ptune_optimizer_new(ctypes.byref(op), p, ctypes.byref(out)))
        super().__init__(out.value)
        self.params = {name: getattr(op, name) for name, _ in op._fields_ if name != "struct_size"}

    def step(self, prompt):
        """Moves prompt's gradient into the optimizer (zeroing it) and, every grad_accum_steps-th
        call, clips and updates the prompt's values. NumericError on a NaN/Inf gradient (nothing
        changes then)."""
        if not isinstance(prompt, Prompt):
            raise TypeError("step needs a ptune.Prompt")
        with self._use() as o, prompt._use() as p:
            check(_lib.ptune_optimizer_step(o, p))

    @property
    def lr(self):
        """The learning rate the next update will use."""
        with self._use() as o:
            return _lib.ptune_optimizer_lr(o)

    @property
    def steps(self):
        """Updates applied so far."""
        with self._use() as o:
            return _lib.ptune_optimizer_steps(o)

    @property
    def last_grad_norm(self):
        """Global L2 norm of the last update's gradient, before clipping (0 before the first)."""
        with self._use() as o:
            return _lib.ptune_optimizer_last_grad_norm(o)

    def save(self, path):
        """Saves the whole optimizer state to one safetensors file (atomically)."""
        with self._use() as o:
            check(_lib.ptune_optimizer_save(o, cstr(path, "path")))

    def load(self, path):
        """Restores a state saved by save() into this optimizer (same kind and shape)."""
        with self._use() as o:
            check(_lib.ptune_optimizer_load(o, cstr(path, "path")))
