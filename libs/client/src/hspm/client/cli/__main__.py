"""``python -m hspm.client.cli``: the same as the ``hspm`` command."""

from hspm.client.cli import main

raise SystemExit(main())
