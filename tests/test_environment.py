"""environment.yml mirrors the pins of requirements.txt (conda users get the same stack)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pins(lines):
    out = {}
    for line in lines:
        line = line.split("#")[0].strip().lstrip("- ").strip()
        m = re.match(r"^([A-Za-z0-9_.\-]+)\s*((==|<|>=|<=).+)$", line)
        if m:
            out[m.group(1).lower()] = m.group(2).replace(" ", "")
    return out


def test_environment_yml_matches_requirements():
    req = _pins((ROOT / "requirements.txt").read_text().splitlines())
    env_lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, l in enumerate(env_lines) if l.strip() == "- pip:")
    env = _pins(env_lines[start + 1:])
    env.pop("python", None)
    assert req and env == req
