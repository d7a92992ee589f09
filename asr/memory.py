"""Keep a long-running transcriber's memory flat: large temporary buffers go back to the OS when freed.

Every window allocates tens of MB for a moment (Silero VAD's activations, ~5x the window's
samples; the encoder's attention, ~70 MB per 30 s input of Whisper base). glibc serves
allocations above its mmap threshold with mmap and unmaps them on free, but the threshold
adapts upwards after the first such free (up to 32 MB), so later buffers come from the heap,
where fragmentation kept 50-150 MB resident over a 30-minute file here. A fixed threshold
turns that adaptation off. At 4 MB it catches those buffers and leaves CTranslate2's
per-step buffers in the heap: 256 KB made every decoding step fault in fresh pages (+65 % CPU
time), 4 MB costs nothing measurable. 30 minutes of audio in 120 s windows: +60-75 MB over a
short clip's peak without it, +9 MB with it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

logger = logging.getLogger(__name__)

_M_MMAP_THRESHOLD = -3  # glibc malloc.h
MMAP_THRESHOLD_BYTES = 4 * 1024 * 1024


@functools.cache
def keep_large_buffers_out_of_the_heap() -> bool:
    """Fix glibc's mmap threshold for this process (once); False where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):
        mallopt = None
    if mallopt is None or mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) != 1:
        logger.debug("mallopt unavailable (not glibc): long media may keep more memory resident")
        return False
    return True
