"""Nested transactions, as both stores keep them: one store transaction however deeply
``transaction()`` blocks nest; the outermost one begins and finishes it (commit, or roll back
when anything inside failed after writing)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager


class NestedTransactions:
    """The shared skeleton of :meth:`~crmtui.store.repository.Repository.transaction`. A store
    gives the lock its threads share, a count of the writes made so far, and how the outermost
    transaction begins and finishes. A step that fails after writing dooms the whole
    transaction: the outermost one then rolls back (``_finish(failed)`` sees ``_doomed``)."""

    _depth: int
    _doomed: bool

    @abstractmethod
    def _guard(self) -> AbstractContextManager[object]:
        """The (reentrant) lock a transaction holds throughout."""

    @abstractmethod
    def _writes_so_far(self) -> int: ...

    @abstractmethod
    def _begin(self) -> None:
        """Begin the outermost transaction (and clear ``_doomed``)."""

    @abstractmethod
    def _finish(self, failed: bool) -> None:
        """Commit the outermost transaction, or roll it back when it failed or is doomed."""

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._guard():
            outermost = self._depth == 0
            if outermost:
                self._begin()
            self._depth += 1
            writes_before = self._writes_so_far()
            failed = False
            try:
                yield
            except BaseException:
                failed = True
                raise
            finally:
                self._depth -= 1
                if failed and self._writes_so_far() != writes_before:
                    # A step that failed after writing: the whole transaction is rolled back.
                    self._doomed = True
                if outermost:
                    self._finish(failed)
