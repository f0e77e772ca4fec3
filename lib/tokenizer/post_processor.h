/* tokenizer.json post-processors: TemplateProcessing (single sequence), ByteLevel (adds
 * nothing), RobertaProcessing, BertProcessing, Sequence. Applied only when special tokens are
 * requested. */
#ifndef PT_TOKENIZER_POST_PROCESSOR_H
#define PT_TOKENIZER_POST_PROCESSOR_H

#include <jansson.h>
#include "core/buf.h"

typedef struct pt_post_processor pt_post_processor;

/* JSON null gives *out = NULL (nothing added). Unknown types: PTUNE_E_UNSUPPORTED. */
ptune_status pt_post_processor_parse(const json_t *j, const char *where, pt_post_processor **out);
/* Builds a processor that adds bos_id before and/or eos_id after (-1 = none): GGUF vocabs. */
ptune_status pt_post_processor_bos_eos(int32_t bos_id, int32_t eos_id, pt_post_processor **out);
void pt_post_processor_free(pt_post_processor *p);

/* out = the single-sequence template applied to ids[0..n) (out is cleared first). */
ptune_status pt_post_processor_run(const pt_post_processor *p, const int32_t *ids, size_t n, pt_ids *out);

#endif
