"""Who the agent is inside a sandbox: a fixed unprivileged user, and what of /etc it sees.

The agent never runs as root: inside bwrap and the containers it is ``AGENT_UID`` /
``AGENT_GID`` (a real host id when the harness is root, the mapped id of a user
namespace otherwise). It owns only what it must write (the workspace, its /tmp and its
$HOME), so host files that only root may read, like ``/etc/shadow``, stay unreadable, and
kernel knobs that only root may write, like ``/proc/sys``, stay unwritable.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

__all__ = [
    "AGENT_GID",
    "AGENT_NAME",
    "AGENT_UID",
    "ETC_ENTRIES",
    "etc_identity",
    "give_to_agent",
    "let_agent_read",
]

AGENT_UID = 61000
"""The agent's user id (outside the usual ranges of system and login users)."""
AGENT_GID = 61000
"""The agent's group id."""
AGENT_NAME = "agent"

ETC_ENTRIES = (
    "resolv.conf",
    "hosts",
    "host.conf",
    "nsswitch.conf",
    "gai.conf",
    "protocols",
    "services",
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "pki",
    "crypto-policies",
    "alternatives",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "mime.types",
    "os-release",
    "debian_version",
    "lsb-release",
    "terminfo",
    "inputrc",
    "bash.bashrc",
    "profile",
    "shells",
    "magic",
    "mailcap",
)
"""What programs need of the host's /etc (names, certificates, libraries, time zone).
Everything else (shadow, sudoers, ssh keys, other users, site configuration) stays out;
``python3.*`` folders (Debian's site customisation) are added by the layout."""


def etc_identity(home: str) -> dict[str, bytes]:
    """``/etc/passwd`` and ``/etc/group`` holding only root, nobody and the agent."""
    passwd = (
        "root:x:0:0:root:/root:/usr/sbin/nologin\n"
        f"{AGENT_NAME}:x:{AGENT_UID}:{AGENT_GID}:agent:{home}:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
    group = f"root:x:0:\n{AGENT_NAME}:x:{AGENT_GID}:\nnogroup:x:65534:\n"
    return {"/etc/passwd": passwd.encode(), "/etc/group": group.encode()}


def give_to_agent(roots: Iterable[Path]) -> None:
    """Make the agent the owner of ``roots`` and what the harness created inside them.

    Only the harness (root) can give files away; an unprivileged harness runs its agent
    under its own uid, which already owns them. Links are never followed, and a file
    with a second hard link is left alone: it might be a host file the agent linked in.
    """
    if os.geteuid() != 0:
        return
    for root in roots:
        if root.is_symlink() or not root.is_dir():
            continue
        _own(root)
        for folder, dirs, files in os.walk(root):
            for name in [*dirs, *files]:
                _own(Path(folder) / name)


def let_agent_read(roots: Iterable[Path]) -> None:
    """Make what the agent is shown read-only (the base model, the prompt) readable by it.

    Files written through a private temporary file are often mode 0600, which the
    unprivileged agent could not read; they gain read permission for others (folders
    also search), nothing else. Links are not followed.
    """
    if os.geteuid() != 0:
        return
    for root in roots:
        _readable(root)
        if root.is_dir() and not root.is_symlink():
            for folder, dirs, files in os.walk(root):
                for name in [*dirs, *files]:
                    _readable(Path(folder) / name)


def _readable(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            return
        wanted = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(mode) else 0)
        if mode & wanted != wanted:
            path.chmod(stat.S_IMODE(mode) | wanted)
    except OSError:
        pass


def _own(path: Path) -> None:
    try:
        stat = path.lstat()
        if stat.st_uid == AGENT_UID or path.is_symlink():
            return
        if not path.is_dir() and stat.st_nlink > 1:
            return
        os.lchown(path, AGENT_UID, AGENT_GID)
    except OSError:
        pass
