/* Reading hyper-parameters from an HF config.json (+ generation_config.json) or from GGUF
 * metadata into pt_hparams, rejecting features the transformer does not implement. */
#ifndef PT_MODEL_HPARAMS_H
#define PT_MODEL_HPARAMS_H

#include "formats/gguf.h"
#include "formats/hf_config.h"
#include "model/model.h"

/* `gen` (generation_config.json) is nullable; its bos/eos ids take precedence. Errors:
 * PTUNE_E_FORMAT (missing/invalid key, naming file and key), PTUNE_E_UNSUPPORTED (rope_scaling,
 * sliding windows on every layer, unknown activation ...). */
ptune_status pt_hparams_from_hf(const pt_arch_desc *a, const pt_json_file *cfg,
                                const pt_json_file *gen, pt_hparams *out);

/* Reads "<arch>.*" keys and the tokenizer's special ids. Tensor presence decides biases and
 * tying, so the file's tensor infos are consulted too. */
ptune_status pt_hparams_from_gguf(const pt_arch_desc *a, const pt_gguf *g, pt_hparams *out);

/* Consistency checks shared by both readers (positive sizes, head_dim even for RoPE,
 * n_head a multiple of n_head_kv, ...). `what` names the file for messages. */
ptune_status pt_hparams_validate(const pt_arch_desc *a, const pt_hparams *h, const char *what);

#endif
