"""The command line's subcommands, one module each: `register(subparsers)` adds the parser, `run(args)` does the
work by reading the derived tables (and, for non-default model variants, the models) and printing them."""
