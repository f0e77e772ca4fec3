"""Exceptions: every ptune_status failure code becomes a PtuneError subclass.

The message is ``ptune_last_error()`` read in the failing thread right after the failing call
(the library keeps it thread-local), or ``ptune_status_str()`` when the library left none.
"""

from . import _lib
from . import _structs as S


class PtuneError(Exception):
    """A libptune call failed. ``status`` is the ptune_status code (negative), ``message`` the
    library's description of this failure."""

    status = None

    def __init__(self, message, status=None):
        super().__init__(message)
        if status is not None:
            self.status = status
        self.message = message

    @property
    def status_name(self):
        return status_str(self.status) if self.status is not None else "unknown status"


class InvalidArgument(PtuneError, ValueError):
    """PTUNE_E_INVALID_ARG: a NULL handle or an out-of-range argument (bad ids, bad params)."""
    status = S.PTUNE_E_INVALID_ARG


class OutOfMemory(PtuneError, MemoryError):
    """PTUNE_E_NOMEM: an allocation failed."""
    status = S.PTUNE_E_NOMEM


class PtuneIOError(PtuneError, OSError):
    """PTUNE_E_IO: a file could not be opened, read, mapped or written (the message names it)."""
    status = S.PTUNE_E_IO


class FormatError(PtuneError):
    """PTUNE_E_FORMAT: a malformed file (truncated, bad magic, bad JSON, a bad CSV row...)."""
    status = S.PTUNE_E_FORMAT


class Unsupported(PtuneError):
    """PTUNE_E_UNSUPPORTED: well-formed, but uses a feature this library lacks."""
    status = S.PTUNE_E_UNSUPPORTED


class StateError(PtuneError):
    """PTUNE_E_STATE: a call out of order (e.g. logits before forward)."""
    status = S.PTUNE_E_STATE


class ClosedError(StateError):
    """A method was called on a handle after close(). Raised by the bindings, never by C."""


class CapacityError(PtuneError):
    """PTUNE_E_CAPACITY: a batch exceeds the context's or the model's capacity."""
    status = S.PTUNE_E_CAPACITY


class BufferTooSmall(PtuneError):
    """PTUNE_E_BUFFER_TOO_SMALL: the bindings size buffers themselves, so users rarely see it."""
    status = S.PTUNE_E_BUFFER_TOO_SMALL


class NumericError(PtuneError):
    """PTUNE_E_NUMERIC: NaN/Inf met in weights, inputs or results."""
    status = S.PTUNE_E_NUMERIC


class Aborted(PtuneError):
    """PTUNE_E_ABORTED: a callback asked to stop (or a cancel flag was set)."""
    status = S.PTUNE_E_ABORTED


ERRORS = {cls.status: cls for cls in (InvalidArgument, OutOfMemory, PtuneIOError, FormatError,
                                      Unsupported, StateError, CapacityError, BufferTooSmall,
                                      NumericError, Aborted)}


def status_str(status):
    """ptune_status_str(): a short static description of a status code."""
    s = _lib.ptune_status_str(int(status))
    return s.decode("utf-8", "replace") if s else "unknown status"


def last_error():
    """ptune_last_error(): this thread's message for its most recent failure ("" if none)."""
    s = _lib.ptune_last_error()
    return s.decode("utf-8", "replace") if s else ""


def error_for(status, message=None):
    """The exception object for a failing status; reads ptune_last_error() unless given."""
    if message is None:
        message = last_error()
    if not message:
        message = status_str(status)
    cls = ERRORS.get(status, PtuneError)
    return cls(message, status=status)


def check(status):
    """Raises the matching PtuneError when `status` is not PTUNE_OK. Call it right after the
    C call, in the same thread, so the thread-local message is the right one."""
    if status != 0:
        raise error_for(status)
    return status


def invalid(message):
    """An InvalidArgument raised by the bindings' own argument checks."""
    return InvalidArgument(message, status=S.PTUNE_E_INVALID_ARG)
