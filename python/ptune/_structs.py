"""ctypes mirrors of the structs and callback types in ``include/ptune/ptune.h``.

Field order and types follow the header exactly (ctypes pads like the C compiler does). Each
params struct is filled by the library's ``ptune_*_params_init`` before any field is set, so
``struct_size`` always carries the size this mirror was written for. The tests check
``ctypes.sizeof`` against the ``struct_size`` the library writes, and every offset against a
compiled C probe when a C compiler is available.
"""

from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_float, c_int, c_int32,
                    c_int64, c_size_t, c_uint32, c_uint64, c_void_p)

# ---- enums (values from ptune.h) ---------------------------------------------------------------

PTUNE_OK = 0
PTUNE_E_INVALID_ARG = -1
PTUNE_E_NOMEM = -2
PTUNE_E_IO = -3
PTUNE_E_FORMAT = -4
PTUNE_E_UNSUPPORTED = -5
PTUNE_E_STATE = -6
PTUNE_E_CAPACITY = -7
PTUNE_E_BUFFER_TOO_SMALL = -8
PTUNE_E_NUMERIC = -9
PTUNE_E_ABORTED = -10

LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR = 0, 1, 2, 3

ARCH_UNKNOWN, ARCH_LLAMA, ARCH_QWEN2, ARCH_GPT2, ARCH_BLOOM = 0, 1, 2, 3, 4
STORAGE_F32, STORAGE_NATIVE = 0, 1  # ptune_storage

PROMPT_INIT = {"random": 0, "text": 1, "sample_vocab": 2, "class_labels": 3}
LOGITS_MODE = {"none": 0, "last": 1, "all": 2}
OPTIMIZER_KIND = {"adamw": 0, "sgd": 1, "adafactor": 2}
SCHEDULE = {"linear": 0, "constant": 1, "cosine": 2}
DATA_FORMAT = {"auto": 0, "csv": 1, "jsonl": 2, "text": 3}


# ---- structs -----------------------------------------------------------------------------------

class ModelParams(Structure):
    _fields_ = [("struct_size", c_uint32), ("storage", c_int32)]


class PromptParams(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("n_virtual", c_int32),
        ("init", c_int32),
        ("seed", c_uint64),
        ("init_text", c_char_p),
        ("labels", POINTER(c_char_p)),
        ("n_labels", c_int32),
    ]


class CtxParams(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("n_threads", c_int32),
        ("max_tokens", c_int32),
        ("logits", c_int32),
        ("training", c_int32),
        ("n_seq_max", c_int32),
        ("no_prefix_cache", c_int32),
        ("recompute", c_int32),
    ]


class Batch(Structure):
    _fields_ = [
        ("n_seq", c_int32),
        ("ids", POINTER(POINTER(c_int32))),
        ("labels", POINTER(POINTER(c_int32))),
        ("len", POINTER(c_int32)),
    ]


class OptimizerParams(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("kind", c_int32),
        ("lr", c_float),
        ("beta1", c_float),
        ("beta2", c_float),
        ("eps", c_float),
        ("weight_decay", c_float),
        ("momentum", c_float),
        ("nesterov", c_int32),
        ("max_grad_norm", c_float),
        ("schedule", c_int32),
        ("total_steps", c_int64),
        ("warmup_steps", c_int64),
        ("grad_accum_steps", c_int32),
        ("adafactor_eps1", c_float),
        ("adafactor_eps2", c_float),
        ("adafactor_clip_threshold", c_float),
        ("adafactor_decay_rate", c_float),
        ("adafactor_scale_parameter", c_int32),
        ("adafactor_warmup_init", c_int32),
    ]


class SamplingParams(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("temperature", c_float),
        ("top_k", c_int32),
        ("top_p", c_float),
        ("min_p", c_float),
        ("repetition_penalty", c_float),
        ("max_new_tokens", c_int32),
        ("max_length", c_int32),
        ("seed", c_uint64),
        ("stop_ids", POINTER(c_int32)),
        ("n_stop_ids", c_int32),
        ("stop_strings", POINTER(c_char_p)),
        ("n_stop_strings", c_int32),
        ("ignore_eos", c_int32),
    ]


class GenerateRequest(Structure):
    _fields_ = [
        ("prompt", c_void_p),
        ("ids", POINTER(c_int32)),
        ("n_ids", c_int32),
        ("out", POINTER(c_int32)),
        ("cap", c_int32),
        ("n_out", c_int32),
        ("logits", POINTER(c_float)),
        ("logits_rows", c_int32),
        ("n_logits", c_int32),
    ]


class DatasetParams(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("format", c_int32),
        ("text_column", c_char_p),
        ("completion_column", c_char_p),
        ("blank_line_separated", c_int32),
        ("max_length", c_int32),
        ("add_special", c_int32),
        ("add_eos", c_int32),
        ("select", c_int64),
    ]


class TrainProgress(Structure):
    _fields_ = [
        ("step", c_int64),
        ("total_steps", c_int64),
        ("epoch", c_int32),
        ("loss", c_double),
        ("lr", c_double),
        ("grad_norm", c_double),
        ("tokens_per_s", c_double),
        ("eta_s", c_double),
        ("eval_loss", c_double),
        ("eval_perplexity", c_double),
    ]


# ---- callback types ----------------------------------------------------------------------------
# Text arguments are declared as c_void_p (an address) because they come with an explicit length
# and are not NUL-terminated; the wrappers read them with ctypes.string_at(address, length).

LOG_FN = CFUNCTYPE(None, c_int, c_char_p, c_void_p)
TOKEN_FN = CFUNCTYPE(c_int, c_int32, c_void_p, c_size_t, c_void_p)
BATCH_TOKEN_FN = CFUNCTYPE(c_int, c_int32, c_int32, c_void_p, c_size_t, c_void_p)
PROGRESS_FN = CFUNCTYPE(c_int, POINTER(TrainProgress), c_void_p)


ALLREDUCE_FN = CFUNCTYPE(c_int, POINTER(c_double), c_int64, c_void_p)


class Collective(Structure):
    """ptune_collective: a data-parallel group (docs/scaling.md)."""
    _fields_ = [
        ("rank", c_int32),
        ("size", c_int32),
        ("allreduce_sum", ALLREDUCE_FN),
        ("user", c_void_p),
    ]


class TrainerParams(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("epochs", c_int32),
        ("max_steps", c_int64),
        ("batch_size", c_int32),
        ("batch_tokens", c_int32),
        ("auto_batch_memory", c_int64),
        ("grad_accum", c_int32),
        ("eval_every", c_int64),
        ("early_stopping_patience", c_int32),
        ("seed", c_uint64),
        ("n_threads", c_int32),
        ("optimizer", POINTER(OptimizerParams)),
        ("checkpoint_dir", c_char_p),
        ("checkpoint_every", c_int64),
        ("checkpoint_keep", c_int32),
        ("progress", PROGRESS_FN),
        ("progress_user", c_void_p),
        ("cancel", POINTER(c_int32)),
        ("collective", POINTER(Collective)),
    ]


class RunParams(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("overrides", POINTER(c_char_p)),
        ("n_overrides", c_int32),
        ("progress", PROGRESS_FN),
        ("progress_user", c_void_p),
        ("cancel", POINTER(c_int32)),
        ("resume", c_char_p),
        ("collective", POINTER(Collective)),
    ]


# every params struct with its init function, for the layout tests
PARAMS_STRUCTS = {
    "ptune_model_params": (ModelParams, "ptune_model_params_init_sized"),
    "ptune_prompt_params": (PromptParams, "ptune_prompt_params_init_sized"),
    "ptune_ctx_params": (CtxParams, "ptune_ctx_params_init_sized"),
    "ptune_optimizer_params": (OptimizerParams, "ptune_optimizer_params_init_sized"),
    "ptune_sampling_params": (SamplingParams, "ptune_sampling_params_init_sized"),
    "ptune_dataset_params": (DatasetParams, "ptune_dataset_params_init_sized"),
    "ptune_trainer_params": (TrainerParams, "ptune_trainer_params_init_sized"),
    "ptune_run_params": (RunParams, "ptune_run_params_init_sized"),
}

# every struct mirrored here, by its C name (params and plain structs)
ALL_STRUCTS = dict({name: cls for name, (cls, _) in PARAMS_STRUCTS.items()},
                   ptune_batch=Batch, ptune_generate_request=GenerateRequest,
                   ptune_train_progress=TrainProgress)

__all__ = [n for n in dir() if not n.startswith("_")]
