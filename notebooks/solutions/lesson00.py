"""Solutions to the exercises of 00_setup.ipynb."""
from course_utils import memory


def weights_gb() -> float:
    return 1e9 * 2 / 2**30  # 2 bytes per bfloat16 parameter


def adam_bytes_per_param() -> int:
    return 2 + 2 + 4 + 8  # bf16 weights + bf16 grads + fp32 master copy + two fp32 Adam moments


def largest_batch(model: str, method: str, gpu_gb: float, seq_len: int) -> int:
    best, batch = 0, 1
    while batch <= 256 and memory.fits(memory.estimate_for(model, method, batch_size=batch, seq_len=seq_len), gpu_gb):
        best, batch = batch, batch * 2
    return best
