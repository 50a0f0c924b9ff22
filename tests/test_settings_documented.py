"""The operator guide lists every setting the code reads, and names no variable the code ignores."""
from __future__ import annotations

import re
from pathlib import Path

from engine.core.config import VARIABLES, read_settings

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "OPERATING.md"


def test_every_setting_is_in_the_operator_guide():
    guide = GUIDE.read_text(encoding="utf-8")
    missing = [variable.name for variable in VARIABLES if f"`{variable.name}`" not in guide]
    assert not missing, f"docs/OPERATING.md does not list {missing}"


def test_the_guide_names_no_variable_the_code_does_not_read():
    known = {variable.name for variable in VARIABLES}
    named = set(re.findall(r"\bCIVICRULES_[A-Z_]*[A-Z]\b", GUIDE.read_text(encoding="utf-8")))
    assert named <= known, f"docs/OPERATING.md names unknown variables {sorted(named - known)}"


def test_an_empty_environment_gets_the_documented_defaults(tmp_path):
    settings = read_settings({"CIVICRULES_INSTANCE": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path.resolve() / 'civicrules.db'}"
    assert settings.embedded_redis and settings.redis_url == f"unix://{tmp_path.resolve() / 'redis.sock'}"
    assert (tmp_path / "secret_key").read_text().strip() == settings.secret_key
    assert (settings.queues.prefix, settings.pipeline.batch_size, settings.pipeline.lease_seconds,
            settings.pipeline.max_attempts) == ("civicrules", 200, 60, 3)
    assert settings.evidence.dir == (tmp_path / "evidence").resolve() and settings.evidence.max_bytes == 10 * 2**20
    assert (settings.web.login_rate_limit, settings.web.intake_rate_limit) == ("5 per minute", "1000 per second")
    assert settings.delivery.smtp.port == 25 and settings.logging.format == "text"
