"""No kernel that nbval starts dies when the two xdist workers start theirs at once.

Over TCP, the ports jupyter_client picks for one worker's kernel can be taken by the
other worker before the kernel binds them, and the kernel dies before it replies to
kernel_info (``tools/kernel_start.py``). In the machine's whole range of ephemeral ports
that is rare (one start in 200 when this test was written). In a network namespace of
its own whose ephemeral ports are only ``PORTS`` (40 of them) it is frequent: the
control below sees nbval's own kernel die within a few starts, or hang (a client whose
port was taken can block for good on a send, which nbval's timeout does not cover).
The stress test starts ``IpcKernel`` there, two at a time from two processes, and no
start may fail, not even one that a retry would have hidden. Where namespaces are not
allowed (``unshare -rn``), it runs in the whole port range and the control is
skipped."""

import functools
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import zmq
from jupyter_client.manager import KernelManager
from nbval.kernel import CURRENT_ENV_KERNEL_NAME

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import kernel_start  # noqa: E402 (tools/ is a folder of scripts, not a package)
from kernel_start import IpcKernel  # noqa: E402

BOOK = ROOT / "book"
PORTS = "40000-40039"
PAIRS = 10  # 20 starts, 0.6 s a pair on two idle cores; half of nbval's own die there
CONTROL_TIMES = ("--timeout", "10", "--limit", "20")  # seconds: for one reply, for all

needs_ipc = pytest.mark.skipif(not zmq.has("ipc"), reason="zmq has no IPC here")


@functools.cache
def namespaces_work() -> bool:
    """Whether this machine lets us make a network namespace with ``unshare -rn``."""
    if not (sys.platform.startswith("linux") and shutil.which("unshare")):
        return False
    if not shutil.which("ip"):
        return False
    command = ["unshare", "-rn", "ip", "link", "set", "lo", "up"]
    try:
        return subprocess.run(command, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def stress(*args: str) -> dict:
    """``tools/kernel_start.py``'s report on ``args``, in the narrow port range where
    namespaces work."""
    command = [sys.executable, str(kernel_start.__file__), "--cwd", str(BOOK), *args]
    if namespaces_work():
        command += ["--ports", PORTS]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def output_of(kernel: IpcKernel, code: str) -> str:
    """What ``code`` prints in ``kernel``."""
    printed = []

    def keep(message):
        if message["msg_type"] == "stream":
            printed.append(message["content"]["text"])

    kernel.kc.execute_interactive(code, timeout=30, output_hook=keep)
    return "".join(printed)


@pytest.fixture
def kernels_that_die_first(monkeypatch):
    """``die_first(n)``: the next ``n`` kernels that IpcKernel starts exit at once, as
    a kernel does whose port was taken (here, on an argument ipykernel does not
    know)."""

    class FailingKernelManager(KernelManager):
        failures = 0

        def start_kernel(self, **kw):
            if FailingKernelManager.failures > 0:
                FailingKernelManager.failures -= 1
                kw["extra_arguments"] = ["--no-such-flag"]
            return super().start_kernel(**kw)

    monkeypatch.setattr(kernel_start, "KernelManager", FailingKernelManager)
    monkeypatch.setattr(kernel_start, "PAUSE", (0, 0))
    return lambda n: setattr(FailingKernelManager, "failures", n)


def test_conftest_makes_nbval_start_ipc_kernels():
    import nbval.plugin

    assert nbval.plugin.RunningKernel is IpcKernel


@needs_ipc
def test_kernel_talks_over_unix_sockets_and_runs_in_the_book_folder():
    kernel = IpcKernel(CURRENT_ENV_KERNEL_NAME, cwd=str(BOOK))
    try:
        info = kernel.km.get_connection_info()
        assert info["transport"] == "ipc"
        assert Path(info["ip"]).parent == kernel.folder / "1"
        assert output_of(kernel, "import os; print(os.getcwd())").strip() == str(BOOK)
        assert kernel.attempts == 1
    finally:
        kernel.stop()
    assert not kernel.folder.exists()


def test_kernel_that_dies_before_it_replies_is_started_again(kernels_that_die_first):
    kernels_that_die_first(1)
    kernel = IpcKernel(CURRENT_ENV_KERNEL_NAME, cwd=str(BOOK))
    try:
        assert kernel.attempts == 2
        assert output_of(kernel, "print(6 * 7)").strip() == "42"
    finally:
        kernel.stop()


def test_kernel_that_keeps_dying_says_why(kernels_that_die_first, monkeypatch):
    monkeypatch.setattr(kernel_start, "ATTEMPTS", 2)
    kernels_that_die_first(2)
    with pytest.raises(RuntimeError, match="died before it replied") as error:
        IpcKernel(CURRENT_ENV_KERNEL_NAME, cwd=str(BOOK))
    assert "start 2 of at most 2" in str(error.value)
    assert "unrecognized arguments: --no-such-flag" in str(error.value)  # its stderr


@pytest.mark.stress
def test_control_nbvals_own_kernels_die_when_started_two_at_a_time():
    if not namespaces_work():
        pytest.skip("the race is too rare to see outside a narrow port range")
    report = stress("--stock", "--until-death", "--pairs", "20", *CONTROL_TIMES)
    assert report["failed"] == []
    assert report["died"] or report["hung"], f"the stress test sees nothing: {report}"


@pytest.mark.stress
@needs_ipc
def test_ipc_kernels_started_two_at_a_time_never_die():
    report = stress("--pairs", str(PAIRS))
    assert (report["starts"], report["failed"], report["hung"]) == (
        2 * PAIRS,
        [],
        False,
    )
    assert (report["died"], report["retried"]) == ([], 0), report
    assert report["transports"] == ["ipc"]
