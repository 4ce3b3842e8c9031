"""`python -m etl_service migrate | run [--full] | schedule | report --out DIR`."""

import sys

from etl_service.cli import main

sys.exit(main())
