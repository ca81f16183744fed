"""Run the curation service."""

from hspm.common.runner import run
from hspm.curation.app import create_app
from hspm.curation.config import Settings

if __name__ == "__main__":
    run(create_app, Settings)
