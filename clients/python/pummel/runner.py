"""``python -m pummel.runner FILE ENTRY``: a runner process (pummel starts it).

Speaks the runner protocol (docs/runner-protocol.md), version 1, over stdin
and stdout; anything the test prints goes to stderr, which pummel reads as
the runner's log. Each VU is a thread with its own instance of the test
class; pummel says when each iteration starts, and this process only runs
the test method and reports what it measured.
"""

import importlib.util
import inspect
import json
import os
import queue
import sys
import threading
import time
import traceback
import unittest

from . import _case, _report

VERSION = 1
CLIENT = "pummel-python 0.1.0"


def _load(path, entry):
    """The test class and method name that ``entry`` names in ``path``."""
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit("pummel: cannot load %s as a Python module" % path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    cases = [c for _, c in inspect.getmembers(module, inspect.isclass)
             if issubclass(c, _case.TestCase) and c is not _case.TestCase
             and c.__module__ == module.__name__]
    class_name, _, method = (entry or "").partition(".")
    if class_name:
        found = [c for c in cases if c.__name__ == class_name]
        if not found:
            raise SystemExit("pummel: %s has no pummel.TestCase named %s (found: %s)"
                             % (path, class_name, ", ".join(c.__name__ for c in cases) or "none"))
        cls = found[0]
    elif len(cases) == 1:
        cls = cases[0]
    else:
        raise SystemExit("pummel: %s has %d pummel.TestCase classes: name one as FILE:Class.method"
                         % (path, len(cases)))
    tests = unittest.TestLoader().getTestCaseNames(cls)
    if not method:
        if len(tests) != 1:
            raise SystemExit("pummel: %s has %d test methods: name one as FILE:%s.method"
                             % (cls.__name__, len(tests), cls.__name__))
        method = tests[0]
    if not callable(getattr(cls, method, None)):
        raise SystemExit("pummel: %s has no method %s (tests: %s)"
                         % (cls.__name__, method, ", ".join(tests) or "none"))
    return cls, method


def _describe(exc):
    if isinstance(exc, AssertionError):
        text = str(exc) or "assertion failed"
        return "AssertionError: " + text.splitlines()[0][:500]
    return ("%s: %s" % (type(exc).__name__, exc)).splitlines()[0][:500]


class Vu(threading.Thread):
    """One virtual user: a thread with its own test instance."""

    def __init__(self, vu_id, cls, method, rep):
        super().__init__(name="pummel-vu-%d" % vu_id, daemon=True)
        self.vu_id = vu_id
        self.cls = cls
        self.method = method
        self.rep = rep
        self.starts = queue.SimpleQueue()

    def run(self):
        case = self.cls(self.method)
        vu = _case._Vu(self.vu_id)
        case._pummel_vu = vu
        test = getattr(case, self.method)
        while True:
            item = self.starts.get()
            if item is None:
                break
            vu.iteration = item
            vu.steps.clear()
            ok, error = True, None
            try:
                case.setUp()
                try:
                    test()
                finally:
                    case.tearDown()
                    case.doCleanups()
            except unittest.SkipTest as exc:
                ok, error = False, "skipped: %s" % exc
            except Exception as exc:  # the test's failure is the iteration's
                ok, error = False, _describe(exc)
            self.rep.end(self.vu_id, item, ok, error)
        session = case.__dict__.get("_pummel_session")
        if session is not None:
            session.close()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        sys.stderr.write("usage: python -m pummel.runner FILE [Class.method]\n"
                         "pummel starts this itself: pummel run --runner python FILE:Class.method\n")
        return 2
    path, entry = argv[0], (argv[1] if len(argv) > 1 else "")
    # The protocol owns stdout: what the test prints goes to stderr (the log).
    proto = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    stdin = sys.stdin.buffer
    try:
        cls, method = _load(path, entry)
        cls.setUpClass()
    except SystemExit as exc:
        sys.stderr.write("%s\n" % exc)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    # The runner's hello goes first; pummel's answers it with its clock, read
    # as soon as it is written (this process is waiting for it).
    os.write(proto, (json.dumps({"pummel_runner": VERSION, "client": CLIENT}) + "\n").encode())
    first = stdin.readline()
    mark = time.monotonic_ns()
    try:
        hello = json.loads(first)
        clock = int(hello["clock"])
        if hello.get("pummel_runner") != VERSION:
            sys.stderr.write("pummel: protocol version %r, this client speaks %d\n"
                             % (hello.get("pummel_runner"), VERSION))
            return 2
    except (ValueError, KeyError, TypeError):
        sys.stderr.write("pummel: expected pummel's hello, got %r\n" % first[:200])
        return 2
    rep = _report.Reporter(proto, clock, mark)
    _report.install(rep)
    vus = {}
    try:
        for line in stdin:
            try:
                message = json.loads(line)
            except ValueError:
                sys.stderr.write("pummel: not a protocol message: %r\n" % line[:200])
                continue
            if "start" in message:
                s = message["start"]
                vu = vus.get(s["vu"])
                if vu is None:
                    vu = Vu(s["vu"], cls, method, rep)
                    vus[s["vu"]] = vu
                    vu.start()
                vu.starts.put(s["iteration"])
            elif "retire" in message:
                vu_id = message["retire"]["vu"]
                vu = vus.pop(vu_id, None)
                if vu is not None:
                    # A hung thread cannot be stopped: it is let go of, and
                    # whatever it reports later pummel no longer waits for.
                    vu.starts.put(None)
                rep.retired(vu_id)
            elif "stop" in message:
                break
    finally:
        for vu in vus.values():
            vu.starts.put(None)
        deadline = time.monotonic() + 2.0
        for vu in vus.values():
            vu.join(max(0.0, deadline - time.monotonic()))
        try:
            cls.tearDownClass()
        except Exception:
            traceback.print_exc()
        rep.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
