/* libptune — prompt tuning of frozen causal language models.
 *
 * This header is the whole API: if it is not declared here it is not API. It compiles as
 * C99 and as C++.
 *
 * Conventions
 * - Every fallible call returns a ptune_status (PTUNE_OK = 0, failures negative) and, on
 *   failure, sets a thread-local message readable with ptune_last_error(). On failure,
 *   output parameters are left untouched, except `out` handle pointers, which are set to NULL,
 *   and where a function documents partial results (generation keeps the tokens produced
 *   before PTUNE_E_ABORTED / PTUNE_E_CAPACITY).
 * - Params structs start with `uint32_t struct_size`, are filled by ptune_X_params_init(p) and
 *   passed by pointer (NULL means "all defaults"). ptune_X_params_init is a macro over the
 *   exported ptune_X_params_init_sized(p, sizeof *p): the library writes defaults into at most
 *   the caller's `size` bytes and records that size in struct_size, so a binary built against an
 *   older header stays safe with a newer library whose structs have grown. Fields are only ever
 *   appended; fields beyond a caller's struct_size take their defaults.
 * - Ownership: whoever calls *_new / *_load frees with the matching *_free; *_free(NULL) is a
 *   no-op. Pointers returned by getters stay valid until the next call that modifies that
 *   handle. Inputs are copied unless documented as borrowed.
 * - Threads (tested in tests/reliability/test_thread_contract.c, tests/tuning/test_forward_api.c
 *   and tests/generate/test_generate.c, under ThreadSanitizer in the test command):
 *   . any number of threads at once: a ptune_model (read-only after loading; contexts made on
 *     it by different threads), a ptune_tokenizer and a model's tokenizer (encode, decode,
 *     lookups), a ptune_dataset (except ptune_dataset_split, which modifies it), every *_load,
 *     *_new and *_params_init call, ptune_status_str and ptune_last_error;
 *   . one thread at a time (give each thread its own): ptune_ctx, ptune_prompt,
 *     ptune_optimizer, ptune_trainer, ptune_token_stream;
 *   . process-wide state: only the log callback (ptune_set_log_callback) and OpenBLAS's thread
 *     count (ptune_set_blas_threads); error messages are thread-local. There is no other global
 *     mutable state.
 * - Nothing in the library prints, exits or aborts on bad input.
 */
#ifndef PTUNE_PTUNE_H
#define PTUNE_PTUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32) && defined(PTUNE_BUILDING_SHARED)
#define PTUNE_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define PTUNE_API __attribute__((visibility("default")))
#else
#define PTUNE_API
#endif

#if defined(__GNUC__) || defined(__clang__)
#define PTUNE_DEPRECATED(msg) __attribute__((deprecated(msg)))
#else
#define PTUNE_DEPRECATED(msg)
#endif

/* The size of the params struct *p, as ptune_X_params_init passes it (no old-style cast in C++). */
#ifdef __cplusplus
#define PTUNE_STRUCT_SIZE(p) static_cast<uint32_t>(sizeof *(p))
#else
#define PTUNE_STRUCT_SIZE(p) ((uint32_t)sizeof *(p))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------
 * Version
 * ------------------------------------------------------------------------------------- */
#define PTUNE_VERSION_MAJOR 0
#define PTUNE_VERSION_MINOR 1
#define PTUNE_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH */
#define PTUNE_VERSION_NUMBER \
    (PTUNE_VERSION_MAJOR * 10000 + PTUNE_VERSION_MINOR * 100 + PTUNE_VERSION_PATCH)
#define PTUNE_VERSION_STRING "0.1.0"

/** @return the runtime library version as "MAJOR.MINOR.PATCH" (static storage). */
PTUNE_API const char *ptune_version_string(void);
/** @return the runtime library version as MAJOR*10000 + MINOR*100 + PATCH. Compare it with
 *  PTUNE_VERSION_NUMBER to detect a header/library mismatch. */
PTUNE_API uint32_t ptune_version_number(void);

/* ---------------------------------------------------------------------------------------
 * Status codes and errors
 * ------------------------------------------------------------------------------------- */
typedef int32_t ptune_status;
enum {
    PTUNE_OK = 0,
    PTUNE_E_INVALID_ARG = -1,      /* a NULL handle, an out-of-range argument */
    PTUNE_E_NOMEM = -2,            /* an allocation failed */
    PTUNE_E_IO = -3,               /* a file could not be opened, read, mapped or written */
    PTUNE_E_FORMAT = -4,           /* a file is malformed: truncated, bad magic, bad JSON ... */
    PTUNE_E_UNSUPPORTED = -5,      /* well-formed, but uses a feature this library lacks */
    PTUNE_E_STATE = -6,            /* a call out of order (e.g. logits before forward) */
    PTUNE_E_CAPACITY = -7,         /* a batch exceeds the context's or the model's capacity */
    PTUNE_E_BUFFER_TOO_SMALL = -8, /* two-call pattern: the needed size was written back */
    PTUNE_E_NUMERIC = -9,          /* NaN/Inf met in weights, inputs or results */
    PTUNE_E_ABORTED = -10          /* a callback asked to stop */
};

/** @return a short static description of `s` ("ok", "out of memory", ...); unknown codes
 *  give "unknown status". Thread-safe. */
PTUNE_API const char *ptune_status_str(ptune_status s);

/** @return this thread's message for its most recent failure (file, field, offset ...), or
 *  "" when no call on this thread has failed yet. Successful calls do not clear it. The
 *  pointer stays valid until the next failing call on the same thread. */
PTUNE_API const char *ptune_last_error(void);

typedef enum ptune_log_level {
    PTUNE_LOG_DEBUG = 0,
    PTUNE_LOG_INFO = 1,
    PTUNE_LOG_WARN = 2,
    PTUNE_LOG_ERROR = 3
} ptune_log_level;

/* Receives library diagnostics. `message` is only valid during the call. */
typedef void (*ptune_log_fn)(ptune_log_level level, const char *message, void *user);

/** Installs a process-wide log callback (NULL removes it; the default is silence).
 *  Messages below `min_level` are dropped. May be called from any thread; the callback may
 *  be invoked from any thread that calls into the library. */
PTUNE_API void ptune_set_log_callback(ptune_log_fn fn, void *user, ptune_log_level min_level);

/** Sets OpenBLAS's worker-thread count. This is process-wide (it affects every context and
 *  any other OpenBLAS user in the process); n <= 0 restores the OpenBLAS default. */
PTUNE_API void ptune_set_blas_threads(int32_t n);

/* ---------------------------------------------------------------------------------------
 * Models
 * ------------------------------------------------------------------------------------- */
typedef struct ptune_model ptune_model;   /* frozen weights + config; read-only, shareable */
typedef struct ptune_ctx ptune_ctx;       /* per-thread workspace */
typedef struct ptune_prompt ptune_prompt; /* soft prompt values + gradient */

/* Architecture families (stored as int32_t in structs). */
typedef enum ptune_arch {
    PTUNE_ARCH_UNKNOWN = 0,
    PTUNE_ARCH_LLAMA = 1,   /* LlamaForCausalLM, MistralForCausalLM, GGUF "llama" */
    PTUNE_ARCH_QWEN2 = 2,   /* Qwen2ForCausalLM, GGUF "qwen2" */
    PTUNE_ARCH_GPT2 = 3,    /* GPT2LMHeadModel, GGUF "gpt2" */
    PTUNE_ARCH_BLOOM = 4    /* BloomForCausalLM, GGUF "bloom" */
} ptune_arch;

/* How a model keeps its weight matrices in memory (ptune_model_params.storage). */
typedef enum ptune_storage {
    PTUNE_STORAGE_F32 = 0,    /* converted (dequantized) once to fp32 at load: 4 bytes per
                                 parameter, the fastest products */
    PTUNE_STORAGE_NATIVE = 1  /* each matrix kept in its file's format (F32, F16, BF16 or the
                                 quantized blocks of a GGUF file); panels of rows are converted to
                                 fp32 in the context's scratch right before each product. Resident
                                 weights ≈ the file's tensor bytes (docs/storage.md) */
} ptune_storage;

typedef struct ptune_model_params {
    uint32_t struct_size;   /* set by ptune_model_params_init(); later versions append fields */
    int32_t storage;        /* ptune_storage; default PTUNE_STORAGE_F32 */
} ptune_model_params;

/** Fills `p` with defaults (and p->struct_size). */
PTUNE_API void ptune_model_params_init_sized(ptune_model_params *p, uint32_t size);
#define ptune_model_params_init(p) ptune_model_params_init_sized((p), PTUNE_STRUCT_SIZE(p))

/** Loads a frozen model from a GGUF file or a Hugging Face directory (config.json +
 *  model.safetensors or a sharded model.safetensors.index.json). Every header, shape and
 *  offset is validated before use. With the default PTUNE_STORAGE_F32 the weights are
 *  converted once to fp32 (memory ≈ 4 bytes per parameter); with PTUNE_STORAGE_NATIVE the
 *  matrices keep their file format (memory ≈ the file's tensor bytes). Either way the file
 *  mapping is released before returning.
 *  @param[in]  path  GGUF file or HF directory
 *  @param[in]  p     NULL for defaults
 *  @param[out] out   the new model on success
 *  @return PTUNE_OK; PTUNE_E_IO (unreadable path); PTUNE_E_FORMAT (malformed file, missing
 *  tensor, wrong shape, bad JSON); PTUNE_E_UNSUPPORTED (architecture, dtype or feature such as
 *  rope_scaling); PTUNE_E_NUMERIC (NaN/Inf weights); PTUNE_E_NOMEM. Thread-safe. */
PTUNE_API ptune_status ptune_model_load(const char *path, const ptune_model_params *p,
                                        ptune_model **out);

/** Frees a model. No context or prompt created from it may be used afterwards. NULL is a
 *  no-op. */
PTUNE_API void ptune_model_free(ptune_model *m);

/* Read-only properties; all thread-safe, all return 0/NULL for a NULL model. */
PTUNE_API ptune_arch ptune_model_arch(const ptune_model *m);
PTUNE_API const char *ptune_model_arch_name(const ptune_model *m); /* "llama", "gpt2", ... */
PTUNE_API int32_t ptune_model_n_embd(const ptune_model *m);
PTUNE_API int32_t ptune_model_n_vocab(const ptune_model *m);
PTUNE_API int32_t ptune_model_n_layer(const ptune_model *m);
PTUNE_API int32_t ptune_model_n_head(const ptune_model *m);
PTUNE_API int32_t ptune_model_n_head_kv(const ptune_model *m);
PTUNE_API int32_t ptune_model_head_dim(const ptune_model *m);
PTUNE_API int32_t ptune_model_n_ff(const ptune_model *m);
/* Training context length from the config (positions a sequence may use); 0 = unbounded
 * (ALiBi models). */
PTUNE_API int32_t ptune_model_n_ctx(const ptune_model *m);
/* Number of distinct parameters (a tied head counts once). */
PTUNE_API int64_t ptune_model_n_params(const ptune_model *m);
/* Bytes of weights resident in memory after loading (with the model's storage: 4 per
 * parameter for F32, about the file's tensor bytes for NATIVE). */
PTUNE_API int64_t ptune_model_weight_bytes(const ptune_model *m);
/* The storage the model was loaded with (PTUNE_STORAGE_F32 for NULL). */
PTUNE_API ptune_storage ptune_model_storage(const ptune_model *m);
/* Number of distinct on-disk dtypes among the model's tensors (0 for NULL). */
PTUNE_API int32_t ptune_model_n_weight_types(const ptune_model *m);
/** Row i (0 <= i < ptune_model_n_weight_types) of the model's tensor-type table, in order of
 *  first use by the model (embedding first). Each output is nullable: `dtype` receives the
 *  on-disk type name ("Q4_K", "F16", ...; static storage), `n_tensors` the tensors of that
 *  type the model uses, `file_bytes` their bytes in the file, `resident_bytes` their bytes in
 *  memory with the model's storage (norms and biases are always fp32). Thread-safe.
 *  @return PTUNE_OK; PTUNE_E_INVALID_ARG (NULL model, i out of range). */
PTUNE_API ptune_status ptune_model_weight_type(const ptune_model *m, int32_t i, const char **dtype,
                                               int32_t *n_tensors, int64_t *file_bytes,
                                               int64_t *resident_bytes);
/* The dtype of the weight matrices on disk when they share one: "F32", "F16", "BF16", "Q8_0",
 * "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K" or "Q6_K"; "mixed" otherwise (e.g. a Q4_K_M
 * file). Norms and biases are not counted. */
PTUNE_API const char *ptune_model_file_dtype(const ptune_model *m);
PTUNE_API bool ptune_model_tied_head(const ptune_model *m);
/* BOS/EOS ids from the model's config (-1 when absent). */
PTUNE_API int32_t ptune_model_bos_id(const ptune_model *m);
PTUNE_API int32_t ptune_model_eos_id(const ptune_model *m);

/* ---------------------------------------------------------------------------------------
 * Tokenizers
 *
 * Token ids identical to Hugging Face `tokenizers` for tokenizer.json files (BPE models,
 * byte-level and SentencePiece-style) and to llama.cpp for GGUF vocabularies. A tokenizer is
 * read-only once loaded and may be used by any number of threads at once.
 * ------------------------------------------------------------------------------------- */
typedef struct ptune_tokenizer ptune_tokenizer;

/** Loads a tokenizer on its own. `path` is a tokenizer.json file, a directory holding
 *  tokenizer.json (a model directory or a tokenizer-only one), or a GGUF file with an embedded
 *  vocabulary.
 *  @return PTUNE_OK; PTUNE_E_IO; PTUNE_E_FORMAT (bad JSON, bad vocabulary or merges, naming the
 *  file and field); PTUNE_E_UNSUPPORTED (a component this library does not implement, named);
 *  PTUNE_E_NOMEM. */
PTUNE_API ptune_status ptune_tokenizer_load(const char *path, ptune_tokenizer **out);
/** Frees a tokenizer from ptune_tokenizer_load (never the one owned by a model). NULL is a no-op. */
PTUNE_API void ptune_tokenizer_free(ptune_tokenizer *t);

/** The tokenizer a model was loaded with (tokenizer.json of an HF directory, or the GGUF
 *  vocabulary), owned by the model; NULL when the model came without one. */
PTUNE_API const ptune_tokenizer *ptune_model_tokenizer(const ptune_model *m);

/** Encodes `len` bytes of UTF-8 text. With add_special the tokenizer's post-processor adds
 *  its special tokens (e.g. BOS). Two-call pattern: when `cap` is too small the call returns
 *  PTUNE_E_BUFFER_TOO_SMALL and writes the needed count to *n_ids (ids may be NULL then).
 *  @return PTUNE_OK; PTUNE_E_INVALID_ARG (invalid UTF-8: the message gives the byte offset —
 *  HF tokenizers only accept valid Unicode strings, so such input is rejected, not repaired);
 *  PTUNE_E_BUFFER_TOO_SMALL; PTUNE_E_NOMEM. */
PTUNE_API ptune_status ptune_tokenizer_encode(const ptune_tokenizer *t, const char *text, size_t len,
                                              bool add_special, int32_t *ids, int32_t cap, int32_t *n_ids);

/** Decodes ids to UTF-8 text (not NUL-terminated unless room remains; *len excludes the NUL).
 *  skip_special drops special tokens. Two-call pattern on `cap` as above.
 *  @return PTUNE_OK; PTUNE_E_INVALID_ARG (an id outside the vocabulary);
 *  PTUNE_E_BUFFER_TOO_SMALL; PTUNE_E_NOMEM. */
PTUNE_API ptune_status ptune_tokenizer_decode(const ptune_tokenizer *t, const int32_t *ids, int32_t n,
                                              bool skip_special, char *buf, size_t cap, size_t *len);

/** Number of ids (1 + the largest id, added tokens included). */
PTUNE_API int32_t ptune_tokenizer_vocab_size(const ptune_tokenizer *t);
/** The id of an exact token string (vocabulary or added token), or -1. */
PTUNE_API int32_t ptune_tokenizer_token_to_id(const ptune_tokenizer *t, const char *token, size_t len);
/** The raw token string of an id (e.g. "Ġworld", "▁the", "<s>"), NULL when unknown; *len
 *  receives its length. Valid for the tokenizer's lifetime. */
PTUNE_API const char *ptune_tokenizer_id_to_token(const ptune_tokenizer *t, int32_t id, size_t *len);
/** True when `id` is a special added token (skipped by skip_special decoding). */
PTUNE_API bool ptune_tokenizer_is_special(const ptune_tokenizer *t, int32_t id);

/** ptune_tokenizer_encode with the model's tokenizer (PTUNE_E_STATE when it has none). */
PTUNE_API ptune_status ptune_tokenize(const ptune_model *m, const char *text, size_t len, bool add_special,
                                      int32_t *ids, int32_t cap, int32_t *n_ids);
/** ptune_tokenizer_decode with the model's tokenizer (PTUNE_E_STATE when it has none). */
PTUNE_API ptune_status ptune_detokenize(const ptune_model *m, const int32_t *ids, int32_t n, bool skip_special,
                                        char *buf, size_t cap, size_t *len);

/* Incremental decoding for streaming generation: push ids one at a time and receive only
 * text that is final — complete UTF-8 that later tokens cannot change (a partial multi-byte
 * character or byte-fallback sequence is held back until it completes). Concatenating every
 * piece plus the flush equals decoding all ids at once. One stream per sequence; a stream is
 * used by one thread at a time. */
typedef struct ptune_token_stream ptune_token_stream;

/** @return PTUNE_OK; PTUNE_E_INVALID_ARG; PTUNE_E_NOMEM. The tokenizer must outlive it. */
PTUNE_API ptune_status ptune_token_stream_new(const ptune_tokenizer *t, bool skip_special,
                                              ptune_token_stream **out);
/** Adds one id; `text` and `len` receive the newly final text (possibly empty). The pointer stays
 *  valid until the next call on this stream.
 *  @return PTUNE_OK; PTUNE_E_INVALID_ARG (id outside the vocabulary); PTUNE_E_NOMEM. */
PTUNE_API ptune_status ptune_token_stream_push(ptune_token_stream *s, int32_t id, const char **text, size_t *len);
/** Returns whatever is still held back (an unfinished sequence decodes as HF would, with
 *  U+FFFD) and resets the stream for a new sequence. */
PTUNE_API ptune_status ptune_token_stream_flush(ptune_token_stream *s, const char **text, size_t *len);
PTUNE_API void ptune_token_stream_free(ptune_token_stream *s);

/* ---------------------------------------------------------------------------------------
 * Soft prompts
 * ------------------------------------------------------------------------------------- */
typedef enum ptune_prompt_init {
    PTUNE_PROMPT_INIT_RANDOM = 0,       /* N(0, 1) per element, as PEFT's nn.Embedding default */
    PTUNE_PROMPT_INIT_TEXT = 1,         /* embedding rows of init_text's tokens (PEFT TEXT): the
                                           ids (with the tokenizer's default special tokens) are
                                           truncated, or repeated cyclically, to n_virtual */
    PTUNE_PROMPT_INIT_SAMPLE_VOCAB = 2, /* embedding rows of ids drawn uniformly, with replacement,
                                           from [0, n_vocab) (PEFT SAMPLE_VOCAB: torch.randint) */
    PTUNE_PROMPT_INIT_CLASS_LABELS = 3  /* Lester et al. 2021: row i < n_labels is the mean embedding
                                           of label i's tokens (no special tokens); the remaining
                                           rows are sampled vocabulary rows as SAMPLE_VOCAB. More
                                           labels than rows is PTUNE_E_INVALID_ARG. Not a PEFT
                                           init: saved adapters say "RANDOM". */
} ptune_prompt_init;

typedef struct ptune_prompt_params {
    uint32_t struct_size;
    int32_t n_virtual;        /* number of virtual tokens (required, > 0) */
    int32_t init;             /* ptune_prompt_init */
    uint64_t seed;            /* RNG seed for RANDOM, SAMPLE_VOCAB and CLASS_LABELS */
    const char *init_text;    /* TEXT: the text (UTF-8, NUL-terminated; copied) */
    const char *const *labels;/* CLASS_LABELS: label words (copied) */
    int32_t n_labels;
} ptune_prompt_params;

PTUNE_API void ptune_prompt_params_init_sized(ptune_prompt_params *p, uint32_t size);
#define ptune_prompt_params_init(p) ptune_prompt_params_init_sized((p), PTUNE_STRUCT_SIZE(p))

/** Creates a soft prompt of p->n_virtual × n_embd floats for `m` (gradient zeroed),
 *  initialised as p->init says; the same params and seed always give the same values. TEXT
 *  and CLASS_LABELS need the model's tokenizer.
 *  @return PTUNE_OK; PTUNE_E_INVALID_ARG (n_virtual <= 0, unknown init, missing text/labels,
 *  a text or label that tokenizes to nothing); PTUNE_E_STATE (TEXT/CLASS_LABELS on a model
 *  without a tokenizer); PTUNE_E_NOMEM. */
PTUNE_API ptune_status ptune_prompt_new(const ptune_model *m, const ptune_prompt_params *p,
                                        ptune_prompt **out);

/** Loads a prompt saved by PEFT (or by this library): `path` is a PEFT adapter directory
 *  (adapter_config.json, optional, + adapter_model.safetensors) or a safetensors file holding
 *  `prompt_embeddings` [n_virtual, n_embd] as F32/F16/BF16. The loaded prompt can be trained
 *  further; the config's values (base_model_name_or_path, prompt_tuning_init, revision ...)
 *  are kept and written back by ptune_prompt_save, as PEFT does. Unknown adapter_config.json
 *  keys are ignored with a logged warning (PTUNE_LOG_WARN).
 *  @return PTUNE_OK; PTUNE_E_IO; PTUNE_E_FORMAT (no prompt_embeddings tensor, wrong rank,
 *  token_dim different from the model's n_embd — the message gives both —, a config that is
 *  not PROMPT_TUNING / CAUSAL_LM (the message names the field), num_virtual_tokens different
 *  from the tensor's rows, a truncated file); PTUNE_E_NUMERIC (NaN/Inf values); PTUNE_E_NOMEM. */
PTUNE_API ptune_status ptune_prompt_load(const ptune_model *m, const char *path,
                                         ptune_prompt **out);

/** Saves the prompt as a PEFT adapter directory (created with its parents if needed):
 *  adapter_config.json (PEFT's PromptTuningConfig keys, json.dumps(indent=2, sort_keys=True)
 *  formatting with no final newline; peft_type PROMPT_TUNING, task_type CAUSAL_LM,
 *  inference_mode true; base_model_name_or_path = the path given to ptune_model_load unless a
 *  loaded config named one; TEXT also records prompt_tuning_init_text and
 *  tokenizer_name_or_path = the model's path) and adapter_model.safetensors
 *  (`prompt_embeddings` F32 [n_virtual, token_dim], metadata {"format":"pt"}), exactly as PEFT's
 *  save_pretrained writes them. Each file is written to a temporary name and renamed, the
 *  config last: no partial or temporary file is ever left, and a failure before the final
 *  rename leaves an existing adapter in the directory untouched.
 *  @return PTUNE_OK; PTUNE_E_INVALID_ARG (NULL prompt, NULL or empty dir); PTUNE_E_IO (the
 *  message names the path and the system error); PTUNE_E_NOMEM. Thread-safe with respect to
 *  other prompts. */
PTUNE_API ptune_status ptune_prompt_save(const ptune_prompt *p, const char *dir);

PTUNE_API void ptune_prompt_free(ptune_prompt *p);
PTUNE_API int32_t ptune_prompt_n_virtual(const ptune_prompt *p);
PTUNE_API int32_t ptune_prompt_n_embd(const ptune_prompt *p);
/** Values, row-major [n_virtual * n_embd]; writable; valid for the prompt's lifetime. */
PTUNE_API float *ptune_prompt_values(ptune_prompt *p);
/** Gradient buffer of the same shape, accumulated by backward passes. */
PTUNE_API float *ptune_prompt_grad(ptune_prompt *p);

/* ---------------------------------------------------------------------------------------
 * Contexts and the forward pass
 * ------------------------------------------------------------------------------------- */
typedef enum ptune_logits_mode {
    PTUNE_LOGITS_NONE = 0,   /* keep no logits (training: the loss is computed in chunks) */
    PTUNE_LOGITS_LAST = 1,   /* keep the last row of each sequence */
    PTUNE_LOGITS_ALL = 2     /* keep every row, virtual positions included */
} ptune_logits_mode;

typedef struct ptune_ctx_params {
    uint32_t struct_size;
    int32_t n_threads;       /* threads for norms, attention, activations; 0 = all cores */
    int32_t max_tokens;      /* capacity: total rows of a batch (virtual rows included; a
                                batch of several sequences holds the prompt's first
                                n_virtual − 1 rows once); 0 = 512 */
    int32_t logits;          /* ptune_logits_mode; default PTUNE_LOGITS_NONE */
    int32_t training;        /* nonzero: keep the activations ptune_backward needs, per layer
                                ≈ max_tokens × (2·n_embd + q/k/v width + ffn width) floats
                                (see docs/training.md); default 0 */
    int32_t n_seq_max;       /* sequences generated at once (KV cache slots, each max_tokens
                                positions, allocated on the first generation); default 1 */
    int32_t no_prefix_cache; /* nonzero: recompute a soft prompt's keys/values on every
                                generation instead of reusing them (default 0: the context keeps
                                them for its 8 most recent prompts, keyed by their values, so a
                                prompt changed by training is recomputed) */
    int32_t recompute;       /* training: nonzero keeps only each block's input and recomputes
                                the block's activations during ptune_backward (activation
                                memory ≈ (n_layer + 10) × max_tokens × n_embd floats instead of
                                the per-layer set above; costs most of a second forward pass
                                through the blocks, ≈ +20–30% per step); default 0 */
} ptune_ctx_params;

PTUNE_API void ptune_ctx_params_init_sized(ptune_ctx_params *p, uint32_t size);
#define ptune_ctx_params_init(p) ptune_ctx_params_init_sized((p), PTUNE_STRUCT_SIZE(p))

/** Creates a workspace for `m`. The model must outlive the context.
 *  @return PTUNE_OK; PTUNE_E_INVALID_ARG; PTUNE_E_NOMEM (the message gives the byte count). */
PTUNE_API ptune_status ptune_ctx_new(const ptune_model *m, const ptune_ctx_params *p,
                                     ptune_ctx **out);
PTUNE_API void ptune_ctx_free(ptune_ctx *c);

/* A ragged batch: n_seq sequences of different lengths, no padding. */
typedef struct ptune_batch {
    int32_t n_seq;
    const int32_t *const *ids;     /* ids[s][0 .. len[s]) */
    const int32_t *const *labels;  /* NULL → labels = ids; -100 = ignored */
    const int32_t *len;            /* len[s] >= 1 */
} ptune_batch;

/** Runs the model on `b`, each sequence preceded by the rows of `prompt` (nullable) at
 *  positions 0..n_virtual-1 exactly as PEFT does (for BLOOM the prompt also passes the
 *  embedding LayerNorm). Computes the per-token log-probabilities of the targets (the next
 *  label, -100 ignored; with a prompt the first real token is a target) and keeps logits as
 *  the context's `logits` mode says.
 *  @return PTUNE_OK; PTUNE_E_INVALID_ARG (bad ids, lengths, prompt of another width);
 *  PTUNE_E_CAPACITY (rows > max_tokens, or a sequence longer than the model's context —
 *  the message gives both numbers). The context holds no result after a failure. */
PTUNE_API ptune_status ptune_forward(ptune_ctx *c, const ptune_prompt *prompt,
                                     const ptune_batch *b);

/** Mean negative log-likelihood over every counted target of the last forward batch.
 *  @param[out] loss       mean NLL (natural log); NaN-free
 *  @param[out] n_counted  number of counted targets (nullable)
 *  @return PTUNE_OK; PTUNE_E_STATE (no forward yet, or no counted target). */
PTUNE_API ptune_status ptune_loss(ptune_ctx *c, double *loss, int64_t *n_counted);

/** Log-probability of each target of sequence `seq` of the last forward pass, in row order
 *  (rows whose target is ignored are skipped). Two-call pattern: with `cap` too small,
 *  returns PTUNE_E_BUFFER_TOO_SMALL and writes the count to *n.
 *  @return PTUNE_OK; PTUNE_E_STATE; PTUNE_E_INVALID_ARG; PTUNE_E_BUFFER_TOO_SMALL. */
PTUNE_API ptune_status ptune_token_logprobs(ptune_ctx *c, int32_t seq, float *out,
                                            int32_t cap, int32_t *n);

/** Logits of sequence `seq` kept by the last forward pass: *n_rows rows of n_vocab floats
 *  (all rows with PTUNE_LOGITS_ALL, virtual rows first; the last row with
 *  PTUNE_LOGITS_LAST). The pointer is valid until the next forward or ptune_ctx_free.
 *  @return PTUNE_OK; PTUNE_E_STATE (no forward, or logits mode NONE); PTUNE_E_INVALID_ARG. */
PTUNE_API ptune_status ptune_logits(ptune_ctx *c, int32_t seq, const float **logits,
                                    int32_t *n_rows);

/** Mean NLL of sequence `seq` of the last forward pass (over its counted targets).
 *  @return PTUNE_OK; PTUNE_E_STATE (no forward, or the sequence has no counted target);
 *  PTUNE_E_INVALID_ARG. */
PTUNE_API ptune_status ptune_seq_loss(ptune_ctx *c, int32_t seq, double *loss, int64_t *n_counted);

/** Backward pass of the last forward's mean loss (ptune_loss) down to the soft prompt: adds
 *  d(loss)/d(prompt) into ptune_prompt_grad(p) (accumulates; the optimizer step zeroes it).
 *  No weight gradient is ever formed. `p` must be the prompt the forward pass used.
 *  @return PTUNE_OK; PTUNE_E_STATE (the context was not created with `training`, no forward
 *  with a prompt, or no counted target); PTUNE_E_INVALID_ARG (another prompt). */
PTUNE_API ptune_status ptune_backward(ptune_ctx *c, ptune_prompt *p);

/* ---------------------------------------------------------------------------------------
 * Optimizers
 * ------------------------------------------------------------------------------------- */
typedef struct ptune_optimizer ptune_optimizer;

typedef enum ptune_optimizer_kind {
    PTUNE_OPTIMIZER_ADAMW = 0,      /* torch AdamW; HF Trainer defaults */
    PTUNE_OPTIMIZER_SGD = 1,        /* SGD with (optionally Nesterov) momentum */
    PTUNE_OPTIMIZER_ADAFACTOR = 2   /* HF transformers Adafactor (the prompt-tuning paper's) */
} ptune_optimizer_kind;

typedef enum ptune_schedule {
    PTUNE_SCHEDULE_LINEAR = 0,      /* HF default: warmup then linear decay to 0 at total_steps */
    PTUNE_SCHEDULE_CONSTANT = 1,    /* warmup then constant */
    PTUNE_SCHEDULE_COSINE = 2       /* warmup then half-cosine decay to 0 at total_steps */
} ptune_schedule;

/* Fields beyond a caller's struct_size take the defaults of ptune_optimizer_params_init (so an
 * older binary keeps working); explicit values, zeros included, are used as given. Float fields
 * are read as the decimal they spell (5e-3f acts as Python's 5e-3, not 0.004999999888).
 * The global-norm clipping (max_grad_norm) and the schedule apply to every kind, as in the HF
 * Trainer, except that Adafactor's relative step (lr = 0) replaces the schedule. */
typedef struct ptune_optimizer_params {
    uint32_t struct_size;
    int32_t kind;              /* ptune_optimizer_kind; default ADAMW */
    float lr;                  /* peak learning rate; default 5e-5 (HF); Adafactor: 0 = relative step */
    float beta1, beta2;        /* AdamW: 0.9, 0.999; Adafactor: beta1 > 0 keeps a first moment
                                  of the updates, 0 = none (HF's default beta1=None: set 0) */
    float eps;                 /* AdamW: 1e-8 */
    float weight_decay;        /* decoupled, for every kind; default 0. AdamW and SGD:
                                  p *= 1 - lr·wd before the update; Adafactor: p -= wd·lr·p with
                                  its scaled rate, as HF does */
    float momentum;            /* SGD: default 0.9 */
    int32_t nesterov;          /* SGD: default 0 */
    float max_grad_norm;       /* clip the global gradient norm to this (HF: coefficient
                                  min(1, max/(norm + 1e-6))); <= 0 disables; default 1.0 */
    int32_t schedule;          /* ptune_schedule; default LINEAR */
    int64_t total_steps;       /* optimizer updates of the whole run (LINEAR/COSINE need it);
                                  past it LINEAR and COSINE give 0 */
    int64_t warmup_steps;      /* default 0 */
    int32_t grad_accum_steps;  /* step() applies an update every N calls, on the mean of the N
                                  accumulated gradients; default 1 */
    float adafactor_eps1, adafactor_eps2;  /* 1e-30, 1e-3 (added to g²; floor of RMS(prompt)) */
    float adafactor_clip_threshold;        /* 1.0 */
    float adafactor_decay_rate;            /* -0.8 */
    int32_t adafactor_scale_parameter;     /* default 1: rate × max(eps2, RMS(prompt)) */
    int32_t adafactor_warmup_init;         /* default 0; needs the relative step (lr = 0) */
} ptune_optimizer_params;

PTUNE_API void ptune_optimizer_params_init_sized(ptune_optimizer_params *p, uint32_t size);
#define ptune_optimizer_params_init(p) ptune_optimizer_params_init_sized((p), PTUNE_STRUCT_SIZE(p))
/** Creates an optimizer for prompts shaped like `pr` (state zeroed). `p` NULL means the
 *  defaults, whose LINEAR schedule needs total_steps, so callers normally fill a params struct.
 *  @return PTUNE_OK; PTUNE_E_INVALID_ARG (bad struct_size, unknown kind/schedule, lr < 0 or
 *  not finite, LINEAR/COSINE without total_steps > 0 (unless Adafactor's relative step), betas
 *  outside [0, 1), negative eps/weight_decay/momentum/warmup_steps, grad_accum_steps < 1,
 *  Nesterov without momentum, Adafactor clip_threshold <= 0, decay_rate > 0 or warmup_init with
 *  lr > 0); PTUNE_E_NOMEM. */
PTUNE_API ptune_status ptune_optimizer_new(const ptune_optimizer_params *p, const ptune_prompt *pr,
                                           ptune_optimizer **out);
/** One call per backward. Each call moves the prompt's gradient into the optimizer's
 *  accumulator and zeroes it; on every grad_accum_steps-th call the mean of the accumulated
 *  gradients is clipped to max_grad_norm (torch clip_grad_norm_: coefficient
 *  min(1, max/(norm + 1e-6))), the prompt values are updated with the scheduled learning rate
 *  and the schedule advances. With grad_accum_steps 1 every call is an update.
 *  @return PTUNE_OK; PTUNE_E_INVALID_ARG (NULL, or a prompt of another shape); PTUNE_E_NUMERIC
 *  (a NaN/Inf gradient element, named in the message: nothing is updated, neither the values,
 *  the state nor the prompt's gradient, so the call can be retried after fixing it; or an
 *  update that would make a prompt value NaN/Inf, e.g. a learning rate far too large: the
 *  values and the state are left as they were, the schedule does not advance, and an open
 *  accumulation window is discarded). */
PTUNE_API ptune_status ptune_optimizer_step(ptune_optimizer *o, ptune_prompt *p);
/** The learning rate the next update will use: peak lr × schedule(updates so far). For
 *  Adafactor it is the rate before the parameter scale max(eps2, RMS(prompt)), which depends on
 *  the prompt at update time; with the relative step it is min(1e-2, 1/sqrt(t)) (warmup_init:
 *  min(1e-6·t, 1/sqrt(t))) for the coming update t. 0 for NULL. */
PTUNE_API double ptune_optimizer_lr(const ptune_optimizer *o);
/** Updates applied so far. */
PTUNE_API int64_t ptune_optimizer_steps(const ptune_optimizer *o);
/** Global L2 norm of the (mean accumulated) gradient of the last update, before clipping; 0
 *  before the first update. */
PTUNE_API double ptune_optimizer_last_grad_norm(const ptune_optimizer *o);
/** Saves the whole optimizer state (moments, step, schedule position, a partly accumulated
 *  gradient, last gradient norm) to one safetensors file, atomically (a temporary file renamed
 *  over `path`). Hyperparameters are not stored: they come from the optimizer that loads it.
 *  @return PTUNE_OK; PTUNE_E_INVALID_ARG (NULL); PTUNE_E_IO; PTUNE_E_NOMEM. */
PTUNE_API ptune_status ptune_optimizer_save(const ptune_optimizer *o, const char *path);
/** Restores a state saved by ptune_optimizer_save into an optimizer of the same kind and shape;
 *  updates after loading are bit-identical to those the saved optimizer would have made. On
 *  failure `o` is left unchanged.
 *  @return PTUNE_OK; PTUNE_E_INVALID_ARG (NULL); PTUNE_E_IO; PTUNE_E_FORMAT (not an optimizer
 *  state, another kind or shape (both named), a first moment one side lacks (SGD momentum,
 *  Adafactor beta1), a partial accumulation that does not fit grad_accum_steps, NaN/Inf state);
 *  PTUNE_E_NOMEM. */
PTUNE_API ptune_status ptune_optimizer_load(ptune_optimizer *o, const char *path);
PTUNE_API void ptune_optimizer_free(ptune_optimizer *o);

/* ---------------------------------------------------------------------------------------
 * Generation
 * ------------------------------------------------------------------------------------- */

/* Sampling with Hugging Face semantics and order: repetition penalty over every token already
 * in the sequence (input included: positive logits divided, negative multiplied), then
 * temperature, top-k, top-p, min-p; temperature 0 means greedy (argmax). Fields beyond a
 * caller's struct_size take the defaults of ptune_sampling_params_init. */
typedef struct ptune_sampling_params {
    uint32_t struct_size;
    float temperature;          /* default 1.0; 0 = greedy */
    int32_t top_k;              /* default 50 (HF); 0 = off */
    float top_p;                /* default 1.0 = off */
    float min_p;                /* default 0 = off */
    float repetition_penalty;   /* default 1.0 = off */
    int32_t max_new_tokens;     /* default 20 (HF) */
    int32_t max_length;         /* > 0: input + new tokens stop at this length (HF max_length) */
    uint64_t seed;              /* the same seed reproduces a sample */
    const int32_t *stop_ids;    /* extra stop ids besides the model's EOS ids (borrowed) */
    int32_t n_stop_ids;
    const char *const *stop_strings; /* stop when the decoded new text contains one (borrowed) */
    int32_t n_stop_strings;
    int32_t ignore_eos;         /* nonzero: do not stop at EOS */
} ptune_sampling_params;

PTUNE_API void ptune_sampling_params_init_sized(ptune_sampling_params *p, uint32_t size);
#define ptune_sampling_params_init(p) ptune_sampling_params_init_sized((p), PTUNE_STRUCT_SIZE(p))

/* Streaming callback: each new token id and its UTF-8-complete text piece (possibly empty while
 * a multi-byte character is incomplete; NULL/0 when the model has no tokenizer). If text is still
 * held back when generation ends, one last call with token -1 delivers it. One polarity
 * everywhere: return nonzero to stop (the call then returns PTUNE_E_ABORTED, tokens so far kept). */
typedef int (*ptune_token_fn)(int32_t token, const char *bytes, size_t n, void *user);

/** Generates a continuation of ids[0..n) (preceded by the soft prompt's rows when `prompt` is
 *  non-NULL) with a per-context KV cache: the input is processed once, then one token at a time.
 *  Stops at EOS (the model's EOS ids, unless ignore_eos), a stop id or stop string,
 *  max_new_tokens or max_length. The new ids go to out[0..cap) and *n_out.
 *  @return PTUNE_OK; PTUNE_E_INVALID_ARG (bad ids/params, n == 0 without a prompt);
 *  PTUNE_E_CAPACITY (the context's max_tokens or the model's context length is reached: the
 *  message gives both numbers; the tokens generated so far are in out); PTUNE_E_ABORTED (the
 *  callback asked to stop); PTUNE_E_NOMEM. */
PTUNE_API ptune_status ptune_generate(ptune_ctx *c, const ptune_prompt *prompt, const int32_t *ids, int32_t n,
                                      const ptune_sampling_params *s, int32_t *out, int32_t cap, int32_t *n_out,
                                      ptune_token_fn on_token, void *user);

/* One sequence of a batched generation. */
typedef struct ptune_generate_request {
    const ptune_prompt *prompt;   /* its own soft prompt, or NULL */
    const int32_t *ids;           /* input ids (borrowed) */
    int32_t n_ids;
    int32_t *out;                 /* receives the new ids */
    int32_t cap;
    int32_t n_out;                /* set by the call */
    float *logits;                /* optional (HF output_logits): the raw logits of each sampling
                                     step, logits_rows × n_vocab floats */
    int32_t logits_rows;
    int32_t n_logits;             /* rows written (set by the call) */
} ptune_generate_request;

typedef int (*ptune_batch_token_fn)(int32_t seq, int32_t token, const char *bytes, size_t n, void *user);

/** Generates for several sequences at once (one forward pass per step for all of them), each
 *  with its own soft prompt or none — a mixed-task batch on one frozen model. Every sequence
 *  samples with its own RNG seeded from s->seed, so it produces exactly what a separate
 *  ptune_generate call would. Needs a context created with n_seq_max >= n_req.
 *  @return as ptune_generate (PTUNE_E_ABORTED when the callback stops the batch). */
PTUNE_API ptune_status ptune_generate_batch(ptune_ctx *c, ptune_generate_request *reqs, int32_t n_req,
                                            const ptune_sampling_params *s, ptune_batch_token_fn on_token,
                                            void *user);

/** Text in, text out: tokenizes `text` with the model's tokenizer (special tokens included,
 *  e.g. BOS; an empty text is BOS alone), generates, and returns the new text in *out_text
 *  (NUL-terminated, free with ptune_free) — also after PTUNE_E_ABORTED or PTUNE_E_CAPACITY, with
 *  the text produced so far. on_token streams as it goes (nullable).
 *  @return as ptune_generate; PTUNE_E_STATE (the model has no tokenizer). */
PTUNE_API ptune_status ptune_generate_text(ptune_ctx *c, const ptune_prompt *prompt, const char *text,
                                           const ptune_sampling_params *s, char **out_text, ptune_token_fn on_token,
                                           void *user);

/** Frees memory the library handed to the caller (ptune_generate_text's text). NULL is a no-op. */
PTUNE_API void ptune_free(void *p);

/* ---------------------------------------------------------------------------------------
 * Datasets
 *
 * Text examples tokenized once with the model's tokenizer into ragged sequences with labels
 * (-100 where not scored; labels are aligned with ids, the loss shifts them as HF does).
 * Read-only after loading; safe to share between threads (ptune_dataset_split modifies its
 * first argument).
 *
 * Reading rules:
 * - The file must be UTF-8 (a leading BOM is skipped); invalid bytes are PTUNE_E_INVALID_ARG
 *   naming file:line:column.
 * - CSV: RFC 4180 with a header row. Quoted fields may hold commas, line breaks and "" quotes;
 *   records end at CRLF, LF or CR; empty lines are skipped. A stray quote RFC 4180 forbids
 *   (`5" screen`, `"ab"cd`) is read leniently as Python's csv module does (kept literally /
 *   appended) with a logged warning. A row with more or fewer fields than the header, or a
 *   quote never closed, is PTUNE_E_FORMAT with file:line:column.
 * - JSON Lines: one object per line (blank lines skipped); the field must be a string.
 * - Text: one example per non-blank line, or with blank_line_separated one per block of
 *   non-blank lines joined with "\n". A "\r" before "\n" is dropped.
 * - `select` counts rows as read (CSV records, JSONL objects, text lines or blocks) and stops
 *   reading after N of them.
 * Tokenization: ids = encode(text, add_special) [++ encode(completion, no special tokens)]
 * [++ EOS], truncated to max_length keeping the first tokens and, with add_eos, the EOS last.
 * Labels are -100 on the prompt part (text_column) when completion_column is set, else equal
 * to the ids. A row that trains nothing (fewer than 2 tokens, e.g. an empty text giving only
 * BOS, or no scored completion token left after truncation) is skipped with one logged warning.
 * ------------------------------------------------------------------------------------- */
typedef struct ptune_dataset ptune_dataset;

typedef enum ptune_data_format {
    PTUNE_DATA_AUTO = 0,   /* from the extension: .csv, .jsonl/.json/.ndjson, anything else text */
    PTUNE_DATA_CSV = 1,    /* RFC 4180 with a header row */
    PTUNE_DATA_JSONL = 2,  /* one JSON object per line */
    PTUNE_DATA_TEXT = 3    /* one example per line, or per blank-line-separated block */
} ptune_data_format;

typedef struct ptune_dataset_params {
    uint32_t struct_size;
    int32_t format;                  /* ptune_data_format; default AUTO */
    const char *text_column;         /* CSV column / JSONL field; default "text" (NULL or "" too) */
    const char *completion_column;   /* optional (NULL or "" = none; CSV/JSONL only): then
                                        text_column is the prompt part (not scored) and this
                                        column the scored completion */
    int32_t blank_line_separated;    /* TEXT: examples separated by blank lines; default 0 */
    int32_t max_length;              /* truncate each example to this many tokens, EOS
                                        included (0 = none) */
    int32_t add_special;             /* tokenize with the tokenizer's special tokens (BOS); default 1 */
    int32_t add_eos;                 /* append the model's EOS id (scored); default 0 */
    int64_t select;                  /* keep the first N rows (0 = all); the tutorial uses 50 */
} ptune_dataset_params;

PTUNE_API void ptune_dataset_params_init_sized(ptune_dataset_params *p, uint32_t size);
#define ptune_dataset_params_init(p) ptune_dataset_params_init_sized((p), PTUNE_STRUCT_SIZE(p))
/** Reads and tokenizes a dataset file with the model's tokenizer (rules above).
 *  @return PTUNE_OK; PTUNE_E_INVALID_ARG (NULL model/path/out, bad params, invalid UTF-8 named
 *  by file:line:column); PTUNE_E_IO; PTUNE_E_FORMAT (a bad row: the message gives
 *  file:line:column; a missing column or field; an empty dataset, also after select and skips);
 *  PTUNE_E_STATE (the model has no tokenizer, or add_eos and the model has no EOS id);
 *  PTUNE_E_NOMEM. */
PTUNE_API ptune_status ptune_dataset_load(const ptune_model *m, const char *path, const ptune_dataset_params *p,
                                          ptune_dataset **out);
PTUNE_API void ptune_dataset_free(ptune_dataset *d);
/* Number of examples (0 for NULL). */
PTUNE_API int64_t ptune_dataset_size(const ptune_dataset *d);
/** Total tokens over all examples (0 for NULL). */
PTUNE_API int64_t ptune_dataset_n_tokens(const ptune_dataset *d);
/** Example i: its ids and labels (borrowed, valid for the dataset's lifetime or until it is
 *  split) and length; each output is nullable.
 *  @return PTUNE_OK; PTUNE_E_INVALID_ARG (NULL, i out of range). */
PTUNE_API ptune_status ptune_dataset_get(const ptune_dataset *d, int64_t i, const int32_t **ids,
                                         const int32_t **labels, int32_t *len);
/** Moves a seeded random `fraction` (0 < fraction < 1) of `d` into a new dataset *eval_out
 *  (the held-out split): ceil(fraction * n) rows, clamped so each side keeps at least one.
 *  The rows are chosen by a seeded Fisher–Yates draw; both sides keep their rows' original
 *  relative order. Same seed and dataset, same split. On failure `d` is unchanged.
 *  @return PTUNE_OK; PTUNE_E_INVALID_ARG (NULL, fraction outside (0, 1), fewer than 2 rows);
 *  PTUNE_E_NOMEM. */
PTUNE_API ptune_status ptune_dataset_split(ptune_dataset *d, double fraction, uint64_t seed,
                                           ptune_dataset **eval_out);

/* ---------------------------------------------------------------------------------------
 * Trainer: the loop HF's Trainer runs, as a handle (batching, evaluation, early stopping,
 * checkpoints with exact resume, progress reporting).
 * ------------------------------------------------------------------------------------- */
typedef struct ptune_trainer ptune_trainer;

typedef struct ptune_train_progress {
    int64_t step;            /* optimizer steps done */
    int64_t total_steps;
    int32_t epoch;           /* 0-based epoch of the last step */
    double loss;             /* mean training loss of the last step */
    double lr;               /* learning rate that step used */
    double grad_norm;        /* before clipping */
    double tokens_per_s;     /* real tokens per second over the run so far */
    double eta_s;            /* estimated seconds to the end */
    double eval_loss;        /* NaN unless an evaluation ran at this step */
    double eval_perplexity;  /* exp(eval_loss), NaN likewise */
} ptune_train_progress;

/* Called after every optimizer step (and after each evaluation); nonzero stops the run with
 * PTUNE_E_ABORTED after the current step. */
typedef int (*ptune_progress_fn)(const ptune_train_progress *p, void *user);

/* Data parallelism without MPI in the API: the host (e.g. `ptune train --mpi`, which wraps
 * MPI_COMM_WORLD) describes its group of processes and how to sum numbers across them. Every
 * rank runs the same trainer on the same data with the same params; each takes its share of the
 * sequences of every micro-batch, and after each micro-batch the trainer sums, across ranks, the
 * prompt gradient (unnormalised), the NLL and the counted tokens — the update and the reported
 * loss are then those of one process running the whole batch (up to summation order). The
 * callback is called by every rank, in the same order; it must not return before every rank has
 * contributed (MPI_Allreduce semantics). Rank 0 alone writes checkpoints (and, in
 * ptune_run_yaml, metrics and the adapter). docs/scaling.md. */
typedef struct ptune_collective {
    int32_t rank;   /* this process, in [0, size) */
    int32_t size;   /* number of processes (1 = no parallelism) */
    /* Sums values[0 .. n) element-wise across all ranks, in place on every rank. Returns 0,
     * or nonzero on failure (the trainer then fails with PTUNE_E_IO). */
    int (*allreduce_sum)(double *values, int64_t n, void *user);
    void *user;
} ptune_collective;

typedef struct ptune_trainer_params {
    uint32_t struct_size;
    int32_t epochs;                 /* default 1 */
    int64_t max_steps;              /* > 0 overrides epochs */
    int32_t batch_size;             /* sequences per micro-batch; default 8 */
    int32_t batch_tokens;           /* > 0: fill micro-batches up to this many rows instead */
    int64_t auto_batch_memory;      /* > 0: shrink batch_size until a training context fits this
                                       many bytes (HF's auto_find_batch_size, without retries) */
    int32_t grad_accum;             /* micro-batches per optimizer step; default 1 */
    int64_t eval_every;             /* evaluate every N steps (0 = at each epoch end if eval data) */
    int32_t early_stopping_patience;/* stop after N evaluations without improvement (0 = off) */
    uint64_t seed;                  /* data order */
    int32_t n_threads;              /* 0 = all cores */
    const ptune_optimizer_params *optimizer; /* NULL = AdamW defaults; total_steps is filled in */
    const char *checkpoint_dir;     /* where checkpoints go (NULL = none) */
    int64_t checkpoint_every;       /* steps between checkpoints (0 = only at the end) */
    int32_t checkpoint_keep;        /* keep the last K (plus the best by eval loss); default 2 */
    ptune_progress_fn progress;
    void *progress_user;
    const volatile int32_t *cancel; /* checked between steps; nonzero → save a checkpoint (when
                                       checkpoint_dir is set) and return PTUNE_E_ABORTED */
    const ptune_collective *collective; /* data-parallel group (NULL = this process alone);
                                       borrowed, must outlive the trainer */
} ptune_trainer_params;

PTUNE_API void ptune_trainer_params_init_sized(ptune_trainer_params *p, uint32_t size);
#define ptune_trainer_params_init(p) ptune_trainer_params_init_sized((p), PTUNE_STRUCT_SIZE(p))
/** Creates a trainer over `train` (and `eval`, nullable) tuning `prompt` on `m`. The model,
 *  prompt and datasets are borrowed and must outlive the trainer.
 *  @return PTUNE_OK; PTUNE_E_INVALID_ARG; PTUNE_E_CAPACITY (an example longer than the model's
 *  context); PTUNE_E_NOMEM. */
PTUNE_API ptune_status ptune_trainer_new(const ptune_model *m, ptune_prompt *prompt, const ptune_dataset *train,
                                         const ptune_dataset *eval, const ptune_trainer_params *p,
                                         ptune_trainer **out);
/** One optimizer step (grad_accum micro-batches). PTUNE_E_STATE once training is complete. */
PTUNE_API ptune_status ptune_trainer_step(ptune_trainer *t);
/** Steps to the end of the current epoch. */
PTUNE_API ptune_status ptune_trainer_epoch(ptune_trainer *t);
/** Steps until max_steps/epochs are done, early stopping triggers, or the run is cancelled
 *  (PTUNE_E_ABORTED). */
PTUNE_API ptune_status ptune_trainer_run(ptune_trainer *t);
/** Mean loss over the whole eval dataset (PTUNE_E_STATE without one). */
PTUNE_API ptune_status ptune_trainer_evaluate(ptune_trainer *t, double *loss);
/** Writes a checkpoint directory atomically: the prompt (PEFT format), optimizer state,
 *  schedule position, RNG state and data order. */
PTUNE_API ptune_status ptune_trainer_save_checkpoint(ptune_trainer *t, const char *dir);
/** Restores a checkpoint written by ptune_trainer_save_checkpoint; continuing gives results
 *  bit-identical to an uninterrupted run with the same params and thread count. */
PTUNE_API ptune_status ptune_trainer_resume(ptune_trainer *t, const char *dir);
PTUNE_API const ptune_train_progress *ptune_trainer_progress(const ptune_trainer *t);
PTUNE_API void ptune_trainer_free(ptune_trainer *t);

/* ---------------------------------------------------------------------------------------
 * Run configs: the whole `ptune train` flow from a YAML file (schema in docs/train.md)
 * ------------------------------------------------------------------------------------- */
typedef struct ptune_run_params {
    uint32_t struct_size;
    const char *const *overrides;   /* "key.path=value" strings applied after the file */
    int32_t n_overrides;
    ptune_progress_fn progress;     /* also receives every step (nullable); with eval data and
                                       no resume, first a step-0 call carrying only eval_loss /
                                       eval_perplexity: the untuned prompt's baseline */
    void *progress_user;
    const volatile int32_t *cancel; /* nonzero: checkpoint and stop (PTUNE_E_ABORTED) */
    const char *resume;             /* a checkpoint directory to continue from (nullable) */
    const ptune_collective *collective; /* data-parallel group (NULL = alone); only rank 0
                                       writes the output_dir */
} ptune_run_params;

PTUNE_API void ptune_run_params_init_sized(ptune_run_params *p, uint32_t size);
#define ptune_run_params_init(p) ptune_run_params_init_sized((p), PTUNE_STRUCT_SIZE(p))
/** Loads the YAML run config, the model, the datasets and the prompt, trains, and writes to
 *  output_dir: the tuned prompt as a PEFT adapter (adapter_config.json +
 *  adapter_model.safetensors), metrics.jsonl (one record per logged step), loss.svg (train and
 *  eval loss against step; with eval data, a step-0 record holds the untuned prompt's eval loss)
 *  and checkpoints/ (per the checkpoint settings).
 *  @return PTUNE_OK; PTUNE_E_FORMAT for config errors (file:line:column); the status of the
 *  failing stage otherwise (its message names it); PTUNE_E_ABORTED when cancelled (a checkpoint
 *  was written). */
PTUNE_API ptune_status ptune_run_yaml(const char *config_path, const ptune_run_params *p);

#ifdef __cplusplus
}
#endif

#endif /* PTUNE_PTUNE_H */
