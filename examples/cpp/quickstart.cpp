// C++ quickstart over ptune.hpp: load a model, tune a soft prompt on a few lines, then stream a
// generation through a lambda.
//
//   usage: quickstart_cpp MODEL [STEPS]
//   e.g.   ./build/examples/quickstart_cpp ../shared/models/aidreams260K.gguf
#include "ptune.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

int main(int argc, char **argv)
{
    if (argc < 2) {
        std::cerr << "usage: " << argv[0] << " MODEL [STEPS]\n";
        return 2;
    }
    const int steps = argc > 2 ? std::atoi(argv[2]) : 20;
    try {
        ptune::Model model(argv[1]);
        std::cout << "libptune " << ptune::version() << ", model " << model.arch_name() << ": " << model.n_layer()
                  << " layers, vocab " << model.n_vocab() << "\n";

        const std::vector<std::string> lines = {
            "The robot dreamed of a quiet garden full of light.",
            "In the dream, numbers turned into soft blue birds.",
            "A small machine dreamed of the sea and the stars.",
        };
        std::vector<std::vector<int32_t>> batch;
        int32_t rows = 0;
        for (const std::string &line : lines) {
            batch.push_back(model.tokenize(line)); // BOS included
            rows += static_cast<int32_t>(batch.back().size());
        }

        ptune::Prompt prompt = ptune::Prompt::from_text(model, 8, "Tell a short dream:");

        ptune::ContextParams cp;
        cp.training = 1;
        cp.max_tokens = rows + static_cast<int32_t>(batch.size()) * prompt.n_virtual();
        ptune::Context train(model, cp);

        ptune::OptimizerParams op;
        op.lr = 3e-2f;
        op.total_steps = steps;
        ptune::Optimizer opt(op, prompt);

        double first = 0.0, loss = 0.0;
        for (int step = 0; step < steps; step++) {
            train.forward(&prompt, batch);
            loss = train.loss();
            train.backward(prompt);
            opt.step(prompt);
            if (step == 0) first = loss;
        }
        std::printf("tuned %d steps: loss %.4f -> %.4f (lr now %.2e)\n", steps, first, loss, opt.lr());

        ptune::Context gen(model);
        ptune::SamplingParams sp;
        sp.temperature = 0.8f;
        sp.top_k = 40;
        sp.repetition_penalty = 1.3f;
        sp.max_new_tokens = 40;
        sp.seed = 7;
        int n_tokens = 0;
        std::string streamed;
        std::cout << "streamed: ";
        ptune::GeneratedText out = gen.generate_text(&prompt, "The robot", sp, [&](int32_t token, std::string_view piece) {
            if (token >= 0) n_tokens++; // token -1 only flushes held-back text
            streamed += piece;
            std::cout << piece << std::flush;
            return true; // keep going (false stops: StopReason::Callback)
        });
        std::cout << "\n";
        std::printf("generated %d tokens (%s): %s\n", n_tokens,
                    out.stop == ptune::StopReason::Finished ? "finished" : "stopped", out.text.c_str());
        std::printf("streamed text equals returned text: %s\n", streamed == out.text ? "yes" : "no");

        // Errors are exceptions carrying the status and ptune_last_error().
        try {
            ptune::Model missing("/nonexistent/model.gguf");
        } catch (const ptune::Error &e) {
            std::cout << "expected error (status " << e.status() << "): " << e.what() << "\n";
        }
        return 0;
    } catch (const ptune::Error &e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
