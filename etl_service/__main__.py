import sys

from etl_service.cli import main

sys.exit(main())
