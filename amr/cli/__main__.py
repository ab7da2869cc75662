"""`python -m amr.cli`: the same as the `amr` command."""

from amr.cli import main

main()
