"""``python -m carbs_lite.cli``: the `carbs-lite` command."""

import sys

from carbs_lite.cli import main

sys.exit(main())
