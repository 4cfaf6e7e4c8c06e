//! The Python face of `asgi`: two functions the ASGI mode calls once per request, so that
//! the scope and the check of the app's head cost one call each rather than many lines of
//! Python. Each returns None where the input is not the plain kind it is built for (a
//! message that is not a dict, header names or values that are not bytes): the Python twin in
//! `wirespeed/asgi/` then takes it, with the same rules.
//!
//! They are plain C functions (METH_VARARGS) registered by `add_functions`, not pyo3
//! `#[pyfunction]`s: those share pyo3's call machinery with `RequestParser.feed`, and with
//! whole-crate LTO their being there stopped `feed`'s wrapper from being inlined, which cost the
//! native path about 80 instructions per request (benches/count_instructions.py).

use pyo3::exceptions::PyValueError;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyInt, PyList, PyString, PyTuple};

use crate::asgi::{percent_decode, split_target, EncodedHead};
use crate::python::to_interpreter;

/// `asgi_scope(base, request, root_path, state, extensions) -> dict`: a copy of `base` (the
/// connection's part of the scope, every key in place) with the keys of `request` (the
/// parser's request tuple) filled in: http_version (when 1.0), method, path (percent-decoded
/// UTF-8, after `root_path`), raw_path, query_string, headers (a list), state and extensions
/// (shallow copies).
fn asgi_scope<'py>(
    base: &Bound<'py, PyDict>,
    request: &Bound<'py, PyTuple>,
    root_path: &str,
    state: &Bound<'py, PyDict>,
    extensions: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    let py = base.py();
    let scope = base.copy()?;
    let target_object = request.get_item(1)?;
    let target = target_object.cast::<PyString>()?.to_str()?.as_bytes();
    let parts = split_target(target);
    if !request.get_item(2)?.is_truthy()? {
        scope.set_item(intern!(py, "http_version"), intern!(py, "1.0"))?;
    }
    scope.set_item(intern!(py, "method"), request.get_item(0)?)?;
    let decoded = percent_decode(parts.path);
    let path = String::from_utf8_lossy(&decoded);
    if root_path.is_empty() {
        scope.set_item(intern!(py, "path"), new_str(py, &path)?)?;
        scope.set_item(intern!(py, "raw_path"), new_bytes(py, parts.path)?)?;
    } else {
        scope.set_item(intern!(py, "path"), new_str(py, &format!("{root_path}{path}"))?)?;
        let mut raw = Vec::with_capacity(root_path.len() + parts.path.len());
        raw.extend_from_slice(root_path.as_bytes());
        raw.extend_from_slice(parts.path);
        scope.set_item(intern!(py, "raw_path"), new_bytes(py, &raw)?)?;
    }
    if !parts.query.is_empty() {
        scope.set_item(intern!(py, "query_string"), new_bytes(py, parts.query)?)?;
    }
    let headers = request.get_item(3)?;
    // list(headers): the RawHeaders sequence (or the twin's list) as a list of its tuples.
    // SAFETY: `headers` is a live object held by this frame; PySequence_List returns a new
    // reference or NULL with an exception set, which from_owned_ptr_or_err takes as such.
    let list = owned(py, unsafe { ffi::PySequence_List(headers.as_ptr()) })?;
    scope.set_item(intern!(py, "headers"), list)?;
    scope.set_item(intern!(py, "state"), state.copy()?)?;
    scope.set_item(intern!(py, "extensions"), extensions.copy()?)?;
    Ok(scope)
}

/// `read_start(message) -> (status, lines, length, close, trailers) | None`: an
/// `http.response.start` message checked and its header lines encoded (see head.py for the
/// rules). Raises ValueError with the twin's message for what cannot be sent; None hands a
/// message that is not a dict, or fields that are not bytes in pairs, to the twin.
fn read_start<'py>(message: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyTuple>>> {
    let py = message.py();
    let Ok(message) = message.cast::<PyDict>() else {
        return Ok(None);
    };
    let Some(status) = message.get_item(intern!(py, "status"))? else {
        return Ok(None); // a KeyError, raised by the twin
    };
    if !status.is_exact_instance_of::<PyInt>() {
        return Ok(None);
    }
    let code: i64 = match status.extract() {
        Ok(code) => code,
        Err(_) => return Ok(None),
    };
    if !(200..=599).contains(&code) {
        return Ok(None); // refused by the twin, with its message
    }
    let mut head = EncodedHead::default();
    if let Some(headers) = message.get_item(intern!(py, "headers"))? {
        if let Ok(list) = headers.cast::<PyList>() {
            for pair in list.iter() {
                if !add_pair(&mut head, &pair)? {
                    return Ok(None);
                }
            }
        } else if let Ok(tuple) = headers.cast::<PyTuple>() {
            for pair in tuple.iter() {
                if !add_pair(&mut head, &pair)? {
                    return Ok(None);
                }
            }
        } else {
            return Ok(None);
        }
    }
    let trailers = match message.get_item(intern!(py, "trailers"))? {
        Some(value) => value.is_truthy()?,
        None => false,
    };
    let length = match head.length {
        Some(length) => length.into_pyobject(py)?.into_any(),
        None => py.None().into_bound(py),
    };
    let items = [
        status,
        new_bytes(py, &head.lines)?,
        length,
        pyo3::types::PyBool::new(py, head.close).to_owned().into_any(),
        pyo3::types::PyBool::new(py, trailers).to_owned().into_any(),
    ];
    Ok(Some(PyTuple::new(py, items)?))
}

// The bytes and str objects made here come from the C API directly rather than from pyo3's
// `PyBytes::new` and `PyString::new`, which the parser's per-request code also calls: with one
// crate-wide LTO, more callers of those changed how they were inlined into `feed` and cost the
// native path instructions per request (benches/count_instructions.py).

/// A new reference returned by the C API, or the exception it set (NULL).
fn owned(py: Python<'_>, object: *mut ffi::PyObject) -> PyResult<Bound<'_, PyAny>> {
    if object.is_null() {
        return Err(PyErr::fetch(py));
    }
    // SAFETY: a non-NULL result of the C API calls above is a new (owned) reference.
    Ok(unsafe { Bound::from_owned_ptr(py, object) })
}

fn new_bytes<'py>(py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
    let len = ffi::Py_ssize_t::try_from(data.len()).map_err(|_| PyValueError::new_err("bytes too long"))?;
    // SAFETY: the pointer and length describe `data`, alive for the call; the result is a new
    // reference or NULL with an exception set, which from_owned_ptr_or_err takes as such.
    owned(py, unsafe { ffi::PyBytes_FromStringAndSize(data.as_ptr().cast(), len) })
}

fn new_str<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let len = ffi::Py_ssize_t::try_from(text.len()).map_err(|_| PyValueError::new_err("str too long"))?;
    // SAFETY: as in `new_bytes`; `text` is valid UTF-8, as PyUnicode_FromStringAndSize needs.
    owned(py, unsafe { ffi::PyUnicode_FromStringAndSize(text.as_ptr().cast(), len) })
}

/// One `(name, value)` pair of bytes into `head`; false for a pair of another kind.
fn add_pair(head: &mut EncodedHead, pair: &Bound<'_, PyAny>) -> PyResult<bool> {
    let (name, value) = if let Ok(tuple) = pair.cast::<PyTuple>() {
        if tuple.len() != 2 {
            return Ok(false);
        }
        (tuple.get_item(0)?, tuple.get_item(1)?)
    } else if let Ok(list) = pair.cast::<PyList>() {
        if list.len() != 2 {
            return Ok(false);
        }
        (list.get_item(0)?, list.get_item(1)?)
    } else {
        return Ok(false);
    };
    let (Ok(name), Ok(value)) = (name.cast::<PyBytes>(), value.cast::<PyBytes>()) else {
        return Ok(false);
    };
    head.add(name.as_bytes(), value.as_bytes()).map_err(|fault| PyValueError::new_err(fault.message()))?;
    Ok(true)
}

/// Add `asgi_scope` and `read_start` to `module`.
pub fn add_functions(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let definitions: &'static mut [ffi::PyMethodDef; 2] = Box::leak(Box::new([
        ffi::PyMethodDef {
            ml_name: c"asgi_scope".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer { PyCFunction: asgi_scope_c },
            ml_flags: ffi::METH_VARARGS,
            ml_doc: c"asgi_scope(base, request, root_path, state, extensions): the HTTP scope of a request.".as_ptr(),
        },
        ffi::PyMethodDef {
            ml_name: c"read_start".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer { PyCFunction: read_start_c },
            ml_flags: ffi::METH_VARARGS,
            ml_doc: c"read_start(message): an http.response.start message checked, or None.".as_ptr(),
        },
    ]));
    let py = module.py();
    for definition in definitions.iter_mut() {
        // SAFETY: the definition is leaked, so it outlives the function object, as the C API
        // requires; the result is a new reference or NULL with an exception set.
        let function =
            owned(py, unsafe { ffi::PyCFunction_NewEx(definition, std::ptr::null_mut(), std::ptr::null_mut()) })?;
        module.add(function.getattr("__name__")?.cast_into::<PyString>()?, function)?;
    }
    Ok(())
}

// The interpreter calls these with the GIL held and `args` the tuple of a METH_VARARGS call,
// which is what `Python::assume_attached` and the borrowed tuple need.

unsafe extern "C" fn asgi_scope_c(_module: *mut ffi::PyObject, args: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: see above.
    let (py, args) = unsafe {
        let py = Python::assume_attached();
        (py, Bound::from_borrowed_ptr(py, args).cast_into_unchecked::<PyTuple>())
    };
    let result = (|| {
        let (base, request, root_path, state, extensions): (
            Bound<'_, PyDict>,
            Bound<'_, PyTuple>,
            String,
            Bound<'_, PyDict>,
            Bound<'_, PyDict>,
        ) = args.extract()?;
        asgi_scope(&base, &request, &root_path, &state, &extensions).map(Bound::into_any)
    })();
    to_interpreter(py, result)
}

unsafe extern "C" fn read_start_c(_module: *mut ffi::PyObject, args: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY: see above.
    let (py, args) = unsafe {
        let py = Python::assume_attached();
        (py, Bound::from_borrowed_ptr(py, args).cast_into_unchecked::<PyTuple>())
    };
    let result = (|| {
        let (message,): (Bound<'_, PyAny>,) = args.extract()?;
        Ok(match read_start(&message)? {
            Some(head) => head.into_any(),
            None => py.None().into_bound(py),
        })
    })();
    to_interpreter(py, result)
}
