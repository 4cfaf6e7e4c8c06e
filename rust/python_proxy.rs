//! The Python face of `proxy_protocol`: `parse_proxy_header(data) -> int | tuple | str`, the
//! verdict on the bytes a connection has sent so far, as its Python twin
//! (python/wirespeed/proxy_protocol.py) gives it:
//!
//! * `int`: not complete; call again once at least this many bytes (in all) have arrived;
//! * `(consumed, source, destination)`: a complete header of `consumed` bytes; `source` and
//!   `destination` are `(host, port)`, or both None to keep the connection's own addresses;
//! * `str`: not a valid header, and why.
//!
//! A plain C function (METH_O) registered by `add_function`, not a pyo3 `#[pyfunction]`, and
//! its objects are made with the C API directly: pyo3's call machinery and object makers are
//! shared with `RequestParser.feed`, and more users of them changed what whole-crate LTO
//! inlines into its per-request path (see python_asgi.rs and python_ws.rs).

use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::proxy_protocol::{parse, Endpoint, Verdict};
use crate::python::to_interpreter;

/// Adds `parse_proxy_header` to the module.
pub fn add_function(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let definition: &'static mut ffi::PyMethodDef = Box::leak(Box::new(ffi::PyMethodDef {
        ml_name: c"parse_proxy_header".as_ptr(),
        ml_meth: ffi::PyMethodDefPointer { PyCFunction: parse_proxy_header },
        ml_flags: ffi::METH_O,
        ml_doc: c"parse_proxy_header(data): the PROXY protocol verdict on the bytes so far (int, tuple or str)."
            .as_ptr(),
    }));
    let py = module.py();
    // SAFETY: the definition is leaked, so it outlives the function object, as the C API
    // requires; the result is a new reference or NULL with an exception set.
    let function =
        owned(py, unsafe { ffi::PyCFunction_NewEx(definition, std::ptr::null_mut(), std::ptr::null_mut()) })?;
    module.add(function.getattr("__name__")?.cast_into::<PyString>()?, function)
}

// The interpreter calls it with the GIL held and `data` a live object it lends (METH_O), which
// is what `Python::assume_attached` and the borrowed pointer need.
unsafe extern "C" fn parse_proxy_header(_module: *mut ffi::PyObject, data: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: see above.
    let py = unsafe { Python::assume_attached() };
    // SAFETY: see above: `data` is a live object.
    if unsafe { ffi::PyBytes_Check(data) } == 0 {
        return to_interpreter(py, Err(PyTypeError::new_err("parse_proxy_header() takes bytes")));
    }
    // SAFETY: `data` is a bytes object, held by the caller for the call: its buffer and size
    // stay as they are (bytes are immutable), and PyBytes_AsString of a bytes cannot fail.
    let data = unsafe {
        let size = usize::try_from(ffi::PyBytes_Size(data)).unwrap_or(0);
        std::slice::from_raw_parts(ffi::PyBytes_AsString(data).cast::<u8>(), size)
    };
    to_interpreter(py, verdict_object(py, parse(data)))
}

fn verdict_object(py: Python<'_>, verdict: Verdict) -> PyResult<Bound<'_, PyAny>> {
    match verdict {
        Verdict::NeedMore(at_least) => new_int(py, at_least),
        Verdict::Invalid(reason) => new_str(py, reason),
        Verdict::Done { consumed, addresses } => {
            let consumed = new_int(py, consumed)?;
            let (source, destination) = match addresses {
                Some((source, destination)) => (endpoint(py, source)?, endpoint(py, destination)?),
                None => (py.None().into_bound(py), py.None().into_bound(py)),
            };
            // SAFETY: PyTuple_Pack takes 3 live objects (borrowed here for the call) and
            // returns a new tuple holding a new reference to each, or NULL with an exception set.
            owned(py, unsafe { ffi::PyTuple_Pack(3, consumed.as_ptr(), source.as_ptr(), destination.as_ptr()) })
        }
    }
}

/// `(host, port)`.
fn endpoint(py: Python<'_>, endpoint: Endpoint) -> PyResult<Bound<'_, PyAny>> {
    let host = new_str(py, &endpoint.host())?;
    let port = new_int(py, usize::from(endpoint.port()))?;
    // SAFETY: as in `verdict_object`, with 2 objects.
    owned(py, unsafe { ffi::PyTuple_Pack(2, host.as_ptr(), port.as_ptr()) })
}

/// A new reference returned by the C API, or the exception it set (NULL).
fn owned(py: Python<'_>, object: *mut ffi::PyObject) -> PyResult<Bound<'_, PyAny>> {
    // SAFETY: the C API calls here return a new (owned) reference, or NULL with an exception
    // set, which from_owned_ptr_or_err takes as such.
    unsafe { Bound::from_owned_ptr_or_err(py, object) }
}

fn new_int(py: Python<'_>, value: usize) -> PyResult<Bound<'_, PyAny>> {
    let value = ffi::Py_ssize_t::try_from(value).map_err(|_| PyOverflowError::new_err("too large"))?;
    // SAFETY: PyLong_FromSsize_t returns a new reference or NULL with an exception set.
    owned(py, unsafe { ffi::PyLong_FromSsize_t(value) })
}

/// A `str` of ASCII `text` (a reason or an address).
fn new_str<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let len = ffi::Py_ssize_t::try_from(text.len()).map_err(|_| PyOverflowError::new_err("too long"))?;
    // SAFETY: the pointer and length describe `text`, valid UTF-8 alive for the call.
    owned(py, unsafe { ffi::PyUnicode_FromStringAndSize(text.as_ptr().cast(), len) })
}
