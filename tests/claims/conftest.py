"""Claims read the notebooks' records: refuse one that an older notebook or another profile wrote."""
import pytest

from course_utils import results


@pytest.fixture(autouse=True)
def _fresh_record(request):
    """Each claims module names its record (``R``, ``LESSON`` or ``RECORD``); it must be fresh."""
    lesson = next((getattr(request.module, n) for n in ("R", "LESSON") if hasattr(request.module, n)), None)
    if lesson is not None:
        results.check_fresh(lesson)
