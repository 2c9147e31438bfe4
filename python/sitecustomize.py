"""prefork-check's attribution bootstrap.

prefork-check puts this directory first on PYTHONPATH so that every Python
process of the checked app imports it at start-up. It tells the tracer which
Python line is about to create an fd: right before such a call it writes a
record with the calling stack as a failing pwrite(-1, ...). strace shows that
write in the calling thread, just before the fd syscall, and the app's fd
table is untouched (fd -1 is never valid). prefork-check's own tracer instead
reads the records out of a buffer per thread when the thread next stops at a
traced call, and writes the same lines: no stop per record.

Audit hooks (PEP 578) cover open() and socket(); thin wrappers cover the
fd-making functions that raise no audit event (os.pipe, socketpair, accept,
...). Calls into native code that may make fds of its own (ctypes foreign
functions, sqlite3 connections and cursors) are announced when they start and
when they end, so an fd C code makes is named by the call it is made in, and
never by one that has returned. Then the site's own sitecustomize, if any,
runs as if this one were not here.
"""

import _thread
import itertools
import os
import sys

_TOKEN = os.environ.get("PREFORK_CHECK_TOKEN", "").encode("ascii", "replace")
# Held here so an app that replaces os.pwrite or sys._getframe cannot silence the records.
_pwrite = getattr(os, "pwrite", None)
_getframe = sys._getframe
_HERE = os.path.dirname(os.path.abspath(__file__))
_MAX_FRAMES = 32
# Under strace's -s 4096, so a record is never cut short.
_MAX_BYTES = 3800
_FIELD = b"\x1f"
_RECORD = b"\x1e"
# prefork-check's own tracer reads records out of a buffer per thread whenever the thread stops
# at a traced call (which a record always comes before): a record then costs no stop of its own.
# The buffer: bytes used (u32), then records, each a u32 length and its bytes. pwrite(-1, buffer,
# _HANDOVER) hands it to the tracer, which reads it and sets it to 0 used: on its first record,
# and when it is full. strace shows each record as its own failing pwrite instead.
_buffered = os.environ.get("PREFORK_CHECK_RECORD_BUFFER") == "1"
_BUFFER_SIZE = 65536
_HANDOVER = 0x70667262
# Per OS thread, as the C class (an app's gevent patches threading.local, not this instance).
_threads = _thread._local()
# Each frame is sent in full once per thread, then by number: records stay small, so the
# tracer has little to print and prefork-check little to read. Numbers are the process's, what
# they stand for each thread's own: another thread's records may reach the trace later than
# this one's. A forked child's thread inherits both (prefork-check keeps a table per process,
# copied from the parent's at the fork).
_next_frame_id = itertools.count(1)
# Frames the records leave out, as Python's own tracebacks do. Most records are made while
# modules import, under a dozen of these frames each.
_IMPORT_MACHINERY = {"_frozen_importlib", "_frozen_importlib_external", "importlib._bootstrap", "importlib._bootstrap_external"}
# Events whose syscall follows in the same thread; "native" ones may make any number of fds.
# os.fork's and os.forkpty's records are not for an fd: they tell a server's worker fork from
# the app's own forks.
_AUDITED = {
    "open": b"open",
    "socket.__new__": b"socket",
    # A file's map keeps a dup of its fd, made in mmap's C code.
    "mmap.__new__": b"mmap",
    "fcntl.fcntl": b"dup",
    # A directory iterator holds its directory open until it is exhausted or closed.
    "os.scandir": b"open",
    "os.fork": b"fork",
    "os.forkpty": b"fork",
}
_F_DUPFD = (0, 1030)  # F_DUPFD, F_DUPFD_CLOEXEC


def _text(value):
    return os.fsencode(value).replace(_FIELD, b"?").replace(_RECORD, b"?")


def _emit(kind, event, frame):
    state = _threads.__dict__
    frame_ids = state.get("frames")
    if frame_ids is None:
        frame_ids = state["frames"] = {}
    parts = [_TOKEN, kind, event]
    size = 0
    count = 0
    new = {}
    while frame is not None and count < _MAX_FRAMES:
        # f_globals, unlike f_code, raises no audit event: the import machinery's frames
        # are left out cheaply, as Python's own tracebacks leave them out.
        if frame.f_globals.get("__name__") in _IMPORT_MACHINERY:
            frame = frame.f_back
            continue
        code = frame.f_code
        key = (code.co_filename, frame.f_lineno, getattr(code, "co_qualname", code.co_name))
        ident = frame_ids.get(key) or new.get(key)
        if ident is None:
            ident = next(_next_frame_id)
            part = _FIELD.join((b"%d" % ident, _text(key[0]), b"%d" % key[1], _text(key[2])))
            if size + len(part) > _MAX_BYTES:
                break
            new[key] = ident
        else:
            part = b"%d" % ident
        parts.append(part)
        size += len(part)
        count += 1
        frame = frame.f_back
    _send(_RECORD.join(parts))
    # Known from now on: the record that defines them is in the trace.
    frame_ids.update(new)


def _send(record):
    """Hands one record to the tracer: into the thread's buffer where the tracer reads one, else
    (and for a signal handler's record while the thread is writing one) as a failing pwrite."""
    state = _threads.__dict__
    if _buffered and not state.get("writing"):
        state["writing"] = True
        try:
            if _buffer(state, record):
                return
        finally:
            state["writing"] = False
    try:
        _pwrite(-1, record, 0)
    except OSError:
        pass


def _buffer(state, record):
    global _buffered
    buffer = state.get("buffer")
    fresh = buffer is None
    if fresh:
        buffer = state["buffer"] = bytearray(4 + _BUFFER_SIZE)
    used = int.from_bytes(buffer[:4], "little")
    if used + 4 + len(record) > _BUFFER_SIZE:
        if not _hand_over(buffer):
            return False
        used = 0
    end = used + 4 + len(record)
    buffer[4 + used : 4 + end] = len(record).to_bytes(4, "little") + record
    buffer[:4] = end.to_bytes(4, "little")
    if fresh and not _hand_over(buffer):
        # No tracer took it: this process goes on with a pwrite per record, this one included.
        _buffered = False
        buffer[:4] = bytes(4)
        state.pop("buffer", None)
        return False
    return True


def _hand_over(buffer):
    """The tracer reads the buffer and empties it (what its count at 0 tells)."""
    try:
        _pwrite(-1, buffer, _HANDOVER)
    except OSError:
        pass
    return buffer[:4] == bytes(4)


def _caller():
    try:
        return _getframe(2)
    except ValueError:  # called from C with no Python frame, e.g. opening the main script
        return None


def _announcing():
    """Marks this thread as between a record and its call (the caller puts back the returned
    `outer` once the call is made). A record made meanwhile (a signal handler's, run at a bytecode
    boundary of ours) is for a call nested inside: `e`, not `E`, so prefork-check keeps the outer
    record for the call that comes after. Returns the record's type and `outer`."""
    state = _threads.__dict__
    outer = state.get("announcing", False)
    state["announcing"] = True
    return (b"e" if outer else b"E"), outer


def _audit(event, args):
    # An exception here would abort the app's own call: never let one out.
    try:
        kind = _AUDITED.get(event)
        if kind is not None:
            caller = _caller()
            if event == "open":
                # open(fd) makes no fd; an import's own read is closed before it returns.
                if isinstance(args[0], int) or (caller is not None and caller.f_globals.get("__name__") in _IMPORT_MACHINERY):
                    return
            elif event == "mmap.__new__" and args[0] == -1:
                return  # an anonymous map; a file's map keeps a dup of its fd
            elif event == "fcntl.fcntl" and args[1] not in _F_DUPFD:
                return  # only F_DUPFD makes an fd
            elif event == "os.scandir" and isinstance(args[0], int):
                kind = b"dup"  # scandir(fd) lists a dup of the fd
            elif event == "socket.__new__" and "socket" in sys.modules:
                _wrap_socket_methods()
            # The audited call is made once the hooks return: until then, a record is for a nested call.
            record, outer = _announcing()
            try:
                _emit(record, kind, caller)
            finally:
                _threads.__dict__["announcing"] = outer
    except Exception:
        pass


def _wrap(owner, name, event, native=False):
    # native: a C function that makes fds itself, maybe several: each is the calling line's.
    original = getattr(owner, name, None)
    if original is None or getattr(original, "__prefork_check__", False):
        return

    if native:

        def wrapper(*args, **kwargs):
            return _native(event, original, _getframe(1), args, kwargs)

    else:

        def wrapper(*args, **kwargs):
            return _announced(event, original, _getframe(1), args, kwargs)

    for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            setattr(wrapper, attribute, getattr(original, attribute))
        except (AttributeError, TypeError):
            pass
    wrapper.__wrapped__ = original
    wrapper.__prefork_check__ = True
    setattr(owner, name, wrapper)


def _end_native():
    _send(_RECORD.join((_TOKEN, b"X")))


def _announced(event, call, frame, args, kwargs):
    """Runs a call that makes an fd right after its record."""
    record, outer = _announcing()
    try:
        _emit(record, event, frame)
        return call(*args, **kwargs)
    finally:
        _threads.__dict__["announcing"] = outer


def _native(event, call, frame, args, kwargs):
    """Runs a call into native code between its announcement and its end."""
    _emit(b"N", event, frame)
    try:
        return call(*args, **kwargs)
    finally:
        _end_native()


def _wrap_socket_methods():
    # socket.py is only loaded once the app uses sockets; its first socket() brings us here.
    cls = getattr(sys.modules["socket"], "socket", None)
    if isinstance(cls, type):
        _wrap(cls, "accept", b"accept")
        # socket.recv_fds and recvmsg receive fds passed with SCM_RIGHTS.
        _wrap(cls, "recvmsg", b"recvmsg")


def _wrap_type(owner, name, event):
    # select.epoll cannot be subclassed: stand in a class whose instances are the
    # original's, and which answers isinstance() and class attributes as the original.
    original = getattr(owner, name, None)
    if not isinstance(original, type) or getattr(original, "__prefork_check__", False):
        return

    class _StandIn(type):
        def __instancecheck__(cls, instance):
            return isinstance(instance, original)

        def __subclasscheck__(cls, subclass):
            return issubclass(subclass, original)

        def __getattr__(cls, attribute):
            return getattr(original, attribute)

    def __new__(cls, *args, **kwargs):
        return _announced(event, original, _getframe(1), args, kwargs)

    namespace = {"__new__": __new__, "__doc__": original.__doc__, "__module__": original.__module__}
    namespace.update(__wrapped__=original, __prefork_check__=True, __qualname__=original.__qualname__)
    setattr(owner, name, _StandIn(original.__name__, (), namespace))


def _announcing_subclass(cls, event, methods, extra=None):
    # A subclass whose listed methods run as native calls; None where cls cannot be subclassed.
    namespace = {"__module__": cls.__module__, "__qualname__": cls.__qualname__, "__prefork_check__": True}
    for name in methods:
        original = getattr(cls, name, None)
        if original is not None:
            namespace[name] = (lambda original: lambda self, *args, **kwargs: _native(event, original, _getframe(1), (self, *args), kwargs))(original)
    namespace.update(extra or {})
    try:
        return type(cls)(cls.__name__, (cls,), namespace)
    except TypeError:
        return None


def _patch_ctypes(ctypes):
    # Foreign calls raise no audit event (only the first lookup of a name does, which would
    # name the wrong line for every later call). Each library's function class gets a
    # subclass whose calls are announced; PyDLL's (pythonapi) calls into Python, not out.
    cdll = getattr(ctypes, "CDLL", None)
    if not isinstance(cdll, type):
        return
    lookup = cdll.__getitem__
    pythonapi = getattr(ctypes, "_FUNCFLAG_PYTHONAPI", 0)

    def __getitem__(self, name_or_ordinal):
        cls = self._FuncPtr
        if isinstance(cls, type) and not getattr(cls, "__prefork_check__", False) and not cls._flags_ & pythonapi:
            fields = {"_flags_": cls._flags_, "_restype_": cls._restype_}
            self._FuncPtr = _announcing_subclass(cls, b"ctypes", ("__call__",), fields) or cls
        return lookup(self, name_or_ordinal)

    cdll.__getitem__ = __getitem__

    # Prototypes (CFUNCTYPE(restype, *argtypes)) make function classes of their own; their
    # calls are announced the same way. The class keeps the prototype's types.
    make_prototype = getattr(ctypes, "CFUNCTYPE", None)
    if make_prototype is None or getattr(make_prototype, "__prefork_check__", False):
        return
    announcing = {}

    def CFUNCTYPE(restype, *argtypes, **kwargs):
        cls = make_prototype(restype, *argtypes, **kwargs)
        if cls not in announcing:
            fields = {"_flags_": cls._flags_, "_restype_": cls._restype_, "_argtypes_": cls._argtypes_}
            announcing[cls] = _announcing_subclass(cls, b"ctypes", ("__call__",), fields) or cls
        return announcing[cls]

    CFUNCTYPE.__doc__ = make_prototype.__doc__
    CFUNCTYPE.__prefork_check__ = True
    ctypes.CFUNCTYPE = CFUNCTYPE


# The calls that run statements: SQLite opens the database's journal, -wal and -shm files and
# its temp files while a statement runs. Rows fetched later are not announced: one record per
# row would cost more than the rare temp file a later step opens.
_SQLITE_CONNECTION = ("execute", "executemany", "executescript", "commit", "rollback", "backup", "blobopen", "iterdump")
_SQLITE_CURSOR = ("execute", "executemany", "executescript")


def _patch_sqlite3(dbapi2):
    # Connection and Cursor are immutable types, so connect() hands out announcing subclasses
    # through its factory argument, as an app's own factory would.
    original = getattr(dbapi2, "connect", None)
    if original is None:
        return
    made = {}

    def subclass(factory, methods, extra=None):
        if factory not in made:
            made[factory] = _announcing_subclass(factory, b"sqlite3", methods, extra)
        return made[factory] or factory

    def cursors_of(connection_class):
        def cursor(self, factory=dbapi2.Cursor):
            return connection_class.cursor(self, subclass(factory, _SQLITE_CURSOR))

        return cursor

    def connect(*args, **kwargs):
        if len(args) < 6:
            factory = kwargs.get("factory", dbapi2.Connection)
            if isinstance(factory, type):
                kwargs["factory"] = subclass(factory, _SQLITE_CONNECTION, {"cursor": cursors_of(factory)})
        return _native(b"sqlite3", original, _getframe(1), args, kwargs)

    connect.__doc__ = original.__doc__
    dbapi2.connect = connect


def _patch_zmq(zmq):
    # libzmq makes a context's eventfd as the context is made, its I/O and reaper threads'
    # epolls and eventfds with the first socket, and a bound socket in the calling thread; the
    # I/O thread, started inside that first call, makes the connections.
    for owner, names in ((zmq.Context, ("__init__", "socket")), (zmq.Socket, ("bind", "connect"))):
        for name in names:
            _wrap(owner, name, b"zmq", native=True)


def _announce_in_subclasses(owner, event, classes):
    """Replaces each named C type of `owner` with a subclass whose listed methods are announced
    native calls. Done as the module loads, before any Python code subclasses or imports the
    type by name, so those are announced too."""
    for name, methods in classes:
        cls = getattr(owner, name, None)
        if isinstance(cls, type):
            setattr(owner, name, _announcing_subclass(cls, event, methods) or cls)


# librdkafka makes a client's pipes as it is made, and its own threads, started there, make the
# broker connections. cimpl's types are replaced before confluent_kafka takes its names from it,
# so its Python subclasses (SerializingProducer, AdminClient) are announced too.
_KAFKA_CLIENTS = tuple((name, ("__init__",)) for name in ("Producer", "Consumer", "_AdminClientImpl"))
# libcurl connects inside perform() and keeps the connection, and a multi handle's wakeup
# socketpair (made as the handle is: an easy handle's perform makes one of its own), for reuse.
_CURL_HANDLES = (
    ("Curl", ("perform", "perform_rb", "perform_rs")),
    ("CurlMulti", ("__new__", "perform", "socket_action")),
)
# libmemcached connects on a client's first operation and keeps the connection; _pylibmc's client
# is replaced before pylibmc's Client subclasses it.
_PYLIBMC_CLIENT = (
    (
        "client",
        (
            "get", "gets", "get_multi", "set", "set_multi", "add", "add_multi", "replace", "append", "prepend",
            "cas", "delete", "delete_multi", "incr", "incr_multi", "decr", "touch", "flush_all", "get_stats",
        ),
    ),
)
# libuv makes a loop's epoll, eventfd and signal pipes as the loop is made; new_event_loop() and
# the policy make it by this name.
_UVLOOP_LOOP = (("Loop", ("__new__", "__init__")),)


# Modules adjusted right after they load: their native calls raise no audit event.
_AFTER_IMPORT = {
    "ctypes": _patch_ctypes,
    "sqlite3.dbapi2": _patch_sqlite3,
    # multiprocessing.shared_memory keeps the fd shm_open makes.
    "_posixshmem": lambda module: _wrap(module, "shm_open", b"open"),
    # gRPC's C core makes a channel's epoll, eventfd and sockets, in the calling thread and in
    # threads it starts there.
    "grpc": lambda module: [_wrap(module, name, b"grpc", native=True) for name in ("insecure_channel", "secure_channel")],
    # dbm's databases (shelve's too) are opened by the C library and kept open.
    "_gdbm": lambda module: _wrap(module, "open", b"dbm", native=True),
    "_dbm": lambda module: _wrap(module, "open", b"dbm", native=True),
    # Database drivers whose C client (libpq, libmysqlclient) makes the connection's socket.
    # psycopg 3's connect is Connection.connect; MySQLdb's Connect is the same function.
    "psycopg2": lambda module: _wrap(module, "connect", b"psycopg2", native=True),
    "psycopg": lambda module: _wrap(module, "connect", b"psycopg", native=True),
    "MySQLdb": lambda module: [_wrap(module, name, b"MySQLdb", native=True) for name in ("connect", "Connect")],
    "zmq": _patch_zmq,
    "confluent_kafka.cimpl": lambda module: _announce_in_subclasses(module, b"confluent_kafka", _KAFKA_CLIENTS),
    "pycurl": lambda module: _announce_in_subclasses(module, b"pycurl", _CURL_HANDLES),
    "_pylibmc": lambda module: _announce_in_subclasses(module, b"pylibmc", _PYLIBMC_CLIENT),
    "uvloop": lambda module: _announce_in_subclasses(module, b"uvloop", _UVLOOP_LOOP),
    # libuuid opens its clock file (/var/lib/libuuid/clock.txt, where uuid-runtime made its
    # directory) at the first time-based UUID and keeps it open.
    "_uuid": lambda module: _wrap(module, "generate_time_safe", b"uuid", native=True),
    # The syslog module's C library (openlog with LOG_NDELAY, or the first syslog()) and
    # libsystemd (the journal's socket, kept for the life of the process) make log sockets.
    "syslog": lambda module: [_wrap(module, name, b"syslog", native=True) for name in ("openlog", "syslog")],
    "systemd._journal": lambda module: [_wrap(module, name, b"systemd", native=True) for name in ("sendv", "stream_fd")],
    # A built-in module imported anew (eventlet's patcher.original re-imports select for its
    # hub) is a fresh copy, without the stand-in _install put in the first one.
    "select": lambda module: _wrap_type(module, "epoll", b"epoll"),
}


def _then_patched(exec_module, patch):
    """A loader's exec_module followed by the module's adjustment, which never fails the import."""

    def run(module):
        exec_module(module)
        try:
            patch(module)
        except Exception:
            pass

    return run


class _Adjusting:
    """The loader of a built-in module imported anew: the built-in loader (a class, which
    serves every module) makes it, and its adjustment is applied to the copy."""

    def __init__(self, loader, patch):
        self._loader = loader
        self.exec_module = _then_patched(loader.exec_module, patch)

    def create_module(self, spec):
        return self._loader.create_module(spec)


class _AfterImport:
    """A meta path finder that finds nothing itself: for the modules above, it lets the
    others find them and adjusts each once its code has run."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        patch = _AFTER_IMPORT.get(name)
        if patch is None:
            return None
        for finder in sys.meta_path:
            if finder is cls or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        exec_module = getattr(loader, "exec_module", None)
        if exec_module is None:
            return spec
        # A loader that is a class (builtin, frozen) serves every module: this one is wrapped instead.
        if isinstance(loader, type):
            spec.loader = _Adjusting(loader, patch)
            return spec
        try:
            loader.exec_module = _then_patched(exec_module, patch)
        except AttributeError:
            pass
        return spec


def _install():
    for name, event in (
        ("pipe", b"pipe"),
        ("pipe2", b"pipe"),
        ("eventfd", b"eventfd"),
        ("memfd_create", b"memfd_create"),
        ("pidfd_open", b"pidfd_open"),
        ("openpty", b"openpty"),
        ("dup", b"dup"),
        ("dup2", b"dup"),
    ):
        _wrap(os, name, event)
    # A thread's start: fds its native code makes later, announced by no call, are named by the
    # line that started it (grpc's connectivity thread). threading may hold its own reference.
    import _thread

    for name in ("start_new_thread", "start_joinable_thread"):
        _wrap(_thread, name, b"thread")
        threading = sys.modules.get("threading")
        if threading is not None and hasattr(threading, "_" + name):
            setattr(threading, "_" + name, getattr(_thread, name))
    try:
        import _socket
        import select
    except ImportError:
        pass
    else:
        _wrap(_socket, "socketpair", b"socketpair")
        # socket.dup() and socket.fromfd() duplicate through _socket.dup.
        _wrap(_socket, "dup", b"dup")
        _wrap_type(select, "epoll", b"epoll")
    sys.meta_path.insert(0, _AfterImport)
    sys.addaudithook(_audit)
    if os.environ.get("PREFORK_CHECK_CLOSES") == "1":
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_announce_closes_in_child)
        _AFTER_IMPORT["uwsgidecorators"] = _patch_uwsgidecorators


# Builtins whose call may close an fd: os.close, a file's or socket's close(), os.dup2 over an
# open fd, `with open(...)`'s exit. Seen by the profile hook as C calls from Python lines.
_CLOSING = {"close", "closerange", "dup2", "__exit__"}


def _announce_close(frame, event, arg):
    # Around each closing builtin: a D record (covering the closes it makes) and its end.
    if event == "c_call":
        if getattr(arg, "__name__", None) in _CLOSING:
            _emit(b"D", b"close", frame)
    elif event == "c_return" or event == "c_exception":
        if getattr(arg, "__name__", None) in _CLOSING:
            _end_native()


def _announce_closes_in_child():
    # In a forked worker, prefork-check reports what it closes of what it inherited, and where:
    # the server's worker hook (post_fork, worker_process_init) closing what the app opened.
    # Only in the thread that forked, which runs those hooks, and never over a profiler of the app's.
    if sys.getprofile() is None:
        sys.setprofile(_announce_close)


def _patch_uwsgidecorators(module):
    # uWSGI forks in C and runs Python's fork handlers only with --py-call-osafterfork; it always
    # calls uwsgi.post_fork_hook, which this module sets to run the @postfork functions.
    uwsgi = sys.modules.get("uwsgi")
    hook = getattr(uwsgi, "post_fork_hook", None)
    if hook is None or getattr(hook, "__prefork_check__", False):
        return

    def post_fork_hook(*args, **kwargs):
        _announce_closes_in_child()
        return hook(*args, **kwargs)

    post_fork_hook.__prefork_check__ = True
    uwsgi.post_fork_hook = post_fork_hook


def _start_record():
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = ""
    fields = (_TOKEN, b"S", _text(cwd), _text(os.path.dirname(os.__file__)), _text(sys.executable or ""))
    _send(_RECORD.join(fields))


def _chain_site_sitecustomize():
    import importlib.machinery
    import importlib.util

    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", sys.path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


if _TOKEN and hasattr(sys, "addaudithook") and _pwrite is not None:
    _install()
    _start_record()
_chain_site_sitecustomize()
