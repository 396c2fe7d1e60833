"""Boot time of the model: arena created, watermarks computed, every page free.

    python3 bench/bench_boot.py

Prints the median of a few boots for a 1 GiB model with real page data and a
4 GiB metadata-only model (x86_64, 4 KiB pages).  Targets: well under 1 s and
under 2 s.  Measured, never asserted in tests.
"""

import statistics
import time

import kernel_model as km


def time_boot(layout, page_data, runs=5):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        node = km.boot(layout, page_data=page_data)
        times.append(time.perf_counter() - t0)
        assert node.total_free_pages() == layout.nr_pages
        node.close()
    return statistics.median(times)


def main():
    cases = [("1 GiB, page data", km.MemoryLayout("x86_64", total="1G"), True),
             ("4 GiB, metadata only", km.MemoryLayout("x86_64", total="4G"), False),
             ("4 GiB x86_32 HighMem, metadata only", km.MemoryLayout("x86_32", total="4G"), False)]
    for label, layout, data in cases:
        t = time_boot(layout, data)
        print(f"{label:40s} {layout.nr_pages:>9,d} pages  boot {t * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
