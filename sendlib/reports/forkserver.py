"""The kernel fork server: one process imports pandas, matplotlib, seaborn, IPython/ipykernel and sendlib
and reads every processed table once, then forks a fresh kernel process for each notebook.

Each kernel still runs its notebook top to bottom in a new process with an empty namespace; it just
starts with the modules already imported and `sendlib.data.load` already cached. The runner starts the
server (`ForkServer`), points the kernel launcher at its socket (env SENDLIB_KERNEL_SERVER) and stops it
at the end. Protocol (see sendlib.reports.kernel): the client connects to the Unix socket, sends a
header with its stdin/stdout/stderr as SCM_RIGHTS descriptors, then a JSON request (connection file,
working directory, environment); the forked kernel replies with its pid, and the client waits until the
kernel's end of the socket closes. A kernel exits when its client disappears; the server reaps kernels.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import importlib
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

from sendlib.reports.kernel import HEADER, MAGIC, SERVER_ENV

THREAD_LIMITS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                 "NUMEXPR_NUM_THREADS": "1", "VECLIB_MAXIMUM_THREADS": "1"}
SERVER_ONLY_ENV = {"MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
PRELOAD_MODULES = (
    "numpy", "pandas", "matplotlib", "matplotlib.pyplot", "matplotlib.backends.backend_agg", "PIL.Image",
    "PIL.PngImagePlugin", "scipy.stats", "seaborn", "sqlite3", "IPython", "IPython.core.interactiveshell",
    "IPython.core.display", "IPython.display", "ipykernel.kernelapp", "ipykernel.ipkernel",
    "ipykernel.zmqshell", "ipykernel.iostream", "ipykernel.heartbeat", "ipykernel.comm", "ipykernel.control",
    "ipykernel.subshell_manager", "ipykernel.shellchannel", "matplotlib_inline", "jupyter_client.session",
    "zmq", "zmq.eventloop.zmqstream", "tornado.ioloop", "tornado.gen", "tornado.locks", "tornado.queues",
    "tornado.platform.asyncio", "pygments.lexers.python", "html", "difflib", "ipykernel.debugger", "debugpy",
    "IPython.core.debugger", "IPython.core.completerlib", "IPython.core.oinspect", "IPython.extensions.storemagic",
    "psutil", "pdb", "http.server", "xmlrpc.server", "mimetypes", "faulthandler", "resource",
)
PRESENT_MODULES = ("sendlib.story", "sendlib.display", "sendlib.plots", "sendlib.formatting", "sendlib.hexmap")
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


# --------------------------------------------------------------------------------------- server


def preload() -> list[str]:
    """Import the report stack and read every processed table once; return the problems met (best effort)."""
    problems = []
    for name in PRELOAD_MODULES:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a missing optional module only costs speed
            problems.append(f"import {name}: {exc}")
    try:
        for name in PRESENT_MODULES:  # what the notebooks import: the presentation layer, never the models
            importlib.import_module(name)
        from sendlib.data import load
        from sendlib.schemas import SCHEMAS

        for table in SCHEMAS:  # every processed and derived table, read and verified once for all kernels
            load(table)
        _warm_up_rendering(load("areas"))
    except Exception as exc:
        problems.append(f"sendlib: {exc}")
    return problems


def _warm_up_rendering(frame: object) -> None:
    """Render one small chart and one HTML table so first-use costs are paid before forking."""
    import matplotlib

    from sendlib import plots

    with matplotlib.rc_context():
        plots.warm_up()
    frame.head()._repr_html_()  # type: ignore[attr-defined]


def _receive_request(conn: socket.socket) -> tuple[dict, list[int]]:
    """Read one kernel request: the header with three descriptors, then the JSON body."""
    conn.settimeout(10.0)
    header, fds, _flags, _addr = socket.recv_fds(conn, HEADER.size, 3)
    magic, length = HEADER.unpack(header)
    if magic != MAGIC or len(fds) != 3:
        for fd in fds:
            os.close(fd)
        raise ValueError("not a sendlib kernel request")
    body = b""
    while len(body) < length:
        chunk = conn.recv(min(65536, length - len(body)))
        if not chunk:
            raise ValueError("request truncated")
        body += chunk
    return json.loads(body), fds


def _reap(children: set[int]) -> None:
    """Collect the exit status of finished kernels so none is left a zombie."""
    while children:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            children.clear()
            return
        if pid == 0:
            return
        children.discard(pid)


def _set_parent_death_signal() -> None:
    """Ask Linux to send SIGTERM when the runner dies (best effort; the loop also polls the parent)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def serve(socket_path: str, warm: bool = True) -> int:
    """Preload, listen on `socket_path`, fork a kernel per request until stopped or orphaned."""
    for key, value in THREAD_LIMITS.items():
        os.environ.setdefault(key, value)
    for key, value in SERVER_ONLY_ENV.items():
        os.environ.setdefault(key, value)
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    parent = os.getppid()
    _set_parent_death_signal()

    def stop(_signum: int, _frame: object) -> None:
        """Leave the accept loop (SIGTERM/SIGINT)."""
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    problems = preload() if warm else []
    for problem in problems:
        print(f"sendlib fork server: {problem}", file=sys.stderr)
    threads = threading.active_count()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(128)
    print(json.dumps({"ready": True, "pid": os.getpid(), "threads": threads, "problems": len(problems)}),
          flush=True)
    children: set[int] = set()
    try:
        while os.getppid() == parent:
            readable, _, _ = select.select([listener], [], [], 0.5)
            _reap(children)
            if not readable:
                continue
            conn, _ = listener.accept()
            try:
                request, fds = _receive_request(conn)
            except (OSError, ValueError, struct.error) as exc:  # e.g. a connection that sent nothing
                print(f"sendlib fork server: bad request ({exc})", file=sys.stderr)
                conn.close()
                continue
            pid = os.fork()
            if pid == 0:
                _child(listener, conn, fds, request)  # never returns
            children.add(pid)
            for fd in fds:
                os.close(fd)
            conn.close()
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            os.unlink(socket_path)
        for pid in list(children):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        _reap(children)
    return 0


# --------------------------------------------------------------------------------------- kernel child


def _child(listener: socket.socket, conn: socket.socket, fds: list[int], request: dict) -> None:
    """In the forked process: become a fresh kernel for the request, then exit (never returns)."""
    code = 1
    try:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        os.setsid()
        listener.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = [request.get("argv", ["sendlib-kernel"])[0], "-f", request["connection_file"]]
        _reseed_random()
        conn.settimeout(None)
        conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
        threading.Thread(target=_exit_when_client_goes, args=(conn,), name="sendlib-client-watch",
                         daemon=True).start()
        code = _run_kernel(request["connection_file"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(BaseException):
            atexit._run_exitfuncs()
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        with contextlib.suppress(BaseException):
            conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
        os._exit(code)


def _reseed_random() -> None:
    """Give the forked kernel its own random state (numpy's global generator is copied by fork)."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(int.from_bytes(os.urandom(4), "little"))


def _exit_when_client_goes(conn: socket.socket) -> None:
    """Exit the kernel as soon as the launcher client closes its end (it was killed or its parent died)."""
    try:
        while conn.recv(1024):
            pass
    except OSError:
        pass
    os._exit(1)


def _run_kernel(connection_file: str) -> int:
    """Initialise and run ipykernel's IPKernelApp on the connection file; return when it shuts down."""
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance(parent_handle=int(os.environ.get("JPY_PARENT_PID") or 0))
    app.initialize(["-f", connection_file])
    if "matplotlib.pyplot" in sys.modules:  # the server imported pyplot with Agg: use the kernel's backend
        import matplotlib.pyplot as plt

        plt.switch_backend(os.environ.get("MPLBACKEND") or INLINE_BACKEND)
    app.start()
    return 0


# --------------------------------------------------------------------------------------- runner side


SOCKET_FOLDER_PREFIX = "sendlib-ks-"
SOCKET_NAME = "kernels.sock"
MAX_SOCKET_PATH = 100  # bytes: a Unix socket path holds 108 on Linux, 104 on macOS


def socket_folder_bases() -> list[Path]:
    """Return where socket folders go: the system temp folder, else /tmp if that path is too long for a socket."""
    bases = [Path(tempfile.gettempdir())]
    if os.name == "posix" and Path("/tmp").is_dir() and Path("/tmp") not in bases:
        bases.append(Path("/tmp"))
    return bases


def _fits(base: Path) -> bool:
    """Return True if a socket folder under `base` gives a socket path short enough to bind."""
    return len(os.fsencode(base / f"{SOCKET_FOLDER_PREFIX}{'0' * 16}" / SOCKET_NAME)) <= MAX_SOCKET_PATH


def clean_abandoned_socket_folders() -> list[Path]:
    """Remove sendlib-ks-* folders (system temp folder, /tmp) whose runner is gone; return them."""
    from sendlib.io import remove_abandoned

    return [folder for base in socket_folder_bases()
            for folder in remove_abandoned(base, SOCKET_FOLDER_PREFIX, legacy_alive=_server_answers)]


def _server_answers(folder: Path) -> bool:
    """Return True if a process still has the folder's socket bound (an older sendlib's folder, in use).

    Read from /proc/net/unix (Linux), without connecting: a connection that sends no request would upset
    an older server. Where that table cannot be read the folder counts as in use.
    """
    try:
        table = Path("/proc/net/unix").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True
    return str(folder / SOCKET_NAME) in table


class ForkServer:
    """Start, wait for and stop the fork server process (a context manager for the runner).

    Its socket lives in a folder sendlib-ks-<16 hex> of the system temp folder (or /tmp where that path is
    too long: Unix socket paths hold ~100 bytes), owned by the runner through a lock file, so the next run
    removes it if this one is killed.
    """

    def __init__(self, warm: bool = True, log: Path | None = None):
        """Prepare; nothing runs until start(). `log` receives the server's stderr (default: inherited)."""
        self.warm = warm
        self.log = log
        self.owned = None
        self.folder: Path | None = None
        self.process: subprocess.Popen | None = None
        self.socket_path: str | None = None
        self.info: dict = {}
        self.problem = ""

    def start(self) -> ForkServer:
        """Launch the server process (it preloads in the background)."""
        from sendlib.io import claim_folder

        clean_abandoned_socket_folders()
        bases = socket_folder_bases()
        base = next((b for b in bases if _fits(b)), None)
        if base is None:
            raise OSError(errno.ENAMETOOLONG, "path too long for a Unix socket", str(bases[0]))
        self.owned = claim_folder(base, SOCKET_FOLDER_PREFIX)
        self.folder = self.owned.path
        self.socket_path = str(self.folder / SOCKET_NAME)
        env = {**os.environ, **THREAD_LIMITS, **SERVER_ONLY_ENV}
        argv = self.command()
        stderr = None
        try:
            stderr = open(self.log, "ab") if self.log is not None else None  # noqa: SIM115 (closed below)
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr,
                                            env=env, cwd=str(self.folder))
        except BaseException:
            self.owned.remove()
            raise
        finally:
            if stderr is not None:
                stderr.close()
        return self

    def command(self) -> list[str]:
        """Return the command that runs the server on this object's socket."""
        argv = [sys.executable, "-m", "sendlib.reports.forkserver", str(self.socket_path)]
        return argv if self.warm else [*argv, "--cold"]

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Return True once the server listens; False (and `problem` says why) if it died or did not answer."""
        if self.process is None or self.process.stdout is None:
            self.problem = "it was not started"
            return False
        if self.info.get("ready"):
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            readable, _, _ = select.select([self.process.stdout], [], [], 0.5)
            line = self.process.stdout.readline() if readable else b""
            if line:
                with contextlib.suppress(ValueError):
                    self.info = json.loads(line)
                if self.info.get("ready"):
                    return True
                self.problem = "it answered something other than 'ready'"
                return False
            if readable or self.process.poll() is not None:  # end of file: the server has gone
                self.problem = f"it exited with status {self.process.wait()} while starting"
                return False
        self.problem = f"it did not start within {timeout:.0f} s"
        return False

    def stopped_early(self) -> int | None:
        """Return the server's exit status if it has stopped on its own (it died during the build), else None."""
        if self.process is None or not self.info.get("ready"):
            return None
        return self.process.poll()

    def env(self) -> dict[str, str]:
        """Return the environment variables that make the kernel launcher use this server."""
        return {SERVER_ENV: self.socket_path} if self.socket_path else {}

    def stop(self) -> None:
        """Stop the server, reap it and remove its socket folder."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()
        if self.owned is not None:
            self.owned.remove()

    def __enter__(self) -> ForkServer:
        """Start the server."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop the server."""
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """`python -m sendlib.reports.forkserver SOCKET [--cold]`: run the server until SIGTERM."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print("usage: python -m sendlib.reports.forkserver SOCKET [--cold]", file=sys.stderr)
        return 2
    return serve(argv[0], warm="--cold" not in argv[1:])


if __name__ == "__main__":
    sys.exit(main())
