"""A model call that needs a part of the model the node was booted without raises
``NotBootedWith`` naming the ``boot()`` keyword, so a caller can name its own key."""

import pytest

import kernel_model as km
from kernel_model import ConfigError, NotBootedWith


def test_kmalloc_and_vmalloc_without_a_slab_allocator_name_the_slab_option():
    with km.boot(total="32M", page_data=True, slab=None):
        for call in (lambda: km.kmalloc(64, km.GFP_KERNEL), lambda: km.vmalloc(4096)):
            with pytest.raises(NotBootedWith) as info:
                call()
            assert info.value.option == "slab" and info.value.value == "slub"
            assert "boot(..., slab='slub')" in str(info.value)


def test_slab_on_a_metadata_only_arena_names_the_page_data_option():
    with pytest.raises(NotBootedWith) as info:
        km.boot(total="32M", page_data=False, slab="slub")
    assert info.value.option == "page_data" and info.value.value is True
    assert isinstance(info.value, ConfigError)


def test_a_node_with_a_slab_allocator_raises_nothing():
    with km.boot(total="32M", page_data=True, slab="slub"):
        addr = km.kmalloc(64, km.GFP_KERNEL)
        assert addr is not None
        km.kfree(addr)
