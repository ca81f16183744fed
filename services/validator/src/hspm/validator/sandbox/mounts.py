"""The run's filesystem on the host: tmpfs and overlayfs mounts, and the upper layer read back.

Every write the container makes lands in an overlayfs upper layer on a size-bounded tmpfs, so
the unpacked image stays untouched, the writes are bounded, they can be listed after the run
(deletions included) and they are gone with the tmpfs. Mounts go through libc directly, with no
mount(8) to find or parse; whether overlayfs works here at all is tried once, for real, because
a kernel or a security policy can refuse it where tmpfs works, and the run then falls back to a
read-only root.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import stat
import tempfile
import time
from pathlib import Path

# Mount points live here, not in the work dir: the container's root (a host uid in the
# shifted range) resolves its root path itself and needs search permission on every
# ancestor, and work dirs from mkdtemp are 0700.
RUN_ROOT = Path("/run/hspm-validator")
MS_NOSUID, MS_NODEV, MS_BIND, MNT_DETACH = 0x2, 0x4, 0x1000, 0x2
_libc = ctypes.CDLL(None, use_errno=True)


@functools.cache
def overlay_available() -> str | None:
    """Why overlayfs over tmpfs cannot be mounted here, or None (tried once, for real)."""
    with tempfile.TemporaryDirectory(prefix="overlay-probe-", dir=RUN_ROOT) as tmp:
        scratch = Path(tmp)
        try:
            mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0700")
        except OSError as exc:
            return f"tmpfs: {exc.strerror}"
        try:
            for d in ("lower", "upper", "work", "root"):
                (scratch / d).mkdir()
            mount("overlay", scratch / "root", "overlay", 0, overlay_options(scratch))
            umount(scratch / "root")
        except OSError as exc:
            return f"overlayfs: {exc.strerror}"
        finally:
            umount(scratch)
    return None


def mount(source: str, target: Path, fstype: str, flags: int, data: str) -> None:
    """mount(2) through libc; an OSError naming the target if the kernel refuses."""
    rc = _libc.mount(source.encode(), os.fsencode(target), fstype.encode(), flags, data.encode())
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(target))


def umount(target: Path) -> str | None:
    """Unmount, falling back to a lazy detach if busy; the problem if it stayed mounted."""
    for flags in (0, 0, MNT_DETACH):
        if _libc.umount2(os.fsencode(target), flags) == 0:
            return None
        err = ctypes.get_errno()
        if err == errno.EINVAL:  # not a mount point (any more)
            return None
        time.sleep(0.05)
    return f"umount {target}: {os.strerror(err)}"


def overlay_options(scratch: Path, lower: Path | None = None) -> str:
    """overlayfs options: ``lower`` (else ``<scratch>/lower``) under upper/ and work/ on the scratch tmpfs."""
    return f"lowerdir={lower or scratch / 'lower'},upperdir={scratch / 'upper'},workdir={scratch / 'work'}"


# --- what the container wrote ----------------------------------------------------------------

# Mount points runc makes in the root when the image lacks them; not the image's writes.
IGNORED_DIRS = frozenset({"/proc", "/dev", "/sys", "/tmp"})  # noqa: S108 (container paths)


def list_writes(
    upper: Path, lower: Path, ignored: frozenset[str] = IGNORED_DIRS, cap: int = 1000
) -> list[str]:
    """What the overlay's upper layer holds, as container paths: files written, deletions, new dirs.

    Directories that exist below were only copied up on the way to a file and say nothing
    themselves; the empty mount points runc makes when the image lacks them are ignored.
    Nothing here follows a link: the paths are the container's to choose.
    """
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(upper):
        relative = os.path.relpath(dirpath, upper)
        base = "/" if relative == "." else "/" + relative
        for name in sorted(dirnames + filenames):
            path = os.path.join(base, name)
            st = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
                found.append(f"{path} (deleted)")
            elif not stat.S_ISDIR(st.st_mode):
                found.append(path)
            elif path not in ignored and not _is_dir_below(lower, path):
                found.append(f"{path}/ (new directory)")
        if len(found) >= cap:
            break
    return sorted(found)


def _is_dir_below(lower: Path, path: str) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(lower / path.lstrip("/")).st_mode)
    except OSError:
        return False
