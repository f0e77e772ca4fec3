// ptune.hpp — a small header-only C++17 wrapper over libptune's C API (include/ptune/ptune.h).
//
// - Every handle has exactly one owner: Model, Tokenizer, Prompt, Context and Optimizer are
//   movable, not copyable, and free their C handle in the destructor.
// - A failing call throws ptune::Error, which carries the status code and ptune_last_error().
// - Token ids are std::vector<int32_t>, text is std::string / std::string_view.
// - Context::generate / generate_text stream through a std::function callback; exceptions thrown
//   by the callback never cross the C library: they stop the generation and are rethrown.
//
// Lifetimes follow the C API: a Model must outlive every Prompt, Context and Tokenizer view made
// from it, and a Prompt must outlive an Optimizer that steps it. Threads: a Model (and a
// Tokenizer) may be shared by any number of threads; a Context, Prompt or Optimizer is used by one
// thread at a time (use one Context per thread).
//
// This file is an example shipped with the sources, not part of the installed API; copy it into
// your project. It compiles cleanly with -Wall -Wextra -Werror -pedantic (and -Wconversion
// -Wsign-conversion -Wshadow -Wold-style-cast), which the build checks.
#ifndef PTUNE_HPP
#define PTUNE_HPP

#include <ptune/ptune.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ptune {

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

// Thrown by every wrapper call whose C call failed. what() is "<call>: <status>: <message>".
class Error : public std::runtime_error {
public:
    Error(ptune_status status, const std::string &message) : std::runtime_error(message), status_(status) {}
    ptune_status status() const noexcept { return status_; }

private:
    ptune_status status_;
};

namespace detail {

[[noreturn]] inline void fail(ptune_status s, const char *what)
{
    throw Error(s, std::string(what) + ": " + ptune_status_str(s) + ": " + ptune_last_error());
}

inline void check(ptune_status s, const char *what)
{
    if (s != PTUNE_OK) fail(s, what);
}

template <typename T, void (*Free)(T *)>
struct Deleter {
    void operator()(T *p) const noexcept { Free(p); }
};

template <typename T, void (*Free)(T *)>
using Handle = std::unique_ptr<T, Deleter<T, Free>>;

inline int32_t to_i32(std::size_t n, const char *what)
{
    if (n > static_cast<std::size_t>(INT32_MAX)) fail(PTUNE_E_CAPACITY, what);
    return static_cast<int32_t>(n);
}

// The two-call pattern for id outputs: try a guess, grow to the size the library asks for.
template <typename Call>
std::vector<int32_t> read_ids(Call call, std::size_t guess, const char *what)
{
    std::vector<int32_t> ids(guess > 0 ? guess : 1);
    int32_t n = 0;
    ptune_status s = call(ids.data(), to_i32(ids.size(), what), &n);
    if (s == PTUNE_E_BUFFER_TOO_SMALL && n > 0) {
        ids.resize(static_cast<std::size_t>(n));
        s = call(ids.data(), n, &n);
    }
    check(s, what);
    ids.resize(static_cast<std::size_t>(n));
    return ids;
}

// The same for text outputs (the library writes the needed byte count back).
template <typename Call>
std::string read_text(Call call, std::size_t guess, const char *what)
{
    std::string text(guess > 0 ? guess : 1, '\0');
    std::size_t len = 0;
    ptune_status s = call(&text[0], text.size(), &len);
    if (s == PTUNE_E_BUFFER_TOO_SMALL && len > 0) {
        text.assign(len, '\0');
        s = call(&text[0], text.size(), &len);
    }
    check(s, what);
    text.resize(len);
    return text;
}

} // namespace detail

// ---------------------------------------------------------------------------------------------
// Library-wide
// ---------------------------------------------------------------------------------------------

inline std::string version() { return ptune_version_string(); }
// Process-wide OpenBLAS worker count (n <= 0 restores the default).
inline void set_blas_threads(int32_t n) { ptune_set_blas_threads(n); }

// ---------------------------------------------------------------------------------------------
// Params: the C structs with their defaults filled in by the constructor. Set fields directly.
// ---------------------------------------------------------------------------------------------

struct ModelParams : ptune_model_params {
    ModelParams() noexcept : ptune_model_params() { ptune_model_params_init(this); }
};
struct ContextParams : ptune_ctx_params {
    ContextParams() noexcept : ptune_ctx_params() { ptune_ctx_params_init(this); }
};
struct PromptParams : ptune_prompt_params {
    PromptParams() noexcept : ptune_prompt_params() { ptune_prompt_params_init(this); }
};
struct OptimizerParams : ptune_optimizer_params {
    OptimizerParams() noexcept : ptune_optimizer_params() { ptune_optimizer_params_init(this); }
};
struct SamplingParams : ptune_sampling_params {
    SamplingParams() noexcept : ptune_sampling_params() { ptune_sampling_params_init(this); }
};

// ---------------------------------------------------------------------------------------------
// Tokenizers
// ---------------------------------------------------------------------------------------------

// A non-owning view of a tokenizer (the one a Model owns, or a Tokenizer's). Copyable; valid as
// long as its owner lives.
class TokenizerView {
public:
    explicit TokenizerView(const ptune_tokenizer *t = nullptr) noexcept : t_(t) {}
    const ptune_tokenizer *get() const noexcept { return t_; }
    explicit operator bool() const noexcept { return t_ != nullptr; }

    std::vector<int32_t> encode(std::string_view text, bool add_special = true) const
    {
        return detail::read_ids(
            [&](int32_t *ids, int32_t cap, int32_t *n) {
                return ptune_tokenizer_encode(t_, text.data(), text.size(), add_special, ids, cap, n);
            },
            text.size() + 8, "ptune_tokenizer_encode");
    }

    std::string decode(const std::vector<int32_t> &ids, bool skip_special = false) const
    {
        const int32_t n = detail::to_i32(ids.size(), "ptune_tokenizer_decode");
        return detail::read_text(
            [&](char *buf, std::size_t cap, std::size_t *len) {
                return ptune_tokenizer_decode(t_, ids.data(), n, skip_special, buf, cap, len);
            },
            ids.size() * 8 + 16, "ptune_tokenizer_decode");
    }

    int32_t vocab_size() const noexcept { return ptune_tokenizer_vocab_size(t_); }
    // -1 when the token string is not in the vocabulary.
    int32_t token_to_id(std::string_view token) const noexcept
    {
        return ptune_tokenizer_token_to_id(t_, token.data(), token.size());
    }
    // The raw token string ("Ġworld", "▁the"); empty when the id is unknown.
    std::string id_to_token(int32_t id) const
    {
        std::size_t len = 0;
        const char *s = ptune_tokenizer_id_to_token(t_, id, &len);
        return s ? std::string(s, len) : std::string();
    }
    bool is_special(int32_t id) const noexcept { return ptune_tokenizer_is_special(t_, id); }

private:
    const ptune_tokenizer *t_;
};

// A tokenizer loaded on its own (tokenizer.json, a directory holding one, or a GGUF file).
class Tokenizer {
public:
    explicit Tokenizer(const std::string &path)
    {
        ptune_tokenizer *t = nullptr;
        detail::check(ptune_tokenizer_load(path.c_str(), &t), "ptune_tokenizer_load");
        h_.reset(t);
    }
    Tokenizer(Tokenizer &&) noexcept = default;
    Tokenizer &operator=(Tokenizer &&) noexcept = default;
    Tokenizer(const Tokenizer &) = delete;
    Tokenizer &operator=(const Tokenizer &) = delete;

    const ptune_tokenizer *get() const noexcept { return h_.get(); }
    TokenizerView view() const noexcept { return TokenizerView(h_.get()); }
    std::vector<int32_t> encode(std::string_view text, bool add_special = true) const
    {
        return view().encode(text, add_special);
    }
    std::string decode(const std::vector<int32_t> &ids, bool skip_special = false) const
    {
        return view().decode(ids, skip_special);
    }
    int32_t vocab_size() const noexcept { return view().vocab_size(); }

private:
    detail::Handle<ptune_tokenizer, ptune_tokenizer_free> h_;
};

// ---------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------

class Model {
public:
    // Loads a GGUF file or a Hugging Face directory.
    explicit Model(const std::string &path, const ModelParams *params = nullptr)
    {
        ptune_model *m = nullptr;
        detail::check(ptune_model_load(path.c_str(), params, &m), "ptune_model_load");
        h_.reset(m);
    }
    Model(Model &&) noexcept = default;
    Model &operator=(Model &&) noexcept = default;
    Model(const Model &) = delete;
    Model &operator=(const Model &) = delete;

    ptune_model *get() const noexcept { return h_.get(); }

    std::string arch_name() const
    {
        const char *s = ptune_model_arch_name(h_.get());
        return s ? s : "";
    }
    int32_t n_embd() const noexcept { return ptune_model_n_embd(h_.get()); }
    int32_t n_vocab() const noexcept { return ptune_model_n_vocab(h_.get()); }
    int32_t n_layer() const noexcept { return ptune_model_n_layer(h_.get()); }
    int32_t n_ctx() const noexcept { return ptune_model_n_ctx(h_.get()); }
    int64_t n_params() const noexcept { return ptune_model_n_params(h_.get()); }
    int32_t bos_id() const noexcept { return ptune_model_bos_id(h_.get()); }
    int32_t eos_id() const noexcept { return ptune_model_eos_id(h_.get()); }

    // The model's own tokenizer (an empty view when the model came without one).
    TokenizerView tokenizer() const noexcept { return TokenizerView(ptune_model_tokenizer(h_.get())); }

    // Encodes with the model's tokenizer (throws PTUNE_E_STATE when it has none).
    std::vector<int32_t> tokenize(std::string_view text, bool add_special = true) const
    {
        return detail::read_ids(
            [&](int32_t *ids, int32_t cap, int32_t *n) {
                return ptune_tokenize(h_.get(), text.data(), text.size(), add_special, ids, cap, n);
            },
            text.size() + 8, "ptune_tokenize");
    }

    std::string detokenize(const std::vector<int32_t> &ids, bool skip_special = false) const
    {
        const int32_t n = detail::to_i32(ids.size(), "ptune_detokenize");
        return detail::read_text(
            [&](char *buf, std::size_t cap, std::size_t *len) {
                return ptune_detokenize(h_.get(), ids.data(), n, skip_special, buf, cap, len);
            },
            ids.size() * 8 + 16, "ptune_detokenize");
    }

private:
    detail::Handle<ptune_model, ptune_model_free> h_;
};

// ---------------------------------------------------------------------------------------------
// Soft prompts
// ---------------------------------------------------------------------------------------------

class Prompt {
public:
    Prompt(const Model &model, const PromptParams &params)
    {
        ptune_prompt *p = nullptr;
        detail::check(ptune_prompt_new(model.get(), &params, &p), "ptune_prompt_new");
        h_.reset(p);
    }
    // PEFT's TEXT init: the embedding rows of `text`'s tokens, cycled or truncated to n_virtual.
    static Prompt from_text(const Model &model, int32_t n_virtual, const std::string &text)
    {
        PromptParams p;
        p.n_virtual = n_virtual;
        p.init = PTUNE_PROMPT_INIT_TEXT;
        p.init_text = text.c_str();
        return Prompt(model, p);
    }
    // N(0, 1) values, reproducible from the seed.
    static Prompt random(const Model &model, int32_t n_virtual, uint64_t seed = 0)
    {
        PromptParams p;
        p.n_virtual = n_virtual;
        p.init = PTUNE_PROMPT_INIT_RANDOM;
        p.seed = seed;
        return Prompt(model, p);
    }
    // A PEFT adapter directory or a safetensors file holding `prompt_embeddings`.
    static Prompt load(const Model &model, const std::string &path)
    {
        ptune_prompt *p = nullptr;
        detail::check(ptune_prompt_load(model.get(), path.c_str(), &p), "ptune_prompt_load");
        return Prompt(p);
    }
    Prompt(Prompt &&) noexcept = default;
    Prompt &operator=(Prompt &&) noexcept = default;
    Prompt(const Prompt &) = delete;
    Prompt &operator=(const Prompt &) = delete;

    // Writes a PEFT adapter directory (adapter_config.json + adapter_model.safetensors).
    void save(const std::string &dir) const { detail::check(ptune_prompt_save(h_.get(), dir.c_str()), "ptune_prompt_save"); }

    ptune_prompt *get() const noexcept { return h_.get(); }
    int32_t n_virtual() const noexcept { return ptune_prompt_n_virtual(h_.get()); }
    int32_t n_embd() const noexcept { return ptune_prompt_n_embd(h_.get()); }
    // Number of floats in values() and grad(): n_virtual × n_embd.
    std::size_t size() const noexcept
    {
        return static_cast<std::size_t>(n_virtual()) * static_cast<std::size_t>(n_embd());
    }
    float *values() noexcept { return ptune_prompt_values(h_.get()); }
    const float *values() const noexcept { return ptune_prompt_values(h_.get()); }
    float *grad() noexcept { return ptune_prompt_grad(h_.get()); }
    std::vector<float> values_copy() const
    {
        const float *v = values();
        return v ? std::vector<float>(v, v + size()) : std::vector<float>();
    }

private:
    explicit Prompt(ptune_prompt *p) noexcept : h_(p) {}
    detail::Handle<ptune_prompt, ptune_prompt_free> h_;
};

// ---------------------------------------------------------------------------------------------
// Optimizers
// ---------------------------------------------------------------------------------------------

class Optimizer {
public:
    // An optimizer for prompts shaped like `prompt`. LINEAR/COSINE schedules need total_steps.
    Optimizer(const OptimizerParams &params, const Prompt &prompt)
    {
        ptune_optimizer *o = nullptr;
        detail::check(ptune_optimizer_new(&params, prompt.get(), &o), "ptune_optimizer_new");
        h_.reset(o);
    }
    Optimizer(Optimizer &&) noexcept = default;
    Optimizer &operator=(Optimizer &&) noexcept = default;
    Optimizer(const Optimizer &) = delete;
    Optimizer &operator=(const Optimizer &) = delete;

    ptune_optimizer *get() const noexcept { return h_.get(); }
    // Consumes the prompt's gradient (zeroing it) and updates the values every grad_accum_steps calls.
    void step(Prompt &prompt) { detail::check(ptune_optimizer_step(h_.get(), prompt.get()), "ptune_optimizer_step"); }
    double lr() const noexcept { return ptune_optimizer_lr(h_.get()); }
    int64_t steps() const noexcept { return ptune_optimizer_steps(h_.get()); }
    double last_grad_norm() const noexcept { return ptune_optimizer_last_grad_norm(h_.get()); }
    void save(const std::string &path) const
    {
        detail::check(ptune_optimizer_save(h_.get(), path.c_str()), "ptune_optimizer_save");
    }
    void load(const std::string &path) { detail::check(ptune_optimizer_load(h_.get(), path.c_str()), "ptune_optimizer_load"); }

private:
    detail::Handle<ptune_optimizer, ptune_optimizer_free> h_;
};

// ---------------------------------------------------------------------------------------------
// Contexts: forward, loss, backward and generation
// ---------------------------------------------------------------------------------------------

// Streaming callback: the new token id (-1 for a final flush of held-back text) and its
// UTF-8-complete text piece. Return true to keep generating, false to stop.
using TokenCallback = std::function<bool(int32_t token, std::string_view piece)>;

enum class StopReason {
    Finished, // EOS, a stop id or string, max_new_tokens or max_length
    Callback, // the callback returned false
    Capacity  // the context's max_tokens or the model's context length was reached
};

struct Generated {
    std::vector<int32_t> ids;
    StopReason stop = StopReason::Finished;
};

struct GeneratedText {
    std::string text;
    StopReason stop = StopReason::Finished;
};

namespace detail {

struct CallbackState {
    const TokenCallback *fn;
    std::exception_ptr error;
};

inline int token_trampoline(int32_t token, const char *bytes, std::size_t n, void *user) noexcept
{
    auto *st = static_cast<CallbackState *>(user);
    try {
        return (*st->fn)(token, std::string_view(bytes ? bytes : "", bytes ? n : 0)) ? 0 : 1;
    } catch (...) {
        st->error = std::current_exception(); // rethrown once the C call has returned
        return 1;
    }
}

// Maps a generation status to a StopReason; throws for real failures and callback exceptions.
inline StopReason finish_generation(ptune_status s, const CallbackState &st, const char *what)
{
    if (st.error) std::rethrow_exception(st.error);
    if (s == PTUNE_OK) return StopReason::Finished;
    if (s == PTUNE_E_ABORTED) return StopReason::Callback;
    if (s == PTUNE_E_CAPACITY) return StopReason::Capacity;
    fail(s, what);
}

} // namespace detail

class Context {
public:
    // A workspace for `model` (one per thread). Set params.training for backward passes.
    explicit Context(const Model &model, const ContextParams *params = nullptr)
    {
        ptune_ctx *c = nullptr;
        detail::check(ptune_ctx_new(model.get(), params, &c), "ptune_ctx_new");
        h_.reset(c);
        n_vocab_ = model.n_vocab();
    }
    Context(const Model &model, const ContextParams &params) : Context(model, &params) {}
    Context(Context &&) noexcept = default;
    Context &operator=(Context &&) noexcept = default;
    Context(const Context &) = delete;
    Context &operator=(const Context &) = delete;

    ptune_ctx *get() const noexcept { return h_.get(); }

    // One forward pass over a ragged batch, each sequence preceded by `prompt` (nullable).
    // `labels` (optional) has one vector per sequence, the same lengths as `seqs`; -100 = ignored.
    void forward(const Prompt *prompt, const std::vector<std::vector<int32_t>> &seqs,
                 const std::vector<std::vector<int32_t>> *labels = nullptr)
    {
        const std::size_t n = seqs.size();
        if (labels && labels->size() != n)
            throw Error(PTUNE_E_INVALID_ARG, "Context::forward: labels and seqs differ in count");
        std::vector<const int32_t *> ids(n), labs(labels ? n : 0);
        std::vector<int32_t> lens(n);
        for (std::size_t i = 0; i < n; i++) {
            ids[i] = seqs[i].data();
            lens[i] = detail::to_i32(seqs[i].size(), "Context::forward");
            if (labels) {
                if ((*labels)[i].size() != seqs[i].size())
                    throw Error(PTUNE_E_INVALID_ARG, "Context::forward: a labels row differs in length from its sequence");
                labs[i] = (*labels)[i].data();
            }
        }
        ptune_batch b;
        b.n_seq = detail::to_i32(n, "Context::forward");
        b.ids = ids.data();
        b.labels = labels ? labs.data() : nullptr;
        b.len = lens.data();
        detail::check(ptune_forward(h_.get(), prompt ? prompt->get() : nullptr, &b), "ptune_forward");
    }

    // Mean NLL of the last forward batch over its counted targets.
    double loss(int64_t *n_counted = nullptr)
    {
        double l = 0.0;
        detail::check(ptune_loss(h_.get(), &l, n_counted), "ptune_loss");
        return l;
    }
    double seq_loss(int32_t seq, int64_t *n_counted = nullptr)
    {
        double l = 0.0;
        detail::check(ptune_seq_loss(h_.get(), seq, &l, n_counted), "ptune_seq_loss");
        return l;
    }
    std::vector<float> token_logprobs(int32_t seq)
    {
        int32_t n = 0;
        ptune_status s = ptune_token_logprobs(h_.get(), seq, nullptr, 0, &n);
        if (s != PTUNE_OK && s != PTUNE_E_BUFFER_TOO_SMALL) detail::fail(s, "ptune_token_logprobs");
        std::vector<float> out(static_cast<std::size_t>(n));
        if (n > 0) detail::check(ptune_token_logprobs(h_.get(), seq, out.data(), n, &n), "ptune_token_logprobs");
        return out;
    }
    // Kept logits of sequence `seq` (rows × n_vocab floats, copied); needs a logits mode.
    std::vector<float> logits(int32_t seq, int32_t *n_rows = nullptr)
    {
        const float *l = nullptr;
        int32_t rows = 0;
        detail::check(ptune_logits(h_.get(), seq, &l, &rows), "ptune_logits");
        if (n_rows) *n_rows = rows;
        return std::vector<float>(l, l + static_cast<std::size_t>(rows) * static_cast<std::size_t>(n_vocab_));
    }

    // Adds d(loss)/d(prompt) of the last forward into prompt.grad() (training contexts only).
    void backward(Prompt &prompt) { detail::check(ptune_backward(h_.get(), prompt.get()), "ptune_backward"); }

    // Continues `ids` (after `prompt`'s rows when non-null). A stop by the callback or by the
    // context's capacity is not an error: the tokens so far are returned with the reason.
    Generated generate(const Prompt *prompt, const std::vector<int32_t> &ids, const SamplingParams &sampling = SamplingParams(),
                       const TokenCallback &on_token = nullptr)
    {
        Generated g;
        std::vector<int32_t> out(static_cast<std::size_t>(sampling.max_new_tokens > 0 ? sampling.max_new_tokens : 1));
        int32_t n_out = 0;
        detail::CallbackState st{&on_token, nullptr};
        ptune_status s = ptune_generate(h_.get(), prompt ? prompt->get() : nullptr, ids.data(),
                                        detail::to_i32(ids.size(), "ptune_generate"), &sampling, out.data(),
                                        detail::to_i32(out.size(), "ptune_generate"), &n_out,
                                        on_token ? detail::token_trampoline : nullptr, &st);
        g.stop = detail::finish_generation(s, st, "ptune_generate");
        out.resize(static_cast<std::size_t>(n_out));
        g.ids = std::move(out);
        return g;
    }

    // Text in, text out with the model's tokenizer (BOS added; an empty text is BOS alone).
    GeneratedText generate_text(const Prompt *prompt, const std::string &text,
                                const SamplingParams &sampling = SamplingParams(), const TokenCallback &on_token = nullptr)
    {
        GeneratedText g;
        char *out = nullptr;
        detail::CallbackState st{&on_token, nullptr};
        ptune_status s = ptune_generate_text(h_.get(), prompt ? prompt->get() : nullptr, text.c_str(), &sampling, &out,
                                             on_token ? detail::token_trampoline : nullptr, &st);
        // take ownership first so that nothing leaks if finish_generation throws
        std::unique_ptr<char, detail::Deleter<void, ptune_free>> owned(out);
        g.stop = detail::finish_generation(s, st, "ptune_generate_text");
        if (owned) g.text = owned.get();
        return g;
    }

private:
    detail::Handle<ptune_ctx, ptune_ctx_free> h_;
    int32_t n_vocab_ = 0;
};

} // namespace ptune

#endif // PTUNE_HPP
