"""``mmstress demo --arch x86_32`` prints a 32-bit kernel's zones (no DMA32) and /proc/vmstat."""

import re

from harness.cli import main
from harness.exits import EXIT_OK, EXIT_USAGE


def _zoneinfo_zones(out):
    zoneinfo = out.split("$ cat /proc/zoneinfo")[1].split("$ cat /proc/vmstat")[0]
    return re.findall(r"^Node 0, zone\s+(\S+)$", zoneinfo, re.M)


def test_demo_x86_32_has_highmem_and_no_dma32(capsys):
    assert main(["demo", "--arch", "x86_32", "--memory", "1G"]) == EXIT_OK
    out = capsys.readouterr().out
    assert _zoneinfo_zones(out) == ["DMA", "Normal", "HighMem", "Movable"]
    assert "DMA32" not in out and "dma32" not in out and "pgalloc_high " in out
    assert "high_min:" in out and "high_max:" in out


def test_demo_x86_64_has_dma32_and_no_highmem(capsys):
    assert main(["demo"]) == EXIT_OK
    out = capsys.readouterr().out
    assert _zoneinfo_zones(out) == ["DMA", "DMA32", "Normal", "Movable"]
    assert "HighMem" not in out and "pgalloc_dma32 " in out


def test_demo_bad_memory_is_exit_2(capsys):
    assert main(["demo", "--memory", "lots"]) == EXIT_USAGE
    assert capsys.readouterr().err.startswith("mmstress: --memory lots: not a size")
