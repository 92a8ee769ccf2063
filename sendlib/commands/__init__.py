"""Command code of the `sendlib` subcommands: one module per subcommand, each with `register(subparsers)` and
`run(args)`, registered from sendlib/cli.py. Modules import their heavy dependencies inside `run`."""
