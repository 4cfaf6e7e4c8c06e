//! The Python face of `access_lines`: `access_lines(pending, offset, clock, common) -> list[str]`,
//! the lines of a batch of the access log's pending entries in the "combined" format (or
//! "common" when `common`), exactly as the batch function python/wirespeed/access_log.py
//! compiles from that format makes them (its twin, used for every other format).
//!
//! `pending` is `AccessLog.pending`: `(request, body bytes, bytes, time)` from the protocol's
//! fast path (a 200; the connection is `request[6]`), or `(request or None, status, body
//! bytes, bytes, start, end, connection)`. Times are monotonic; `offset` turns them into
//! wall-clock ones. `clock` is the batch function's `_Clock`, the source of the `$time_local`
//! text: its `since`, `until` and `local` are read, and `clock.update(end)` is called only for
//! an entry whose time is outside `[since, until)`. The peer is the connection's
//! `client_address` (a `(host, port)` tuple, or None / False for none: `-`). Any entry of
//! another shape or with a value of another type raises (TypeError / ValueError): the caller
//! then makes the batch's lines with the Python function.
//!
//! A plain C function (METH_VARARGS) registered by `add_function`, not a pyo3 `#[pyfunction]`:
//! more users of pyo3's call machinery changed what whole-crate LTO inlines into
//! `RequestParser.feed` (see python_proxy.rs).

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::access_lines::{push_line, Line, RequestLine};
use crate::python::{raw_headers_type, to_interpreter, RawHeaders};

/// Adds `access_lines` to the module.
pub fn add_function(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let definition: &'static mut ffi::PyMethodDef = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: c"access_lines".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunction: access_lines_c },
        ml_flags: ffi::METH_VARARGS,
        ml_doc: c"access_lines(pending, offset, clock, common): the access log's lines of a batch, \
            in the combined format (common: the common one)."
            .as_ptr(),
    }));
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

// The interpreter calls it with the GIL held and `args` the tuple of a METH_VARARGS call, which
// is what `Python::assume_attached` and the borrowed tuple need.
unsafe extern "C" fn access_lines_c(_module: *mut ffi::PyObject, args: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: see above.
    let (py, args) = unsafe {
        let py = Python::assume_attached();
        (py, Bound::from_borrowed_ptr(py, args).cast_into_unchecked::<PyTuple>())
    };
    let result = (|| {
        let (pending, offset, clock, common): (Bound<'_, PyList>, f64, Bound<'_, PyAny>, bool) = args.extract()?;
        access_lines(&pending, offset, &clock, common).map(Bound::into_any)
    })();
    to_interpreter(py, result)
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

fn access_lines<'py>(
    pending: &Bound<'py, PyList>,
    offset: f64,
    clock: &Bound<'py, PyAny>,
    common: bool,
) -> PyResult<Bound<'py, PyList>> {
    let py = pending.py();
    let mut second = Second::read(clock)?;
    let made = PyList::empty(py);
    let mut line: Vec<u8> = Vec::with_capacity(256);
    // The last entry's connection (held, so no other object can take its address) and its
    // peer's host: the entries of a batch come in runs from one connection.
    let mut last: Option<(Bound<'py, PyAny>, Option<Bound<'py, PyString>>)> = None;
    // The first Referer's and User-Agent's bytes of the entry's request (when found).
    let mut values: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    for entry in pending.iter() {
        let entry = entry.cast_into::<PyTuple>()?;
        let (request, status, body, connection, end) = match entry.len() {
            4 => {
                let request = entry.get_item(0)?;
                let connection = request.cast::<PyTuple>()?.get_item(6)?;
                (request, 200, integer(&entry.get_item(1)?)?, connection, float(&entry.get_item(3)?)? + offset)
            }
            7 => {
                float(&entry.get_item(4)?)?;
                let end = float(&entry.get_item(5)?)? + offset;
                let (status, body) = (integer(&entry.get_item(1)?)?, integer(&entry.get_item(2)?)?);
                (entry.get_item(0)?, status, body, entry.get_item(6)?, end)
            }
            _ => return Err(PyValueError::new_err("access_lines: an entry of 4 or 7 items expected")),
        };
        if !second.holds(end) {
            clock.call_method1(intern!(py, "update"), (end,))?;
            second = Second::read(clock)?;
        }
        let host = match &last {
            Some((seen, host)) if seen.is(&connection) => host.clone(),
            _ => {
                let host = client_host(&connection.getattr(intern!(py, "client_address"))?)?;
                last = Some((connection, host.clone()));
                host
            }
        };
        let request = if request.is_none() { None } else { Some(request.cast_into::<PyTuple>()?) };
        let (mut referer, mut user_agent) = (false, false);
        let mut request_line = None;
        let (method, target);
        if let Some(request) = &request {
            method = exact_str(&request.get_item(0)?)?;
            target = exact_str(&request.get_item(1)?)?;
            let minor = integer(&request.get_item(2)?)?;
            request_line = Some(RequestLine { method: method.to_str()?, target: target.to_str()?, minor });
            if !common {
                let headers = request.get_item(3)?;
                (referer, user_agent) = first_headers(&headers, &mut values)?;
            }
        }
        let remote_addr = match &host {
            Some(host) => Some(host.to_str()?),
            None => None,
        };
        line.clear();
        let fields = Line {
            remote_addr,
            time_local: &second.local,
            request: request_line,
            status,
            body_bytes_sent: body,
            referer: referer.then_some(values[0].as_slice()),
            user_agent: user_agent.then_some(values[1].as_slice()),
        };
        push_line(&mut line, &fields, common);
        made.append(new_str(py, &line)?)?;
    }
    Ok(made)
}

/// An `int` (not a bool or another subclass: the Python function formats it with `str`).
fn integer(value: &Bound<'_, PyAny>) -> PyResult<i64> {
    value.cast_exact::<PyInt>()?.extract()
}

fn float(value: &Bound<'_, PyAny>) -> PyResult<f64> {
    Ok(value.cast_exact::<PyFloat>()?.value())
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
            return Err(PyTypeError::new_err("access_lines: a header field is a (name, value) pair"));
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

/// A `str` of `text`, UTF-8 (a line: ASCII but for what str values put in it).
fn new_str<'py>(py: Python<'py>, text: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let len = ffi::Py_ssize_t::try_from(text.len()).map_err(|_| PyValueError::new_err("line too long"))?;
    // SAFETY: the pointer and length describe `text`, alive for the call; the result is a new
    // reference or NULL with an exception set (not UTF-8, which it always is here).
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyUnicode_FromStringAndSize(text.as_ptr().cast(), len)) }
}
