"""Where a Sage Pro CSV drop folder may be: under `settings.SAGEPRO_DROP_ROOT`, every symlink resolved.

A connection's `drop_folder` option is typed in the admin; the connector writes import files there and
reads Sage Pro's answers and exports from it. Without a root, `../../../../etc`, or a folder that is a
symlink to it, would let the worker write and read wherever its user may. The check runs when the
connection is saved and again on every file the connector touches, since a folder can become a symlink
after it was saved. A relative folder is taken under the root.
"""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError


class DropFolderRefused(ValueError):
    """The folder is not set, cannot be resolved, or lies outside the root."""


def drop_path_resolve(*, folder: Any, parts: tuple[str, ...] = ()) -> Path:
    """`folder`/`parts` as an absolute path with every symlink resolved, refused unless under the root."""
    if not isinstance(folder, str) or not folder.strip():
        raise DropFolderRefused("no drop folder is set")
    root = Path(settings.SAGEPRO_DROP_ROOT).resolve()
    try:
        resolved = root.joinpath(folder, *parts).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL byte
        raise DropFolderRefused(f"{folder} cannot be resolved: {exc}") from None
    if not resolved.is_relative_to(root):
        raise DropFolderRefused(f"{folder} is outside SAGEPRO_DROP_ROOT ({root})")
    return resolved


def connection_drop_folder_validate(*, options: Any) -> None:
    """Connection validation: the `drop_folder` option, when it is set or the csv transport needs it."""
    if not isinstance(options, dict) or ("drop_folder" not in options and options.get("transport") != "csv"):
        return
    try:
        drop_path_resolve(folder=options.get("drop_folder"))
    except DropFolderRefused as exc:
        raise ValidationError({"options": f"drop_folder: {exc}"}) from None
