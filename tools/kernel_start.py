"""Start nbval's kernels over IPC: two pytest-xdist workers never race for ports.

nbval starts each notebook's kernel through jupyter_client over TCP. jupyter_client
picks the kernel's five ports by binding sockets to port 0 and closing them again; the
kernel binds those ports a moment later. In between, another process can take one of
them (the other xdist worker's kernel, or the ephemeral end of any client connection),
and the kernel dies before it replies to kernel_info (jupyter_client issue 487: its
``LocalPortCache`` only keeps apart the ports of one process, and ``make test`` runs
two). Over IPC the channels are Unix sockets in a fresh private folder, one per kernel:
there is nothing to race for.

``IpcKernel`` is nbval's ``RunningKernel`` (nbval/kernel.py) started that way. As a
belt, a kernel that dies before it replies is started again, up to ``ATTEMPTS`` times,
and the error then quotes the kernel's stderr, which nbval sends to /dev/null.
``install()`` makes nbval use it; the root ``conftest.py`` calls it, so every nbval run
in this repository (``book/*.md`` and ``_build/student/*.ipynb``) starts its kernels so.

Run as a script, it starts kernels two at a time from two processes, the way the two
xdist workers do, and prints what happened as JSON (``tests/test_kernel_start.py``);
``--ports`` runs it where the ephemeral ports are only those, so that the race is
frequent (Linux, in a network namespace of its own)::

    python tools/kernel_start.py --pairs 30                          # IpcKernel
    python tools/kernel_start.py --pairs 30 --stock                  # nbval's own
    python tools/kernel_start.py --pairs 30 --stock --ports 40000-40039
"""

import argparse
import json
import logging
import multiprocessing
import os
import queue
import random
import shutil
import sys
import tempfile
import time
import weakref
from pathlib import Path

import zmq
from jupyter_client.manager import KernelManager
from nbval.kernel import CURRENT_ENV_KERNEL_NAME, NbvalKernelspecManager, RunningKernel

ATTEMPTS = 3
PAUSE = (0.2, 1.0)  # seconds before a new start, at random: two workers fall apart
UNIX_PATH_MAX = 100  # sun_path holds 104 bytes on macOS, 108 on Linux


def connection(folder: Path) -> dict:
    """The KernelManager settings that put a kernel's channels in ``folder``: Unix
    sockets ``folder/kernel-1`` to ``kernel-5``, or TCP where zmq has no IPC (Windows)
    or the path would be too long for a Unix socket."""
    settings = {"connection_file": str(folder / "kernel.json")}
    ip = folder / "kernel"
    if os.name == "posix" and zmq.has("ipc") and len(f"{ip}-5") <= UNIX_PATH_MAX:
        settings.update(transport="ipc", ip=str(ip))
    return settings


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


class IpcKernel(RunningKernel):
    """nbval's ``RunningKernel`` over IPC, started again if it dies before it replies.

    ``attempts`` says how many starts it took (1 unless a kernel died)."""

    def __init__(self, kernel_name, cwd=None, startup_timeout=60):
        self.folder = Path(tempfile.mkdtemp(prefix="nbval-kernel-"))
        self._remove_folder = weakref.finalize(
            self, shutil.rmtree, self.folder, ignore_errors=True
        )
        for self.attempts in range(1, ATTEMPTS + 1):
            run = self.folder / str(self.attempts)  # no socket left by a dead kernel
            run.mkdir()
            try:
                self._launch(kernel_name, cwd, run)
                self._connect(startup_timeout)
                return
            except RuntimeError as error:
                died = not self.km.is_alive()
                self._shut_down()
                if died and self.attempts < ATTEMPTS:
                    time.sleep(random.uniform(*PAUSE))
                    continue
                what = "died before it replied" if died else "did not reply"
                stderr = _tail(run / "stderr.txt") or "(nothing)"
                self._remove_folder()
                raise RuntimeError(
                    f"kernel {kernel_name!r} in {cwd} {what} "
                    f"(start {self.attempts} of at most {ATTEMPTS}): {error}\n"
                    f"its stderr:\n{stderr}"
                ) from error

    def _launch(self, kernel_name, cwd, run: Path) -> None:
        """Start the kernel process, its channels in ``run``, its stderr in a file."""
        self.km = KernelManager(
            kernel_name=kernel_name,
            kernel_spec_manager=NbvalKernelspecManager(),
            **connection(run),
        )
        with open(run / "stderr.txt", "w", encoding="utf-8") as stderr:
            self.km.start_kernel(stderr=stderr, cwd=cwd)  # the child keeps its copy

    def _connect(self, startup_timeout) -> None:
        """What nbval's ``start_new_kernel`` and ``RunningKernel`` do once the kernel
        runs: wait for its kernel_info reply, then for IOPub."""
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=startup_timeout)
        self._ensure_iopub_up()

    def _shut_down(self) -> None:
        if getattr(self, "kc", None) is not None:
            self.kc.stop_channels()
            self.kc = None
        self.km.shutdown_kernel(now=True)

    def stop(self):
        """Stop the kernel as nbval does, then remove its folder."""
        super().stop()
        self._remove_folder()


def install() -> None:
    """Make nbval start every notebook's kernel as an ``IpcKernel``."""
    import nbval.plugin

    if nbval.plugin.RunningKernel not in (RunningKernel, IpcKernel):
        raise RuntimeError(
            "expected nbval.plugin.RunningKernel to be nbval's RunningKernel, got "
            f"{nbval.plugin.RunningKernel!r}: nbval changed, see tools/kernel_start.py"
        )
    nbval.plugin.RunningKernel = IpcKernel


def _start_kernels(stock, pairs, cwd, timeout, barrier, death, events) -> None:
    """One worker: ``pairs`` times, wait for the other, start a kernel, stop it, and
    say how it went on ``events``; stop early once ``death`` is set, if it is given."""
    logging.getLogger("nbval").setLevel(logging.CRITICAL)  # the deaths are counted
    kernel_class = RunningKernel if stock else IpcKernel
    try:
        for _ in range(pairs):
            barrier.wait(timeout=120)
            try:
                kernel = kernel_class(CURRENT_ENV_KERNEL_NAME, cwd, timeout)
            except RuntimeError as error:
                events.put(("died", str(error).splitlines()[0]))
                if death is not None:
                    death.set()
            else:
                events.put(
                    ("started", kernel.km.transport, getattr(kernel, "attempts", 1))
                )
                kernel.stop()
            barrier.wait(timeout=120)
            if death is not None and death.is_set():
                break
    except Exception as error:  # the worker, not a kernel: tell the other, report it
        barrier.abort()
        events.put(("failed", repr(error)))
    events.put(("done",))


def stress(pairs, stock=False, cwd=".", until_death=False, timeout=30, limit=None):
    """Start ``2 * pairs`` kernels, two at a time from two processes, as the two xdist
    workers of ``make test`` do, each given ``timeout`` seconds to reply. ``stock``
    uses nbval's own ``RunningKernel``; ``until_death`` stops after the first pair in
    which a kernel died; after ``limit`` seconds (default: a minute a pair) the workers
    are stopped and the run is reported ``hung``.

    Returns the number of starts, the errors of the kernels that died (``died``), how
    many kernels died and were started again (``retried``), the transports used, what
    went wrong in the workers themselves (``failed``), ``hung`` and the seconds
    taken."""
    spawn = multiprocessing.get_context("spawn")  # no fork of zmq's threads
    barrier, events = spawn.Barrier(2), spawn.Queue()
    death = spawn.Event() if until_death else None
    args = (stock, pairs, cwd, timeout, barrier, death, events)
    workers = [spawn.Process(target=_start_kernels, args=args) for _ in range(2)]
    report = {"kernel": "RunningKernel" if stock else "IpcKernel", "starts": 0}
    report |= {"died": [], "retried": 0, "transports": [], "failed": [], "hung": False}
    start = time.monotonic()
    deadline = start + (60 * pairs if limit is None else limit)
    for worker in workers:
        worker.start()
    done = 0
    while done < len(workers):
        try:
            kind, *details = events.get(timeout=max(deadline - time.monotonic(), 0))
        except queue.Empty:  # a start that never ended: a send blocked on a socket
            report["hung"] = True
            for worker in workers:
                worker.kill()  # its kernels see their parent go, and exit
            break
        if kind == "started":
            transport, attempts = details
            report["starts"] += 1
            report["retried"] += attempts - 1
            report["transports"] = sorted({*report["transports"], transport})
        elif kind == "died":
            report["starts"] += 1
            report["died"] += details
        elif kind == "failed":
            report["failed"] += details
        else:
            done += 1
    for worker in workers:
        worker.join()
    report["seconds"] = round(time.monotonic() - start, 1)
    return report


def in_narrow_port_range(command: list[str], ports: str) -> list[str]:
    """``command`` run in a network namespace of its own whose ephemeral ports (those a
    bind to port 0 picks) are only ``ports`` ("LOW-HIGH"): the race above, made
    frequent. Linux only; needs ``unshare -rn`` (user namespaces) and ``ip``."""
    low, high = (int(port) for port in ports.split("-"))
    setup = (
        "ip link set lo up && "
        f"echo {low} {high} > /proc/sys/net/ipv4/ip_local_port_range && "
        'exec "$@"'
    )
    return ["unshare", "-rn", "sh", "-c", setup, "sh", *command]


def main() -> None:
    """Command line: ``stress``'s arguments as options, and ``--ports LOW-HIGH``;
    prints ``stress``'s report as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--stock", action="store_true", help="nbval's RunningKernel")
    parser.add_argument("--until-death", action="store_true")
    parser.add_argument("--cwd", default=".")
    parser.add_argument("--timeout", type=float, default=30, help="for one reply")
    parser.add_argument("--limit", type=float, help="seconds for the whole run")
    parser.add_argument("--ports", help="LOW-HIGH: the only ephemeral ports")
    args = parser.parse_args()
    if args.ports:
        command = [sys.executable, __file__, "--pairs", str(args.pairs)]
        command += ["--cwd", args.cwd, "--timeout", str(args.timeout)]
        command += ["--limit", str(args.limit)] * (args.limit is not None)
        command += ["--stock"] * args.stock + ["--until-death"] * args.until_death
        command = in_narrow_port_range(command, args.ports)
        os.execvp(command[0], command)  # the same process: a timeout stops the run
    options = vars(args)
    del options["ports"]
    json.dump(stress(**options), sys.stdout)
    print()


if __name__ == "__main__":
    main()
