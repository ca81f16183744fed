"""Run the identity service, or one of its operator commands (see ``cli``)."""

from hspm.identity.cli import main

main()
