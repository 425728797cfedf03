"""Capturing what an MMEngine logger writes."""
import logging
from typing import List, Optional

from mmengine.logging import MMLogger


class CapturedLog:
    """What an MMLogger writes while this context is open. MMEngine's
    loggers do not propagate to the root logger, so pytest's ``caplog``
    misses them.

    Args:
        name: the MMLogger instance (default: the current one).
    """

    def __init__(self, name: Optional[str] = None) -> None:
        self.logger = (MMLogger.get_instance(name) if name else
                       MMLogger.get_current_instance())
        self.records: List[logging.LogRecord] = []
        self._handler = logging.Handler()
        self._handler.emit = self.records.append

    def __enter__(self) -> 'CapturedLog':
        self.logger.addHandler(self._handler)
        return self

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self._handler)

    @property
    def messages(self) -> List[str]:
        """One message per record."""
        return [r.getMessage() for r in self.records]

    @property
    def text(self) -> str:
        """``'LEVEL message'`` lines."""
        return '\n'.join(f'{r.levelname} {r.getMessage()}'
                         for r in self.records)
