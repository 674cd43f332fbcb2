"""``python -m build.demo_data``: see :mod:`build.demo_data.cli`."""
from build.demo_data.cli import main

raise SystemExit(main())
