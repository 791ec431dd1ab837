"""Where the compiled passes are cached (``models.compiled``): beside the source when Numba
can, else in the temporary folder, else nowhere — never an error on ``import models``."""

from unittest import mock

import numba
import pytest
from numba.core import config

from models import compiled


@pytest.fixture
def cache_dir():
    """Numba's configured cache folder, restored after the test."""
    saved = config.CACHE_DIR
    config.CACHE_DIR = ""
    yield
    config.CACHE_DIR = saved


def test_where_numba_can_cache_the_cache_stays_where_numba_puts_it(cache_dir):
    assert compiled._caching() is True
    assert config.CACHE_DIR == ""


def test_where_numba_finds_no_place_the_cache_goes_to_the_temporary_folder(cache_dir):
    """Numba refuses to decorate when no cache folder can be written; the second attempt, with
    the temporary folder configured, succeeds.

    Mutation tried: no second attempt (``return False`` once the folder is set): the passes
    would then not be cached at all, and this fails."""
    real = numba.njit

    def refusing(**options):
        if options.get("cache") and not config.CACHE_DIR:
            raise RuntimeError("cannot cache function '_probe': no locator available")
        return real(**options)

    with mock.patch.object(compiled.numba, "njit", side_effect=refusing):
        assert compiled._caching() is True
    assert "numba-cache" in config.CACHE_DIR


def test_where_nothing_can_be_written_the_passes_are_compiled_uncached(cache_dir):
    """A function Numba can never cache (defined in no file, as in a read-only container where
    no folder can be written) makes both attempts fail: no cache, and no error."""
    namespace: dict = {}
    exec("def probe():\n    pass\n", namespace)  # noqa: S102 - a function with no source file
    with mock.patch.object(compiled, "_probe", namespace["probe"]):
        assert compiled._caching() is False
