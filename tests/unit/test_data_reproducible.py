"""`make data` regenerates data/ byte for byte, and every data file is covered by a datasheet."""
import subprocess
import sys

from course_utils.paths import DATA_DIR, REPO_ROOT


def test_make_data_reproduces_every_file(tmp_path):
    out = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "make_data.py"), str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    shipped = sorted(p.relative_to(DATA_DIR) for p in DATA_DIR.rglob("*.jsonl"))
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.jsonl"))
    assert shipped and made == shipped, f"generated files differ from data/: {set(made) ^ set(shipped)}"
    for rel in shipped:
        made_bytes, shipped_bytes = (tmp_path / rel).read_bytes(), (DATA_DIR / rel).read_bytes()
        assert made_bytes == shipped_bytes, f"data/{rel} is not reproduced by make data"


def test_datasheet_covers_each_data_folder():
    sheet = (DATA_DIR / "README.md").read_text()
    assert "(to be written)" not in sheet
    for folder in sorted({p.relative_to(DATA_DIR).parts[0] for p in DATA_DIR.rglob("*.jsonl")}):
        assert f"<!-- section: {folder} -->" in sheet, f"data/README.md has no datasheet for data/{folder}"
    for word in ("synthetic", "license", "split"):
        assert word in sheet.lower()
