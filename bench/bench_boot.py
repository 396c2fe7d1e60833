"""Boot time of the model: arena created, watermarks computed, every page free.

    python3 bench/bench_boot.py

Prints the median of a few boots for a 1 GiB model with real page data and a
4 GiB metadata-only model (x86_64, 4 KiB pages), with the metadata bytes per
page.  Targets: well under 1 s and under 2 s.  Measured, never asserted in
tests.  The measurement lives in harness/bench.py (``mmstress bench`` shows
the same figures).
"""

import kernel_model as km
from harness.tools.bench import time_boot


def main():
    cases = [("1 GiB, page data", km.MemoryLayout("x86_64", total="1G"), True),
             ("4 GiB, metadata only", km.MemoryLayout("x86_64", total="4G"), False),
             ("4 GiB x86_32 HighMem, metadata only", km.MemoryLayout("x86_32", total="4G"), False)]
    for label, layout, data in cases:
        t, per_page = time_boot(layout, data)
        print(f"{label:40s} {layout.nr_pages:>9,d} pages  boot {t * 1000:7.1f} ms  "
              f"{per_page:5.1f} B/page")


if __name__ == "__main__":
    main()
