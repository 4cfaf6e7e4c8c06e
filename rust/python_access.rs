//! The Python face of `access_lines`, the access log's line maker for its "combined" format
//! (or "common"): `access_sink(common, clock, fallback, limit[, now])`; and `recording`, the
//! writer's fast-path answer with its recording, in one native call.
//!
//! Each answer is made into its line when it is recorded, into a text that the log takes whole
//! when it writes; nothing of the request is kept. The lines are the bytes that the batch
//! function python/wirespeed/access_log.py compiles from the same format makes (its twin).
//! `access_sink` returns three functions that share one sink:
//!
//! * `answer(request, data) -> bool`: a 200 made by the protocol's fast path, `data` the whole
//!   answer (its body starts after the first blank line); the connection is `request[6]`;
//! * `entry(request or None, status, body bytes, bytes, connection) -> bool`: any other answer;
//! * `take() -> str`: the lines recorded so far, joined by newlines ("" for none), and none
//!   after.
//!
//! `answer` and `entry` say whether the text has reached `limit` bytes (time to write it).
//! The peer is the connection's `client_address` (a `(host, port)` tuple, or None / False for
//! none: `-`). The time is read when an answer is recorded: from the system's clock, or by
//! calling `now()` when it is given. `clock` is the batch function's `_Clock`, the source of
//! the `$time_local` text: its `since`, `until` and `local` are read when the time leaves the
//! second last read, and `clock.update(now)` is called only for a time outside `[since, until)`.
//!
//! An entry whose values are not of the types expected (a request that is not a tuple, a
//! status that is not an int, text that is not Unicode, a connection without a client
//! address...) is not guessed at: `fallback(request, status, body, bytes, connection)` makes
//! its line (connection None for `answer`'s entries), or returns None for no line. What the
//! fallback raises is raised.
//!
//! `recording(answer, record, due)` returns `keep_alive_result(result, request=None)`: `data =
//! answer(result)`, then `record(request, data)`, then `due()` if that said True; it returns
//! `data`. The access log's writer holds it in place of its method, so that the fast path's
//! answer and its recording cost one call from Python instead of a Python frame.
//!
//! Plain C functions (METH_VARARGS / METH_FASTCALL), those made at run time bound to the object
//! that holds their state, not a pyo3 `#[pyclass]`: more users of pyo3's call machinery changed
//! what whole-crate LTO inlines into `RequestParser.feed` (see python_proxy.rs).

use std::cell::RefCell;
use std::ffi::{c_void, CStr};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use memchr::memmem;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyString, PyTuple};

use crate::access_lines::{push_line, Line, RequestLine};
use crate::python::{raw_headers_type, to_interpreter, RawHeaders};

const CAPSULE_NAME: &CStr = c"wirespeed._parser.access_sink";

/// Method definitions of functions made at run time, bound to their `self`.
struct MethodDefs<const N: usize>([ffi::PyMethodDef; N]);

// SAFETY: the definitions are constants, never written: the interpreter only reads them.
unsafe impl<const N: usize> Sync for MethodDefs<N> {}

/// A sink's functions: `answer`, `entry`, `take`.
static SINK_METHODS: MethodDefs<3> = MethodDefs([
    ffi::PyMethodDef {
        ml_name: c"answer".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunctionFast: answer_c },
        ml_flags: ffi::METH_FASTCALL,
        ml_doc: c"answer(request, data): record the fast path's 200; True when the lines are due to be written."
            .as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"entry".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunctionFast: entry_c },
        ml_flags: ffi::METH_FASTCALL,
        ml_doc: c"entry(request, status, body, sent, connection): record an answer; True when the lines are due to be written."
            .as_ptr(),
    },
    ffi::PyMethodDef {
        ml_name: c"take".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunction: take_c },
        ml_flags: ffi::METH_NOARGS,
        ml_doc: c"take(): the lines recorded so far, joined by newlines, and none after.".as_ptr(),
    },
]);

/// Adds `access_sink` and `recording` to the module.
pub fn add_functions(module: &Bound<'_, PyModule>) -> PyResult<()> {
    add_function(
        module,
        ffi::PyMethodDef {
            ml_name: c"access_sink".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer { PyCFunction: access_sink_c },
            ml_flags: ffi::METH_VARARGS,
            ml_doc: c"access_sink(common, clock, fallback, limit, now=None): (answer, entry, take), the \
                access log's line maker for the combined format (common: the common one)."
                .as_ptr(),
        },
    )?;
    add_function(
        module,
        ffi::PyMethodDef {
            ml_name: c"recording".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer { PyCFunctionFast: recording_c },
            ml_flags: ffi::METH_FASTCALL,
            ml_doc: c"recording(answer, record, due): a function (result, request=None) -> data = \
                answer(result), after record(request, data) (and due() when that says True)."
                .as_ptr(),
        },
    )
}

/// Adds the module-level function that `definition` defines.
fn add_function(module: &Bound<'_, PyModule>, definition: ffi::PyMethodDef) -> PyResult<()> {
    let definition: &'static mut ffi::PyMethodDef = Box::leak(Box::new(definition));
    // SAFETY: the definition is leaked, so it outlives the function object, as the C API
    // requires; the result is a new reference or NULL with an exception set.
    let function = unsafe {
        Bound::from_owned_ptr_or_err(
            module.py(),
            ffi::PyCFunction_NewEx(definition, std::ptr::null_mut(), std::ptr::null_mut()),
        )
    }?;
    module.add(function.getattr("__name__")?.cast_into::<PyString>()?, function)
}

/// The function `recording` makes.
static RECORDED_ANSWER: MethodDefs<1> = MethodDefs([ffi::PyMethodDef {
    ml_name: c"keep_alive_result".as_ptr(),
    ml_meth: ffi::PyMethodDefPointer { PyCFunctionFast: recorded_answer_c },
    ml_flags: ffi::METH_FASTCALL,
    ml_doc: c"keep_alive_result(result, request=None): the answer, recorded.".as_ptr(),
}]);

// METH_FASTCALL, as `answer_c`: `recording(answer, record, due)`. The function made holds the
// three in a tuple (its `self`), which the garbage collector sees through: a writer that holds
// the function made from its own method is a cycle it can collect.
unsafe extern "C" fn recording_c(
    _module: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: see above.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: see above.
    let made = unsafe { arguments::<3>(py, "recording", args, nargs) }.and_then(|parts| {
        let held = PyTuple::new(py, parts)?;
        let definition = std::ptr::from_ref(&RECORDED_ANSWER.0[0]).cast_mut();
        // SAFETY: the definition is static, so it outlives the function; the function holds a
        // reference to the tuple (its `self`). The interpreter does not write through the
        // pointer.
        unsafe {
            Bound::from_owned_ptr_or_err(py, ffi::PyCFunction_NewEx(definition, held.as_ptr(), std::ptr::null_mut()))
        }
    });
    to_interpreter(py, made)
}

// METH_FASTCALL, as `answer_c`, with `held` the `(answer, record, due)` tuple `recording_c` made.
unsafe extern "C" fn recorded_answer_c(
    held: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: see above.
    let (py, held) = unsafe {
        let py = Python::assume_attached();
        (py, Bound::from_borrowed_ptr(py, held).cast_into_unchecked::<PyTuple>())
    };
    let count = usize::try_from(nargs).unwrap_or(0);
    let answered = (|| {
        if !(1..=2).contains(&count) {
            return Err(PyTypeError::new_err(format!("keep_alive_result() takes 1 or 2 arguments ({count} given)")));
        }
        // SAFETY: the interpreter lends `count` live objects for the call.
        let (result, request) = unsafe {
            let result = Bound::from_borrowed_ptr(py, *args);
            let request =
                if count == 2 { Bound::from_borrowed_ptr(py, *args.add(1)) } else { py.None().into_bound(py) };
            (result, request)
        };
        let data = call(&held.get_item(0)?, &[&result])?;
        if call(&held.get_item(1)?, &[&request, &data])?.is_truthy()? {
            call(&held.get_item(2)?, &[])?;
        }
        Ok(data)
    })();
    to_interpreter(py, answered)
}

/// `function(*args)` for up to two arguments, through the C API's argument-list call, which
/// makes no tuple of them (the limited API of Python 3.10 has no vectorcall function).
fn call<'py>(function: &Bound<'py, PyAny>, args: &[&Bound<'py, PyAny>]) -> PyResult<Bound<'py, PyAny>> {
    let py = function.py();
    let end = std::ptr::null_mut::<ffi::PyObject>();
    let callable = function.as_ptr();
    // SAFETY: live objects, held by the caller for the call, and the NULL that ends the list;
    // the result is a new reference or NULL with an exception set.
    unsafe {
        let result = match *args {
            [] => ffi::PyObject_CallFunctionObjArgs(callable, end),
            [first] => ffi::PyObject_CallFunctionObjArgs(callable, first.as_ptr(), end),
            [first, second] => ffi::PyObject_CallFunctionObjArgs(callable, first.as_ptr(), second.as_ptr(), end),
            _ => return Err(PyTypeError::new_err("call: at most two arguments")),
        };
        Bound::from_owned_ptr_or_err(py, result)
    }
}

/// The `_Clock`'s second: `[since, until)` and its `$time_local` text.
struct Second {
    since: f64,
    until: f64,
    local: String,
}

impl Second {
    fn read(clock: &Bound<'_, PyAny>) -> PyResult<Self> {
        let py = clock.py();
        Ok(Second {
            since: clock.getattr(intern!(py, "since"))?.extract()?,
            until: clock.getattr(intern!(py, "until"))?.extract()?,
            local: clock.getattr(intern!(py, "local"))?.cast_into::<PyString>()?.to_str()?.to_owned(),
        })
    }

    fn holds(&self, when: f64) -> bool {
        self.since <= when && when < self.until
    }
}

/// An answer's status, body bytes and bytes: known here (the fast path's) or as given.
enum Sizes<'a, 'py> {
    Known(i64, i64, i64),
    Given(&'a Bound<'py, PyAny>, &'a Bound<'py, PyAny>, &'a Bound<'py, PyAny>),
}

impl<'py> Sizes<'_, 'py> {
    /// The status and the body bytes.
    fn numbers(&self) -> PyResult<(i64, i64)> {
        match self {
            Sizes::Known(status, body, _) => Ok((*status, *body)),
            Sizes::Given(status, body, _) => Ok((integer(status)?, integer(body)?)),
        }
    }

    /// The three as objects, for the fallback.
    fn objects(&self, py: Python<'py>) -> (Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>) {
        match self {
            Sizes::Known(status, body, sent) => {
                (PyInt::new(py, *status).into_any(), PyInt::new(py, *body).into_any(), PyInt::new(py, *sent).into_any())
            }
            Sizes::Given(status, body, sent) => ((*status).clone(), (*body).clone(), (*sent).clone()),
        }
    }
}

/// One access log's state: what `answer`, `entry` and `take` share.
struct Sink {
    common: bool,
    clock: Py<PyAny>,
    fallback: Py<PyAny>,
    now: Option<Py<PyAny>>,
    limit: usize,
    /// The second of the last line (empty until the first).
    second: Second,
    /// The lines so far, each ended by a newline.
    text: Vec<u8>,
    /// The last `client_address` seen (held, so that no other object takes its address) and
    /// its host: the answers come in runs from one connection.
    address: Option<(Py<PyAny>, Option<String>)>,
    /// The first Referer's and User-Agent's bytes of the request at hand (when found).
    values: [Vec<u8>; 2],
    /// The head of the last fast-path answer, up to its blank line: the next one mostly starts
    /// with the same bytes.
    head: Vec<u8>,
}

impl Sink {
    /// The time now, in seconds since the epoch.
    fn time(&self, py: Python<'_>) -> PyResult<f64> {
        match &self.now {
            Some(now) => Ok(now.bind(py).call0()?.cast_into::<PyFloat>()?.value()),
            None => Ok(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |since| since.as_secs_f64())),
        }
    }

    /// Records one answer: its line, made here or by the fallback. True when the text is due
    /// to be written.
    fn record<'py>(
        &mut self,
        request: &Bound<'py, PyAny>,
        sizes: Sizes<'_, 'py>,
        connection: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<bool> {
        let py = request.py();
        let made = self.time(py).and_then(|now| {
            if !self.second.holds(now) {
                // The clock is shared with the Python function: it may hold this second already.
                let clock = self.clock.bind(py);
                self.second = Second::read(clock)?;
                if !self.second.holds(now) {
                    clock.call_method1(intern!(py, "update"), (now,))?;
                    self.second = Second::read(clock)?;
                }
            }
            self.push(request, &sizes, connection)
        });
        if made.is_err() {
            let (status, body, sent) = sizes.objects(py);
            let line = self.fallback.bind(py).call1((request, status, body, sent, connection))?;
            if !line.is_none() {
                self.text.extend_from_slice(line.cast_into::<PyString>()?.to_str()?.as_bytes());
                self.text.push(b'\n');
            }
        }
        Ok(self.text.len() >= self.limit)
    }

    /// Appends the line of one answer, or fails with nothing appended.
    fn push(
        &mut self,
        request: &Bound<'_, PyAny>,
        sizes: &Sizes<'_, '_>,
        connection: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let py = request.py();
        let (status, body) = sizes.numbers()?;
        let request = if request.is_none() { None } else { Some(request.cast::<PyTuple>()?) };
        let connection = match (connection, request) {
            (Some(connection), _) => connection.clone(),
            (None, Some(request)) => request.get_item(6)?,
            (None, None) => return Err(PyTypeError::new_err("access_sink: an answer without a request")),
        };
        let address = connection.getattr(intern!(py, "client_address"))?;
        let cached = matches!(&self.address, Some((seen, _)) if seen.as_ptr() == address.as_ptr());
        if !cached {
            let host = client_host(&address)?.map(|host| host.to_str().map(str::to_owned)).transpose()?;
            if let Some((seen, _)) = self.address.replace((address.unbind(), host)) {
                drop(seen.into_bound(py)); // released now, not through pyo3's deferred pool
            }
        }
        let (mut referer, mut user_agent) = (false, false);
        let (method, target);
        let mut request_line = None;
        if let Some(request) = request {
            method = exact_str(&request.get_item(0)?)?;
            target = exact_str(&request.get_item(1)?)?;
            let minor = integer(&request.get_item(2)?)?;
            request_line = Some(RequestLine { method: method.to_str()?, target: target.to_str()?, minor });
            if !self.common {
                (referer, user_agent) = first_headers(&request.get_item(3)?, &mut self.values)?;
            }
        }
        let fields = Line {
            remote_addr: self.address.as_ref().and_then(|(_, host)| host.as_deref()),
            time_local: &self.second.local,
            request: request_line,
            status,
            body_bytes_sent: body,
            referer: referer.then_some(self.values[0].as_slice()),
            user_agent: user_agent.then_some(self.values[1].as_slice()),
        };
        push_line(&mut self.text, &fields, self.common);
        self.text.push(b'\n');
        Ok(())
    }

    /// The text so far as a `str` (without its last newline), and none after.
    fn take<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let text = self.text.strip_suffix(b"\n").unwrap_or_default();
        let taken = new_str(py, text);
        self.text.clear();
        if self.text.capacity() > 4 * self.limit {
            self.text = Vec::with_capacity(self.limit); // after a flood, not held at its size
        }
        taken
    }

    /// The body bytes of a fast-path answer: after its first blank line (none: 0). An answer
    /// that starts with the last one's head has its first blank line where that head ends.
    fn body_of(&mut self, data: &[u8]) -> usize {
        if !self.head.is_empty() && data.starts_with(&self.head) {
            return data.len() - self.head.len();
        }
        match head_end(data) {
            Some(at) => {
                self.head.clear();
                self.head.extend_from_slice(data.get(..at + 4).unwrap_or_default());
                data.len() - at - 4
            }
            None => 0,
        }
    }

    /// Releases the Python objects held, now (the interpreter holds the GIL).
    fn release(self, py: Python<'_>) {
        drop(self.clock.into_bound(py));
        drop(self.fallback.into_bound(py));
        if let Some(now) = self.now {
            drop(now.into_bound(py));
        }
        if let Some((address, _)) = self.address {
            drop(address.into_bound(py));
        }
    }
}

// The interpreter calls it with the GIL held and `args` the tuple of a METH_VARARGS call, which
// is what `Python::assume_attached` and the borrowed tuple need.
unsafe extern "C" fn access_sink_c(_module: *mut ffi::PyObject, args: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: see above.
    let (py, args) = unsafe {
        let py = Python::assume_attached();
        (py, Bound::from_borrowed_ptr(py, args).cast_into_unchecked::<PyTuple>())
    };
    to_interpreter(py, access_sink(&args))
}

fn access_sink<'py>(args: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyAny>> {
    let py = args.py();
    let (common, clock, fallback, limit, now): (
        bool,
        Bound<'_, PyAny>,
        Bound<'_, PyAny>,
        usize,
        Option<Bound<'_, PyAny>>,
    ) = match args.len() {
        4 => {
            let (common, clock, fallback, limit) = args.extract()?;
            (common, clock, fallback, limit, None)
        }
        _ => args.extract()?,
    };
    let now = now.filter(|now| !now.is_none());
    let sink = Sink {
        common,
        clock: clock.unbind(),
        fallback: fallback.unbind(),
        now: now.map(Bound::unbind),
        limit,
        second: Second { since: 0.0, until: 0.0, local: String::new() },
        text: Vec::with_capacity(limit.min(1 << 20)),
        address: None,
        values: [Vec::new(), Vec::new()],
        head: Vec::new(),
    };
    let pointer = Box::into_raw(Box::new(RefCell::new(sink)));
    // SAFETY: the capsule owns the box from here on: `drop_sink` frees it, once, when the
    // capsule goes (or now, if the capsule cannot be made).
    let capsule = unsafe { ffi::PyCapsule_New(pointer.cast::<c_void>(), CAPSULE_NAME.as_ptr(), Some(drop_sink)) };
    if capsule.is_null() {
        // SAFETY: the box was not handed over.
        unsafe { Box::from_raw(pointer) }.into_inner().release(py);
        return Err(PyErr::fetch(py));
    }
    // SAFETY: a new reference, checked above.
    let capsule = unsafe { Bound::from_owned_ptr(py, capsule) };
    let mut functions = Vec::with_capacity(SINK_METHODS.0.len());
    for definition in &SINK_METHODS.0 {
        // SAFETY: the definitions are static, so they outlive the functions; each function
        // holds a reference to the capsule (its `self`). The interpreter does not write
        // through the pointer.
        let function = unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyCFunction_NewEx(
                    std::ptr::from_ref(definition).cast_mut(),
                    capsule.as_ptr(),
                    std::ptr::null_mut(),
                ),
            )
        }?;
        functions.push(function);
    }
    Ok(PyTuple::new(py, functions)?.into_any())
}

// The capsule's destructor: the interpreter calls it with the GIL held, once, as the capsule
// goes.
unsafe extern "C" fn drop_sink(capsule: *mut ffi::PyObject) {
    // SAFETY: see above; the pointer is the box `access_sink` gave the capsule.
    unsafe {
        let pointer = ffi::PyCapsule_GetPointer(capsule, CAPSULE_NAME.as_ptr()).cast::<RefCell<Sink>>();
        if !pointer.is_null() {
            Box::from_raw(pointer).into_inner().release(Python::assume_attached());
        }
    }
}

/// The sink behind a function's `self` (its capsule).
///
/// # Safety
/// Called by the interpreter, with the GIL held and `capsule` the function's `self` (alive
/// for the call).
unsafe fn sink_of<'a>(capsule: *mut ffi::PyObject) -> (Python<'a>, &'a RefCell<Sink>) {
    // SAFETY: see above: the capsule holds a RefCell<Sink> until it goes.
    unsafe {
        (Python::assume_attached(), &*ffi::PyCapsule_GetPointer(capsule, CAPSULE_NAME.as_ptr()).cast::<RefCell<Sink>>())
    }
}

/// The `N` arguments of a METH_FASTCALL call.
///
/// # Safety
/// `args` are `nargs` live objects the interpreter lends for the call, with the GIL held.
unsafe fn arguments<'py, const N: usize>(
    py: Python<'py>,
    name: &str,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> PyResult<[Bound<'py, PyAny>; N]> {
    if usize::try_from(nargs).ok() != Some(N) {
        return Err(PyTypeError::new_err(format!("{name}() takes {N} arguments ({nargs} given)")));
    }
    // SAFETY: see above: there are N of them.
    Ok(std::array::from_fn(|index| unsafe { Bound::from_borrowed_ptr(py, *args.add(index)) }))
}

fn borrowed(sink: &RefCell<Sink>) -> PyResult<std::cell::RefMut<'_, Sink>> {
    sink.try_borrow_mut().map_err(|_| PyRuntimeError::new_err("access_sink: used while in use"))
}

fn verdict(py: Python<'_>, due: PyResult<bool>) -> *mut ffi::PyObject {
    to_interpreter(py, due.map(|due| PyBool::new(py, due).to_owned().into_any()))
}

// METH_FASTCALL: the interpreter calls it with the GIL held, `capsule` the function's `self`
// and `args` the `nargs` objects it lends for the call.
unsafe extern "C" fn answer_c(
    capsule: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: see above.
    let (py, sink) = unsafe { sink_of(capsule) };
    // SAFETY: see above.
    let due = unsafe { arguments::<2>(py, "answer", args, nargs) }.and_then(|[request, data]| {
        let data = data.cast::<PyBytes>()?.as_bytes();
        let mut sink = borrowed(sink)?;
        let body = i64::try_from(sink.body_of(data))?;
        let sent = i64::try_from(data.len())?;
        sink.record(&request, Sizes::Known(200, body, sent), None)
    });
    verdict(py, due)
}

// METH_FASTCALL: as `answer_c`.
unsafe extern "C" fn entry_c(
    capsule: *mut ffi::PyObject,
    args: *mut *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    // SAFETY: see above.
    let (py, sink) = unsafe { sink_of(capsule) };
    // SAFETY: see above.
    let due =
        unsafe { arguments::<5>(py, "entry", args, nargs) }.and_then(|[request, status, body, sent, connection]| {
            borrowed(sink)?.record(&request, Sizes::Given(&status, &body, &sent), Some(&connection))
        });
    verdict(py, due)
}

// METH_NOARGS: the interpreter calls it with the GIL held and `capsule` the function's `self`.
unsafe extern "C" fn take_c(capsule: *mut ffi::PyObject, _unused: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: see above: the capsule holds a RefCell<Sink> until it goes.
    let (py, sink) = unsafe { sink_of(capsule) };
    to_interpreter(py, borrowed(sink).and_then(|mut sink| sink.take(py)))
}

/// Where the first blank line (CR LF CR LF) of an answer starts.
fn head_end(data: &[u8]) -> Option<usize> {
    static BLANK_LINE: OnceLock<memmem::Finder<'static>> = OnceLock::new();
    BLANK_LINE.get_or_init(|| memmem::Finder::new(b"\r\n\r\n")).find(data)
}

/// An `int` (not a bool or another subclass: the Python function formats it with `str`).
fn integer(value: &Bound<'_, PyAny>) -> PyResult<i64> {
    value.cast_exact::<PyInt>()?.extract()
}

fn exact_str<'py>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyString>> {
    Ok(value.cast_exact::<PyString>()?.clone())
}

/// The peer's host of a connection's `client_address`: None for none (None, False, ()).
fn client_host<'py>(address: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyString>>> {
    if address.is_none() {
        return Ok(None);
    }
    if let Ok(flag) = address.cast_exact::<PyBool>() {
        if !flag.is_true() {
            return Ok(None);
        }
    }
    let address = address.cast::<PyTuple>()?;
    if address.is_empty() {
        return Ok(None);
    }
    exact_str(&address.get_item(0)?).map(Some)
}

/// Whether a request's header fields have a Referer and a User-Agent, the first of each
/// copied into `values` (in that order), from a `RawHeaders` (read in place) or any iterable
/// of `(name, value)` bytes tuples (names lowercase).
fn first_headers(headers: &Bound<'_, PyAny>, values: &mut [Vec<u8>; 2]) -> PyResult<(bool, bool)> {
    let py = headers.py();
    let mut found = [false, false];
    let mut keep = |index: usize, value: &[u8]| {
        if !found[index] {
            found[index] = true;
            values[index].clear();
            values[index].extend_from_slice(value);
        }
    };
    if headers.get_type().as_ptr() == raw_headers_type(py)?.as_ptr() {
        // SAFETY: `headers` is a live RawHeaders (its type checked above), held by the request
        // while it is read here.
        let (this, data) = unsafe { RawHeaders::parts(headers.as_ptr()) };
        for (_, name, value) in this.fields(data) {
            if name.eq_ignore_ascii_case(b"referer") {
                keep(0, value);
            } else if name.eq_ignore_ascii_case(b"user-agent") {
                keep(1, value);
            }
        }
        return Ok((found[0], found[1]));
    }
    for field in headers.try_iter()? {
        let field = field?.cast_into::<PyTuple>()?;
        if field.len() != 2 {
            return Err(PyTypeError::new_err("access_sink: a header field is a (name, value) pair"));
        }
        let index = match field.get_item(0)?.cast::<PyBytes>()?.as_bytes() {
            b"referer" => 0,
            b"user-agent" => 1,
            _ => continue,
        };
        let value = field.get_item(1)?;
        keep(index, value.cast::<PyBytes>()?.as_bytes());
    }
    Ok((found[0], found[1]))
}

/// A `str` of `text`, UTF-8 (lines: ASCII but for what str values put in them).
fn new_str<'py>(py: Python<'py>, text: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let len = ffi::Py_ssize_t::try_from(text.len()).map_err(|_| PyValueError::new_err("lines too long"))?;
    // SAFETY: the pointer and length describe `text`, alive for the call; the result is a new
    // reference or NULL with an exception set (not UTF-8, which it always is here).
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyUnicode_FromStringAndSize(text.as_ptr().cast(), len)) }
}

#[cfg(test)]
mod tests {
    use super::head_end;

    #[test]
    fn the_body_starts_after_the_first_blank_line() {
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\r\n\r\n"), Some(34));
        assert_eq!(head_end(b"HTTP/1.1 204 No Content\r\n\r\n"), Some(23));
        assert_eq!(head_end(b"\r\n\r\n"), Some(0));
        assert_eq!(head_end(b"HTTP/1.1 200 OK\r\n\r\r\n"), None);
        assert_eq!(head_end(b"HTTP/1.1 200 OK\n\n"), None);
        assert_eq!(head_end(b""), None);
    }
}
