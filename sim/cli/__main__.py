"""`python -m sim.cli ...` is the `wattsim` command."""

from sim.cli.main import main

raise SystemExit(main())
