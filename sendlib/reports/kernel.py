"""The `sendlib` Jupyter kernel launcher.

The kernel spec's argv is ``python -m sendlib.reports.kernel -f {connection_file}``. When the report
runner's fork server is running (env SENDLIB_KERNEL_SERVER names its socket) this tiny client asks it to
fork a fresh, pre-warmed kernel for the connection file, forwards signals to it and exits when it does.
Without a server (JupyterLab, VS Code, the naive loop) it starts a normal ipykernel in this process.

Install the spec with ``python -m sendlib.reports.kernel install [--user | --sys-prefix | --prefix DIR]``.
Only the standard library is imported on the client path, so starting a kernel through the server costs
a bare interpreter start-up.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import sys

SERVER_ENV = "SENDLIB_KERNEL_SERVER"
MAGIC = b"SKS1"
HEADER = struct.Struct("!4sQ")
KERNEL_NAME = "sendlib"
DISPLAY_NAME = "Python (sendlib)"
CLIENT_MODULE = "sendlib.reports.kernel"
FORWARDED_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")
REPLY_TIMEOUT = 300.0
POLL_SECONDS = 1.0


class ServerUnavailable(Exception):
    """The fork server did not accept the request; the caller starts a normal kernel instead."""


def kernel_argv(python: str | None = None) -> list[str]:
    """Return the kernel spec argv that starts a kernel through this launcher."""
    return [python or sys.executable, "-m", CLIENT_MODULE, "-f", "{connection_file}"]


def is_fork_aware(argv: list[str]) -> bool:
    """Return True if a kernel spec argv starts kernels through this launcher."""
    return CLIENT_MODULE in argv


def _read_line(conn: socket.socket) -> bytes:
    """Return one newline-terminated message from the socket (b'' on end of file)."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            return b""
        data += chunk
    return data


def request_kernel(server: str, connection_file: str) -> tuple[socket.socket, int]:
    """Ask the fork server for a kernel; return the open connection and the kernel's pid."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(5.0)
        conn.connect(server)
        body = json.dumps({"connection_file": os.path.abspath(connection_file), "cwd": os.getcwd(),
                           "env": dict(os.environ), "argv": sys.argv}).encode()
        socket.send_fds(conn, [HEADER.pack(MAGIC, len(body))], [0, 1, 2])
        conn.sendall(body)
        conn.settimeout(REPLY_TIMEOUT)
        reply = _read_line(conn)
    except OSError as exc:
        conn.close()
        raise ServerUnavailable(str(exc)) from exc
    if not reply:
        conn.close()
        raise ServerUnavailable("the fork server closed the connection")
    return conn, int(json.loads(reply.split(b"\n", 1)[0])["pid"])


def _forward_signals(pid: int) -> None:
    """Forward the signals Jupyter sends a kernel (interrupt, terminate) to the forked kernel."""

    def forward(signum: int, _frame: object) -> None:
        """Pass the signal on to the kernel."""
        _kill_quietly(pid, signum)

    for name in FORWARDED_SIGNALS:
        signal.signal(getattr(signal, name), forward)


def wait_for_kernel(conn: socket.socket, pid: int) -> int:
    """Block until the forked kernel exits (its end of the socket closes); return its exit status."""
    parent = os.getppid()
    conn.settimeout(POLL_SECONDS)
    message = b""
    while True:
        try:
            chunk = conn.recv(4096)
        except TimeoutError:
            if os.getppid() != parent:  # our Jupyter client died: take the kernel with us
                _kill_quietly(pid, signal.SIGTERM)
                return 1
            continue
        except OSError:
            return 1
        if not chunk:
            break
        message += chunk
    try:
        return int(json.loads(message.splitlines()[-1]).get("exit", 0)) if message.strip() else 0
    except (ValueError, IndexError, AttributeError):
        return 0


def _kill_quietly(pid: int, signum: int) -> None:
    """Send a signal to a process that may already have gone."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def run_normal_kernel(argv: list[str]) -> int:
    """Start a normal ipykernel in this process (what ipykernel_launcher does)."""
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance(argv)
    return 0


def install(user: bool = False, prefix: str | None = None, name: str = KERNEL_NAME,
            display_name: str = DISPLAY_NAME) -> str:
    """Register the `sendlib` kernel spec (argv through this launcher); return the folder written."""
    from ipykernel.kernelspec import install as ipykernel_install

    folder = ipykernel_install(user=user, prefix=prefix, kernel_name=name, display_name=display_name)
    spec_path = os.path.join(folder, "kernel.json")
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    spec["argv"] = kernel_argv()
    spec.setdefault("metadata", {})["sendlib"] = "fork-server aware launcher (sendlib.reports.kernel)"
    with open(spec_path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(spec, handle, indent=1)
    os.replace(spec_path + ".tmp", spec_path)
    return folder


def _install_main(argv: list[str]) -> int:
    """`python -m sendlib.reports.kernel install [--user | --sys-prefix | --prefix DIR]`."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sendlib.reports.kernel install",
                                     description="register the sendlib Jupyter kernel")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="in ~/.local/share/jupyter")
    where.add_argument("--sys-prefix", action="store_true", help="in this environment (the default)")
    where.add_argument("--prefix", help="under this prefix")
    parser.add_argument("--name", default=KERNEL_NAME)
    parser.add_argument("--display-name", default=DISPLAY_NAME)
    args = parser.parse_args(argv)
    prefix = args.prefix if args.prefix else (None if args.user else sys.prefix)
    folder = install(user=args.user, prefix=prefix, name=args.name, display_name=args.display_name)
    print(f"Installed kernel spec {args.name} in {folder}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Start a kernel for `-f CONNECTION_FILE` (through the fork server when there is one), or `install`."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["install"]:
        return _install_main(argv[1:])
    server = os.environ.get(SERVER_ENV)
    if server and "-f" in argv and argv.index("-f") + 1 < len(argv):
        try:
            conn, pid = request_kernel(server, argv[argv.index("-f") + 1])
        except ServerUnavailable as exc:
            print(f"sendlib kernel: fork server unavailable ({exc}); starting a normal kernel", file=sys.stderr)
        else:
            _forward_signals(pid)
            return wait_for_kernel(conn, pid)
    return run_normal_kernel(argv)


if __name__ == "__main__":
    sys.exit(main())
