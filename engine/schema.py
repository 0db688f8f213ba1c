"""Every table module, imported once so SQLModel's shared metadata knows all tables.

The database layer (web/db.py) and Alembic (migrations/env.py) import this module; a
package that adds tables adds its models module here, one line, and nowhere else.
"""

import engine.adaptive.models  # noqa: F401
import engine.certification.models  # noqa: F401
import engine.marking.models  # noqa: F401
import engine.models  # noqa: F401
import engine.practical.models  # noqa: F401
import engine.proctoring.models  # noqa: F401
import engine.quality.models  # noqa: F401
import engine.results.models  # noqa: F401
import engine.scheduling.models  # noqa: F401
import itembank.models  # noqa: F401
