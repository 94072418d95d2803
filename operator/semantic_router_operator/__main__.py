"""`python -m semantic_router_operator` is the `semantic-router-operator` command."""

import sys

from semantic_router_operator.cli import main

if __name__ == "__main__":
    sys.exit(main())
