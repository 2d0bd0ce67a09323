"""Values computed from the database, kept while nothing is committed.

A ``VersionedCache`` keeps the latest values by key, each with the
database's version (:func:`ebsboot.db.api.data_version`) read *before* it
was computed. A value is given again only while that version is unchanged,
that is while no connection of any process has committed anything, so
a kept value is never older than what a fresh read would return. A
commit in between the version and the read only makes the next call
compute again. Where there is no such version (databases other than an
SQLite file) nothing is kept.
"""

import collections
import threading


class VersionedCache:
    """The ``size`` latest values by key, valid for one data version.

    ``version()`` returns the database's data version, or None when it
    has none.
    """

    def __init__(self, size, version):
        self.size = size
        self._version = version
        self._kept = collections.OrderedDict()
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._kept)

    def get(self, key, compute):
        """``compute()``, or its value for ``key`` kept since the last commit.

        Exceptions are not kept.
        """
        version = self._version()
        if version is None:
            return compute()
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and kept[0] == version:
                self._kept.move_to_end(key)
                return kept[1]
        value = compute()
        with self._lock:
            self._kept[key] = (version, value)
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return value

    def clear(self):
        with self._lock:
            self._kept.clear()
