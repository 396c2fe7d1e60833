import pytest

from kernel_model import gfp as g
from kernel_model.errors import GfpError


def test_modern_values_match_gfp_types_h():
    assert g.GFP_KERNEL == 0xCC0
    assert g.GFP_ATOMIC == 0x820
    assert g.GFP_NOWAIT == 0x800
    assert g.GFP_NOIO == 0xC00
    assert g.GFP_NOFS == 0xC40
    assert g.GFP_USER == 0x100CC0
    assert g.GFP_HIGHUSER_MOVABLE == 0x100CCA


def test_classic_aliases():
    assert g.__GFP_WAIT | g.__GFP_IO | g.__GFP_FS == g.GFP_KERNEL
    assert g.__GFP_REPEAT == g.__GFP_RETRY_MAYFAIL
    assert g.GFP_KERNEL | g.__GFP_COLD == g.GFP_KERNEL
    assert g.__GFP_NO_GROW & g.__GFP_BITS_MASK == 0


@pytest.mark.parametrize("mask,text", [
    (g.GFP_KERNEL | g.__GFP_ZERO, "GFP_KERNEL|__GFP_ZERO"),
    (g.GFP_ATOMIC | g.__GFP_NOWARN, "GFP_ATOMIC|__GFP_NOWARN"),
    (g.GFP_NOWAIT, "GFP_NOWAIT"),
    (g.GFP_HIGHUSER_MOVABLE, "GFP_HIGHUSER_MOVABLE"),
    (g.GFP_KERNEL | g.__GFP_DMA, "GFP_KERNEL|GFP_DMA"),
    (0, "none"),
    (g.__GFP_HIGH | 0x200, "__GFP_HIGH|0x200"),
])
def test_format_like_pGg(mask, text):
    assert g.format_gfp(mask) == text


def test_parse_round_trip_and_errors():
    assert g.parse_gfp("GFP_KERNEL | __GFP_ZERO") == g.GFP_KERNEL | g.__GFP_ZERO
    assert g.parse_gfp("__GFP_WAIT|__GFP_IO|__GFP_FS") == g.GFP_KERNEL
    with pytest.raises(GfpError, match="GFP_KERNL.*did you mean GFP_KERNEL"):
        g.parse_gfp("GFP_KERNL")


@pytest.mark.parametrize("bits", sorted(g.GFP_ZONE_BAD))
def test_gfp_zone_bad_names_the_flags(bits):
    with pytest.raises(GfpError) as err:
        g.gfp_zone(g.GFP_KERNEL | bits)
    msg = str(err.value)
    assert "GFP_ZONE_BAD" in msg
    assert g.format_gfp(bits) in msg


def test_gfp_zone_table():
    assert g.gfp_zone(g.GFP_KERNEL) == g.ZONE_NORMAL
    assert g.gfp_zone(g.GFP_DMA) == g.ZONE_DMA
    assert g.gfp_zone(g.GFP_DMA32) == g.ZONE_DMA32
    assert g.gfp_zone(g.GFP_HIGHUSER) == g.ZONE_HIGHMEM
    assert g.gfp_zone(g.GFP_HIGHUSER_MOVABLE) == g.ZONE_MOVABLE
    assert g.gfp_zone(g.__GFP_MOVABLE) == g.ZONE_NORMAL          # MOVABLE only counts with HIGHMEM
    assert g.gfp_zone(g.__GFP_MOVABLE | g.__GFP_DMA) == g.ZONE_DMA
    assert g.gfp_zone(g.GFP_HIGHUSER, has_highmem=False) == g.ZONE_NORMAL   # x86_64
    assert g.gfp_zone(g.GFP_DMA32, has_dma32=False) == g.ZONE_NORMAL        # x86_32


def test_allow_blocking():
    assert g.gfpflags_allow_blocking(g.GFP_KERNEL)
    assert g.gfpflags_allow_blocking(g.GFP_NOIO)
    assert not g.gfpflags_allow_blocking(g.GFP_ATOMIC)
    assert not g.gfpflags_allow_blocking(g.GFP_NOWAIT)
