"""Run the notifier service."""

from hspm.common.runner import run
from hspm.notifier.app import create_app
from hspm.notifier.config import Settings

if __name__ == "__main__":
    run(create_app, Settings)
