"""Is the process that left a file behind still running? For temporary files and lock files that
carry their writer's pid, so that a later run removes only what a dead process left.

A pid alone is not enough: on a folder shared between machines (NFS, SMB) or containers, another
writer's pid means nothing here. `host_tag()` names this machine and, on Linux, this pid
namespace; a file whose tag differs is never judged dead.
"""

from __future__ import annotations

import functools
import hashlib
import os
import socket
import sys


@functools.cache
def host_tag() -> str:
    """8 hex digits naming this machine (and pid namespace): pids are only comparable within it."""
    where = socket.gethostname()
    try:  # containers on one host can share a hostname but never a pid namespace
        where += f"/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        pass  # no /proc (macOS, Windows): the hostname alone
    return hashlib.sha256(where.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def alive(pid: int) -> bool:
    """True if `pid` may still be running here. Errs towards True: a reused pid keeps a leftover
    until that process ends, which is safe; deleting a live writer's file would not be."""
    if pid <= 0:
        return True
    if sys.platform == "win32":
        return _alive_windows(pid)
    try:
        os.kill(pid, 0)  # signal 0: existence check only, nothing is delivered
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


if sys.platform == "win32":
    import ctypes

    _STILL_ACTIVE, _QUERY_LIMITED, _ACCESS_DENIED = 259, 0x1000, 5

    def _alive_windows(pid: int) -> bool:
        # os.kill(pid, 0) on Windows *terminates* the process (TerminateProcess with code 0), so
        # ask the kernel instead: open the process and read its exit code.
        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        handle = kernel32.OpenProcess(_QUERY_LIMITED, False, pid)
        if not handle:
            return ctypes.get_last_error() == _ACCESS_DENIED  # exists, but not ours to open
        try:
            code = ctypes.c_ulong()
            if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
                return True
            return code.value == _STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)

else:

    def _alive_windows(pid: int) -> bool:  # never called off Windows; keeps one signature for mypy
        raise OSError("not Windows")
