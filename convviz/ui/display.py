"""Can this machine show a window? Asked before Qt is, so the answer is one line, not Qt's abort.

Qt ends the process (``abort``, exit status 134) when no platform plugin starts, after messages
that mislead: with no display at all it also says that ``libxcb-cursor0`` is needed. Here the
two usual causes are told apart and each gets one line saying what to do:

- no display: neither ``DISPLAY`` nor ``WAYLAND_DISPLAY`` is set (a server, an SSH session);
- the X11 plugin cannot load: a system library it links is missing (``libxcb-cursor0`` on a fresh
  Ubuntu desktop); the dynamic loader names the file, and the Debian/Ubuntu package is named.

Whatever else makes Qt give up is caught by ``fatal_qt_messages`` as it happens, in one line too.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from ..i18n import tr

#: Libraries Qt's X11 plugin and Qt GUI link that a desktop may lack → their Debian/Ubuntu package.
XCB_PACKAGES: dict[str, str] = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
}

#: What the README names: the packages a minimal Debian/Ubuntu desktop may lack for Qt's X11 plugin.
QT_SYSTEM_PACKAGES = ("libxcb-cursor0", "libxkbcommon-x11-0", "libxcb-icccm4", "libxcb-keysyms1",
                      "libxcb-image0", "libxcb-render-util0", "libxcb-shape0", "libegl1", "libgl1",
                      "libfontconfig1", "libdbus-1-3")

#: Platforms that need no display server (QT_QPA_PLATFORM).
HEADLESS_PLATFORMS = frozenset({"offscreen", "minimal", "minimalegl", "vnc", "eglfs", "linuxfb", "vkkhrdisplay"})


def display_problem(environ: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why no window can open here, in one line, or None (always None outside Linux and the BSDs)."""
    env = os.environ if environ is None else environ
    if (platform or sys.platform).startswith(("win", "darwin", "cygwin")):
        return None
    requested = [p.split(":")[0].strip() for p in env.get("QT_QPA_PLATFORM", "").split(";") if p.strip()]
    if requested and requested[0] in HEADLESS_PLATFORMS:
        return None
    has_x11, has_wayland = bool(env.get("DISPLAY")), bool(env.get("WAYLAND_DISPLAY"))
    if not (has_x11 or has_wayland):
        return tr("no display to open a window on (neither DISPLAY nor WAYLAND_DISPLAY is set); on a server, "
                  "use the commands (convviz --help) or QT_QPA_PLATFORM=offscreen convviz --screenshot FILE")
    wants_xcb = (requested[:1] == ["xcb"]) or (not requested and has_x11 and not
                                               (has_wayland and env.get("XDG_SESSION_TYPE") == "wayland"))
    if wants_xcb:
        return xcb_problem(xcb_plugin())
    return None


def xcb_plugin() -> Path | None:
    """Qt's X11 platform plugin in this PySide6 (or in the bundle), without importing Qt."""
    spec = importlib.util.find_spec("PySide6")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        found = next(iter((Path(folder) / "Qt" / "plugins" / "platforms").glob("libqxcb*.so*")), None)
        if found is not None:
            return found
    return None


def xcb_problem(plugin: Path | None) -> str | None:
    """Loads the plugin as Qt would; a library missing on the way is named with its package."""
    if plugin is None:
        return None  # a Qt built differently: let it try, fatal_qt_messages catches a failure
    try:
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        return missing_library_message(str(exc))
    return None


def missing_library_message(loader_error: str) -> str:
    """The one line for a dynamic loader's "libX.so.N: cannot open shared object file" (or similar)."""
    names = re.findall(r"(lib[\w.+-]+\.so(?:\.\d+)*)", loader_error)
    missing = next((n for n in names if not n.startswith("libqxcb") and "Qt6" not in n), None)
    package = XCB_PACKAGES.get(missing or "")
    if package:
        return tr("Qt's X11 plugin cannot load: {library} is missing; on Debian/Ubuntu install it with: "
                  "sudo apt install {package}").format(library=missing, package=package)
    return tr("Qt's X11 plugin cannot load ({reason}); on Debian/Ubuntu: sudo apt install {packages}").format(
        reason=loader_error.strip().splitlines()[0][:160], packages=" ".join(QT_SYSTEM_PACKAGES))


@contextmanager
def fatal_qt_messages() -> Iterator[None]:
    """While the QApplication is made: a fatal Qt message (a platform that will not start) ends the
    process with one line and exit status 1, instead of Qt's abort after a screenful of text, some
    of it misleading. Qt's other messages meanwhile are held and shown afterwards, as Qt would."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    held: list[str] = []

    def handler(kind, context, message: str) -> None:
        if kind == QtMsgType.QtFatalMsg:
            print(f"convviz: error: {fatal_reason(message, held)}", file=sys.stderr, flush=True)
            os._exit(1)
        if kind != QtMsgType.QtDebugMsg:
            held.append(message)

    previous = qInstallMessageHandler(handler)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)
        for message in held:
            print(message, file=sys.stderr)


def fatal_reason(fatal: str, earlier: list[str]) -> str:
    """The one line for Qt's fatal start-up message, from what it said before it."""
    unreachable = next((m for m in earlier if "could not connect to display" in m), None)
    if unreachable is not None:
        display = unreachable.rsplit("display", 1)[-1].strip() or os.environ.get("DISPLAY", "")
        return tr("cannot connect to the display {display}: is the X server running and DISPLAY right? "
                  "(on a server, use the commands: convviz --help)").format(display=display)
    line = fatal.strip().splitlines()[0] if fatal.strip() else "no platform plugin could be initialized"
    return tr("Qt cannot open a window: {reason}").format(reason=line)
