/* The `ptune` command: dispatches to sub-commands (info, score). */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: ptune COMMAND [ARGS]\n"
    "commands:\n"
    "  info MODEL                          architecture, sizes and memory use as JSON\n"
    "  score MODEL (--ids 1,2,3 | --text T) [--prompt P]\n"
    "                                      log-probabilities and mean NLL as JSON\n"
    "  tokenize TOKENIZER [--special] [--text T | --file F | --jsonl]\n"
    "                                      token ids as JSON (stdin by default)\n"
    "  detokenize TOKENIZER [--skip-special] (--ids 1,2,3 | --jsonl)\n"
    "                                      text from token ids\n"
    "  train CONFIG.yaml [--set k.path=v] [--resume DIR]\n"
    "                                      prompt-tune as a YAML run config says\n"
    "  generate MODEL [--prompt P] --text T [--temperature T --top-k K --top-p P --seed S ...]\n"
    "                                      stream a continuation\n"
    "  version                             library version\n"
    "MODEL is a GGUF file or a Hugging Face model directory.";

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        puts(usage);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "info")) return pt_cmd_info(argc - 1, argv + 1);
    if (!strcmp(argv[1], "score")) return pt_cmd_score(argc - 1, argv + 1);
    if (!strcmp(argv[1], "tokenize")) return pt_cmd_tokenize(argc - 1, argv + 1);
    if (!strcmp(argv[1], "detokenize")) return pt_cmd_detokenize(argc - 1, argv + 1);
    if (!strcmp(argv[1], "train")) return pt_cmd_train(argc - 1, argv + 1);
    if (!strcmp(argv[1], "generate")) return pt_cmd_generate(argc - 1, argv + 1);
    if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
        printf("ptune %s\n", ptune_version_string());
        return 0;
    }
    return pt_cli_usage_error("unknown command \"%s\"\n%s", argv[1], usage);
}
