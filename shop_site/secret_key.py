"""The demo site's ``SECRET_KEY``: from the environment, or generated on first start and kept in a file.

No key is published in the repository: a site started without ``SECRET_KEY`` (``make demo``, the
container) makes a random one and keeps it in ``SECRET_KEY_FILE`` (the container's data volume), so
sessions and signed values survive restarts and every process that shares the file shares the key.
Imported by settings: nothing here touches Django.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class SecretKeyError(RuntimeError):
    """No ``SECRET_KEY`` in the environment and none can be kept in ``SECRET_KEY_FILE``."""


def _read(path: Path) -> str:
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < 50:
        raise SecretKeyError(f"{path} holds no usable secret key (under 50 characters); delete it or set SECRET_KEY")
    return key


def secret_key(from_env: str, key_file: Path) -> str:
    """``from_env`` when set; otherwise the key kept in ``key_file``, created on first use."""
    if from_env:
        return from_env
    try:
        return _read(key_file)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise _unusable(key_file, exc) from None
    try:
        key_file.parent.mkdir(parents=True, exist_ok=True)
        # Written whole under a private name, then linked into place: several server processes
        # starting at once all end up with the one file that won, never a half-written one.
        draft = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(64) + "\n")
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink(missing_ok=True)
    except OSError as exc:
        raise _unusable(key_file, exc) from None
    return _read(key_file)


def _unusable(key_file: Path, exc: OSError) -> SecretKeyError:
    return SecretKeyError(
        f"SECRET_KEY is not set and {key_file} cannot be used ({exc.strerror}): set SECRET_KEY, "
        "or point SECRET_KEY_FILE at a writable place (the container's data volume)"
    )
