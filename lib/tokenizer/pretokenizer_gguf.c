/* GGUF pre-tokenizer presets: llama.cpp's `tokenizer.ggml.pre` names (src/llama-vocab.cpp,
 * LLAMA_VOCAB_PRE_TYPE_*) mapped to their regexes and built as tokenizer.json pre-tokenizers. */
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "tokenizer/pretokenizer.h"

/* Regexes as llama.cpp lists them per pre-tokenizer type; the ones marked "original" are the
 * models' own tokenizer.json patterns that llama.cpp quotes beside its adapted copies. */
#define RE_LLAMA3 /* original */ \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2 /* original */ \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_GPT2_LCPP "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
/* BLOOM's tokenizer.json pattern (a nested class); llama.cpp's " ?[^(\\s|.,!?…。，、।۔،)]+"
 * excludes the same characters. */
#define RE_BLOOM " ?[^(\\s|[.,!?…。，、।۔،])]+"
#define RE_VIKING " ?[^(\\s|.,!?…。，、।۔،)]+"
#define RE_TEKKEN /* original */                                                                                  \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?" \
    "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|"      \
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_GPT4O /* original */                                                                                   \
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"                      \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+"                      \
    "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|"       \
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_SEED_CODER /* original */ \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_BAILINGMOE /* original (possessive quantifiers, which Oniguruma supports) */ \
    "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"
#define RE_DEEPSEEK3_MAIN                                                                                 \
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|" \
    " ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

typedef struct preset {
    const char *const *names;   /* NULL-terminated */
    const char *regex[6];       /* NULL-terminated; all NULL: ByteLevel with its GPT-2 regex */
} preset;

static const char *const n_default[] = {"default", NULL};
static const char *const n_llama3[] = {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0",
                                       "lfm2", "jina-v5-nano", "dbrx", "smaug-bpe", "chatglm-bpe", "glm4", NULL};
static const char *const n_qwen2[] = {"qwen2", "deepseek-r1-qwen", "kormo", "megrez", "stablelm2", "hunyuan", "grok-2",
                                      NULL};
static const char *const n_gpt2[] = {"gpt-2", "gpt2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es",
                                     "jina-v2-de", "a.x-4.0", "mellum", "jina-v1-en", "jina-v2-code", "roberta-bpe",
                                     "mpt", "olmo", "jais", "trillion", "granite-docling", "exaone4", NULL};
static const char *const n_starcoder[] = {"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone",
                                          "minerva-7b", NULL};
static const char *const n_bloom[] = {"bloom", "poro-chat", "gpt3-finnish", NULL};
static const char *const n_viking[] = {"viking", NULL};
static const char *const n_falcon[] = {"falcon", NULL};
static const char *const n_deepseek_coder[] = {"deepseek-coder", NULL};
static const char *const n_deepseek3[] = {"deepseek-v3", "hunyuan-dense", NULL};
static const char *const n_tekken[] = {"tekken", NULL};
static const char *const n_gpt4o[] = {"gpt-4o", "llama4", "minimax-m2", NULL};
static const char *const n_seed_coder[] = {"seed-coder", NULL};
static const char *const n_bailingmoe[] = {"bailingmoe", "bailingmoe2", "llada-moe", NULL};

static const preset presets[] = {
    {n_default, {"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2_LCPP, "\\p{N}+", "[0-9][0-9][0-9]", NULL}},
    {n_llama3, {RE_LLAMA3, NULL}},
    {n_qwen2, {RE_QWEN2, NULL}},
    {n_gpt2, {NULL}},
    {n_starcoder, {"\\p{N}", RE_GPT2_LCPP, NULL}},
    {n_bloom, {RE_BLOOM, NULL}},
    {n_viking, {RE_VIKING, "\\p{N}", NULL}},
    {n_falcon, {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2_LCPP, "[0-9][0-9][0-9]", NULL}},
    /* 一-龥 ࠀ-一 가-퟿ */
    {n_deepseek_coder,
     {"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+",
      "\\p{N}", NULL}},
    /* 一-龥 ぀-ゟ ゠-ヿ */
    {n_deepseek3,
     {"\\p{N}{1,3}", "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+", RE_DEEPSEEK3_MAIN, NULL}},
    {n_tekken, {RE_TEKKEN, NULL}},
    {n_gpt4o, {RE_GPT4O, NULL}},
    {n_seed_coder, {RE_SEED_CODER, NULL}},
    {n_bailingmoe, {RE_BAILINGMOE, NULL}},
};

static const preset *find_preset(const char *pre)
{
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
        for (const char *const *n = presets[i].names; *n; n++)
            if (strcmp(*n, pre) == 0) return &presets[i];
    return NULL;
}

ptune_status pt_pretokenizer_gguf_preset(const char *pre, pt_pretokenizer **out)
{
    *out = NULL;
    if (!pre) return pt_fail(PTUNE_E_UNSUPPORTED, "GGUF: tokenizer.ggml.pre is missing");
    const preset *ps = find_preset(pre);
    if (!ps)
        return pt_fail(PTUNE_E_UNSUPPORTED, "GGUF: pre-tokenizer \"%s\" (tokenizer.ggml.pre) is not supported", pre);

    json_t *j;
    if (!ps->regex[0]) {
        j = json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets", 1,
                      "use_regex", 1);
    } else {
        json_t *arr = json_array();
        j = json_pack("{s:s, s:o}", "type", "Sequence", "pretokenizers", arr);
        for (size_t i = 0; j && ps->regex[i]; i++) {
            json_t *split = json_pack("{s:s, s:{s:s}, s:s, s:b}", "type", "Split", "pattern", "Regex", ps->regex[i],
                                      "behavior", "Isolated", "invert", 0);
            if (!split || json_array_append_new(arr, split)) {
                json_decref(j);
                j = NULL;
            }
        }
        json_t *bl = j ? json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets",
                                   1, "use_regex", 0)
                       : NULL;
        if (j && (!bl || json_array_append_new(arr, bl))) {
            json_decref(j);
            j = NULL;
        }
    }
    if (!j) return pt_fail(PTUNE_E_NOMEM, "out of memory building the GGUF pre-tokenizer \"%s\"", pre);
    char *where = pt_strfmt("GGUF pre-tokenizer \"%s\"", pre);
    ptune_status s = where ? pt_pretokenizer_parse(j, where, out) : PTUNE_E_NOMEM;
    free(where);
    json_decref(j);
    return s;
}
