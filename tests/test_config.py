from pathlib import Path

import pytest

from citeline.config import PROJECT_ROOT, Settings, describe
from citeline.errors import ConfigError


def test_settings_from_env_parses_types() -> None:
    s = Settings.from_env(
        {
            "CITELINE_TOP_K": "5",
            "CITELINE_RELEVANCE_FLOOR": "0.4",
            "CITELINE_HOME": "/tmp/x",
            "CITELINE_AUDIENCE": "patient",
        }
    )
    assert s.top_k == 5 and s.relevance_floor == 0.4 and s.home == Path("/tmp/x")
    assert s.audience == "patient"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CITELINE_TOP_K": "many"}, "CITELINE_TOP_K"),
        ({"CITELINE_AUDIENCE": "robot"}, "clinician or patient"),
        ({"CITELINE_TOP_K": "0"}, "at least 1"),
    ],
)
def test_settings_reject_bad_values_with_the_variable_name(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)


def test_readme_lists_every_setting_with_its_default() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for var, default, _ in describe():
        assert f"| `{var}` | `{default}` |" in readme, var
