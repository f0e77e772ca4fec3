"""Finds and loads libptune, and declares the prototype of every public function.

Discovery order (the first that loads wins):

1. ``$PTUNE_LIBRARY`` — a path to the shared library. When it is set it is the only candidate:
   a wrong path is an ImportError, never a silent fall-back to another copy.
2. Package-relative: ``libptune.so*`` next to this file (a wheel or install that bundles it).
3. A source checkout: ``<package>/../../build/lib/libptune.so.0`` (``python/ptune`` in the repo,
   built with ``ninja -C build``).
4. The system: ``ctypes.util.find_library("ptune")`` and then the dynamic loader's own search
   (``libptune.so.0``: ``LD_LIBRARY_PATH``, ``/etc/ld.so.cache``, the default directories).
"""

import ctypes
import ctypes.util
import glob
import os
import sys
from ctypes import (POINTER, c_bool, c_char_p, c_double, c_float, c_int, c_int32, c_int64,
                    c_size_t, c_uint32, c_uint64, c_void_p)

from . import _structs as S

SONAME_MAJOR = 0
_HERE = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    """(description, path-or-name) pairs in discovery order."""
    env = os.environ.get("PTUNE_LIBRARY")
    if env:
        return [("$PTUNE_LIBRARY", env)], True
    out = []
    if sys.platform == "darwin":
        local = sorted(glob.glob(os.path.join(_HERE, "libptune*.dylib")))
    elif sys.platform == "win32":
        local = sorted(glob.glob(os.path.join(_HERE, "ptune*.dll")) + glob.glob(os.path.join(_HERE, "libptune*.dll")))
    else:
        # prefer the SONAME, then the dev symlink, then any fully versioned file
        so0 = os.path.join(_HERE, "libptune.so.%d" % SONAME_MAJOR)
        plain = os.path.join(_HERE, "libptune.so")
        rest = sorted(set(glob.glob(os.path.join(_HERE, "libptune.so*"))) - {so0, plain})
        local = [p for p in (so0, plain) if os.path.exists(p)] + rest
    for p in local:
        out.append(("package directory", p))
    if not local:
        out.append(("package directory", os.path.join(_HERE, "libptune.so*")))
    checkout = os.path.normpath(os.path.join(_HERE, os.pardir, os.pardir, "build", "lib",
                                             "libptune.so.%d" % SONAME_MAJOR))
    out.append(("source checkout build", checkout))
    found = ctypes.util.find_library("ptune")
    if found:
        out.append(("ctypes.util.find_library('ptune')", found))
    else:
        out.append(("ctypes.util.find_library('ptune')", None))
    out.append(("dynamic loader search", "libptune.so.%d" % SONAME_MAJOR))
    return out, False


def _load():
    candidates, explicit = _candidates()
    tried = []
    for how, what in candidates:
        if what is None:
            tried.append("%s: not found" % how)
            continue
        if "*" in what:
            tried.append("%s: no %s" % (how, what))
            continue
        is_path = os.sep in what
        if is_path and not os.path.exists(what):
            tried.append("%s: %s does not exist" % (how, what))
            continue
        try:
            lib = ctypes.CDLL(what)
        except OSError as e:
            tried.append("%s: %s: %s" % (how, what, e))
            continue
        if not hasattr(lib, "ptune_version_string"):
            tried.append("%s: %s: not libptune (no ptune_version_string)" % (how, what))
            continue
        return lib, what
    hint = ("set PTUNE_LIBRARY to the path of libptune.so.%d" % SONAME_MAJOR if not explicit else
            "fix or unset PTUNE_LIBRARY")
    raise ImportError("ptune: cannot load the libptune shared library (build it with "
                      "`ninja -C build`, or %s). Tried:\n  %s" % (hint, "\n  ".join(tried)))


lib, path = _load()

_vp = c_void_p
_pvp = POINTER(c_void_p)
_pi32 = POINTER(c_int32)
_pf = POINTER(c_float)
_st = c_int32  # ptune_status

# name: (restype, argtypes)
PROTOTYPES = {
    # version, errors, logging
    "ptune_version_string": (c_char_p, []),
    "ptune_version_number": (c_uint32, []),
    "ptune_status_str": (c_char_p, [_st]),
    "ptune_last_error": (c_char_p, []),
    "ptune_set_log_callback": (None, [S.LOG_FN, _vp, c_int]),
    "ptune_set_blas_threads": (None, [c_int32]),
    # models
    "ptune_model_params_init_sized": (None, [POINTER(S.ModelParams), c_uint32]),
    "ptune_model_load": (_st, [c_char_p, POINTER(S.ModelParams), _pvp]),
    "ptune_model_free": (None, [_vp]),
    "ptune_model_arch": (c_int, [_vp]),
    "ptune_model_arch_name": (c_char_p, [_vp]),
    "ptune_model_n_embd": (c_int32, [_vp]),
    "ptune_model_n_vocab": (c_int32, [_vp]),
    "ptune_model_n_layer": (c_int32, [_vp]),
    "ptune_model_n_head": (c_int32, [_vp]),
    "ptune_model_n_head_kv": (c_int32, [_vp]),
    "ptune_model_head_dim": (c_int32, [_vp]),
    "ptune_model_n_ff": (c_int32, [_vp]),
    "ptune_model_n_ctx": (c_int32, [_vp]),
    "ptune_model_n_params": (c_int64, [_vp]),
    "ptune_model_weight_bytes": (c_int64, [_vp]),
    "ptune_model_storage": (c_int, [_vp]),
    "ptune_model_n_weight_types": (c_int32, [_vp]),
    "ptune_model_weight_type": (_st, [_vp, c_int32, POINTER(c_char_p), _pi32, POINTER(c_int64), POINTER(c_int64)]),
    "ptune_model_file_dtype": (c_char_p, [_vp]),
    "ptune_model_tied_head": (c_bool, [_vp]),
    "ptune_model_bos_id": (c_int32, [_vp]),
    "ptune_model_eos_id": (c_int32, [_vp]),
    # tokenizers
    "ptune_tokenizer_load": (_st, [c_char_p, _pvp]),
    "ptune_tokenizer_free": (None, [_vp]),
    "ptune_model_tokenizer": (_vp, [_vp]),
    "ptune_tokenizer_encode": (_st, [_vp, c_char_p, c_size_t, c_bool, _pi32, c_int32, _pi32]),
    "ptune_tokenizer_decode": (_st, [_vp, _pi32, c_int32, c_bool, _vp, c_size_t, POINTER(c_size_t)]),
    "ptune_tokenizer_vocab_size": (c_int32, [_vp]),
    "ptune_tokenizer_token_to_id": (c_int32, [_vp, c_char_p, c_size_t]),
    "ptune_tokenizer_id_to_token": (_vp, [_vp, c_int32, POINTER(c_size_t)]),
    "ptune_tokenizer_is_special": (c_bool, [_vp, c_int32]),
    "ptune_tokenize": (_st, [_vp, c_char_p, c_size_t, c_bool, _pi32, c_int32, _pi32]),
    "ptune_detokenize": (_st, [_vp, _pi32, c_int32, c_bool, _vp, c_size_t, POINTER(c_size_t)]),
    "ptune_token_stream_new": (_st, [_vp, c_bool, _pvp]),
    "ptune_token_stream_push": (_st, [_vp, c_int32, _pvp, POINTER(c_size_t)]),
    "ptune_token_stream_flush": (_st, [_vp, _pvp, POINTER(c_size_t)]),
    "ptune_token_stream_free": (None, [_vp]),
    # prompts
    "ptune_prompt_params_init_sized": (None, [POINTER(S.PromptParams), c_uint32]),
    "ptune_prompt_new": (_st, [_vp, POINTER(S.PromptParams), _pvp]),
    "ptune_prompt_load": (_st, [_vp, c_char_p, _pvp]),
    "ptune_prompt_save": (_st, [_vp, c_char_p]),
    "ptune_prompt_free": (None, [_vp]),
    "ptune_prompt_n_virtual": (c_int32, [_vp]),
    "ptune_prompt_n_embd": (c_int32, [_vp]),
    "ptune_prompt_values": (_vp, [_vp]),
    "ptune_prompt_grad": (_vp, [_vp]),
    # contexts, forward, loss, backward
    "ptune_ctx_params_init_sized": (None, [POINTER(S.CtxParams), c_uint32]),
    "ptune_ctx_new": (_st, [_vp, POINTER(S.CtxParams), _pvp]),
    "ptune_ctx_free": (None, [_vp]),
    "ptune_forward": (_st, [_vp, _vp, POINTER(S.Batch)]),
    "ptune_loss": (_st, [_vp, POINTER(c_double), POINTER(c_int64)]),
    "ptune_token_logprobs": (_st, [_vp, c_int32, _pf, c_int32, _pi32]),
    "ptune_logits": (_st, [_vp, c_int32, _pvp, _pi32]),
    "ptune_seq_loss": (_st, [_vp, c_int32, POINTER(c_double), POINTER(c_int64)]),
    "ptune_backward": (_st, [_vp, _vp]),
    # optimizers
    "ptune_optimizer_params_init_sized": (None, [POINTER(S.OptimizerParams), c_uint32]),
    "ptune_optimizer_new": (_st, [POINTER(S.OptimizerParams), _vp, _pvp]),
    "ptune_optimizer_step": (_st, [_vp, _vp]),
    "ptune_optimizer_lr": (c_double, [_vp]),
    "ptune_optimizer_steps": (c_int64, [_vp]),
    "ptune_optimizer_last_grad_norm": (c_double, [_vp]),
    "ptune_optimizer_save": (_st, [_vp, c_char_p]),
    "ptune_optimizer_load": (_st, [_vp, c_char_p]),
    "ptune_optimizer_free": (None, [_vp]),
    # generation
    "ptune_sampling_params_init_sized": (None, [POINTER(S.SamplingParams), c_uint32]),
    "ptune_generate": (_st, [_vp, _vp, _pi32, c_int32, POINTER(S.SamplingParams), _pi32, c_int32, _pi32,
                             S.TOKEN_FN, _vp]),
    "ptune_generate_batch": (_st, [_vp, POINTER(S.GenerateRequest), c_int32, POINTER(S.SamplingParams),
                                   S.BATCH_TOKEN_FN, _vp]),
    "ptune_generate_text": (_st, [_vp, _vp, c_char_p, POINTER(S.SamplingParams), _pvp, S.TOKEN_FN, _vp]),
    "ptune_free": (None, [_vp]),
    # datasets
    "ptune_dataset_params_init_sized": (None, [POINTER(S.DatasetParams), c_uint32]),
    "ptune_dataset_load": (_st, [_vp, c_char_p, POINTER(S.DatasetParams), _pvp]),
    "ptune_dataset_free": (None, [_vp]),
    "ptune_dataset_size": (c_int64, [_vp]),
    "ptune_dataset_n_tokens": (c_int64, [_vp]),
    "ptune_dataset_get": (_st, [_vp, c_int64, POINTER(_pi32), POINTER(_pi32), _pi32]),
    "ptune_dataset_split": (_st, [_vp, c_double, c_uint64, _pvp]),
    # trainer
    "ptune_trainer_params_init_sized": (None, [POINTER(S.TrainerParams), c_uint32]),
    "ptune_trainer_new": (_st, [_vp, _vp, _vp, _vp, POINTER(S.TrainerParams), _pvp]),
    "ptune_trainer_step": (_st, [_vp]),
    "ptune_trainer_epoch": (_st, [_vp]),
    "ptune_trainer_run": (_st, [_vp]),
    "ptune_trainer_evaluate": (_st, [_vp, POINTER(c_double)]),
    "ptune_trainer_save_checkpoint": (_st, [_vp, c_char_p]),
    "ptune_trainer_resume": (_st, [_vp, c_char_p]),
    "ptune_trainer_progress": (POINTER(S.TrainProgress), [_vp]),
    "ptune_trainer_free": (None, [_vp]),
    # run configs
    "ptune_run_params_init_sized": (None, [POINTER(S.RunParams), c_uint32]),
    "ptune_run_yaml": (_st, [c_char_p, POINTER(S.RunParams)]),
}


def _bind():
    missing = []
    for name, (restype, argtypes) in PROTOTYPES.items():
        try:
            fn = getattr(lib, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
        globals()[name] = fn
    if missing:
        raise ImportError("ptune: %s is too old or not libptune: missing %s" % (path, ", ".join(missing)))


_bind()

_major = lib.ptune_version_number() // 10000
if _major != SONAME_MAJOR:
    raise ImportError("ptune: %s is libptune %s; these bindings need major version %d"
                      % (path, lib.ptune_version_string().decode(), SONAME_MAJOR))
